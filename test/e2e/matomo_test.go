package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/testenv"
)

const (
	matomoSite = "e2e-matomo"
	// matomoTracker is the Node.js client of Matomo's HTTP Tracking API
	// (npm matomo-tracker, fetched by scripts/fetch-testdata.sh).
	matomoTracker = ".cache/npm/node_modules/matomo-tracker/index.js"
	// matomoVisitor is the tracker's visitor id (_id), as matomo.js keeps it.
	matomoVisitor = "1a2b3c4d5e6f7a8b"
)

// matomoJourneyScript sends a visit the way a site tagged with Matomo
// would, one request after the other (each a bulk request of one, so that
// the script knows when it has arrived): a landing from a newsletter, a
// site search, a second page, an event and an ecommerce order, all with
// consent=1 (matomo.js's requireConsent, consent given).
const matomoJourneyScript = `
const http = require('http')
http.globalAgent = new http.Agent({ keepAlive: false })
const MatomoTracker = require(process.argv[2])
const tracker = new MatomoTracker(1, process.argv[3])
const common = { _id: '` + matomoVisitor + `', uid: 'alice@example.com', consent: 1, ua: 'ignored without the write key',
  res: '1920x1080', pv_id: 'AbC123' }
const steps = [
  { url: 'https://shop.example/?mtm_campaign=winter&mtm_source=newsletter&mtm_medium=email', action_name: 'Shop',
    urlref: 'https://mail.example/inbox' },
  { url: 'https://shop.example/search?q=boots', search: 'boots', search_count: 3, urlref: 'https://shop.example/' },
  { url: 'https://shop.example/boots', action_name: 'Boots', urlref: 'https://shop.example/search?q=boots' },
  { url: 'https://shop.example/boots', e_c: 'Video', e_a: 'Play', e_n: 'Boots' },
  { url: 'https://shop.example/thanks', idgoal: 0, ec_id: 'A-100', revenue: 89.5,
    ec_items: JSON.stringify([['SKU1', 'Boots', 'Shoes', 89.5, 1]]) },
]
const answers = []
const next = i => {
  if (i === steps.length) { console.log(JSON.stringify(answers)); return }
  tracker.trackBulk([Object.assign({}, common, steps[i])], body => { answers.push(body); next(i + 1) })
}
next(0)
`

