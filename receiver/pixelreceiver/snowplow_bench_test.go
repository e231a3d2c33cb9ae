package pixelreceiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snowplowBenchRequests are the real tracker's requests of the browser
// test (@snowplow/browser-tracker 4.6.8).
func snowplowBenchRequests(b *testing.B, name string) []string {
	raw, err := os.ReadFile(filepath.Join("internal", "snowplow", "testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(raw)), "\n")
}

// newSnowplowBenchReceiver is newBenchReceiver with the Snowplow
// endpoints on, for app shop-web.
func newSnowplowBenchReceiver(b *testing.B) *pixelReceiver {
	r := newBenchReceiver(b)
	r.cfg.Protocols.Snowplow.Enabled = true
	r.snowplow.AppIDs = map[string]string{"shop-web": "shop"}
	return r
}

// BenchmarkSnowplowGET is the tracker's GET page view through the
// handler, as BenchmarkPixelHit is one pixel hit.
func BenchmarkSnowplowGET(b *testing.B) {
	r := newSnowplowBenchReceiver(b)
	req := httptest.NewRequest(http.MethodGet, "/i?"+snowplowBenchRequests(b, "browser-tracker-4.6.8-get.txt")[0], http.NoBody)
	req.Header.Set("User-Agent", benchUA)
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rec.Body.Reset()
		r.route(rec, req)
	}
	if !bytes.Equal(rec.Body.Bytes(), transparentGIF) {
		b.Fatal("no GIF")
	}
}

// BenchmarkSnowplowPOST is the tracker's batch of three events
// (structured, self-describing, link click) through the handler.
func BenchmarkSnowplowPOST(b *testing.B) {
	const events = 3
	r := newSnowplowBenchReceiver(b)
	body := []byte(snowplowBenchRequests(b, "browser-tracker-4.6.8-post.ndjson")[1])
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/com.snowplowanalytics.snowplow/tp2", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		req.Header.Set("User-Agent", benchUA)
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/events, "ns/event")
}
