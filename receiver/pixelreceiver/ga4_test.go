package pixelreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"
)

// ga4Env runs the receiver with GA4's Measurement Protocol on: G-SHOP1234
// reports to site shop (no write key: any api_secret), G-BLOG1234 to blog,
// which accepts only its api_secrets and only pages of blog.example.
func ga4Env(t *testing.T, sink *consumertest.LogsSink, mutate ...func(*Config)) *testEnv {
	return startReceiver(t, sink, append([]func(*Config){func(cfg *Config) {
		cfg.Protocols.GA4.Enabled = true
		shop := testSite("shop")
		shop.Protocols.GA4.MeasurementIDs = []string{"G-SHOP1234"}
		blog := testSite("blog")
		blog.Protocols.GA4.MeasurementIDs = []string{"G-BLOG1234"}
		blog.Protocols.GA4.APISecrets = []configopaque.String{"mp-s3cret"}
		blog.Protocols.GA4.DefaultPageURL = "https://blog.example/"
		blog.WriteKey = "k-1"
		blog.AllowedOrigins = []string{"https://blog.example"}
		cfg.Sites = []SiteConfig{shop, blog}
	}}, mutate...)...)
}

// What a shop's server sends (Google's client libraries post JSON with
// their own user agent).
var ga4Header = map[string]string{"Content-Type": "application/json", "User-Agent": "python-requests/2.32.3"}

const ga4Body = `{"client_id":"123456.7654321","user_id":"u-42","consent":{"ad_user_data":"GRANTED","ad_personalization":"DENIED"},
	"events":[{"name":"page_view","params":{"page_location":"https://shop.example/?utm_source=news","session_id":"1733130000","page_title":"Home"}},
	{"name":"purchase","params":{"transaction_id":"T-1","value":25.42,"currency":"USD","session_id":"1733130000"}}]}`

func TestGA4MeasurementProtocol(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink)
	resp := e.request(http.MethodPost, "/mp/collect?measurement_id=G-SHOP1234&api_secret=anything", ga4Body, ga4Header)
	require.Equal(t, http.StatusNoContent, resp.status, string(resp.body))
	require.Equal(t, 2, sink.LogRecordCount())
	lrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assert.Equal(t, eventmodel.EventPageView, lrs.At(0).EventName())
	a := lrs.At(0).Attributes().AsRaw()
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:                 "shop",
		eventmodel.AttrIngestChannel:          "ga4",
		eventmodel.AttrVisitorID:              "123456.7654321",
		eventmodel.AttrSessionID:              "1733130000",
		eventmodel.AttrUserID:                 "u-42",
		eventmodel.AttrCampaignSource:         "news",
		eventmodel.AttrPageTitle:              "Home",
		eventmodel.AttrConsentMarketing:       "granted",
		eventmodel.AttrConsentPersonalization: "denied",
	} {
		assert.Equal(t, want, a[k], k)
	}
	// The server's user agent and address are not the visitor's.
	assert.NotContains(t, a, eventmodel.AttrUserAgent)
	assert.NotContains(t, a, eventmodel.AttrClientAddress)
	b := lrs.At(1).Attributes().AsRaw()
	assert.Equal(t, "purchase", b[eventmodel.AttrCustomName])
	assert.Equal(t, "https://shop.example/?utm_source=news", b[eventmodel.AttrURLFull], "on the request's last page")
	assert.Equal(t, map[string]any{"order_id": "T-1", "revenue": 25.42, "currency": "USD"}, b[eventmodel.AttrProperties])
	e.requireRejections()
}

func TestGA4PartialAndRefusedBatches(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink)
	const q = "/mp/collect?measurement_id=G-SHOP1234"
	resp := e.request(http.MethodPost, q, `{"client_id":"1.2","events":[{"name":"session_start"},{"name":"page_view","params":{"page_location":"https://shop.example/"}}]}`, ga4Header)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	got := requireJSON(t, resp)
	assert.Equal(t, []any{map[string]any{"index": 0.0, "error": "invalid_event", "message": "the event name is reserved by Google Analytics"}}, got["rejected"])
	assert.Equal(t, 1, sink.LogRecordCount())

	resp = e.request(http.MethodPost, q, `{"client_id":"1.2","events":[{"name":"_x"},{"name":"page_view"}]}`, ga4Header)
	require.Equal(t, http.StatusBadRequest, resp.status, string(resp.body))
	got = requireJSON(t, resp)
	assert.Equal(t, 0.0, got["accepted"])
	assert.Len(t, got["rejected"], 2)
	assert.Equal(t, 1, sink.LogRecordCount())
	e.requireRejections(rejection{"ga4", "invalid_event", 2}, rejection{"ga4", "missing_url", 1})
}

