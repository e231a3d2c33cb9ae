package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
	"github.com/webjourney/webjourney/test/testenv"
)

// Sites of the browser postback test. All require consent (the tag is
// cookieless until analytics is granted); the first takes it from the
// site's banner through the tag's consent command and treats GPC as an
// objection to marketing (the tag keeps its cookies, the postback gate
// refuses); the second reads it from the page's IAB TCF CMP; the third
// runs the tag cookieless whatever the visitor grants (cookie mode none).
const (
	pbBrowserSite           = "e2e-pb-browser"
	pbBrowserTCFSite        = "e2e-pb-browser-tcf"
	pbBrowserCookielessSite = "e2e-pb-browser-cookieless"
)

// pbBrowser is the collector of the browser postback test and what the
// test reads: the partner's server, Elasticsearch, the collector's own
// metrics.
type pbBrowser struct {
	partner   *e2ePartner
	store     es
	prefix    string
	collector string // the tag's origin: http://host:port
	metrics   string // host:port of the collector's Prometheus endpoint
}

// startPostbackBrowserCollector runs one built collector for every case:
// pixel → consent → anonymizer → attribution → Elasticsearch and
// partner_postback, the partner reached over TLS with its own CA. GPC
// means an objection to marketing (deny_marketing, as the CCPA reads it):
// the event is kept and the postback gate must still refuse it.
func startPostbackBrowserCollector(t *testing.T) *pbBrowser {
	t.Helper()
	esURL := estest.URL(t)
	dir := t.TempDir()
	write := func(name, text string) string { return writeLine(t, dir, name, text) }
	const partnerSecret = "e2e-browser-partner-secret"
	env := &pbBrowser{partner: newE2EPartner(t, partnerSecret), store: es{t: t, url: esURL}, prefix: estest.UniquePrefix(t)}
	t.Cleanup(func() { env.store.deleteIndices(env.prefix) })
	clickKey := write("click.key", strings.Repeat("e3", 32))
	processors := strings.Replace(postbackProcessors(write("secret.key", strings.Repeat("6f", 32)), clickKey),
		"  consent:\n", "  consent:\n    gpc: deny_marketing\n", 1)
	partnerConfig := fmt.Sprintf(`        archipro:
          url: "%s/pb/{site_id}?click={click_id}&event={outcome}&value={value}&cur={currency}&share={credit}&credited={credited_value}"
          outcomes: [purchase]
          secret_file: %q
          client:
            tls: {ca_file: %q}
`, env.partner.URL, write("partner.secret", partnerSecret), write("partner-ca.pem", env.partner.caPEM()))
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsPort := freePort(t)
	env.collector, env.metrics = "http://"+listen, fmt.Sprintf("127.0.0.1:%d", metricsPort)
	partnerSite := func(id, settings string) string {
		return fmt.Sprintf(`      - id: %s
        %s
        referral_partners:
          - {name: archipro, param: __apid, attribution_window: 720h}
`, id, settings)
	}
	startCollector(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
receivers:
  pixel:
    endpoint: %s
    # Headless Chromium reports navigator.webdriver; the attribution
    # processor leaves marked bots out of journeys.
    bots: {action: keep}
    rate_limit: {requests_per_second: 0}
    sites:
%s%s%s
processors:
%s
exporters:
  elasticsearch_journey:
    endpoints: [%q]
    index_prefix: %s
    sending_queue:
      batch:
        flush_timeout: 200ms
  partner_postback:
    click_id:
      keys: {c1: {file: %q}}
    sites:
      %s:
%s      %s:
%s      %s:
%s
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    logs:
      receivers: [pixel]
      processors: [consent, anonymizer, attribution]
      exporters: [elasticsearch_journey, partner_postback]
`, health, listen,
		partnerSite(pbBrowserSite, "consent: {required: true, honor_gpc: false}"),
		partnerSite(pbBrowserTCFSite, "consent: {required: true, tcf: true}"),
		partnerSite(pbBrowserCookielessSite, "consent: {required: true}\n        cookies: {mode: none}"),
		processors, esURL, env.prefix, clickKey,
		pbBrowserSite, partnerConfig, pbBrowserTCFSite, partnerConfig, pbBrowserCookielessSite, partnerConfig, metricsPort), health)
	return env
}

// skipped is the collector's count of the partner's postbacks skipped for reason.
func (env *pbBrowser) skipped(t *testing.T, reason string) float64 {
	t.Helper()
	return promValue(t, env.metrics, "otelcol_exporter_partner_postback_skipped", `partner="archipro"`, `reason="`+reason+`"`)
}

// postbacksFor returns the postbacks the partner received for click id.
func (env *pbBrowser) postbacksFor(click string) []partnerRequest {
	var out []partnerRequest
	for _, r := range env.partner.requests() {
		if u, err := url.Parse(r.uri); err == nil && u.Query().Get("click") == click {
			out = append(out, r)
		}
	}
	return out
}

// newClickID is a click id no earlier run has used, so that a search for
// it in Elasticsearch finds only what this run stored.
func newClickID(t *testing.T, visitor string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "ap-" + visitor + "-" + hex.EncodeToString(b)
}

// consentPage is a page of the partner's advertiser: the tag, and a
// consent banner as sites have one. The banner stores the visitor's choice
// and applies it on every page before the tag runs (the tag stores no
// consent); choose() is the visitor's click. On the TCF site, a CMP (the
// __tcfapi API) does the same with a TC string: it reports the stored
// string as the page loads, or shows its UI and reports the visitor's
// choice (tcfChoose) as a user action.
var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<script>
// The test's probe: how many of the tag's beacons have been answered.
var beaconsDone = 0, pageFetch = window.fetch
window.fetch = function (u) {
  var p = pageFetch.apply(this, arguments)
  if (new URL(u, location.href).pathname === '/b') p.then(function () { beaconsDone++ }, function () {})
  return p
}
window.webjourney=window.webjourney||function(){(webjourney.q=webjourney.q||[]).push(arguments)}
var stored = JSON.parse(localStorage.getItem('choice') || 'null')
if (stored) webjourney('consent', stored)
function choose(c) { localStorage.setItem('choice', JSON.stringify(c)); webjourney('consent', c) }
{{if .TCF}}
var tcfListener, tcf = JSON.parse(localStorage.getItem('tcf') || 'null')
window.__tcfapi = function (cmd, version, cb) {
  if (cmd !== 'addEventListener') return
  tcfListener = cb
  cb(tcf ? {gdprApplies: true, tcString: tcf.tc, eventStatus: 'tcloaded', purpose: {consents: tcf.purposes}}
         : {gdprApplies: true, tcString: '', eventStatus: 'cmpuishown', purpose: {consents: {}}}, true)
}
function tcfChoose(tc, purposes) {
  tcf = {tc: tc, purposes: purposes}
  localStorage.setItem('tcf', JSON.stringify(tcf))
  tcfListener({gdprApplies: true, tcString: tc, eventStatus: 'useractioncomplete', purpose: {consents: purposes}}, true)
}
{{end}}
</script>
<script async src="{{.Collector}}/wj.js" data-site="{{.Site}}"></script>
</head><body><h1>{{.Title}}</h1></body></html>`))

