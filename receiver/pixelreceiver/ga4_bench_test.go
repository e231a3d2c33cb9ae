package pixelreceiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"
)

// newGA4BenchReceiver is newBenchReceiver with G-SHOP1234 as shop.
func newGA4BenchReceiver(b *testing.B) *pixelReceiver {
	r := newBenchReceiver(b)
	r.cfg.Protocols.GA4 = GA4Config{Enabled: true, MPPath: defaultGA4MPPath, CollectPath: defaultGA4CollectPath}
	r.ga4.MeasurementIDs = map[string]*ga4.Site{"G-SHOP1234": {ID: "shop"}}
	return r
}

// BenchmarkGA4Collect is gtag.js's page view as a GET through the
// handler, as BenchmarkPixelHit is one pixel hit.
func BenchmarkGA4Collect(b *testing.B) {
	r := newGA4BenchReceiver(b)
	req := httptest.NewRequest(http.MethodGet, gtagQuery, http.NoBody)
	req.Header.Set("User-Agent", benchUA)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkGA4MP is one Measurement Protocol page view posted by a
// server, as BenchmarkPlausible is one Plausible page view.
func BenchmarkGA4MP(b *testing.B) {
	r := newGA4BenchReceiver(b)
	body := []byte(`{"client_id":"1234567890.1733130000","consent":{"ad_user_data":"GRANTED","ad_personalization":"GRANTED"},"events":[{"name":"page_view","params":{"page_location":"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring","page_referrer":"https://www.google.com/search?q=red+shoes","page_title":"Red shoes","session_id":"1733130000"}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/mp/collect?measurement_id=G-SHOP1234&api_secret=x", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Body.String())
		}
	}
}
