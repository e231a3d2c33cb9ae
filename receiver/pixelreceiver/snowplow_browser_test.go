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

// Snowplow's browser tracker and its link click plugin (UMD bundles, as a
// site loads them from its own server), fetched by scripts/fetch-testdata.sh.
const (
	snowplowTracker   = ".cache/npm/node_modules/@snowplow/browser-tracker/dist/index.umd.min.js"
	snowplowLinkClick = ".cache/npm/node_modules/@snowplow/browser-plugin-link-click-tracking/dist/index.umd.min.js"
	snowplowForms     = ".cache/npm/node_modules/@snowplow/browser-plugin-form-tracking/dist/index.umd.min.js"
)

// snowplowPage sets the tracker up the way Snowplow's documentation does,
// with the collector URL pointed at the receiver: POST (the default) or
// GET, optionally anonymous tracking with server anonymisation, a buffer
// of one event so that each is sent at once, activity tracking
// with a 1 s heartbeat, and link click tracking. activity() stands in for
// the visitor moving the mouse, which page pings wait for.
const snowplowPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shoes</title>
<script src="/sp.js"></script>
<script src="/sp-link.js"></script>
<script src="/sp-form.js"></script>
<script>
const sp = window.snowplowBrowserTracking
const links = window.snowplowLinkClickTracking
const forms = window.snowplowFormTracking
sp.newTracker('sp', %q, {
  appId: 'shop-web',
  platform: 'web',
  eventMethod: %q,
  anonymousTracking: %s,
  bufferSize: 1,
  cookieSameSite: 'Lax',
  plugins: [links.LinkClickTrackingPlugin(), forms.FormTrackingPlugin()],
})
sp.enableActivityTracking({ minimumVisitLength: 1, heartbeatDelay: 1 })
sp.trackPageView()
links.enableLinkClickTracking()
forms.enableFormTracking({ options: { events: ['submit_form'] } })
window.activity = () => document.dispatchEvent(new MouseEvent('mousemove', { bubbles: true }))
window.play = () => sp.trackStructEvent({ category: 'video', action: 'play', label: 'intro.mp4', value: 12.5 })
window.step = () => sp.trackSelfDescribingEvent({ event: {
  schema: 'iglu:com.acme/checkout_step/jsonschema/1-0-0', data: { step: 2, option: 'express' } } })
