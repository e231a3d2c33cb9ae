package matomo

import (
	"fmt"
	"net/url"
	"strconv"
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
			Limits: webevent.Limits{MaxEventsPerBeacon: 5, MaxStringLength: 256, MaxProperties: 8},
		},
		SiteIDs: map[string]string{"1": "shop", "7": "shop", "2": "blog"},
	}
}

var testRequest = webevent.Request{
	Received:      time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
	UserAgent:     "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
	ClientAddress: "192.0.2.7",
	Referer:       "https://shop.example/from-referer",
}

// pageView is a page view as matomo.js 5 sends it (POST body or query).
const pageView = "action_name=Red%20shoes&idsite=1&rec=1&r=123456&h=10&m=4&s=7" +
	"&url=https%3A%2F%2Fshop.example%2Fshoes%3Fmtm_campaign%3Dspring%26mtm_source%3Dnews" +
	"&urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Dshoes&_id=1A2b3c4d5e6f7a8b&_idn=0" +
	"&send_image=0&_refts=0&pv_id=AbC123&pf_net=0&pf_srv=12&uadata=%7B%7D&cookie=1&res=1920x1080" +
	"&_idvc=3&_viewts=1764669600&_idts=1760000000&lang=de-DE&fla=0&java=0"

// attrs decodes one request and returns its record's attributes.
func attrs(t *testing.T, query string) (string, map[string]any) {
	t.Helper()
	ev, rej := testDecoder(t).Decode(query, testRequest)
	require.Nil(t, rej, "rejected: %v", rej)
	return record(ev)
}

func record(ev webevent.Event) (string, map[string]any) {
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	return lr.EventName(), lr.Attributes().AsRaw()
}

func props(a map[string]any) map[string]any {
	p, _ := a[eventmodel.AttrProperties].(map[string]any)
	return p
}

func TestPageView(t *testing.T) {
	name, a := attrs(t, pageView)
	assert.Equal(t, eventmodel.EventPageView, name)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelMatomo,
		eventmodel.AttrURLFull:        "https://shop.example/shoes?mtm_campaign=spring&mtm_source=news",
		eventmodel.AttrReferrerDomain: "www.google.com",
		eventmodel.AttrPageTitle:      "Red shoes",
		eventmodel.AttrVisitorID:      "1a2b3c4d5e6f7a8b",
		eventmodel.AttrPageViewID:     "AbC123",
		eventmodel.AttrCampaignName:   "spring",
		eventmodel.AttrCampaignSource: "news",
		eventmodel.AttrUserAgent:      testRequest.UserAgent,
		eventmodel.AttrClientAddress:  testRequest.ClientAddress,
		eventmodel.AttrTimeSource:     eventmodel.TimeSourceReceiveTime,
	} {
		assert.Equal(t, want, a[k], k)
	}
	// No consent signal: the site's default decides (not cookieless).
	assert.NotContains(t, a, eventmodel.AttrCookieless)
	assert.NotContains(t, a, eventmodel.AttrConsentAnalytics)
	assert.NotContains(t, a, eventmodel.AttrSessionID)
	assert.Equal(t, map[string]any{
		PropScreenResolution: "1920x1080", PropLanguage: "de-DE", PropVisitCount: int64(3),
		PropPreviousVisitAt: int64(1764669600), PropFirstVisitAt: int64(1760000000),
		"_idn": int64(0), "pf_net": int64(0), "pf_srv": int64(12),
	}, props(a), "renamed and unknown params kept; request-only params ignored")
}

func TestIdentityAndConsent(t *testing.T) {
	_, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&_id=1111111111111111&cid=ABCDEFABCDEFABCD&uid=alice%40example.com&consent=1")
	assert.Equal(t, "abcdefabcdefabcd", a[eventmodel.AttrVisitorID], "cid wins over _id, lower case")
	assert.Equal(t, "alice@example.com", a[eventmodel.AttrUserID])
	assert.Equal(t, eventmodel.ConsentGranted, a[eventmodel.AttrConsentAnalytics], "consent=1 is matomo.js's 'consent given'")
}

func TestCookieless(t *testing.T) {
	_, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&_id=1a2b3c4d5e6f7a8b&cookie=0")
	assert.Equal(t, true, a[eventmodel.AttrCookieless], "cookie=0: matomo.js runs without cookies")
	_, a = attrs(t, "idsite=1&rec=1&url=https://shop.example/&_id=1a2b3c4d5e6f7a8b&cookie=1")
	assert.NotContains(t, a, eventmodel.AttrCookieless)
}

