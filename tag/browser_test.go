package tag

// A real browser runs the built tag against a recording collector: these
// tests check what the tag sends, field by field, and what it keeps in the
// browser. The real collector's end-to-end test lives elsewhere.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/test/testenv"
)

const (
	browserTimeout = 90 * time.Second // the whole browser, whatever happens
	caseTimeout    = 25 * time.Second // one test case
	waitTimeout    = 8 * time.Second  // one expected beacon
)

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// request is one request the collector received.
type request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// beacon is a decoded beacon body. Fields keeps every key, to check that
// nothing unexpected is sent.
type beacon struct {
	Site       string            `json:"site"`
	Key        string            `json:"key"`
	VisitorID  string            `json:"visitor_id"`
	SessionID  string            `json:"session_id"`
	UserID     string            `json:"user_id"`
	Referral   *referral         `json:"referral"`
	Cookieless bool              `json:"cookieless"`
	Consent    map[string]string `json:"consent"`
	GPC        bool              `json:"gpc"`
	TCF        *struct {
		GDPRApplies *bool  `json:"gdpr_applies"`
		TCString    string `json:"tc_string"`
	} `json:"tcf"`
	Automation bool             `json:"automation"`
	SentAt     float64          `json:"sent_at"`
	Events     []map[string]any `json:"events"`
	Fields     map[string]json.RawMessage
	req        *request
}

type referral struct {
	Partner string `json:"partner"`
	ClickID string `json:"click_id"`
}

// event is one event with the beacon that carried it.
type event struct {
	m map[string]any
	b *beacon
}

func (e event) str(k string) string { s, _ := e.m[k].(string); return s }
func (e event) num(k string) float64 {
	n, ok := e.m[k].(float64)
	if !ok {
		return -1
	}
	return n
}

