package pixelreceiver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/consentprocessor"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
)

// snowplowEnv runs the receiver with Snowplow's tracker protocol on: app
// shop-web reports to site shop (script cookie mode, no consent needed),
// app blog to blog, which has a write key and allowed origins.
func snowplowEnv(t *testing.T, sink *consumertest.LogsSink, mutate ...func(*Config)) *testEnv {
	return startReceiver(t, sink, append([]func(*Config){func(cfg *Config) {
		cfg.Protocols.Snowplow.Enabled = true
		shop := testSite("shop")
		shop.Protocols.Snowplow.AppIDs = []string{"shop-web", "shop-app"}
		shop.Cookies.Mode = CookieModeScript
		shop.Consent.Required = false
		blog := testSite("blog")
		blog.Protocols.Snowplow.AppIDs = []string{"blog"}
		blog.WriteKey = "k-1"
		blog.AllowedOrigins = []string{"https://blog.example"}
		cfg.Sites = []SiteConfig{shop, blog}
	}}, mutate...)...)
}

const (
	spDUID = "4a3c1e9e-6f1b-4c55-9a8e-0f0d2b7b1c11"
	spSID  = "9d7f2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
)

// spEvent is an event as the browser tracker sends it, without contexts.
func spEvent(e string, kv ...string) map[string]string {
	now := time.Now().UnixMilli()
	m := map[string]string{
		"e": e, "tv": "js-4.6.8", "aid": "shop-web", "p": "web", "duid": spDUID, "sid": spSID, "vid": "1",
		"url": "https://shop.example/shoes?utm_source=news", "page": "Shoes", "refr": "https://www.google.com/",
		"dtm": strconv.FormatInt(now, 10), "stm": strconv.FormatInt(now, 10),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func spBody(t *testing.T, members ...map[string]string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": members})
	require.NoError(t, err)
	return string(b)
}

func spQuery(m map[string]string) string {
	q := url.Values{}
	for k, v := range m {
		q.Set(k, v)
	}
	return "/i?" + q.Encode()
}

// What the browser tracker posts: JSON, from the page's origin.
var spHeader = map[string]string{"Content-Type": "application/json; charset=UTF-8", "User-Agent": browserUA, "Origin": "https://shop.example"}

func TestSnowplowGETAndPOST(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := snowplowEnv(t, sink)

	resp := e.request(http.MethodGet, spQuery(spEvent("pv")), "", map[string]string{"User-Agent": browserUA, "Referer": "https://shop.example/shoes"})
	require.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, "image/gif", resp.header.Get("Content-Type"))
	assert.Equal(t, transparentGIF, resp.body)
	a := lastAttrs(t, sink)
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelSnowplow,
		eventmodel.AttrURLPath:        "/shoes",
		eventmodel.AttrCampaignSource: "news",
		eventmodel.AttrPageTitle:      "Shoes",
		eventmodel.AttrVisitorID:      spDUID,
		eventmodel.AttrSessionID:      spSID,
		eventmodel.AttrClientAddress:  "127.0.0.1",
		eventmodel.AttrUserAgent:      browserUA,
	} {
		assert.Equal(t, want, a[k], k)
	}

	// A batch: a page ping, a member that is no event, a structured event.
	body := spBody(t, spEvent("pp"), spEvent("xx"), spEvent("se", "se_ca", "video", "se_ac", "play"))
	resp = e.request(http.MethodPost, "/com.snowplowanalytics.snowplow/tp2", body, spHeader)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, "https://shop.example", resp.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", resp.header.Get("Access-Control-Allow-Credentials"), "the tracker posts with credentials")
	got := requireJSON(t, resp)
	assert.Equal(t, float64(2), got["accepted"])
	assert.Equal(t, []any{map[string]any{"index": float64(1), "error": "invalid_type", "message": "the event type (e) must be one of pv, pp, se, ue, tr, ti"}}, got["rejected"])
	records := allRecords(sink)
	require.Len(t, records, 3)
	assert.Equal(t, eventmodel.EventEngagement, records[1].EventName())
	assert.Equal(t, int64(10000), records[1].Attributes().AsRaw()[eventmodel.AttrEngagedTime])
	assert.Equal(t, "play", records[2].Attributes().AsRaw()[eventmodel.AttrCustomName])
	e.requireRejections(rejection{"snowplow", "invalid_type", 1})
}

