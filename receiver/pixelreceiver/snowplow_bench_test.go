package pixelreceiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
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

func newSnowplowBenchReceiver(b *testing.B) *pixelReceiver {
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.RateLimit = benchRateLimit
	cfg.Protocols.Snowplow.Enabled = true
	cfg.Sites[0].Protocols.Snowplow.AppIDs = []string{"shop-web"}
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = componenttest.NewNopTelemetrySettings()
	r, err := newPixelReceiver(cfg, set, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
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