// collector records every request and serves the tag, the per-site config
// and the beacon endpoint.
type collector struct {
	mu       sync.Mutex
	reqs     []*request
	script   []byte
	configs  map[string]map[string]any
	origin   string // the collector's own origin
	pageSite string // the test site's origin
	// statuses are the answers to a site's successive beacons; then 200.
	statuses map[string][]int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, &request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	c.mu.Unlock()
	if o := r.Header.Get("Origin"); o != "" {
		// Credentialed requests (server cookie mode) need the origin, not *.
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	switch r.URL.Path {
	case DefaultTagPath:
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(c.script)
	case DefaultConfigPath:
		cfg, ok := c.configs[r.URL.Query().Get("s")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(cfg)
	case DefaultBeaconPath:
		var b struct{ Site string }
		_ = json.Unmarshal(body, &b)
		status := http.StatusOK
		c.mu.Lock()
		if st := c.statuses[b.Site]; len(st) > 0 {
			status, c.statuses[b.Site] = st[0], st[1:]
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = w.Write([]byte(`{"accepted":1}`))
		} else {
			_, _ = w.Write([]byte(`{"reason":"test","message":"test"}`))
		}
	default:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>elsewhere</title><p>elsewhere`))
	}
}

func (c *collector) requests() []*request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reqs)
}

// beacons decodes the beacons of one site.
func (c *collector) beacons(t *testing.T, site string) []*beacon {
	t.Helper()
	var out []*beacon
	for _, r := range c.requests() {
		if r.Path != DefaultBeaconPath {
			continue
		}
		b := &beacon{req: r}
		if err := json.Unmarshal(r.Body, b); err != nil {
			t.Fatalf("beacon body %q: %v", r.Body, err)
		}
		if err := json.Unmarshal(r.Body, &b.Fields); err != nil {
			t.Fatal(err)
		}
		if b.Site == site {
			out = append(out, b)
		}
	}
	return out
}

func (c *collector) events(t *testing.T, site string) []event {
	t.Helper()
	var out []event
	for _, b := range c.beacons(t, site) {
		for _, e := range b.Events {
			out = append(out, event{e, b})
		}
	}
	return out
}

// waitFor polls the site's events until cond holds for them.
func (c *collector) waitFor(t *testing.T, site, what string, cond func([]event) bool) []event {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		evs := c.events(t, site)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gave up waiting for %s; events: %s", site, what, dump(evs))
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// waitType waits for the n-th event of a type (counting from 1) and returns it.
func (c *collector) waitType(t *testing.T, site, typ string, n int) event {
	t.Helper()
	evs := c.waitFor(t, site, fmt.Sprintf("%d %s event(s)", n, typ), func(evs []event) bool { return len(ofType(evs, typ)) >= n })
	return ofType(evs, typ)[n-1]
}

func ofType(evs []event, typ string) []event {
	var out []event
	for _, e := range evs {
		if e.str("type") == typ {
			out = append(out, e)
		}
	}
	return out
}

func dump(evs []event) string {
	var sb strings.Builder
	for _, e := range evs {
		b, _ := json.Marshal(e.m)
		fmt.Fprintf(&sb, "\n  %s", b)
	}
	return sb.String()
}

// siteConfig is a per-site config as the receiver serves it.
func siteConfig(id string, mode string, required, gpc, tcf bool) map[string]any {
	return map[string]any{
		"site":                 id,
		"consent":              map[string]any{"required": required, "honor_gpc": gpc, "tcf": tcf},
		"cookies":              map[string]any{"mode": mode, "visitor": "_wjid", "session": "_wjses", "referral": "_wjref", "max_age_days": 30},
		"session_idle_minutes": 30,
		"referral_partners": []any{
			map[string]any{"name": "archipro", "param": "__apid", "domains": []string{}, "window_days": 7},
			map[string]any{"name": "trackier", "param": "", "domains": []string{"trackier.example"}, "window_days": 2},
		},
		"search_params":       []string{"q", "s", "search"},
		"download_extensions": []string{"pdf", "zip", "csv"},
		"track": map[string]bool{"page_views": true, "spa": true, "engagement": true, "outbound": true,
			"downloads": true, "forms": true, "search": true},
	}
}

// env is the browser, the recording collector and the test site.
type env struct {
	col     *collector
	site    *httptest.Server
	browser context.Context
	pre     map[string]string // site id -> script run before the tag
	keys    map[string]string // site id -> data-key
	siteReq []*request
	mu      sync.Mutex
}

const stub = `window.webjourney=window.webjourney||function(){(webjourney.q=webjourney.q||[]).push(arguments)};`

// page is the test site's page: /s/<site>/<name>.
const pageBody = `<h1 id="top">%[1]s</h1>
<p><a id="internal" href="/s/%[2]s/other.html">internal</a>
<a id="dl-pdf" href="/files/Report.PDF?v=2">pdf</a>
<a id="dl-attr" href="/export?id=7" download>export</a>
<a id="out-mid" href="%[3]s/mid">partner</a>
<a id="out" href="%[3]s/landing?from=test">partner</a>
<a id="mail" href="mailto:someone@example.org">mail</a></p>
<form id="checkout" name="checkout" method="post" action="/s/%[2]s/thanks.html?order=1#done">
 <input id="email" name="email" type="email" autocomplete="email">
 <input id="phone" name="phone" type="tel">
 <input id="card" name="cardnumber" autocomplete="cc-number">
 <input id="pw" name="pw" type="password">
 <input type="hidden" name="csrf" value="secret-csrf-token">
 <button id="checkout-submit" type="submit">Pay</button>
</form>
<form id="newsletter" name="nl" method="post" action="/s/%[2]s/done.html?x=1">
 <input id="nl-email" name="email" type="email">
 <input id="nl-name" name="fullname">
 <select name="topic"><option>a</option></select>
 <input type="hidden" name="src" value="footer">
 <input type="submit" id="nl-submit" value="Join">
</form>
<div style="height:4000px"></div><p id="bottom">end</p>
<script>
// Keep the test on this page for links that are only there to be clicked.
for (const id of ['internal', 'dl-pdf', 'dl-attr', 'out-mid', 'mail']) {
  const a = document.getElementById(id)
  a.addEventListener('click', (e) => e.preventDefault())
  a.addEventListener('auxclick', (e) => e.preventDefault())
}
</script>`

func (e *env) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	e.mu.Lock()
	e.siteReq = append(e.siteReq, &request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone()})
	e.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "s" {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("a file"))
		return
	}
	site, name := parts[1], strings.TrimSuffix(parts[2], ".html")
	key := ""
	if k := e.keys[site]; k != "" {
		key = ` data-key="` + k + `"`
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>%s page</title>
<script>%s
%s</script>
<script async src="%s/wj.js" data-site="%s"%s></script>
</head><body>`, name, stub, e.pre[site], e.col.origin, site, key)
	fmt.Fprintf(w, pageBody, name, site, e.col.origin)
}

func (e *env) url(site, path string) string { return e.site.URL + "/s/" + site + "/" + path }

// newEnv starts the collector, the site and one headless browser.
func newEnv(t *testing.T) *env {
	t.Helper()
	browser := testenv.Browser(t, browserTimeout)
	s, err := Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{script: s.Code, configs: map[string]map[string]any{}, statuses: map[string][]int{}}
	colSrv := httptest.NewServer(col)
	t.Cleanup(colSrv.Close)
	col.origin = colSrv.URL
	e := &env{col: col, pre: map[string]string{}, keys: map[string]string{}}
	e.site = httptest.NewServer(e)
	t.Cleanup(e.site.Close)
	col.pageSite = e.site.URL

	e.browser = browser
	return e
}

// addSite registers a site's config and the script its pages run before the tag.
func (e *env) addSite(cfg map[string]any, pre string) string {
	id := cfg["site"].(string)
	e.col.configs[id] = cfg
	e.pre[id] = pre
	return id
}

// tab opens a tab in a fresh browser context (its own cookie jar), with
// the init scripts run before any page script.
func (e *env) tab(t *testing.T, initScripts ...string) context.Context {
	t.Helper()
	tctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(tctx, caseTimeout)
	t.Cleanup(cancelTimeout)
	for _, src := range initScripts {
		run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
			return err
		}))
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// do runs statements in the page.
func do(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	eval[float64](t, ctx, js+"\n;0")
}

func cookies(t *testing.T, ctx context.Context, url string) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

func setCookie(t *testing.T, ctx context.Context, url, name, value string, expires time.Time) {
	t.Helper()
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: name, Value: value, URL: url, Path: "/", SameSite: network.CookieSameSiteLax,
			Expires: cdp.TimeSinceEpoch(expires.Unix()),
		})
		return err
	}))
}

// pageView loads a page and waits for its page view.
func (e *env) pageView(t *testing.T, ctx context.Context, site, path string, n int) event {
	t.Helper()
	run(t, ctx, chromedp.Navigate(e.url(site, path)))
	return e.col.waitType(t, site, "page_view", n)
}

// wireKeys asserts the exact set of top-level beacon fields.
func wireKeys(t *testing.T, b *beacon, want ...string) {
	t.Helper()
	var got []string
	for k := range b.Fields {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("beacon fields = %v, want %v\n%s", got, want, b.req.Body)
	}
}

