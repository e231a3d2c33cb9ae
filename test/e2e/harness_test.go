package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
	"github.com/webjourney/webjourney/test/storetest"
)

// EnvCollectorBin names the built distribution that `make test` passes in.
const EnvCollectorBin = "WEBJOURNEY_COLLECTOR_BIN"

func collectorBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(EnvCollectorBin)
	if bin == "" {
		estest.Unavailable(t, EnvCollectorBin+" is not set; run `make test` (it builds the distribution first)")
		return ""
	}
	if _, err := os.Stat(bin); err != nil {
		estest.Unavailable(t, fmt.Sprintf("%s=%s: %v", EnvCollectorBin, bin, err))
		return ""
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects the collector's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startCollector runs the built distribution with the given config and waits
// until its health_check extension (at healthAddr) reports ready. The process
// is stopped with SIGTERM at the end of the test, which must make it exit 0.
func startCollector(t *testing.T, config, healthAddr string) *process {
	t.Helper()
	p := newProcess(t, config, healthAddr)
	p.start()
	return p
}

// es is a minimal client for assertions against the real Elasticsearch.
type es struct {
	t   *testing.T
	url string
}

func (e es) do(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// searchHits refreshes the indices matching pattern and returns the _source of
// every hit for the query, keyed by _id.
func (e es) searchHits(pattern string, query map[string]any) map[string]map[string]any {
	e.t.Helper()
	var status int
	var body []byte
	// A monthly index the exporter has just created may not have started
	// its shard yet (503 no_shard_available on a busy machine): wait for it.
	for try := 0; ; try++ {
		e.do(http.MethodPost, "/"+pattern+"/_refresh?ignore_unavailable=true&allow_no_indices=true", nil)
		status, body = e.do(http.MethodPost, "/"+pattern+"/_search?ignore_unavailable=true&allow_no_indices=true",
			map[string]any{"size": 1000, "query": query})
		if status != http.StatusServiceUnavailable || try == 50 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status != http.StatusOK {
		e.t.Fatalf("search %s: %d %s", pattern, status, body)
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Index  string         `json:"_index"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, h := range res.Hits.Hits {
		out[h.ID] = h.Source
	}
	return out
}

// storeIndex is the index (the pattern, for events) of a family of the
// indices of prefix.
func storeIndex(prefix string, f journeystore.Family) string {
	return journeystore.Layout{Prefix: prefix}.Index(f)
}

// deleteIndices removes every index and index template whose name starts with
// prefix.
func (e es) deleteIndices(prefix string) { storetest.Connect(e.t, e.url).DeleteAll(prefix) }

// eventually polls cond until it is true or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// promMetrics reads the collector's own Prometheus endpoint and returns the
// value of every sample whose name and labels contain all of the given parts.
func promValue(t *testing.T, addr, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	// The collector's Prometheus reader writes counters with or without the
	// "_total" suffix depending on its version and settings: accept both.
	base := strings.TrimSuffix(name, "_total")
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if !hasMetricPrefix(line, base) && !hasMetricPrefix(line, base+"_total") {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

// hasMetricPrefix reports whether a Prometheus text line is a sample of name.
func hasMetricPrefix(line, name string) bool {
	return strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ")
}

// pipeline describes a collector of the end-to-end tests: the pixel
// receiver, optional processors, and the elasticsearch_journey exporter
// into a fresh index prefix of the real Elasticsearch.
type pipeline struct {
	// pixel is the YAML of the pixel receiver after its endpoint, indented
	// by four spaces.
	pixel string
	// processors is the YAML of the processors section, indented by two
	// spaces, and order their names as they run.
	processors string
	order      []string
	// exporters is the YAML of further exporters, indented by two spaces,
	// and exporterNames their names: the pipeline sends to them too. In
	// exporters, @ES_URL@ and @PREFIX@ stand for the Elasticsearch URL and
	// the test's index prefix (the partner_postback ledger's).
	exporters     string
	exporterNames []string
}

// startPipeline runs the built collector with p and returns the store, the
// index prefix and the receiver's address (host:port). The indices are
// deleted at the end of the test.
func startPipeline(t *testing.T, p pipeline) (store es, prefix, listen string) {
	t.Helper()
	esURL := estest.URL(t)
	store = es{t: t, url: esURL}
	prefix = estest.UniquePrefix(t)
	t.Cleanup(func() { store.deleteIndices(prefix) })
	listen = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p.exporters = strings.NewReplacer("@ES_URL@", esURL, "@PREFIX@", prefix).Replace(p.exporters)
	processors := ""
	if p.processors != "" {
		processors = "processors:\n" + p.processors
	}
	startCollector(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
receivers:
  pixel:
    endpoint: %s
%s
%s
exporters:
  elasticsearch_journey:
    endpoints: [%q]
    index_prefix: %s
    sending_queue:
      batch:
        flush_timeout: 200ms
%s
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [pixel]
      processors: [%s]
      exporters: [%s]
`, health, listen, p.pixel, processors, esURL, prefix, p.exporters, strings.Join(p.order, ", "),
		strings.Join(append([]string{"elasticsearch_journey"}, p.exporterNames...), ", ")), health)
	return store, prefix, listen
}
