package ga4

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// gtagPageView is a page view as gtag.js sends it (v=2): request, tag and
// client-hint params, then the page and the session.
const gtagPageView = "v=2&tid=G-SHOP1234&gtm=45je4bk0v9&_p=1733130000123&gcs=G111&gcd=13r3r3r3r5&npa=0&dma=0" +
	"&cid=1234567890.1733130000&ul=de-de&sr=1920x1080&uaa=x86&uab=64&uafvl=Chromium%3B131&uamb=0&uam=&uap=Linux&uapv=6.1&uaw=0" +
	"&are=1&frm=0&pscdl=noapi&_s=1&sid=1733130000&sct=3&seg=1" +
	"&dl=https%3A%2F%2Fshop.example%2Fshoes%3Futm_source%3Dnews%26gclid%3DCj0K&dr=https%3A%2F%2Fwww.google.com%2F&dt=Red%20shoes" +
	"&en=page_view&_fv=1&_nsi=1&_ss=1&_ee=1&tfd=1234&uid=u-42"

func collect(t *testing.T, query, body string) Batch {
	t.Helper()
	b, r := testDecoder(t).DecodeCollect(query, []byte(body), testRequest)
	require.Nil(t, r, "refused: %+v", r)
	return b
}

func attrsOf(ev webevent.Event) (string, map[string]any) {
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	return lr.EventName(), lr.Attributes().AsRaw()
}

func TestCollectPageView(t *testing.T) {
	b := collect(t, gtagPageView, "")
	require.Empty(t, b.Refused)
	require.Len(t, b.Events, 1)
	name, a := attrsOf(b.Events[0])
	assert.Equal(t, eventmodel.EventPageView, name)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:                 "shop",
		eventmodel.AttrIngestChannel:          eventmodel.ChannelGA4,
		eventmodel.AttrURLFull:                "https://shop.example/shoes?utm_source=news&gclid=Cj0K",
		eventmodel.AttrReferrerDomain:         "www.google.com",
		eventmodel.AttrPageTitle:              "Red shoes",
		eventmodel.AttrVisitorID:              "1234567890.1733130000",
		eventmodel.AttrSessionID:              "1733130000",
		eventmodel.AttrUserID:                 "u-42",
		eventmodel.AttrCampaignSource:         "news",
		eventmodel.AttrClickIDType:            "gclid",
		eventmodel.AttrConsentAnalytics:       eventmodel.ConsentGranted,
		eventmodel.AttrConsentMarketing:       eventmodel.ConsentGranted,
		eventmodel.AttrConsentPersonalization: eventmodel.ConsentGranted,
	} {
		assert.Equal(t, want, a[k], k)
	}
	assert.Equal(t, map[string]any{PropSessionCount: int64(3), PropSessionEngaged: int64(1), PropLanguage: "de-de", PropScreenResolution: "1920x1080"}, props(a))
}

