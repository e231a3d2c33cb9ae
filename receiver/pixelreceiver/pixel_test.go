package pixelreceiver

import (
	"bytes"
	"errors"
	"image/gif"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// generatedIDPattern is the one format of generated ids (internal/randomid).
const generatedIDPattern = `^[0-9a-f]{32}$`

func TestTransparentGIF(t *testing.T) {
	require.Len(t, transparentGIF, 43)
	img, err := gif.Decode(bytes.NewReader(transparentGIF))
	require.NoError(t, err)
	require.Equal(t, 1, img.Bounds().Dx())
	require.Equal(t, 1, img.Bounds().Dy())
	_, _, _, alpha := img.At(0, 0).RGBA()
	require.Zero(t, alpha, "the pixel must be transparent")
}

// requireGIF checks the answer every GET of the pixel must get.
func requireGIF(t *testing.T, resp response) {
	t.Helper()
	require.Equal(t, http.StatusOK, resp.status)
	require.Len(t, resp.body, 43)
	require.Equal(t, transparentGIF, resp.body)
	assert.Equal(t, "image/gif", resp.header.Get("Content-Type"))
	assert.Equal(t, "43", resp.header.Get("Content-Length"))
	assert.Equal(t, "no-store, max-age=0", resp.header.Get("Cache-Control"))
	assert.Equal(t, "cross-origin", resp.header.Get("Cross-Origin-Resource-Policy"))
}

func TestPixelFullHit(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	q := url.Values{
		"s":      {"shop"},
		"url":    {"https://Shop.Example.com:8443/products/42?utm_source=news&color=red#reviews"},
		"ref":    {"https://www.Google.com/search?q=shoes"},
		"t":      {"  Red Shoes  "},
		"vid":    {"v-123"},
		"sid":    {"s.456:1"},
		"e":      {"ev"},
		"n":      {"add_to_cart"},
		"eid":    {"evt-1"},
		"p.plan": {"pro"},
		"p.qty":  {"2"},
		"cb":     {"1712345"}, // cache buster: ignored
	}
	before := time.Now()
	resp := e.request(http.MethodGet, "/p.gif?"+q.Encode(), "", map[string]string{
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Test/1.0",
		"Referer":    "https://shop.example.com/embedding-page", // ignored: url is given
	})
	after := time.Now()
	requireGIF(t, resp)

	records := onlyRecords(t, sink)
	require.Equal(t, 1, records.Len())
	lr := records.At(0)
	assert.Equal(t, eventmodel.EventCustom, lr.EventName())
	assert.Equal(t, lr.ObservedTimestamp(), lr.Timestamp(), "a pixel hit happens when it is received")
	assert.WithinRange(t, lr.Timestamp().AsTime(), before, after)
	assert.Equal(t, map[string]any{
		eventmodel.AttrEventID:        "evt-1",
		eventmodel.AttrSchemaVersion:  int64(eventmodel.SchemaVersion),
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelPixel,
		eventmodel.AttrTimeSource:     eventmodel.TimeSourceReceiveTime,
		eventmodel.AttrURLFull:        "https://Shop.Example.com:8443/products/42?utm_source=news&color=red#reviews",
		eventmodel.AttrURLScheme:      "https",
		eventmodel.AttrURLDomain:      "shop.example.com",
		eventmodel.AttrURLPort:        int64(8443),
		eventmodel.AttrURLPath:        "/products/42",
		eventmodel.AttrURLQuery:       "utm_source=news&color=red",
		eventmodel.AttrURLFragment:    "reviews",
		eventmodel.AttrReferrerFull:   "https://www.Google.com/search?q=shoes",
		eventmodel.AttrReferrerDomain: "www.google.com",
		eventmodel.AttrReferrerScheme: "https",
		eventmodel.AttrReferrerPath:   "/search",
		eventmodel.AttrReferrerQuery:  "q=shoes",
		eventmodel.AttrPageTitle:      "Red Shoes",
		eventmodel.AttrVisitorID:      "v-123",
		eventmodel.AttrSessionID:      "s.456:1",
		eventmodel.AttrCustomName:     "add_to_cart",
		eventmodel.AttrProperties:     map[string]any{"plan": "pro", "qty": "2"},
		eventmodel.AttrUserAgent:      "Mozilla/5.0 (X11; Linux x86_64) Test/1.0",
		eventmodel.AttrClientAddress:  "127.0.0.1",
	}, lr.Attributes().AsRaw())

	assert.Equal(t, int64(1), e.obsMetric("otelcol_receiver_accepted_log_records"))
	e.requireRejections()
}

func TestPixelNoscriptRefererFallback(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	// What <noscript><img src="https://collector/p.gif?s=shop"></noscript> sends.
	resp := e.request(http.MethodGet, "/p.gif?s=shop", "", map[string]string{
		"Referer":    "https://shop.example/pricing?plan=pro",
		"User-Agent": "",
	})
	requireGIF(t, resp)

	records := onlyRecords(t, sink)
	require.Equal(t, 1, records.Len())
	lr := records.At(0)
	assert.Equal(t, eventmodel.EventPageView, lr.EventName())
	attrs := lr.Attributes().AsRaw()
	assert.Regexp(t, generatedIDPattern, attrs[eventmodel.AttrEventID], "a generated id")
	delete(attrs, eventmodel.AttrEventID)
	assert.Equal(t, map[string]any{
		eventmodel.AttrSchemaVersion: int64(eventmodel.SchemaVersion),
		eventmodel.AttrSiteID:        "shop",
		eventmodel.AttrIngestChannel: eventmodel.ChannelPixel,
		eventmodel.AttrTimeSource:    eventmodel.TimeSourceReceiveTime,
		eventmodel.AttrURLFull:       "https://shop.example/pricing?plan=pro",
		eventmodel.AttrURLScheme:     "https",
		eventmodel.AttrURLDomain:     "shop.example",
		eventmodel.AttrURLPath:       "/pricing",
		eventmodel.AttrURLQuery:      "plan=pro",
		eventmodel.AttrClientAddress: "127.0.0.1",
	}, attrs, "the Referer is the page, not a referrer; no empty attributes")
}

func TestPixelBadInputStillAnswersGIF(t *testing.T) {
	valid := "&url=" + url.QueryEscape("https://shop.example/")
	tests := []struct {
		name    string
		query   string
		referer string
		reason  string
	}{
		{"unknown site", "s=nope" + valid, "", "unknown_site"},
		{"missing site", valid[1:], "", "unknown_site"},
		{"missing url, no referer", "s=shop", "", "missing_url"},
		{"missing url, referer not http", "s=shop", "android-app://com.example/", "missing_url"},
		{"invalid url", "s=shop&url=javascript%3Aalert(1)", "", "invalid_url"},
		{"bad visitor id", "s=shop&vid=" + url.QueryEscape("alice@example.com") + valid, "", "invalid_id"},
		{"bad session id", "s=shop&sid=a%20b" + valid, "", "invalid_id"},
		{"bad event id", "s=shop&eid=%2F%2F" + valid, "", "invalid_id"},
		{"unknown type", "s=shop&e=click" + valid, "", "invalid_type"},
		{"custom without name", "s=shop&e=ev" + valid, "", "missing_name"},
		{"bad property key", "s=shop&p.a%20b=1" + valid, "", "invalid_property"},
		{"malformed escapes only", "%zz=%zz&s=%zz", "", "unknown_site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			e := startReceiver(t, sink)
			resp := e.request(http.MethodGet, "/p.gif?"+tt.query, "", map[string]string{"Referer": tt.referer})
			requireGIF(t, resp)
			assert.Zero(t, sink.LogRecordCount(), "nothing consumed")
			e.requireRejections(rejection{"pixel", tt.reason, 1})
		})
	}
}