func eventKeys(t *testing.T, e event, want ...string) {
	t.Helper()
	var got []string
	for k := range e.m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s event fields = %v, want %v", e.str("type"), got, want)
	}
}

var commonEventKeys = []string{"type", "id", "ts", "url", "page_view_id"}

// addSites registers every site before the cases run in parallel.
func (e *env) addSites() {
	e.addSite(siteConfig("basic", "script", false, true, false), "")
	e.addSite(siteConfig("spa", "script", false, true, false), "")
	e.addSite(siteConfig("eng", "script", false, true, false), "")
	e.addSite(siteConfig("eng2", "script", false, true, false), "")
	e.addSite(siteConfig("clicks", "script", false, true, false), "")
	e.addSite(siteConfig("forms", "script", false, true, false), "")
	e.addSite(siteConfig("track", "script", false, true, false),
		`webjourney('track', 'early', {a: 1}); webjourney('identify', 'user-42'); webjourney('page');`)
	e.addSite(siteConfig("denied", "script", true, true, false),
		`webjourney('consent', {analytics: 'denied', marketing: 'denied'}); webjourney('identify', 'u-1');`)
	e.addSite(siteConfig("withdraw", "script", false, true, false), "")
	e.addSite(siteConfig("partner", "script", false, true, false), "")
	// The site's CMP applies the stored choice on every page, before the tag runs.
	e.addSite(siteConfig("grant-landing", "script", true, true, false), `localStorage.cmp && webjourney('consent', JSON.parse(localStorage.cmp))`)
	e.addSite(siteConfig("cookie", "script", false, true, false), "")
	e.addSite(siteConfig("tcf-no", "script", true, true, true), fmt.Sprintf(tcfStub, false))
	e.addSite(siteConfig("tcf-yes", "script", true, true, true), fmt.Sprintf(tcfStub, true))
	e.addSite(siteConfig("gpc", "script", false, true, false), "")
	e.addSite(siteConfig("server", "server", false, true, false), "")
	e.addSite(siteConfig("retry", "script", false, true, false), "")
	e.addSite(siteConfig("refused", "script", false, true, false), "")
	e.keys["basic"] = "wk-123"
	e.col.statuses["retry"] = []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}
	e.col.statuses["refused"] = []int{http.StatusBadRequest}
}

func TestBrowser(t *testing.T) {
	start := time.Now()
	e := newEnv(t)
	e.addSites()
	t.Cleanup(func() { t.Logf("browser tests took %v", time.Since(start)) })

	cases := []struct {
		name string
		test func(*testing.T, *env)
	}{
		{"page view", testPageView},
		{"spa", testSPA},
		{"engagement on hide", testEngagement},
		{"clicks", testClicks},
		{"forms", testForms},
		{"track and identify", testTrack},
		{"consent denied", testConsentDenied},
		{"withdrawal", testWithdrawal},
		{"referral by domain", testReferralByDomain},
		{"grant on a partner's landing", testGrantOnLanding},
		{"visitor cookie", testVisitorCookie},
		{"tcf", testTCF},
		{"gpc", testGPC},
		{"server mode", testServerMode},
		{"retry on 5xx and 429", testRetry},
		{"no retry on 400", testRefused},
	}
	// Each case has its own tab, browser context (cookie jar) and site id,
	// so they run side by side. They mostly wait for the tag's one-second
	// batching, so more of them run at once than -parallel (GOMAXPROCS)
	// would allow.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for _, c := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(c.name, func(t *testing.T) { c.test(t, e) })
		})
	}
	wg.Wait()
	for _, r := range e.col.requests() {
		if r.Method == http.MethodOptions {
			t.Errorf("the tag caused a CORS preflight: %s %s", r.Method, r.Path)
		}
	}
}

func testPageView(t *testing.T, e *env) {
	site := "basic"
	ctx := e.tab(t)
	pv := e.pageView(t, ctx, site, "index.html?utm_source=news&q=", 1)

	b := pv.b
	wireKeys(t, b, "site", "key", "cookieless", "consent", "gpc", "automation", "sent_at", "events", "visitor_id", "session_id")
	eventKeys(t, pv, append(commonEventKeys, "referrer", "title")...)
	if b.Key != "wk-123" || b.Cookieless || b.GPC {
		t.Errorf("beacon: key %q cookieless %v gpc %v", b.Key, b.Cookieless, b.GPC)
	}
	if want := map[string]string{"analytics": "unknown", "marketing": "unknown", "personalization": "unknown"}; !mapsEqual(b.Consent, want) {
		t.Errorf("consent = %v", b.Consent)
	}
	webdriver := eval[bool](t, ctx, "navigator.webdriver === true")
	if b.Automation != webdriver {
		t.Errorf("automation = %v, navigator.webdriver = %v", b.Automation, webdriver)
	}
	if !hexID.MatchString(b.VisitorID) || !hexID.MatchString(b.SessionID) {
		t.Errorf("visitor %q session %q are not 32 hex digits", b.VisitorID, b.SessionID)
	}
	if id := pv.str("id"); !hexID.MatchString(id) || pv.str("page_view_id") != id {
		t.Errorf("page view id %q, page_view_id %q", id, pv.str("page_view_id"))
	}
	if pv.str("url") != e.url(site, "index.html?utm_source=news&q=") || pv.str("referrer") != "" || pv.str("title") != "index page" {
		t.Errorf("page view %v", pv.m)
	}
	now := float64(time.Now().UnixMilli())
	if ts := pv.num("ts"); ts > b.SentAt || b.SentAt > now || now-ts > 10000 {
		t.Errorf("ts %v sent_at %v now %v", ts, b.SentAt, now)
	}
	r := b.req
	if r.Method != http.MethodPost || r.Query != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("beacon request %s ?%s %s", r.Method, r.Query, r.Header.Get("Content-Type"))
	}
	// An empty search parameter is no search.
	if s := ofType(e.col.events(t, site), "site_search"); len(s) != 0 {
		t.Errorf("site_search for an empty q: %v", dump(s))
	}
	for _, r := range e.col.requests() {
		if r.Path == DefaultConfigPath && r.Query == "s="+site && r.Header.Get("Cookie") != "" {
			t.Errorf("the config request sent cookies")
		}
	}
}

