package ga4

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// FuzzDecodeMP: whatever the query and body, DecodeMP never panics, an
// accepted event is one of a configured site with valid UTF-8 strings
// within the limits and at most max_properties properties, and every
// refusal carries a known reason and one of Google's validation codes.
// The seeds in testdata/fuzz/FuzzDecodeMP are Google's documented bodies.
func FuzzDecodeMP(f *testing.F) {
	f.Add(shopQuery, []byte(googleCampaignDetails))
	f.Add("measurement_id=G-SECURE1234&api_secret=s3cret", []byte(`{"client_id":"1.2","consent":{"ad_user_data":"GRANTED"},"events":[{"name":"purchase","params":{"value":1,"currency":"EUR","items":[{"item_id":"a"}]}}]}`))
	d := testDecoder(f)
	known := map[webevent.Reason]bool{}
	for _, r := range webevent.Reasons {
		known[r] = true
	}
	codes := map[string]bool{CodeValueInvalid: true, CodeValueRequired: true, CodeNameInvalid: true,
		CodeNameReserved: true, CodeValueOutOfBounds: true, CodeExceededMaxEntities: true}
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		b, r := d.DecodeMP(query, body, testRequest)
		if r != nil {
			if !known[r.Reason] || !codes[r.Code] || r.Index != -1 {
				t.Fatalf("bad refusal %+v", r)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatal("accepted a body that is not JSON")
		}
		for _, rf := range b.Refused {
			if !known[rf.Reason] || !codes[rf.Code] || rf.Index < 0 {
				t.Fatalf("bad refusal %+v", rf)
			}
		}
		for _, ev := range b.Events {
			if _, ok := d.Events.Sites[ev.SiteID]; !ok {
				t.Fatalf("accepted an event of site %q", ev.SiteID)
			}
			if len(ev.Props) > d.Events.Limits.MaxProperties {
				t.Fatalf("%d properties", len(ev.Props))
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
		}
	})
}

// FuzzDecodeCollect: the same guarantees for gtag.js's requests, whatever
// the URL's query and the batch body. The seeds in
// testdata/fuzz/FuzzDecodeCollect are gtag.js's page view and batches.
func FuzzDecodeCollect(f *testing.F) {
	f.Add(gtagPageView, []byte(""))
	f.Add("v=2&tid=G-SHOP1234&cid=1.2&sid=77&dl=https%3A%2F%2Fshop.example%2Fp", []byte("en=scroll&epn.percent_scrolled=90\nen=purchase&epn.value=1&cu=EUR&pr1=idA"))
	d := testDecoder(f)
	known := map[webevent.Reason]bool{}
	for _, r := range webevent.Reasons {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		b, r := d.DecodeCollect(query, body, testRequest)
		if r != nil {
			if !known[r.Reason] || r.Index != -1 {
				t.Fatalf("bad refusal %+v", r)
			}
			return
		}
		for _, rf := range b.Refused {
			if !known[rf.Reason] || rf.Index < 0 {
				t.Fatalf("bad refusal %+v", rf)
			}
		}
		for _, ev := range b.Events {
			if _, ok := d.Events.Sites[ev.SiteID]; !ok {
				t.Fatalf("accepted an event of site %q", ev.SiteID)
			}
			if len(ev.Props) > d.Events.Limits.MaxProperties {
				t.Fatalf("%d properties", len(ev.Props))
			}
			lr := plog.NewLogRecord()
			ev.CopyTo(lr)
			for k, v := range lr.Attributes().AsRaw() {
				if s, ok := v.(string); ok && (!utf8.ValidString(s) || len(s) > d.Events.Limits.MaxStringLength) {
					t.Fatalf("%s: %q is not valid UTF-8 within max_string_length", k, s)
				}
			}
		}
	})
}