func TestGA4Rejections(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink, func(cfg *Config) { cfg.ServerConfig.MaxRequestBodySize = 512 })
	page := `{"client_id":"1.2","events":[{"name":"page_view","params":{"page_location":"https://blog.example/"}}]}`
	for _, tt := range []struct {
		method, query, body string
		header              map[string]string
		status              int
		reason              string
	}{
		{http.MethodGet, "?measurement_id=G-SHOP1234", "", nil, http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodPost, "?measurement_id=G-SHOP1234", page, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{http.MethodPost, "?measurement_id=G-SHOP1234", `{"client_id":"` + strings.Repeat("1", 600) + `"}`, ga4Header, http.StatusRequestEntityTooLarge, "body_too_large"},
		{http.MethodPost, "?measurement_id=G-SHOP1234", `{"client_id":`, ga4Header, http.StatusBadRequest, "invalid_json"},
		{http.MethodPost, "?measurement_id=G-OTHER123", page, ga4Header, http.StatusBadRequest, "unknown_site"},
		{http.MethodPost, "?measurement_id=G-BLOG1234&api_secret=k-1", page, ga4Header, http.StatusForbidden, "invalid_write_key"},
		{http.MethodPost, "?measurement_id=G-BLOG1234&api_secret=mp-s3cret", page, map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, http.StatusForbidden, "origin_not_allowed"},
		{http.MethodPost, "?measurement_id=G-SHOP1234", `{"client_id":"1.2","events":[` + strings.Repeat(`{"name":"a"},`, 25) + `{"name":"a"}]}`, ga4Header, http.StatusBadRequest, "too_many_events"},
	} {
		resp := e.request(tt.method, "/mp/collect"+tt.query, tt.body, tt.header)
		assert.Equal(t, tt.status, resp.status, tt.body)
		got := requireJSON(t, resp)
		assert.Equal(t, tt.reason, got["error"], tt.body)
		assert.NotEmpty(t, got["message"])
		assert.NotContains(t, string(resp.body), "s3cret")
	}
	// The api_secret lets it in; a site's event without page_location is
	// on its default page.
	resp := e.request(http.MethodPost, "/mp/collect?measurement_id=G-BLOG1234&api_secret=mp-s3cret", `{"client_id":"1.2","ip_override":"198.51.100.7","events":[{"name":"purchase","params":{"value":3}}]}`, ga4Header)
	assert.Equal(t, http.StatusNoContent, resp.status, string(resp.body))
	a := lastAttrs(t, sink)
	assert.Equal(t, "blog", a[eventmodel.AttrSiteID])
	assert.Equal(t, "198.51.100.7", a[eventmodel.AttrClientAddress], "the authenticated ip_override")
	assert.Equal(t, "https://blog.example/", a[eventmodel.AttrURLFull])
	e.requireRejections(
		rejection{"ga4", "body_too_large", 1},
		rejection{"ga4", "invalid_json", 1},
		rejection{"ga4", "invalid_write_key", 1},
		rejection{"ga4", "method_not_allowed", 1},
		rejection{"ga4", "origin_not_allowed", 1},
		rejection{"ga4", "too_many_events", 1},
		rejection{"ga4", "unknown_site", 1},
		rejection{"ga4", "unsupported_media_type", 1},
	)
}

// The validation server answers Google's validationMessages and records
// nothing (the example of Google's "Validate events" guide).
func TestGA4Validation(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink)
	resp := e.request(http.MethodPost, "/debug/mp/collect?measurement_id=G-SHOP1234&api_secret=x",
		`{"client_id":"123456.7654321","events":[{"name":"_badEventName","params":{}}]}`, ga4Header)
	require.Equal(t, http.StatusOK, resp.status)
	var got struct {
		ValidationMessages []map[string]string `json:"validationMessages"`
	}
	require.NoError(t, json.Unmarshal(resp.body, &got))
	assert.Equal(t, []map[string]string{{"fieldPath": "events[0].name", "description": "an event name must start with a letter", "validationCode": "NAME_INVALID"}}, got.ValidationMessages)

	resp = e.request(http.MethodPost, "/debug/mp/collect?measurement_id=G-SHOP1234", `{"events":[]}`, ga4Header)
	require.NoError(t, json.Unmarshal(resp.body, &got))
	assert.Equal(t, "client_id", got.ValidationMessages[0]["fieldPath"])
	assert.Equal(t, "VALUE_REQUIRED", got.ValidationMessages[0]["validationCode"])

	resp = e.request(http.MethodPost, "/debug/mp/collect?measurement_id=G-SHOP1234", ga4Body, ga4Header)
	assert.JSONEq(t, `{"validationMessages":[]}`, string(resp.body))
	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections()
}

