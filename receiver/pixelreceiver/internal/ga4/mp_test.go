package ga4

import (
	"fmt"
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
	blog, err := origin.Parse([]string{"https://blog.example"})
	require.NoError(t, err)
	shop := &Site{ID: "shop"}
	return &Decoder{
		Events: &webevent.Decoder{
			Sites: map[string]webevent.Site{
				"shop":   {},
				"blog":   {WriteKey: "k-1", Origins: blog},
				"secure": {WriteKey: "wk"},
			},
			Limits: webevent.Limits{MaxEventsPerBeacon: 50, MaxStringLength: 256, MaxProperties: 8},
		},
		MeasurementIDs: map[string]*Site{
			"G-SHOP1234":   shop,
			"G-SHOP5678":   shop,
			"G-BLOG1234":   {ID: "blog"},
			"G-SECURE1234": {ID: "secure", Secrets: []string{"s3cret", "n3xt"}, DefaultPageURL: "https://secure.example/"},
		},
	}
}

var testRequest = webevent.Request{
	Received:      time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
	UserAgent:     "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
	ClientAddress: "192.0.2.7",
}

const shopQuery = "measurement_id=G-SHOP1234&api_secret=anything"

func decode(t *testing.T, query, body string) Batch {
	t.Helper()
	b, r := testDecoder(t).DecodeMP(query, []byte(body), testRequest)
	require.Nil(t, r, "refused: %+v", r)
	return b
}

// one decodes a request of one event that must be kept.
func one(t *testing.T, body string) (string, map[string]any, webevent.Event) {
	t.Helper()
	b := decode(t, shopQuery, body)
	require.Empty(t, b.Refused)
	require.Len(t, b.Events, 1)
	lr := plog.NewLogRecord()
	b.Events[0].CopyTo(lr)
	return lr.EventName(), lr.Attributes().AsRaw(), b.Events[0]
}

func props(a map[string]any) map[string]any {
	p, _ := a[eventmodel.AttrProperties].(map[string]any)
	return p
}

// mp wraps events into a body with the identity fields.
func mp(events string) string {
	return `{"client_id":"123456.7654321","user_id":"u-42","events":[` + events + `]}`
}

// Google's own example of the sending-events guide (campaign_details), as
// documented, with its string numbers.
const googleCampaignDetails = `{
  "client_id": "123456.7654321",
  "events": [
    {
      "name": "campaign_details",
      "params": {
        "campaign_id": "google_1234",
        "campaign": "Summer_fun",
        "source": "google",
        "medium": "cpc",
        "term": "summer+travel",
        "content": "logolink",
        "session_id": "123",
        "engagement_time_msec": "100",
        "page_location": "https://shop.example/summer"
      }
    }
  ]
}`

func TestGoogleCampaignDetails(t *testing.T) {
	name, a, ev := one(t, googleCampaignDetails)
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, "123", ev.SessionID)
	for k, want := range map[string]any{
		eventmodel.AttrCustomName:      "campaign_details",
		eventmodel.AttrIngestChannel:   eventmodel.ChannelGA4,
		eventmodel.AttrVisitorID:       "123456.7654321",
		eventmodel.AttrSessionID:       "123",
		eventmodel.AttrCampaignName:    "Summer_fun",
		eventmodel.AttrCampaignID:      "google_1234",
		eventmodel.AttrCampaignSource:  "google",
		eventmodel.AttrCampaignMedium:  "cpc",
		eventmodel.AttrCampaignTerm:    "summer+travel",
		eventmodel.AttrCampaignContent: "logolink",
	} {
		assert.Equal(t, want, a[k], k)
	}
	assert.Equal(t, map[string]any{"engagement_time_msec": int64(100)}, props(a))
}

