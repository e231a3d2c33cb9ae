package snowplow

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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
			Limits: webevent.Limits{MaxEventsPerBeacon: 10, MaxStringLength: 256, MaxProperties: 8},
		},
		AppIDs:   map[string]string{"shop-web": "shop", "blog": "blog"},
		PagePing: 10 * time.Second,
	}
}

var received = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

var testRequest = webevent.Request{
	Received:      received,
	UserAgent:     "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
	ClientAddress: "192.0.2.7",
}

const (
	duid    = "4a3c1e9e-6f1b-4c55-9a8e-0f0d2b7b1c11"
	sid     = "9d7f2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	pageID  = "b5e3f0a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
	eventID = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
)

// b64 is how the trackers encode ue_px and cx: base64url without padding.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func contextsJSON(entities ...string) string {
	return `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[` + strings.Join(entities, ",") + `]}`
}

var webPage = `{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"` + pageID + `"}}`

func ueJSON(schema, data string) string {
	return `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"` + schema + `","data":` + data + `}}`
}

// base is what the browser tracker sends with every event.
func base(e string) url.Values {
	return url.Values{
		"e": {e}, "eid": {eventID}, "tv": {"js-4.6.8"}, "tna": {"sp"}, "aid": {"shop-web"}, "p": {"web"},
		"cookie": {"1"}, "cs": {"UTF-8"}, "lang": {"en-US"}, "res": {"1920x1080"}, "cd": {"24"}, "tz": {"Europe/Berlin"},
		"dtm": {"1796205000000"}, "stm": {"1796205000500"}, "vp": {"1280x720"}, "ds": {"1280x2880"},
		"vid": {"3"}, "sid": {sid}, "duid": {duid},
		"url":  {"https://shop.example/shoes?utm_source=news&utm_medium=email&gclid=abc"},
		"page": {"Shoes"}, "refr": {"https://www.google.com/search?q=shoes"},
		"cx": {b64(contextsJSON(webPage))},
	}
}

// decodeGET decodes q as a GET /i and returns the record.
func decodeGET(t *testing.T, d *Decoder, q url.Values, h Hints) (string, map[string]any) {
	t.Helper()
	ev, rej := d.DecodeQuery(q.Encode(), testRequest, h)
	require.Nil(t, rej, "rejected: %v", rej)
	lr := plog.NewLogRecord()
	ev.CopyTo(lr)
	return lr.EventName(), lr.Attributes().AsRaw()
}

func propsOf(a map[string]any) map[string]any {
	p, _ := a[eventmodel.AttrProperties].(map[string]any)
	return p
}

func TestPageView(t *testing.T) {
	name, a := decodeGET(t, testDecoder(t), base("pv"), Hints{})
	assert.Equal(t, eventmodel.EventPageView, name)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelSnowplow,
		eventmodel.AttrEventID:        pageID, // the page's id: its pings name it
		eventmodel.AttrURLPath:        "/shoes",
		eventmodel.AttrPageTitle:      "Shoes",
		eventmodel.AttrReferrerDomain: "www.google.com",
		eventmodel.AttrCampaignSource: "news",
		eventmodel.AttrCampaignMedium: "email",
		eventmodel.AttrClickIDType:    "gclid",
		eventmodel.AttrVisitorID:      duid,
		eventmodel.AttrSessionID:      sid,
		eventmodel.AttrClientAddress:  testRequest.ClientAddress,
	} {
		assert.Equal(t, want, a[k], k)
	}
	// The device clock, ten minutes slow, read the event's time 500 ms
	// before sending it: the event is placed 500 ms before its receipt.
	assert.Equal(t, eventmodel.TimeCorrectionSkew, a[eventmodel.AttrTimeCorrection])
	assert.Equal(t, received.UnixMilli()-1796205000500, a[eventmodel.AttrTimeSkew])
	assert.Equal(t, map[string]any{
		"sp_res": "1920x1080", "sp_vp": "1280x720", "sp_tz": "Europe/Berlin", "sp_lang": "en-US",
		"sp_vid": int64(3),
	}, propsOf(a), "the device's facts, on page views only")
	assert.NotContains(t, a, eventmodel.AttrCookieless)
}