// The GET endpoint answers the GIF whatever happens; each refusal is counted.
func TestSnowplowPixelAlwaysAnswersGIF(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := snowplowEnv(t, sink, func(cfg *Config) {
		cfg.RateLimit = RateLimitConfig{RequestsPerSecond: 0.001, Burst: 4, MaxClients: 10}
	})
	for _, q := range []string{
		spQuery(spEvent("pv", "aid", "other")),
		spQuery(spEvent("pv", "aid", "blog", "url", "https://blog.example/")),
		"/i?e=pv&url=%zz",
		"/i",
		spQuery(spEvent("pv")), // over the rate limit
	} {
		resp := e.request(http.MethodGet, q, "", nil)
		assert.Equal(t, http.StatusOK, resp.status, q)
		assert.Equal(t, transparentGIF, resp.body, q)
	}
	assert.Equal(t, http.StatusOK, e.request(http.MethodHead, "/i", "", nil).status)
	assert.Equal(t, http.StatusMethodNotAllowed, e.request(http.MethodPost, "/i", "x", nil).status)
	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections(
		rejection{"snowplow", "invalid_request", 1},
		rejection{"snowplow", "invalid_write_key", 1},
		rejection{"snowplow", "method_not_allowed", 1},
		rejection{"snowplow", "rate_limited", 1},
		rejection{"snowplow", "unknown_site", 2},
	)
}

func TestSnowplowPostRejections(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := snowplowEnv(t, sink, func(cfg *Config) { cfg.ServerConfig.MaxRequestBodySize = 2048 })
	const path = "/com.snowplowanalytics.snowplow/tp2"
	blog := map[string]string{"Content-Type": "application/json", "Origin": "https://blog.example"}
	blogEvent := spEvent("pv", "aid", "blog", "url", "https://blog.example/")
	for _, tt := range []struct {
		method, path, body string
		header             map[string]string
		status             int
		reason             string
	}{
		{http.MethodGet, path, "", nil, http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodPost, path, spBody(t, spEvent("pv")), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{http.MethodPost, path, spBody(t, spEvent("pv", "page", strings.Repeat("a", 3000))), spHeader, http.StatusRequestEntityTooLarge, "body_too_large"},
		{http.MethodPost, path, `{"schema":`, spHeader, http.StatusBadRequest, "invalid_json"},
		{http.MethodPost, path, `{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":[]}`, spHeader, http.StatusBadRequest, "invalid_request"},
		{http.MethodPost, path, `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[]}`, spHeader, http.StatusBadRequest, "no_events"},
		{http.MethodPost, path, spBody(t, spEvent("pv", "aid", "nobody")), spHeader, http.StatusBadRequest, "unknown_site"},
		{http.MethodPost, path, spBody(t, blogEvent), blog, http.StatusBadRequest, "invalid_write_key"},
		{http.MethodPost, path + "?k=k-1", spBody(t, blogEvent), map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, http.StatusBadRequest, "origin_not_allowed"},
	} {
		resp := e.request(tt.method, tt.path, tt.body, tt.header)
		assert.Equal(t, tt.status, resp.status, tt.body)
		got := requireJSON(t, resp)
		if rejected, ok := got["rejected"].([]any); ok && len(rejected) > 0 {
			assert.Equal(t, tt.reason, rejected[0].(map[string]any)["error"], tt.body)
		} else if got["error"] != nil {
			assert.Equal(t, tt.reason, got["error"], tt.body)
		}
	}
	// The write key in the post path's query lets the blog's batch in.
	resp := e.request(http.MethodPost, path+"?k=k-1", spBody(t, blogEvent), blog)
	assert.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, "blog", lastAttrs(t, sink)[eventmodel.AttrSiteID])
	assert.Equal(t, 1, sink.LogRecordCount())
	e.requireRejections(
		rejection{"snowplow", "body_too_large", 1},
		rejection{"snowplow", "invalid_json", 1},
		rejection{"snowplow", "invalid_request", 1},
		rejection{"snowplow", "invalid_write_key", 1},
		rejection{"snowplow", "method_not_allowed", 1},
		rejection{"snowplow", "no_events", 1},
		rejection{"snowplow", "origin_not_allowed", 1},
		rejection{"snowplow", "unknown_site", 1},
		rejection{"snowplow", "unsupported_media_type", 1},
	)
}