func TestPageView(t *testing.T) {
	name, a, ev := one(t, mp(`{"name":"page_view","params":{"page_location":"https://shop.example/shoes?utm_source=news&utm_medium=email","page_referrer":"https://www.google.com/","page_title":"Red shoes","session_id":1733130000,"campaign_source":"ads","gclid":"Cj0KCQ"}}`))
	assert.Equal(t, eventmodel.EventPageView, name)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrURLFull:        "https://shop.example/shoes?utm_source=news&utm_medium=email",
		eventmodel.AttrReferrerDomain: "www.google.com",
		eventmodel.AttrPageTitle:      "Red shoes",
		eventmodel.AttrVisitorID:      "123456.7654321",
		eventmodel.AttrSessionID:      "1733130000",
		eventmodel.AttrUserID:         "u-42",
		// campaign_source wins over the URL's utm_source; utm_medium stays.
		eventmodel.AttrCampaignSource: "ads",
		eventmodel.AttrCampaignMedium: "email",
		eventmodel.AttrClickIDType:    "gclid",
		eventmodel.AttrClickIDValue:   "Cj0KCQ",
		eventmodel.AttrTimeSource:     eventmodel.TimeSourceReceiveTime,
	} {
		assert.Equal(t, want, a[k], k)
	}
	assert.Empty(t, props(a))
	assert.Equal(t, testRequest.Received, ev.Time.At)
}

func TestEventMapping(t *testing.T) {
	const page = `"page_location":"https://shop.example/p"`
	for _, tc := range []struct {
		event string
		name  string
		attrs map[string]any
		props map[string]any
	}{
		{`{"name":"user_engagement","params":{` + page + `,"engagement_time_msec":1500}}`, eventmodel.EventEngagement,
			map[string]any{eventmodel.AttrEngagedTime: int64(1500)}, nil},
		{`{"name":"user_engagement","params":{` + page + `}}`, eventmodel.EventEngagement, nil, nil},
		{`{"name":"click","params":{` + page + `,"outbound":true,"link_url":"https://partner.example/x","link_domain":"partner.example"}}`, eventmodel.EventOutboundClick,
			map[string]any{eventmodel.AttrLinkURL: "https://partner.example/x", eventmodel.AttrLinkDomain: "partner.example"},
			map[string]any{"link_domain": "partner.example"}},
		{`{"name":"click","params":{` + page + `,"outbound":"true","link_url":"mailto:a@b.example"}}`, eventmodel.EventCustom,
			map[string]any{eventmodel.AttrCustomName: "click"}, map[string]any{"link_url": "mailto:a@b.example"}},
		{`{"name":"click","params":{` + page + `,"link_url":"https://shop.example/a"}}`, eventmodel.EventCustom,
			map[string]any{eventmodel.AttrCustomName: "click"}, map[string]any{"link_url": "https://shop.example/a"}},
		{`{"name":"file_download","params":{` + page + `,"link_url":"https://shop.example/a.pdf","file_extension":"pdf"}}`, eventmodel.EventFileDownload,
			map[string]any{eventmodel.AttrLinkURL: "https://shop.example/a.pdf"}, map[string]any{"file_extension": "pdf"}},
		{`{"name":"form_submit","params":{` + page + `,"form_id":"f1","form_name":"contact","form_destination":"https://shop.example/send"}}`, eventmodel.EventFormSubmit,
			map[string]any{eventmodel.AttrFormID: "f1", eventmodel.AttrFormName: "contact", eventmodel.AttrFormAction: "https://shop.example/send"}, nil},
		{`{"name":"generate_lead","params":{` + page + `,"value":30,"currency":"eur"}}`, eventmodel.EventFormSubmit, nil,
			map[string]any{PropGA4Name: "generate_lead", "value": int64(30), PropCurrency: "EUR"}},
		{`{"name":"search","params":{` + page + `,"search_term":"red shoes"}}`, eventmodel.EventSiteSearch,
			map[string]any{eventmodel.AttrSearchTerm: "red shoes"}, nil},
		{`{"name":"view_search_results","params":{` + page + `,"search_term":"boots"}}`, eventmodel.EventSiteSearch,
			map[string]any{eventmodel.AttrSearchTerm: "boots"}, map[string]any{PropGA4Name: "view_search_results"}},
		{`{"name":"search","params":{` + page + `}}`, eventmodel.EventCustom, map[string]any{eventmodel.AttrCustomName: "search"}, nil},
		{`{"name":"purchase","params":{` + page + `,"transaction_id":"T-1","value":"25.42","currency":"USD","tax":4.9,"shipping":5,"coupon":"SUMMER","items":[{"item_id":"SKU_1","price":10.01,"quantity":2}]}}`, eventmodel.EventCustom,
			map[string]any{eventmodel.AttrCustomName: NamePurchase},
			map[string]any{PropOrderID: "T-1", PropRevenue: 25.42, PropCurrency: "USD", "tax": 4.9, "shipping": int64(5), "coupon": "SUMMER",
				PropItems: int64(1), PropItemsJSON: `[{"item_id":"SKU_1","price":10.01,"quantity":2}]`}},
		{`{"name":"a","params":{` + page + `,"engagement_time_msec":-5}}`, eventmodel.EventCustom, nil, map[string]any{"engagement_time_msec": int64(-5)}},
		{`{"name":"tutorial_begin","params":{` + page + `,"n":1,"ok":true,"f":1.5,"s":"x","nothing":null}}`, eventmodel.EventCustom,
			map[string]any{eventmodel.AttrCustomName: "tutorial_begin"}, map[string]any{"n": int64(1), "ok": true, "f": 1.5, "s": "x"}},
	} {
		t.Run(tc.event, func(t *testing.T) {
			name, a, _ := one(t, mp(tc.event))
			assert.Equal(t, tc.name, name)
			for k, want := range tc.attrs {
				assert.Equal(t, want, a[k], k)
			}
			if tc.props == nil {
				assert.Empty(t, props(a))
			} else {
				assert.Equal(t, tc.props, props(a))
			}
		})
	}
}