func TestPagePing(t *testing.T) {
	q := base("pp")
	q.Set("pp_mix", "0")
	q.Set("pp_max", "0")
	q.Set("pp_miy", "0")
	q.Set("pp_may", "1440")
	name, a := decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, eventmodel.EventEngagement, name)
	assert.Equal(t, int64(10000), a[eventmodel.AttrEngagedTime], "a ping is one heartbeat")
	// (1440 + 720) / 2880 of the page.
	assert.Equal(t, int64(75), a[eventmodel.AttrScrollDepth])
	assert.Equal(t, pageID, a[eventmodel.AttrPageViewID])
	assert.Equal(t, eventID, a[eventmodel.AttrEventID])
	assert.NotContains(t, a, eventmodel.AttrProperties, "the device's facts are on the page view")

	q.Del("ds")
	_, a = decodeGET(t, testDecoder(t), q, Hints{})
	assert.NotContains(t, a, eventmodel.AttrScrollDepth, "no document height, no depth")
}

func TestStructuredEvent(t *testing.T) {
	q := base("se")
	q.Set("se_ca", "video")
	q.Set("se_ac", "play")
	q.Set("se_la", "intro.mp4")
	q.Set("se_pr", "hd")
	q.Set("se_va", "12.5")
	q.Set("uid", "customer-7")
	name, a := decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, "play", a[eventmodel.AttrCustomName])
	assert.Equal(t, "customer-7", a[eventmodel.AttrUserID])
	p := propsOf(a)
	for k, want := range map[string]any{"category": "video", "label": "intro.mp4", "property": "hd", "value": 12.5} {
		assert.Equal(t, want, p[k], k)
	}
	assert.Equal(t, pageID, a[eventmodel.AttrPageViewID])
}

func TestSelfDescribingCustom(t *testing.T) {
	q := base("ue")
	q.Set("ue_px", b64(ueJSON("iglu:com.acme/checkout_step/jsonschema/1-0-2", `{"step":2,"option":"express","gift":true,"items":["a","b"],"none":null,"a1":1,"a2":2,"a3":3,"a4":4}`)))
	name, a := decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, "com.acme/checkout_step", a[eventmodel.AttrCustomName])
	p := propsOf(a)
	for k, want := range map[string]any{
		"step": int64(2), "option": "express", "gift": true, "items": `["a","b"]`,
		"sp_schema": "iglu:com.acme/checkout_step/jsonschema/1-0-2",
	} {
		assert.Equal(t, want, p[k], k)
	}
	assert.NotContains(t, p, "none")
	assert.Equal(t, true, p[propTruncated], "8 properties at most: the last are cut, and say so")
	assert.Len(t, p, 8)

	// ue_pr: the same, plain.
	q.Del("ue_px")
	q.Set("ue_pr", ueJSON("iglu:com.acme/signup/jsonschema/1-0-0", `{"plan":"pro"}`))
	_, a = decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, "com.acme/signup", a[eventmodel.AttrCustomName])
	assert.Equal(t, "pro", propsOf(a)["plan"])
}

func TestLinkClick(t *testing.T) {
	const schema = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
	for _, tc := range []struct {
		target, name, custom string
	}{
		{"https://partner.example/offer", eventmodel.EventOutboundClick, ""},
		{"https://shop.example/files/catalogue.PDF", eventmodel.EventFileDownload, ""},
		{"https://shop.example/boots", eventmodel.EventCustom, CustomLinkClick},
		{"mailto:sales@shop.example", eventmodel.EventCustom, CustomLinkClick},
	} {
		t.Run(tc.target, func(t *testing.T) {
			q := base("ue")
			q.Set("ue_px", b64(ueJSON(schema, `{"targetUrl":"`+tc.target+`","elementId":"cta","elementClasses":["btn","big"],"elementContent":"Offer"}`)))
			name, a := decodeGET(t, testDecoder(t), q, Hints{})
			assert.Equal(t, tc.name, name)
			p := propsOf(a)
			assert.Equal(t, "cta", p["elementId"])
			assert.Equal(t, `["btn","big"]`, p["elementClasses"])
			if tc.custom == "" {
				assert.Equal(t, tc.target, a[eventmodel.AttrLinkURL])
				assert.NotContains(t, a, eventmodel.AttrCustomName)
				assert.NotContains(t, p, "targetUrl")
			} else {
				assert.Equal(t, tc.custom, a[eventmodel.AttrCustomName])
				assert.Equal(t, tc.target, p["targetUrl"], "the target is kept")
			}
		})
	}
}