func TestSnowplowBotsPipelineAndEncoding(t *testing.T) {
	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	const path = "/com.snowplowanalytics.snowplow/tp2"
	sink := new(consumertest.LogsSink)
	e := snowplowEnv(t, sink, func(cfg *Config) { cfg.Bots.Action = BotActionDrop })
	resp := e.request(http.MethodPost, path, spBody(t, spEvent("pv"), spEvent("pp")), map[string]string{"Content-Type": "application/json", "User-Agent": googlebot})
	assert.Equal(t, http.StatusOK, resp.status, "a dropped bot is not told to retry")
	resp = e.request(http.MethodPost, path, "not gzip", map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections(rejection{"snowplow", "bot", 2}, rejection{"snowplow", "invalid_request", 1})

	retry := startReceiver(t, consumertest.NewErr(errors.New("queue full")), func(cfg *Config) {
		cfg.Protocols.Snowplow.Enabled = true
		cfg.Sites[0].Protocols.Snowplow.AppIDs = []string{"shop-web"}
	})
	resp = retry.request(http.MethodPost, path, spBody(t, spEvent("pv")), spHeader)
	assert.Equal(t, http.StatusServiceUnavailable, resp.status, "the tracker retries")
}

func TestSnowplowPreflightAndPaths(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := snowplowEnv(t, sink, func(cfg *Config) {
		cfg.Protocols.Snowplow.PixelPath = "/sp/i"
		cfg.Protocols.Snowplow.PostPath = "/sp/tp2"
	})
	pre := e.request(http.MethodOptions, "/sp/tp2", "", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
	assert.Equal(t, http.StatusNoContent, pre.status)
	assert.Equal(t, "POST", pre.header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Content-Type, SP-Anonymous", pre.header.Get("Access-Control-Allow-Headers"))
	pre = e.request(http.MethodOptions, "/sp/i", "", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "sp-anonymous"})
	assert.Equal(t, http.StatusNoContent, pre.status)
	assert.Equal(t, "GET", pre.header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Content-Type, SP-Anonymous", pre.header.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "https://shop.example", pre.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodGet, "/i", "", nil).status, "only the configured paths")
	assert.Equal(t, http.StatusOK, e.request(http.MethodPost, "/sp/tp2", spBody(t, spEvent("pv")), spHeader).status)

	off := startReceiver(t, sink)
	assert.Equal(t, http.StatusNotFound, off.request(http.MethodGet, "/i", "", nil).status, "off by default")
	assert.Equal(t, http.StatusNotFound, off.request(http.MethodPost, "/com.snowplowanalytics.snowplow/tp2", "{}", spHeader).status)
}

// consentWithdrawn is a consent_withdrawn event of every document.
func consentWithdrawn() string {
	ue := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.snowplowanalytics.snowplow/consent_withdrawn/jsonschema/1-0-0","data":{"all":true}}}`
	return base64.RawURLEncoding.EncodeToString([]byte(ue))
}

// The collector's network_userid cookie: set first-party only, under the
// site's cookie and consent rules, the visitor id of events without duid.
func TestSnowplowNetworkCookie(t *testing.T) {
	const path = "/com.snowplowanalytics.snowplow/tp2"
	anonymousEvent := spEvent("pv", "duid", "", "sid", "")
	post := func(e *testEnv, header map[string]string, cookie string, members ...map[string]string) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(spBody(t, members...)))
		require.NoError(t, err)
		req.Host = "collect.shop.example" // the collector under the site's domain
		for k, v := range header {
			req.Header.Set(k, v)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		return e.do(req)
	}
	spCookie := func(resp response) *http.Cookie {
		for _, c := range (&http.Response{Header: resp.header}).Cookies() {
			if c.Name == "sp" {
				return c
			}
		}
		return nil
	}

	sink := new(consumertest.LogsSink)
	e := snowplowEnv(t, sink)
	resp := post(e, spHeader, "", anonymousEvent, spEvent("pv"))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	c := spCookie(resp)
	require.NotNil(t, c, "first-party, cookies allowed: the collector sets sp")
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.InDelta(t, (395 * 24 * time.Hour).Seconds(), float64(c.MaxAge), 5, "the site's cookies::max_age")
	records := allRecords(sink)
	require.Len(t, records, 2)
	assert.Equal(t, c.Value, records[0].Attributes().AsRaw()[eventmodel.AttrVisitorID], "no duid: the network user id")
	assert.Equal(t, spDUID, records[1].Attributes().AsRaw()[eventmodel.AttrVisitorID], "the tracker's duid wins")

	// Sent back: kept, not renewed.
	resp = post(e, spHeader, "sp="+c.Value, anonymousEvent)
	assert.Nil(t, spCookie(resp), "never extended")
	assert.Equal(t, c.Value, lastAttrs(t, sink)[eventmodel.AttrVisitorID])

	// SP-Anonymous: no cookie, no identifier.
	resp = post(e, map[string]string{"Content-Type": "application/json", "Origin": "https://shop.example", "SP-Anonymous": "*"}, "sp="+c.Value, spEvent("pv"))
	assert.Nil(t, spCookie(resp))
	a := lastAttrs(t, sink)
	assert.Equal(t, true, a[eventmodel.AttrCookieless])
	assert.NotContains(t, a, eventmodel.AttrVisitorID)

	// A page of another site: the cookie would be third-party.
	resp = post(e, map[string]string{"Content-Type": "application/json", "Origin": "https://other.example"}, "", anonymousEvent)
	assert.Nil(t, spCookie(resp))

	// The withdrawal carries the id it withdraws, then the cookie goes.
	resp = post(e, spHeader, "sp="+c.Value, spEvent("ue", "duid", "", "ue_px", consentWithdrawn()))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	gone := spCookie(resp)
	require.NotNil(t, gone)
	assert.Negative(t, gone.MaxAge)
	a = lastAttrs(t, sink)
	assert.Equal(t, eventmodel.ConsentDenied, a[eventmodel.AttrConsentAnalytics])
	assert.Equal(t, c.Value, a[eventmodel.AttrVisitorID])

	// Consent required and not given, or cookie mode none: no cookie.
	for name, mutate := range map[string]func(*Config){
		"consent": func(cfg *Config) { cfg.Sites[0].Consent.Required = true },
		"none":    func(cfg *Config) { cfg.Sites[0].Cookies.Mode = CookieModeNone },
		"off":     func(cfg *Config) { cfg.Protocols.Snowplow.NetworkCookie = "" },
	} {
		e := snowplowEnv(t, new(consumertest.LogsSink), mutate)
		resp := post(e, spHeader, "", anonymousEvent)
		assert.Equal(t, http.StatusOK, resp.status, name)
		assert.Nil(t, spCookie(resp), name)
	}
}

func TestSnowplowConfigFile(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "snowplow.yaml"))
	require.NoError(t, err)
	load := func(name string) *Config {
		cfg := createDefaultConfig().(*Config)
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		require.NoError(t, sub.Unmarshal(cfg))
		require.NoError(t, confmap.Validate(cfg))
		return cfg
	}
	cfg := load("snowplow")
	assert.Equal(t, SnowplowConfig{Enabled: true, PixelPath: "/sp/i", PostPath: "/sp/tp2", PagePingInterval: 30 * time.Second, NetworkCookie: "nuid"}, cfg.Protocols.Snowplow)
	assert.Equal(t, []string{"shop-web", "shop-ios"}, cfg.Sites[0].Protocols.Snowplow.AppIDs)
	assert.Equal(t, map[string]string{"shop-web": "shop", "shop-ios": "shop"}, snowplowAppIDs(cfg))

	cfg = load("snowplow_defaults")
	assert.Equal(t, SnowplowConfig{Enabled: true, PixelPath: "/i", PostPath: "/com.snowplowanalytics.snowplow/tp2", PagePingInterval: 10 * time.Second, NetworkCookie: "sp"}, cfg.Protocols.Snowplow)
}

