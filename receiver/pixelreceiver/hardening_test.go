package pixelreceiver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

func pageHit(site, page string, extra ...string) string {
	q := url.Values{"s": {site}, "url": {page}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/p.gif?" + q.Encode()
}

func lastAttrs(t *testing.T, sink *consumertest.LogsSink) map[string]any {
	t.Helper()
	all := sink.AllLogs()
	require.NotEmpty(t, all)
	ld := all[len(all)-1]
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	return lr.Attributes().AsRaw()
}

func TestTagEndpoint(t *testing.T) {
	e := startReceiver(t, new(consumertest.LogsSink))
	resp := e.request(http.MethodGet, "/wj.js", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, "text/javascript; charset=utf-8", resp.header.Get("Content-Type"))
	assert.Equal(t, tagCacheControl, resp.header.Get("Cache-Control"))
	assert.Equal(t, "nosniff", resp.header.Get("X-Content-Type-Options"))
	etag := resp.header.Get("ETag")
	require.Regexp(t, `^"[^"]+"$`, etag)
	assert.Equal(t, e.rcv.tag.script.Code, resp.body)
	assert.Contains(t, string(resp.body), `"/b"`, "the beacon path is built in")

	// Revalidation answers 304 without a body.
	notModified := e.request(http.MethodGet, "/wj.js", "", map[string]string{"If-None-Match": `"other", ` + etag})
	assert.Equal(t, http.StatusNotModified, notModified.status)
	assert.Empty(t, notModified.body)

	// gzip when the client accepts it (the transport's own gzip handling is
	// off when the request sets Accept-Encoding itself).
	gz := e.request(http.MethodGet, "/wj.js", "", map[string]string{"Accept-Encoding": "br, gzip"})
	require.Equal(t, "gzip", gz.header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(gz.body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, e.rcv.tag.script.Code, plain)
	assert.Contains(t, gz.header.Values("Vary"), "Accept-Encoding")
	noGzip := e.request(http.MethodGet, "/wj.js", "", map[string]string{"Accept-Encoding": "gzip;q=0"})
	assert.Empty(t, noGzip.header.Get("Content-Encoding"))

	post := e.request(http.MethodPost, "/wj.js", "x", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, post.status)
}

func TestTagRenamed(t *testing.T) {
	e := startReceiver(t, new(consumertest.LogsSink), func(cfg *Config) {
		cfg.TagPath, cfg.TagGlobal, cfg.BeaconPath, cfg.ConfigPath = "/assets/app.js", "siteStats", "/assets/e", "/assets/c"
	})
	resp := e.request(http.MethodGet, "/assets/app.js", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	body := string(resp.body)
	assert.Contains(t, body, "siteStats")
	assert.Contains(t, body, "/assets/e")
	assert.NotContains(t, body, "webjourney", "no fixed name an ad-blocker list could match")
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodGet, "/wj.js", "", nil).status)
}

func TestConfigEndpoint(t *testing.T) {
	e := startReceiver(t, new(consumertest.LogsSink), func(cfg *Config) {
		shop := testSite("shop")
		shop.AllowedOrigins = []string{"https://shop.example"}
		shop.WriteKey = "secret-key"
		shop.ReferralPartners = []ReferralPartnerConfig{
			{Name: "archipro", Param: "__apid", AttributionWindow: 30 * 24 * time.Hour},
			{Name: "trackier", Domains: []string{"Trackier.io"}, AttributionWindow: 36 * time.Hour},
		}
		cfg.Sites = []SiteConfig{shop, testSite("blog")}
	})
	resp := e.request(http.MethodGet, "/wj/config?s=shop", "", map[string]string{"Origin": "https://shop.example"})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, "https://shop.example", resp.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, configCacheControl, resp.header.Get("Cache-Control"))
	assert.NotContains(t, string(resp.body), "secret-key", "the write key is never published")
	var got tagConfig
	require.NoError(t, json.Unmarshal(resp.body, &got))
	assert.Equal(t, "shop", got.Site)
	assert.True(t, got.Consent.Required)
	assert.Equal(t, 395, got.Cookies.MaxAgeDays)
	assert.Equal(t, 30, got.SessionIdleMinutes)
	assert.Equal(t, []tagPartner{
		{Name: "archipro", Param: "__apid", Domains: []string{}, WindowDays: 30},
		{Name: "trackier", Domains: []string{"trackier.io"}, WindowDays: 2},
	}, got.ReferralPartners)
	// The page (shop.example) and the collector (127.0.0.1) are different
	// sites, so the tag keeps the cookies itself.
	assert.Equal(t, CookieModeScript, got.Cookies.Mode)

	// The collector under the site's own domain: the receiver keeps them.
	req, _ := http.NewRequest(http.MethodGet, e.base+"/wj/config?s=shop", nil)
	req.Host = "stats.shop.example"
	req.Header.Set("Origin", "https://shop.example")
	require.NoError(t, json.Unmarshal(e.do(req).body, &got))
	assert.Equal(t, CookieModeServer, got.Cookies.Mode)

	unknown := e.request(http.MethodGet, "/wj/config?s=nope", "", nil)
	assert.Equal(t, http.StatusNotFound, unknown.status)
	assert.Equal(t, "unknown_site", requireJSON(t, unknown)["error"])
	foreign := e.request(http.MethodGet, "/wj/config?s=shop", "", map[string]string{"Origin": "https://evil.example"})
	assert.Equal(t, http.StatusForbidden, foreign.status)
	assert.Empty(t, foreign.header.Get("Access-Control-Allow-Origin"))
}

