package matomo

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The per-event measure for each protocol: decode one request and
// write its event as a log record, with a plog.Logs per request.
func benchmarkDecodeConvert(b *testing.B, query string) {
	d := testDecoder(b)
	d.Events.Limits.MaxStringLength = 2048
	d.Events.Limits.MaxProperties = 25
	b.ReportAllocs()
	for b.Loop() {
		ev, rej := d.Decode(query, testRequest)
		if rej != nil {
			b.Fatal(rej)
		}
		ld := plog.NewLogs()
		ev.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	}
}

// BenchmarkDecodeConvertPageView is matomo.js's page view: campaign,
// referrer, visitor id, page view id, performance timings, resolution.
func BenchmarkDecodeConvertPageView(b *testing.B) {
	benchmarkDecodeConvert(b, pageView)
}

// BenchmarkDecodeConvertEvent is matomo.js's trackEvent with a dimension.
func BenchmarkDecodeConvertEvent(b *testing.B) {
	benchmarkDecodeConvert(b, "e_c=Video&e_a=Play&e_n=Intro&e_v=12.5&ca=1&idsite=1&rec=1&r=123456&h=10&m=4&s=7"+
		"&url=https%3A%2F%2Fshop.example%2Fvideos%2Fintro&_id=1a2b3c4d5e6f7a8b&_idn=0&send_image=0&pv_id=AbC123&dimension1=gold&cookie=1&res=1920x1080")
}

// BenchmarkDecodeBulk10 is a bulk request of ten page views (per request;
// divide by ten for the per-event figure).
func BenchmarkDecodeBulk10(b *testing.B) {
	d := testDecoder(b)
	d.Events.Limits.MaxStringLength = 2048
	d.Events.Limits.MaxProperties = 25
	d.Events.Limits.MaxEventsPerBeacon = 50
	body := []byte(`{"requests":["?` + pageView + `"`)
	for range 9 {
		body = append(body, `,"?`+pageView+`"`...)
	}
	body = append(body, `],"send_image":0}`...)
	b.ReportAllocs()
	for b.Loop() {
		batch, rej := d.DecodeBulk(body, testRequest)
		if rej != nil || len(batch.Events) != 10 {
			b.Fatal(rej, batch.Rejected)
		}
	}
}

// BenchmarkDecode is the decode alone (the page view).
func BenchmarkDecode(b *testing.B) {
	d := testDecoder(b)
	d.Events.Limits.MaxStringLength = 2048
	d.Events.Limits.MaxProperties = 25
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := d.Decode(pageView, testRequest); rej != nil {
			b.Fatal(rej)
		}
	}
}
