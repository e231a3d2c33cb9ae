package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

const e2eSite = "e2e-shop"

// TestPixelAndBeaconLandInElasticsearch runs the built distribution against
// the real Elasticsearch: pixel hits and a beacon batch arrive as exactly the
// expected documents, bad requests are answered and counted, and a replayed
// hit is not stored twice.
func TestPixelAndBeaconLandInElasticsearch(t *testing.T) {
	esURL := estest.URL(t)
	store := es{t: t, url: esURL}
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { store.deleteIndices(prefix) })

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
    # The test client's user agent is Go's, which the crawler list knows.
    bots: {action: keep}
    sites:
      - id: %s
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
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
      processors: [memory_limiter]
      exporters: [elasticsearch_journey]
`, health, listen, e2eSite, esURL, prefix, metricsPort), health)

	before := time.Now().UTC()
	base := "http://" + listen

	// 1. A full image-pixel hit.
	fullHit := url.Values{
		"s": {e2eSite}, "eid": {"e2e-pixel-1"},
		"url": {"https://Shop.Example:8443/pricing?plan=pro#faq"},
		"ref": {"https://www.google.com/search?q=shoes"},
		"t":   {"Pricing"}, "vid": {"v-1"}, "sid": {"s-1"},
	}
	pixel(t, base+"/p.gif?"+fullHit.Encode(), nil)
	// 2. A <noscript> pixel: the page URL comes from the Referer header.
	pixel(t, base+"/p.gif?"+url.Values{"s": {e2eSite}, "eid": {"e2e-pixel-2"}}.Encode(),
		map[string]string{"Referer": "https://shop.example/noscript"})
	// 3. A custom event with a property.
	pixel(t, base+"/p.gif?"+url.Values{
		"s": {e2eSite}, "eid": {"e2e-pixel-3"}, "e": {"ev"}, "n": {"signup"},
		"url": {"https://shop.example/join"}, "p.plan": {"pro"},
	}.Encode(), nil)
	// 3b. An iframe-pixel hit: the page URL comes from the Referer header.
	iframe(t, base+"/p.html?"+url.Values{"s": {e2eSite}, "eid": {"e2e-iframe-1"}, "t": {"Offer"}}.Encode(),
		map[string]string{"Referer": "https://shop.example/offer"})
	// 4. Unknown site: the page still gets its GIF, nothing is stored.
	pixel(t, base+"/p.gif?"+url.Values{"s": {"not-a-site"}, "eid": {"e2e-bad-1"}, "url": {"https://shop.example/"}}.Encode(), nil)

	// 5. A beacon with two good events and one without a URL.
	status, body := beacon(t, base+"/b", "application/json", `{
		"site": "`+e2eSite+`", "visitor_id": "v-2", "session_id": "s-2",
		"events": [
			{"id": "e2e-beacon-1", "type": "page_view", "url": "https://shop.example/", "title": "Home", "referrer": "https://news.example/article"},
			{"id": "e2e-beacon-2", "type": "custom", "name": "add_to_cart", "url": "https://shop.example/p/1", "props": {"sku": "A-1", "qty": 2, "gift": true}},
			{"id": "e2e-bad-2", "type": "page_view"}
		]}`)
	if status != http.StatusOK {
		t.Fatalf("mixed beacon: status %d, body %s", status, body)
	}
	var summary struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index int    `json:"index"`
			Error string `json:"error"`
		} `json:"rejected"`
	}
	if err := json.Unmarshal(body, &summary); err != nil {
		t.Fatalf("mixed beacon answer is not JSON: %v: %s", err, body)
	}
	if summary.Accepted != 2 || len(summary.Rejected) != 1 || summary.Rejected[0].Index != 2 || summary.Rejected[0].Error != "missing_url" {
		t.Fatalf("mixed beacon answer: %s", body)
	}
	// 6. A beacon that is not JSON: 400 with a reason, nothing stored.
	status, body = beacon(t, base+"/b", "application/json", `{"site": "`+e2eSite+`", "events": [`)
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_json"`) {
		t.Fatalf("broken beacon: status %d, body %s", status, body)
	}

	pattern := storeIndex(prefix, journeystore.FamilyEvents)
	wantIDs := []string{"e2e-pixel-1", "e2e-pixel-2", "e2e-pixel-3", "e2e-iframe-1", "e2e-beacon-1", "e2e-beacon-2"}
	var docs map[string]map[string]any
	eventually(t, 60*time.Second, "6 documents in "+pattern, func() bool {
		docs = store.searchHits(pattern, map[string]any{"match_all": map[string]any{}})
		return len(docs) >= len(wantIDs)
	})
	after := time.Now().UTC()

	// 7. Replaying hit 1 (same event id) must not create a second document.
	pixel(t, base+"/p.gif?"+fullHit.Encode(), nil)
	eventually(t, 60*time.Second, "the replay to be counted as a duplicate", func() bool {
		return promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total") >= 1
	})
	docs = store.searchHits(pattern, map[string]any{"match_all": map[string]any{}})
	if len(docs) != len(wantIDs) {
		t.Fatalf("got %d documents, want exactly %d: %v", len(docs), len(wantIDs), keys(docs))
	}

	common := func(id, channel string) map[string]any {
		return map[string]any{
			"log.record.uid":            id,
			"webjourney.schema.version": float64(1),
			"webjourney.site.id":        e2eSite,
			"webjourney.ingest.channel": channel,
			"user_agent.original":       "webjourney-e2e/1.0",
			"client.address":            "127.0.0.1",
			// A pixel has no client clock, and the beacon events here
			// carry no ts (their correction says so).
			"webjourney.time.source": "receive_time",
		}
	}
	want := map[string]map[string]any{
		"e2e-pixel-1": merge(common("e2e-pixel-1", "pixel"), map[string]any{
			"event.name":                 "webjourney.page_view",
			"url.full":                   "https://Shop.Example:8443/pricing?plan=pro#faq",
			"url.scheme":                 "https",
			"url.domain":                 "shop.example",
			"url.port":                   float64(8443),
			"url.path":                   "/pricing",
			"url.query":                  "plan=pro",
			"url.fragment":               "faq",
			"webjourney.referrer.full":   "https://www.google.com/search?q=shoes",
			"webjourney.referrer.scheme": "https",
			"webjourney.referrer.domain": "www.google.com",
			"webjourney.referrer.path":   "/search",
			"webjourney.referrer.query":  "q=shoes",
			"webjourney.page.title":      "Pricing",
			"webjourney.visitor.id":      "v-1",
			"session.id":                 "s-1",
		}),
		"e2e-pixel-2": merge(common("e2e-pixel-2", "pixel"), map[string]any{
			"event.name": "webjourney.page_view",
			"url.full":   "https://shop.example/noscript",
			"url.scheme": "https",
			"url.domain": "shop.example",
			"url.path":   "/noscript",
		}),
		"e2e-pixel-3": merge(common("e2e-pixel-3", "pixel"), map[string]any{
			"event.name":             "webjourney.custom",
			"webjourney.custom.name": "signup",
			"url.full":               "https://shop.example/join",
			"url.scheme":             "https",
			"url.domain":             "shop.example",
			"url.path":               "/join",
			"webjourney.properties":  map[string]any{"plan": "pro"},
		}),
		"e2e-iframe-1": merge(common("e2e-iframe-1", "iframe"), map[string]any{
			"event.name":            "webjourney.page_view",
			"url.full":              "https://shop.example/offer",
			"url.scheme":            "https",
			"url.domain":            "shop.example",
			"url.path":              "/offer",
			"webjourney.page.title": "Offer",
		}),
		"e2e-beacon-1": merge(common("e2e-beacon-1", "beacon"), map[string]any{
			"event.name":                 "webjourney.page_view",
			"url.full":                   "https://shop.example/",
			"url.scheme":                 "https",
			"url.domain":                 "shop.example",
			"url.path":                   "/",
			"webjourney.page.title":      "Home",
			"webjourney.referrer.full":   "https://news.example/article",
			"webjourney.referrer.scheme": "https",
			"webjourney.referrer.domain": "news.example",
			"webjourney.referrer.path":   "/article",
			"webjourney.visitor.id":      "v-2",
			"session.id":                 "s-2",
			// No ts.
			"webjourney.time.correction": "missing",
		}),
		"e2e-beacon-2": merge(common("e2e-beacon-2", "beacon"), map[string]any{
			"event.name":             "webjourney.custom",
			"webjourney.custom.name": "add_to_cart",
			"url.full":               "https://shop.example/p/1",
			"url.scheme":             "https",
			"url.domain":             "shop.example",
			"url.path":               "/p/1",
			"webjourney.visitor.id":  "v-2",
			"session.id":             "s-2",
			"webjourney.properties":  map[string]any{"sku": "A-1", "qty": float64(2), "gift": true},
			// No ts.
			"webjourney.time.correction": "missing",
		}),
	}
	for id, w := range want {
		got, ok := docs[id]
		if !ok {
			t.Errorf("document %s missing; have %v", id, keys(docs))
			continue
		}
		for _, field := range []string{"@timestamp", "event.ingested"} {
			ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(got[field]))
			if err != nil || ts.Before(before.Add(-time.Second)) || ts.After(after.Add(time.Second)) {
				t.Errorf("%s: %s = %v, want a time between %s and %s", id, field, got[field], before, after)
			}
			delete(got, field)
		}
		if !reflect.DeepEqual(got, w) {
			gj, _ := json.MarshalIndent(got, "", "  ")
			wj, _ := json.MarshalIndent(w, "", "  ")
			t.Errorf("document %s:\n got %s\nwant %s", id, gj, wj)
		}
	}

	// Every rejection was counted with its reason, and the accepted records
	// were counted by the collector's standard receiver telemetry.
	rejections := "otelcol_receiver_pixel_rejections_total"
	for _, c := range []struct{ channel, reason string }{
		{"pixel", "unknown_site"}, {"beacon", "missing_url"}, {"beacon", "invalid_json"},
	} {
		if v := promValue(t, metrics, rejections, `channel="`+c.channel+`"`, `reason="`+c.reason+`"`); v != 1 {
			t.Errorf("%s{channel=%q,reason=%q} = %v, want 1", rejections, c.channel, c.reason, v)
		}
	}
	if v := promValue(t, metrics, "otelcol_receiver_accepted_log_records_total", `receiver="pixel"`); v != 7 {
		t.Errorf("accepted log records = %v, want 7 (6 events and the replay)", v)
	}
	if v := promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_indexed_total"); v != 6 {
		t.Errorf("documents indexed = %v, want 6", v)
	}
}

// getLikeBrowser sends a GET as a browser loading an <img> or <iframe> would.
func getLikeBrowser(t *testing.T, u string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, http.NoBody)
	req.Header.Set("User-Agent", "webjourney-e2e/1.0")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// iframe loads an iframe pixel and checks its fixed, inert answer.
func iframe(t *testing.T, u string, headers map[string]string) {
	t.Helper()
	resp, body := getLikeBrowser(t, u, headers)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || !bytes.HasPrefix(body, []byte("<!doctype html>")) {
		t.Fatalf("iframe pixel %s: status %d, headers %v, body %q", u, resp.StatusCode, resp.Header, body)
	}
}

func pixel(t *testing.T, u string, headers map[string]string) {
	t.Helper()
	resp, body := getLikeBrowser(t, u, headers)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" || len(body) != 43 {
		t.Fatalf("pixel %s: %d %s %d bytes, want the 43-byte GIF", u, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

func beacon(t *testing.T, u, contentType, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "webjourney-e2e/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func keys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
