package pixelreceiver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

const fuzzMaxString = 256

// newFuzzReceiver is the real receiver without a listener: the handlers are
// called directly, with confighttp's body limit applied by hand.
func newFuzzReceiver(t testing.TB, sink *consumertest.LogsSink) *pixelReceiver {
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.Limits.MaxStringLength = fuzzMaxString
	cfg.ServerConfig.MaxRequestBodySize = 16 * 1024
	// Every fuzz input comes from one address: the limiter would answer
	// 429 to nearly all of them. It has its own tests.
	cfg.RateLimit.RequestsPerSecond = 0
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = componenttest.NewNopTelemetrySettings()
	r, err := newPixelReceiver(cfg, set, sink)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func FuzzPixelQuery(f *testing.F) {
	f.Add("s=shop&url=https%3A%2F%2Fshop.example%2Fa%3Fb%3Dc%23d&ref=https%3A%2F%2Fwww.google.com%2F&t=Title&vid=v1&sid=s1&e=ev&n=signup&eid=e1&p.plan=pro", "", "Mozilla/5.0")
	f.Add("s=shop", "https://shop.example/noscript", "")
	f.Add("s=shop&url=http://[::1]:99999/&vid=%zz&p.=&p.a.b=1", "android-app://x", "\xff\xfe")
	f.Add("s=nope&e=ev&url=javascript:alert(1)", "", "")
	f.Add("&&==&s=shop&s=&url=https://user:pw@shop.example/%ff#%ff", "https://shop.example/", strings.Repeat("u", 300))
	f.Add("s=shop&url=https%3A%2F%2Fshop.example%2F&ref=android-app%3A%2F%2Fcom.google.android.gm%2F", "", "")
	f.Add("s=shop&url=https%3A%2F%2Fshop.example%2F&ref=android-app%3A%2F%2Fcom.Slack%2Fhttps%2Fx%3Fy%3D1", "", "")
	f.Add("s=shop&url=https%3A%2F%2Fshop.example%2F&gdpr=${GDPR}&gdpr_consent=${GDPR_CONSENT_755}", "", "")
	f.Add("s=shop&url=https%3A%2F%2Fshop.example%2F&gdpr=1&gdpr_consent=%24%7BGDPR_CONSENT_755%7D", "", "")
	f.Add("s=shop&url=https%3A%2F%2Fshop.example%2F&gdpr=0&gdpr_consent=a+b%3D%3D", "", "")
	f.Add("s=shop&url=https%3A%2F%2Fshop.example%2F&gdpr_consent=[GDPR_CONSENT]&gdpr=%5BGDPR%5D", "", "")
	sink := new(consumertest.LogsSink)
	r := newFuzzReceiver(f, sink)
	f.Fuzz(func(t *testing.T, query, referer, userAgent string) {
		sink.Reset()
		req := httptest.NewRequest(http.MethodGet, "/p.gif", http.NoBody)
		req.URL.RawQuery = query
		req.Header.Set("Referer", referer)
		req.Header.Set("User-Agent", userAgent)
		rec := httptest.NewRecorder()
		r.route(rec, req)

		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), transparentGIF) || rec.Header().Get("Content-Type") != "image/gif" {
			t.Fatalf("pixel answered %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
		}
		if n := sink.LogRecordCount(); n > 1 {
			t.Fatalf("one hit produced %d records", n)
		}
		checkRecords(t, sink)
		// The TC parameters never cost the hit: without them it would be
		// recorded just the same.
		if sink.LogRecordCount() == 0 && strings.Contains(query, "gdpr") {
			sink.Reset()
			req.URL.RawQuery = withoutTCF(query)
			r.route(httptest.NewRecorder(), req)
			if sink.LogRecordCount() != 0 {
				t.Fatalf("the TC parameters cost the hit %q", query)
			}
		}
	})
}

// withoutTCF drops the gdpr and gdpr_consent parameters of a raw query.
func withoutTCF(query string) string {
	var kept []string
	for part := range urlquery.Parts(query) {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && (n == webevent.ParamGDPR || n == webevent.ParamGDPRConsent) {
			continue
		}
		kept = append(kept, part)
	}
	return strings.Join(kept, "&")
}

