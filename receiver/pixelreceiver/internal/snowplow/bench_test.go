package snowplow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The per-event measure for each protocol: decode a request and
// write its events as log records, with the real tracker's requests
// (testdata, @snowplow/browser-tracker 4.6.8).
func trackerRequests(b *testing.B, name string) []string {
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(raw)), "\n")
}

func benchDecoder(b *testing.B) *Decoder {
	d := testDecoder(b)
	d.Events.Limits.MaxStringLength = 2048
	d.Events.Limits.MaxProperties = 25
	return d
}

// BenchmarkDecodeConvertGETPageView is the tracker's GET page view: query
// unescaping, the base64url web_page context, campaign parsing.
func BenchmarkDecodeConvertGETPageView(b *testing.B) {
	d := benchDecoder(b)
	q := trackerRequests(b, "browser-tracker-4.6.8-get.txt")[0]
	b.ReportAllocs()
	for b.Loop() {
		ev, rej := d.DecodeQuery(q, testRequest, Hints{})
		if rej != nil {
			b.Fatal(rej)
		}
		ld := plog.NewLogs()
		ev.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	}
}

// BenchmarkDecodeConvertPOSTPerEvent is the tracker's POST batch of three
// (structured event, self-describing event, link click), per event.
func BenchmarkDecodeConvertPOSTPerEvent(b *testing.B) {
	d := benchDecoder(b)
	body := []byte(trackerRequests(b, "browser-tracker-4.6.8-post.ndjson")[1])
	b.ReportAllocs()
	for b.Loop() {
		batch, rej := d.DecodeBody(body, testRequest, Hints{})
		if rej != nil || len(batch.Events) != 3 {
			b.Fatal(rej, batch.Rejected)
		}
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := range batch.Events {
			batch.Events[i].CopyTo(lrs.AppendEmpty())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/3, "ns/event")
}