func TestPixelFallsBackToReferer(t *testing.T) {
	_, a := attrs(t, "idsite=01&rec=1")
	assert.Equal(t, "https://shop.example/from-referer", a[eventmodel.AttrURLFull])
	assert.Equal(t, "shop", a[eventmodel.AttrSiteID], "idsite 01 is site 1")
}

func TestPkCampaign(t *testing.T) {
	_, a := attrs(t, "idsite=1&rec=1&url="+escape("https://shop.example/?pk_campaign=Spring&pk_kwd=shoes&pk_source=news&pk_medium=email&pk_content=a&pk_cid=9"))
	for k, want := range map[string]any{
		eventmodel.AttrCampaignName: "Spring", eventmodel.AttrCampaignTerm: "shoes", eventmodel.AttrCampaignSource: "news",
		eventmodel.AttrCampaignMedium: "email", eventmodel.AttrCampaignContent: "a", eventmodel.AttrCampaignID: "9",
	} {
		assert.Equal(t, want, a[k], k)
	}
	_, a = attrs(t, "idsite=1&rec=1&url="+escape("https://shop.example/?utm_campaign=u&pk_campaign=p"))
	assert.Equal(t, "u", a[eventmodel.AttrCampaignName], "utm_* wins")
	_, a = attrs(t, "idsite=1&rec=1&url=https://shop.example/&_rcn=Spring&_rck=shoes&_ref="+escape("https://news.example/"))
	assert.NotContains(t, a, eventmodel.AttrCampaignName, "the conversion cookie is no landing")
	assert.Equal(t, map[string]any{PropConversionCampaign: "Spring", PropConversionKeyword: "shoes", PropConversionReferrer: "https://news.example/"}, props(a))
}

func escape(s string) string {
	r := strings.NewReplacer("?", "%3F", "&", "%26", "=", "%3D", ":", "%3A", "/", "%2F")
	return r.Replace(s)
}

func TestEvent(t *testing.T) {
	name, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&e_c=Video&e_a=Play&e_n=Intro&e_v=12.5&dimension3=gold&ca=1")
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, "Play", a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{PropEventCategory: "Video", PropEventName: "Intro", PropEventValue: 12.5, "dimension3": "gold"}, props(a))
}

func TestGoalAndEcommerce(t *testing.T) {
	_, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/thanks&idgoal=4&revenue=9.90")
	assert.Equal(t, NameGoal, a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{PropGoalID: int64(4), PropRevenue: 9.9}, props(a))

	items := escape(`[["SKU1","Shoe","Shoes",59.5,2],["SKU2","Sock","",5,1]]`)
	_, a = attrs(t, "idsite=1&rec=1&url=https://shop.example/thanks&idgoal=0&ec_id=A-100&revenue=124&ec_st=119&ec_tx=20&ec_sh=5&ec_dt=0&ec_items="+items)
	assert.Equal(t, NamePurchase, a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{
		PropOrderID: "A-100", PropRevenue: 124.0, PropSubtotal: 119.0, PropTax: 20.0, PropShipping: 5.0, PropDiscount: 0.0,
		PropItems: int64(2), PropItemsJSON: `[["SKU1","Shoe","Shoes",59.5,2],["SKU2","Sock","",5,1]]`,
	}, props(a))

	_, a = attrs(t, "idsite=1&rec=1&url=https://shop.example/cart&idgoal=0&revenue=64.5")
	assert.Equal(t, NameCartUpdate, a[eventmodel.AttrCustomName])
}

func TestSiteSearch(t *testing.T) {
	name, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/search&search=red+shoes&search_cat=Shoes&search_count=12")
	assert.Equal(t, eventmodel.EventSiteSearch, name)
	assert.Equal(t, "red shoes", a[eventmodel.AttrSearchTerm])
	assert.Equal(t, map[string]any{PropSearchCategory: "Shoes", PropSearchCount: int64(12)}, props(a))
}

func TestLinks(t *testing.T) {
	name, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&link="+escape("https://partner.example/x"))
	assert.Equal(t, eventmodel.EventOutboundClick, name)
	assert.Equal(t, "partner.example", a[eventmodel.AttrLinkDomain])
	name, a = attrs(t, "idsite=1&rec=1&url=https://shop.example/&download="+escape("https://shop.example/a.pdf"))
	assert.Equal(t, eventmodel.EventFileDownload, name)
	assert.Equal(t, "https://shop.example/a.pdf", a[eventmodel.AttrLinkURL])
	// A link that is no absolute http(s) URL stays a custom event.
	name, a = attrs(t, "idsite=1&rec=1&url=https://shop.example/&link=mailto%3Ahi%40shop.example")
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, NameOutlink, a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{PropLink: "mailto:hi@shop.example"}, props(a))
}