func TestSnowplowConfigValidation(t *testing.T) {
	valid := func() *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.Protocols.Snowplow.Enabled = true
		cfg.Sites = []SiteConfig{testSite("shop"), testSite("blog")}
		cfg.Sites[0].Protocols.Snowplow.AppIDs = []string{"shop-web"}
		return cfg
	}
	require.NoError(t, confmap.Validate(valid()))
	for _, tt := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.Sites[0].Protocols.Snowplow.AppIDs = nil }, "protocols::snowplow::enabled: no site lists its Snowplow app ids"},
		{func(c *Config) { c.Protocols.Snowplow.Enabled = false }, "sites::0::protocols::snowplow::app_ids: set, but protocols::snowplow::enabled is false"},
		{func(c *Config) { c.Sites[1].Protocols.Snowplow.AppIDs = []string{"shop-web"} }, `sites::1::protocols::snowplow::app_ids::0: "shop-web" is already listed by sites::0`},
		{func(c *Config) { c.Sites[0].Protocols.Snowplow.AppIDs = []string{" shop"} }, `sites::0::protocols::snowplow::app_ids::0: " shop" must be the tracker's appId exactly`},
		{func(c *Config) { c.Protocols.Snowplow.PixelPath = "i" }, `protocols::snowplow::pixel_path: "i" must be an absolute URL path`},
		{func(c *Config) { c.Protocols.Snowplow.PostPath = "/b" }, `protocols::snowplow::post_path: "/b" is already beacon_path`},
		{func(c *Config) { c.Protocols.Snowplow.PostPath = "/i" }, `protocols::snowplow::post_path: "/i" is already protocols::snowplow::pixel_path`},
		{func(c *Config) { c.Protocols.Snowplow.PagePingInterval = 0 }, "protocols::snowplow::page_ping_interval: 0s must be between 1s and 1h"},
		{func(c *Config) { c.Protocols.Snowplow.NetworkCookie = "s p" }, `protocols::snowplow::network_cookie: "s p" is not a valid cookie name`},
	} {
		cfg := valid()
		tt.mutate(cfg)
		assert.ErrorContains(t, confmap.Validate(cfg), tt.want)
	}
}