func testSPA(t *testing.T, e *env) {
	site := "spa"
	ctx := e.tab(t)
	first := e.pageView(t, ctx, site, "index.html", 1)

	do(t, ctx, `history.pushState({}, '', '/s/spa/a'), document.title = 'A'`)
	a := e.col.waitType(t, site, "page_view", 2)
	if a.str("url") != e.url(site, "a") || a.str("referrer") != e.url(site, "index.html") || a.str("title") != "A" {
		t.Errorf("virtual page view %v", a.m)
	}
	// The first page's engagement went out before the next page view.
	eng := e.col.waitType(t, site, "engagement", 1)
	if eng.str("page_view_id") != first.str("id") || eng.str("url") != e.url(site, "index.html") {
		t.Errorf("engagement of the first page: %v", eng.m)
	}

	// The same URL again is no page view.
	do(t, ctx, `history.replaceState({s: 1}, '', '/s/spa/a'), history.pushState({}, '', location.href)`)
	time.Sleep(400 * time.Millisecond)
	do(t, ctx, `history.pushState({}, '', '/s/spa/b?q=red+boots')`)
	b := e.col.waitType(t, site, "page_view", 3)
	if b.str("url") != e.url(site, "b?q=red+boots") || b.str("referrer") != e.url(site, "a") {
		t.Errorf("third page view %v", b.m)
	}
	search := e.col.waitType(t, site, "site_search", 1)
	if search.str("search_term") != "red boots" || search.str("page_view_id") != b.str("id") {
		t.Errorf("site_search %v", search.m)
	}
	eventKeys(t, search, append(commonEventKeys, "search_term")...)

	do(t, ctx, `history.back()`)
	back := e.col.waitType(t, site, "page_view", 4)
	if back.str("url") != e.url(site, "a") || back.str("referrer") != e.url(site, "b?q=red+boots") {
		t.Errorf("popstate page view %v", back.m)
	}
	do(t, ctx, `location.hash = 'reviews'`)
	hash := e.col.waitType(t, site, "page_view", 5)
	if hash.str("url") != e.url(site, "a#reviews") {
		t.Errorf("hash page view %v", hash.m)
	}
	time.Sleep(300 * time.Millisecond)
	pvs := ofType(e.col.events(t, site), "page_view")
	if len(pvs) != 5 {
		t.Errorf("%d page views, want 5:%s", len(pvs), dump(pvs))
	}
	for i := 1; i < len(pvs); i++ {
		if pvs[i].str("url") == pvs[i-1].str("url") {
			t.Errorf("two page views in a row for %s", pvs[i].str("url"))
		}
	}
}

func testEngagement(t *testing.T, e *env) {
	site := "eng"
	ctx := e.tab(t)
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
	pv := e.pageView(t, ctx, site, "index.html", 1)
	do(t, ctx, `window.scrollTo(0, document.documentElement.scrollHeight / 2)`)
	time.Sleep(2300 * time.Millisecond)
	// Leaving the page hides it: the engagement goes out with sendBeacon.
	run(t, ctx, chromedp.Navigate(e.url(site, "other.html")))
	eng := e.col.waitType(t, site, "engagement", 1)
	e.col.waitType(t, site, "page_view", 2)
	eventKeys(t, eng, append(commonEventKeys, "engaged_ms", "scroll_depth")...)
	if eng.str("page_view_id") != pv.str("id") || eng.str("url") != pv.str("url") {
		t.Errorf("engagement %v is not for page view %v", eng.m, pv.m)
	}
	if ms := eng.num("engaged_ms"); ms < 2000 || ms > 6000 {
		t.Errorf("engaged_ms = %v after ~3 s on a focused page", ms)
	}
	if d := eng.num("scroll_depth"); d < 45 || d > 100 {
		t.Errorf("scroll_depth = %v after scrolling half way", d)
	}
	if n := len(ofType(e.col.events(t, site), "engagement")); n != 1 {
		t.Errorf("%d engagement events for one page view", n)
	}

	// Freezing a page hides it first (in a tab without focus emulation,
	// which keeps its page active): visibilitychange sends the engagement,
	// once although the page is also frozen and resumed.
	ctx = e.tab(t)
	pv = e.pageView(t, ctx, "eng2", "index.html", 1)
	time.Sleep(1200 * time.Millisecond)
	lifecycle := func(state page.SetWebLifecycleStateState) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: state})
			return err
		})
	}
	run(t, ctx, lifecycle(page.SetWebLifecycleStateStateFrozen))
	eng = e.col.waitType(t, "eng2", "engagement", 1)
	if eng.str("page_view_id") != pv.str("id") || eng.num("engaged_ms") < 1000 {
		t.Errorf("engagement on hide %v for page view %v", eng.m, pv.m)
	}
	run(t, ctx, lifecycle(page.SetWebLifecycleStateStateActive))
	time.Sleep(300 * time.Millisecond)
	if n := len(ofType(e.col.events(t, "eng2"), "engagement")); n != 1 {
		t.Errorf("%d engagement events, want 1", n)
	}
}

