package webevent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/origin"
)

func wideDecoder() *Decoder {
	return &Decoder{
		Sites:  map[string]Site{"shop": {}},
		Limits: Limits{MaxEventsPerBeacon: 50, MaxStringLength: 256, MaxProperties: 5},
	}
}

// attrs decodes one beacon with one event and returns the record's attributes.
func attrs(t *testing.T, d *Decoder, body string, req Request) map[string]any {
	t.Helper()
	b, rej := d.DecodeBeacon([]byte(body), req)
	require.Nil(t, rej)
	require.Empty(t, b.Rejected)
	require.Len(t, b.Events, 1)
	lr := plog.NewLogRecord()
	b.Events[0].CopyTo(lr)
	return lr.Attributes().AsRaw()
}

func TestBeaconEventTypes(t *testing.T) {
	d := wideDecoder()
	const head = `{"site":"shop","visitor_id":"v-1","user_id":"  customer-7 ","events":[`
	tests := []struct {
		name  string
		event string
		want  map[string]any
		gone  []string
	}{
		{"engagement", `{"type":"engagement","url":"https://shop.example/a","page_view_id":"pv-1","engaged_ms":41250,"scroll_depth":75}`,
			map[string]any{eventmodel.AttrPageViewID: "pv-1", eventmodel.AttrEngagedTime: int64(41250), eventmodel.AttrScrollDepth: int64(75)}, nil},
		{"engagement without scroll", `{"type":"engagement","url":"https://shop.example/a","engaged_ms":0}`,
			map[string]any{eventmodel.AttrEngagedTime: int64(0)}, []string{eventmodel.AttrScrollDepth}},
		{"outbound", `{"type":"outbound_click","url":"https://shop.example/a","link_url":"https://Partner.Example/x?y=1"}`,
			map[string]any{eventmodel.AttrLinkURL: "https://Partner.Example/x?y=1", eventmodel.AttrLinkDomain: "partner.example"}, nil},
		{"download", `{"type":"file_download","url":"https://shop.example/a","link_url":"https://shop.example/f/report.pdf"}`,
			map[string]any{eventmodel.AttrLinkDomain: "shop.example"}, nil},
		{"form", `{"type":"form_submit","url":"https://shop.example/a","form_id":"signup","form_name":"news","form_action":"https://shop.example/subscribe?email=alice%40example.com","field_count":4}`,
			map[string]any{eventmodel.AttrFormID: "signup", eventmodel.AttrFormName: "news", eventmodel.AttrFormAction: "/subscribe", eventmodel.AttrFormFieldCount: int64(4)},
			[]string{eventmodel.AttrFormSensitive}},
		{"relative form action", `{"type":"form_submit","url":"https://shop.example/a","form_action":"/login?next=/x#y"}`,
			map[string]any{eventmodel.AttrFormAction: "/login"}, []string{eventmodel.AttrFormFieldCount}},
		{"sensitive form says nothing about fields", `{"type":"form_submit","url":"https://shop.example/a","sensitive":true,"field_count":3}`,
			map[string]any{eventmodel.AttrFormSensitive: true}, []string{eventmodel.AttrFormFieldCount}},
		{"search", `{"type":"site_search","url":"https://shop.example/s?q=red","search_term":" red shoes "}`,
			map[string]any{eventmodel.AttrSearchTerm: "red shoes"}, nil},
		{"identify", `{"type":"identify","url":"https://shop.example/a"}`,
			map[string]any{eventmodel.AttrUserID: "customer-7"}, nil},
		{"page view with campaign", `{"type":"page_view","url":"https://shop.example/?utm_source=news&utm_medium=email&gclid=abc"}`,
			map[string]any{eventmodel.AttrCampaignSource: "news", eventmodel.AttrCampaignMedium: "email", eventmodel.AttrClickIDType: "gclid", eventmodel.AttrClickIDValue: "abc"}, nil},
		{"campaign is a property of page views only", `{"type":"custom","name":"x","url":"https://shop.example/?utm_source=news"}`,
			nil, []string{eventmodel.AttrCampaignSource}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attrs(t, d, head+tt.event+`]}`, Request{Received: time.Now()})
			for k, v := range tt.want {
				assert.Equal(t, v, a[k], k)
			}
			for _, k := range tt.gone {
				assert.NotContains(t, a, k)
			}
		})
	}
}