func TestOriginsAndWriteKey(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		shop := testSite("shop")
		shop.AllowedOrigins = []string{"https://shop.example"}
		shop.WriteKey = "k-1"
		cfg.Sites = []SiteConfig{shop}
	})
	body := `{"site":"shop","key":"k-1","events":[{"url":"https://shop.example/"}]}`
	ok := e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "text/plain", "Origin": "https://shop.example"})
	require.Equal(t, http.StatusOK, ok.status, string(ok.body))

	foreign := e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"})
	assert.Equal(t, http.StatusForbidden, foreign.status)
	assert.Equal(t, "origin_not_allowed", requireJSON(t, foreign)["error"])
	assert.Empty(t, foreign.header.Get("Access-Control-Allow-Origin"))

	noKey := e.request(http.MethodPost, "/b", strings.Replace(body, `"key":"k-1",`, "", 1), map[string]string{"Content-Type": "text/plain"})
	assert.Equal(t, http.StatusForbidden, noKey.status)
	assert.Equal(t, "invalid_write_key", requireJSON(t, noKey)["error"])

	copied := e.request(http.MethodGet, pageHit("shop", "https://copycat.example/", "k", "k-1"), "", nil)
	assert.Equal(t, http.StatusOK, copied.status, "a pixel always gets its GIF")
	assert.Equal(t, 1, sink.LogRecordCount())
	e.requireRejections(
		rejection{"beacon", "invalid_write_key", 1},
		rejection{"beacon", "origin_not_allowed", 1},
		rejection{"pixel", "origin_not_allowed", 1},
	)
}

func TestRateLimit(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.RateLimit = RateLimitConfig{RequestsPerSecond: 0.001, Burst: 2, MaxClients: 10}
	})
	for range 3 {
		resp := e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", nil)
		assert.Equal(t, http.StatusOK, resp.status, "a pixel always gets its GIF")
	}
	resp := e.request(http.MethodPost, "/b", `{"site":"shop","events":[{"url":"https://shop.example/"}]}`, jsonHeader)
	assert.Equal(t, http.StatusTooManyRequests, resp.status)
	assert.Equal(t, "1", resp.header.Get("Retry-After"))
	assert.Equal(t, 2, sink.LogRecordCount())
	e.requireRejections(rejection{"pixel", "rate_limited", 1}, rejection{"beacon", "rate_limited", 1})
}

func TestBots(t *testing.T) {
	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	drop := new(consumertest.LogsSink)
	e := startReceiver(t, drop, func(cfg *Config) { cfg.Bots.Action = BotActionDrop })
	e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", map[string]string{"User-Agent": googlebot})
	resp := e.request(http.MethodPost, "/b", `{"site":"shop","automation":true,"events":[{"url":"https://shop.example/"},{"url":"https://shop.example/2"}]}`,
		map[string]string{"Content-Type": "text/plain", "User-Agent": browserUA})
	assert.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, "bot", requireJSON(t, resp)["error"])
	e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", map[string]string{"User-Agent": browserUA})
	assert.Equal(t, 1, drop.LogRecordCount(), "only the browser's hit is kept")
	e.requireRejections(rejection{"pixel", "bot", 1}, rejection{"beacon", "bot", 2})

	mark := new(consumertest.LogsSink)
	m := startReceiver(t, mark, func(cfg *Config) { cfg.Bots.Action = BotActionMark })
	m.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", map[string]string{"User-Agent": googlebot})
	a := lastAttrs(t, mark)
	assert.Equal(t, true, a[eventmodel.AttrBot])
	assert.Equal(t, eventmodel.BotReasonUserAgent, a[eventmodel.AttrBotReason])
}