func FuzzBeaconBody(f *testing.F) {
	f.Add([]byte(`{"site":"shop","visitor_id":"v","session_id":"s","sent_at":2000,"events":[{"id":"e1","type":"page_view","ts":1000,"url":"https://shop.example/","referrer":"https://google.com/","title":"T"},{"type":"custom","name":"n","url":"https://shop.example/x","props":{"a":"b","n":1,"f":1.5,"t":true,"z":null}}]}`), "application/json")
	f.Add([]byte(`{"site":"shop","events":[{},{"url":5},"x",null,{"url":"https://shop.example/","props":{"a":{"b":1}}}]}`), "text/plain;charset=UTF-8")
	f.Add([]byte(`{"site":"shop","events":[{"url":"https://shop.example/","ts":1e308}],"sent_at":-1e308}`), "application/json")
	f.Add([]byte(`{"site":"shop","sent_at":1e308,"events":[{"url":"https://shop.example/","ts":1e308},{"url":"https://shop.example/","ts":-0.5}]}`), "application/json")
	f.Add([]byte(`[]`), "application/json")
	f.Add([]byte(`{"site":"shop","events":[{"url":"https://shop.example/\ud800","title":"\u0000"}]}`), "application/json")
	f.Add([]byte("{\"site\":\"shop\",\"events\":[{\"url\":\"https://shop.example/\",\"name\":\"\xff\"}]}"), "application/json")
	f.Add([]byte(`{"site":"shop"`), "text/html")
	f.Add([]byte(`{"site":"shop","user_id":"u","consent":{"analytics":"granted","marketing":7},"gpc":true,"tcf":{"gdpr_applies":true,"tc_string":"CPz-_.x"},"referral":{"partner":"p","click_id":"c"},"events":[`+
		`{"type":"engagement","url":"https://shop.example/","engaged_ms":1200,"scroll_depth":55,"page_view_id":"pv"},`+
		`{"type":"outbound_click","url":"https://shop.example/","link_url":"https://other.example/x"},`+
		`{"type":"file_download","url":"https://shop.example/","link_url":"mailto:x"},`+
		`{"type":"form_submit","url":"https://shop.example/","form_id":"f","form_action":"/a?b=c","field_count":3,"sensitive":true},`+
		`{"type":"site_search","url":"https://shop.example/?q=x","search_term":"x"},`+
		`{"type":"identify","url":"https://shop.example/"},{"type":"consent","url":"https://shop.example/"}]}`), "text/plain")
	f.Add([]byte(`{"site":"shop","tcf":{"gdpr_applies":true,"tc_string":"${GDPR_CONSENT_755}"},"events":[{"url":"https://shop.example/"}]}`), "application/json")
	f.Add([]byte(`{"site":"shop","tcf":{"gdpr_applies":false,"tc_string":"alice@example.com"},"events":[{"url":"https://shop.example/"}]}`), "application/json")
	f.Add([]byte(`{"site":"shop","tcf":{"tc_string":"CPzHq4A=="},"events":[{"url":"https://shop.example/"}]}`), "application/json")
	f.Add([]byte(`{"site":"shop","cookieless":true,"automation":true,"events":[{"url":"https://shop.example/?utm_source=a&gclid=b","props":{"\u0061":"\"x\"","a":1,"a":null}}]}`), "application/json")
	sink := new(consumertest.LogsSink)
	r := newFuzzReceiver(f, sink)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sink.Reset()
		req := httptest.NewRequest(http.MethodPost, "/b", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, r.cfg.ServerConfig.MaxRequestBodySize)
		r.route(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
		var resp struct {
			Error    *string `json:"error"`
			Message  *string `json:"message"`
			Accepted *int    `json:"accepted"`
			Rejected []struct {
				Index   *int    `json:"index"`
				Error   *string `json:"error"`
				Message *string `json:"message"`
			} `json:"rejected"`
		}
		dec := json.NewDecoder(rec.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&resp); err != nil {
			t.Fatalf("response is not the documented JSON: %v", err)
		}
		if resp.Error != nil {
			if resp.Message == nil || resp.Accepted != nil || sink.LogRecordCount() != 0 {
				t.Fatalf("bad error response or something consumed: %+v", resp)
			}
			checkReason(t, *resp.Error)
			return
		}
		if resp.Accepted == nil || *resp.Accepted != sink.LogRecordCount() {
			t.Fatalf("accepted %v, consumed %d", resp.Accepted, sink.LogRecordCount())
		}
		if (rec.Code == http.StatusOK) != (*resp.Accepted > 0) {
			t.Fatalf("status %d with %d accepted", rec.Code, *resp.Accepted)
		}
		last := -1
		for _, rj := range resp.Rejected {
			if rj.Index == nil || *rj.Index <= last || rj.Error == nil || rj.Message == nil {
				t.Fatalf("bad rejected entry in %s", rec.Body.String())
			}
			last = *rj.Index
			checkReason(t, *rj.Error)
		}
		checkRecords(t, sink)
	})
}