func testClicks(t *testing.T, e *env) {
	site := "clicks"
	ctx := e.tab(t)
	e.pageView(t, ctx, site, "index.html", 1)
	run(t, ctx,
		chromedp.Click(chromedp.ID("internal")),
		chromedp.Click(chromedp.ID("mail")),
		chromedp.Click(chromedp.ID("dl-pdf")),
		chromedp.Click(chromedp.ID("dl-attr")),
	)
	dl := e.col.waitType(t, site, "file_download", 2)
	evs := ofType(e.col.events(t, site), "file_download")
	if evs[0].str("link_url") != e.site.URL+"/files/Report.PDF?v=2" || dl.str("link_url") != e.site.URL+"/export?id=7" {
		t.Errorf("downloads:%s", dump(evs))
	}
	eventKeys(t, dl, append(commonEventKeys, "link_url")...)

	// A middle click, then a real click that leaves the site.
	x := eval[[]float64](t, ctx, `(r => [r.x + r.width / 2, r.y + r.height / 2])(document.getElementById('out-mid').getBoundingClientRect())`)
	run(t, ctx, chromedp.MouseClickXY(x[0], x[1], chromedp.ButtonMiddle))
	mid := e.col.waitType(t, site, "outbound_click", 1)
	if mid.str("link_url") != e.col.origin+"/mid" {
		t.Errorf("middle click %v", mid.m)
	}
	run(t, ctx, chromedp.Click(chromedp.ID("out")))
	out := e.col.waitType(t, site, "outbound_click", 2)
	if out.str("link_url") != e.col.origin+"/landing?from=test" {
		t.Errorf("outbound click %v", out.m)
	}
	if n := len(ofType(e.col.events(t, site), "outbound_click")); n != 2 {
		t.Errorf("%d outbound clicks (internal and mailto links are not outbound)", n)
	}
}

func testForms(t *testing.T, e *env) {
	site := "forms"
	ctx := e.tab(t)
	e.pageView(t, ctx, site, "index.html", 1)
	secrets := map[string]string{
		"email": "ada.lovelace@example.org", "phone": "+44 20 7946 0958",
		"card": "4111 1111 1111 1111", "pw": "CorrectHorse-Battery9",
	}
	for id, v := range secrets {
		run(t, ctx, chromedp.SendKeys(chromedp.ID(id), v))
	}
	run(t, ctx, chromedp.Click(chromedp.ID("checkout-submit")))
	checkout := e.col.waitType(t, site, "form_submit", 1)
	e.col.waitType(t, site, "page_view", 2) // the thanks page
	eventKeys(t, checkout, append(commonEventKeys, "form_id", "form_name", "form_action", "sensitive")...)
	if checkout.str("form_id") != "checkout" || checkout.str("form_name") != "checkout" ||
		checkout.str("form_action") != "/s/forms/thanks.html" || checkout.m["sensitive"] != true {
		t.Errorf("checkout form %v", checkout.m)
	}

	more := map[string]string{"nl-email": "grace.hopper@example.com", "nl-name": "Grace Brewster Hopper"}
	for id, v := range more {
		run(t, ctx, chromedp.SendKeys(chromedp.ID(id), v))
		secrets[id] = v
	}
	run(t, ctx, chromedp.Click(chromedp.ID("nl-submit")))
	nl := e.col.waitType(t, site, "form_submit", 2)
	e.col.waitType(t, site, "page_view", 3)
	eventKeys(t, nl, append(commonEventKeys, "form_id", "form_name", "form_action", "field_count")...)
	if nl.str("form_id") != "newsletter" || nl.str("form_name") != "nl" || nl.str("form_action") != "/s/forms/done.html" || nl.num("field_count") != 3 {
		t.Errorf("newsletter form %v", nl.m)
	}

	// No value typed into a field may reach the collector, in any form.
	secrets["card digits"] = strings.ReplaceAll(secrets["card"], " ", "")
	secrets["hidden"] = "secret-csrf-token"
	for name, v := range secrets {
		for _, form := range []string{v, strings.ReplaceAll(v, "@", "%40"), strings.ReplaceAll(v, " ", "+"), strings.ReplaceAll(v, " ", "%20")} {
			for _, r := range e.col.requests() {
				if strings.Contains(string(r.Body), form) || strings.Contains(r.Path+"?"+r.Query, form) || headersContain(r.Header, form) {
					t.Errorf("the %s value %q reached the collector: %s %s", name, form, r.Method, r.Path)
				}
			}
			e.mu.Lock()
			for _, r := range e.siteReq {
				if strings.Contains(r.Path+"?"+r.Query, form) || headersContain(r.Header, form) {
					t.Errorf("the %s value %q is in a URL or header of %s %s", name, form, r.Method, r.Path)
				}
			}
			e.mu.Unlock()
		}
	}
}