func TestConsent(t *testing.T) {
	for _, tc := range []struct {
		fields                     string
		marketing, personalization any
	}{
		{`"consent":{"ad_user_data":"GRANTED","ad_personalization":"DENIED"}`, eventmodel.ConsentGranted, eventmodel.ConsentDenied},
		{`"consent":{"ad_user_data":"DENIED"}`, eventmodel.ConsentDenied, nil},
		{`"non_personalized_ads":true`, nil, eventmodel.ConsentDenied},
		{`"non_personalized_ads":true,"consent":{"ad_personalization":"GRANTED"}`, nil, eventmodel.ConsentGranted},
		{`"non_personalized_ads":false`, nil, nil},
		{`"consent":{}`, nil, nil},
	} {
		t.Run(tc.fields, func(t *testing.T) {
			_, a, _ := one(t, `{"client_id":"1.2",`+tc.fields+`,"events":[{"name":"page_view","params":{"page_location":"https://shop.example/"}}]}`)
			assert.Equal(t, tc.marketing, a[eventmodel.AttrConsentMarketing])
			assert.Equal(t, tc.personalization, a[eventmodel.AttrConsentPersonalization])
			// Analytics consent is the site's policy's to decide.
			assert.Nil(t, a[eventmodel.AttrConsentAnalytics])
		})
	}
}

func TestTimestamp(t *testing.T) {
	hourAgo := testRequest.Received.Add(-time.Hour).UnixMicro()
	b := decode(t, shopQuery, fmt.Sprintf(`{"client_id":"1.2","timestamp_micros":%d,"events":[
		{"name":"page_view","params":{"page_location":"https://shop.example/"}},
		{"name":"a","timestamp_micros":"%d"}]}`, hourAgo, hourAgo+1500))
	require.Len(t, b.Events, 2)
	assert.True(t, testRequest.Received.Add(-time.Hour).Equal(b.Events[0].Time.At), b.Events[0].Time.At)
	assert.Equal(t, eventmodel.TimeSourceClient, b.Events[0].Time.Source)
	assert.True(t, testRequest.Received.Add(-time.Hour+1500*time.Microsecond).Equal(b.Events[1].Time.At), b.Events[1].Time.At)
}

func TestUserPropertiesAndDropped(t *testing.T) {
	_, a, _ := one(t, `{"client_id":"1.2","user_properties":{"tier":{"value":"gold"},"age":{"value":41},"bad key":{"value":1},"obj":{"value":{"x":1}},"flat":3},
		"events":[{"name":"e","params":{"page_location":"https://shop.example/","nested":{"a":1},"list":[1],"bad.key":"x"}}]}`)
	assert.Equal(t, map[string]any{"up_tier": "gold", "up_age": int64(41), PropDroppedParams: int64(6)}, props(a))
}

func TestMaxProperties(t *testing.T) {
	var params []string
	for i := range 12 {
		params = append(params, fmt.Sprintf(`"p%02d":%d`, i, i))
	}
	_, a, _ := one(t, mp(`{"name":"purchase","params":{"page_location":"https://shop.example/","value":9,"transaction_id":"T",`+strings.Join(params, ",")+`}}`))
	p := props(a)
	assert.Len(t, p, 8)
	// The mapped properties are kept; the params beyond the limit counted.
	assert.Equal(t, 9.0, p[PropRevenue])
	assert.Equal(t, "T", p[PropOrderID])
	assert.Equal(t, int64(7), p[PropDroppedParams])
}

