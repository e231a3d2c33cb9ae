package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/testenv"
)

// Snowplow's browser tracker and its link click plugin as UMD bundles, the
// way a site serves them itself (fetched by scripts/fetch-testdata.sh).
const (
	snowplowTrackerJS = ".cache/npm/node_modules/@snowplow/browser-tracker/dist/index.umd.min.js"
	snowplowLinkJS    = ".cache/npm/node_modules/@snowplow/browser-plugin-link-click-tracking/dist/index.umd.min.js"

	snowplowSite      = "e2e-snowplow"
	snowplowMixedSite = "e2e-snowplow-mixed"
)

// snowplowLanding is a page tagged with Snowplow only, set up as Snowplow's
// documentation does with the collector URL pointed at our receiver: a
// page view, activity tracking (1 s heartbeat), link click tracking, and
// window.play / window.step for a structured and a self-describing event.
// window.activity stands in for the visitor moving the mouse, which page
// pings wait for; window.duid reads the tracker's domain user id.
const snowplowLanding = `<!doctype html>
<html><head><meta charset="utf-8"><title>Winter boots</title>
<script src="/sp.js"></script>
<script src="/sp-link.js"></script>
<script>
const sp = window.snowplowBrowserTracking
const links = window.snowplowLinkClickTracking
sp.newTracker('sp', %q, {
  appId: %q, platform: 'web', bufferSize: 1, cookieSameSite: 'Lax',
  plugins: [links.LinkClickTrackingPlugin()],
})
sp.enableActivityTracking({ minimumVisitLength: 1, heartbeatDelay: 1 })
sp.trackPageView()
links.enableLinkClickTracking()
window.activity = () => document.dispatchEvent(new MouseEvent('mousemove', { bubbles: true }))
window.play = () => sp.trackStructEvent({ category: 'video', action: 'play', label: 'boots.mp4', value: 12.5 })
window.step = () => sp.trackSelfDescribingEvent({ event: {
  schema: 'iglu:com.acme/checkout_step/jsonschema/1-0-0', data: { step: 2, option: 'express' } } })
window.duid = () => (document.cookie.split('; ').find((c) => c.startsWith('_sp_id.')) || '=').split('=')[1].split('.')[0]
</script>
</head><body><h1>Winter boots</h1>
<a id="partner" href="https://reviews.example/boots" onclick="return false">Reviews</a>
</body></html>`

// snowplowSiteServer serves the tracker's bundles and the landing page
// (at every other path) for the given collector and app id.
func snowplowSiteServer(t *testing.T, collector, appID string) *httptest.Server {
	t.Helper()
	tracker, err := os.ReadFile(testenv.Fetched(t, snowplowTrackerJS))
	if err != nil {
		t.Fatal(err)
	}
	linkPlugin, err := os.ReadFile(testenv.Fetched(t, snowplowLinkJS))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sp.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(tracker)
		case "/sp-link.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(linkPlugin)
		case "/favicon.ico":
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, snowplowLanding, collector, appID)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// navigateFrom opens u with referrer as the document's referrer, as a
// click on a link elsewhere does.
func navigateFrom(u, referrer string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: u, Referrer: referrer})
		return err
	})
}

// waitForSnowplow waits until the tracker is set up and the body parsed.
func waitForSnowplow() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`typeof window.play === 'function' && document.readyState === 'complete'`,
			chromedp.WithPollingTimeout(15*time.Second))(ctx, tg)
		return err
	})
}

func snowplowProcessors(t *testing.T) string {
	secretFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("4d", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`  consent:
    default: opt_out
  anonymizer:
    secret: {file: %q}
  attribution:
    emit_interval: 100ms
    outcomes:
      - name: purchase
        conditions:
          - event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "purchase"
        value: attributes["webjourney.properties"]["revenue"]
        currency: EUR
`, secretFile)
}