func headersContain(h http.Header, s string) bool {
	for _, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

func testTrack(t *testing.T, e *env) {
	site := "track"
	ctx := e.tab(t)
	e.pageView(t, ctx, site, "index.html", 1)
	if got := eval[string](t, ctx, `[typeof webjourney, typeof webjourney.track, typeof webjourney.page, typeof webjourney.identify, typeof webjourney.consent].join()`); got != "function,function,function,function,function" {
		t.Errorf("API: %s", got)
	}
	do(t, ctx, `webjourney.track('signup', {plan: 'pro', seats: 3, trial: true, nested: {x: 1}, list: [1], nan: NaN, nil: null, fn: function () {}}), webjourney('track', 'second')`)
	evs := e.col.waitFor(t, site, "three custom events", func(evs []event) bool { return len(ofType(evs, "custom")) >= 3 })
	custom := ofType(evs, "custom")
	want := []struct {
		name  string
		props map[string]any
	}{{"early", map[string]any{"a": 1.0}}, {"signup", map[string]any{"plan": "pro", "seats": 3.0, "trial": true}}, {"second", map[string]any{}}}
	for i, w := range want {
		c := custom[i]
		eventKeys(t, c, append(commonEventKeys, "name", "props")...)
		got, _ := json.Marshal(c.m["props"])
		exp, _ := json.Marshal(w.props)
		if c.str("name") != w.name || string(got) != string(exp) {
			t.Errorf("custom event %d: %s %s, want %s %s", i, c.str("name"), got, w.name, exp)
		}
		if c.b.UserID != "user-42" {
			t.Errorf("custom event %d user_id %q", i, c.b.UserID)
		}
	}
	id := ofType(evs, "identify")
	if len(id) != 1 || id[0].b.UserID != "user-42" {
		t.Errorf("identify events:%s", dump(id))
	}
	if got := eval[string](t, ctx, `sessionStorage.webjourney_uid`); got != "user-42" {
		t.Errorf("sessionStorage user id %q", got)
	}
	// The queued page command finds the URL counted already.
	if n := len(ofType(evs, "page_view")); n != 1 {
		t.Errorf("%d page views", n)
	}
}

func testConsentDenied(t *testing.T, e *env) {
	site := "denied"
	ctx := e.tab(t)
	setCookie(t, ctx, e.site.URL, "site_pref", "dark", time.Now().Add(time.Hour))
	pv := e.pageView(t, ctx, site, "index.html?__apid=click-9", 1)
	run(t, ctx, chromedp.Navigate(e.url(site, "other.html")))
	e.col.waitType(t, site, "page_view", 2)
	e.col.waitType(t, site, "engagement", 1)

	if c := eval[string](t, ctx, `document.cookie`); c != "site_pref=dark" {
		t.Errorf("document.cookie = %q", c)
	}
	if n := eval[float64](t, ctx, `sessionStorage.length`); n != 0 {
		t.Errorf("sessionStorage has %v items", n)
	}
	for _, b := range e.col.beacons(t, site) {
		wireKeys(t, b, "site", "cookieless", "consent", "gpc", "automation", "sent_at", "events")
		if !b.Cookieless || b.Consent["analytics"] != "denied" || b.Consent["marketing"] != "denied" || b.Consent["personalization"] != "unknown" {
			t.Errorf("beacon cookieless %v consent %v", b.Cookieless, b.Consent)
		}
		if c := b.req.Header.Get("Cookie"); c != "" {
			t.Errorf("a cookieless beacon carried cookies: %s", c)
		}
	}
	// Each page calls the consent command: one consent event per page.
	evs := e.col.events(t, site)
	if len(ofType(evs, "identify")) != 0 || len(ofType(evs, "consent")) != 2 {
		t.Errorf("events:%s", dump(evs))
	}
	if pv.b.Referral != nil {
		t.Errorf("referral %v", pv.b.Referral)
	}
}

func testWithdrawal(t *testing.T, e *env) {
	site := "withdraw"
	ctx := e.tab(t)
	pv := e.pageView(t, ctx, site, "index.html?__apid=click-1", 1)
	if r := pv.b.Referral; r == nil || *r != (referral{"archipro", "click-1"}) || pv.b.VisitorID == "" {
		t.Fatalf("landing beacon: referral %v visitor %q", r, pv.b.VisitorID)
	}
	c := cookies(t, ctx, e.site.URL)
	if ref := c["_wjref"]; ref == nil || ref.Value != "archipro:click-1" || ref.Expires-float64(time.Now().Unix()) < 7*86400-60 || ref.Expires-float64(time.Now().Unix()) > 7*86400+60 {
		t.Errorf("referral cookie %+v", ref)
	}
	do(t, ctx, `webjourney.identify('u-7')`)
	e.col.waitType(t, site, "identify", 1)
	do(t, ctx, `webjourney('consent', {analytics: 'denied'})`)
	w := e.col.waitType(t, site, "consent", 1)
	if w.b.Cookieless || w.b.VisitorID != pv.b.VisitorID || w.b.UserID != "u-7" || w.b.Referral == nil || w.b.Consent["analytics"] != "denied" {
		t.Errorf("withdrawal beacon %s", w.b.req.Body)
	}
	if left := eval[string](t, ctx, `document.cookie + '|' + (sessionStorage.webjourney_uid || '')`); left != "|" {
		t.Errorf("after withdrawal: %q", left)
	}
	do(t, ctx, `webjourney.track('after')`)
	after := e.col.waitType(t, site, "custom", 1)
	wireKeys(t, after.b, "site", "cookieless", "consent", "gpc", "automation", "sent_at", "events")
	if !after.b.Cookieless {
		t.Errorf("after the withdrawal: %s", after.b.req.Body)
	}
}

// A landing from a partner's domain is the partner's referral, as the
// receiver decides it: the tag keeps it in its referral cookie, without a
// click id, and every later event of the visitor carries it.
func testReferralByDomain(t *testing.T, e *env) {
	site := "partner"
	ctx := e.tab(t)
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: e.url(site, "index.html"), Referrer: "http://www.trackier.example/offers/1"})
		return err
	}))
	pv := e.col.waitType(t, site, "page_view", 1)
	if r := pv.b.Referral; r == nil || *r != (referral{"trackier", ""}) {
		t.Fatalf("landing beacon: referral %v\n%s", r, pv.b.req.Body)
	}
	c := cookies(t, ctx, e.site.URL)
	if ref := c["_wjref"]; ref == nil || ref.Value != "trackier:" || ref.Expires-float64(time.Now().Unix()) < 2*86400-60 || ref.Expires-float64(time.Now().Unix()) > 2*86400+60 {
		t.Errorf("referral cookie %+v", ref)
	}
	next := e.pageView(t, ctx, site, "other.html", 2)
	if r := next.b.Referral; r == nil || *r != (referral{"trackier", ""}) {
		t.Errorf("next page: referral %v", r)
	}
}

