package webevent

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

func benchDecoder() *Decoder {
	return &Decoder{
		Sites:  map[string]Site{"shop": {}},
		Limits: Limits{MaxEventsPerBeacon: 50, MaxStringLength: 2048, MaxProperties: 25},
	}
}

func BenchmarkDecodePixel(b *testing.B) {
	d := benchDecoder()
	query := url.Values{
		"s":      {"shop"},
		"url":    {"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring"},
		"ref":    {"https://www.google.com/search?q=red+shoes"},
		"t":      {"Red Shoes | Shop Example"},
		"vid":    {"3f2b8c1e-9d4a-4f6b-8e2c-1a5d7b9c0e3f"},
		"sid":    {"9c0e3f1a-5d7b-4e2c-8f6b-3f2b8c1e9d4a"},
		"eid":    {"0f8fad5b-d9cb-469f-a165-70867728950e"},
		"p.plan": {"pro"},
		"p.ab":   {"variant-b"},
	}.Encode()
	req := Request{Received: time.Now(), UserAgent: "Mozilla/5.0", ClientAddress: "192.0.2.1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := d.DecodePixel(query, req); rej != nil {
			b.Fatal(rej)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hits/s")
}

// benchBeaconBody is a beacon of n custom events with four properties each.
func benchBeaconBody(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"site":"shop","visitor_id":"v-1","session_id":"s-1","sent_at":1712345679000,"events":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"evt-%d","type":"custom","ts":%d,"url":"https://shop.example/products/%d?utm_source=newsletter","referrer":"https://www.google.com/","title":"Product %d | Shop Example","name":"add_to_cart","props":{"plan":"pro","qty":%d,"price":19.99,"gift":false}}`, i, 1712345670000+i, i, i, i)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

func BenchmarkDecodeBeacon(b *testing.B) {
	const events = 10
	d := benchDecoder()
	body := benchBeaconBody(events)
	req := Request{Received: time.Now(), UserAgent: "Mozilla/5.0", ClientAddress: "192.0.2.1"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		bc, rej := d.DecodeBeacon(body, req)
		if rej != nil || len(bc.Events) != events {
			b.Fatal(rej, bc.Rejected)
		}
	}
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeConvertBeacon is the per-event measure: decode a
// beacon of 10 events and write them as log records of one plog.Logs.
func BenchmarkDecodeConvertBeacon(b *testing.B) {
	const events = 10
	d := benchDecoder()
	body := benchBeaconBody(events)
	req := Request{Received: time.Now(), UserAgent: "Mozilla/5.0", ClientAddress: "192.0.2.1"}
	b.ReportAllocs()
	for b.Loop() {
		bc, rej := d.DecodeBeacon(body, req)
		if rej != nil || len(bc.Events) != events {
			b.Fatal(rej, bc.Rejected)
		}
		ld := plog.NewLogs()
		records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		records.EnsureCapacity(events)
		for i := range bc.Events {
			bc.Events[i].CopyTo(records.AppendEmpty())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}
