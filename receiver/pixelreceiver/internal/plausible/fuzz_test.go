package plausible

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// FuzzDecode: whatever the body, Decode never panics, an accepted event
// is one of a configured site with valid UTF-8 strings within the limits,
// and a rejection carries a known reason. The seeds in
// testdata/fuzz/FuzzDecode are the real tracker's bodies.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"n":"pageview","v":36,"u":"https://shop.example/?utm_source=x","d":"shop.example","r":"https://www.google.com/","h":1}`))
	f.Add([]byte(`{"n":"Purchase","u":"https://shop.example/c","d":"shop.example","p":"{\"a\":\"1\"}","$":"{\"amount\":\"9.5\",\"currency\":\"EUR\"}","i":false}`))
	f.Add([]byte(`{"n":"engagement","sd":1e2,"e":0,"d":"shop.example","u":"https://shop.example/","p":null}`))
	d := testDecoder(f)
	known := map[webevent.Reason]bool{}
	for _, r := range webevent.Reasons {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, rej := d.Decode(body, testRequest)
		if rej != nil {
			if !known[rej.Reason] {
				t.Fatalf("unknown reason %q", rej.Reason)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatal("accepted a body that is not JSON")
		}
		if _, ok := d.Events.Sites[ev.SiteID]; !ok {
			t.Fatalf("accepted an event of site %q", ev.SiteID)
		}
		lr := plog.NewLogRecord()
		ev.CopyTo(lr)
		if lr.EventName() == eventmodel.EventCustom && ev.CustomName == "" {
			t.Fatal("a custom event without a name")
		}
		for k, v := range lr.Attributes().AsRaw() {
			if s, ok := v.(string); ok && (!utf8.ValidString(s) || len(s) > d.Events.Limits.MaxStringLength) {
				t.Fatalf("%s: %q is not valid UTF-8 within max_string_length", k, s)
			}
		}
	})
}
