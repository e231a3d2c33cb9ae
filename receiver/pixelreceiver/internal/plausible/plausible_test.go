package plausible

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/origin"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

func testDecoder(t testing.TB) *Decoder {
	t.Helper()
	keyed, err := origin.Parse([]string{"https://blog.example"})
	require.NoError(t, err)
	return &Decoder{
		Events: &webevent.Decoder{
			Sites: map[string]webevent.Site{
				"shop": {},
				"blog": {WriteKey: "k-1", Origins: keyed},
			},
			Limits: webevent.Limits{MaxEventsPerBeacon: 50, MaxStringLength: 256, MaxProperties: 4},
		},
		Domains: map[string]string{"shop.example": "shop", "www.shop.example": "shop", "blog.example": "blog"},
	}
}

var testRequest = webevent.Request{
	Received:      time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
	UserAgent:     "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
	ClientAddress: "192.0.2.7",
	GPC:           true,
}

// attrs decodes body and returns the record's attributes as plain values.
func attrs(t *testing.T, body string) (string, map[string]any) {
	t.Helper()
	ev, rej := testDecoder(t).Decode([]byte(body), testRequest)
	require.Nil(t, rej, "rejected: %v", rej)
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	return lr.EventName(), lr.Attributes().AsRaw()
}

// The real tracker's page view (@plausible-analytics/tracker 0.4.6).
func TestPageView(t *testing.T) {
	name, a := attrs(t, `{"n":"pageview","v":36,"u":"https://shop.example/shoes?utm_source=news&utm_medium=email&utm_campaign=winter&gclid=abc#top","d":"shop.example","r":"https://www.google.com/search?q=shoes","h":1}`)
	assert.Equal(t, eventmodel.EventPageView, name)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:           "shop",
		eventmodel.AttrIngestChannel:    eventmodel.ChannelPlausible,
		eventmodel.AttrURLFull:          "https://shop.example/shoes?utm_source=news&utm_medium=email&utm_campaign=winter&gclid=abc#top",
		eventmodel.AttrURLDomain:        "shop.example",
		eventmodel.AttrURLPath:          "/shoes",
		eventmodel.AttrURLQuery:         "utm_source=news&utm_medium=email&utm_campaign=winter&gclid=abc",
		eventmodel.AttrURLFragment:      "top",
		eventmodel.AttrReferrerFull:     "https://www.google.com/search?q=shoes",
		eventmodel.AttrReferrerDomain:   "www.google.com",
		eventmodel.AttrReferrerPath:     "/search",
		eventmodel.AttrReferrerQuery:    "q=shoes",
		eventmodel.AttrCampaignSource:   "news",
		eventmodel.AttrCampaignMedium:   "email",
		eventmodel.AttrCampaignName:     "winter",
		eventmodel.AttrClickIDType:      "gclid",
		eventmodel.AttrClickIDValue:     "abc",
		eventmodel.AttrCookieless:       true,
		eventmodel.AttrGPC:              true,
		eventmodel.AttrUserAgent:        testRequest.UserAgent,
		eventmodel.AttrClientAddress:    testRequest.ClientAddress,
		eventmodel.AttrTimeSource:       eventmodel.TimeSourceReceiveTime,
		eventmodel.AttrSchemaVersion:    int64(eventmodel.SchemaVersion),
		eventmodel.AttrReferrerScheme:   "https",
		eventmodel.AttrURLScheme:        "https",
		eventmodel.AttrEventID:          a[eventmodel.AttrEventID],
		eventmodel.AttrTimeCorrection:   nil,
		eventmodel.AttrVisitorID:        nil,
		eventmodel.AttrSessionID:        nil,
		eventmodel.AttrNonInteractive:   nil,
		eventmodel.AttrProperties:       nil,
		eventmodel.AttrCustomName:       nil,
		eventmodel.AttrConsentAnalytics: nil,
	} {
		assert.Equal(t, want, a[k], k)
	}
	assert.Len(t, a[eventmodel.AttrEventID], 32, "every event gets its own id")
}

