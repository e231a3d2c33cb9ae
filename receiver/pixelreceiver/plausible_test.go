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

// plausibleEnv runs the receiver with Plausible's Events API on, shop.example
// reporting to site shop (server cookie mode, no consent needed: the most
// a site could allow, so that the test shows Plausible events still get
// no identifier) and blog.example to blog, which has a write key and
// allowed origins.
func plausibleEnv(t *testing.T, sink *consumertest.LogsSink, mutate ...func(*Config)) *testEnv {
	return startReceiver(t, sink, append([]func(*Config){func(cfg *Config) {
		cfg.Protocols.Plausible.Enabled = true
		shop := testSite("shop")
		shop.Protocols.Plausible.Domains = []string{"shop.example"}
		shop.Cookies.Mode = CookieModeServer
		shop.Consent.Required = false
		blog := testSite("blog")
		blog.Protocols.Plausible.Domains = []string{"blog.example", "Blog.Example.ORG"}
		blog.WriteKey = "k-1"
		blog.AllowedOrigins = []string{"https://blog.example"}
		cfg.Sites = []SiteConfig{shop, blog}
	}}, mutate...)...)
}

// What @plausible-analytics/tracker 0.4.6 sends: fetch, text/plain, no
// credentials needed.
var plausibleHeader = map[string]string{"Content-Type": "text/plain", "User-Agent": browserUA, "Origin": "https://shop.example"}

func TestPlausiblePageViewAndCustomEvent(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := plausibleEnv(t, sink)

	resp := e.request(http.MethodPost, "/api/event",
		`{"n":"pageview","v":36,"u":"https://shop.example/?utm_source=news&utm_medium=email","d":"shop.example","r":"https://www.google.com/"}`, plausibleHeader)
	require.Equal(t, http.StatusAccepted, resp.status, string(resp.body))
	assert.Equal(t, "ok", string(resp.body))
	assert.Equal(t, "https://shop.example", resp.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, resp.header.Values("Set-Cookie"), "a Plausible site sets no cookie, whatever its cookie mode")
	a := lastAttrs(t, sink)
	assert.Equal(t, eventmodel.EventPageView, sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).EventName())
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  "plausible",
		eventmodel.AttrURLPath:        "/",
		eventmodel.AttrCampaignSource: "news",
		eventmodel.AttrReferrerDomain: "www.google.com",
		eventmodel.AttrCookieless:     true,
		eventmodel.AttrClientAddress:  "127.0.0.1",
		eventmodel.AttrUserAgent:      browserUA,
	} {
		assert.Equal(t, want, a[k], k)
	}
	assert.NotContains(t, a, eventmodel.AttrVisitorID)
	assert.NotContains(t, a, eventmodel.AttrSessionID)

	resp = e.request(http.MethodPost, "/api/event",
		`{"n":"Purchase","u":"https://shop.example/checkout","d":"shop.example","p":{"plan":"pro"},"$":{"amount":"15.99","currency":"USD"},"i":false}`, plausibleHeader)
	require.Equal(t, http.StatusAccepted, resp.status, string(resp.body))
	a = lastAttrs(t, sink)
	assert.Equal(t, "Purchase", a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{"plan": "pro", "revenue": 15.99, "currency": "USD"}, a[eventmodel.AttrProperties])
	assert.Equal(t, true, a[eventmodel.AttrNonInteractive])
	e.requireRejections()
}

