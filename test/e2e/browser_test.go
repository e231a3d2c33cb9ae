package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/testenv"
)

// Sites of the browser test: one that needs no consent (full tracking with
// the receiver's own first-party cookies) and one that requires consent
// the visitor never gives (cookieless).
const (
	browserSite = "e2e-browser"
	privateSite = "e2e-private"
)

// PII the test types into form fields. None of it may ever reach
// Elasticsearch (or even leave the browser).
var typedPII = []string{"alice.canary@example.com", "+44 7700 900123", "4111111111111111", "hunter2-canary-pw", "Alice Canary"}

// newBrowser starts a fresh headless Chromium (its own profile, so no
// cookies carry over between tests) and returns its first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t, 90*time.Second)
}

var sitePage = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<script>window.webjourney=window.webjourney||function(){(webjourney.q=webjourney.q||[]).push(arguments)}</script>
<script async src="{{.Collector}}/wj.js" data-site="{{.Site}}"></script>
</head><body style="min-height:3000px">
<h1>{{.Title}}</h1>
{{with .From}}<p id="from-{{.}}">after the {{.}} form</p>{{end}}
<noscript><img src="{{.Collector}}/p.gif?s={{.Site}}&eid=e2e-noscript" alt=""></noscript>
<a id="spa" href="/spa/step-2" onclick="event.preventDefault();history.pushState({},'','/spa/step-2');document.title='Step 2'">next step</a>
<a id="same" href="#" onclick="event.preventDefault();history.replaceState({},'',location.href)">stay</a>
<a id="out" href="http://outbound.invalid/partner-page" onclick="event.preventDefault()">partner</a>
<a id="dl" href="/files/report.pdf" onclick="event.preventDefault()">report</a>
<form id="signup" name="newsletter" method="post" action="/thanks?from=signup">
  <input name="email" type="email"><input name="phone" type="tel"><input name="fullname" type="text">
  <button id="signup-go" type="submit">Join</button>
</form>
<form id="pay" method="post" action="/thanks?from=pay">
  <input name="cc" autocomplete="cc-number"><input name="pw" type="password">
  <button id="pay-go" type="submit">Pay</button>