func TestPageFallback(t *testing.T) {
	b := decode(t, shopQuery, mp(`{"name":"page_view","params":{"page_location":"https://shop.example/a"}},{"name":"add_to_cart"}`))
	require.Len(t, b.Events, 2)
	assert.Equal(t, "https://shop.example/a", b.Events[1].URL.Full)

	b = decode(t, "measurement_id=G-SECURE1234&api_secret=s3cret", mp(`{"name":"purchase","params":{"value":1}}`))
	require.Len(t, b.Events, 1)
	assert.Equal(t, "https://secure.example/", b.Events[0].URL.Full)

	b = decode(t, shopQuery, mp(`{"name":"purchase"}`))
	require.Len(t, b.Refused, 1)
	assert.Equal(t, webevent.ReasonMissingURL, b.Refused[0].Reason)
	assert.Equal(t, "events[0].params.page_location", b.Refused[0].FieldPath)
	assert.Equal(t, CodeValueRequired, b.Refused[0].Code)
}

func TestSiteAndSecret(t *testing.T) {
	d := testDecoder(t)
	body := []byte(mp(`{"name":"page_view","params":{"page_location":"https://blog.example/"}}`))
	for _, tc := range []struct {
		query  string
		reason webevent.Reason
		site   string
	}{
		{"measurement_id=g-shop5678", "", "shop"},
		{"measurement_id=G-BLOG1234&api_secret=k-1", "", "blog"},
		{"measurement_id=G-BLOG1234&api_secret=wrong", webevent.ReasonInvalidWriteKey, ""},
		{"measurement_id=G-BLOG1234", webevent.ReasonInvalidWriteKey, ""},
		{"measurement_id=G-SECURE1234&api_secret=n3xt", "", "secure"},
		{"measurement_id=G-SECURE1234&api_secret=wk", webevent.ReasonInvalidWriteKey, ""},
		{"measurement_id=G-SECURE1234", webevent.ReasonInvalidWriteKey, ""},
		{"measurement_id=G-NOPE1234&api_secret=k-1", webevent.ReasonUnknownSite, ""},
		{"api_secret=k-1", webevent.ReasonUnknownSite, ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			b, r := d.DecodeMP(tc.query, body, testRequest)
			if tc.reason != "" {
				require.NotNil(t, r)
				assert.Equal(t, tc.reason, r.Reason)
				assert.Equal(t, -1, r.Index)
				assert.NotContains(t, r.Message, "wrong")
				if tc.reason == webevent.ReasonInvalidWriteKey {
					assert.Equal(t, "api_secret", r.FieldPath)
				}
				return
			}
			require.Nil(t, r)
			if tc.site == "secure" {
				// Not on secure's pages: the page is the one sent.
				require.Len(t, b.Events, 1)
			}
			for _, ev := range b.Events {
				assert.Equal(t, tc.site, ev.SiteID)
			}
		})
	}
}

