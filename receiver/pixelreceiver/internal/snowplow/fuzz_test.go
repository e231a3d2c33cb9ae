package snowplow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// checkEvent fails when an accepted event breaks what every event must
// hold: a configured site, a name, valid UTF-8 strings within the limits.
func checkEvent(t *testing.T, d *Decoder, ev *webevent.Event) {
	t.Helper()
	if _, ok := d.Events.Sites[ev.SiteID]; !ok {
		t.Fatalf("accepted an event of site %q", ev.SiteID)
	}
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	if lr.EventName() == eventmodel.EventCustom && ev.CustomName == "" {
		t.Fatal("a custom event without a name")
	}
	if len(ev.Props) > d.Events.Limits.MaxProperties {
		t.Fatalf("%d properties, more than max_properties", len(ev.Props))
	}
	for k, v := range lr.Attributes().AsRaw() {
		if s, ok := v.(string); ok && (!utf8.ValidString(s) || len(s) > d.Events.Limits.MaxStringLength) {
			t.Fatalf("%s: %q is not valid UTF-8 within max_string_length", k, s)
		}
	}
}

func knownReasons() map[webevent.Reason]bool {
	known := map[webevent.Reason]bool{}
	for _, r := range webevent.Reasons {
		known[r] = true
	}
	return known
}

func seeds(f *testing.F, name string) []string {
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(raw)), "\n")
}

// FuzzDecodeQuery: whatever the query of a GET /i, DecodeQuery never
// panics, an accepted event passes checkEvent and a rejection carries a
// known reason. The seeds are the real tracker's queries.
func FuzzDecodeQuery(f *testing.F) {
	for _, q := range seeds(f, "browser-tracker-4.6.8-get.txt") {
		f.Add(q)
		// A server-side tracker's true timestamp and network user id.
		f.Add(q + "&ttm=1796205000000&tnuid=c3a1a0f2-5d3e-4c8b-9f6a-1b2c3d4e5f60")
	}
	d := testDecoder(f)
	known := knownReasons()
	f.Fuzz(func(t *testing.T, q string) {
		ev, rej := d.DecodeQuery(q, testRequest, Hints{})
		if rej != nil {
			if !known[rej.Reason] {
				t.Fatalf("unknown reason %q", rej.Reason)
			}
			return
		}
		checkEvent(t, d, &ev)
	})
}

// FuzzDecodeBody: whatever the POST body, DecodeBody never panics, a body
// is accepted only when it is JSON, every member is either an accepted
// event or a rejection with its index, and accepted events pass
// checkEvent. The seeds are the real tracker's batches.
func FuzzDecodeBody(f *testing.F) {
	for _, b := range seeds(f, "browser-tracker-4.6.8-post.ndjson") {
		f.Add([]byte(b))
	}
	d := testDecoder(f)
	known := knownReasons()
	f.Fuzz(func(t *testing.T, body []byte) {
		b, rej := d.DecodeBody(body, testRequest, Hints{})
		if rej != nil {
			if !known[rej.Reason] {
				t.Fatalf("unknown reason %q", rej.Reason)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatal("accepted a body that is not JSON")
		}
		var env struct{ Data []json.RawMessage }
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("accepted a body whose data is no array: %v", err)
		}
		if len(b.Events)+len(b.Rejected) != len(env.Data) {
			t.Fatalf("%d members, %d accepted + %d rejected", len(env.Data), len(b.Events), len(b.Rejected))
		}
		for _, r := range b.Rejected {
			if !known[r.Reason] || r.Index < 0 || r.Index >= len(env.Data) {
				t.Fatalf("bad member rejection %+v", r)
			}
		}
		for i := range b.Events {
			checkEvent(t, d, &b.Events[i])
		}
	})
}
