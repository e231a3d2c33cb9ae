package ga4

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The per-event measure for each protocol: decode one request and
// write its events as log records into one plog.Logs.
func benchmarkDecodeConvert(b *testing.B, query, body string) {
	d := testDecoder(b)
	d.Events.Limits.MaxStringLength = 2048
	raw := []byte(body)
	b.ReportAllocs()
	for b.Loop() {
		batch, r := d.DecodeMP(query, raw, testRequest)
		if r != nil || len(batch.Refused) > 0 {
			b.Fatal(r, batch.Refused)
		}
		lrs := plog.NewLogs().ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := range batch.Events {
			batch.Events[i].CopyTo(lrs.AppendEmpty())
		}
	}
}

// BenchmarkMPPageView is one page view with session, campaign in the
// page URL, a referrer and consent: what a server-side tag sends per page.
func BenchmarkMPPageView(b *testing.B) {
	benchmarkDecodeConvert(b, "measurement_id=G-SHOP1234&api_secret=x", `{"client_id":"1234567890.1733130000","consent":{"ad_user_data":"GRANTED","ad_personalization":"GRANTED"},"events":[{"name":"page_view","params":{"page_location":"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring","page_referrer":"https://www.google.com/search?q=red+shoes","page_title":"Red shoes","session_id":"1733130000","engagement_time_msec":1}}]}`)
}

// BenchmarkMPPurchase is a purchase with two items and user properties.
func BenchmarkMPPurchase(b *testing.B) {
	benchmarkDecodeConvert(b, "measurement_id=G-SECURE1234&api_secret=s3cret", `{"client_id":"1234567890.1733130000","user_id":"u-42","user_properties":{"tier":{"value":"gold"}},"events":[{"name":"purchase","params":{"page_location":"https://secure.example/checkout","session_id":"1733130000","transaction_id":"T-12345","value":25.42,"currency":"USD","tax":4.9,"shipping":5.99,"items":[{"item_id":"SKU_1","item_name":"Red shoes","price":10.01,"quantity":2},{"item_id":"SKU_2","price":5.4,"quantity":1}]}}]}`)
}

// BenchmarkMPBatch10 is ten custom events of one request: the cost per
// event of a batched server-side sender is this divided by ten.
func BenchmarkMPBatch10(b *testing.B) {
	ev := `{"name":"add_to_cart","params":{"page_location":"https://shop.example/p/1","session_id":"1733130000","item_id":"SKU_1","value":10.01,"currency":"EUR"}}`
	body := `{"client_id":"1234567890.1733130000","events":[` + ev
	for range 9 {
		body += "," + ev
	}
	benchmarkDecodeConvert(b, "measurement_id=G-SHOP1234", body+`]}`)
}

// BenchmarkDecodeMP is the decode alone (the page view).
func BenchmarkDecodeMP(b *testing.B) {
	d := testDecoder(b)
	raw := []byte(`{"client_id":"1234567890.1733130000","consent":{"ad_user_data":"GRANTED","ad_personalization":"GRANTED"},"events":[{"name":"page_view","params":{"page_location":"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring","page_referrer":"https://www.google.com/search?q=red+shoes","page_title":"Red shoes","session_id":"1733130000","engagement_time_msec":1}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, r := d.DecodeMP("measurement_id=G-SHOP1234&api_secret=x", raw, testRequest); r != nil {
			b.Fatal(r)
		}
	}
}

// BenchmarkCollectPageView is gtag.js's page view (the GET's query, with
// its tag, client-hint and consent params): decode, a plog.Logs, the record.
func BenchmarkCollectPageView(b *testing.B) {
	d := testDecoder(b)
	d.Events.Limits.MaxStringLength = 2048
	b.ReportAllocs()
	for b.Loop() {
		batch, r := d.DecodeCollect(gtagPageView, nil, testRequest)
		if r != nil || len(batch.Events) != 1 {
			b.Fatal(r, batch.Refused)
		}
		lrs := plog.NewLogs().ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		batch.Events[0].CopyTo(lrs.AppendEmpty())
	}
}

// BenchmarkDecodeCollect is the decode alone (gtag.js's page view).
func BenchmarkDecodeCollect(b *testing.B) {
	d := testDecoder(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, r := d.DecodeCollect(gtagPageView, nil, testRequest); r != nil {
			b.Fatal(r)
		}
	}
}