func TestGA4BotsPipelineAndPaths(t *testing.T) {
	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink, func(cfg *Config) {
		cfg.Bots.Action = BotActionDrop
		cfg.Protocols.GA4.MPPath = "/g4/mp"
		cfg.Protocols.GA4.DebugMPPath = ""
	})
	q := "/g4/mp?measurement_id=G-SHOP1234"
	// A browser's request is judged by its user agent; a server's is not.
	resp := e.request(http.MethodPost, q, ga4Body, map[string]string{"Content-Type": "text/plain", "User-Agent": googlebot, "Origin": "https://shop.example"})
	assert.Equal(t, http.StatusNoContent, resp.status, "a dropped bot is answered as accepted, so it does not retry")
	resp = e.request(http.MethodPost, q, ga4Body, map[string]string{"Content-Type": "application/json", "User-Agent": googlebot})
	assert.Equal(t, http.StatusNoContent, resp.status)
	assert.Equal(t, 2, sink.LogRecordCount())
	e.requireRejections(rejection{"ga4", "bot", 2})
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodPost, "/mp/collect", ga4Body, ga4Header).status, "only the configured path")
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodPost, "/debug/mp/collect", ga4Body, ga4Header).status, "validation off")
	pre := e.request(http.MethodOptions, q, "", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
	assert.Equal(t, http.StatusNoContent, pre.status)

	off := startReceiver(t, sink)
	assert.Equal(t, http.StatusNotFound, off.request(http.MethodPost, "/mp/collect", ga4Body, ga4Header).status, "off by default")

	retry := startReceiver(t, consumertest.NewErr(errors.New("queue full")), func(cfg *Config) {
		cfg.Protocols.GA4.Enabled = true
		cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"G-SHOP1234"}
	})
	resp = retry.request(http.MethodPost, "/mp/collect?measurement_id=G-SHOP1234", ga4Body, ga4Header)
	assert.Equal(t, http.StatusServiceUnavailable, resp.status)
}

func TestGA4CorruptEncoding(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink)
	resp := e.request(http.MethodPost, "/mp/collect?measurement_id=G-SHOP1234", "not gzip", map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusBadRequest, resp.status)
	e.requireRejections(rejection{"ga4", "invalid_request", 1})
}

func TestGA4ConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		mutate func(*Config)
		err    string
	}{
		{func(cfg *Config) { cfg.Protocols.GA4.Enabled = true }, "protocols::ga4::enabled: no site lists its measurement ids"},
		{func(cfg *Config) { cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"G-ABCD1234"} }, "sites::0::protocols::ga4: set, but protocols::ga4::enabled is false"},
		{func(cfg *Config) {
			cfg.Protocols.GA4.Enabled = true
			cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"UA-1234-1"}
		}, `sites::0::protocols::ga4::measurement_ids::0: "UA-1234-1" must be a GA4 measurement id`},
		{func(cfg *Config) {
			cfg.Protocols.GA4.Enabled = true
			cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"G-ABCD1234"}
			cfg.Sites[1].Protocols.GA4.MeasurementIDs = []string{"g-abcd1234"}
		}, `sites::1::protocols::ga4::measurement_ids::0: "g-abcd1234" is already listed by sites::0`},
		{func(cfg *Config) {
			cfg.Protocols.GA4.Enabled = true
			cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"G-ABCD1234"}
			cfg.Sites[0].Protocols.GA4.APISecrets = []configopaque.String{"has space"}
		}, "sites::0::protocols::ga4::api_secrets::0: must be a non-empty secret"},
		{func(cfg *Config) {
			cfg.Protocols.GA4.Enabled = true
			cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"G-ABCD1234"}
			cfg.Sites[0].Protocols.GA4.DefaultPageURL = "/relative"
		}, `sites::0::protocols::ga4::default_page_url: "/relative" must be an absolute http(s) URL`},
		{func(cfg *Config) {
			cfg.Protocols.GA4.Enabled = true
			cfg.Protocols.GA4.MPPath = "/mp collect"
			cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"G-ABCD1234"}
		}, "protocols::ga4::mp_path"},
		{func(cfg *Config) {
			cfg.Protocols.GA4.Enabled = true
			cfg.Protocols.GA4.DebugMPPath = cfg.BeaconPath
			cfg.Sites[0].Protocols.GA4.MeasurementIDs = []string{"G-ABCD1234"}
		}, "protocols::ga4::debug_mp_path: \"/b\" is already beacon_path"},
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.Sites = []SiteConfig{testSite("shop"), testSite("blog")}
		tt.mutate(cfg)
		err := confmap.Validate(cfg)
		require.Error(t, err, tt.err)
		assert.Contains(t, err.Error(), tt.err)
	}
}