func TestSubmitForm(t *testing.T) {
	q := base("ue")
	q.Set("ue_pr", ueJSON("iglu:com.snowplowanalytics.snowplow/submit_form/jsonschema/1-0-0",
		`{"formId":"login","formClasses":["auth"],"elements":[{"name":"email","value":"jane@example.com","nodeName":"INPUT","type":"email"},{"name":"pw","value":"hunter2","nodeName":"INPUT","type":"password"}]}`))
	name, a := decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, eventmodel.EventFormSubmit, name)
	assert.Equal(t, "login", a[eventmodel.AttrFormID])
	assert.Equal(t, true, a[eventmodel.AttrFormSensitive])
	assert.NotContains(t, a, eventmodel.AttrFormFieldCount, "as for the tag: no field count for a sensitive form")
	raw := fmt.Sprint(a)
	assert.NotContains(t, raw, "jane@example.com", "field values are never kept")
	assert.NotContains(t, raw, "hunter2")

	q.Set("ue_pr", ueJSON("iglu:com.snowplowanalytics.snowplow/submit_form/jsonschema/1-0-0",
		`{"formId":"newsletter","formClasses":[],"elements":[{"name":"email","value":"jane@example.com","nodeName":"INPUT","type":"email"}]}`))
	_, a = decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, int64(1), a[eventmodel.AttrFormFieldCount])
	assert.NotContains(t, a, eventmodel.AttrFormSensitive)
	assert.NotContains(t, fmt.Sprint(a), "jane@example.com")
}

func TestConsent(t *testing.T) {
	const (
		g  = eventmodel.ConsentGranted
		dn = eventmodel.ConsentDenied
	)
	prefs := func(data string) string {
		return ueJSON("iglu:com.snowplowanalytics.snowplow/consent_preferences/jsonschema/1-0-0", data)
	}
	for _, tc := range []struct {
		name, ue  string
		consent   [3]any // analytics, marketing, personalization
		isConsent bool
	}{
		{"granted", ueJSON("iglu:com.snowplowanalytics.snowplow/consent_granted/jsonschema/1-0-0", `{"expiry":"2027-12-01T00:00:00Z"}`), [3]any{g, nil, nil}, true},
		{"withdrawn all", ueJSON("iglu:com.snowplowanalytics.snowplow/consent_withdrawn/jsonschema/1-0-0", `{"all":true}`), [3]any{dn, dn, dn}, true},
		{"withdrawn some", ueJSON("iglu:com.snowplowanalytics.snowplow/consent_withdrawn/jsonschema/1-0-0", `{"all":false}`), [3]any{dn, nil, nil}, true},
		{"allow_all", prefs(`{"eventType":"allow_all","basisForProcessing":"consent","consentUrl":"https://shop.example/privacy","consentVersion":"3","consentScopes":["necessary","analytics","marketing"],"domainsApplied":["shop.example"]}`), [3]any{g, g, g}, true},
		{"allow_selected", prefs(`{"eventType":"allow_selected","basisForProcessing":"consent","consentUrl":"u","consentVersion":"3","consentScopes":["necessary","Statistics"],"domainsApplied":[]}`), [3]any{g, dn, dn}, true},
		{"deny_all", prefs(`{"eventType":"deny_all","basisForProcessing":"consent","consentUrl":"u","consentVersion":"3","consentScopes":["necessary"],"domainsApplied":[]}`), [3]any{dn, dn, dn}, true},
		{"expired", prefs(`{"eventType":"expired","basisForProcessing":"consent","consentUrl":"u","consentVersion":"3","consentScopes":[],"domainsApplied":[]}`), [3]any{dn, dn, dn}, true},
		{"pending", prefs(`{"eventType":"pending","basisForProcessing":"consent","consentUrl":"u","consentVersion":"3","consentScopes":[],"domainsApplied":[]}`), [3]any{nil, nil, nil}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := base("ue")
			q.Set("ue_pr", tc.ue)
			name, a := decodeGET(t, testDecoder(t), q, Hints{})
			if !tc.isConsent {
				assert.Equal(t, eventmodel.EventCustom, name)
				assert.Equal(t, "com.snowplowanalytics.snowplow/consent_preferences", a[eventmodel.AttrCustomName])
			} else {
				assert.Equal(t, eventmodel.EventConsentUpdate, name)
			}
			assert.Equal(t, tc.consent[0], a[eventmodel.AttrConsentAnalytics])
			assert.Equal(t, tc.consent[1], a[eventmodel.AttrConsentMarketing])
			assert.Equal(t, tc.consent[2], a[eventmodel.AttrConsentPersonalization])
		})
	}
}