</form>
{{if .Iframe}}<iframe src="{{.Collector}}/p.html?s={{.Site}}&eid=e2e-iframe-browser&url={{.PageURL}}" width="1" height="1"></iframe>{{end}}
</body></html>`))

// testSite serves the pages of a tagged site.
func testSite(t *testing.T, collector, site string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		title := "Page " + r.URL.Path
		if r.Method == http.MethodPost {
			_ = r.ParseForm() // the site receives the values; the tag must not
			title = "Thanks"
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = sitePage.Execute(w, map[string]any{
			"Title": title, "Collector": collector, "Site": site,
			"Iframe": r.URL.Path == "/iframe", "PageURL": "http://" + r.Host + r.URL.Path,
			// Every page has the same forms: this marks the document a form
			// post led to, for the test to wait for.
			"From": r.URL.Query().Get("from"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startBrowserCollector runs the built collector with the browser tests'
// configuration against the real Elasticsearch, in a fresh index prefix.
func startBrowserCollector(t *testing.T) (store es, prefix, listen string) {
	t.Helper()
	return startPipeline(t, pipeline{pixel: fmt.Sprintf(`    # Headless Chromium reports navigator.webdriver; keep its events, marked.
    bots: {action: mark}
    trusted_proxies: [127.0.0.1]
    geoip:
      database: %q
    sites:
      - id: %s
        consent: {required: false}
        referral_partners:
          - {name: archipro, param: __apid, attribution_window: 720h}
      - id: %s
        consent: {required: true}`, geoDatabase(t), browserSite, privateSite)})
}

// TestBrowserJourney loads the real tag, served by the built collector, in
// headless Chromium on a test site, walks a journey and checks the
// documents that land in the real Elasticsearch.
func TestBrowserJourney(t *testing.T) {
	ctx := newBrowser(t)
	store, prefix, listen := startBrowserCollector(t)
	collector := "http://" + listen
	site := testSite(t, collector, browserSite)

	// Same host as the collector (another port): the pages are same-site,
	// so the receiver keeps the visitor cookie itself (server mode).
	landing := site.URL + "/?utm_source=newsletter&utm_medium=email&__apid=ap-77c1"
	run(t, ctx,
		chromedp.Navigate(landing),
		waitForTag(),
		chromedp.Click(chromedp.ID("spa")),
		// A person reads a page before clicking on; the tag waits 100 ms for
		// a router to settle before it counts a virtual page view.
		chromedp.Sleep(400*time.Millisecond),
		chromedp.Click(chromedp.ID("same")),
		chromedp.Sleep(400*time.Millisecond),
		chromedp.Click(chromedp.ID("out")),
		chromedp.Click(chromedp.ID("dl")),
		evaluate(`webjourney('track', 'signup_click', {plan: 'pro', seats: 3})`),
		chromedp.Navigate(site.URL+"/search?q=red+shoes"),
		waitForTag(),
		chromedp.Navigate(site.URL+"/form"),
		waitForTag(),
		chromedp.SendKeys(chromedp.CSS(`#signup input[name=email]`), typedPII[0]),
		chromedp.SendKeys(chromedp.CSS(`#signup input[name=phone]`), typedPII[1]),
		chromedp.SendKeys(chromedp.CSS(`#signup input[name=fullname]`), typedPII[4]),
		chromedp.Click(chromedp.ID("signup-go")),
		chromedp.WaitVisible(chromedp.ID("from-signup")),
		waitForTag(),
		chromedp.SendKeys(chromedp.CSS(`#pay input[name=cc]`), typedPII[2]),
		chromedp.SendKeys(chromedp.CSS(`#pay input[name=pw]`), typedPII[3]),
		chromedp.Click(chromedp.ID("pay-go")),
		chromedp.WaitVisible(chromedp.ID("from-pay")),
		waitForTag(),
		// Leaving the page flushes its engagement.
		chromedp.Navigate("about:blank"),
	)

	cookies := browserCookies(t, ctx, collector)

	docs := waitForDocs(t, store, prefix, browserSite, func(docs []map[string]any) bool {
		return countName(docs, eventmodel.EventFormSubmit) >= 2 && countName(docs, eventmodel.EventEngagement) >= 3 &&
			countName(docs, eventmodel.EventPageView) >= 6
	})

	byName := map[string][]map[string]any{}
	for _, d := range docs {
		name, _ := d["event.name"].(string)
		byName[name] = append(byName[name], d)
	}
	paths := func(name string) []string {
		var out []string
		for _, d := range byName[name] {
			out = append(out, fmt.Sprint(d[eventmodel.AttrURLPath]))
		}
		return out
	}

	// Page views: the landing, one virtual page (replaceState to the same
	// URL adds none), search, form, and the thank-you page twice.
	pv := byName[eventmodel.EventPageView]
	assertSameElements(t, []string{"/", "/spa/step-2", "/search", "/form", "/thanks", "/thanks"}, paths(eventmodel.EventPageView))
	landingDoc := findDoc(t, pv, eventmodel.AttrURLPath, "/")
	assertField(t, landingDoc, eventmodel.AttrCampaignSource, "newsletter")
	assertField(t, landingDoc, eventmodel.AttrCampaignMedium, "email")
	virtual := findDoc(t, pv, eventmodel.AttrURLPath, "/spa/step-2")
	assertField(t, virtual, eventmodel.AttrReferrerFull, landing)
	assertField(t, virtual, eventmodel.AttrPageTitle, "Step 2")

	// One visitor, one visit, known to the receiver's HttpOnly cookie; the
	// referral partner of the landing follows every later event.
	vid, sid := landingDoc[eventmodel.AttrVisitorID], landingDoc[eventmodel.AttrSessionID]
	if vid == nil || sid == nil {
		t.Fatalf("landing page view has no visitor or session id: %v", landingDoc)
	}
	for _, d := range docs {
		assertField(t, d, eventmodel.AttrVisitorID, vid)
		assertField(t, d, eventmodel.AttrSessionID, sid)
		assertField(t, d, eventmodel.AttrReferralPartner, "archipro")
		assertField(t, d, eventmodel.AttrReferralClickID, "ap-77c1")
		assertField(t, d, eventmodel.AttrReferralWindow, float64((720 * time.Hour).Milliseconds()))
		assertField(t, d, eventmodel.AttrBot, true)
		assertField(t, d, eventmodel.AttrBotReason, eventmodel.BotReasonAutomation)
		assertField(t, d, eventmodel.AttrIngestChannel, eventmodel.ChannelBeacon)
	}
	checkVisitorCookie(t, cookies, vid)
	// The landing is marked, the events after it are not: the attribution
	// processor makes the landing's visit the partner's.
	for _, d := range docs {
		if d[eventmodel.AttrEventID] == landingDoc[eventmodel.AttrEventID] {
			assertField(t, d, eventmodel.AttrReferralLanding, true)
		} else {
			assertField(t, d, eventmodel.AttrReferralLanding, nil)
		}
	}

	out := findDoc(t, byName[eventmodel.EventOutboundClick], eventmodel.AttrLinkDomain, "outbound.invalid")
	assertField(t, out, eventmodel.AttrLinkURL, "http://outbound.invalid/partner-page")
	assertField(t, out, eventmodel.AttrPageViewID, virtual[eventmodel.AttrEventID])
	findDoc(t, byName[eventmodel.EventFileDownload], eventmodel.AttrLinkURL, site.URL+"/files/report.pdf")
	custom := findDoc(t, byName[eventmodel.EventCustom], eventmodel.AttrCustomName, "signup_click")
	assertField(t, custom, eventmodel.AttrProperties, map[string]any{"plan": "pro", "seats": float64(3)})
	findDoc(t, byName[eventmodel.EventSiteSearch], eventmodel.AttrSearchTerm, "red shoes")

	signup := findDoc(t, byName[eventmodel.EventFormSubmit], eventmodel.AttrFormID, "signup")
	assertField(t, signup, eventmodel.AttrFormName, "newsletter")
	assertField(t, signup, eventmodel.AttrFormAction, "/thanks")
	assertField(t, signup, eventmodel.AttrFormFieldCount, float64(3))
	pay := findDoc(t, byName[eventmodel.EventFormSubmit], eventmodel.AttrFormID, "pay")
	assertField(t, pay, eventmodel.AttrFormSensitive, true)
	assertField(t, pay, eventmodel.AttrFormFieldCount, nil)

	for _, e := range byName[eventmodel.EventEngagement] {
		if ms, ok := e[eventmodel.AttrEngagedTime].(float64); !ok || ms < 0 {
			t.Errorf("engagement without engaged time: %v", e)
		}
		if e[eventmodel.AttrPageViewID] == nil {
			t.Errorf("engagement without page view id: %v", e)
		}
	}
	assertNoPII(t, docs)
}