func TestContent(t *testing.T) {
	_, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&c_n=Banner&c_p=spring.jpg&c_t="+escape("https://shop.example/sale"))
	assert.Equal(t, NameContentImpression, a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{PropContentName: "Banner", PropContentPiece: "spring.jpg", PropContentTarget: "https://shop.example/sale"}, props(a))
	_, a = attrs(t, "idsite=1&rec=1&url=https://shop.example/&c_n=Banner&c_i=click")
	assert.Equal(t, NameContentInteraction, a[eventmodel.AttrCustomName])
	assert.Equal(t, "click", props(a)[PropContentInteraction])
}

// ca=1 says "no page view": a request of a plugin this package does not
// know (media analytics here) is a custom event, never a page view.
func TestCustomAction(t *testing.T) {
	name, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&ca=1&ma_id=abc&ma_ti=Intro&ma_st=12")
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, NameCustomAction, a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{"ma_id": "abc", "ma_ti": "Intro", "ma_st": int64(12)}, props(a))
}

func TestHeartbeat(t *testing.T) {
	name, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&ping=1&pv_id=AbC123&_id=1a2b3c4d5e6f7a8b")
	assert.Equal(t, eventmodel.EventEngagement, name)
	assert.Equal(t, "AbC123", a[eventmodel.AttrPageViewID])
	assert.NotContains(t, a, eventmodel.AttrEngagedTime, "a heartbeat carries no duration")
}

func TestOverridesNeedTheWriteKey(t *testing.T) {
	const q = "idsite=%s&rec=1&url=https://blog.example/&cip=198.51.100.9&ua=Server%%2F1&cdt=1764666000&token_auth=%s"
	d := testDecoder(t)
	// A site without a write key: the overrides are ignored.
	ev, rej := d.Decode(fmt.Sprintf(q, "1", "whatever"), testRequest)
	require.Nil(t, rej)
	_, a := record(ev)
	assert.Equal(t, testRequest.ClientAddress, a[eventmodel.AttrClientAddress])
	assert.Equal(t, testRequest.UserAgent, a[eventmodel.AttrUserAgent])
	assert.Equal(t, eventmodel.TimeSourceReceiveTime, a[eventmodel.AttrTimeSource])
	assert.Equal(t, eventmodel.TimeCorrectionTooOld, a[eventmodel.AttrTimeCorrection], "a year-old cdt without token_auth: replaced, flagged")
	assert.Nil(t, props(a), "cip, ua and cdt never become properties")

	// The site's write key as token_auth: honoured.
	ev, rej = d.Decode(fmt.Sprintf(q, "2", "k-1"), testRequest)
	require.Nil(t, rej)
	_, a = record(ev)
	assert.Equal(t, "198.51.100.9", a[eventmodel.AttrClientAddress])
	assert.Equal(t, "Server/1", a[eventmodel.AttrUserAgent])
	assert.Equal(t, eventmodel.TimeSourceClient, a[eventmodel.AttrTimeSource])
	assert.Equal(t, time.Unix(1764666000, 0).UTC(), ev.Time.At.UTC())

	ev, rej = d.Decode("idsite=2&rec=1&url=https://blog.example/&cdt=2026-12-02+09%3A00%3A00&token_auth=k-1", testRequest)
	require.Nil(t, rej)
	assert.Equal(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), ev.Time.At.UTC())
}