func TestRequestRefusals(t *testing.T) {
	page := `{"name":"page_view","params":{"page_location":"https://shop.example/"}}`
	many := strings.TrimSuffix(strings.Repeat(page+",", 26), ",")
	for _, tc := range []struct {
		body   string
		reason webevent.Reason
		field  string
		code   string
	}{
		{``, webevent.ReasonInvalidJSON, "", CodeValueInvalid},
		{`[]`, webevent.ReasonInvalidJSON, "", CodeValueInvalid},
		{`{"client_id":"1.2","events":[`, webevent.ReasonInvalidJSON, "", CodeValueInvalid},
		{"\xff", webevent.ReasonInvalidJSON, "", CodeValueInvalid},
		{`{"events":[` + page + `]}`, webevent.ReasonInvalidID, "client_id", CodeValueRequired},
		{`{"client_id":12,"events":[` + page + `]}`, webevent.ReasonInvalidJSON, "client_id", CodeValueInvalid},
		{`{"client_id":"a b","events":[` + page + `]}`, webevent.ReasonInvalidID, "client_id", CodeValueInvalid},
		{`{"client_id":"` + strings.Repeat("1", 129) + `","events":[` + page + `]}`, webevent.ReasonInvalidID, "client_id", CodeValueInvalid},
		{`{"client_id":"1.2","user_id":7,"events":[` + page + `]}`, webevent.ReasonInvalidJSON, "user_id", CodeValueInvalid},
		{`{"client_id":"1.2"}`, webevent.ReasonNoEvents, "events", CodeValueRequired},
		{`{"client_id":"1.2","events":{}}`, webevent.ReasonNoEvents, "events", CodeValueRequired},
		{`{"client_id":"1.2","events":[]}`, webevent.ReasonNoEvents, "events", CodeValueRequired},
		{`{"client_id":"1.2","events":[` + many + `]}`, webevent.ReasonTooManyEvents, "events", CodeExceededMaxEntities},
		{`{"client_id":"1.2","timestamp_micros":"soon","events":[` + page + `]}`, webevent.ReasonInvalidField, "timestamp_micros", CodeValueInvalid},
		{`{"client_id":"1.2","timestamp_micros":1,"events":[` + page + `]}`, webevent.ReasonTimeTooOld, "timestamp_micros", CodeValueOutOfBounds},
		{fmt.Sprintf(`{"client_id":"1.2","timestamp_micros":%d,"events":[%s]}`, testRequest.Received.Add(-73*time.Hour).UnixMicro(), page), webevent.ReasonTimeTooOld, "timestamp_micros", CodeValueOutOfBounds},
		{fmt.Sprintf(`{"client_id":"1.2","timestamp_micros":%d,"events":[%s]}`, testRequest.Received.Add(time.Hour).UnixMicro(), page), webevent.ReasonTimeInFuture, "timestamp_micros", CodeValueOutOfBounds},
		{`{"client_id":"1.2","consent":"yes","events":[` + page + `]}`, webevent.ReasonInvalidField, "consent", CodeValueInvalid},
		{`{"client_id":"1.2","consent":{"ad_user_data":"YES"},"events":[` + page + `]}`, webevent.ReasonInvalidField, "consent.ad_user_data", CodeValueInvalid},
		{`{"client_id":"1.2","consent":{"ad_personalization":true},"events":[` + page + `]}`, webevent.ReasonInvalidField, "consent.ad_personalization", CodeValueInvalid},
		{`{"client_id":"1.2","non_personalized_ads":"yes","events":[` + page + `]}`, webevent.ReasonInvalidField, "non_personalized_ads", CodeValueInvalid},
		{`{"client_id":"1.2","user_properties":[],"events":[` + page + `]}`, webevent.ReasonInvalidField, "user_properties", CodeValueInvalid},
	} {
		t.Run(tc.body, func(t *testing.T) {
			_, r := testDecoder(t).DecodeMP(shopQuery, []byte(tc.body), testRequest)
			require.NotNil(t, r)
			assert.Equal(t, tc.reason, r.Reason)
			assert.Equal(t, tc.field, r.FieldPath)
			assert.Equal(t, tc.code, r.Code)
			assert.Equal(t, -1, r.Index)
		})
	}
}