func TestContextsKeptAsProperties(t *testing.T) {
	d := testDecoder(t)
	d.Events.Limits.MaxProperties = 25
	q := base("pv")
	q.Set("cx", b64(contextsJSON(webPage,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/gdpr/jsonschema/1-0-0","data":{"basisForProcessing":"consent","documentId":"privacy","documentVersion":"3"}}`,
		`{"schema":"iglu:com.acme/user_tier/jsonschema/1-0-0","data":{"tier":"gold"}}`)))
	_, a := decodeGET(t, d, q, Hints{})
	p := propsOf(a)
	assert.JSONEq(t, `{"basisForProcessing":"consent","documentId":"privacy","documentVersion":"3"}`, p["sp_ctx_gdpr"].(string))
	assert.JSONEq(t, `{"tier":"gold"}`, p["sp_ctx_user_tier"].(string))
	assert.Equal(t, pageID, a[eventmodel.AttrEventID])

	// co: the same, plain JSON.
	q.Del("cx")
	q.Set("co", contextsJSON(webPage))
	_, a = decodeGET(t, d, q, Hints{})
	assert.Equal(t, pageID, a[eventmodel.AttrEventID])
}

func TestTransaction(t *testing.T) {
	d := testDecoder(t)
	d.Events.Limits.MaxProperties = 25
	q := base("tr")
	for k, v := range map[string]string{"tr_id": "order-1", "tr_af": "web", "tr_tt": "99.90", "tr_tx": "15", "tr_sh": "4.5", "tr_ci": "Berlin", "tr_st": "BE", "tr_co": "DE", "tr_cu": "eur"} {
		q.Set(k, v)
	}
	name, a := decodeGET(t, d, q, Hints{})
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, CustomTransaction, a[eventmodel.AttrCustomName])
	p := propsOf(a)
	for k, want := range map[string]any{"order_id": "order-1", "revenue": 99.9, "currency": "EUR", "tax": int64(15), "shipping": 4.5, "affiliation": "web"} {
		assert.Equal(t, want, p[k], k)
	}

	q = base("ti")
	for k, v := range map[string]string{"ti_id": "order-1", "ti_sk": "sku-9", "ti_nm": "Boots", "ti_ca": "shoes", "ti_pr": "49.95", "ti_qu": "2", "ti_cu": "EUR"} {
		q.Set(k, v)
	}
	name, a = decodeGET(t, d, q, Hints{})
	assert.Equal(t, eventmodel.EventCustom, name)
	assert.Equal(t, CustomTransactionItem, a[eventmodel.AttrCustomName])
	p = propsOf(a)
	for k, want := range map[string]any{"order_id": "order-1", "sku": "sku-9", "name": "Boots", "price": 49.95, "quantity": int64(2), "currency": "EUR"} {
		assert.Equal(t, want, p[k], k)
	}
}

// Without url, the Referer header names the page, as in Snowplow's enrich.
func TestRefererFallback(t *testing.T) {
	q := base("pv")
	q.Del("url")
	req := testRequest
	req.Referer = "https://shop.example/from-header"
	ev, rej := testDecoder(t).DecodeQuery(q.Encode(), req, Hints{})
	require.Nil(t, rej)
	assert.Equal(t, "/from-header", ev.URL.Path)
}