// TestBrowserConsentDenied: a site that requires consent the visitor never
// gives gets cookieless events: no cookie in the browser, no identifier in
// any request or document.
func TestBrowserConsentDenied(t *testing.T) {
	ctx := newBrowser(t)
	store, prefix, listen := startBrowserCollector(t)
	collector := "http://" + listen
	site := testSite(t, collector, privateSite)

	// Record every request the page makes, to prove no identifier leaves it.
	var sent []string
	var mu sync.Mutex
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			body := ""
			for _, entry := range e.Request.PostDataEntries {
				body += string(entry.Bytes)
			}
			mu.Lock()
			sent = append(sent, e.Request.URL+" "+body)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	var docCookie string
	run(t, ctx,
		call(network.Enable, network.EnableParams{}),
		chromedp.Navigate(site.URL+"/?__apid=ap-1"),
		waitForTag(),
		chromedp.Click(chromedp.ID("spa")),
		chromedp.Sleep(400*time.Millisecond),
		evaluate(`webjourney('identify', 'customer-42')`),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			var err error
			docCookie, err = chromedp.Evaluate[string](`document.cookie`)(ctx, tgt)
			return err
		}),
		chromedp.Navigate("about:blank"),
	)
	cookies := browserCookies(t, ctx, collector, site.URL)
	if docCookie != "" || len(cookies) != 0 {
		t.Errorf("cookies were set without consent: document.cookie=%q, browser=%v", docCookie, cookies)
	}

	docs := waitForDocs(t, store, prefix, privateSite, func(docs []map[string]any) bool {
		return countName(docs, eventmodel.EventPageView) >= 2 && countName(docs, eventmodel.EventEngagement) >= 1
	})
	for _, d := range docs {
		for _, k := range []string{eventmodel.AttrVisitorID, eventmodel.AttrSessionID, eventmodel.AttrUserID, eventmodel.AttrReferralPartner} {
			assertField(t, d, k, nil)
		}
		assertField(t, d, eventmodel.AttrCookieless, true)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, req := range sent {
		if strings.Contains(req, "customer-42") || strings.Contains(req, `"visitor_id"`) || strings.Contains(req, `"session_id"`) {
			t.Errorf("an identifier left the browser without consent: %s", req)
		}
	}
}

