package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

const importFormatsSite = "e2e-import-formats"

// formatHit is one line of another tracker's raw hits and the events it
// must become: their ids and times.
type formatHit struct {
	line  string
	ids   []string
	times []time.Time
}

// derivedImportID is the id docs/import.md promises for an event whose hit
// has none: "imp-", 32 hex digits of SHA-256(site NUL format NUL line),
// "-" and the event's index in the line.
func derivedImportID(format, line string, index int) string {
	sum := sha256.Sum256([]byte(importFormatsSite + "\x00" + format + "\x00" + line))
	return fmt.Sprintf("imp-%s-%d", hex.EncodeToString(sum[:16]), index)
}

// formatHistory is a small history of three visitors per format, two page
// views each (GA4: one request of two events per visitor), days apart.
func formatHistory(now time.Time) map[string][]formatHit {
	out := map[string][]formatHit{}
	day := 24 * time.Hour
	for v := range 3 {
		t1 := now.Add(-time.Duration(20-v) * day).Truncate(time.Second)
		t2 := t1.Add(3*time.Minute + 250*time.Millisecond)
		for i, at := range []time.Time{t1, t2} {
			path := fmt.Sprintf("/v%d/page%d", v, i)
			// Matomo: a bulk request's member, as Matomo's log importer
			// and its web server logs hold it; cdt in seconds.
			m := fmt.Sprintf("?idsite=7&rec=1&apiv=1&url=%s&action_name=Page%%20%d&_id=%016x&cdt=%d.%03d&token_auth=ignored",
				url.QueryEscape("https://shop.example"+path), i, 0xabc0+v, at.Unix(), at.Nanosecond()/1e6)
			out["matomo"] = append(out["matomo"], formatHit{m, []string{derivedImportID("matomo", m, 0)}, []time.Time{at}})
			// Snowplow: a tp2 payload_data member, its own eid; the
			// first of each visitor as a GET /i query instead.
			eid := fmt.Sprintf("0d6c1a3e-5b7f-4c2a-9e1d-%012d", v*10+i)
			s := fmt.Sprintf(`{"e":"pv","aid":"e2e-shop-web","p":"web","tv":"js-4.1.0","eid":%q,"url":"https://shop.example%s","page":"Page %d","duid":"sp-visitor-%d","sid":"sp-session-%d","dtm":"%d","stm":"%d"}`,
				eid, path, i, v, v, at.UnixMilli(), at.UnixMilli()+40)
			if i == 0 {
				s = fmt.Sprintf("e=pv&aid=e2e-shop-web&p=web&eid=%s&url=%s&duid=sp-visitor-%d&sid=sp-session-%d&dtm=%d&ttm=%d",
					eid, url.QueryEscape("https://shop.example"+path), v, v, at.UnixMilli()-5000, at.UnixMilli())
			}
			out["snowplow"] = append(out["snowplow"], formatHit{s, []string{eid}, []time.Time{at}})
			// Plausible: the Events API body plus ts.
			p := fmt.Sprintf(`{"name":"pageview","url":"https://shop.example%s","domain":"shop.example","referrer":"https://www.google.com/","ts":%d}`,
				path, at.UnixMilli())
			out["plausible"] = append(out["plausible"], formatHit{p, []string{derivedImportID("plausible", p, 0)}, []time.Time{at}})
		}
		g := fmt.Sprintf(`{"client_id":"%d.1712345678","timestamp_micros":%d,"events":[`+
			`{"name":"page_view","params":{"page_location":"https://shop.example/v%d/ga","engagement_time_msec":100}},`+
			`{"name":"sign_up","timestamp_micros":%d,"params":{"page_location":"https://shop.example/v%d/signup","method":"email"}}]}`,
			900+v, t1.UnixMicro(), v, t2.UnixMicro(), v)
		out["ga4"] = append(out["ga4"], formatHit{g, []string{derivedImportID("ga4", g, 0), derivedImportID("ga4", g, 1)}, []time.Time{t1, t2}})
	}
	return out
}

// importSummaryE2E is the import endpoint's answer.
type importSummaryE2E struct {
	Lines, Accepted, Duplicates int
	Rejected                    map[string]int
}

func postFormat(t *testing.T, endpoint, format string, hits []formatHit) importSummaryE2E {
	t.Helper()
	lines := make([]string, len(hits))
	for i, h := range hits {
		lines[i] = h.line
	}
	req, err := http.NewRequest(http.MethodPost, endpoint+"?site="+importFormatsSite+"&format="+format, strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+importKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import %s: %d %s", format, resp.StatusCode, body)
	}
	var sum importSummaryE2E
	if err := json.Unmarshal(body, &sum); err != nil {
		t.Fatalf("import %s: %v %s", format, err, body)
	}
	return sum
}

