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
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// matomoEnv runs the receiver with Matomo's API on: Matomo site 1 reports
// to shop (script cookie mode: the tracker's own _id is kept; consent
// required, as matomo.js's requireConsent), site 2 to blog, which has a
// write key and allowed origins.
func matomoEnv(t *testing.T, sink *consumertest.LogsSink, mutate ...func(*Config)) *testEnv {
	return startReceiver(t, sink, append([]func(*Config){func(cfg *Config) {
		cfg.Protocols.Matomo.Enabled = true
		shop := testSite("shop")
		shop.Protocols.Matomo.SiteIDs = []int{1}
		shop.Cookies.Mode = CookieModeScript
		blog := testSite("blog")
		blog.Protocols.Matomo.SiteIDs = []int{2, 3}
		blog.WriteKey = "k-1"
		blog.AllowedOrigins = []string{"https://blog.example"}
		cfg.Sites = []SiteConfig{shop, blog}
	}}, mutate...)...)
}

// What matomo.js 5 posts (sendBeacon or XMLHttpRequest): the request as a
// form body, with send_image=0.
var matomoForm = map[string]string{
	"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
	"User-Agent":   browserUA,
	"Origin":       "https://shop.example",
}

const matomoPageView = "action_name=Shoes&idsite=1&rec=1&r=482910&h=10&m=4&s=7" +
	"&url=https%3A%2F%2Fshop.example%2Fshoes%3Fmtm_campaign%3Dspring&urlref=https%3A%2F%2Fwww.google.com%2F" +
	"&_id=1a2b3c4d5e6f7a8b&_idn=0&send_image=0&_refts=0&pv_id=AbC123&pf_net=0&cookie=1&res=1920x1080&consent=1"

func isGIF(resp response) bool {
	return resp.status == http.StatusOK && bytes.Equal(resp.body, transparentGIF) && resp.header.Get("Content-Type") == "image/gif"
}

// requireSummary decodes Matomo's bulk answer.
func requireSummary(t *testing.T, resp response) map[string]any {
	t.Helper()
	assert.Equal(t, "application/json", resp.header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(resp.body, &got), string(resp.body))
	for _, k := range []string{"status", "tracked", "invalid"} {
		assert.Contains(t, got, k)
	}
	return got
}

func TestMatomoTrackerPost(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink)
	resp := e.request(http.MethodPost, "/matomo.php", matomoPageView, matomoForm)
	require.Equal(t, http.StatusNoContent, resp.status, string(resp.body))
	assert.Equal(t, "https://shop.example", resp.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", resp.header.Get("Access-Control-Allow-Credentials"))
	a := lastAttrs(t, sink)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:           "shop",
		eventmodel.AttrIngestChannel:    "matomo",
		eventmodel.AttrURLPath:          "/shoes",
		eventmodel.AttrCampaignName:     "spring",
		eventmodel.AttrReferrerDomain:   "www.google.com",
		eventmodel.AttrVisitorID:        "1a2b3c4d5e6f7a8b",
		eventmodel.AttrPageViewID:       "AbC123",
		eventmodel.AttrConsentAnalytics: "granted",
		eventmodel.AttrClientAddress:    "127.0.0.1",
		eventmodel.AttrUserAgent:        browserUA,
	} {
		assert.Equal(t, want, a[k], k)
	}
	// Without send_image=0 Matomo answers its GIF, to a POST too; the
	// URL's query counts with the body.
	resp = e.request(http.MethodPost, "/piwik.php?idsite=1&rec=1", "url=https%3A%2F%2Fshop.example%2F&e_c=Video&e_a=Play", matomoForm)
	assert.True(t, isGIF(resp), "%d %q", resp.status, resp.body)
	assert.Equal(t, "Play", lastAttrs(t, sink)[eventmodel.AttrCustomName])
	assert.Equal(t, 2, sink.LogRecordCount())
	e.requireRejections()
}