func TestPixelLimits(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.Limits.MaxStringLength = 40
		cfg.Limits.MaxProperties = 2
	})
	long := "https://shop.example/" + string(bytes.Repeat([]byte("x"), 40))
	requireGIF(t, e.request(http.MethodGet, "/p.gif?s=shop&url="+url.QueryEscape(long), "", nil))
	requireGIF(t, e.request(http.MethodGet, "/p.gif?s=shop&url=https://shop.example/&p.a=1&p.b=2&p.c=3", "", nil))
	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections(rejection{"pixel", "url_too_long", 1}, rejection{"pixel", "too_many_properties", 1})

	// Title and user agent are truncated, not rejected; a long referrer keeps its domain.
	title := "Ünïcödé! " + string(bytes.Repeat([]byte("é"), 30))
	ref := "https://Ref.Example/" + string(bytes.Repeat([]byte("r"), 40))
	requireGIF(t, e.request(http.MethodGet, "/p.gif?s=shop&url=https://shop.example/&t="+url.QueryEscape(title)+"&ref="+url.QueryEscape(ref), "",
		map[string]string{"User-Agent": string(bytes.Repeat([]byte("U"), 100))}))
	records := onlyRecords(t, sink)
	attrs := records.At(0).Attributes()
	gotTitle, _ := attrs.Get(eventmodel.AttrPageTitle)
	assert.Equal(t, title[:39], gotTitle.Str(), "cut at 40 bytes without splitting é")
	gotUA, _ := attrs.Get(eventmodel.AttrUserAgent)
	assert.Len(t, gotUA.Str(), 40)
	gotRef, _ := attrs.Get(eventmodel.AttrReferrerFull)
	assert.Equal(t, ref[:40], gotRef.Str())
	gotRefDomain, _ := attrs.Get(eventmodel.AttrReferrerDomain)
	assert.Equal(t, "ref.example", gotRefDomain.Str())
	gotRefPath, _ := attrs.Get(eventmodel.AttrReferrerPath)
	assert.Len(t, gotRefPath.Str(), 40, "the referrer's parts are cut like the referrer")
}