// TestBrowserPixels: with JavaScript off, the <noscript> image pixel
// reports the page; an iframe pixel reports its page too.
func TestBrowserPixels(t *testing.T) {
	ctx := newBrowser(t)
	store, prefix, listen := startBrowserCollector(t)
	site := testSite(t, "http://"+listen, browserSite)

	run(t, ctx,
		call(emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}),
		chromedp.Navigate(site.URL+"/noscript"),
		chromedp.WaitReady(chromedp.CSS("body")),
		chromedp.Navigate(site.URL+"/iframe"),
		chromedp.WaitReady(chromedp.CSS("body")),
	)
	docs := waitForDocs(t, store, prefix, browserSite, func(docs []map[string]any) bool {
		return len(docs) >= 2
	})
	noscript := findDoc(t, docs, eventmodel.AttrEventID, "e2e-noscript")
	assertField(t, noscript, eventmodel.AttrIngestChannel, eventmodel.ChannelPixel)
	// The Referer of a cross-origin image is the page's origin under the
	// default referrer policy (strict-origin-when-cross-origin).
	assertField(t, noscript, eventmodel.AttrURLFull, site.URL+"/")
	iframe := findDoc(t, docs, eventmodel.AttrEventID, "e2e-iframe-browser")
	assertField(t, iframe, eventmodel.AttrIngestChannel, eventmodel.ChannelIframe)
	u, _ := url.Parse(site.URL)
	assertField(t, iframe, eventmodel.AttrURLFull, "http://"+u.Host+"/iframe")
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// call sends one DevTools protocol command as a step.
func call[P, R any](cmd cdp.Command[P, R], params P) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, cmd, params)
		return err
	})
}

// evaluate runs a script for its effect.
func evaluate(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr)(ctx, tgt)
		return err
	})
}

func browserCookies(t *testing.T, ctx context.Context, urls ...string) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: urls})
	if err != nil {
		t.Fatalf("reading cookies: %v", err)
	}
	return res.Cookies
}

// waitForTag waits until the tag runs: it has replaced its stub with the
// command function and received the site config (then it records the page
// view). A visitor who leaves before the config arrives is not counted.
func waitForTag() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`typeof webjourney === 'function' && typeof webjourney.track === 'function' &&
			performance.getEntriesByType('resource').some((e) => e.name.includes('/wj/config') && e.responseEnd > 0)`,
			chromedp.WithPollingTimeout(15*time.Second))(ctx, tgt)
		if err != nil {
			return err
		}
		// The config's JSON is parsed and applied right after the response.
		_, err = chromedp.Sleep(100*time.Millisecond)(ctx, tgt)
		return err
	})
}

