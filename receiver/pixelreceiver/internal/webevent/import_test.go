package webevent

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/origin"
)

var importReceived = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func testImport(maxAge time.Duration) *Import {
	return &Import{Site: "shop", Received: importReceived, MaxAge: maxAge}
}

func importAttrs(t *testing.T, d *Decoder, line string) (map[string]any, plog.LogRecord) {
	t.Helper()
	ev, rej := d.DecodeImportLine([]byte(line), testImport(0))
	require.Nil(t, rej, line)
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	return lr.Attributes().AsRaw(), lr
}

// Every field of the line format lands where the beacon's does, and the
// event keeps its own time, marked as the client's, on channel import.
func TestImportLineFields(t *testing.T) {
	d := wideDecoder()
	at := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	line := `{"id":"e-1","ts":` + strconv.FormatInt(at.UnixMilli(), 10) + `,"type":"page_view",` +
		`"url":"https://shop.example/p?utm_source=news&utm_medium=email","referrer":"https://www.google.com/",` +
		`"title":" Pricing ","props":{"plan":"pro","n":3},"visitor_id":"v-1","session_id":"s-1","user_id":" u-7 ",` +
		`"referral":{"partner":"archipro","click_id":"c-1"},"consent":{"analytics":"granted","marketing":"denied"},` +
		`"gpc":true,"dnt":true,"tcf":{"gdpr_applies":true},"user_agent":"Mozilla/5.0 Firefox/130.0",` +
		`"client_address":"::ffff:192.0.2.7","site":"shop","key":"ignored","sent_at":1,"unknown":{"x":1}}`
	a, lr := importAttrs(t, d, line)
	assert.Equal(t, at, lr.Timestamp().AsTime())
	assert.Equal(t, importReceived, lr.ObservedTimestamp().AsTime())
	assert.Equal(t, eventmodel.EventPageView, lr.EventName())
	want := map[string]any{
		eventmodel.AttrEventID:          "e-1",
		eventmodel.AttrSiteID:           "shop",
		eventmodel.AttrIngestChannel:    eventmodel.ChannelImport,
		eventmodel.AttrTimeSource:       eventmodel.TimeSourceClient,
		eventmodel.AttrURLPath:          "/p",
		eventmodel.AttrReferrerDomain:   "www.google.com",
		eventmodel.AttrPageTitle:        "Pricing",
		eventmodel.AttrVisitorID:        "v-1",
		eventmodel.AttrSessionID:        "s-1",
		eventmodel.AttrUserID:           "u-7",
		eventmodel.AttrReferralPartner:  "archipro",
		eventmodel.AttrReferralClickID:  "c-1",
		eventmodel.AttrConsentAnalytics: eventmodel.ConsentGranted,
		eventmodel.AttrConsentMarketing: eventmodel.ConsentDenied,
		eventmodel.AttrGPC:              true,
		eventmodel.AttrDNT:              true,
		eventmodel.AttrTCFGDPRApplies:   true,
		eventmodel.AttrUserAgent:        "Mozilla/5.0 Firefox/130.0",
		eventmodel.AttrClientAddress:    "192.0.2.7",
		eventmodel.AttrCampaignSource:   "news",
		eventmodel.AttrCampaignMedium:   "email",
		eventmodel.AttrProperties:       map[string]any{"n": int64(3), "plan": "pro"},
		eventmodel.AttrURLScheme:        "https",
		eventmodel.AttrURLDomain:        "shop.example",
		eventmodel.AttrURLQuery:         "utm_source=news&utm_medium=email",
		eventmodel.AttrURLFull:          "https://shop.example/p?utm_source=news&utm_medium=email",
		eventmodel.AttrReferrerFull:     "https://www.google.com/",
		eventmodel.AttrReferrerScheme:   "https",
		eventmodel.AttrReferrerPath:     "/",
		eventmodel.AttrSchemaVersion:    int64(eventmodel.SchemaVersion),
	}
	assert.Equal(t, want, a)
	assert.NotContains(t, a, eventmodel.AttrTimeCorrection)

	// The detail fields of the other event types, as in a beacon.
	const ts = `,"ts":1741944413589`
	for _, tc := range []struct {
		line string
		want map[string]any
	}{
		{`{"id":"e-2","type":"engagement","url":"https://shop.example/","page_view_id":"pv-1","engaged_ms":1500,"scroll_depth":80` + ts + `}`,
			map[string]any{eventmodel.AttrPageViewID: "pv-1", eventmodel.AttrEngagedTime: int64(1500), eventmodel.AttrScrollDepth: int64(80)}},
		{`{"id":"e-3","type":"outbound_click","url":"https://shop.example/","link_url":"https://other.example/x"` + ts + `}`,
			map[string]any{eventmodel.AttrLinkURL: "https://other.example/x", eventmodel.AttrLinkDomain: "other.example"}},
		{`{"id":"e-4","type":"form_submit","url":"https://shop.example/","form_id":"f","form_name":"n","form_action":"/send?x=1","field_count":4` + ts + `}`,
			map[string]any{eventmodel.AttrFormID: "f", eventmodel.AttrFormName: "n", eventmodel.AttrFormAction: "/send", eventmodel.AttrFormFieldCount: int64(4)}},
		{`{"id":"e-5","type":"site_search","url":"https://shop.example/","search_term":"chairs"` + ts + `}`,
			map[string]any{eventmodel.AttrSearchTerm: "chairs"}},
		{`{"id":"e-6","type":"custom","name":"signup","url":"https://shop.example/"` + ts + `}`,
			map[string]any{eventmodel.AttrCustomName: "signup"}},
		{`{"id":"e-7","type":"identify","user_id":"u-1","url":"https://shop.example/"` + ts + `}`,
			map[string]any{eventmodel.AttrUserID: "u-1"}},
		{`{"id":"e-8","type":"consent","consent":{"analytics":"denied"},"cookieless":true,"url":"https://shop.example/"` + ts + `}`,
			map[string]any{eventmodel.AttrConsentAnalytics: eventmodel.ConsentDenied, eventmodel.AttrCookieless: true}},
		{`{"id":"e-9","type":"file_download","url":"https://shop.example/","link_url":"https://shop.example/a.pdf","automation":true` + ts + `}`,
			map[string]any{eventmodel.AttrLinkURL: "https://shop.example/a.pdf"}},
	} {
		a, lr := importAttrs(t, d, tc.line)
		assert.Equal(t, int64(1741944413589), lr.Timestamp().AsTime().UnixMilli(), tc.line)
		for k, v := range tc.want {
			assert.Equal(t, v, a[k], "%s: %s", tc.line, k)
		}
	}
}