// A visitor who accepts the banner on a partner's landing page: the page
// view went out cookieless, so the grant sends it again, with its id and
// time, under the new consent: with the visitor id and the partner's click
// id, which the referral cookie then keeps for the next pages. Without it
// the visitor's journey would start after its landing, and the partner
// would never be credited.
func testGrantOnLanding(t *testing.T, e *env) {
	site := "grant-landing"
	ctx := e.tab(t)
	first := e.pageView(t, ctx, site, "index.html?__apid=click-5", 1)
	if !first.b.Cookieless || first.b.Referral != nil || first.b.VisitorID != "" {
		t.Fatalf("landing before consent: %s", first.b.req.Body)
	}
	do(t, ctx, `localStorage.cmp = JSON.stringify({analytics: 'granted', marketing: 'granted'}); webjourney('consent', JSON.parse(localStorage.cmp))`)
	grant := e.col.waitType(t, site, "consent", 1)
	again := e.col.waitType(t, site, "page_view", 2)
	if again.b.req != grant.b.req {
		t.Errorf("the page view was sent again in another beacon than the grant's:\n%s\n%s", again.b.req.Body, grant.b.req.Body)
	}
	for _, k := range []string{"id", "ts", "url", "referrer", "title", "page_view_id"} {
		if fmt.Sprint(again.m[k]) != fmt.Sprint(first.m[k]) {
			t.Errorf("page view sent again: %s = %v, the first had %v", k, again.m[k], first.m[k])
		}
	}
	if r := again.b.Referral; again.b.Cookieless || again.b.VisitorID == "" || r == nil || *r != (referral{"archipro", "click-5"}) {
		t.Errorf("the page view sent again after the grant: %s", again.b.req.Body)
	}
	next := e.pageView(t, ctx, site, "other.html", 3)
	if next.b.Cookieless || next.b.VisitorID != again.b.VisitorID || next.b.Referral == nil || *next.b.Referral != (referral{"archipro", "click-5"}) {
		t.Errorf("next page after the grant: %s", next.b.req.Body)
	}
	// Consent already granted when the page loads (the CMP's stored
	// choice): its page view goes out with ids once, and a later consent
	// command sends no second one.
	e.col.waitType(t, site, "consent", 2)
	do(t, ctx, `webjourney('consent', {analytics: 'granted'})`)
	e.col.waitType(t, site, "consent", 3)
	if n := len(ofType(e.col.events(t, site), "page_view")); n != 3 {
		t.Errorf("%d page views, want 3 (the landing twice, the next page once)", n)
	}
}

func testVisitorCookie(t *testing.T, e *env) {
	site := "cookie"
	ctx := e.tab(t)
	pv := e.pageView(t, ctx, site, "index.html", 1)
	now := time.Now().Unix()
	c := cookies(t, ctx, e.site.URL)
	v := c["_wjid"]
	if v == nil {
		t.Fatalf("no visitor cookie: %v", c)
	}
	m := regexp.MustCompile(`^([0-9a-f]{32})\.(\d+)$`).FindStringSubmatch(v.Value)
	if m == nil || m[1] != pv.b.VisitorID {
		t.Fatalf("visitor cookie %q, visitor_id %q", v.Value, pv.b.VisitorID)
	}
	first, _ := strconv.ParseInt(m[2], 10, 64)
	if first < now-30 || first > now+1 {
		t.Errorf("first-set %d, now %d", first, now)
	}
	if d := v.Expires - float64(first+30*86400); d < -2 || d > 2 {
		t.Errorf("visitor cookie expires %v, want first-set + 30 days = %d", v.Expires, first+30*86400)
	}
	if v.SameSite != network.CookieSameSiteLax || v.Path != "/" || v.Secure || v.HTTPOnly {
		t.Errorf("visitor cookie attributes %+v", v)
	}
	s := c["_wjses"]
	if s == nil || s.Value != pv.b.SessionID || s.Expires-float64(now) < 30*60-30 || s.Expires-float64(now) > 30*60+30 {
		t.Errorf("session cookie %+v", s)
	}

	// An older visitor cookie keeps its id and its original expiry.
	old := time.Now().Add(-10 * 24 * time.Hour).Unix()
	setCookie(t, ctx, e.site.URL, "_wjid", "0123abcd."+strconv.FormatInt(old, 10), time.Unix(old+30*86400, 0))
	pv2 := e.pageView(t, ctx, site, "other.html", 2)
	if pv2.b.VisitorID != "0123abcd" || pv2.b.SessionID != pv.b.SessionID {
		t.Errorf("visitor %q session %q, want 0123abcd %s", pv2.b.VisitorID, pv2.b.SessionID, pv.b.SessionID)
	}
	if v := cookies(t, ctx, e.site.URL)["_wjid"]; v == nil || v.Expires-float64(old+30*86400) < -2 || v.Expires-float64(old+30*86400) > 2 {
		t.Errorf("rewritten visitor cookie %+v, want expiry %d", v, old+30*86400)
	}

	// An expired one (first set 31 days ago) starts a new visitor.
	gone := time.Now().Add(-31 * 24 * time.Hour).Unix()
	setCookie(t, ctx, e.site.URL, "_wjid", "0123abcd."+strconv.FormatInt(gone, 10), time.Now().Add(time.Hour))
	pv3 := e.pageView(t, ctx, site, "index.html", 3)
	if !hexID.MatchString(pv3.b.VisitorID) {
		t.Errorf("visitor %q after expiry", pv3.b.VisitorID)
	}
}