// What gtag.js sends with transport_url pointed at the collector: a GET
// for one event, a POST (sendBeacon, text/plain) for a batch.
const gtagQuery = "/g/collect?v=2&tid=G-SHOP1234&gtm=45je4bk0v9&_p=1733130000123&gcs=G101&gcd=13q3r3q3q5" +
	"&cid=1234567890.1733130000&ul=de-de&_s=1&sid=1733130000&sct=3&seg=1" +
	"&dl=https%3A%2F%2Fshop.example%2F%3Futm_source%3Dnews&dr=https%3A%2F%2Fwww.google.com%2F&dt=Home&en=page_view&_fv=1&_ss=1"

func TestGA4CollectGetAndBatch(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink)
	browser := map[string]string{"User-Agent": browserUA}
	resp := e.request(http.MethodGet, gtagQuery, "", browser)
	require.Equal(t, http.StatusNoContent, resp.status, string(resp.body))
	assert.Empty(t, resp.body)
	a := lastAttrs(t, sink)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:                 "shop",
		eventmodel.AttrIngestChannel:          "ga4",
		eventmodel.AttrVisitorID:              "1234567890.1733130000",
		eventmodel.AttrSessionID:              "1733130000",
		eventmodel.AttrCampaignSource:         "news",
		eventmodel.AttrConsentAnalytics:       "granted",
		eventmodel.AttrConsentMarketing:       "denied",
		eventmodel.AttrConsentPersonalization: "denied",
		eventmodel.AttrUserAgent:              browserUA,
		eventmodel.AttrClientAddress:          "127.0.0.1",
	} {
		assert.Equal(t, want, a[k], k)
	}

	header := map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example", "User-Agent": browserUA}
	resp = e.request(http.MethodPost, "/g/collect?v=2&tid=G-SHOP1234&cid=1.2&sid=9&dl=https%3A%2F%2Fshop.example%2Fp",
		"en=user_engagement&_et=4100\nen=session_start\nen=scroll&epn.percent_scrolled=90", header)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	got := requireJSON(t, resp)
	assert.Equal(t, 2.0, got["accepted"])
	assert.Equal(t, "https://shop.example", resp.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, 3, sink.LogRecordCount())
	e.requireRejections(rejection{"ga4", "invalid_event", 1})
}