// TestEventRefusals: a bad event is refused with its index, field path
// and code; the good events of the request are kept.
func TestEventRefusals(t *testing.T) {
	const good = `{"name":"page_view","params":{"page_location":"https://shop.example/"}}`
	for _, tc := range []struct {
		event  string
		reason webevent.Reason
		field  string
		code   string
	}{
		{`"page_view"`, webevent.ReasonInvalidEvent, "events[1]", CodeValueInvalid},
		{`{"params":{}}`, webevent.ReasonMissingName, "events[1].name", CodeValueRequired},
		{`{"name":5}`, webevent.ReasonInvalidEvent, "events[1].name", CodeValueInvalid},
		{`{"name":"_bad"}`, webevent.ReasonInvalidEvent, "events[1].name", CodeNameInvalid},
		{`{"name":"9lives"}`, webevent.ReasonInvalidEvent, "events[1].name", CodeNameInvalid},
		{`{"name":"has-dash"}`, webevent.ReasonInvalidEvent, "events[1].name", CodeNameInvalid},
		{`{"name":"` + strings.Repeat("a", 41) + `"}`, webevent.ReasonInvalidEvent, "events[1].name", CodeValueOutOfBounds},
		{`{"name":"session_start"}`, webevent.ReasonInvalidEvent, "events[1].name", CodeNameReserved},
		{`{"name":"first_visit"}`, webevent.ReasonInvalidEvent, "events[1].name", CodeNameReserved},
		{`{"name":"firebase_x"}`, webevent.ReasonInvalidEvent, "events[1].name", CodeNameReserved},
		{`{"name":"e","params":[]}`, webevent.ReasonInvalidField, "events[1].params", CodeValueInvalid},
		{`{"name":"e","timestamp_micros":true}`, webevent.ReasonInvalidField, "events[1].timestamp_micros", CodeValueInvalid},
		{`{"name":"e","timestamp_micros":1}`, webevent.ReasonTimeTooOld, "events[1].timestamp_micros", CodeValueOutOfBounds},
		{`{"name":"page_view","params":{"page_location":"ftp://shop.example/"}}`, webevent.ReasonInvalidURL, "events[1].params.page_location", CodeValueInvalid},
		{`{"name":"page_view","params":{"page_location":"https://shop.example/` + strings.Repeat("a", 300) + `"}}`, webevent.ReasonURLTooLong, "events[1].params.page_location", CodeValueOutOfBounds},
		{`{"name":"page_view","params":{"page_location":"https://shop.example/","session_id":"a b"}}`, webevent.ReasonInvalidID, "events[1].params.session_id", CodeValueInvalid},
		{`{"name":"user_engagement","params":{"engagement_time_msec":"long"}}`, webevent.ReasonInvalidField, "events[1].params.engagement_time_msec", CodeValueInvalid},
		{`{"name":"user_engagement","params":{"engagement_time_msec":-5}}`, webevent.ReasonInvalidField, "events[1].params.engagement_time_msec", CodeValueInvalid},
		{`{"name":"purchase","params":{"value":"much"}}`, webevent.ReasonInvalidField, "events[1].params.value", CodeValueInvalid},
		{`{"name":"purchase","params":{"currency":"euro"}}`, webevent.ReasonInvalidField, "events[1].params.currency", CodeValueInvalid},
		{`{"name":"purchase","params":{"items":{}}}`, webevent.ReasonInvalidField, "events[1].params.items", CodeValueInvalid},
		{`{"name":"purchase","params":{"items":[` + strings.TrimSuffix(strings.Repeat("{},", 201), ",") + `]}}`, webevent.ReasonInvalidField, "events[1].params.items", CodeExceededMaxEntities},
		{`{"name":"page_view","params":{"gclid":"a b"}}`, webevent.ReasonInvalidField, "events[1].params", CodeValueInvalid},
	} {
		t.Run(tc.event, func(t *testing.T) {
			b := decode(t, shopQuery, mp(good+","+tc.event+","+good))
			require.Len(t, b.Events, 2, "the good events are kept")
			require.Len(t, b.Refused, 1)
			r := b.Refused[0]
			assert.Equal(t, 1, r.Index)
			assert.Equal(t, tc.reason, r.Reason)
			assert.Equal(t, tc.field, r.FieldPath)
			assert.Equal(t, tc.code, r.Code)
		})
	}
}

func TestOriginOfPage(t *testing.T) {
	b := decode(t, "measurement_id=G-BLOG1234&api_secret=k-1", mp(`{"name":"page_view","params":{"page_location":"https://evil.example/"}}`))
	require.Len(t, b.Refused, 1)
	assert.Equal(t, webevent.ReasonOriginNotAllowed, b.Refused[0].Reason)
}

func TestIPOverride(t *testing.T) {
	d := testDecoder(t)
	body := `{"client_id":"1.2","ip_override":"::ffff:198.51.100.7","events":[{"name":"purchase","params":{"value":1}}]}`
	b, r := d.DecodeMP("measurement_id=G-SECURE1234&api_secret=s3cret", []byte(body), testRequest)
	require.Nil(t, r)
	require.Len(t, b.Events, 1)
	assert.Equal(t, "198.51.100.7", b.Events[0].ClientAddr)

	// Ignored for a site whose requests do not authenticate.
	b = decode(t, shopQuery, `{"client_id":"1.2","ip_override":"198.51.100.7","events":[{"name":"page_view","params":{"page_location":"https://shop.example/"}}]}`)
	assert.Equal(t, testRequest.ClientAddress, b.Events[0].ClientAddr)

	for _, bad := range []string{`"fe80::1%eth0"`, `"nope"`, `7`} {
		_, r := d.DecodeMP("measurement_id=G-SECURE1234&api_secret=s3cret", []byte(`{"client_id":"1.2","ip_override":`+bad+`,"events":[{"name":"a"}]}`), testRequest)
		require.NotNil(t, r, bad)
		assert.Equal(t, "ip_override", r.FieldPath, bad)
	}
}