// The tracker's custom event with props and revenue, as track('Purchase',
// {props: {...}, revenue: {...}, interactive: false}) sends it.
func TestCustomEventWithPropsAndRevenue(t *testing.T) {
	name, a := attrs(t, `{"n":"Purchase","v":36,"u":"https://shop.example/checkout","d":"shop.example","r":null,"p":{"plan":"pro","seats":"3"},"i":false,"$":{"amount":15.99,"currency":"usd"}}`)
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, "Purchase", a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{"plan": "pro", "seats": "3", "revenue": 15.99, "currency": "USD"}, a[eventmodel.AttrProperties])
	assert.Equal(t, true, a[eventmodel.AttrNonInteractive])
	assert.NotContains(t, a, eventmodel.AttrReferrerFull, "r: null is no referrer")
	assert.NotContains(t, a, eventmodel.AttrCampaignSource, "campaign parameters are a page view's")
}

// The documented server-side spelling, props and revenue as JSON strings
// (older trackers and some libraries send them so), amount as a string.
func TestLongNamesAndEncodedObjects(t *testing.T) {
	name, a := attrs(t, `{"name":"Signup","url":"https://shop.example/join","domain":"shop.example","referrer":"https://news.example/a","props":"{\"tier\":\"startup\",\"revenue\":1}","revenue":"{\"amount\":\"20.50\",\"currency\":\"EUR\"}","interactive":true}`)
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, "Signup", a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{"tier": "startup", "revenue": 20.5, "currency": "EUR"}, a[eventmodel.AttrProperties], "the revenue object wins over a prop of its name")
	assert.Equal(t, "news.example", a[eventmodel.AttrReferrerDomain])
	assert.NotContains(t, a, eventmodel.AttrNonInteractive)

	// m and meta are the oldest trackers' names for props; the short name
	// wins over the long one.
	_, a = attrs(t, `{"n":"A","name":"B","u":"https://shop.example/","d":"shop.example","m":{"x":1}}`)
	assert.Equal(t, "A", a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{"x": int64(1)}, a[eventmodel.AttrProperties])
}

func TestEventNameMapping(t *testing.T) {
	for _, tt := range []struct {
		body, name string
		want       map[string]any
	}{
		{`{"n":"engagement","sd":64,"e":5230,"d":"shop.example","u":"https://shop.example/a","p":{},"v":36}`, eventmodel.EventEngagement,
			map[string]any{eventmodel.AttrEngagedTime: int64(5230), eventmodel.AttrScrollDepth: int64(64)}},
		{`{"n":"Outbound Link: Click","u":"https://shop.example/a","d":"shop.example","p":{"url":"https://partner.example/x?y=1"}}`, eventmodel.EventOutboundClick,
			map[string]any{eventmodel.AttrLinkURL: "https://partner.example/x?y=1", eventmodel.AttrLinkDomain: "partner.example", eventmodel.AttrProperties: nil}},
		{`{"n":"File Download","u":"https://shop.example/a","d":"shop.example","p":{"url":"https://shop.example/f/report.pdf","from":"footer"}}`, eventmodel.EventFileDownload,
			map[string]any{eventmodel.AttrLinkURL: "https://shop.example/f/report.pdf", eventmodel.AttrProperties: map[string]any{"from": "footer"}}},
		{`{"n":"Form: Submission","u":"https://shop.example/contact","d":"shop.example"}`, eventmodel.EventFormSubmit, nil},
		// Without a usable link, the click stays a custom event of its
		// Plausible name, with its props: nothing is lost.
		{`{"n":"Outbound Link: Click","u":"https://shop.example/a","d":"shop.example","p":{"url":"mailto:a@b"}}`, eventmodel.EventCustom,
			map[string]any{eventmodel.AttrCustomName: "Outbound Link: Click", eventmodel.AttrProperties: map[string]any{"url": "mailto:a@b"}}},
		{`{"n":"404","u":"https://shop.example/gone","d":"shop.example"}`, eventmodel.EventCustom,
			map[string]any{eventmodel.AttrCustomName: "404"}},
		// A roll-up names several domains; the first configured one wins,
		// in any case.
		{`{"n":"pageview","u":"https://shop.example/","d":"rollup.example, WWW.Shop.Example,blog.example"}`, eventmodel.EventPageView,
			map[string]any{eventmodel.AttrSiteID: "shop"}},
	} {
		name, a := attrs(t, tt.body)
		assert.Equal(t, tt.name, name, tt.body)
		for k, v := range tt.want {
			assert.Equal(t, v, a[k], "%s: %s", tt.body, k)
		}
	}
}