func TestTrustedProxies(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) { cfg.TrustedProxies = []string{"127.0.0.1"} })
	e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", map[string]string{"X-Forwarded-For": "203.0.113.9"})
	assert.Equal(t, "203.0.113.9", lastAttrs(t, sink)[eventmodel.AttrClientAddress])

	untrusted := new(consumertest.LogsSink)
	u := startReceiver(t, untrusted)
	u.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", map[string]string{"X-Forwarded-For": "203.0.113.9"})
	assert.Equal(t, "127.0.0.1", lastAttrs(t, untrusted)[eventmodel.AttrClientAddress], "forged header ignored")
}

// serverCookieEnv runs a site whose collector is under the site's domain.
func serverCookieEnv(t *testing.T, sink *consumertest.LogsSink, consentRequired bool) *testEnv {
	return startReceiver(t, sink, func(cfg *Config) {
		shop := testSite("shop")
		shop.Consent.Required = consentRequired
		shop.Cookies.Mode = CookieModeServer
		shop.ReferralPartners = []ReferralPartnerConfig{
			{Name: "archipro", Param: "__apid", AttributionWindow: 48 * time.Hour},
			{Name: "trackier", Domains: []string{"trackier.io"}, AttributionWindow: 24 * time.Hour},
		}
		cfg.Sites = []SiteConfig{shop}
	})
}