func TestBeaconDetailRejections(t *testing.T) {
	d := wideDecoder()
	tests := []struct {
		event string
		want  Reason
	}{
		{`{"type":"engagement","url":"http://a.b/"}`, ReasonInvalidField},
		{`{"type":"engagement","url":"http://a.b/","engaged_ms":-1}`, ReasonInvalidField},
		{`{"type":"engagement","url":"http://a.b/","engaged_ms":1.5}`, ReasonInvalidField},
		{`{"type":"engagement","url":"http://a.b/","engaged_ms":86400001}`, ReasonInvalidField},
		{`{"type":"engagement","url":"http://a.b/","engaged_ms":5,"scroll_depth":101}`, ReasonInvalidField},
		{`{"type":"engagement","url":"http://a.b/","engaged_ms":5,"page_view_id":"a b"}`, ReasonInvalidID},
		{`{"type":"outbound_click","url":"http://a.b/"}`, ReasonInvalidField},
		{`{"type":"outbound_click","url":"http://a.b/","link_url":"mailto:alice@example.com"}`, ReasonInvalidField},
		{`{"type":"form_submit","url":"http://a.b/","field_count":-2}`, ReasonInvalidField},
		{`{"type":"site_search","url":"http://a.b/","search_term":"  "}`, ReasonInvalidField},
		{`{"type":"identify","url":"http://a.b/"}`, ReasonInvalidField},
		{`{"type":"consent","url":"http://a.b/"}`, ReasonInvalidField},
		{`{"type":"engagement","url":"http://a.b/","engaged_ms":"5"}`, ReasonInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			b, rej := d.DecodeBeacon([]byte(`{"site":"shop","events":[`+tt.event+`]}`), Request{})
			require.Nil(t, rej)
			require.Len(t, b.Rejected, 1)
			assert.Equal(t, tt.want, b.Rejected[0].Reason, b.Rejected[0].Message)
		})
	}
}

func TestBeaconSignals(t *testing.T) {
	d := wideDecoder()
	a := attrs(t, d, `{"site":"shop","consent":{"analytics":"granted","marketing":"denied","personalization":"maybe"},
		"gpc":true,"tcf":{"gdpr_applies":true,"tc_string":"CPzHq4APzHq4AAHABBENC-CgAAAAAAAAAAYgAAAAAAAA.YAAAAAAAAAAA"},
		"referral":{"partner":"archipro","click_id":"ap-1"},"automation":true,
		"events":[{"type":"consent","url":"https://shop.example/"}]}`, Request{DNT: true})
	assert.Equal(t, "granted", a[eventmodel.AttrConsentAnalytics])
	assert.Equal(t, "denied", a[eventmodel.AttrConsentMarketing])
	assert.Equal(t, "unknown", a[eventmodel.AttrConsentPersonalization])
	assert.Equal(t, true, a[eventmodel.AttrGPC])
	assert.Equal(t, true, a[eventmodel.AttrDNT])
	assert.Equal(t, true, a[eventmodel.AttrTCFGDPRApplies])
	assert.Equal(t, "CPzHq4APzHq4AAHABBENC-CgAAAAAAAAAAYgAAAAAAAA.YAAAAAAAAAAA", a[eventmodel.AttrTCFString])
	assert.Equal(t, "archipro", a[eventmodel.AttrReferralPartner])
	assert.Equal(t, "ap-1", a[eventmodel.AttrReferralClickID])
	a = attrs(t, d, `{"site":"shop","referral":{"partner":"trackier","click_id":""},"events":[{"url":"https://shop.example/"}]}`, Request{})
	assert.Equal(t, "trackier", a[eventmodel.AttrReferralPartner], "a referral by domain has no click id")
	assert.NotContains(t, a, eventmodel.AttrReferralClickID)
	_, rej := d.DecodeBeacon([]byte(`{"site":"shop","referral":{"partner":"p","click_id":"a b"},"events":[{"url":"http://a.b/"}]}`), Request{})
	require.NotNil(t, rej)
	assert.Equal(t, ReasonInvalidField, rej.Reason)
	assert.Equal(t, eventmodel.EventConsentUpdate, mustName(t, d, `{"site":"shop","consent":{"analytics":"denied"},"events":[{"type":"consent","url":"https://shop.example/"}]}`))

	// A free-text TC string could smuggle anything; it is refused: not
	// passed on, only marked (the event is kept, see TestMalformedTCStrings).
	a = attrs(t, d, `{"site":"shop","tcf":{"tc_string":"alice@example.com"},"events":[{"url":"http://a.b/"}]}`, Request{})
	assert.NotContains(t, a, eventmodel.AttrTCFString)
	assert.Equal(t, eventmodel.TCFStringErrorMalformed, a[eventmodel.AttrTCFStringError])
}