func TestMatomoPixel(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink)
	ua := map[string]string{"User-Agent": browserUA, "Referer": "https://shop.example/noscript"}
	resp := e.request(http.MethodGet, "/matomo.php?idsite=1&rec=1", "", ua)
	require.True(t, isGIF(resp), "%d %q", resp.status, resp.body)
	assert.Contains(t, resp.header.Get("Cache-Control"), "no-store")
	assert.Equal(t, "https://shop.example/noscript", lastAttrs(t, sink)[eventmodel.AttrURLFull], "a <noscript> image: the Referer is the page")

	// A pixel always gets its GIF, refused or not; the refusal is counted.
	for _, q := range []string{"idsite=1", "idsite=9&rec=1&url=https%3A%2F%2Fshop.example%2F", "idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F", "", "idsite=1&rec=1&send_image=1&_id=xyz"} {
		resp = e.request(http.MethodGet, "/matomo.php?"+q, "", ua)
		assert.True(t, isGIF(resp), q)
	}
	resp = e.request(http.MethodHead, "/matomo.php?idsite=1&rec=1", "", ua)
	assert.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, 1, sink.LogRecordCount(), "HEAD records nothing")

	// A GET with send_image=0 (matomo.js with GET requests) is a beacon.
	resp = e.request(http.MethodGet, "/matomo.php?idsite=1&rec=1&send_image=0&url=https%3A%2F%2Fshop.example%2F", "", ua)
	assert.Equal(t, http.StatusNoContent, resp.status)
	resp = e.request(http.MethodGet, "/matomo.php?idsite=9&rec=1&send_image=0&url=https%3A%2F%2Fshop.example%2F", "", ua)
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "unknown_site", requireJSON(t, resp)["error"])
	assert.Equal(t, 2, sink.LogRecordCount())
	e.requireRejections(
		rejection{"matomo", "invalid_id", 1},
		rejection{"matomo", "invalid_request", 2},
		rejection{"matomo", "invalid_write_key", 1},
		rejection{"matomo", "unknown_site", 2},
	)
}

func TestMatomoBulk(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink)
	body := `{"requests":[
		"?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fa&_id=1a2b3c4d5e6f7a8b",
		"?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fa&_id=1a2b3c4d5e6f7a8b&search=shoes&search_count=3",
		"?idsite=99&rec=1&url=https%3A%2F%2Fshop.example%2Fb",
		"?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fthanks&idgoal=2&revenue=30"
	]}`
	resp := e.request(http.MethodPost, "/matomo.php", body, map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	got := requireSummary(t, resp)
	assert.Equal(t, "success", got["status"])
	assert.Equal(t, 3.0, got["tracked"])
	assert.Equal(t, 1.0, got["invalid"])
	assert.Equal(t, []any{2.0}, got["invalid_indices"])
	assert.Equal(t, 3, sink.LogRecordCount(), "the good members are kept")
	lrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, lrs.Len(), "one request, one plog.Logs")
	assert.Equal(t, eventmodel.EventSiteSearch, lrs.At(1).EventName())
	assert.Equal(t, "goal", lrs.At(2).Attributes().AsRaw()[eventmodel.AttrCustomName])

	// matomo.js's own bulk: send_image 0, labelled as a form.
	resp = e.request(http.MethodPost, "/matomo.php", `{"requests":["?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&ping=1"],"send_image":0}`, matomoForm)
	assert.Equal(t, http.StatusNoContent, resp.status)

	// Members refused for the request's origin are counted as invalid.
	resp = e.request(http.MethodPost, "/matomo.php", `{"requests":["?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F","?idsite=2&rec=1&url=https%3A%2F%2Fshop.example%2F"],"token_auth":"k-1"}`, matomoForm)
	got = requireSummary(t, resp)
	assert.Equal(t, 1.0, got["tracked"])
	assert.Equal(t, 1.0, got["invalid"])

	// Nothing kept: 400 with the reasons.
	resp = e.request(http.MethodPost, "/matomo.php", `{"requests":["?idsite=99&rec=1"],"send_image":0}`, matomoForm)
	assert.Equal(t, http.StatusBadRequest, resp.status)
	got = requireSummary(t, resp)
	assert.Equal(t, "error", got["status"])
	assert.Equal(t, "unknown_site", got["rejected"].([]any)[0].(map[string]any)["error"])

	resp = e.request(http.MethodPost, "/matomo.php", `{"requests":[`, matomoForm)
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "invalid_json", requireJSON(t, resp)["error"])
	assert.Equal(t, 5, sink.LogRecordCount())
	e.requireRejections(
		rejection{"matomo", "invalid_json", 1},
		rejection{"matomo", "origin_not_allowed", 1},
		rejection{"matomo", "unknown_site", 2},
	)
}