func TestRejections(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		reason      webevent.Reason
	}{
		{"no rec", "idsite=1&url=https://shop.example/", webevent.ReasonInvalidRequest},
		{"rec 0", "idsite=1&rec=0&url=https://shop.example/", webevent.ReasonInvalidRequest},
		{"no idsite", "rec=1&url=https://shop.example/", webevent.ReasonUnknownSite},
		{"unknown idsite", "idsite=99&rec=1&url=https://shop.example/", webevent.ReasonUnknownSite},
		{"not a number", "idsite=one&rec=1&url=https://shop.example/", webevent.ReasonUnknownSite},
		{"write key missing", "idsite=2&rec=1&url=https://blog.example/", webevent.ReasonInvalidWriteKey},
		{"wrong write key", "idsite=2&rec=1&url=https://blog.example/&token_auth=nope", webevent.ReasonInvalidWriteKey},
		{"origin", "idsite=2&rec=1&url=https://evil.example/&token_auth=k-1", webevent.ReasonOriginNotAllowed},
		{"short _id", "idsite=1&rec=1&url=https://shop.example/&_id=abc", webevent.ReasonInvalidID},
		{"non-hex cid", "idsite=1&rec=1&url=https://shop.example/&cid=zzzzzzzzzzzzzzzz", webevent.ReasonInvalidID},
		{"bad pv_id", "idsite=1&rec=1&url=https://shop.example/&pv_id=a%20b", webevent.ReasonInvalidID},
		{"no url", "idsite=1&rec=1", webevent.ReasonMissingURL},
		{"relative url", "idsite=1&rec=1&url=/shoes", webevent.ReasonInvalidURL},
		{"long url", "idsite=1&rec=1&url=https://shop.example/" + strings.Repeat("a", 300), webevent.ReasonURLTooLong},
		{"event without action", "idsite=1&rec=1&url=https://shop.example/&e_c=Video", webevent.ReasonMissingName},
		{"event without category", "idsite=1&rec=1&url=https://shop.example/&e_a=Play", webevent.ReasonInvalidField},
		{"event value", "idsite=1&rec=1&url=https://shop.example/&e_c=V&e_a=P&e_v=lots", webevent.ReasonInvalidField},
		{"NaN revenue", "idsite=1&rec=1&url=https://shop.example/&idgoal=1&revenue=NaN", webevent.ReasonInvalidField},
		{"negative goal", "idsite=1&rec=1&url=https://shop.example/&idgoal=-1", webevent.ReasonInvalidField},
		{"items not JSON", "idsite=1&rec=1&url=https://shop.example/&idgoal=0&ec_id=1&ec_items=%5B", webevent.ReasonInvalidField},
		{"items not an array", "idsite=1&rec=1&url=https://shop.example/&idgoal=0&ec_id=1&ec_items=%7B%7D", webevent.ReasonInvalidField},
		{"too many items", "idsite=1&rec=1&url=https://shop.example/&idgoal=0&ec_id=1&ec_items=" + escape("["+strings.Repeat("[],", 1000)+"[]]"), webevent.ReasonInvalidField},
		{"search count", "idsite=1&rec=1&url=https://shop.example/&search=x&search_count=-2", webevent.ReasonInvalidField},
		{"bad cip", "idsite=2&rec=1&url=https://blog.example/&token_auth=k-1&cip=local", webevent.ReasonInvalidField},
		{"cip with a zone", "idsite=2&rec=1&url=https://blog.example/&token_auth=k-1&cip=fe80::1%25eth0", webevent.ReasonInvalidField},
		{"bad cdt", "idsite=2&rec=1&url=https://blog.example/&token_auth=k-1&cdt=yesterday", webevent.ReasonInvalidField},
		{"future cdt", "idsite=2&rec=1&url=https://blog.example/&token_auth=k-1&cdt=4102444800", webevent.ReasonInvalidField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rej := testDecoder(t).Decode(tc.query, webevent.Request{Received: testRequest.Received})
			require.NotNil(t, rej)
			assert.Equal(t, tc.reason, rej.Reason, rej.Message)
		})
	}
}

func TestBadEncodingsAreKeptAsSent(t *testing.T) {
	// A value with a malformed escape stays as sent; invalid UTF-8 is
	// repaired, never stored.
	_, a := attrs(t, "idsite=1&rec=1&url=https://shop.example/&action_name=100%25%zz&dimension1=%ff%fe")
	assert.Equal(t, "100%25%zz", a[eventmodel.AttrPageTitle])
	assert.Equal(t, "\uFFFD", props(a)["dimension1"])
}

func TestPropertyLimits(t *testing.T) {
	var q strings.Builder
	q.WriteString("idsite=1&rec=1&url=https://shop.example/&e_c=c&e_a=a&e_n=n&e_v=1")
	for i := range 100 {
		q.WriteString("&dimension" + strconv.Itoa(i) + "=" + strconv.Itoa(i))
	}
	q.WriteString("&cvar[1]=x&" + strings.Repeat("k", 65) + "=y")
	_, a := attrs(t, q.String())
	p := props(a)
	assert.Len(t, p, 8, "max_properties")
	assert.Equal(t, "c", p[PropEventCategory], "mapped properties are kept first")
	assert.Equal(t, int64(100+2-5+1), p[PropDroppedParams], "the dimensions that did not fit, the two bad keys and the count's place")
}

