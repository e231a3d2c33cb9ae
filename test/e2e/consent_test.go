package e2e

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// consentSite requires consent in the tag (cookieless until granted) and
// the consent processor's defaults decide: no consent, anonymous event.
// tcfSite reads consent from the page's IAB TCF CMP.
const (
	consentSite = "e2e-consent"
	tcfSite     = "e2e-tcf"
)

func startConsentCollector(t *testing.T) (store es, prefix, collector string) {
	t.Helper()
	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    bots: {action: mark}
    sites:
      - id: %s
        consent: {required: true}
      - id: %s
        consent: {required: true, tcf: true}`, consentSite, tcfSite),
		processors: "  consent:\n",
		order:      []string{"consent"},
	})
	return store, prefix, "http://" + listen
}

// TestBrowserConsentLifecycle walks one visitor through denial, a later
// grant and a withdrawal, with the real tag in Chromium and the consent
// processor in the built collector, and checks what Elasticsearch holds:
// while denied no identifier and no cookie; after the grant full tracking;
// the withdrawal's erasure request deletes everything stored with the
// withdrawn ids and leaves an audit record that names no one.
func TestBrowserConsentLifecycle(t *testing.T) {
	ctx := newBrowser(t)
	store, prefix, collector := startConsentCollector(t)
	site := testSite(t, collector, consentSite)

	// 1. The visitor refuses: the landing page view and the refusal are
	// anonymous, and nothing is stored in the browser.
	run(t, ctx,
		chromedp.Navigate(site.URL+"/?gclid=EAIaIQ-canary"),
		waitForTag(),
		evaluate(`webjourney('consent', {analytics: 'denied', marketing: 'denied'})`),
		chromedp.Sleep(1500*time.Millisecond), // the queue sends within a second
	)
	if c := browserCookies(t, ctx, collector, site.URL); len(c) != 0 {
		t.Errorf("cookies after a denial: %v", c)
	}

	// 2. Later the visitor grants: from then on, full tracking.
	run(t, ctx,
		evaluate(`webjourney('consent', {analytics: 'granted'})`),
		chromedp.Sleep(1500*time.Millisecond),
		chromedp.Click(chromedp.ID("spa")),
		chromedp.Sleep(400*time.Millisecond),
		evaluate(`webjourney('identify', 'customer-7')`),
		evaluate(`webjourney('track', 'after_grant')`),
		chromedp.Sleep(1500*time.Millisecond),
	)
	granted := browserCookies(t, ctx, collector)
	if len(granted) == 0 {
		t.Errorf("no cookie after the grant")
	}
	// Full tracking from the grant on, stored before the withdrawal comes.
	grantedDocs := waitForDocs(t, store, prefix, consentSite, func(docs []map[string]any) bool {
		return hasCustom(docs, "after_grant") && countName(docs, eventmodel.EventIdentify) >= 1
	})
	virtual := findDoc(t, grantedDocs, eventmodel.AttrURLPath, "/spa/step-2")
	for _, d := range grantedDocs {
		if d["event.name"] == eventmodel.EventPageView && d[eventmodel.AttrURLPath] == "/spa/step-2" {
			virtual = d
		}
	}
	assertField(t, virtual, eventmodel.AttrConsentDecision, eventmodel.DecisionKeep)
	vid := virtual[eventmodel.AttrVisitorID]
	if vid == nil || virtual[eventmodel.AttrSessionID] == nil {
		t.Fatalf("page view after the grant has no visitor or session id: %v", virtual)
	}
	afterGrant := findDoc(t, grantedDocs, eventmodel.AttrCustomName, "after_grant")
	assertField(t, afterGrant, eventmodel.AttrConsentDecision, eventmodel.DecisionKeep)
	assertField(t, afterGrant, eventmodel.AttrVisitorID, vid)
	assertField(t, afterGrant, eventmodel.AttrUserID, "customer-7")
	keptBefore := 0
	for _, d := range grantedDocs {
		if d[eventmodel.AttrVisitorID] == vid {
			keptBefore++
		}
	}

	// 3. The visitor withdraws: an erasure request erases everything stored
	// with the visitor's ids, cookies gone.
	run(t, ctx,
		evaluate(`webjourney('consent', {analytics: 'denied'})`),
		chromedp.Sleep(1500*time.Millisecond),
		evaluate(`webjourney('track', 'after_withdrawal')`),
		chromedp.Navigate("about:blank"),
	)
	if c := browserCookies(t, ctx, collector, site.URL); len(c) != 0 {
		t.Errorf("cookies after the withdrawal: %v", c)
	}

	docs := waitForDocs(t, store, prefix, consentSite, func(docs []map[string]any) bool {
		return countName(docs, eventmodel.EventErasureRequest) >= 1 && hasCustom(docs, "after_withdrawal")
	})

	byName := map[string][]map[string]any{}
	for _, d := range docs {
		name, _ := d["event.name"].(string)
		byName[name] = append(byName[name], d)
		if d[eventmodel.AttrConsentDecision] == eventmodel.DecisionAnonymous {
			assertAnonymous(t, d)
		}
	}

	landing := findDoc(t, byName[eventmodel.EventPageView], eventmodel.AttrURLPath, "/")
	assertAnonymous(t, landing)
	assertField(t, landing, eventmodel.AttrClickIDType, "gclid") // that an ad was clicked is statistics
	assertField(t, landing, eventmodel.AttrURLFull, site.URL+"/")

	// Forgotten: no stored document names the visitor or the user any more.
	for _, d := range docs {
		if d[eventmodel.AttrVisitorID] == vid || d[eventmodel.AttrUserID] == "customer-7" {
			t.Errorf("%s %v still names the withdrawn visitor", d["event.name"], d[eventmodel.AttrEventID])
		}
	}
	if hasCustom(docs, "after_grant") {
		t.Errorf("the events of the consented period were not erased")
	}

	afterWithdrawal := findDoc(t, byName[eventmodel.EventCustom], eventmodel.AttrCustomName, "after_withdrawal")
	assertAnonymous(t, afterWithdrawal)

	if n := len(byName[eventmodel.EventErasureRequest]); n != 1 {
		t.Errorf("want one erasure request, got %d", n)
	}
	erasure := findDoc(t, docs, "event.name", eventmodel.EventErasureRequest)
	assertField(t, erasure, eventmodel.AttrVisitorID, nil)
	assertField(t, erasure, eventmodel.AttrUserID, nil)
	assertField(t, erasure, eventmodel.AttrConsentReason, "consent_withdrawn")
	if n, _ := erasure[eventmodel.AttrErasureDeleted].(float64); int(n) < keptBefore {
		t.Errorf("erasure deleted %v documents, %d were stored with the visitor id", erasure[eventmodel.AttrErasureDeleted], keptBefore)
	}
	if s, _ := erasure[eventmodel.AttrErasureSubject].(string); len(s) != 32 {
		t.Errorf("erasure record has no subject hash: %v", erasure)
	}

	// The withdrawal itself is stored, anonymous: the erasure request is
	// the only record that still names the visitor.
	var withdrawals int
	for _, d := range docs {
		if d["event.name"] == eventmodel.EventConsentUpdate && d[eventmodel.AttrConsentAnalytics] == eventmodel.ConsentDenied {
			assertAnonymous(t, d)
			withdrawals++
		}
	}
	if withdrawals != 2 {
		t.Errorf("want the refusal and the withdrawal stored, got %d consent denials", withdrawals)
	}
}

func hasCustom(docs []map[string]any, name string) bool {
	for _, d := range docs {
		if d[eventmodel.AttrCustomName] == name {
			return true
		}
	}
	return false
}

// assertAnonymous: no identifier, no address, no user agent, no click id.
func assertAnonymous(t *testing.T, d map[string]any) {
	t.Helper()
	assertField(t, d, eventmodel.AttrConsentDecision, eventmodel.DecisionAnonymous)
	for _, k := range []string{
		eventmodel.AttrVisitorID, eventmodel.AttrSessionID, eventmodel.AttrUserID, eventmodel.AttrReferralClickID,
		eventmodel.AttrClickIDValue, eventmodel.AttrClientAddress, eventmodel.AttrUserAgent, eventmodel.AttrTCFString,
	} {
		assertField(t, d, k, nil)
	}
}

// TC strings encoded by IAB Europe's @iabtcf/core 1.5.6 (TCF v2.2, policy
// version 4; see internal/tcf/testdata/vectors.mjs for how vectors are made).
const (
	tcConsent1And8 = "CQtAQoAQtAQoAAKABAENBkEAAIEAAAAAAAAAAAAAAAAA.IAFABAAA" // purposes 1 and 8 by consent
	tcConsent1Only = "CQtAQoAQtAQoAAKABAENBkEAAIAAAAAAAAAAAAAAAAAA.IAFABAAA" // purpose 1 only: storage, no measurement
)

// cmpPage is a page whose CMP (a stub of the __tcfapi API) reports a TC
// string, as a real CMP does after the visitor's choice.
var cmpPage = template.Must(template.New("cmp").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>CMP</title>
<script>
window.__tcfapi = function (cmd, version, cb) {
  if (cmd === 'addEventListener') cb({gdprApplies: true, tcString: {{.TC}}, eventStatus: 'useractioncomplete',
    purpose: {consents: {{.Purposes}}}}, true)
}
window.webjourney=window.webjourney||function(){(webjourney.q=webjourney.q||[]).push(arguments)}
</script>
<script async src="{{.Collector}}/wj.js" data-site="{{.Site}}"></script>
</head><body><h1>CMP</h1></body></html>`))