func TestMatomoRejections(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink, func(cfg *Config) { cfg.ServerConfig.MaxRequestBodySize = 512 })
	blog := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://blog.example"}
	for _, tt := range []struct {
		method, body string
		header       map[string]string
		status       int
		reason       string
	}{
		{http.MethodPut, "", nil, http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodPost, "idsite=1&rec=1", map[string]string{"Content-Type": "image/png"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{http.MethodPost, "idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F" + strings.Repeat("a", 600), matomoForm, http.StatusRequestEntityTooLarge, "body_too_large"},
		{http.MethodPost, "idsite=1&url=https%3A%2F%2Fshop.example%2F", matomoForm, http.StatusBadRequest, "invalid_request"},
		{http.MethodPost, "idsite=5&rec=1&url=https%3A%2F%2Fshop.example%2F", matomoForm, http.StatusBadRequest, "unknown_site"},
		{http.MethodPost, "idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F", blog, http.StatusForbidden, "invalid_write_key"},
		{http.MethodPost, "idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F&token_auth=k-1", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, "origin_not_allowed"},
		{http.MethodPost, "idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&_id=nothex", matomoForm, http.StatusBadRequest, "invalid_id"},
		{http.MethodPost, "idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&idgoal=1&revenue=lots", matomoForm, http.StatusBadRequest, "invalid_field"},
		{http.MethodPost, `{"requests":"x"}`, matomoForm, http.StatusBadRequest, "no_events"},
	} {
		resp := e.request(tt.method, "/matomo.php", tt.body, tt.header)
		assert.Equal(t, tt.status, resp.status, tt.body)
		got := requireJSON(t, resp)
		assert.Equal(t, tt.reason, got["error"], tt.body)
		assert.NotEmpty(t, got["message"])
	}
	// The write key as token_auth lets blog in, from its origin.
	resp := e.request(http.MethodPost, "/matomo.php", "idsite=3&rec=1&url=https%3A%2F%2Fblog.example%2F&token_auth=k-1&send_image=0", blog)
	assert.Equal(t, http.StatusNoContent, resp.status, string(resp.body))
	assert.Equal(t, "blog", lastAttrs(t, sink)[eventmodel.AttrSiteID])
	assert.Equal(t, 1, sink.LogRecordCount())
	e.requireRejections(
		rejection{"matomo", "body_too_large", 1},
		rejection{"matomo", "invalid_field", 1},
		rejection{"matomo", "invalid_id", 1},
		rejection{"matomo", "invalid_request", 1},
		rejection{"matomo", "invalid_write_key", 1},
		rejection{"matomo", "method_not_allowed", 1},
		rejection{"matomo", "no_events", 1},
		rejection{"matomo", "origin_not_allowed", 1},
		rejection{"matomo", "unknown_site", 1},
		rejection{"matomo", "unsupported_media_type", 1},
	)
}

// cip and ua replace the sender's address and user agent only with the
// site's write key, and bot detection reads the visitor's user agent.
func TestMatomoServerSideOverrides(t *testing.T) {
	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink, func(cfg *Config) { cfg.Bots.Action = BotActionDrop })
	server := map[string]string{"User-Agent": "matomo-tracker/2", "Content-Type": "application/json"}
	body := `{"requests":[
		"?idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F&cip=198.51.100.9&ua=` + strings.ReplaceAll(browserUA, " ", "%20") + `",
		"?idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2F&cip=198.51.100.10&ua=` + strings.ReplaceAll(googlebot, " ", "%20") + `"
	],"token_auth":"k-1"}`
	resp := e.request(http.MethodPost, "/matomo.php", body, server)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 1.0, requireSummary(t, resp)["tracked"])
	a := lastAttrs(t, sink)
	assert.Equal(t, "198.51.100.9", a[eventmodel.AttrClientAddress])
	assert.Equal(t, browserUA, a[eventmodel.AttrUserAgent])
	e.requireRejections(rejection{"matomo", "bot", 1})
}

