package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

const (
	importSite = "e2e-import"
	importKey  = "e2e-import-key-5f2c9a7e41d0b3"
)

// importCtl builds webjourneyctl once per test.
func importCtl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webjourneyctl")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/webjourneyctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building webjourneyctl: %v\n%s", err, out)
	}
	return bin
}

// ctlSummary is webjourneyctl import --json's summary.
type ctlSummary struct {
	Lines, Accepted, Duplicates, Requests int
	Rejected                              map[string]int
	RejectedLines                         []string `json:"rejected_lines"`
}

func runImportCtl(t *testing.T, ctl, endpoint, keyFile string, files ...string) ctlSummary {
	t.Helper()
	args := append([]string{"import", "--endpoint", endpoint, "--site", importSite, "--key-file", keyFile, "--json"}, files...)
	cmd := exec.Command(ctl, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var sum ctlSummary
	if jerr := json.Unmarshal(out, &sum); jerr != nil {
		t.Fatalf("webjourneyctl import: %v %v\n%s\n%s", err, jerr, out, stderr.String())
	}
	t.Logf("webjourneyctl import: %+v (exit %v)\n%s", sum, err, stderr.String())
	return sum
}

// writeHistory writes n page views of 40 visitors, spread over the six
// weeks before now (newest last) after the extra lines, as webjourneyctl
// import reads them. The odd visitors consented to analytics, the even
// ones said nothing.
func writeHistory(t *testing.T, path string, n int, now time.Time, extra ...string) map[string]time.Time {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	times := map[string]time.Time{}
	span := 42 * 24 * time.Hour
	for _, l := range extra {
		fmt.Fprintln(w, l)
	}
	for i := range n {
		id := fmt.Sprintf("imp-%06d", i)
		at := now.Add(-span + time.Duration(i)*span/time.Duration(n)).Truncate(time.Millisecond)
		times[id] = at
		visitor := i % 40
		consent := ""
		if visitor%2 == 1 {
			consent = `,"consent":{"analytics":"granted"}`
		}
		fmt.Fprintf(w, `{"id":%q,"ts":%d,"type":"page_view","url":"https://shop.example/p/%d?contact=jane.doe@example.com","title":"Product %d","visitor_id":"hist-visitor-%d","session_id":"hist-s-%d-%d","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","client_address":"203.0.113.%d"%s}`+"\n",
			id, at.UnixMilli(), i%50, i%50, visitor, visitor, i/400, visitor+1, consent)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return times
}

// TestImportBackfill imports a history file through the built collector's
// import endpoint with webjourneyctl: the events land in Elasticsearch
// with their own times, marked as imported, after consent and the
// anonymizer did to them what they do to live events; importing the file
// again stores nothing new (every event a 409 duplicate). With
// WEBJOURNEY_IMPORT_EVENTS=N it imports N events and logs the throughput
// and the collector's CPU per event (docs/benchmarks.md).
func TestImportBackfill(t *testing.T) {
	n := 600
	if v := os.Getenv("WEBJOURNEY_IMPORT_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	esURL := estest.URL(t)
	store := es{t: t, url: esURL}
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { store.deleteIndices(prefix) })
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.key")
	keyFile := filepath.Join(dir, "import.key")
	for path, content := range map[string]string{secretFile: strings.Repeat("7e", 32), keyFile: importKey} {
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	collector, endpoint, metrics := startImportCollector(t, esURL, prefix, secretFile, keyFile, "          max_age: 2160h\n", "")

	now := time.Now()
	file := filepath.Join(dir, "history.ndjson")
	times := writeHistory(t, file, n, now,
		// Older than the site's max_age (90 days): refused.
		fmt.Sprintf(`{"id":"imp-too-old","ts":%d,"url":"https://shop.example/"}`, now.AddDate(-1, 0, 0).UnixMilli()),
		// The first event, also in the file's first request: the second
		// copy is a duplicate.
		fmt.Sprintf(`{"id":"imp-000000","ts":%d,"url":"https://shop.example/p/0"}`, firstImportTime(now).UnixMilli()))
	ctl := importCtl(t)
	events := storeIndex(prefix, journeystore.FamilyEvents)

	cpu0 := processCPU(t, collector.cmd.Process.Pid)
	start := time.Now()
	first := runImportCtl(t, ctl, endpoint, keyFile, file)
	if first.Lines != n+2 || first.Accepted+first.Duplicates != n+1 || first.Rejected["time_too_old"] != 1 || len(first.Rejected) != 1 {
		t.Fatalf("first import: %+v, want %d lines, %d accepted or duplicates, 1 time_too_old", first, n+2, n+1)
	}
	if n < 1000 && (first.Accepted != n || first.Duplicates != 1) {
		t.Fatalf("first import: %+v, want %d accepted and the repeated line a duplicate (one request)", first, n)
	}
	eventually(t, 5*time.Minute, "the imported events in Elasticsearch", func() bool {
		return dashCount(store, events) == n
	})
	elapsed, cpu := time.Since(start), processCPU(t, collector.cmd.Process.Pid)-cpu0
	t.Logf("imported %d events in %s: %.0f events/s; collector CPU %s, %.1f µs per event",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), cpu, float64(cpu.Microseconds())/float64(n))

	// Each document: its own time, channel import, the time source the
	// client's, and what consent and the anonymizer decided.
	decisions := map[string]int{}
	for from := 0; from < min(n, 2000); from += 1000 {
		docs := store.searchHits(events, map[string]any{"terms": map[string]any{"log.record.uid": ids(from, min(n, from+1000))}})
		for id, doc := range docs {
			at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(doc["@timestamp"]))
			if err != nil || !at.Equal(times[id]) {
				t.Errorf("%s: @timestamp %v, want %s", id, doc["@timestamp"], times[id].UTC().Format(time.RFC3339Nano))
			}
			if doc["webjourney.ingest.channel"] != "import" || doc["webjourney.time.source"] != "client" || doc["webjourney.time.correction"] != nil {
				t.Errorf("%s: channel %v, time source %v, correction %v", id, doc["webjourney.ingest.channel"], doc["webjourney.time.source"], doc["webjourney.time.correction"])
			}
			if q := fmt.Sprint(doc["url.query"]); strings.Contains(q, "jane.doe") {
				t.Errorf("%s: the anonymizer did not scrub the query: %s", id, q)
			}
			vid, hasVisitor := doc["webjourney.visitor.id"].(string)
			decisions[fmt.Sprint(doc["webjourney.consent.decision"])]++
			consented := doc["webjourney.consent.decision"] == "keep"
			switch {
			case consented && (!hasVisitor || strings.HasPrefix(vid, "hist-visitor-")):
				t.Errorf("%s: a consented import keeps a pseudonymised visitor id, got %v", id, doc["webjourney.visitor.id"])
			case !consented && strings.HasPrefix(vid, "hist-visitor-"):
				t.Errorf("%s: an import without consent kept its raw visitor id %s", id, vid)
			}
			if addr := fmt.Sprint(doc["client.address"]); strings.HasPrefix(addr, "203.0.113.") && addr != "203.0.113.0" {
				t.Errorf("%s: client address %s not reduced", id, addr)
			}
		}
		if len(docs) != min(n, from+1000)-from {
			t.Errorf("found %d of the documents %d-%d", len(docs), from, min(n, from+1000))
		}
	}

	if decisions["keep"] == 0 || decisions["anonymous"] == 0 {
		t.Errorf("consent decisions %v: want both keep (consented visitors) and anonymous", decisions)
	}

	// Again: every event is a duplicate at the store, nothing new is stored.
	dup0 := promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total")
	second := runImportCtl(t, ctl, endpoint, keyFile, file)
	if second.Lines != first.Lines || second.Accepted != first.Accepted || second.Duplicates != first.Duplicates {
		t.Fatalf("second import: %+v, want the first's counts %+v", second, first)
	}
	eventually(t, 5*time.Minute, "every re-imported event answered as a duplicate", func() bool {
		return promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total")-dup0 >= float64(n)
	})
	if got := dashCount(store, events); got != n {
		t.Fatalf("after the second import %d event documents, want %d", got, n)
	}
}

// startImportCollector runs the built collector with the import site
// (its import key in keyFile; importExtra: more lines of its import
// settings, siteExtra: more settings of the site) and consent, anonymizer
// (secretFile) and attribution (attributionExtra: more settings) into the
// index prefix; it returns the process, the import endpoint and the
// address of the collector's own metrics.
func startImportCollector(t *testing.T, esURL, prefix, secretFile, keyFile, importExtra, siteExtra string, attributionExtra ...string) (*process, string, string) {
	t.Helper()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsPort := freePort(t)
	collector := startCollector(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
receivers:
  pixel:
    endpoint: %s
    bots: {action: keep}
    sites:
      - id: %s
        import:
          key_file: %s
%s%s
processors:
  consent:
  anonymizer:
    secret: {file: %q}
  attribution:
    emit_interval: 100ms
%s
exporters:
  elasticsearch_journey:
    endpoints: [%q]
    index_prefix: %s
    sending_queue:
      batch:
        flush_timeout: 200ms
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    logs:
      receivers: [pixel]
      processors: [consent, anonymizer, attribution]
      exporters: [elasticsearch_journey]
`, health, listen, importSite, keyFile, importExtra, siteExtra, secretFile, strings.Join(attributionExtra, ""), esURL, prefix, metricsPort), health)
	return collector, "http://" + listen + "/wj/import", fmt.Sprintf("127.0.0.1:%d", metricsPort)
}

// firstImportTime is the time writeHistory gives its first event.
func firstImportTime(now time.Time) time.Time {
	return now.Add(-42 * 24 * time.Hour).Truncate(time.Millisecond)
}

func ids(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("imp-%06d", i))
	}
	return out
}

// processCPU is the user and system CPU time pid has used (Linux /proc).
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name (which may hold spaces): utime and
	// stime are the 12th and 13th, in clock ticks (100 a second on Linux).
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