// TestSnowplowJourney: the real @snowplow/browser-tracker in headless
// Chromium reports a visit through the whole pipeline (pixel receiver →
// consent → anonymizer → attribution) into the real Elasticsearch. The
// tracker's domain user id becomes the visitor, pseudonymised as ours (the
// raw id is in no index); the page view, its page pings (engaged time),
// the structured and self-describing events and the link click are our
// events, and the visit is built from the tracker's url and referrer with
// the campaign of its landing URL, as for our own tag.
func TestSnowplowJourney(t *testing.T) {
	ctx := newBrowser(t)
	store, prefix, listen := startPipeline(t, pipeline{
		// Headless Chromium reports navigator.webdriver, and bots make no
		// visits: detection off, this visitor is the test.
		pixel: fmt.Sprintf(`    bots: {action: keep}
    protocols:
      snowplow: {enabled: true, page_ping_interval: 1s}
    sites:
      - id: %s
        consent: {required: false}
        cookies: {mode: script}
        protocols:
          snowplow: {app_ids: [shop-web]}`, snowplowSite),
		processors: snowplowProcessors(t),
		order:      []string{"consent", "anonymizer", "attribution"},
	})
	site := snowplowSiteServer(t, "http://"+listen, "shop-web")

	run(t, ctx,
		navigateFrom(site.URL+"/boots?utm_source=newsletter&utm_medium=email&utm_campaign=winter", "https://mail.example/inbox"),
		waitForSnowplow(),
		evaluate(`window.play(); window.step(); document.getElementById('partner').click()`),
	)
	var duid string
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var err error
		duid, err = chromedp.Evaluate[string](`window.duid()`)(ctx, tg)
		return err
	})); err != nil || len(duid) < 16 {
		t.Fatalf("the tracker's domain user id: %q %v", duid, err)
	}

	var docs []map[string]any
	eventually(t, 45*time.Second, "the tracker's events, with page pings", func() bool {
		// Page pings need activity within each heartbeat.
		_ = chromedp.Do(ctx, evaluate(`window.activity()`))
		docs = docs[:0]
		for _, d := range store.searchHits(storeIndex(prefix, journeystore.FamilyEvents), map[string]any{"term": map[string]any{eventmodel.AttrSiteID: snowplowSite}}) {
			docs = append(docs, d)
		}
		return countName(docs, eventmodel.EventPageView) >= 1 && countName(docs, eventmodel.EventEngagement) >= 2 &&
			countName(docs, eventmodel.EventCustom) >= 2 && countName(docs, eventmodel.EventOutboundClick) >= 1
	})

	landing := findDoc(t, docs, "event.name", eventmodel.EventPageView)
	assertField(t, landing, eventmodel.AttrIngestChannel, eventmodel.ChannelSnowplow)
	assertField(t, landing, eventmodel.AttrURLPath, "/boots")
	assertField(t, landing, eventmodel.AttrCampaignName, "winter")
	vid, visit := landing[eventmodel.AttrVisitorID], landing[eventmodel.AttrVisitID]
	if vid == nil || visit == nil {
		t.Fatalf("landing without visitor or visit: %v", landing)
	}
	if vid == duid {
		t.Fatalf("the visitor id is the tracker's raw domain user id %q", duid)
	}
	for _, d := range docs {
		assertField(t, d, eventmodel.AttrVisitorID, vid)
		assertField(t, d, eventmodel.AttrVisitID, visit)
	}
	play := findDoc(t, docs, eventmodel.AttrCustomName, "play")
	assertField(t, play, eventmodel.AttrIngestChannel, eventmodel.ChannelSnowplow)
	findDoc(t, docs, eventmodel.AttrCustomName, "com.acme/checkout_step")
	click := findDoc(t, docs, "event.name", eventmodel.EventOutboundClick)
	assertField(t, click, eventmodel.AttrVisitID, visit)

	// The visit: its channel from the landing's campaign, engaged time
	// from the pings.
	var v map[string]any
	eventually(t, 30*time.Second, "the visit record with engaged time", func() bool {
		for _, doc := range store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"term": map[string]any{eventmodel.AttrVisitID: visit}}) {
			if n, ok := doc[eventmodel.AttrVisitEngagedTime].(float64); ok && n >= 1000 {
				v = doc
				return true
			}
		}
		return false
	})
	assertField(t, v, eventmodel.AttrChannelMedium, "email")
	assertField(t, v, eventmodel.AttrChannelSource, "newsletter")
	assertField(t, v, eventmodel.AttrChannelCampaign, "winter")

	// The raw domain user id reached no index: it was pseudonymised.
	for id, d := range store.searchHits(prefix+"*", map[string]any{"match_all": map[string]any{}}) {
		b, _ := json.Marshal(d)
		if strings.Contains(string(b), duid) {
			t.Errorf("document %s holds the tracker's raw domain user id %s: %s", id, duid, b)
		}
	}
}