// TestCollectBatch: gtag.js's batched POST; each line adds to the URL's
// shared params and wins over them, a bad line is refused alone.
func TestCollectBatch(t *testing.T) {
	q := "v=2&tid=G-SHOP1234&cid=1.2&sid=77&dl=https%3A%2F%2Fshop.example%2Fp&dt=P&_s=3"
	body := "en=user_engagement&_et=5230\n" +
		"en=scroll&epn.percent_scrolled=90&_et=12\n" +
		"en=_bad\n" +
		"en=click&ep.link_url=https%3A%2F%2Fpartner.example%2F&ep.outbound=true&ep.link_domain=partner.example\n" +
		"en=file_download&ep.link_url=https%3A%2F%2Fshop.example%2Fa.pdf&ep.file_extension=pdf\n" +
		"en=view_search_results&ep.search_term=red%20shoes\n" +
		"en=form_submit&ep.form_id=contact&ep.form_destination=https%3A%2F%2Fshop.example%2Fsend\n" +
		"en=purchase&ep.transaction_id=T-1&epn.value=25.42&cu=usd&pr1=idSKU_1~nmShoes~pr10.01~qt2&pr2=idSKU_2\n" +
		"en=sign_up&ep.method=Google&epn.n=abc&up.tier=gold&upn.age=41&dl=https%3A%2F%2Fshop.example%2Fother\n"
	b := collect(t, q, body)
	require.Len(t, b.Refused, 1)
	assert.Equal(t, 2, b.Refused[0].Index)
	assert.Equal(t, CodeNameInvalid, b.Refused[0].Code)
	require.Len(t, b.Events, 8)
	want := []struct {
		name  string
		attrs map[string]any
		props map[string]any
	}{
		{eventmodel.EventEngagement, map[string]any{eventmodel.AttrEngagedTime: int64(5230)}, nil},
		{eventmodel.EventCustom, map[string]any{eventmodel.AttrCustomName: "scroll"}, map[string]any{"percent_scrolled": int64(90), "engagement_time_msec": int64(12)}},
		{eventmodel.EventOutboundClick, map[string]any{eventmodel.AttrLinkURL: "https://partner.example/"}, map[string]any{"link_domain": "partner.example"}},
		{eventmodel.EventFileDownload, map[string]any{eventmodel.AttrLinkURL: "https://shop.example/a.pdf"}, map[string]any{"file_extension": "pdf"}},
		{eventmodel.EventSiteSearch, map[string]any{eventmodel.AttrSearchTerm: "red shoes"}, map[string]any{PropGA4Name: "view_search_results"}},
		{eventmodel.EventFormSubmit, map[string]any{eventmodel.AttrFormID: "contact", eventmodel.AttrFormAction: "https://shop.example/send"}, nil},
		{eventmodel.EventCustom, map[string]any{eventmodel.AttrCustomName: "purchase"},
			map[string]any{PropOrderID: "T-1", PropRevenue: 25.42, PropCurrency: "USD", PropItems: int64(2), "pr1": "idSKU_1~nmShoes~pr10.01~qt2", "pr2": "idSKU_2"}},
		{eventmodel.EventCustom, map[string]any{eventmodel.AttrCustomName: "sign_up", eventmodel.AttrURLFull: "https://shop.example/other"},
			map[string]any{"method": "Google", "up_tier": "gold", "up_age": int64(41), PropDroppedParams: int64(1)}},
	}
	for i, w := range want {
		name, a := attrsOf(b.Events[i])
		assert.Equal(t, w.name, name, i)
		assert.Equal(t, "77", a[eventmodel.AttrSessionID], i)
		for k, v := range w.attrs {
			assert.Equal(t, v, a[k], "%d %s", i, k)
		}
		if w.props == nil {
			assert.Empty(t, props(a), i)
		} else {
			assert.Equal(t, w.props, props(a), i)
		}
	}
	_, a := attrsOf(b.Events[0])
	assert.Equal(t, "https://shop.example/p", a[eventmodel.AttrURLFull], "the URL's dl")
}

func TestCollectConsent(t *testing.T) {
	for _, tc := range []struct {
		params                                string
		analytics, marketing, personalization any
	}{
		{"gcs=G111", eventmodel.ConsentGranted, eventmodel.ConsentGranted, nil},
		{"gcs=G100", eventmodel.ConsentDenied, eventmodel.ConsentDenied, nil},
		{"gcs=G101", eventmodel.ConsentGranted, eventmodel.ConsentDenied, nil},
		{"gcs=G110", eventmodel.ConsentDenied, eventmodel.ConsentGranted, nil},
		// gcd: ad_storage, analytics_storage, ad_user_data, ad_personalization.
		{"gcd=13l3l3l3l1", nil, nil, nil},
		{"gcd=13p3r3q3v5", eventmodel.ConsentGranted, eventmodel.ConsentDenied, eventmodel.ConsentGranted},
		{"gcd=13t3m3t3u5", eventmodel.ConsentDenied, eventmodel.ConsentGranted, eventmodel.ConsentDenied},
		{"gcs=G111&gcd=13q3q3q3q5", eventmodel.ConsentDenied, eventmodel.ConsentDenied, eventmodel.ConsentDenied},
		{"npa=1", nil, nil, eventmodel.ConsentDenied},
		{"npa=1&gcd=13l3l3l3v5", nil, nil, eventmodel.ConsentGranted},
		{"gcs=G1x", nil, nil, nil},
	} {
		t.Run(tc.params, func(t *testing.T) {
			b := collect(t, "v=2&tid=G-SHOP1234&cid=1.2&en=page_view&dl=https%3A%2F%2Fshop.example%2F&"+tc.params, "")
			require.Len(t, b.Events, 1)
			_, a := attrsOf(b.Events[0])
			assert.Equal(t, tc.analytics, a[eventmodel.AttrConsentAnalytics])
			assert.Equal(t, tc.marketing, a[eventmodel.AttrConsentMarketing])
			assert.Equal(t, tc.personalization, a[eventmodel.AttrConsentPersonalization])
		})
	}
}