func cookieMap(resp response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: resp.header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

func TestServerCookies(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := serverCookieEnv(t, sink, false)
	landing := `{"site":"shop","events":[{"type":"page_view","url":"https://shop.example/?__apid=ap-9"}]}`
	first := e.request(http.MethodPost, "/b", landing, map[string]string{"Content-Type": "text/plain"})
	require.Equal(t, http.StatusOK, first.status, string(first.body))
	jar := cookieMap(first)
	require.Contains(t, jar, "_wjid")
	vc := jar["_wjid"]
	assert.True(t, vc.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, vc.SameSite)
	assert.False(t, vc.Secure, "plain http")
	assert.WithinDuration(t, time.Now().Add(maxCookieAge), vc.Expires, time.Minute)
	assert.Equal(t, 30*60, jar["_wjses"].MaxAge)
	assert.Equal(t, "archipro:ap-9", jar["_wjref"].Value)
	assert.Equal(t, 48*3600, jar["_wjref"].MaxAge)
	a := lastAttrs(t, sink)
	vid := a[eventmodel.AttrVisitorID]
	assert.Equal(t, strings.SplitN(vc.Value, ".", 2)[0], vid)
	assert.Equal(t, "archipro", a[eventmodel.AttrReferralPartner])
	assert.Equal(t, true, a[eventmodel.AttrReferralLanding], "the landing is marked")
	assert.Equal(t, (48 * time.Hour).Milliseconds(), a[eventmodel.AttrReferralWindow])

	// The next request sends the cookies back: same visitor and session,
	// the referral carried on, and the visitor cookie is not re-set (so
	// never extended); HTTPS behind the proxy would make them Secure.
	cookies := "_wjid=" + vc.Value + "; _wjses=" + jar["_wjses"].Value + "; _wjref=" + jar["_wjref"].Value
	next := e.request(http.MethodPost, "/b", `{"site":"shop","events":[{"type":"custom","name":"x","url":"https://shop.example/p"}]}`,
		map[string]string{"Content-Type": "text/plain", "Cookie": cookies})
	require.Equal(t, http.StatusOK, next.status)
	a = lastAttrs(t, sink)
	assert.Equal(t, vid, a[eventmodel.AttrVisitorID])
	assert.Equal(t, jar["_wjses"].Value, a[eventmodel.AttrSessionID])
	assert.Equal(t, "ap-9", a[eventmodel.AttrReferralClickID])
	assert.Equal(t, "archipro", a[eventmodel.AttrReferralPartner])
	assert.Equal(t, (48 * time.Hour).Milliseconds(), a[eventmodel.AttrReferralWindow], "the window travels with the partner")
	assert.NotContains(t, a, eventmodel.AttrReferralLanding, "carried by the cookie: not a landing")
	assert.NotContains(t, cookieMap(next), "_wjid")
	assert.Contains(t, cookieMap(next), "_wjses", "the session cookie slides")

	// Withdrawal: the consent event carries the ids it withdraws, then
	// every cookie is expired.
	withdraw := e.request(http.MethodPost, "/b", `{"site":"shop","consent":{"analytics":"denied"},"events":[{"type":"consent","url":"https://shop.example/p"}]}`,
		map[string]string{"Content-Type": "text/plain", "Cookie": cookies})
	require.Equal(t, http.StatusOK, withdraw.status)
	assert.Equal(t, vid, lastAttrs(t, sink)[eventmodel.AttrVisitorID])
	for _, name := range []string{"_wjid", "_wjses", "_wjref"} {
		c := cookieMap(withdraw)[name]
		require.NotNil(t, c, name)
		assert.Equal(t, -1, c.MaxAge, name)
	}
}

// A referrer on a partner's domain is the partner's referral too: the
// receiver keeps it in the referral cookie, without a click id.
func TestReferralByPartnerDomain(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := serverCookieEnv(t, sink, false)
	landing := `{"site":"shop","events":[{"type":"page_view","url":"https://shop.example/","referrer":"https://app.trackier.io/offers/1"},
		{"type":"custom","name":"x","url":"https://shop.example/"}]}`
	first := e.request(http.MethodPost, "/b", landing, map[string]string{"Content-Type": "text/plain"})
	require.Equal(t, http.StatusOK, first.status, string(first.body))
	ref := cookieMap(first)["_wjref"]
	require.NotNil(t, ref)
	assert.Equal(t, "trackier:", ref.Value)
	assert.Equal(t, 24*3600, ref.MaxAge)
	records := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	pv, custom := records.At(0).Attributes().AsRaw(), records.At(1).Attributes().AsRaw()
	for _, a := range []map[string]any{pv, custom} {
		assert.Equal(t, "trackier", a[eventmodel.AttrReferralPartner])
		assert.Equal(t, (24 * time.Hour).Milliseconds(), a[eventmodel.AttrReferralWindow])
		assert.NotContains(t, a, eventmodel.AttrReferralClickID)
	}
	assert.Equal(t, true, pv[eventmodel.AttrReferralLanding])
	assert.NotContains(t, custom, eventmodel.AttrReferralLanding, "only the page view is the landing")

	next := e.request(http.MethodPost, "/b", `{"site":"shop","events":[{"type":"page_view","url":"https://shop.example/p","referrer":"https://shop.example/"}]}`,
		map[string]string{"Content-Type": "text/plain", "Cookie": "_wjref=" + ref.Value})
	require.Equal(t, http.StatusOK, next.status)
	a := lastAttrs(t, sink)
	assert.Equal(t, "trackier", a[eventmodel.AttrReferralPartner])
	assert.NotContains(t, a, eventmodel.AttrReferralLanding)
	assert.NotContains(t, a, eventmodel.AttrReferralClickID)
	assert.NotContains(t, cookieMap(next), "_wjref", "the cookie is not extended")

	// A referral cookie naming a partner no longer configured is ignored.
	e.request(http.MethodPost, "/b", `{"site":"shop","events":[{"type":"page_view","url":"https://shop.example/p"}]}`,
		map[string]string{"Content-Type": "text/plain", "Cookie": "_wjref=gone:x1"})
	assert.NotContains(t, lastAttrs(t, sink), eventmodel.AttrReferralPartner)
}

// A cookieless landing still names its partner (which partner a landing
// came from is no identifier, like the referrer's domain that anonymous
// events keep), but not the click id, nor in its URL, and no cookie is set.
func TestCookielessLandingNamesItsPartner(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := serverCookieEnv(t, sink, false)
	resp := e.request(http.MethodPost, "/b", `{"site":"shop","cookieless":true,"referral":{"partner":"archipro","click_id":"ap-0"},
		"events":[{"type":"page_view","url":"https://shop.example/?__apid=ap-1&utm_source=ap#top"}]}`, map[string]string{"Content-Type": "text/plain"})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Empty(t, resp.header.Values("Set-Cookie"))
	a := lastAttrs(t, sink)
	assert.Equal(t, "archipro", a[eventmodel.AttrReferralPartner])
	assert.Equal(t, true, a[eventmodel.AttrReferralLanding])
	assert.Equal(t, (48 * time.Hour).Milliseconds(), a[eventmodel.AttrReferralWindow])
	assert.NotContains(t, a, eventmodel.AttrReferralClickID)
	// Downstream stages strip a click id's parameter only when the event
	// still names the value: the receiver strips what it forgets.
	assert.Equal(t, "https://shop.example/?utm_source=ap#top", a[eventmodel.AttrURLFull])
	assert.Equal(t, "utm_source=ap", a[eventmodel.AttrURLQuery])

	// The landing page's later events (engagement, a consent choice) and
	// the next page's referrer carry the landing's URL: stripped too.
	e.request(http.MethodPost, "/b", `{"site":"shop","cookieless":true,
		"events":[{"type":"engagement","engaged_ms":1000,"url":"https://shop.example/?__apid=ap-1"},
		{"type":"page_view","url":"https://shop.example/p","referrer":"https://shop.example/?x=1&__apid=ap-1"}]}`, map[string]string{"Content-Type": "text/plain"})
	records := sink.AllLogs()[len(sink.AllLogs())-1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range records.Len() {
		all := fmt.Sprint(records.At(i).Attributes().AsRaw())
		assert.NotContains(t, all, "ap-1", "a cookieless event carries the click id")
	}
	assert.Equal(t, "https://shop.example/?x=1", records.At(1).Attributes().AsRaw()[eventmodel.AttrReferrerFull])

	// Not a landing: nothing of the tag's referral is kept.
	e.request(http.MethodPost, "/b", `{"site":"shop","cookieless":true,"referral":{"partner":"archipro","click_id":"ap-0"},
		"events":[{"type":"page_view","url":"https://shop.example/p"}]}`, map[string]string{"Content-Type": "text/plain"})
	a = lastAttrs(t, sink)
	for _, k := range []string{eventmodel.AttrReferralPartner, eventmodel.AttrReferralClickID, eventmodel.AttrReferralWindow, eventmodel.AttrReferralLanding} {
		assert.NotContains(t, a, k)
	}
}

func TestNoCookiesWithoutConsent(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := serverCookieEnv(t, sink, true)
	for _, body := range []string{
		// Consent required and not given.
		`{"site":"shop","events":[{"url":"https://shop.example/?__apid=ap-1"}]}`,
		// The tag says cookieless; ids it sent anyway are removed.
		`{"site":"shop","cookieless":true,"visitor_id":"v-1","session_id":"s-1","user_id":"u-1","consent":{"analytics":"granted"},"events":[{"url":"https://shop.example/"}]}`,
		// GPC, honoured by default.
		`{"site":"shop","gpc":true,"consent":{"analytics":"granted"},"events":[{"url":"https://shop.example/"}]}`,
	} {
		resp := e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "text/plain", "Cookie": "_wjid=old-visitor.1700000000"})
		require.Equal(t, http.StatusOK, resp.status, string(resp.body))
		assert.Empty(t, resp.header.Values("Set-Cookie"), body)
		a := lastAttrs(t, sink)
		assert.NotEqual(t, "old-visitor", a[eventmodel.AttrVisitorID], "no cookie is read either")
	}
	a := lastAttrs(t, sink)
	assert.Equal(t, true, a[eventmodel.AttrGPC])
	cookieless := sink.AllLogs()[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	for _, k := range []string{eventmodel.AttrVisitorID, eventmodel.AttrSessionID, eventmodel.AttrUserID} {
		assert.NotContains(t, cookieless, k)
	}

	granted := e.request(http.MethodPost, "/b", `{"site":"shop","consent":{"analytics":"granted"},"events":[{"url":"https://shop.example/"}]}`,
		map[string]string{"Content-Type": "text/plain"})
	assert.Contains(t, cookieMap(granted), "_wjid", "consent granted: cookies")
}

func TestSecureCookieBehindTLSProxy(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		shop := testSite("shop")
		shop.Consent.Required = false
		shop.Cookies.Mode = CookieModeServer
		cfg.Sites = []SiteConfig{shop}
		cfg.TrustedProxies = []string{"127.0.0.0/8"}
	})
	resp := e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", map[string]string{"X-Forwarded-Proto": "https"})
	c := cookieMap(resp)["_wjid"]
	require.NotNil(t, c)
	assert.True(t, c.Secure)
}

func TestCORSReflectsOnlyWellFormedOrigins(t *testing.T) {
	e := startReceiver(t, new(consumertest.LogsSink)) // sites allow any origin
	for _, hostile := range []string{"null", "javascript:alert(1)", "https://a.example/path", "https://user@a.example",
		"https://a.example?x=1", "file://", "https://a.example\"><script>", "https://ä.example"} {
		resp := e.request(http.MethodOptions, "/b", "", map[string]string{"Origin": hostile, "Access-Control-Request-Method": "POST"})
		assert.Empty(t, resp.header.Get("Access-Control-Allow-Origin"), hostile)
	}
	ok := e.request(http.MethodOptions, "/b", "", map[string]string{"Origin": "http://localhost:8080"})
	assert.Equal(t, "http://localhost:8080", ok.header.Get("Access-Control-Allow-Origin"))
}