func TestWriteKeyAndOrigin(t *testing.T) {
	d := testDecoder(t)
	ev, rej := d.Decode([]byte(`{"n":"pageview","u":"https://blog.example/","d":"blog.example","k":"k-1"}`), testRequest)
	require.Nil(t, rej)
	assert.Equal(t, "blog", ev.SiteID)
}

func TestRejections(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tt := range []struct {
		body   string
		reason webevent.Reason
	}{
		{``, webevent.ReasonInvalidJSON},
		{`[]`, webevent.ReasonInvalidJSON},
		{`{"n":"pageview",`, webevent.ReasonInvalidJSON},
		{`{"n":1,"u":"https://shop.example/","d":"shop.example"}`, webevent.ReasonInvalidJSON},
		{`{"n":"pageview","u":"https://shop.example/","d":["shop.example"]}`, webevent.ReasonInvalidJSON},
		{`{"n":"pageview","u":"https://shop.example/"}`, webevent.ReasonUnknownSite},
		{`{"n":"pageview","u":"https://shop.example/","d":"other.example"}`, webevent.ReasonUnknownSite},
		{`{"n":"pageview","u":"https://blog.example/","d":"blog.example"}`, webevent.ReasonInvalidWriteKey},
		{`{"n":"pageview","u":"https://blog.example/","d":"blog.example","k":"wrong"}`, webevent.ReasonInvalidWriteKey},
		{`{"n":"pageview","u":"https://elsewhere.example/","d":"blog.example","k":"k-1"}`, webevent.ReasonOriginNotAllowed},
		{`{"n":" ","u":"https://shop.example/","d":"shop.example"}`, webevent.ReasonMissingName},
		{`{"u":"https://shop.example/","d":"shop.example"}`, webevent.ReasonMissingName},
		{`{"n":"pageview","d":"shop.example"}`, webevent.ReasonMissingURL},
		{`{"n":"pageview","u":"/relative","d":"shop.example"}`, webevent.ReasonInvalidURL},
		{`{"n":"pageview","u":"https://shop.example/` + long + `","d":"shop.example"}`, webevent.ReasonURLTooLong},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","p":["a"]}`, webevent.ReasonInvalidField},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","p":"not json"}`, webevent.ReasonInvalidField},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","p":{"a b":"1"}}`, webevent.ReasonInvalidProperty},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","p":{"a":{"b":1}}}`, webevent.ReasonInvalidProperty},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","p":{"a":1,"b":2,"c":3,"d":4,"e":5}}`, webevent.ReasonTooManyProperties},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","$":{"amount":"ten","currency":"EUR"}}`, webevent.ReasonInvalidField},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","$":{"amount":10,"currency":"euro"}}`, webevent.ReasonInvalidField},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","$":{"amount":10}}`, webevent.ReasonInvalidField},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","$":12}`, webevent.ReasonInvalidField},
		{`{"n":"x","u":"https://shop.example/","d":"shop.example","i":"no"}`, webevent.ReasonInvalidField},
		{`{"n":"engagement","u":"https://shop.example/","d":"shop.example"}`, webevent.ReasonInvalidField},
		{`{"n":"engagement","u":"https://shop.example/","d":"shop.example","e":100,"sd":101}`, webevent.ReasonInvalidField},
		{`{"n":"engagement","u":"https://shop.example/","d":"shop.example","e":-1}`, webevent.ReasonInvalidField},
	} {
		_, rej := testDecoder(t).Decode([]byte(tt.body), testRequest)
		if assert.NotNil(t, rej, tt.body) {
			assert.Equal(t, tt.reason, rej.Reason, "%s: %s", tt.body, rej.Message)
			assert.NotContains(t, rej.Message, "shop.example", "a message never echoes the input")
		}
	}
}

// Over-long names and referrers are cut, as for the tag's events.
func TestTruncation(t *testing.T) {
	long := strings.Repeat("é", 200)
	_, a := attrs(t, `{"n":"`+long+`","u":"https://shop.example/","d":"shop.example","r":"https://ref.example/`+long+`"}`)
	assert.Len(t, a[eventmodel.AttrCustomName], 256)
	assert.LessOrEqual(t, len(a[eventmodel.AttrReferrerFull].(string)), 256)
	assert.Equal(t, "ref.example", a[eventmodel.AttrReferrerDomain])
}
