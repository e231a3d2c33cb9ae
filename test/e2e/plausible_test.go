package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/testenv"
)

const (
	plausibleSite    = "e2e-plausible"
	browserUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

// plausibleSitePage is a page of a site that keeps Plausible's own
// tracker (the npm package) and only points its endpoint at the
// collector. __plausible lets the tracker run in an automated browser and
// captureOnLocalhost on 127.0.0.1: both only because this is a test.
const plausibleSitePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
<script>window.__plausible = true</script>
<script type="module">
import { init, track } from '/plausible.js'
init({ domain: 'shop.example', endpoint: %q, captureOnLocalhost: true })
window.track = track
window.trackerReady = true
</script>
</head><body><p id="page%s">page</p><a id="checkout" href="/checkout">checkout</a></body></html>`

// TestPlausibleJourney: the real @plausible-analytics/tracker reports a
// landing from a newsletter, a second page and a purchase with revenue
// through the whole pipeline into the real Elasticsearch. Plausible sends
// no id and no consent: the events are stored anonymous, under one
// cookieless visitor key, in one visit whose channel and outcome come from
// the tracker's fields exactly as for our own tag.
func TestPlausibleJourney(t *testing.T) {
	tracker, err := os.ReadFile(testenv.Fetched(t, testenv.PlausibleTracker))
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	secretFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("4d", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    protocols:
      plausible: {enabled: true}
    sites:
      - id: %s
        protocols:
          plausible: {domains: [shop.example]}`, plausibleSite),
		processors: fmt.Sprintf(`  consent:
  anonymizer:
    secret: {file: %q}
  attribution:
    emit_interval: 100ms
    outcomes:
      - name: purchase
        conditions:
          - event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "Purchase"
        value: attributes["webjourney.properties"]["revenue"]
        currency: USD
`, secretFile),
		order: []string{"consent", "anonymizer", "attribution"},
	})
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plausible.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(tracker)
		case "/", "/checkout":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, plausibleSitePage, "http://"+listen+"/api/event", strings.ReplaceAll(r.URL.Path, "/", "-"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)

	landing := site.URL + "/?utm_source=newsletter&utm_medium=email&utm_campaign=winter"
	run(t, ctx,
		// A visitor's browser, not HeadlessChrome: the bot filter drops
		// those, and bots make no visits.
		call(emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: browserUserAgent}),
		call(page.Navigate, page.NavigateParams{URL: landing, Referrer: "http://mail.example/inbox"}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`window.trackerReady === true`, chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
			return err
		}),
		// A real navigation: an SPA one would keep the landing's external
		// document.referrer on its page view (docs/migrate.md).
		chromedp.Click(chromedp.ID("checkout")),
		chromedp.WaitVisible(chromedp.ID("page-checkout")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`window.trackerReady === true`, chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[float64](`new Promise(resolve => track('Purchase', {
				props: { plan: 'pro' }, revenue: { amount: 15.99, currency: 'USD' }, callback: r => resolve(r && r.status) }))`,
				chromedp.EvalAwaitPromise)(ctx, tg)
			return err
		}),
	)

	docs := waitForDocs(t, store, prefix, plausibleSite, func(docs []map[string]any) bool {
		return countName(docs, eventmodel.EventPageView) >= 2 && countName(docs, eventmodel.EventCustom) >= 1
	})
	var pageViews []string
	for _, d := range docs {
		if d["event.name"] == eventmodel.EventPageView {
			pageViews = append(pageViews, fmt.Sprint(d[eventmodel.AttrURLPath]))
		}
	}
	assertSameElements(t, []string{"/", "/checkout"}, pageViews)
	key := docs[0][eventmodel.AttrCookielessKey]
	visit := docs[0][eventmodel.AttrVisitID]
	if key == nil || visit == nil {
		t.Fatalf("no cookieless key or visit: %v", docs[0])
	}
	for _, d := range docs {
		assertField(t, d, eventmodel.AttrIngestChannel, eventmodel.ChannelPlausible)
		assertField(t, d, eventmodel.AttrConsentDecision, eventmodel.DecisionAnonymous)
		assertField(t, d, eventmodel.AttrCookielessKey, key)
		assertField(t, d, eventmodel.AttrVisitID, visit)
		assertField(t, d, eventmodel.AttrVisitorID, nil)
		assertField(t, d, eventmodel.AttrSessionID, nil)
		assertField(t, d, eventmodel.AttrClientAddress, nil)
	}
	landingDoc := findDoc(t, docs, eventmodel.AttrURLPath, "/")
	assertField(t, landingDoc, eventmodel.AttrCampaignSource, "newsletter")
	assertField(t, landingDoc, eventmodel.AttrReferrerDomain, "mail.example")
	purchase := findDoc(t, docs, eventmodel.AttrCustomName, "Purchase")
	assertField(t, purchase, eventmodel.AttrProperties, map[string]any{"plan": "pro", "revenue": 15.99, "currency": "USD"})
	assertField(t, purchase, eventmodel.AttrOutcomeName, []string{"purchase"})

	// The visit, as the attribution processor built it from the tracker's
	// fields: two pages, the newsletter's channel, the purchase.
	var v map[string]any
	eventually(t, 30*time.Second, "the visit record", func() bool {
		visits := store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"term": map[string]any{eventmodel.AttrVisitID: visit}})
		for _, doc := range visits {
			if n, _ := doc[eventmodel.AttrVisitPagesViewed].(float64); n == 2 && doc[eventmodel.AttrVisitOutcomes] != nil {
				v = doc
				return true
			}
		}
		return false
	})
	assertField(t, v, eventmodel.AttrChannelMedium, "email")
	assertField(t, v, eventmodel.AttrChannelSource, "newsletter")
	assertField(t, v, eventmodel.AttrVisitOutcomes, []string{"purchase"})
}