func mustName(t *testing.T, d *Decoder, body string) string {
	t.Helper()
	b, rej := d.DecodeBeacon([]byte(body), Request{})
	require.Nil(t, rej)
	require.Len(t, b.Events, 1, b.Rejected)
	return b.Events[0].Name
}

func TestForgetRemovesIdentifiers(t *testing.T) {
	d := wideDecoder()
	b, rej := d.DecodeBeacon([]byte(`{"site":"shop","visitor_id":"v","session_id":"s","user_id":"u","cookieless":true,
		"referral":{"partner":"p","click_id":"c"},"events":[{"url":"https://shop.example/"}]}`), Request{})
	require.Nil(t, rej)
	b.Events[0].Forget()
	lr := plog.NewLogRecord()
	b.Events[0].CopyTo(lr)
	a := lr.Attributes().AsRaw()
	for _, k := range []string{eventmodel.AttrVisitorID, eventmodel.AttrSessionID, eventmodel.AttrUserID, eventmodel.AttrReferralPartner, eventmodel.AttrReferralClickID} {
		assert.NotContains(t, a, k)
	}
	assert.Equal(t, true, a[eventmodel.AttrCookieless])
}

func TestWriteKeyAndOrigins(t *testing.T) {
	origins, err := origin.Parse([]string{"https://shop.example"})
	require.NoError(t, err)
	d := &Decoder{
		Sites:  map[string]Site{"shop": {WriteKey: "k-123", Origins: origins}},
		Limits: Limits{MaxEventsPerBeacon: 5, MaxStringLength: 256, MaxProperties: 5},
	}
	_, rej := d.DecodeBeacon([]byte(`{"site":"shop","events":[{"url":"https://shop.example/"}]}`), Request{})
	require.NotNil(t, rej)
	assert.Equal(t, ReasonInvalidWriteKey, rej.Reason)
	_, rej = d.DecodeBeacon([]byte(`{"site":"shop","key":"k-12","events":[{"url":"https://shop.example/"}]}`), Request{})
	require.NotNil(t, rej)
	assert.Equal(t, ReasonInvalidWriteKey, rej.Reason)

	b, rej := d.DecodeBeacon([]byte(`{"site":"shop","key":"k-123","events":[{"url":"https://shop.example/"},{"url":"https://copycat.example/"}]}`), Request{})
	require.Nil(t, rej)
	require.Len(t, b.Events, 1)
	require.Len(t, b.Rejected, 1)
	assert.Equal(t, ReasonOriginNotAllowed, b.Rejected[0].Reason)

	_, rej = d.DecodePixel("s=shop&k=k-123&url=https%3A%2F%2Fshop.example%2F", Request{})
	assert.Nil(t, rej)
	_, rej = d.DecodePixel("s=shop&url=https%3A%2F%2Fshop.example%2F", Request{})
	require.NotNil(t, rej)
	assert.Equal(t, ReasonInvalidWriteKey, rej.Reason)
}

func TestPixelConsentSignals(t *testing.T) {
	d := wideDecoder()
	ev, rej := d.DecodePixel("s=shop&url=https%3A%2F%2Fshop.example%2F&gdpr=1&gdpr_consent=CPzHq4A.YAAA", Request{GPC: true})
	require.Nil(t, rej)
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	a := lr.Attributes().AsRaw()
	assert.Equal(t, true, a[eventmodel.AttrTCFGDPRApplies])
	assert.Equal(t, "CPzHq4A.YAAA", a[eventmodel.AttrTCFString])
	assert.Equal(t, true, a[eventmodel.AttrGPC])
	ev, rej = d.DecodePixel("s=shop&url=https%3A%2F%2Fshop.example%2F&gdpr_consent=a%20b", Request{})
	require.Nil(t, rej, "a malformed TC string never costs the hit")
	lr = plog.NewLogRecord()
	ev.CopyTo(lr)
	a = lr.Attributes().AsRaw()
	assert.NotContains(t, a, eventmodel.AttrTCFString, "it is refused: not passed on")
	assert.Equal(t, eventmodel.TCFStringErrorMalformed, a[eventmodel.AttrTCFStringError])
}
