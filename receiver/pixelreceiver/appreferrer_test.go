package pixelreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor"
)

// appReferrers are what Chrome on Android reports as document.referrer for
// a page opened from an app, with the channel the visit must get.
var appReferrers = []struct{ referrer, pkg, medium, source string }{
	{"android-app://com.google.android.googlequicksearchbox/", "com.google.android.googlequicksearchbox", "search", "google"},
	{"android-app://com.google.android.googlequicksearchbox/https/www.google.com", "com.google.android.googlequicksearchbox", "search", "google"},
	{"android-app://com.google.android.gm/", "com.google.android.gm", "email", "gmail"},
	{"android-app://com.linkedin.android/", "com.linkedin.android", "social", "linkedin"},
	{"android-app://com.twitter.android/", "com.twitter.android", "social", "twitter"},
	{"android-app://com.facebook.katana/", "com.facebook.katana", "social", "facebook"},
	{"android-app://com.instagram.android/", "com.instagram.android", "social", "instagram"},
	{"android-app://com.reddit.frontpage/", "com.reddit.frontpage", "social", "reddit"},
	{"android-app://com.Slack/", "com.slack", "social", "slack"},
	{"android-app://org.telegram.messenger/", "org.telegram.messenger", "social", "telegram"},
	{"android-app://com.whatsapp/", "com.whatsapp", "social", "whatsapp"},
	{"android-app://com.microsoft.office.outlook/", "com.microsoft.office.outlook", "email", "outlook"},
	{"android-app://com.openai.chatgpt/", "com.openai.chatgpt", "ai_assistant", "chatgpt"},
	{"android-app://com.microsoft.teams/", "com.microsoft.teams", "referral", "com.microsoft.teams"},
	{"android-app://com.example.reader/", "com.example.reader", "referral", "com.example.reader"},
}

// An android-app referrer is kept (scheme android-app, the package name
// as domain), not dropped as before, and the attribution processor gives
// the visit the app's channel: the pixel's ref, the iframe's and the
// beacon's referrer.
func TestAndroidAppReferrers(t *testing.T) {
	sink := new(consumertest.LogsSink)
	f := attributionprocessor.NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	e := startReceiver(t, p)

	for i, a := range appReferrers {
		for _, surface := range []string{"pixel", "iframe", "beacon"} {
			sink.Reset()
			vid := fmt.Sprintf("v-%s-%d", surface, i) // a new visitor: a new visit
			switch surface {
			case "beacon":
				body, err := json.Marshal(map[string]any{"site": "shop", "visitor_id": vid,
					"events": []any{map[string]any{"url": "https://shop.example/", "referrer": a.referrer}}})
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, e.request(http.MethodPost, "/b", string(body), jsonHeader).status)
			default:
				path := map[string]string{"pixel": "/p.gif", "iframe": "/p.html"}[surface]
				q := url.Values{"s": {"shop"}, "url": {"https://shop.example/"}, "ref": {a.referrer}, "vid": {vid}}
				require.Equal(t, http.StatusOK, e.request(http.MethodGet, path+"?"+q.Encode(), "", nil).status)
			}
			var ev map[string]any
			for _, ld := range sink.AllLogs() {
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for j := 0; j < lrs.Len(); j++ {
					if lrs.At(j).EventName() == eventmodel.EventPageView {
						ev = lrs.At(j).Attributes().AsRaw()
					}
				}
			}
			require.NotNil(t, ev, "%s %s: the page view", surface, a.referrer)
			assert.Equal(t, "android-app", ev[eventmodel.AttrReferrerScheme], "%s %s", surface, a.referrer)
			assert.Equal(t, a.pkg, ev[eventmodel.AttrReferrerDomain], "%s %s", surface, a.referrer)
			assert.Equal(t, a.referrer, ev[eventmodel.AttrReferrerFull], "%s %s", surface, a.referrer)
			assert.Equal(t, a.medium, ev[eventmodel.AttrChannelMedium], "%s %s", surface, a.referrer)
			assert.Equal(t, a.source, ev[eventmodel.AttrChannelSource], "%s %s", surface, a.referrer)
		}
	}
}

// Referrers that are neither http(s) nor an app's are dropped, and never
// cost the hit.
func TestUnusableReferrersDropped(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	for _, ref := range []string{"android-app://gmail/", "android-app://com..x/", "android-app://com.x:1/", "about:blank",
		"javascript:alert(1)", "file:///etc/passwd", "chrome-extension://abc/x", "ios-app://123/com.x"} {
		sink.Reset()
		requireGIF(t, e.request(http.MethodGet, pageHit("shop", "https://shop.example/", "ref", ref), "", nil))
		a := lastAttrs(t, sink)
		assert.NotContains(t, a, eventmodel.AttrReferrerFull, ref)
		assert.NotContains(t, a, eventmodel.AttrReferrerDomain, ref)
	}
}