// consent=1 is what lets a site that requires consent keep its visitor
// cookie in server mode; without it the request has no consent signal.
func TestMatomoConsentAndCookies(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink, func(cfg *Config) { cfg.Sites[0].Cookies.Mode = CookieModeServer })
	resp := e.request(http.MethodPost, "/matomo.php", strings.Replace(matomoPageView, "&consent=1", "", 1), matomoForm)
	require.Equal(t, http.StatusNoContent, resp.status)
	assert.Empty(t, resp.header.Values("Set-Cookie"))
	assert.NotContains(t, lastAttrs(t, sink), eventmodel.AttrConsentAnalytics)
	resp = e.request(http.MethodPost, "/matomo.php", matomoPageView, matomoForm)
	require.Equal(t, http.StatusNoContent, resp.status)
	assert.NotEmpty(t, resp.header.Values("Set-Cookie"), "consent given: the receiver's first-party cookies, as for the tag")

	// cookie=0 (disableCookies): cookieless, no identifier kept or set.
	resp = e.request(http.MethodPost, "/matomo.php", strings.Replace(matomoPageView, "cookie=1", "cookie=0", 1), matomoForm)
	require.Equal(t, http.StatusNoContent, resp.status)
	assert.Empty(t, resp.header.Values("Set-Cookie"))
	a := lastAttrs(t, sink)
	assert.Equal(t, true, a[eventmodel.AttrCookieless])
	assert.NotContains(t, a, eventmodel.AttrVisitorID)
	assert.NotContains(t, a, eventmodel.AttrUserID)
}

func TestMatomoRateLimitAndPipeline(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink, func(cfg *Config) {
		cfg.RateLimit = RateLimitConfig{RequestsPerSecond: 0.001, Burst: 1, MaxClients: 10}
	})
	assert.Equal(t, http.StatusNoContent, e.request(http.MethodPost, "/matomo.php", matomoPageView, matomoForm).status)
	resp := e.request(http.MethodPost, "/matomo.php", matomoPageView, matomoForm)
	assert.Equal(t, http.StatusTooManyRequests, resp.status)
	assert.Equal(t, "1", resp.header.Get("Retry-After"))
	assert.True(t, isGIF(e.request(http.MethodGet, "/matomo.php?"+strings.Replace(matomoPageView, "send_image=0", "send_image=1", 1), "", nil)), "a limited pixel still gets its GIF")
	e.requireRejections(rejection{"matomo", "rate_limited", 2})

	retry := startReceiver(t, consumertest.NewErr(errors.New("queue full")), func(cfg *Config) {
		cfg.Protocols.Matomo.Enabled = true
		cfg.Sites[0].Protocols.Matomo.SiteIDs = []int{1}
	})
	resp = retry.request(http.MethodPost, "/matomo.php", matomoPageView, map[string]string{"Content-Type": "text/plain"})
	assert.Equal(t, http.StatusServiceUnavailable, resp.status)
	assert.True(t, isGIF(retry.request(http.MethodGet, "/matomo.php?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F", "", nil)))
}