// advertiserSite serves the pages of site with the consent banner (and the CMP
// when tcf is set).
func advertiserSite(t *testing.T, collector, site string, tcf bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = consentPage.Execute(w, map[string]any{"Title": "Page " + r.URL.Path, "Collector": collector, "Site": site, "TCF": tcf})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// tcStrings encodes the TC strings of the exporter's consent gate tests
// with IAB Europe's own encoder (@iabtcf/core, installed by
// scripts/fetch-testdata.sh), running the gate's generator script.
func tcStrings(t *testing.T) map[string]string {
	t.Helper()
	node := testenv.Node(t)
	core := testenv.Fetched(t, testenv.IABTCFCore)
	script := testenv.Fetched(t, "exporter/partnerpostbackexporter/internal/consentgate/testdata/tcstrings.mjs")
	out, err := exec.Command(node, script, core).CombinedOutput()
	if err != nil {
		t.Fatalf("encoding TC strings: %v\n%s", err, out)
	}
	tc := map[string]string{}
	for _, m := range regexp.MustCompile(`(\w+) = "([\w.-]+)"`).FindAllStringSubmatch(string(out), -1) {
		tc[m[1]] = m[2]
	}
	if tc["tcAll"] == "" || tc["tcNoPurpose7"] == "" {
		t.Fatalf("the TC string script printed %s", out)
	}
	return tc
}

// beaconsDone counts the page's beacons that have been answered (the
// page's probe: keepalive requests are not in the page's resource timing).
const beaconsDone = `beaconsDone`

// andWaitForBeacon runs js in the page and waits until the beacon it
// causes has been answered: in server cookie mode the answer to a grant's
// beacon sets the visitor cookie the next page's beacons must carry.
func andWaitForBeacon(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		before, err := chromedp.Evaluate[float64](beaconsDone)(ctx, tgt)
		if err != nil {
			return err
		}
		if _, err := chromedp.Evaluate[any](js)(ctx, tgt); err != nil {
			return err
		}
		_, err = chromedp.Poll[bool](fmt.Sprintf(`%s > %v`, beaconsDone, before), chromedp.WithPollingTimeout(15*time.Second))(ctx, tgt)
		return err
	})
}