func TestAnonymousAndWriteKey(t *testing.T) {
	d := testDecoder(t)
	_, a := decodeGET(t, d, base("pv"), Hints{Anonymous: true})
	assert.Equal(t, true, a[eventmodel.AttrCookieless])

	q := base("pv")
	q.Set("aid", "blog")
	q.Set("url", "https://blog.example/post")
	_, rej := d.DecodeQuery(q.Encode(), testRequest, Hints{})
	require.NotNil(t, rej)
	assert.Equal(t, webevent.ReasonInvalidWriteKey, rej.Reason)
	q.Set("k", "k-1")
	_, a = decodeGET(t, d, q, Hints{})
	assert.Equal(t, "blog", a[eventmodel.AttrSiteID])
	q.Del("k")
	_, a = decodeGET(t, d, q, Hints{Key: "k-1"})
	assert.Equal(t, "blog", a[eventmodel.AttrSiteID])
}

// Every rejection of one event, GET or POST member.
func TestRejections(t *testing.T) {
	d := testDecoder(t)
	set := func(kv ...string) url.Values {
		q := base("pv")
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	long := "https://shop.example/" + strings.Repeat("a", 300)
	for _, tc := range []struct {
		name string
		q    url.Values
		want webevent.Reason
	}{
		{"no aid", set("aid", ""), webevent.ReasonUnknownSite},
		{"unknown aid", set("aid", "other"), webevent.ReasonUnknownSite},
		{"no e", set("e", ""), webevent.ReasonInvalidType},
		{"unknown e", set("e", "xx"), webevent.ReasonInvalidType},
		{"no url", set("url", ""), webevent.ReasonMissingURL}, // and no Referer
		{"bad url", set("url", "javascript:alert(1)"), webevent.ReasonInvalidURL},
		{"long url", set("url", long), webevent.ReasonURLTooLong},
		{"bad duid", set("duid", "a b"), webevent.ReasonInvalidID},
		{"bad sid", set("sid", strings.Repeat("x", 200)), webevent.ReasonInvalidID},
		{"bad eid", set("e", "se", "se_ca", "c", "se_ac", "a", "eid", "<x>"), webevent.ReasonInvalidID},
		{"se without action", set("e", "se", "se_ca", "c"), webevent.ReasonMissingName},
		{"se bad value", set("e", "se", "se_ca", "c", "se_ac", "a", "se_va", "ten"), webevent.ReasonInvalidField},
		{"ue missing", set("e", "ue"), webevent.ReasonInvalidField},
		{"ue bad base64", set("e", "ue", "ue_px", "!!!"), webevent.ReasonInvalidField},
		{"ue truncated", set("e", "ue", "ue_pr", `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{`), webevent.ReasonInvalidField},
		{"ue wrong envelope", set("e", "ue", "ue_pr", `{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{}}`), webevent.ReasonInvalidField},
		{"ue bad inner schema", set("e", "ue", "ue_pr", ueJSON("acme/x", `{}`)), webevent.ReasonInvalidField},
		{"ue data not object", set("e", "ue", "ue_pr", ueJSON("iglu:com.acme/x/jsonschema/1-0-0", `[1]`)), webevent.ReasonInvalidField},
		{"link without target", set("e", "ue", "ue_pr", ueJSON("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", `{"elementId":"x"}`)), webevent.ReasonInvalidField},
		{"bad contexts", set("cx", b64(`{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":[]}`)), webevent.ReasonInvalidField},
		{"contexts not base64", set("cx", "%%%"), webevent.ReasonInvalidField},
		{"context not self-describing", set("co", contextsJSON(`{"data":{}}`), "cx", ""), webevent.ReasonInvalidField},
		{"tr without total", set("e", "tr", "tr_id", "o"), webevent.ReasonInvalidField},
		{"tr bad total", set("e", "tr", "tr_id", "o", "tr_tt", "lots"), webevent.ReasonInvalidField},
		{"tr bad currency", set("e", "tr", "tr_id", "o", "tr_tt", "1", "tr_cu", "euro"), webevent.ReasonInvalidField},
		{"ti incomplete", set("e", "ti", "ti_id", "o"), webevent.ReasonInvalidField},
		{"ti bad quantity", set("e", "ti", "ti_id", "o", "ti_sk", "s", "ti_pr", "1", "ti_qu", "two"), webevent.ReasonInvalidField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rej := d.DecodeQuery(tc.q.Encode(), testRequest, Hints{})
			require.NotNil(t, rej)
			assert.Equal(t, tc.want, rej.Reason, rej.Message)

			// The same event as a member of a batch: rejected alone.
			good := map[string]string{}
			for k := range base("pv") {
				good[k] = base("pv").Get(k)
			}
			bad := map[string]string{}
			for k := range tc.q {
				bad[k] = tc.q.Get(k)
			}
			b, rej := d.DecodeBody(payload(t, good, bad, good), testRequest, Hints{})
			require.Nil(t, rej)
			assert.Len(t, b.Events, 2, "the good members are kept")
			require.Len(t, b.Rejected, 1)
			assert.Equal(t, 1, b.Rejected[0].Index)
			assert.Equal(t, tc.want, b.Rejected[0].Reason)
		})
	}
	_, rej := d.DecodeQuery("e=pv&url=%zz", testRequest, Hints{})
	require.NotNil(t, rej)
	assert.Equal(t, webevent.ReasonInvalidRequest, rej.Reason)
}

