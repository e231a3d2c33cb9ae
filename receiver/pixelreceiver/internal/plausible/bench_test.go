package plausible

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The per-event measure for each protocol: decode one request and
// write its event as a log record. A Plausible request carries one event,
// so the plog.Logs is made per event too (the beacon's benchmark shares one
// among ten).
func benchmarkDecodeConvert(b *testing.B, body string) {
	d := testDecoder(b)
	d.Events.Limits.MaxStringLength = 2048
	raw := []byte(body)
	b.ReportAllocs()
	for b.Loop() {
		ev, rej := d.Decode(raw, testRequest)
		if rej != nil {
			b.Fatal(rej)
		}
		ld := plog.NewLogs()
		ev.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	}
}

// BenchmarkDecodeConvertPageView is the tracker's page view with campaign
// parameters and a referrer.
func BenchmarkDecodeConvertPageView(b *testing.B) {
	benchmarkDecodeConvert(b, `{"n":"pageview","v":36,"u":"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring","d":"shop.example","r":"https://www.google.com/search?q=red+shoes"}`)
}

// BenchmarkDecodeConvertCustom is a custom event with two props and revenue.
func BenchmarkDecodeConvertCustom(b *testing.B) {
	benchmarkDecodeConvert(b, `{"n":"Purchase","v":36,"u":"https://shop.example/checkout","d":"shop.example","r":null,"p":{"plan":"pro","seats":"3"},"$":{"amount":15.99,"currency":"USD"}}`)
}

// BenchmarkDecode is the decode alone.
func BenchmarkDecode(b *testing.B) {
	d := testDecoder(b)
	raw := []byte(`{"n":"Purchase","v":36,"u":"https://shop.example/checkout","d":"shop.example","r":null,"p":{"plan":"pro","seats":"3"},"$":{"amount":15.99,"currency":"USD"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := d.Decode(raw, testRequest); rej != nil {
			b.Fatal(rej)
		}
	}
}