func checkReason(t *testing.T, reason string) {
	for _, r := range webevent.Reasons {
		if string(r) == reason {
			return
		}
	}
	t.Fatalf("reason %q is not one of the documented codes", reason)
}

// checkRecords asserts what every produced record must satisfy, whatever
// the input was.
func checkRecords(t *testing.T, sink *consumertest.LogsSink) {
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			lr := lrs.At(i)
			if !slices.Contains(eventmodel.EventNames, lr.EventName()) {
				t.Fatalf("event name %q", lr.EventName())
			}
			attrs := lr.Attributes()
			for _, k := range []string{eventmodel.AttrEventID, eventmodel.AttrSiteID, eventmodel.AttrURLFull, eventmodel.AttrURLDomain, eventmodel.AttrURLPath} {
				if v, ok := attrs.Get(k); !ok || v.Str() == "" {
					t.Fatalf("record without %s: %v", k, attrs.AsRaw())
				}
			}
			if id, _ := attrs.Get(eventmodel.AttrEventID); !webevent.ValidID(id.Str()) {
				t.Fatalf("invalid event id %q", id.Str())
			}
			if scheme, _ := attrs.Get(eventmodel.AttrURLScheme); scheme.Str() != "http" && scheme.Str() != "https" {
				t.Fatalf("scheme %q", scheme.Str())
			}
			if tc, ok := attrs.Get(eventmodel.AttrTCFString); ok && strings.Trim(tc.Str(), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
				t.Fatalf("TC string %q passed on: only base64url segments may be", tc.Str())
			}
			checkStrings(t, attrs)
			checkTime(t, lr)
		}
	}
}

// checkTime asserts that no event time was decided silently: every record
// says where its time came from, a replaced time is the receive time, a
// shifted one says by how much, and only a hit without a client clock (a
// pixel) has the receive time without a reason.
func checkTime(t *testing.T, lr plog.LogRecord) {
	attrs := lr.Attributes()
	source, _ := attrs.Get(eventmodel.AttrTimeSource)
	correction, corrected := attrs.Get(eventmodel.AttrTimeCorrection)
	channel, _ := attrs.Get(eventmodel.AttrIngestChannel)
	at, observed := lr.Timestamp().AsTime(), lr.ObservedTimestamp().AsTime()
	_, hasSkew := attrs.Get(eventmodel.AttrTimeSkew)
	if hasSkew != (correction.Str() == eventmodel.TimeCorrectionSkew) {
		t.Fatalf("skew_ms present %v with correction %q", hasSkew, correction.Str())
	}
	switch source.Str() {
	case eventmodel.TimeSourceClient:
		if corrected || at.Sub(observed).Abs() > eventtime.Beacon.MaxDelay+eventtime.Beacon.MaxSkew {
			t.Fatalf("client time %s received %s, correction %q", at, observed, correction.Str())
		}
	case eventmodel.TimeSourceClientSkewCorrected:
		if correction.Str() != eventmodel.TimeCorrectionSkew || at.After(observed) || observed.Sub(at) > eventtime.Beacon.MaxDelay {
			t.Fatalf("skew-corrected time %s received %s, correction %q", at, observed, correction.Str())
		}
	case eventmodel.TimeSourceReceiveTime:
		clientClock := channel.Str() == eventmodel.ChannelBeacon || channel.Str() == eventmodel.ChannelSnowplow
		if !at.Equal(observed) || corrected != clientClock ||
			corrected && !slices.Contains(eventmodel.TimeCorrections, correction.Str()) {
			t.Fatalf("receive time %s (received %s) on %s with correction %q", at, observed, channel.Str(), correction.Str())
		}
	default:
		t.Fatalf("time source %q", source.Str())
	}
}

func checkStrings(t *testing.T, m pcommon.Map) {
	for k, v := range m.All() {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if !utf8.ValidString(v.Str()) || len(v.Str()) > fuzzMaxString {
				t.Fatalf("attribute %s: invalid or over-long string %q", k, v.Str())
			}
		case pcommon.ValueTypeMap:
			checkStrings(t, v.Map())
		}
	}
}