func TestPlausibleRejections(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := plausibleEnv(t, sink, func(cfg *Config) { cfg.ServerConfig.MaxRequestBodySize = 512 })
	blog := map[string]string{"Content-Type": "application/json", "Origin": "https://blog.example"}
	for _, tt := range []struct {
		method, body string
		header       map[string]string
		status       int
		reason       string
	}{
		{http.MethodGet, "", nil, http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodPost, `{"n":"pageview"}`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{http.MethodPost, `{"n":"pageview","u":"https://shop.example/` + strings.Repeat("a", 600) + `","d":"shop.example"}`, plausibleHeader, http.StatusRequestEntityTooLarge, "body_too_large"},
		{http.MethodPost, `{"n":"pageview"`, plausibleHeader, http.StatusBadRequest, "invalid_json"},
		{http.MethodPost, `{"n":"pageview","u":"https://other.example/","d":"other.example"}`, plausibleHeader, http.StatusBadRequest, "unknown_site"},
		{http.MethodPost, `{"n":"pageview","u":"https://blog.example/","d":"blog.example"}`, blog, http.StatusForbidden, "invalid_write_key"},
		{http.MethodPost, `{"n":"pageview","u":"https://blog.example/","d":"blog.example","k":"k-1"}`, map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, http.StatusForbidden, "origin_not_allowed"},
		{http.MethodPost, `{"n":"x","u":"https://shop.example/","d":"shop.example","p":{"a.b":1}}`, plausibleHeader, http.StatusBadRequest, "invalid_property"},
		{http.MethodPost, `{"n":"x","u":"https://shop.example/","d":"shop.example","$":{"amount":1}}`, plausibleHeader, http.StatusBadRequest, "invalid_field"},
	} {
		resp := e.request(tt.method, "/api/event", tt.body, tt.header)
		assert.Equal(t, tt.status, resp.status, tt.body)
		got := requireJSON(t, resp)
		assert.Equal(t, tt.reason, got["error"], tt.body)
		assert.NotEmpty(t, got["message"])
	}
	// The domain alias matches in any case, and the write key lets it in.
	resp := e.request(http.MethodPost, "/api/event", `{"n":"pageview","u":"https://blog.example/","d":"blog.example.org","k":"k-1"}`, blog)
	assert.Equal(t, http.StatusAccepted, resp.status, string(resp.body))
	assert.Equal(t, "blog", lastAttrs(t, sink)[eventmodel.AttrSiteID])
	assert.Equal(t, 1, sink.LogRecordCount())
	e.requireRejections(
		rejection{"plausible", "body_too_large", 1},
		rejection{"plausible", "invalid_field", 1},
		rejection{"plausible", "invalid_json", 1},
		rejection{"plausible", "invalid_property", 1},
		rejection{"plausible", "invalid_write_key", 1},
		rejection{"plausible", "method_not_allowed", 1},
		rejection{"plausible", "origin_not_allowed", 1},
		rejection{"plausible", "unknown_site", 1},
		rejection{"plausible", "unsupported_media_type", 1},
	)
}

func TestPlausibleRateLimitBotsAndPipeline(t *testing.T) {
	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	body := `{"n":"pageview","u":"https://shop.example/","d":"shop.example"}`
	sink := new(consumertest.LogsSink)
	e := plausibleEnv(t, sink, func(cfg *Config) {
		cfg.Bots.Action = BotActionDrop
		cfg.RateLimit = RateLimitConfig{RequestsPerSecond: 0.001, Burst: 2, MaxClients: 10}
	})
	resp := e.request(http.MethodPost, "/api/event", body, map[string]string{"Content-Type": "text/plain", "User-Agent": googlebot})
	assert.Equal(t, http.StatusAccepted, resp.status, "a dropped bot is answered as Plausible does, so it does not retry")
	assert.Equal(t, "1", resp.header.Get("X-Plausible-Dropped"))
	assert.Equal(t, "bot", requireJSON(t, resp)["error"])
	resp = e.request(http.MethodPost, "/api/event", body, plausibleHeader)
	assert.Equal(t, http.StatusAccepted, resp.status)
	resp = e.request(http.MethodPost, "/api/event", body, plausibleHeader)
	assert.Equal(t, http.StatusTooManyRequests, resp.status)
	assert.Equal(t, "1", resp.header.Get("Retry-After"))
	assert.Equal(t, 1, sink.LogRecordCount())
	e.requireRejections(rejection{"plausible", "bot", 1}, rejection{"plausible", "rate_limited", 1})

	retry := startReceiver(t, consumertest.NewErr(errors.New("queue full")), func(cfg *Config) {
		cfg.Protocols.Plausible.Enabled = true
		cfg.Sites[0].Protocols.Plausible.Domains = []string{"shop.example"}
	})
	resp = retry.request(http.MethodPost, "/api/event", body, plausibleHeader)
	assert.Equal(t, http.StatusServiceUnavailable, resp.status)
	assert.Equal(t, "5", resp.header.Get("Retry-After"))
}

// A body confighttp cannot decompress is answered and counted on the
// Plausible channel, like any other refusal of it.
func TestPlausibleCorruptEncoding(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := plausibleEnv(t, sink)
	resp := e.request(http.MethodPost, "/api/event", "not gzip", map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "invalid_request", requireJSON(t, resp)["error"])
	e.requireRejections(rejection{"plausible", "invalid_request", 1})
	assert.Zero(t, sink.LogRecordCount())
}

func TestPlausiblePreflightAndPaths(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := plausibleEnv(t, sink, func(cfg *Config) { cfg.Protocols.Plausible.Path = "/stats/api/event" })
	pre := e.request(http.MethodOptions, "/stats/api/event", "", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
	assert.Equal(t, http.StatusNoContent, pre.status)
	assert.Equal(t, "POST", pre.header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodPost, "/api/event", "{}", plausibleHeader).status, "only the configured path")

	off := startReceiver(t, sink)
	assert.Equal(t, http.StatusNotFound, off.request(http.MethodPost, "/api/event", "{}", plausibleHeader).status, "off by default")
}

// FuzzPlausibleRequest drives the real handler with any body: the answer
// is always 202 with a record or a documented refusal without one, and
// every record passes the same checks as the tag's.
func FuzzPlausibleRequest(f *testing.F) {
	f.Add([]byte(`{"n":"pageview","v":36,"u":"https://shop.example/?utm_source=x","d":"shop.example","r":"https://www.google.com/","h":1}`), "text/plain")
	f.Add([]byte(`{"n":"Purchase","u":"https://shop.example/c","d":"shop.example","p":{"a":"1"},"$":{"amount":"9.5","currency":"EUR"},"i":false}`), "text/plain")
	f.Add([]byte(`{"n":"engagement","sd":64,"e":5230,"d":"shop.example","u":"https://shop.example/","p":{}}`), "application/json")
	f.Add([]byte(`{"n":"File Download","u":"https://shop.example/","d":"shop.example","p":"{\"url\":\"https://shop.example/a.pdf\"}"}`), "text/plain")
	f.Add([]byte(`{"d":"nope.example"}`), "text/html")
	sink := new(consumertest.LogsSink)
	r := newFuzzReceiver(f, sink)
	r.cfg.Protocols.Plausible = PlausibleConfig{Enabled: true, Path: "/api/event"}
	r.plausible.Domains = map[string]string{"shop.example": "shop"}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sink.Reset()
		req := httptest.NewRequest(http.MethodPost, "/api/event", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, r.cfg.ServerConfig.MaxRequestBodySize)
		r.route(rec, req)
		switch {
		case rec.Code == http.StatusAccepted && rec.Header().Get("X-Plausible-Dropped") == "":
			if rec.Body.String() != "ok" || sink.LogRecordCount() != 1 {
				t.Fatalf("202 %q with %d records", rec.Body.String(), sink.LogRecordCount())
			}
			checkRecords(t, sink)
		case rec.Code == http.StatusAccepted, rec.Code == http.StatusBadRequest, rec.Code == http.StatusForbidden,
			rec.Code == http.StatusRequestEntityTooLarge, rec.Code == http.StatusUnsupportedMediaType:
			// A refusal, or a bot dropped with Plausible's 202.
			var resp struct{ Error, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Message == "" || sink.LogRecordCount() != 0 {
				t.Fatalf("refusal %d %q with %d records", rec.Code, rec.Body.String(), sink.LogRecordCount())
			}
			checkReason(t, resp.Error)
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}