// Every way a line is refused, each with its reason.
func TestImportLineRejections(t *testing.T) {
	d := wideDecoder()
	d.Sites["walled"] = Site{Origins: mustOrigins(t, "https://walled.example")}
	const ts = `"ts":1741944413589`
	for _, tc := range []struct {
		line string
		want Reason
	}{
		{``, ReasonInvalidJSON},
		{`[1]`, ReasonInvalidJSON},
		{`{"id":"e",` + ts, ReasonInvalidJSON},
		{`{"id":"e",` + ts + `} trailing`, ReasonInvalidJSON},
		{`{"id":1,` + ts + `,"url":"https://shop.example/"}`, ReasonInvalidEvent},
		{`{"id":"e","ts":"yesterday","url":"https://shop.example/"}`, ReasonInvalidEvent},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","dnt":"yes"}`, ReasonInvalidEvent},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","user_agent":7}`, ReasonInvalidEvent},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","consent":"granted"}`, ReasonInvalidEvent},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","site":"other"}`, ReasonUnknownSite},
		{`{` + ts + `,"url":"https://shop.example/"}`, ReasonInvalidID},
		{`{"id":"",` + ts + `,"url":"https://shop.example/"}`, ReasonInvalidID},
		{`{"id":"a b",` + ts + `,"url":"https://shop.example/"}`, ReasonInvalidID},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","visitor_id":"v w"}`, ReasonInvalidID},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","session_id":"s/1"}`, ReasonInvalidID},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","client_address":"shop.example"}`, ReasonInvalidField},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","client_address":"fe80::1%eth0"}`, ReasonInvalidField},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","referral":{"partner":"a b"}}`, ReasonInvalidField},
		{`{"id":"e","url":"https://shop.example/"}`, ReasonMissingTime},
		{`{"id":"e","ts":null,"url":"https://shop.example/"}`, ReasonMissingTime},
		{`{"id":"e","ts":1e300,"url":"https://shop.example/"}`, ReasonTimeInFuture},
		{`{"id":"e","ts":-1,"url":"https://shop.example/"}`, ReasonTimeTooOld},
		{`{"id":"e","ts":-1e300,"url":"https://shop.example/"}`, ReasonTimeTooOld},
		{`{"id":"e",` + ts + `,"type":"pageview","url":"https://shop.example/"}`, ReasonInvalidType},
		{`{"id":"e",` + ts + `}`, ReasonMissingURL},
		{`{"id":"e",` + ts + `,"url":"ftp://shop.example/"}`, ReasonInvalidURL},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/` + strings.Repeat("x", 300) + `"}`, ReasonURLTooLong},
		{`{"id":"e",` + ts + `,"type":"custom","url":"https://shop.example/"}`, ReasonMissingName},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","props":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}}`, ReasonTooManyProperties},
		{`{"id":"e",` + ts + `,"url":"https://shop.example/","props":{"a":{"b":1}}}`, ReasonInvalidProperty},
		{`{"id":"e",` + ts + `,"type":"engagement","url":"https://shop.example/"}`, ReasonInvalidField},
		{`{"id":"e",` + ts + `,"type":"identify","url":"https://shop.example/"}`, ReasonInvalidField},
		{`{"id":"e",` + ts + `,"type":"consent","url":"https://shop.example/"}`, ReasonInvalidField},
	} {
		_, rej := d.DecodeImportLine([]byte(tc.line), testImport(0))
		if assert.NotNil(t, rej, tc.line) {
			assert.Equal(t, tc.want, rej.Reason, "%s: %s", tc.line, rej.Message)
		}
	}
	imp := &Import{Site: "walled", Received: importReceived}
	_, rej := d.DecodeImportLine([]byte(`{"id":"e",`+ts+`,"url":"https://elsewhere.example/"}`), imp)
	require.NotNil(t, rej)
	assert.Equal(t, ReasonOriginNotAllowed, rej.Reason)
}