// FuzzSnowplowRequest drives the real POST handler with any body: the
// answer is 200 with the summary's count of records, or a documented
// refusal without records; every record passes the same checks as the
// tag's. The seeds are the real tracker's batches.
func FuzzSnowplowRequest(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("internal", "snowplow", "testdata", "browser-tracker-4.6.8-post.ndjson"))
	require.NoError(f, err)
	for _, body := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f.Add([]byte(body), "application/json; charset=UTF-8")
	}
	f.Add([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","aid":"shop-web","url":"https://shop.example/"},{"e":"??"}]}`), "text/plain")
	sink := new(consumertest.LogsSink)
	r := newFuzzReceiver(f, sink)
	r.cfg.Protocols.Snowplow = defaultSnowplowConfig()
	r.cfg.Protocols.Snowplow.Enabled = true
	r.snowplow.AppIDs = map[string]string{"shop-web": "shop"}
	r.snowplow.PagePing = r.cfg.Protocols.Snowplow.PagePingInterval
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sink.Reset()
		req := httptest.NewRequest(http.MethodPost, "/com.snowplowanalytics.snowplow/tp2", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, r.cfg.ServerConfig.MaxRequestBodySize)
		r.route(rec, req)
		var summary struct {
			Accepted *int
			Rejected []struct{ Error, Message string }
			Error    string
			Message  string
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &summary); err != nil {
			t.Fatalf("%d %q is no JSON answer", rec.Code, rec.Body.String())
		}
		switch {
		case summary.Accepted != nil:
			if *summary.Accepted != sink.LogRecordCount() || (rec.Code == http.StatusOK) != (*summary.Accepted > 0 || len(summary.Rejected) == 0) {
				t.Fatalf("%d %q with %d records", rec.Code, rec.Body.String(), sink.LogRecordCount())
			}
			for _, r := range summary.Rejected {
				checkReason(t, r.Error)
			}
			checkRecords(t, sink)
		case rec.Code == http.StatusBadRequest, rec.Code == http.StatusRequestEntityTooLarge, rec.Code == http.StatusUnsupportedMediaType:
			if summary.Message == "" || sink.LogRecordCount() != 0 {
				t.Fatalf("refusal %d %q with %d records", rec.Code, rec.Body.String(), sink.LogRecordCount())
			}
			checkReason(t, summary.Error)
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}

// FuzzSnowplowHit drives the real GET handler with any query: always
// the GIF, and every record passes the same checks as the tag's.
func FuzzSnowplowHit(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("internal", "snowplow", "testdata", "browser-tracker-4.6.8-get.txt"))
	require.NoError(f, err)
	for _, q := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f.Add(q)
	}
	sink := new(consumertest.LogsSink)
	r := newFuzzReceiver(f, sink)
	r.cfg.Protocols.Snowplow = defaultSnowplowConfig()
	r.cfg.Protocols.Snowplow.Enabled = true
	r.snowplow.AppIDs = map[string]string{"shop-web": "shop"}
	r.snowplow.PagePing = r.cfg.Protocols.Snowplow.PagePingInterval
	f.Fuzz(func(t *testing.T, query string) {
		sink.Reset()
		req := httptest.NewRequest(http.MethodGet, "/i", http.NoBody)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), transparentGIF) {
			t.Fatalf("%d %q is not the GIF", rec.Code, rec.Body.String())
		}
		if sink.LogRecordCount() > 1 {
			t.Fatalf("%d records from one hit", sink.LogRecordCount())
		}
		checkRecords(t, sink)
	})
}

