package pixelreceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/testenv"
)

// plausiblePage loads Plausible's own tracker (the npm package, an ES
// module) the way a site does, with its endpoint pointed at the receiver.
// __plausible lets it run in an automated browser, captureOnLocalhost on
// 127.0.0.1: both only because this is a test.
const plausiblePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shoes</title>
<script>window.__plausible = true</script>
<script type="module">
import { init, track } from '/plausible.js'
init({ domain: 'shop.example', endpoint: %q, captureOnLocalhost: true })
window.purchase = () => new Promise(resolve => track('Purchase', {
  props: { plan: 'pro' },
  revenue: { amount: 15.99, currency: 'USD' },
  interactive: false,
  callback: resolve,
}))
window.trackerReady = true
</script>
</head><body><h1>Shoes</h1></body></html>`

// TestPlausibleTrackerInBrowser runs the real @plausible-analytics/tracker
// in headless Chromium against the real receiver: its page view and a
// custom event with props and revenue must arrive as our events.
func TestPlausibleTrackerInBrowser(t *testing.T) {
	tracker, err := os.ReadFile(testenv.Fetched(t, testenv.PlausibleTracker))
	require.NoError(t, err)
	ctx := testenv.Browser(t, 60*time.Second)

	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.Protocols.Plausible.Enabled = true
		cfg.Sites[0].Protocols.Plausible.Domains = []string{"shop.example"}
	})
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plausible.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(tracker)
		case "/shoes":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, plausiblePage, e.base+"/api/event")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)

	landing := site.URL + "/shoes?utm_source=newsletter&utm_medium=email"
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: landing, Referrer: "http://www.google.com/search?q=shoes"})
		return err
	}))
	require.NoError(t, err)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`window.trackerReady === true`, chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.purchase().then(r => r && r.status)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Equal(t, float64(http.StatusAccepted), status, "the tracker sees Plausible's answer")

	records := waitForRecords(t, sink, func(byName map[string][]plog.LogRecord) bool {
		return len(byName[eventmodel.EventPageView]) > 0 && len(byName[eventmodel.EventCustom]) > 0
	})
	pv := records[eventmodel.EventPageView]
	require.Len(t, pv, 1)
	a := pv[0].Attributes().AsRaw()
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelPlausible,
		eventmodel.AttrURLFull:        landing,
		eventmodel.AttrURLPath:        "/shoes",
		eventmodel.AttrCampaignSource: "newsletter",
		eventmodel.AttrCampaignMedium: "email",
		// What the browser's referrer policy lets through: the origin.
		eventmodel.AttrReferrerFull:   "http://www.google.com/",
		eventmodel.AttrReferrerDomain: "www.google.com",
		eventmodel.AttrCookieless:     true,
	} {
		assert.Equal(t, want, a[k], k)
	}
	assert.NotContains(t, a, eventmodel.AttrVisitorID)

	custom := records[eventmodel.EventCustom]
	require.Len(t, custom, 1)
	a = custom[0].Attributes().AsRaw()
	assert.Equal(t, "Purchase", a[eventmodel.AttrCustomName])
	assert.Equal(t, map[string]any{"plan": "pro", "revenue": 15.99, "currency": "USD"}, a[eventmodel.AttrProperties])
	assert.Equal(t, true, a[eventmodel.AttrNonInteractive])
	assert.Equal(t, landing, a[eventmodel.AttrURLFull])
	e.requireRejections()
}

// waitForRecords waits (up to a deadline, not a timed assertion) until
// done accepts the records received so far, grouped by event name.
func waitForRecords(t *testing.T, sink *consumertest.LogsSink, done func(map[string][]plog.LogRecord) bool) map[string][]plog.LogRecord {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		byName := map[string][]plog.LogRecord{}
		for _, ld := range sink.AllLogs() {
			rls := ld.ResourceLogs()
			for i := range rls.Len() {
				sls := rls.At(i).ScopeLogs()
				for j := range sls.Len() {
					lrs := sls.At(j).LogRecords()
					for k := range lrs.Len() {
						byName[lrs.At(k).EventName()] = append(byName[lrs.At(k).EventName()], lrs.At(k))
					}
				}
			}
		}
		if done(byName) {
			return byName
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expected records did not arrive; got %d records", sink.LogRecordCount())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
