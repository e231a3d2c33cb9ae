package pixelreceiver

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
)

// benchPixelQuery is a realistic tag hit: page view with campaign query,
// referrer, title, ids and two properties.
var benchPixelQuery = url.Values{
	"s":      {"shop"},
	"url":    {"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring"},
	"ref":    {"https://www.google.com/search?q=red+shoes"},
	"t":      {"Red Shoes | Shop Example"},
	"vid":    {"3f2b8c1e-9d4a-4f6b-8e2c-1a5d7b9c0e3f"},
	"sid":    {"9c0e3f1a-5d7b-4e2c-8f6b-3f2b8c1e9d4a"},
	"eid":    {"0f8fad5b-d9cb-469f-a165-70867728950e"},
	"p.plan": {"pro"},
	"p.ab":   {"variant-b"},
	"cb":     {"1712345678901"},
}.Encode()

func benchBeaconBody(events int) []byte {
	var b strings.Builder
	b.WriteString(`{"site":"shop","visitor_id":"3f2b8c1e-9d4a-4f6b-8e2c-1a5d7b9c0e3f","session_id":"9c0e3f1a-5d7b-4e2c-8f6b-3f2b8c1e9d4a","sent_at":1712345679000,"events":[`)
	for i := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"evt-%d","type":"custom","ts":%d,"url":"https://shop.example/products/%d?utm_source=newsletter","referrer":"https://www.google.com/","title":"Product %d | Shop Example","name":"add_to_cart","props":{"plan":"pro","qty":%d,"price":19.99,"gift":false}}`, i, 1712345670000+i, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// benchRateLimit keeps the limiter on the path (its cost is part of every
// hit) without ever refusing the one benchmark client.
var benchRateLimit = RateLimitConfig{RequestsPerSecond: 1e9, Burst: 1e9, MaxClients: 100_000}

func newBenchReceiver(b *testing.B) *pixelReceiver {
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.RateLimit = benchRateLimit
	cfg.Protocols.Plausible.Enabled = true
	cfg.Sites[0].Protocols.Plausible.Domains = []string{"shop.example"}
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = componenttest.NewNopTelemetrySettings()
	r, err := newPixelReceiver(cfg, set, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// benchUA is a browser's: bot detection runs in full on the common path.
const benchUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"

// BenchmarkPixelHit measures decoding and handling of one pixel hit, from
// the handler call to the (nop) consumer and the GIF written.
func BenchmarkPixelHit(b *testing.B) {
	r := newBenchReceiver(b)
	req := httptest.NewRequest(http.MethodGet, "/p.gif?"+benchPixelQuery, http.NoBody)
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hits/s")
}

// BenchmarkBeacon measures decoding and handling of a beacon of 10 events.
func BenchmarkBeacon(b *testing.B) {
	const events = 10
	r := newBenchReceiver(b)
	body := benchBeaconBody(events)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/b", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", benchUA)
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPlausible is one Plausible page view (the real tracker's body)
// through the handler, as BenchmarkPixelHit is one pixel hit.
func BenchmarkPlausible(b *testing.B) {
	r := newBenchReceiver(b)
	body := []byte(`{"n":"pageview","v":36,"u":"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring","d":"shop.example","r":"https://www.google.com/search?q=red+shoes"}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/event", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("User-Agent", benchUA)
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatal(rec.Body.String())
		}
	}
}

// BenchmarkPixelHitHTTP is the whole stack over loopback: net/http,
// confighttp (otelhttp, decompressor, body limit), handler, nop consumer.
func BenchmarkPixelHitHTTP(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.RateLimit = benchRateLimit
	set := receivertest.NewNopSettings(metadata.Type)
	r, err := newPixelReceiver(cfg, set, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err = r.Start(b.Context(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = r.Shutdown(b.Context()) }()
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	target := "http://" + r.endpoint + "/p.gif?" + benchPixelQuery
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 64)
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, target, http.NoBody)
			req.Header.Set("User-Agent", benchUA)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := resp.Body.Read(buf)
			resp.Body.Close()
			if n != len(transparentGIF) {
				b.Error("short GIF")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hits/s")
}