// TestSnowplowMatomoMixedJourney: one visitor lands on a Snowplow-tagged
// page from a newsletter and converts on a checkout that reports with
// Matomo's wire format (as matomo.js posts an ecommerce order) from the
// same browser. In server cookie mode the receiver's first-party cookies
// carry the visitor across both protocols: one visitor, one visit, one
// outcome, credited to the newsletter, as if one tag had run.
func TestSnowplowMatomoMixedJourney(t *testing.T) {
	ctx := newBrowser(t)
	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    bots: {action: keep}
    protocols:
      snowplow: {enabled: true, page_ping_interval: 1s}
      matomo: {enabled: true}
    sites:
      - id: %s
        consent: {required: false}
        cookies: {mode: server}
        protocols:
          snowplow: {app_ids: [shop-web]}
          matomo: {site_ids: [1]}`, snowplowMixedSite),
		processors: snowplowProcessors(t),
		order:      []string{"consent", "anonymizer", "attribution"},
	})
	collector := "http://" + listen
	site := snowplowSiteServer(t, collector, "shop-web")

	order := "idgoal=0&ec_id=B-200&revenue=89.9&ec_items=" + url.QueryEscape(`[["SKU9","Winter boots","Shoes",89.9,1]]`) +
		"&idsite=1&rec=1&r=118822&h=11&m=5&s=9&url=" + url.QueryEscape(site.URL+"/checkout/done") +
		"&_id=9f8e7d6c5b4a3f2e&send_image=0&pv_id=XyZ789&cookie=1&res=1920x1080"
	run(t, ctx,
		navigateFrom(site.URL+"/boots?utm_source=newsletter&utm_medium=email&utm_campaign=winter", "https://mail.example/inbox"),
		waitForSnowplow(),
	)
	// The landing's page view must have reached the receiver (and set the
	// visitor cookie) before the checkout reports.
	eventually(t, 30*time.Second, "the Snowplow landing", func() bool {
		return len(store.searchHits(storeIndex(prefix, journeystore.FamilyEvents), map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{eventmodel.AttrSiteID: snowplowMixedSite}},
			map[string]any{"term": map[string]any{"event.name": eventmodel.EventPageView}},
		}}})) > 0
	})
	run(t, ctx, evaluate(fmt.Sprintf(`fetch(%q, {method: 'POST', credentials: 'include', keepalive: true,
		headers: {'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8'}, body: %q})`, collector+"/matomo.php", order)))

	docs := waitForDocs(t, store, prefix, snowplowMixedSite, func(docs []map[string]any) bool {
		return countName(docs, eventmodel.EventPageView) >= 1 && countName(docs, eventmodel.EventCustom) >= 1
	})
	landing := findDoc(t, docs, "event.name", eventmodel.EventPageView)
	purchase := findDoc(t, docs, eventmodel.AttrCustomName, "purchase")
	assertField(t, landing, eventmodel.AttrIngestChannel, eventmodel.ChannelSnowplow)
	assertField(t, purchase, eventmodel.AttrIngestChannel, eventmodel.ChannelMatomo)
	vid, visit := landing[eventmodel.AttrVisitorID], landing[eventmodel.AttrVisitID]
	if vid == nil || visit == nil {
		t.Fatalf("landing without visitor or visit: %v", landing)
	}
	assertField(t, purchase, eventmodel.AttrVisitorID, vid)
	assertField(t, purchase, eventmodel.AttrVisitID, visit)
	assertField(t, purchase, eventmodel.AttrOutcomeName, []string{"purchase"})

	var v map[string]any
	eventually(t, 30*time.Second, "the visit record with its outcome", func() bool {
		for _, doc := range store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"term": map[string]any{eventmodel.AttrVisitID: visit}}) {
			if doc[eventmodel.AttrVisitOutcomes] != nil {
				v = doc
				return true
			}
		}
		return false
	})
	assertField(t, v, eventmodel.AttrChannelMedium, "email")
	assertField(t, v, eventmodel.AttrChannelSource, "newsletter")
	assertField(t, v, eventmodel.AttrVisitOutcomes, []string{"purchase"})

	// One visitor record, and the order credited to the newsletter.
	visitors := store.searchHits(storeIndex(prefix, journeystore.FamilyVisitors), map[string]any{"term": map[string]any{eventmodel.AttrSiteID: snowplowMixedSite}})
	if len(visitors) != 1 {
		t.Errorf("%d visitor records, want 1: %v", len(visitors), visitors)
	}
	var credits map[string]map[string]any
	eventually(t, 30*time.Second, "the purchase's credits", func() bool {
		credits = store.searchHits(storeIndex(prefix, journeystore.FamilyCredits), map[string]any{"term": map[string]any{eventmodel.AttrSiteID: snowplowMixedSite}})
		return len(credits) > 0
	})
	for id, c := range credits {
		if c[eventmodel.AttrChannelSource] != "newsletter" {
			t.Errorf("credit %s: %v, want the newsletter", id, c)
		}
	}
}