func mustOrigins(t *testing.T, origins ...string) *origin.Set {
	t.Helper()
	s, err := origin.Parse(origins)
	require.NoError(t, err)
	return s
}

// The boundaries of the import's time rule: max_age exactly is kept, a
// millisecond more is refused; the future is allowed up to the skew.
func TestImportLineTimeBoundaries(t *testing.T) {
	d := wideDecoder()
	const maxAge = 90 * 24 * time.Hour
	received := importReceived.UnixMilli()
	for _, tc := range []struct {
		ts     int64
		maxAge time.Duration
		want   Reason // "" = kept
	}{
		{received - maxAge.Milliseconds(), maxAge, ""},
		{received - maxAge.Milliseconds() - 1, maxAge, ReasonTimeTooOld},
		{0, 0, ""}, // unlimited: back to 1970
		{received - 20*365*24*time.Hour.Milliseconds(), 0, ""},
		{received, maxAge, ""},
		{received + importMaxSkew.Milliseconds(), maxAge, ""},
		{received + importMaxSkew.Milliseconds() + 1, maxAge, ReasonTimeInFuture},
	} {
		line := `{"id":"e","url":"https://shop.example/","ts":` + strconv.FormatInt(tc.ts, 10) + `}`
		ev, rej := d.DecodeImportLine([]byte(line), testImport(tc.maxAge))
		if tc.want != "" {
			if assert.NotNil(t, rej, line) {
				assert.Equal(t, tc.want, rej.Reason, line)
			}
			continue
		}
		if assert.Nil(t, rej, line) {
			assert.Equal(t, tc.ts, ev.Time.At.UnixMilli(), line)
			assert.Equal(t, eventmodel.TimeSourceClient, ev.Time.Source)
			assert.Empty(t, ev.Time.Correction)
		}
	}
}

// The decoded event owns its text: the caller reuses its line buffer.
func TestImportLineCopiesTheLine(t *testing.T) {
	d := wideDecoder()
	buf := []byte(`{"id":"e-1","ts":1741944413589,"url":"https://shop.example/a","title":"A"}`)
	ev, rej := d.DecodeImportLine(buf, testImport(0))
	require.Nil(t, rej)
	for i := range buf {
		buf[i] = 'x'
	}
	assert.Equal(t, "e-1", ev.ID)
	assert.Equal(t, "A", ev.Title)
	assert.Equal(t, "https://shop.example/a", ev.URL.Full)
}

// FuzzDecodeImportLine: no line panics, and whatever is accepted is an
// import event with an id and its own time, never corrected.
func FuzzDecodeImportLine(f *testing.F) {
	for _, s := range []string{
		`{"id":"e-1","ts":1741944413589,"url":"https://shop.example/"}`,
		`{"id":"e-2","ts":1741944413589.5,"type":"engagement","url":"https://shop.example/","engaged_ms":10}`,
		`{"id":"e-3","ts":1741944413589,"type":"custom","name":"x","props":{"a":"\u00e9"},"visitor_id":"v","cookieless":true}`,
		`{"id":"e-4","ts":0,"url":"https://shop.example/","client_address":"2001:db8::1","tcf":{"tc_string":"x"}}`,
		`{"id":"e\"","ts":-0,"url":"https://shop.example/\\u0000"}`,
		``, `{}`, `{"ts":1e400}`,
	} {
		f.Add(s)
	}
	d := wideDecoder()
	f.Fuzz(func(t *testing.T, line string) {
		ev, rej := d.DecodeImportLine([]byte(line), testImport(365*24*time.Hour))
		if rej != nil {
			return
		}
		if !ValidID(ev.ID) || ev.Channel != eventmodel.ChannelImport || ev.Time.Source != eventmodel.TimeSourceClient || ev.Time.Correction != "" {
			t.Fatalf("accepted %q as %+v", line, ev)
		}
		if ev.Time.At.After(importReceived.Add(importMaxSkew)) || ev.Time.At.Before(importReceived.Add(-365*24*time.Hour)) {
			t.Fatalf("accepted time %s of %q", ev.Time.At, line)
		}
	})
}