func payload(t *testing.T, members ...map[string]string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
		"data":   members,
	})
	require.NoError(t, err)
	return body
}

func TestBatch(t *testing.T) {
	d := testDecoder(t)
	pv := map[string]string{}
	for k := range base("pv") {
		pv[k] = base("pv").Get(k)
	}
	pp := map[string]string{}
	for k := range base("pp") {
		pp[k] = base("pp").Get(k)
	}
	pp["uid"] = "customer-7"
	b, rej := d.DecodeBody(payload(t, pv, pp), testRequest, Hints{})
	require.Nil(t, rej)
	require.Len(t, b.Events, 2)
	assert.Empty(t, b.Rejected)
	assert.Equal(t, eventmodel.EventPageView, b.Events[0].Name)
	assert.Equal(t, eventmodel.EventEngagement, b.Events[1].Name)
	assert.Same(t, b.Events[0].Shared, b.Events[1].Shared, "one request, one shared state")
	assert.Equal(t, "customer-7", b.Events[0].Shared.UserID)

	// Members that are not strings: numbers as their text, a context
	// object as the JSON it is, nulls absent.
	body := `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[
		{"e":"pv","aid":"shop-web","url":"https://shop.example/","dtm":1796205599000,"stm":1796205599000,"vid":2,"refr":null,"co":` + contextsJSON(webPage) + `},
		"not an object", 7]}`
	b, rej = d.DecodeBody([]byte(body), testRequest, Hints{})
	require.Nil(t, rej)
	require.Len(t, b.Events, 1)
	assert.Equal(t, pageID, b.Events[0].ID)
	require.Len(t, b.Rejected, 2)
	assert.Equal(t, webevent.ReasonInvalidEvent, b.Rejected[0].Reason)
	assert.Equal(t, 2, b.Rejected[1].Index)
}

func TestBodyRejections(t *testing.T) {
	d := testDecoder(t)
	const schema = `"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"`
	many := strings.Repeat(`{},`, 10) + `{}`
	for _, tc := range []struct {
		name, body string
		want       webevent.Reason
	}{
		{"empty", ``, webevent.ReasonInvalidJSON},
		{"array", `[]`, webevent.ReasonInvalidJSON},
		{"truncated", `{"schema":` + schema + `,"data":[{"e":"pv"`, webevent.ReasonInvalidJSON},
		{"no schema", `{"data":[]}`, webevent.ReasonInvalidRequest},
		{"other schema", `{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":[{}]}`, webevent.ReasonInvalidRequest},
		{"schema not string", `{"schema":1,"data":[{}]}`, webevent.ReasonInvalidRequest},
		{"data object", `{"schema":` + schema + `,"data":{}}`, webevent.ReasonInvalidRequest},
		{"no events", `{"schema":` + schema + `,"data":[]}`, webevent.ReasonNoEvents},
		{"too many", `{"schema":` + schema + `,"data":[` + many + `]}`, webevent.ReasonTooManyEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rej := d.DecodeBody([]byte(tc.body), testRequest, Hints{})
			require.NotNil(t, rej)
			assert.Equal(t, tc.want, rej.Reason)
		})
	}
}