// TestBrowserTCF: the tag reads the page's CMP; the processor decides on
// the TC string itself. A string that allows storage (purpose 1) but not
// measurement (purpose 8) makes the tag use cookies, and the processor
// still stores the events without any identifier.
func TestBrowserTCF(t *testing.T) {
	store, prefix, collector := startConsentCollector(t)
	for _, tc := range []struct {
		path, tc string
		purposes template.JS
		decision string
		reason   string
	}{
		{"/both", tcConsent1And8, `{1: true, 8: true}`, "keep", "tcf_consent"},
		{"/storage-only", tcConsent1Only, `{1: true}`, "anonymous", "tcf_no_measurement"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ctx := newBrowser(t)
			site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_ = cmpPage.Execute(w, map[string]any{"TC": tc.tc, "Purposes": tc.purposes, "Collector": collector, "Site": tcfSite})
			}))
			t.Cleanup(site.Close)
			run(t, ctx, chromedp.Navigate(site.URL+tc.path), waitForTag(), chromedp.Navigate("about:blank"))

			docs := waitForDocs(t, store, prefix, tcfSite, func(docs []map[string]any) bool {
				for _, d := range docs {
					if d["event.name"] == eventmodel.EventPageView && d[eventmodel.AttrURLPath] == tc.path {
						return true
					}
				}
				return false
			})
			var pv map[string]any
			for _, d := range docs {
				if d["event.name"] == eventmodel.EventPageView && d[eventmodel.AttrURLPath] == tc.path {
					pv = d
				}
			}
			assertField(t, pv, eventmodel.AttrConsentDecision, tc.decision)
			assertField(t, pv, eventmodel.AttrConsentReason, tc.reason)
			assertField(t, pv, eventmodel.AttrConsentSource, "tcf")
			assertField(t, pv, eventmodel.AttrTCFGDPRApplies, true)
			// Purpose 1 lets the tag use identifiers in both cases: what the
			// processor removes, it removes on its own decision.
			assertField(t, pv, eventmodel.AttrCookieless, nil)
			if tc.decision == eventmodel.DecisionAnonymous {
				assertAnonymous(t, pv)
			} else {
				assertField(t, pv, eventmodel.AttrTCFString, tc.tc)
				if pv[eventmodel.AttrVisitorID] == nil {
					t.Errorf("kept page view has no visitor id: %v", pv)
				}
			}
		})
	}
}