// Without a client id (Consent Mode's cookieless pings), the event is
// cookieless.
func TestCollectCookielessPing(t *testing.T) {
	b := collect(t, "v=2&tid=G-SHOP1234&gcs=G100&en=page_view&dl=https%3A%2F%2Fshop.example%2F", "")
	require.Len(t, b.Events, 1)
	_, a := attrsOf(b.Events[0])
	assert.Equal(t, true, a[eventmodel.AttrCookieless])
	assert.NotContains(t, a, eventmodel.AttrVisitorID)
}

func TestCollectWriteKey(t *testing.T) {
	d := testDecoder(t)
	q := "v=2&tid=G-BLOG1234&cid=1.2&en=page_view&dl=https%3A%2F%2Fblog.example%2F"
	_, r := d.DecodeCollect(q, nil, testRequest)
	require.NotNil(t, r)
	assert.Equal(t, webevent.ReasonInvalidWriteKey, r.Reason)
	b, r := d.DecodeCollect("v=2&tid=G-BLOG1234&cid=1.2&dl=https%3A%2F%2Fblog.example%2F", []byte("en=page_view&ep.write_key=k-1\nen=scroll&ep.write_key=k-1"), testRequest)
	require.Nil(t, r, "the key on the batch's lines")
	require.Len(t, b.Events, 2)
	b, r = d.DecodeCollect(q+"&ep.write_key=k-1", nil, testRequest)
	require.Nil(t, r)
	require.Len(t, b.Events, 1)
	_, a := attrsOf(b.Events[0])
	assert.Empty(t, props(a), "the write key is no property")
}

func TestCollectRefusals(t *testing.T) {
	const page = "&en=page_view&dl=https%3A%2F%2Fshop.example%2F"
	for _, tc := range []struct {
		query, body string
		reason      webevent.Reason
		field       string
	}{
		{"tid=G-SHOP1234&cid=1.2" + page, "", webevent.ReasonInvalidRequest, "v"},
		{"v=1&tid=G-SHOP1234&cid=1.2" + page, "", webevent.ReasonInvalidRequest, "v"},
		{"v=2&cid=1.2" + page, "", webevent.ReasonUnknownSite, "tid"},
		{"v=2&tid=G-NOPE1234&cid=1.2" + page, "", webevent.ReasonUnknownSite, "tid"},
		{"v=2&tid=G-SHOP1234&cid=a%20b" + page, "", webevent.ReasonInvalidID, "cid"},
		{"v=2&tid=G-SHOP1234&cid=1.2", strings.Repeat("en=a\n", 51), webevent.ReasonTooManyEvents, ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, r := testDecoder(t).DecodeCollect(tc.query, []byte(tc.body), testRequest)
			require.NotNil(t, r)
			assert.Equal(t, tc.reason, r.Reason)
			assert.Equal(t, tc.field, r.FieldPath)
		})
	}
	// Event-level refusals keep the other events.
	for _, tc := range []struct {
		line   string
		reason webevent.Reason
	}{
		{"dl=x", webevent.ReasonMissingName},
		{"en=session_start", webevent.ReasonInvalidEvent},
		{"en=a&dl=ftp%3A%2F%2Fshop.example%2F", webevent.ReasonInvalidURL},
		{"en=a&sid=a%20b", webevent.ReasonInvalidID},
		{"en=user_engagement&_et=-1", webevent.ReasonInvalidField},
		{"en=purchase&cu=euro", webevent.ReasonInvalidField},
	} {
		t.Run(tc.line, func(t *testing.T) {
			b := collect(t, "v=2&tid=G-SHOP1234&cid=1.2&dl=https%3A%2F%2Fshop.example%2F", "en=page_view\n"+tc.line+"\nen=page_view")
			require.Len(t, b.Events, 2)
			require.Len(t, b.Refused, 1)
			assert.Equal(t, 1, b.Refused[0].Index)
			assert.Equal(t, tc.reason, b.Refused[0].Reason)
		})
	}
}
