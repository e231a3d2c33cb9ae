package pixelreceiver

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// requireIframeHTML checks the answer every GET of the iframe pixel must get.
func requireIframeHTML(t *testing.T, resp response) {
	t.Helper()
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, iframeHTML, string(resp.body), "the body is a constant")
	assert.Equal(t, "text/html; charset=utf-8", resp.header.Get("Content-Type"))
	assert.Equal(t, iframeLength, resp.header.Get("Content-Length"))
	assert.Equal(t, "no-store, max-age=0", resp.header.Get("Cache-Control"))
	assert.Equal(t, "default-src 'none'; base-uri 'none'; form-action 'none'; sandbox", resp.header.Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", resp.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", resp.header.Get("Referrer-Policy"))
}

func TestIframeHTMLIsInert(t *testing.T) {
	lower := strings.ToLower(iframeHTML)
	for _, active := range []string{"<script", "<img", "<link", "<style", "<iframe", "<form", "src=", "href="} {
		assert.NotContains(t, lower, active)
	}
	assert.NotRegexp(t, `\son[a-z]+=`, lower, "no event-handler attributes such as onload=")
}

func TestIframeHit(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	q := url.Values{
		"s": {"shop"}, "eid": {"if-1"}, "t": {"Offer"}, "vid": {"v-9"},
		"url": {"https://shop.example/offer"},
	}
	resp := e.request(http.MethodGet, "/p.html?"+q.Encode(), "", map[string]string{"User-Agent": "Test/1.0"})
	requireIframeHTML(t, resp)

	records := onlyRecords(t, sink)
	require.Equal(t, 1, records.Len())
	lr := records.At(0)
	assert.Equal(t, eventmodel.EventPageView, lr.EventName())
	assert.Equal(t, map[string]any{
		eventmodel.AttrEventID:       "if-1",
		eventmodel.AttrSchemaVersion: int64(eventmodel.SchemaVersion),
		eventmodel.AttrSiteID:        "shop",
		eventmodel.AttrIngestChannel: eventmodel.ChannelIframe,
		eventmodel.AttrTimeSource:    eventmodel.TimeSourceReceiveTime,
		eventmodel.AttrURLFull:       "https://shop.example/offer",
		eventmodel.AttrURLScheme:     "https",
		eventmodel.AttrURLDomain:     "shop.example",
		eventmodel.AttrURLPath:       "/offer",
		eventmodel.AttrPageTitle:     "Offer",
		eventmodel.AttrVisitorID:     "v-9",
		eventmodel.AttrUserAgent:     "Test/1.0",
		eventmodel.AttrClientAddress: "127.0.0.1",
	}, lr.Attributes().AsRaw())
	e.requireRejections()
}

// An <iframe src="https://collector/p.html?s=shop"> sends the embedding page
// as Referer, which stands in for the missing url parameter.
func TestIframeRefererFallback(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	requireIframeHTML(t, e.request(http.MethodGet, "/p.html?s=shop", "", map[string]string{"Referer": "https://shop.example/landing"}))
	records := onlyRecords(t, sink)
	require.Equal(t, 1, records.Len())
	got, _ := records.At(0).Attributes().Get(eventmodel.AttrURLFull)
	assert.Equal(t, "https://shop.example/landing", got.Str())
}

// Hostile input is never reflected: the answer is the same constant page,
// the rejection is counted on the iframe channel, and nothing is consumed.
func TestIframeBadInputStillAnswersHTML(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	hostile := []string{
		"s=" + url.QueryEscape("</title><script>alert(1)</script>") + "&url=https%3A%2F%2Fshop.example%2F",
		"s=shop&url=" + url.QueryEscape("javascript:alert(1)"),
		"s=shop&url=https%3A%2F%2Fshop.example%2F&vid=" + url.QueryEscape("\"><img src=x onerror=alert(1)>"),
	}
	for _, q := range hostile {
		requireIframeHTML(t, e.request(http.MethodGet, "/p.html?"+q, "", nil))
	}
	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections(
		rejection{"iframe", "unknown_site", 1},
		rejection{"iframe", "invalid_url", 1},
		rejection{"iframe", "invalid_id", 1},
	)
}

func TestIframeCustomPath(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) { cfg.IframePath = "/collect/frame" })
	requireIframeHTML(t, e.request(http.MethodGet, "/collect/frame?s=blog&url=https%3A%2F%2Fblog.example%2F", "", nil))
	assert.Equal(t, 1, sink.LogRecordCount())
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodGet, "/p.html?s=blog", "", nil).status)
}