</script>
</head><body><h1>Shoes</h1>
<a id="partner" href="https://partner.example/offer" onclick="return false">Partner offer</a>
<form id="newsletter" onsubmit="return false">
<input name="email" type="email" value="jane.doe@example.com">
<input name="pw" type="password" value="hunter2-secret">
<button id="subscribe" type="submit">Subscribe</button>
</form>
</body></html>`

// TestSnowplowTrackerInBrowser runs the real @snowplow/browser-tracker in
// headless Chromium against the real receiver: its page view, page pings,
// structured event, link click, form submission and self-describing event
// must arrive as our events, with the tracker's ids as visitor and session
// ids, and without the form's values.
func TestSnowplowTrackerInBrowser(t *testing.T) {
	for _, method := range []string{"post", "get"} {
		t.Run(method, func(t *testing.T) { testSnowplowTrackerInBrowser(t, method, false) })
	}
	// The tracker sends SP-Anonymous (after a CORS preflight) and no ids:
	// the events are cookieless, and the collector sets no cookie.
	t.Run("anonymous", func(t *testing.T) { testSnowplowTrackerInBrowser(t, "post", true) })
}

func testSnowplowTrackerInBrowser(t *testing.T, method string, anonymous bool) {
	tracker, err := os.ReadFile(testenv.Fetched(t, snowplowTracker))
	require.NoError(t, err)
	linkPlugin, err := os.ReadFile(testenv.Fetched(t, snowplowLinkClick))
	require.NoError(t, err)
	formPlugin, err := os.ReadFile(testenv.Fetched(t, snowplowForms))
	require.NoError(t, err)
	ctx := testenv.Browser(t, 60*time.Second)

	sink := new(consumertest.LogsSink)
	e := snowplowEnv(t, sink, func(cfg *Config) { cfg.Protocols.Snowplow.PagePingInterval = time.Second })
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sp.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(tracker)
		case "/sp-link.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(linkPlugin)
		case "/sp-form.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(formPlugin)
		case "/shoes":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			anonymousTracking := "false"
			if anonymous {
				anonymousTracking = "{ withServerAnonymisation: true }"
			}
			_, _ = fmt.Fprintf(w, snowplowPage, e.base, method, anonymousTracking)
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
	// The tracker is set up in the head: wait for the body too, whose
	// link and form the test clicks (a CI run clicked a null link).
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`typeof window.play === 'function' && document.readyState === 'complete'`, chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[any](`window.play(); window.step(); document.getElementById('partner').click(); document.getElementById('subscribe').click()`))
	require.NoError(t, err)

	records := waitForRecordsWhile(t, sink, func() {
		_, _ = chromedp.Run(ctx, chromedp.Evaluate[any](`window.activity()`))
	}, func(byName map[string][]plog.LogRecord) bool {
		return len(byName[eventmodel.EventPageView]) > 0 && len(byName[eventmodel.EventEngagement]) > 0 &&
			len(byName[eventmodel.EventCustom]) >= 2 && len(byName[eventmodel.EventOutboundClick]) > 0 &&
			len(byName[eventmodel.EventFormSubmit]) > 0
	})

	pv := records[eventmodel.EventPageView]
	require.Len(t, pv, 1)
	a := pv[0].Attributes().AsRaw()
	for k, want := range map[string]any{
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelSnowplow,
		eventmodel.AttrURLFull:        landing,
		eventmodel.AttrURLPath:        "/shoes",
		eventmodel.AttrPageTitle:      "Shoes",
		eventmodel.AttrCampaignSource: "newsletter",
		eventmodel.AttrCampaignMedium: "email",
		// What the browser's referrer policy lets through: the origin.
		eventmodel.AttrReferrerFull:   "http://www.google.com/",
		eventmodel.AttrReferrerDomain: "www.google.com",
	} {
		assert.Equal(t, want, a[k], k)
	}
	visitor, session := a[eventmodel.AttrVisitorID], a[eventmodel.AttrSessionID]
	if anonymous {
		assert.Equal(t, true, a[eventmodel.AttrCookieless])
		assert.Nil(t, visitor)
		assert.Nil(t, session)
	} else {
		assert.NotEmpty(t, visitor, "the tracker's domain user id")
		assert.NotEmpty(t, session, "the tracker's session id")
		assert.NotContains(t, a, eventmodel.AttrCookieless)
	}
	props := a[eventmodel.AttrProperties].(map[string]any)
	assert.Contains(t, props, "sp_vp")
	assert.Contains(t, props, "sp_res")

	ping := records[eventmodel.EventEngagement][0].Attributes().AsRaw()
	assert.Equal(t, int64(1000), ping[eventmodel.AttrEngagedTime], "one heartbeat")
	assert.Equal(t, a[eventmodel.AttrEventID], ping[eventmodel.AttrPageViewID], "the ping names its page view")
	assert.Equal(t, visitor, ping[eventmodel.AttrVisitorID])
	assert.Equal(t, session, ping[eventmodel.AttrSessionID])

	customs := map[string]map[string]any{}
	for _, r := range records[eventmodel.EventCustom] {
		ca := r.Attributes().AsRaw()
		customs[ca[eventmodel.AttrCustomName].(string)] = ca
	}
	require.Contains(t, customs, "play")
	assert.Equal(t, "video", customs["play"][eventmodel.AttrProperties].(map[string]any)["category"])
	assert.Equal(t, 12.5, customs["play"][eventmodel.AttrProperties].(map[string]any)["value"])
	require.Contains(t, customs, "com.acme/checkout_step")
	stepProps := customs["com.acme/checkout_step"][eventmodel.AttrProperties].(map[string]any)
	assert.Equal(t, int64(2), stepProps["step"])
	assert.Equal(t, "express", stepProps["option"])

	click := records[eventmodel.EventOutboundClick][0].Attributes().AsRaw()
	assert.Equal(t, "https://partner.example/offer", click[eventmodel.AttrLinkURL])
	assert.Equal(t, "partner.example", click[eventmodel.AttrLinkDomain])
	assert.Equal(t, "partner", click[eventmodel.AttrProperties].(map[string]any)["elementId"])
	assert.Equal(t, visitor, click[eventmodel.AttrVisitorID])

	form := records[eventmodel.EventFormSubmit][0].Attributes().AsRaw()
	assert.Equal(t, "newsletter", form[eventmodel.AttrFormID])
	// The plugin leaves password fields out of its elements: one field.
	assert.Equal(t, int64(1), form[eventmodel.AttrFormFieldCount])
	for name, recs := range records {
		for _, r := range recs {
			raw := fmt.Sprint(r.Attributes().AsRaw())
			assert.NotContains(t, raw, "jane.doe@example.com", name)
			assert.NotContains(t, raw, "hunter2-secret", name)
		}
	}
	e.requireRejections()
}

// waitForRecordsWhile is waitForRecords that calls nudge between polls
// (for events that need the page to see activity).
func waitForRecordsWhile(t *testing.T, sink *consumertest.LogsSink, nudge func(), done func(map[string][]plog.LogRecord) bool) map[string][]plog.LogRecord {
	t.Helper()
	var got map[string][]plog.LogRecord
	waitForRecords(t, sink, func(byName map[string][]plog.LogRecord) bool {
		if done(byName) {
			got = byName
			return true
		}
		nudge()
		return false
	})
	return got
}