// TestMatomoJourney: the real matomo-tracker client reports a visit
// through the whole pipeline into the real Elasticsearch. With consent=1
// the visitor and user ids are kept and pseudonymised as ours; the visit,
// its channel and the purchase outcome are built from the tracker's
// fields exactly as for our own tag.
func TestMatomoJourney(t *testing.T) {
	client := testenv.Fetched(t, matomoTracker)
	node := testenv.Node(t)
	secretFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("4d", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    protocols:
      matomo: {enabled: true}
    sites:
      - id: %s
        consent: {required: true}
        protocols:
          matomo: {site_ids: [1]}`, matomoSite),
		processors: fmt.Sprintf(`  consent:
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
`, secretFile),
		order: []string{"consent", "anonymizer", "attribution"},
	})

	script := filepath.Join(t.TempDir(), "journey.js")
	if err := os.WriteFile(script, []byte(matomoJourneyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, script, client, "http://"+listen+"/matomo.php").Output()
	if err != nil {
		t.Fatalf("matomo-tracker: %v %s", err, out)
	}
	var answers []string
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != 5 {
		t.Fatalf("answers %s: %v", out, err)
	}
	for _, a := range answers {
		if !strings.Contains(a, `"tracked":1`) {
			t.Errorf("a request was not tracked: %s", a)
		}
	}

	docs := waitForDocs(t, store, prefix, matomoSite, func(docs []map[string]any) bool {
		return len(docs) >= 5
	})
	landing := findDoc(t, docs, eventmodel.AttrURLPath, "/")
	vid, uid, visit := landing[eventmodel.AttrVisitorID], landing[eventmodel.AttrUserID], landing[eventmodel.AttrVisitID]
	if vid == nil || vid == matomoVisitor || uid == nil || uid == "alice@example.com" || visit == nil {
		t.Fatalf("visitor %v, user %v (want pseudonyms), visit %v", vid, uid, visit)
	}
	for _, d := range docs {
		assertField(t, d, eventmodel.AttrIngestChannel, eventmodel.ChannelMatomo)
		assertField(t, d, eventmodel.AttrConsentDecision, eventmodel.DecisionKeep)
		assertField(t, d, eventmodel.AttrVisitorID, vid)
		assertField(t, d, eventmodel.AttrUserID, uid)
		assertField(t, d, eventmodel.AttrVisitID, visit)
		assertField(t, d, eventmodel.AttrPageViewID, "AbC123")
		assertField(t, d, eventmodel.AttrUserAgent, nil) // the request's; ua needs the write key
	}
	assertField(t, landing, eventmodel.AttrCampaignSource, "newsletter")
	assertField(t, landing, eventmodel.AttrCampaignMedium, "email")
	assertField(t, landing, eventmodel.AttrCampaignName, "winter")
	assertField(t, landing, eventmodel.AttrReferrerDomain, "mail.example")
	search := findDoc(t, docs, "event.name", eventmodel.EventSiteSearch)
	assertField(t, search, eventmodel.AttrSearchTerm, "boots")
	play := findDoc(t, docs, eventmodel.AttrCustomName, "Play")
	assertField(t, play, eventmodel.AttrProperties, map[string]any{"event_category": "Video", "event_name": "Boots", "screen_resolution": "1920x1080"})
	purchase := findDoc(t, docs, eventmodel.AttrCustomName, "purchase")
	assertField(t, purchase, eventmodel.AttrOutcomeName, []string{"purchase"})

	// The visit, as the attribution processor built it from the tracker's
	// fields: two pages (the search results are a page view too in
	// Matomo's sense, but our site search is its own event), the
	// newsletter's channel, the purchase.
	var v map[string]any
	eventually(t, 30*time.Second, "the visit record", func() bool {
		visits := store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"term": map[string]any{eventmodel.AttrVisitID: visit}})
		for _, doc := range visits {
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
}

const mixedSite = "e2e-matomo-mixed"

// TestMatomoMixedJourney: a visitor lands through our tag (a newsletter
// campaign) and converts on a page that reports with Matomo's wire
// format, as matomo.js posts it from the same browser. In server cookie
// mode the receiver's first-party cookies carry the visitor across both
// protocols: one visitor, one visit, and the Matomo order is its outcome
// credited to the newsletter, as if one tag had run.
func TestMatomoMixedJourney(t *testing.T) {
	ctx := newBrowser(t)
	secretFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("4d", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, prefix, listen := startPipeline(t, pipeline{
		// Headless Chromium reports navigator.webdriver, and bots make no
		// visits: detection off, this visitor is the test.
		pixel: fmt.Sprintf(`    bots: {action: keep}
    protocols:
      matomo: {enabled: true}
    sites:
      - id: %s
        consent: {required: false}
        cookies: {mode: server}
        protocols:
          matomo: {site_ids: [1]}`, mixedSite),
		processors: fmt.Sprintf(`  consent:
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
`, secretFile),
		order: []string{"consent", "anonymizer", "attribution"},
	})
	collector := "http://" + listen
	site := testSite(t, collector, mixedSite)

	// matomo.js's request for an ecommerce order (trackEcommerceOrder),
	// sent the way its sendBeacon/XMLHttpRequest path sends it: a form
	// body, with the browser's cookies for the collector.
	order := "idgoal=0&ec_id=A-100&revenue=30&ec_items=" + url.QueryEscape(`[["SKU1","Boots","Shoes",30,1]]`) +
		"&idsite=1&rec=1&r=482910&h=10&m=4&s=7&url=" + url.QueryEscape(site.URL+"/checkout") +
		"&_id=1a2b3c4d5e6f7a8b&send_image=0&pv_id=AbC123&cookie=1&res=1920x1080"
	run(t, ctx,
		chromedp.Navigate(site.URL+"/?utm_source=newsletter&utm_medium=email&utm_campaign=winter"),
		waitForTag(),
		chromedp.Navigate(site.URL+"/checkout"),
		waitForTag(),
		evaluate(fmt.Sprintf(`fetch(%q, {method: 'POST', credentials: 'include', keepalive: true,
			headers: {'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8'}, body: %q})`, collector+"/matomo.php", order)),
	)

	docs := waitForDocs(t, store, prefix, mixedSite, func(docs []map[string]any) bool {
		return countName(docs, eventmodel.EventPageView) >= 2 && countName(docs, eventmodel.EventCustom) >= 1
	})
	var pageViews []map[string]any
	for _, d := range docs {
		if d["event.name"] == eventmodel.EventPageView {
			pageViews = append(pageViews, d)
		}
	}
	landing := findDoc(t, pageViews, eventmodel.AttrURLPath, "/")
	purchase := findDoc(t, docs, eventmodel.AttrCustomName, "purchase")
	assertField(t, landing, eventmodel.AttrIngestChannel, eventmodel.ChannelBeacon)
	assertField(t, purchase, eventmodel.AttrIngestChannel, eventmodel.ChannelMatomo)
	vid, visit := landing[eventmodel.AttrVisitorID], landing[eventmodel.AttrVisitID]
	if vid == nil || visit == nil {
		t.Fatalf("landing without visitor or visit: %v", landing)
	}
	assertField(t, purchase, eventmodel.AttrVisitorID, vid)
	assertField(t, purchase, eventmodel.AttrVisitID, visit)
	assertField(t, purchase, eventmodel.AttrOutcomeName, []string{"purchase"})

	var v map[string]any
	eventually(t, 30*time.Second, "the visit record", func() bool {
		visits := store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"term": map[string]any{eventmodel.AttrVisitID: visit}})
		for _, doc := range visits {
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
}