// Snowplow events through the default processors: the tracker's ids are
// pseudonymised like ours, and its consent signals decide like the tag's
// (opt-in policy: anonymous without consent, kept with it).
func TestSnowplowThroughPipeline(t *testing.T) {
	const path = "/com.snowplowanalytics.snowplow/tp2"
	allowAll := base64.RawURLEncoding.EncodeToString([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.snowplowanalytics.snowplow/consent_preferences/jsonschema/1-0-0","data":{"eventType":"allow_all","basisForProcessing":"consent","consentUrl":"https://shop.example/privacy","consentVersion":"3","consentScopes":["necessary","analytics"],"domainsApplied":["shop.example"]}}}`))
	for _, tc := range []struct {
		name    string
		members []map[string]string
		kept    bool
	}{
		{"no consent", []map[string]string{spEvent("pv", "uid", "customer-7")}, false},
		{"allow_all", []map[string]string{spEvent("ue", "ue_px", allowAll), spEvent("pv", "uid", "customer-7")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			r := newPipeline(t, consentprocessor.PolicyOptIn, sink)
			r.cfg.Protocols.Snowplow.Enabled = true
			r.snowplow.AppIDs = map[string]string{"shop-web": "shop"}
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(spBody(t, tc.members...)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", browserUA)
			rec := httptest.NewRecorder()
			r.route(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

			var pv map[string]any
			for _, lr := range allRecords(sink) {
				if lr.EventName() == eventmodel.EventPageView {
					pv = lr.Attributes().AsRaw()
				}
			}
			require.NotNil(t, pv)
			assert.Equal(t, eventmodel.ChannelSnowplow, pv[eventmodel.AttrIngestChannel])
			raw := fmt.Sprint(pv)
			assert.NotContains(t, raw, spDUID, "the tracker's id is never stored as sent")
			assert.NotContains(t, raw, "customer-7")
			if !tc.kept {
				assert.Equal(t, eventmodel.DecisionAnonymous, pv[eventmodel.AttrConsentDecision])
				assert.NotContains(t, pv, eventmodel.AttrVisitorID)
				assert.NotContains(t, pv, eventmodel.AttrUserID)
				return
			}
			assert.Equal(t, eventmodel.DecisionKeep, pv[eventmodel.AttrConsentDecision])
			assert.Equal(t, eventmodel.ConsentGranted, pv[eventmodel.AttrConsentAnalytics])
			assert.NotEmpty(t, pv[eventmodel.AttrVisitorID], "pseudonymised")
			assert.NotEmpty(t, pv[eventmodel.AttrUserID], "pseudonymised")
		})
	}
}

// A visitor lands on a Snowplow-tagged page and converts on a
// Matomo-tagged checkout of the same site. With the collector under the
// site's domain (server cookie mode), the receiver's own first-party
// cookies give both trackers' events one visitor and one session, as if
// one tag had run; each tracker's own id is not what joins them.
func TestSnowplowThenMatomoOneVisitor(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.Protocols.Snowplow.Enabled = true
		cfg.Protocols.Matomo.Enabled = true
		shop := testSite("shop")
		shop.Protocols.Snowplow.AppIDs = []string{"shop-web"}
		shop.Protocols.Matomo.SiteIDs = []int{1}
		shop.Cookies.Mode = CookieModeServer
		shop.Consent.Required = false
		cfg.Sites = []SiteConfig{shop}
	})
	send := func(method, target, body string, header map[string]string, cookies []*http.Cookie) response {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, e.base+target, rd)
		require.NoError(t, err)
		req.Host = "collect.shop.example"
		for k, v := range header {
			req.Header.Set(k, v)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return e.do(req)
	}
	landing := spEvent("pv", "url", "https://shop.example/shoes?utm_source=newsletter&utm_medium=email")
	resp := send(http.MethodPost, "/com.snowplowanalytics.snowplow/tp2", spBody(t, landing), spHeader, nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	cookies := (&http.Response{Header: resp.header}).Cookies()
	require.NotEmpty(t, cookies, "the receiver's first-party cookies")

	checkout := url.Values{"idsite": {"1"}, "rec": {"1"}, "url": {"https://shop.example/checkout/done"}, "_id": {"0123456789abcdef"},
		"idgoal": {"0"}, "ec_id": {"order-1"}, "revenue": {"99.90"}}
	resp = send(http.MethodGet, "/matomo.php?"+checkout.Encode(), "", map[string]string{"User-Agent": browserUA, "Referer": "https://shop.example/checkout/done"}, cookies)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))

	records := allRecords(sink)
	require.Len(t, records, 2)
	sp, mt := records[0].Attributes().AsRaw(), records[1].Attributes().AsRaw()
	assert.Equal(t, eventmodel.ChannelSnowplow, sp[eventmodel.AttrIngestChannel])
	assert.Equal(t, eventmodel.ChannelMatomo, mt[eventmodel.AttrIngestChannel])
	assert.NotEmpty(t, sp[eventmodel.AttrVisitorID])
	assert.NotEqual(t, spDUID, sp[eventmodel.AttrVisitorID], "the site's one first-party id, not the tracker's")
	assert.Equal(t, sp[eventmodel.AttrVisitorID], mt[eventmodel.AttrVisitorID], "one visitor")
	assert.Equal(t, sp[eventmodel.AttrSessionID], mt[eventmodel.AttrSessionID], "one session")
	assert.Equal(t, "newsletter", sp[eventmodel.AttrCampaignSource])
}