// A batch may name at most maxSitesPerBatch sites.
func TestBatchSites(t *testing.T) {
	d := testDecoder(t)
	for i := range 5 {
		d.AppIDs[fmt.Sprint("app", i)] = "shop"
	}
	var members []map[string]string
	for i := range 6 {
		m := map[string]string{"e": "pv", "url": "https://shop.example/", "aid": fmt.Sprint("app", i%5)}
		if i == 5 {
			m["aid"] = "blog"
			m["url"] = "https://blog.example/"
			m["k"] = "k-1"
		}
		members = append(members, m)
	}
	b, rej := d.DecodeBody(payload(t, members...), testRequest, Hints{})
	require.Nil(t, rej)
	assert.Len(t, b.Events, 6, "app ids of one site share its builder")

	members = members[:0]
	for i := range 6 {
		members = append(members, map[string]string{"e": "pv", "url": "https://shop.example/", "aid": "shop-web", "k": fmt.Sprint("key", i)})
	}
	b, rej = d.DecodeBody(payload(t, members...), testRequest, Hints{})
	require.Nil(t, rej)
	assert.Len(t, b.Events, maxSitesPerBatch, "a write key is ignored by a site without one, but counts as a builder")
	assert.Len(t, b.Rejected, 2)
}

// What @snowplow/browser-tracker 4.6.8 sent in the browser test (GET and
// POST): a page view, a structured event, a self-describing event, a link
// click and a page ping, every one accepted as the event it is.
func TestRealTrackerWire(t *testing.T) {
	d := testDecoder(t)
	d.Events.Limits.MaxProperties = 25
	want := []string{eventmodel.EventPageView, eventmodel.EventCustom, eventmodel.EventCustom, eventmodel.EventOutboundClick, eventmodel.EventEngagement}

	get, err := os.ReadFile(filepath.Join("testdata", "browser-tracker-4.6.8-get.txt"))
	require.NoError(t, err)
	var names []string
	for _, q := range strings.Split(strings.TrimSpace(string(get)), "\n") {
		ev, rej := d.DecodeQuery(q, testRequest, Hints{})
		require.Nil(t, rej, "%v: %s", rej, q)
		names = append(names, ev.Name)
		assert.NotEmpty(t, ev.VisitorID)
		assert.NotEmpty(t, ev.SessionID)
	}
	assert.Equal(t, want, names)

	post, err := os.ReadFile(filepath.Join("testdata", "browser-tracker-4.6.8-post.ndjson"))
	require.NoError(t, err)
	names = nil
	for _, body := range strings.Split(strings.TrimSpace(string(post)), "\n") {
		b, rej := d.DecodeBody([]byte(body), testRequest, Hints{})
		require.Nil(t, rej, "%v", rej)
		require.Empty(t, b.Rejected)
		for _, ev := range b.Events {
			names = append(names, ev.Name)
		}
	}
	assert.Equal(t, want, names)
}

// A POST member's ue_pr and co are JSON strings holding JSON: their
// escapes (quotes, \u escapes, surrogate pairs, lone surrogates) are
// resolved as encoding/json resolves them.
func TestEscapedDocuments(t *testing.T) {
	d := testDecoder(t)
	data := `{"name":"caf\u00e9 \ud83d\ude00 \ud800 \"q\" a\/b\\c\n\t\b\f\r end"}`
	member := map[string]string{
		"e": "ue", "aid": "shop-web", "url": "https://shop.example/",
		"ue_pr": ueJSON("iglu:com.acme/x/jsonschema/1-0-0", data),
		"co":    contextsJSON(webPage),
	}
	b, rej := d.DecodeBody(payload(t, member), testRequest, Hints{})
	require.Nil(t, rej)
	require.Len(t, b.Events, 1, "%v", b.Rejected)
	var want struct{ Name string }
	require.NoError(t, json.Unmarshal([]byte(data), &want))
	got := map[string]any{}
	for _, p := range b.Events[0].Props {
		got[p.Key] = p.Value.AsAny()
	}
	assert.Equal(t, want.Name, got["name"])
	assert.Equal(t, "https://shop.example/", b.Events[0].URL.Full)
	assert.Equal(t, pageID, b.Events[0].Detail.PageViewID)

	for _, lit := range []string{`"plain"`, `"\u00e9\ud83d\ude00"`, `"\ud83d"`, `"\ud83d\u0041"`, `"\udc00x"`, `"\\\"\/"`} {
		var s string
		require.NoError(t, json.Unmarshal([]byte(lit), &s))
		assert.Equal(t, s, string(unescape([]byte(lit))), lit)
	}
}