func TestBulk(t *testing.T) {
	d := testDecoder(t)
	body := `{"requests":[
		"?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fa&_id=1a2b3c4d5e6f7a8b",
		"?idsite=99&rec=1&url=https%3A%2F%2Fshop.example%2Fb",
		{"idsite":1,"rec":1,"url":"https://shop.example/c","e_c":"V","e_a":"Play","e_v":2,"_id":"1a2b3c4d5e6f7a8b"},
		42,
		"https://collector.example/matomo.php?idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F"
	],"token_auth":"k-1","send_image":0}`
	b, rej := d.DecodeBulk([]byte(body), testRequest)
	require.Nil(t, rej)
	require.Len(t, b.Events, 3)
	assert.False(t, b.SendImage)
	assert.Equal(t, []int{1, 3}, []int{b.Rejected[0].Index, b.Rejected[1].Index})
	assert.Equal(t, webevent.ReasonUnknownSite, b.Rejected[0].Reason)
	assert.Equal(t, webevent.ReasonInvalidEvent, b.Rejected[1].Reason)
	assert.Same(t, b.Events[0].Shared, b.Events[1].Shared, "one visitor of one site shares its Shared")
	assert.NotSame(t, b.Events[0].Shared, b.Events[2].Shared)
	assert.Equal(t, "blog", b.Events[2].SiteID, "the body's token_auth is the blog's write key")
	assert.Equal(t, "Play", b.Events[1].CustomName)
}

func TestBulkRejections(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		reason     webevent.Reason
	}{
		{"not JSON", `{"requests":[`, webevent.ReasonInvalidJSON},
		{"array", `["?idsite=1"]`, webevent.ReasonInvalidJSON},
		{"no requests", `{"token_auth":"x"}`, webevent.ReasonNoEvents},
		{"requests not an array", `{"requests":"?idsite=1&rec=1"}`, webevent.ReasonNoEvents},
		{"empty", `{"requests":[]}`, webevent.ReasonNoEvents},
		{"too many", `{"requests":["?a","?a","?a","?a","?a","?a"]}`, webevent.ReasonTooManyEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rej := testDecoder(t).DecodeBulk([]byte(tc.body), testRequest)
			require.NotNil(t, rej)
			assert.Equal(t, tc.reason, rej.Reason)
		})
	}
	b, rej := testDecoder(t).DecodeBulk([]byte(`{"requests":["?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F"]}`), testRequest)
	require.Nil(t, rej)
	assert.True(t, b.SendImage, "Matomo's JSON summary unless send_image is 0")
}

func TestSendImage(t *testing.T) {
	assert.True(t, SendImage(""))
	assert.True(t, SendImage("idsite=1&send_image=1"))
	assert.False(t, SendImage("idsite=1&send_image=0"))
	assert.True(t, IsBulk([]byte(" {\"requests\":[]}")))
	assert.False(t, IsBulk([]byte("idsite=1&rec=1")))
}

// TestUnauthenticatedCustomTime: as Matomo, a cdt without token_auth is
// taken within the last 24 hours; outside (a day back, 10 s ahead) the
// receive time replaces it, flagged with the reason, never silently.
func TestUnauthenticatedCustomTime(t *testing.T) {
	d := testDecoder(t)
	r := testRequest.Received
	for _, tc := range []struct {
		name       string
		cdt        string
		source     string
		correction any
		at         time.Time
	}{
		{"an hour ago", strconv.FormatInt(r.Add(-time.Hour).Unix(), 10), eventmodel.TimeSourceClient, nil, r.Add(-time.Hour).Truncate(time.Second)},
		{"a day ago, as a date", r.Add(-24 * time.Hour).UTC().Format(time.DateTime), eventmodel.TimeSourceClient, nil, r.Add(-24 * time.Hour).Truncate(time.Second)},
		{"two days ago", strconv.FormatInt(r.Add(-48*time.Hour).Unix(), 10), eventmodel.TimeSourceReceiveTime, eventmodel.TimeCorrectionTooOld, r},
		{"a minute ahead", strconv.FormatInt(r.Add(time.Minute).Unix(), 10), eventmodel.TimeSourceReceiveTime, eventmodel.TimeCorrectionInFuture, r},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, rej := d.Decode("idsite=1&rec=1&url=https://shop.example/&cdt="+url.QueryEscape(tc.cdt), testRequest)
			require.Nil(t, rej)
			_, a := record(ev)
			assert.Equal(t, tc.source, a[eventmodel.AttrTimeSource])
			assert.Equal(t, tc.correction, a[eventmodel.AttrTimeCorrection])
			assert.True(t, tc.at.Equal(ev.Time.At), "time %v, want %v", ev.Time.At, tc.at)
		})
	}
	_, rej := d.Decode("idsite=1&rec=1&url=https://shop.example/&cdt=yesterday", testRequest)
	require.NotNil(t, rej)
	assert.Equal(t, webevent.ReasonInvalidField, rej.Reason)
}