// tcfStub is a CMP: it answers addEventListener at once with the page's
// choice, and keeps the callback for a later user action.
const tcfStub = `window.__tcfapi = function (cmd, v, cb) {
  if (cmd !== 'addEventListener' || v !== 2) return
  window.tcfCallback = cb
  cb({gdprApplies: true, tcString: 'CPxyz-_0.YAAA', eventStatus: 'tcloaded', purpose: {consents: {1: %v}}}, true)
};`

func testTCF(t *testing.T, e *env) {
	no := "tcf-no"
	yes := "tcf-yes"

	ctx := e.tab(t)
	pv := e.pageView(t, ctx, no, "index.html", 1)
	wireKeys(t, pv.b, "site", "cookieless", "consent", "gpc", "tcf", "automation", "sent_at", "events")
	if !pv.b.Cookieless || pv.b.Consent["analytics"] != "denied" || pv.b.TCF == nil || pv.b.TCF.TCString != "CPxyz-_0.YAAA" || !*pv.b.TCF.GDPRApplies {
		t.Errorf("TCF without purpose 1: %s", pv.b.req.Body)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("cookies without consent: %q", c)
	}

	ctx = e.tab(t)
	pv = e.pageView(t, ctx, yes, "index.html", 1)
	if pv.b.Cookieless || pv.b.Consent["analytics"] != "granted" || pv.b.VisitorID == "" {
		t.Errorf("TCF with purpose 1: %s", pv.b.req.Body)
	}
	if n := len(ofType(e.col.events(t, yes), "consent")); n != 0 {
		t.Errorf("%d consent events for the state the page loaded with", n)
	}
	// The user withdraws in the CMP.
	do(t, ctx, `tcfCallback({gdprApplies: true, tcString: 'CPnew', eventStatus: 'useractioncomplete', purpose: {consents: {1: false}}}, true)`)
	w := e.col.waitType(t, yes, "consent", 1)
	if w.b.Cookieless || w.b.VisitorID != pv.b.VisitorID || w.b.Consent["analytics"] != "denied" || w.b.TCF.TCString != "CPnew" {
		t.Errorf("TCF withdrawal: %s", w.b.req.Body)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("cookies after the TCF withdrawal: %q", c)
	}
}

func testGPC(t *testing.T, e *env) {
	site := "gpc"
	ctx := e.tab(t, `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true})`)
	pv := e.pageView(t, ctx, site, "index.html?__apid=x1", 1)
	wireKeys(t, pv.b, "site", "cookieless", "consent", "gpc", "automation", "sent_at", "events")
	if !pv.b.GPC || !pv.b.Cookieless {
		t.Errorf("GPC beacon: %s", pv.b.req.Body)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("cookies under GPC: %q", c)
	}
}

func testServerMode(t *testing.T, e *env) {
	site := "server"
	ctx := e.tab(t)
	// A cookie of the collector's host (the test site shares it): sent only
	// with credentials.
	setCookie(t, ctx, e.site.URL, "_wjid", "srv123.1700000000", time.Now().Add(time.Hour))
	pv := e.pageView(t, ctx, site, "index.html?__apid=c2", 1)
	wireKeys(t, pv.b, "site", "cookieless", "consent", "gpc", "automation", "sent_at", "events")
	if pv.b.Cookieless {
		t.Errorf("server mode beacon: %s", pv.b.req.Body)
	}
	if c := pv.b.req.Header.Get("Cookie"); !strings.Contains(c, "_wjid=srv123.1700000000") {
		t.Errorf("server mode beacon sent no credentials: Cookie %q", c)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "_wjid=srv123.1700000000" {
		t.Errorf("the tag wrote cookies in server mode: %q", c)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(e.col.beacons(t, site)); n != 1 {
		t.Errorf("%d beacons; a retry after a CORS failure?", n)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func testRetry(t *testing.T, e *env) {
	// 503, then 429, then 200: three tries of the same beacon.
	ctx := e.tab(t)
	run(t, ctx, chromedp.Navigate(e.url("retry", "index.html")))
	e.col.waitFor(t, "retry", "three tries", func(evs []event) bool { return len(evs) >= 3 })
	bs := e.col.beacons(t, "retry")
	if len(bs) != 3 {
		t.Fatalf("%d beacons, want 3 tries", len(bs))
	}
	for i, b := range bs[1:] {
		if string(mustJSON(b.Events)) != string(mustJSON(bs[0].Events)) || b.VisitorID != bs[0].VisitorID {
			t.Errorf("try %d differs: %s", i+2, b.req.Body)
		}
		if gap := b.SentAt - bs[i].SentAt; gap < 1500 {
			t.Errorf("try %d came %v ms after the one before", i+2, gap)
		}
	}
}

func testRefused(t *testing.T, e *env) {
	// A 400 is final.
	ctx := e.tab(t)
	run(t, ctx, chromedp.Navigate(e.url("refused", "index.html")))
	e.col.waitType(t, "refused", "page_view", 1)
	time.Sleep(2500 * time.Millisecond)
	if n := len(e.col.beacons(t, "refused")); n != 1 {
		t.Errorf("%d beacons after a 400, want 1", n)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