// A member's ue_pr or co string that holds no JSON is refused, also when
// it needs no unescaping.
func TestInvalidDocumentsInBody(t *testing.T) {
	d := testDecoder(t)
	for _, m := range []map[string]string{
		{"e": "ue", "aid": "shop-web", "url": "https://shop.example/", "ue_pr": "{a"},
		{"e": "pv", "aid": "shop-web", "url": "https://shop.example/", "co": "{schema:1,data:[}"},
		{"e": "pv", "aid": "shop-web", "url": "https://shop.example/", "co": "[]"},
	} {
		b, rej := d.DecodeBody(payload(t, m), testRequest, Hints{})
		require.Nil(t, rej)
		require.Len(t, b.Rejected, 1, "%v", m)
		assert.Equal(t, webevent.ReasonInvalidField, b.Rejected[0].Reason)
	}
}

// TestTrueTimestamp: a true timestamp (ttm) decides the event's time alone,
// kept as sent within a day back and ten seconds ahead of the receipt, and
// replaced by the receive time, flagged, outside (dtm/stm are then not
// consulted: the sender said which time is true).
func TestTrueTimestamp(t *testing.T) {
	r := received.UnixMilli()
	for _, tt := range []struct {
		name       string
		ttm        string
		source     string
		correction any
		at         time.Time
	}{
		{"an hour ago", strconv.FormatInt(r-3_600_000, 10), eventmodel.TimeSourceClient, nil, received.Add(-time.Hour)},
		{"a day ago", strconv.FormatInt(r-86_400_000, 10), eventmodel.TimeSourceClient, nil, received.Add(-24 * time.Hour)},
		{"a day and a ms ago", strconv.FormatInt(r-86_400_001, 10), eventmodel.TimeSourceReceiveTime, eventmodel.TimeCorrectionTooOld, received},
		{"eleven seconds ahead", strconv.FormatInt(r+11_000, 10), eventmodel.TimeSourceReceiveTime, eventmodel.TimeCorrectionInFuture, received},
		{"not a number", "yesterday", eventmodel.TimeSourceReceiveTime, eventmodel.TimeCorrectionMissing, received},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := base("se")
			q.Set("se_ca", "video")
			q.Set("se_ac", "play")
			q.Set("ttm", tt.ttm)
			ev, rej := testDecoder(t).DecodeQuery(q.Encode(), testRequest, Hints{})
			require.Nil(t, rej)
			lr := plog.NewLogRecord()
			ev.CopyTo(lr)
			a := lr.Attributes().AsRaw()
			assert.Equal(t, tt.source, a[eventmodel.AttrTimeSource])
			assert.Equal(t, tt.correction, a[eventmodel.AttrTimeCorrection])
			assert.NotContains(t, a, eventmodel.AttrTimeSkew, "dtm/stm's skew is not applied to a true timestamp")
			assert.Equal(t, tt.at.UnixMilli(), lr.Timestamp().AsTime().UnixMilli())
		})
	}
}

// TestTrackerNetworkUserID: a tracker's own network user id (tnuid, e.g. a
// server-side tracker passing the browser's network_userid on) is the
// visitor of an event without a duid; a duid wins; an unusable one is
// refused like a bad duid.
func TestTrackerNetworkUserID(t *testing.T) {
	q := base("pv")
	q.Del("duid")
	q.Set("tnuid", "c3a1a0f2-5d3e-4c8b-9f6a-1b2c3d4e5f60")
	_, a := decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, "c3a1a0f2-5d3e-4c8b-9f6a-1b2c3d4e5f60", a[eventmodel.AttrVisitorID])

	q.Set("duid", duid)
	_, a = decodeGET(t, testDecoder(t), q, Hints{})
	assert.Equal(t, duid, a[eventmodel.AttrVisitorID], "duid wins")

	q.Set("tnuid", "not an id")
	_, rej := testDecoder(t).DecodeQuery(q.Encode(), testRequest, Hints{})
	require.NotNil(t, rej)
	assert.Equal(t, webevent.ReasonInvalidID, rej.Reason)
}