// TestImportFormats imports a small history of three visitors in each of
// the tracker formats (Matomo, Snowplow, GA4 Measurement Protocol,
// Plausible) through the built collector into Elasticsearch, with every
// live protocol endpoint switched off: each event is stored once, under
// its protocol's id (Snowplow's eid) or the id derived from its line, at
// its own time, on channel import with its format; a second import of the
// same lines stores nothing new.
func TestImportFormats(t *testing.T) {
	esURL := estest.URL(t)
	store := es{t: t, url: esURL}
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { store.deleteIndices(prefix) })
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.key")
	keyFile := filepath.Join(dir, "import.key")
	for path, content := range map[string]string{secretFile: strings.Repeat("5d", 32), keyFile: importKey} {
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsPort := freePort(t)
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	startCollector(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
receivers:
  pixel:
    endpoint: %s
    sites:
      - id: %s
        write_key: e2e-write-key-never-sent-1234
        import:
          key_file: %s
          max_age: 720h
        protocols:
          matomo: {site_ids: [7]}
          snowplow: {app_ids: [e2e-shop-web]}
          plausible: {domains: [shop.example]}
processors:
  consent:
  anonymizer:
    secret: {file: %q}
  attribution:
    emit_interval: 100ms
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
`, health, listen, importFormatsSite, keyFile, secretFile, esURL, prefix, metricsPort), health)

	endpoint := "http://" + listen + "/wj/import"
	events := storeIndex(prefix, journeystore.FamilyEvents)
	history := formatHistory(time.Now())
	want := map[string]struct {
		format string
		at     time.Time
	}{}
	for format, hits := range history {
		n := 0
		for _, h := range hits {
			for i, id := range h.ids {
				want[id] = struct {
					format string
					at     time.Time
				}{format, h.times[i]}
				n++
			}
		}
		sum := postFormat(t, endpoint, format, hits)
		if sum.Lines != len(hits) || sum.Accepted != n || sum.Duplicates != 0 || len(sum.Rejected) != 0 {
			t.Fatalf("import %s: %+v, want %d lines, %d accepted", format, sum, len(hits), n)
		}
	}
	eventually(t, 2*time.Minute, "the imported events in Elasticsearch", func() bool {
		return dashCount(store, events) == len(want)
	})
	docs := store.searchHits(events, map[string]any{"term": map[string]any{"webjourney.ingest.channel": "import"}})
	t.Logf("%d imported events stored (want %d)", len(docs), len(want))
	if len(docs) != len(want) {
		t.Fatalf("%d imported documents, want %d", len(docs), len(want))
	}
	for id, w := range want {
		doc, ok := docs[id]
		if !ok {
			t.Errorf("%s (%s): not stored under its id", id, w.format)
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(doc["@timestamp"]))
		if err != nil || !at.Equal(w.at) {
			t.Errorf("%s (%s): @timestamp %v, want %s", id, w.format, doc["@timestamp"], w.at.UTC().Format(time.RFC3339Nano))
		}
		if doc["webjourney.ingest.format"] != w.format || doc["webjourney.time.source"] != "client" || doc["webjourney.time.correction"] != nil {
			t.Errorf("%s: format %v, time source %v, correction %v", id, doc["webjourney.ingest.format"], doc["webjourney.time.source"], doc["webjourney.time.correction"])
		}
	}

	// Again: the same lines, the same ids; every event a duplicate at the
	// store, nothing new stored.
	dup0 := promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total")
	for format, hits := range history {
		sum := postFormat(t, endpoint, format, hits)
		if sum.Lines != len(hits) || len(sum.Rejected) != 0 {
			t.Fatalf("second import %s: %+v", format, sum)
		}
	}
	eventually(t, 2*time.Minute, "every re-imported event answered as a duplicate", func() bool {
		return promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total")-dup0 >= float64(len(want))
	})
	if got := dashCount(store, events); got != len(want) {
		t.Fatalf("after the second import %d event documents, want %d", got, len(want))
	}

	// Personal data in every format's hit (page URL, title, properties,
	// user agent) reaches no document in clear text: the imported events
	// went through the anonymizer as live ones do.
	email, phone := "import.canary@example.com", "+44 7700 900456"
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	pii := map[string]string{
		"matomo": fmt.Sprintf("idsite=7&rec=1&url=%s&action_name=%s&_id=00000000000000ff&cdt=%d&ua=%s",
			url.QueryEscape("https://shop.example/contact?email="+email), url.QueryEscape("Order for "+email), at.Unix(), url.QueryEscape("Mozilla/5.0 "+email)),
		"snowplow": fmt.Sprintf(`{"e":"se","aid":"e2e-shop-web","eid":"0d6c1a3e-5b7f-4c2a-9e1d-999999999999","se_ca":"lead","se_ac":"submit","se_la":%q,"url":"https://shop.example/lead?phone=%s","dtm":"%d"}`,
			email, url.QueryEscape(phone), at.UnixMilli()),
		"ga4": fmt.Sprintf(`{"client_id":"999.1","timestamp_micros":%d,"events":[{"name":"generate_lead","params":{"page_location":"https://shop.example/?to=%s","contact":%q}}]}`,
			at.UnixMicro(), url.QueryEscape(email), "Phone "+phone),
		"plausible": fmt.Sprintf(`{"n":"Signup","u":"https://shop.example/signup?email=%s","d":"shop.example","p":{"who":%q},"ts":%d}`,
			url.QueryEscape(email), email, at.UnixMilli()),
	}
	before := dashCount(store, events)
	for format, line := range pii {
		if sum := postFormat(t, endpoint, format, []formatHit{{line: line}}); sum.Accepted != 1 {
			t.Fatalf("PII line of %s: %+v", format, sum)
		}
	}
	eventually(t, 2*time.Minute, "the PII lines in Elasticsearch", func() bool {
		return dashCount(store, events) == before+len(pii)
	})
	raw, err := json.Marshal(store.searchHits(events, map[string]any{"match_all": map[string]any{}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, present := range []string{"generate_lead", "Signup", "submit", "/contact"} {
		if !strings.Contains(string(raw), present) {
			t.Fatalf("the PII lines' documents are not among those searched (no %q)", present)
		}
	}
	for _, canary := range []string{email, url.QueryEscape(email), "import.canary", "7700 900456", "7700900456"} {
		if strings.Contains(string(raw), canary) {
			t.Errorf("%q reached Elasticsearch in clear text", canary)
		}
	}
}