// waitForDocs polls Elasticsearch until done accepts the site's documents.
func waitForDocs(t *testing.T, store es, prefix, site string, done func([]map[string]any) bool) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var docs []map[string]any
	for {
		hits := store.searchHits(storeIndex(prefix, journeystore.FamilyEvents), map[string]any{"term": map[string]any{eventmodel.AttrSiteID: site}})
		docs = docs[:0]
		for _, h := range hits {
			docs = append(docs, h)
		}
		if done(docs) {
			return docs
		}
		if time.Now().After(deadline) {
			dump, _ := json.MarshalIndent(docs, "", "  ")
			t.Fatalf("expected documents did not arrive within 30s; got %d:\n%s", len(docs), dump)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func countName(docs []map[string]any, name string) int {
	n := 0
	for _, d := range docs {
		if d["event.name"] == name {
			n++
		}
	}
	return n
}

func findDoc(t *testing.T, docs []map[string]any, field string, value any) map[string]any {
	t.Helper()
	for _, d := range docs {
		if fmt.Sprint(d[field]) == fmt.Sprint(value) {
			return d
		}
	}
	dump, _ := json.MarshalIndent(docs, "", "  ")
	t.Fatalf("no document with %s=%v among:\n%s", field, value, dump)
	return nil
}

func assertField(t *testing.T, doc map[string]any, field string, want any) {
	t.Helper()
	got, ok := doc[field]
	if want == nil {
		if ok {
			t.Errorf("%s %v: %s should be absent, is %v", doc["event.name"], doc[eventmodel.AttrEventID], field, got)
		}
		return
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("%s %v: %s = %s, want %s", doc["event.name"], doc[eventmodel.AttrEventID], field, gj, wj)
	}
}

func assertSameElements(t *testing.T, want, got []string) {
	t.Helper()
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	for k, n := range count {
		if n != 0 {
			t.Errorf("page view paths: got %v, want %v (%q off by %d)", got, want, k, -n)
			return
		}
	}
}

func assertNoPII(t *testing.T, docs []map[string]any) {
	t.Helper()
	all, _ := json.Marshal(docs)
	for _, pii := range typedPII {
		if strings.Contains(string(all), pii) || strings.Contains(string(all), url.QueryEscape(pii)) {
			t.Errorf("typed PII %q reached Elasticsearch", pii)
		}
	}
}

// checkVisitorCookie: the receiver's visitor cookie is HttpOnly, holds the
// stored visitor id and lives at most 13 months.
func checkVisitorCookie(t *testing.T, cookies []*network.Cookie, vid any) {
	t.Helper()
	for _, c := range cookies {
		if c.Name != "_wjid" {
			continue
		}
		if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
			t.Errorf("visitor cookie must be HttpOnly and SameSite=Lax: %+v", c)
		}
		if !strings.HasPrefix(c.Value, fmt.Sprint(vid)+".") {
			t.Errorf("visitor cookie %q does not hold visitor id %v", c.Value, vid)
		}
		if exp := time.Unix(int64(c.Expires), 0); exp.After(time.Now().Add(395*24*time.Hour + time.Minute)) {
			t.Errorf("visitor cookie expires %v, later than 13 months", exp)
		}
		return
	}
	t.Errorf("no visitor cookie _wjid among %v", cookies)
}

// geoDatabase is the country database scripts/fetch-testdata.sh fetches.
func geoDatabase(t *testing.T) string {
	t.Helper()
	return testenv.Fetched(t, testenv.GeoCountryDB)
}

// TestGeoBehindTrustedProxy: the address a trusted proxy forwards is the
// client address, resolved to a country by the configured database; the
// same header from an untrusted peer would be ignored (unit-tested in
// clientip), here the peer 127.0.0.1 is trusted.
func TestGeoBehindTrustedProxy(t *testing.T) {
	store, prefix, listen := startBrowserCollector(t)

	hit := url.Values{"s": {browserSite}, "eid": {"e2e-geo-1"}, "url": {"https://shop.example/de"}}
	pixel(t, "http://"+listen+"/p.gif?"+hit.Encode(), map[string]string{
		"X-Forwarded-For": "80.156.0.1, 127.0.0.1",
		"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	})
	docs := waitForDocs(t, store, prefix, browserSite, func(docs []map[string]any) bool { return len(docs) >= 1 })
	doc := findDoc(t, docs, eventmodel.AttrEventID, "e2e-geo-1")
	assertField(t, doc, eventmodel.AttrClientAddress, "80.156.0.1")
	assertField(t, doc, eventmodel.AttrGeoCountry, "DE")
	assertField(t, doc, eventmodel.AttrBot, nil)
}
