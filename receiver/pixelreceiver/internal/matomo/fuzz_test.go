package matomo

import (
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// checkEvent asserts what every accepted event must satisfy, whatever the
// input was.
func checkEvent(t *testing.T, d *Decoder, ev *webevent.Event) {
	t.Helper()
	if _, ok := d.Events.Sites[ev.SiteID]; !ok {
		t.Fatalf("accepted an event of site %q", ev.SiteID)
	}
	if ev.VisitorID != "" && !isVisitorID(ev.VisitorID) {
		t.Fatalf("visitor id %q", ev.VisitorID)
	}
	if len(ev.Props) > d.Events.Limits.MaxProperties {
		t.Fatalf("%d properties", len(ev.Props))
	}
	for _, p := range ev.Props {
		if !validPropertyKey(p.Key) {
			t.Fatalf("property key %q", p.Key)
		}
	}
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	if lr.EventName() == eventmodel.EventCustom && ev.CustomName == "" {
		t.Fatal("a custom event without a name")
	}
	check := func(k string, v any) {
		if s, ok := v.(string); ok && (!utf8.ValidString(s) || len(s) > d.Events.Limits.MaxStringLength) {
			t.Fatalf("%s: %q is not valid UTF-8 within max_string_length", k, s)
		}
	}
	for k, v := range lr.Attributes().AsRaw() {
		if m, ok := v.(map[string]any); ok {
			for pk, pv := range m {
				check(pk, pv)
			}
			continue
		}
		check(k, v)
	}
}

func knownReasons() map[webevent.Reason]bool {
	known := map[webevent.Reason]bool{}
	for _, r := range webevent.Reasons {
		known[r] = true
	}
	return known
}

// FuzzDecode: whatever the query, Decode never panics, an accepted event
// passes the tag's checks and a rejection carries a known reason. The
// seeds in testdata/fuzz/FuzzDecode are matomo.js's requests.
func FuzzDecode(f *testing.F) {
	f.Add(pageView)
	f.Add("idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&e_c=Video&e_a=Play&e_n=Intro&e_v=1.5&dimension1=x&_id=1a2b3c4d5e6f7a8b&uid=u1&consent=1")
	f.Add("idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&idgoal=0&ec_id=A1&revenue=10&ec_items=%5B%5B%22s%22%2C%22n%22%2C%22c%22%2C5%2C2%5D%5D")
	f.Add("idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F&token_auth=k-1&cip=::ffff:10.0.0.1&cdt=1764666000&ua=x&link=https%3A%2F%2Fa.example")
	f.Add("idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F%3Fpk_campaign%3Dx%26pk_kwd%3Dy&search=q&search_count=3&ping=1&c_n=b&c_i=click")
	d := testDecoder(f)
	known := knownReasons()
	f.Fuzz(func(t *testing.T, query string) {
		ev, rej := d.Decode(query, testRequest)
		if rej != nil {
			if !known[rej.Reason] {
				t.Fatalf("unknown reason %q", rej.Reason)
			}
			return
		}
		checkEvent(t, d, &ev)
	})
}

// FuzzDecodeBulk: whatever the body, DecodeBulk never panics, never loses
// a member (every one is an event or a rejection with its index), and
// every event passes the tag's checks.
func FuzzDecodeBulk(f *testing.F) {
	f.Add([]byte(`{"requests":["?` + pageView + `","?idsite=99&rec=1"],"send_image":0}`))
	f.Add([]byte(`{"requests":[{"idsite":1,"rec":true,"url":"https://shop.example/","e_c":"a","e_a":"b","e_v":1e3},null,["x"]],"token_auth":"k-1"}`))
	f.Add([]byte(`{"requests":["https://c.example/matomo.php?idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F\u0026x=1"],"token_auth":"k-1"}`))
	d := testDecoder(f)
	known := knownReasons()
	f.Fuzz(func(t *testing.T, body []byte) {
		b, rej := d.DecodeBulk(body, testRequest)
		if rej != nil {
			if !known[rej.Reason] {
				t.Fatalf("unknown reason %q", rej.Reason)
			}
			return
		}
		if len(b.Events)+len(b.Rejected) == 0 || len(b.Events)+len(b.Rejected) > d.Events.Limits.MaxEventsPerBeacon {
			t.Fatalf("%d events and %d rejections", len(b.Events), len(b.Rejected))
		}
		for i := range b.Rejected {
			if !known[b.Rejected[i].Reason] {
				t.Fatalf("unknown reason %q", b.Rejected[i].Reason)
			}
		}
		for i := range b.Events {
			checkEvent(t, d, &b.Events[i])
		}
	})
}
