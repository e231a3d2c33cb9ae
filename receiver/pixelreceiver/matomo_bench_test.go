package pixelreceiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// newMatomoBenchReceiver is newBenchReceiver with Matomo site 1 as shop.
func newMatomoBenchReceiver(b *testing.B) *pixelReceiver {
	r := newBenchReceiver(b)
	r.cfg.Protocols.Matomo = MatomoConfig{Enabled: true, Paths: defaultMatomoPaths}
	r.matomo.SiteIDs = map[string]string{"1": "shop"}
	return r
}

// BenchmarkMatomoPixel is one matomo.js page view as an image request
// through the handler, as BenchmarkPixelHit is one pixel hit.
func BenchmarkMatomoPixel(b *testing.B) {
	r := newMatomoBenchReceiver(b)
	req := httptest.NewRequest(http.MethodGet, "/matomo.php?"+
		"action_name=Shoes&idsite=1&rec=1&r=482910&h=10&m=4&s=7&url=https%3A%2F%2Fshop.example%2Fproducts%2Fred-shoes%3Futm_source%3Dnewsletter%26utm_medium%3Demail%26utm_campaign%3Dspring"+
		"&urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Dred%2Bshoes&_id=1a2b3c4d5e6f7a8b&_idn=0&send_image=1&pv_id=AbC123&cookie=1&res=1920x1080", http.NoBody)
	req.Header.Set("User-Agent", benchUA)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkMatomoPost is the same page view as matomo.js posts it
// (sendBeacon, form body, send_image=0, 204), as BenchmarkPlausible is one
// Plausible page view.
func BenchmarkMatomoPost(b *testing.B) {
	r := newMatomoBenchReceiver(b)
	body := []byte("action_name=Shoes&idsite=1&rec=1&r=482910&h=10&m=4&s=7&url=https%3A%2F%2Fshop.example%2Fproducts%2Fred-shoes%3Futm_source%3Dnewsletter%26utm_medium%3Demail%26utm_campaign%3Dspring" +
		"&urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Dred%2Bshoes&_id=1a2b3c4d5e6f7a8b&_idn=0&send_image=0&pv_id=AbC123&cookie=1&res=1920x1080")
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/matomo.php", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
		req.Header.Set("User-Agent", benchUA)
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Body.String())
		}
	}
}