// convert is the site's purchase, through the tag's own command: the
// attribution processor's outcome rule (postbackProcessors) makes it a
// purchase of 120.5 EUR. The buyer's name is a property, for the test to
// find the purchase in Elasticsearch.
func convert(visitor string) string {
	return fmt.Sprintf(`webjourney('track', 'purchase', {revenue: 120.5, buyer: %q})`, visitor)
}

// pbVisitor is one visitor of the browser postback test.
type pbVisitor struct {
	name   string
	site   string // the site id
	gpc    bool   // the browser sends Global Privacy Control
	choose string // the visitor's choice on the landing page (JS), if any
	// after is what the visitor does on the next page before buying (JS), if anything
	after string
	// reason is the skip reason the collector must count, "" for a visitor
	// the partner must be told about.
	reason string
	click  string
}

// run drives the visitor's journey in a tab of its own (its own cookie
// jar and storage): landing from the partner's link, the choice, the next
// page, the purchase.
func (v *pbVisitor) run(t *testing.T, browser context.Context, site *httptest.Server) {
	t.Helper()
	v.click = newClickID(t, v.name)
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(tab, 45*time.Second)
	defer cancelTimeout()
	// Visitors are different people: without consent, the anonymizer's
	// cookieless key (from the address and the user agent) is a visitor's
	// only journey, and all of them come from 127.0.0.1.
	steps := []chromedp.Action[chromedp.Void]{call(emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 e2e-" + v.name})}
	if v.gpc {
		// As a browser with GPC on: the property the tag reads, before any
		// page script, and the request header.
		steps = append(steps,
			call(page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true})`}),
			call(network.Enable, network.EnableParams{}),
			call(network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Sec-GPC": "1"}}),
		)
	}
	steps = append(steps, chromedp.Navigate(site.URL+"/?__apid="+url.QueryEscape(v.click)), waitForTag())
	if v.choose != "" {
		steps = append(steps, andWaitForBeacon(v.choose))
	}
	steps = append(steps, chromedp.Navigate(site.URL+"/product"), waitForTag())
	if v.after != "" {
		steps = append(steps, andWaitForBeacon(v.after))
	}
	steps = append(steps, andWaitForBeacon(convert(v.name)), chromedp.Navigate("about:blank"))
	run(t, ctx, steps...)
}

// TestBrowserPartnerPostback: visitors arrive in headless Chromium from the
// partner's link, on pages that run the real tag served by the built
// collector, choose their consent in the site's banner or CMP, browse on
// and buy. Those who granted marketing consent are reported to the
// partner's TLS server exactly once each, signed, with the click id they
// arrived with; every other is not, and the collector counts why. One
// collector serves every visitor; a consented visitor runs last, and the
// exporter is fed in order, so once its postback arrived the earlier
// visitors' postbacks would have arrived too.
func TestBrowserPartnerPostback(t *testing.T) {
	tc := tcStrings(t)
	env := startPostbackBrowserCollector(t)
	sites := map[string]*httptest.Server{
		pbBrowserSite:           advertiserSite(t, env.collector, pbBrowserSite, false),
		pbBrowserTCFSite:        advertiserSite(t, env.collector, pbBrowserTCFSite, true),
		pbBrowserCookielessSite: advertiserSite(t, env.collector, pbBrowserCookielessSite, false),
	}
	browser := newBrowser(t)
	granted := `choose({analytics: 'granted', marketing: 'granted'})`
	tcfChoose := func(tc, purposes string) string { return fmt.Sprintf(`tcfChoose(%q, %s)`, tc, purposes) }

	main, tcfSite, cookieless := pbBrowserSite, pbBrowserTCFSite, pbBrowserCookielessSite
	visitors := []*pbVisitor{
		// Accepts the banner on the landing page: the tag sends the landing
		// again with the visitor's ids, so the journey is the partner's.
		{name: "consented", site: main, choose: granted},
		{name: "analyticsonly", site: main, choose: `choose({analytics: 'granted'})`, reason: "no_marketing_consent"},
		{name: "gpc", site: main, gpc: true, choose: granted, reason: "gpc"},
		{name: "tcfno7", site: tcfSite, choose: tcfChoose(tc["tcNoPurpose7"], `{1: true, 8: true}`), reason: "tcf_purposes"},
		// Grants everything, but the tag runs without identifiers: the
		// journey is the cookieless one, its credit anonymous.
		{name: "cookielesstag", site: cookieless, choose: granted, reason: "anonymous"},
		// Never answers the banner: cookieless, its journey (and the
		// partner's credit) anonymous.
		{name: "noconsent", site: main, reason: "anonymous"},
		// Grants, browses on, withdraws (the collector erases the visitor
		// and cancels its postbacks), then buys: the purchase is cookieless
		// again, credited on the anonymous journey that began with the
		// landing before the grant, and not reported.
		{name: "withdrawn", site: main, choose: granted, after: `choose({analytics: 'denied', marketing: 'denied'})`, reason: "anonymous"},
		// Controls, last: the TCF visitor whose string has every purpose,
		// and a second consented visitor.
		{name: "tcfall", site: tcfSite, choose: tcfChoose(tc["tcAll"], `{1: true, 7: true, 8: true}`)},
		{name: "control", site: main, choose: granted},
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpJourneys(t, env)
		}
	})
	for _, v := range visitors {
		v.run(t, browser, sites[v.site])
	}

	// Wait for the controls' postbacks and for every skip to be counted.
	want := map[string]float64{}
	for _, v := range visitors {
		if v.reason != "" {
			want[v.reason]++
		}
	}
	eventually(t, 60*time.Second, "the consented visitors' postbacks, the skips and the stored purchases and credits", func() bool {
		for _, v := range visitors {
			if v.reason == "" && len(env.postbacksFor(v.click)) == 0 {
				return false
			}
			if env.purchaseID(t, v.name) == nil || len(env.purchaseCredits(t, v.name)) == 0 {
				return false
			}
		}
		for reason, n := range want {
			if env.skipped(t, reason) < n {
				return false
			}
		}
		return true
	})

	for _, v := range visitors {
		t.Run(v.name, func(t *testing.T) {
			got := env.postbacksFor(v.click)
			credits := env.purchaseCredits(t, v.name)
			// The credit is stored (the exporters are fed together), the
			// partner's, with the outcome's consent, and without the click id.
			if len(credits) != 1 {
				t.Fatalf("%s: %d last_touch credits of its purchase, want 1: %v", v.name, len(credits), credits)
			}
			decision := eventmodel.DecisionKeep
			if v.reason == "anonymous" {
				decision = eventmodel.DecisionAnonymous
			}
			for k, want := range map[string]any{"webjourney.channel.partner": "archipro", "webjourney.outcome.value": 120.5, "webjourney.outcome.currency": "EUR",
				eventmodel.AttrConsentDecision: decision} {
				if fmt.Sprint(credits[0][k]) != fmt.Sprint(want) {
					t.Errorf("%s: credit %s = %v, want %v", v.name, k, credits[0][k], want)
				}
			}
			if v.reason != "" {
				if len(got) != 0 {
					t.Errorf("the partner was told about %s: %+v", v.name, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("the partner received %d postbacks for %s, want 1: %+v", len(got), v.name, got)
			}
			r := got[0]
			if !r.signed {
				t.Error("the postback's signature does not verify")
			}
			site := v.site
			u, err := url.Parse(r.uri)
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{"click": {v.click}, "event": {"purchase"}, "value": {"120.5"}, "cur": {"EUR"}, "share": {"1"}, "credited": {"120.5"}}
			if u.Path != "/pb/"+site || u.Query().Encode() != want.Encode() {
				t.Errorf("postback %s, want /pb/%s?%s", r.uri, site, want.Encode())
			}
			if len(r.key) != 32 {
				t.Errorf("idempotency key %q", r.key)
			}
		})
	}
	for reason, n := range want {
		if got := env.skipped(t, reason); got != n {
			t.Errorf(`skipped{partner="archipro",reason=%q} = %v, want %v`, reason, got, n)
		}
	}
	if got := promValue(t, env.metrics, "otelcol_exporter_partner_postback_sent", `partner="archipro"`); got != 3 {
		t.Errorf(`sent{partner="archipro"} = %v, want 3`, got)
	}
	if n := len(env.partner.requests()); n != 3 {
		t.Errorf("the partner received %d requests, want 3", n)
	}

	checkCredits(t, env, visitors)
}

// checkCredits: every purchase is credited to the partner in
// Elasticsearch, and no click id is stored in clear in any index.
func checkCredits(t *testing.T, env *pbBrowser, visitors []*pbVisitor) {
	t.Helper()
	all := env.store.searchHits(env.prefix+"*", map[string]any{"match_all": map[string]any{}})
	raw, _ := json.Marshal(all)
	for _, v := range visitors {
		for _, s := range []string{v.click, url.QueryEscape(v.click), strings.TrimPrefix(v.click, "ap-")} {
			if strings.Contains(string(raw), s) {
				t.Errorf("the click id of %s is stored in clear (%q)", v.name, s)
			}
		}
		// And nowhere else in the cluster either.
		q := strings.ReplaceAll(v.click, "-", `\-`)
		status, body := env.store.do(http.MethodPost, "/*/_search?expand_wildcards=open,hidden&ignore_unavailable=true", map[string]any{
			"track_total_hits": true,
			"query":            map[string]any{"query_string": map[string]any{"query": "*" + q + "* OR \"" + v.click + "\"", "fields": []string{"*"}, "lenient": true, "allow_leading_wildcard": true}}})
		var res struct {
			Hits struct {
				Total struct{ Value int } `json:"total"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(body, &res); status != http.StatusOK || err != nil || res.Hits.Total.Value != 0 {
			t.Errorf("searching the cluster for the click id of %s: %d %s", v.name, status, body)
		}
	}
}

// purchaseID is the event id of the visitor's stored purchase, or nil.
func (env *pbBrowser) purchaseID(t *testing.T, visitor string) any {
	t.Helper()
	for _, d := range env.store.searchHits(storeIndex(env.prefix, journeystore.FamilyEvents), map[string]any{"term": map[string]any{eventmodel.AttrCustomName: "purchase"}}) {
		if p, _ := d[eventmodel.AttrProperties].(map[string]any); p["buyer"] == visitor {
			return d[eventmodel.AttrEventID]
		}
	}
	return nil
}

// purchaseCredits returns the last_touch credits of the visitor's purchase
// stored in Elasticsearch.
func (env *pbBrowser) purchaseCredits(t *testing.T, visitor string) []map[string]any {
	t.Helper()
	id := env.purchaseID(t, visitor)
	if id == nil {
		t.Fatalf("the purchase of %s is not stored", visitor)
	}
	var out []map[string]any
	for _, d := range env.store.searchHits(storeIndex(env.prefix, journeystore.FamilyCredits), map[string]any{"term": map[string]any{"webjourney.outcome.event_id": id}}) {
		if d["webjourney.attribution.model"] == "last_touch" {
			out = append(out, d)
		}
	}
	return out
}

// dumpJourneys logs what a failed run stored and counted: every event and
// credit in a line, and the collector's postback and attribution metrics.
func dumpJourneys(t *testing.T, env *pbBrowser) {
	for _, f := range []journeystore.Family{journeystore.FamilyEvents, journeystore.FamilyCredits} {
		for _, d := range env.store.searchHits(storeIndex(env.prefix, f), map[string]any{"match_all": map[string]any{}}) {
			t.Logf("%v %v %v %v visitor=%v cookieless_key=%v partner=%v landing=%v model=%v consent=%v/%v marketing=%v gpc=%v props=%v",
				d["event.name"], d[eventmodel.AttrSiteID], d[eventmodel.AttrEventID], d[eventmodel.AttrURLFull], d[eventmodel.AttrVisitorID],
				d[eventmodel.AttrCookielessKey], d[eventmodel.AttrReferralPartner], d[eventmodel.AttrReferralLanding], d["webjourney.attribution.model"],
				d[eventmodel.AttrConsentDecision], d[eventmodel.AttrConsentReason], d[eventmodel.AttrConsentMarketing], d[eventmodel.AttrGPC], d[eventmodel.AttrProperties])
		}
	}
	resp, err := http.Get("http://" + env.metrics + "/metrics")
	if err != nil {
		t.Log(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "otelcol_exporter_partner_postback_sent") || strings.HasPrefix(l, "otelcol_exporter_partner_postback_skipped") ||
			strings.HasPrefix(l, "otelcol_exporter_partner_postback_failed") || strings.HasPrefix(l, "otelcol_processor_attribution_events") {
			t.Log(l)
		}
	}
}