// TestHitMethods covers both GET surfaces: HEAD answers like GET but records
// nothing, other methods get a counted 405.
func TestHitMethods(t *testing.T) {
	for _, tt := range []struct {
		path, channel, contentType, contentLength string
	}{
		{"/p.gif", "pixel", "image/gif", "43"},
		{"/p.html", "iframe", "text/html; charset=utf-8", iframeLength},
	} {
		t.Run(tt.channel, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			e := startReceiver(t, sink)
			query := tt.path + "?s=shop&url=https%3A%2F%2Fshop.example%2F"

			head := e.request(http.MethodHead, query, "", nil)
			assert.Equal(t, http.StatusOK, head.status)
			assert.Equal(t, tt.contentType, head.header.Get("Content-Type"))
			assert.Equal(t, tt.contentLength, head.header.Get("Content-Length"))
			assert.Empty(t, head.body)
			assert.Zero(t, sink.LogRecordCount(), "HEAD is a probe, not a page view")

			post := e.request(http.MethodPost, query, "x", nil)
			assert.Equal(t, http.StatusMethodNotAllowed, post.status)
			assert.Equal(t, "GET, HEAD", post.header.Get("Allow"))
			assert.Zero(t, sink.LogRecordCount())
			e.requireRejections(rejection{tt.channel, "method_not_allowed", 1})
		})
	}
}

func TestPixelIgnoresBodyEncodingErrors(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	// confighttp rejects an unknown Content-Encoding before our handler
	// runs; a pixel hit has no body, so it is still recorded.
	resp := e.request(http.MethodGet, "/p.gif?s=shop&url=https%3A%2F%2Fshop.example%2F", "", map[string]string{"Content-Encoding": "br"})
	requireGIF(t, resp)
	assert.Equal(t, 1, sink.LogRecordCount())
}

func TestPixelPipelineErrorStillAnswersGIF(t *testing.T) {
	e := startReceiver(t, consumertest.NewErr(errors.New("pipeline down")))
	resp := e.request(http.MethodGet, "/p.gif?s=shop&url=https%3A%2F%2Fshop.example%2F", "", nil)
	requireGIF(t, resp)
	assert.Equal(t, int64(1), e.obsMetric("otelcol_receiver_refused_log_records"))
	e.requireRejections()
}

func TestPixelCustomPath(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) { cfg.PixelPath = "/collect/i.gif" })
	requireGIF(t, e.request(http.MethodGet, "/collect/i.gif?s=blog&url=https%3A%2F%2Fblog.example%2F", "", nil))
	assert.Equal(t, 1, sink.LogRecordCount())
	assert.Equal(t, http.StatusNotFound, e.request(http.MethodGet, "/p.gif?s=blog", "", nil).status)
}