func TestGA4CollectRefusals(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := ga4Env(t, sink)
	page := "&cid=1.2&en=page_view&dl=https%3A%2F%2Fblog.example%2F"
	// A GET is a pixel: 204 and no body, whatever happened.
	for _, q := range []string{
		"v=1&tid=G-SHOP1234" + page,
		"v=2&tid=G-NOPE1234" + page,
		"v=2&tid=G-BLOG1234" + page,
		"v=2&tid=G-BLOG1234&ep.write_key=k-1&cid=1.2&en=session_start&dl=https%3A%2F%2Fblog.example%2F",
		"v=2&tid=G-BLOG1234&ep.write_key=k-1&cid=1.2&en=page_view&dl=https%3A%2F%2Fevil.example%2F",
	} {
		resp := e.request(http.MethodGet, "/g/collect?"+q, "", nil)
		assert.Equal(t, http.StatusNoContent, resp.status, q)
		assert.Empty(t, resp.body, q)
	}
	resp := e.request(http.MethodGet, "/g/collect?v=2&tid=G-BLOG1234&ep.write_key=k-1"+page, "", map[string]string{"Origin": "https://evil.example"})
	assert.Equal(t, http.StatusNoContent, resp.status)
	// A POST is a beacon: the reason.
	for _, tt := range []struct {
		query, body string
		header      map[string]string
		status      int
		reason      string
	}{
		{"v=2&tid=G-NOPE1234" + page, "", map[string]string{"Content-Type": "text/plain"}, http.StatusBadRequest, "unknown_site"},
		{"v=2&tid=G-BLOG1234" + page, "", map[string]string{"Content-Type": "text/plain"}, http.StatusForbidden, "invalid_write_key"},
		{"v=2&tid=G-SHOP1234" + page, "", map[string]string{"Content-Type": "application/json"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	} {
		resp := e.request(http.MethodPost, "/g/collect?"+tt.query, tt.body, tt.header)
		assert.Equal(t, tt.status, resp.status, tt.query)
		assert.Equal(t, tt.reason, requireJSON(t, resp)["error"], tt.query)
	}
	resp = e.request(http.MethodPut, "/g/collect", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.status)
	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections(
		rejection{"ga4", "invalid_event", 1},
		rejection{"ga4", "invalid_request", 1},
		rejection{"ga4", "invalid_write_key", 2},
		rejection{"ga4", "method_not_allowed", 1},
		rejection{"ga4", "origin_not_allowed", 2},
		rejection{"ga4", "unknown_site", 2},
		rejection{"ga4", "unsupported_media_type", 1},
	)
}

// FuzzGA4Request drives the real handlers with any query and body: a
// gtag.js GET always gets 204 with no body; a POST gets 204 with records,
// 200/400 with the beacon's summary, or a documented refusal without
// records; every record passes the same checks as the tag's.
func FuzzGA4Request(f *testing.F) {
	f.Add(true, "v=2&tid=G-SHOP1234&cid=1.2&en=page_view&dl=https%3A%2F%2Fshop.example%2F&gcs=G111", []byte(""))
	f.Add(false, "v=2&tid=G-SHOP1234&cid=1.2&dl=https%3A%2F%2Fshop.example%2F", []byte("en=user_engagement&_et=12\nen=_x\nen=click&ep.outbound=true&ep.link_url=https%3A%2F%2Fx.example%2F"))
	f.Add(false, "measurement_id=G-SHOP1234&api_secret=x", []byte(`{"client_id":"1.2","events":[{"name":"purchase","params":{"page_location":"https://shop.example/","value":1,"currency":"EUR"}}]}`))
	sink := new(consumertest.LogsSink)
	r := newFuzzReceiver(f, sink)
	r.cfg.Protocols.GA4 = GA4Config{Enabled: true, MPPath: defaultGA4MPPath, CollectPath: defaultGA4CollectPath}
	r.ga4.MeasurementIDs = map[string]*ga4.Site{"G-SHOP1234": {ID: "shop"}}
	f.Fuzz(func(t *testing.T, get bool, query string, body []byte) {
		sink.Reset()
		path, method := "/g/collect", http.MethodPost
		if get {
			method = http.MethodGet
		} else if strings.Contains(query, "measurement_id") {
			path = "/mp/collect"
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, r.cfg.ServerConfig.MaxRequestBodySize)
		r.route(rec, req)
		switch {
		case get:
			if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
				t.Fatalf("GET answered %d %q", rec.Code, rec.Body.String())
			}
		case rec.Code == http.StatusNoContent:
		case rec.Code == http.StatusOK, rec.Code == http.StatusBadRequest && strings.Contains(rec.Body.String(), `"accepted"`):
			var sum struct {
				Accepted int
				Rejected []struct{ Error string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil || sum.Accepted != sink.LogRecordCount() || len(sum.Rejected) == 0 {
				t.Fatalf("summary %d %q with %d records", rec.Code, rec.Body.String(), sink.LogRecordCount())
			}
			for _, rj := range sum.Rejected {
				checkReason(t, rj.Error)
			}
		case rec.Code == http.StatusBadRequest, rec.Code == http.StatusForbidden, rec.Code == http.StatusRequestEntityTooLarge:
			var resp struct{ Error, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Message == "" || sink.LogRecordCount() != 0 {
				t.Fatalf("refusal %d %q with %d records", rec.Code, rec.Body.String(), sink.LogRecordCount())
			}
			checkReason(t, resp.Error)
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
		checkRecords(t, sink)
	})
}