func TestMatomoPathsAndPreflight(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink, func(cfg *Config) { cfg.Protocols.Matomo.Paths = []string{"/js/tracker.php"} })
	pre := e.request(http.MethodOptions, "/js/tracker.php", "", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
	assert.Equal(t, http.StatusNoContent, pre.status)
	assert.Equal(t, "POST", pre.header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, http.StatusNoContent, e.request(http.MethodPost, "/js/tracker.php", matomoPageView, matomoForm).status)
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodPost, "/matomo.php", matomoPageView, matomoForm).status, "only the configured paths")

	off := startReceiver(t, sink)
	assert.Equal(t, http.StatusNotFound, off.request(http.MethodGet, "/matomo.php?idsite=1&rec=1", "", nil).status, "off by default")
}

func TestMatomoCorruptEncoding(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink)
	resp := e.request(http.MethodPost, "/matomo.php", "not gzip", map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "invalid_request", requireJSON(t, resp)["error"])
	e.requireRejections(rejection{"matomo", "invalid_request", 1})
}

// FuzzMatomoRequest drives the real handler with any query, body and
// method: a pixel always gets the GIF; a beacon gets 204, the GIF, a bulk
// summary or a documented refusal; every record passes the tag's checks.
func FuzzMatomoRequest(f *testing.F) {
	f.Add("GET", "idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&_id=1a2b3c4d5e6f7a8b", []byte(nil), "")
	f.Add("POST", "", []byte(matomoPageView), "application/x-www-form-urlencoded")
	f.Add("POST", "", []byte(`{"requests":["?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&idgoal=0&ec_id=1&revenue=9&ec_items=%5B%5B%22a%22%5D%5D",{"idsite":1,"rec":1,"url":"https://shop.example/x","e_c":"a","e_a":"b"},"?idsite=2"],"send_image":1}`), "application/json")
	f.Add("GET", "idsite=1&rec=1&send_image=0&url=https%3A%2F%2Fshop.example%2F&link=https%3A%2F%2Fx.example%2F", []byte(nil), "")
	sink := new(consumertest.LogsSink)
	r := newFuzzReceiver(f, sink)
	r.cfg.Protocols.Matomo = MatomoConfig{Enabled: true, Paths: []string{"/matomo.php"}}
	r.matomo.SiteIDs = map[string]string{"1": "shop"}
	f.Fuzz(func(t *testing.T, method, query string, body []byte, contentType string) {
		if method != http.MethodGet && method != http.MethodPost {
			method = http.MethodPost
		}
		sink.Reset()
		req := httptest.NewRequest(method, "/matomo.php", bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, r.cfg.ServerConfig.MaxRequestBodySize)
		r.route(rec, req)
		pixel := method == http.MethodGet && !strings.Contains(query, "send_image=0")
		switch {
		case rec.Code == http.StatusOK && bytes.Equal(rec.Body.Bytes(), transparentGIF):
		case pixel:
			t.Fatalf("a pixel got %d %q", rec.Code, rec.Body.String())
		case rec.Code == http.StatusNoContent:
		case rec.Code == http.StatusOK:
			var sum matomoBulkSummary
			if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil || sum.Tracked != sink.LogRecordCount() {
				t.Fatalf("summary %q with %d records", rec.Body.String(), sink.LogRecordCount())
			}
		case rec.Code == http.StatusBadRequest, rec.Code == http.StatusForbidden,
			rec.Code == http.StatusRequestEntityTooLarge, rec.Code == http.StatusUnsupportedMediaType:
			var resp struct{ Error, Message, Status string }
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || sink.LogRecordCount() != 0 {
				t.Fatalf("refusal %d %q with %d records", rec.Code, rec.Body.String(), sink.LogRecordCount())
			}
			if resp.Status == "" {
				checkReason(t, resp.Error)
			}
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
		checkRecords(t, sink)
	})
}
