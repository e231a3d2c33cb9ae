package pixelreceiver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

var jsonHeader = map[string]string{"Content-Type": "application/json"}

// requireJSON decodes a beacon response and checks it has exactly the
// documented keys: {"error","message"} or {"accepted","rejected"}.
func requireJSON(t *testing.T, resp response) map[string]any {
	t.Helper()
	assert.Equal(t, "application/json", resp.header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(resp.body, &got), string(resp.body))
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	if _, ok := got["error"]; ok {
		assert.ElementsMatch(t, []string{"error", "message"}, keys)
	} else {
		assert.ElementsMatch(t, []string{"accepted", "rejected"}, keys)
	}
	return got
}

func TestBeaconValidBatch(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	body := `{
		"site": "shop", "visitor_id": "v-1", "session_id": "s-1", "sent_at": 1700000005000,
		"tag_version": "9.9.9",
		"events": [
			{"id": "e-1", "type": "page_view", "ts": 1700000003500,
			 "url": "https://shop.example/cart?utm_campaign=spring", "referrer": "https://shop.example/",
			 "title": "Cart", "future_field": {"nested": true}},
			{"id": "e-2", "type": "custom", "url": "https://shop.example/cart", "name": "signup",
			 "props": {"plan": "pro", "n": 3, "ratio": 0.5, "ok": true, "unset": null}}
		]
	}`
	before := time.Now()
	resp := e.request(http.MethodPost, "/b", body, map[string]string{
		"Content-Type": "application/json; charset=utf-8",
		"User-Agent":   "TestAgent/2.0",
		"Origin":       "https://shop.example",
	})
	after := time.Now()
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.JSONEq(t, `{"accepted":2,"rejected":[]}`, string(resp.body))
	requireJSON(t, resp)
	// The site allows any origin: the page's origin is echoed, with
	// credentials, because in server cookie mode the tag sends cookies.
	assert.Equal(t, "https://shop.example", resp.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", resp.header.Get("Access-Control-Allow-Credentials"))

	records := onlyRecords(t, sink)
	require.Equal(t, 2, records.Len())

	pv := records.At(0)
	assert.Equal(t, eventmodel.EventPageView, pv.EventName())
	observed := pv.ObservedTimestamp().AsTime()
	assert.WithinRange(t, observed, before, after)
	// Sent 1.5 s after it happened by the client's clock, which is years
	// behind: the time is shifted by that skew, and says so.
	assert.Equal(t, observed.Add(-1500*time.Millisecond), pv.Timestamp().AsTime())
	skew := observed.Sub(time.UnixMilli(1700000005000)).Round(time.Millisecond).Milliseconds()
	assert.Equal(t, map[string]any{
		eventmodel.AttrEventID:        "e-1",
		eventmodel.AttrSchemaVersion:  int64(eventmodel.SchemaVersion),
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelBeacon,
		eventmodel.AttrTimeSource:     eventmodel.TimeSourceClientSkewCorrected,
		eventmodel.AttrTimeCorrection: eventmodel.TimeCorrectionSkew,
		eventmodel.AttrTimeSkew:       skew,
		eventmodel.AttrURLFull:        "https://shop.example/cart?utm_campaign=spring",
		eventmodel.AttrURLScheme:      "https",
		eventmodel.AttrURLDomain:      "shop.example",
		eventmodel.AttrURLPath:        "/cart",
		eventmodel.AttrURLQuery:       "utm_campaign=spring",
		eventmodel.AttrCampaignName:   "spring",
		eventmodel.AttrReferrerFull:   "https://shop.example/",
		eventmodel.AttrReferrerDomain: "shop.example",
		eventmodel.AttrReferrerPath:   "/",
		eventmodel.AttrReferrerScheme: "https",
		eventmodel.AttrPageTitle:      "Cart",
		eventmodel.AttrVisitorID:      "v-1",
		eventmodel.AttrSessionID:      "s-1",
		eventmodel.AttrUserAgent:      "TestAgent/2.0",
		eventmodel.AttrClientAddress:  "127.0.0.1",
	}, pv.Attributes().AsRaw())

	custom := records.At(1)
	assert.Equal(t, eventmodel.EventCustom, custom.EventName())
	assert.Equal(t, custom.ObservedTimestamp(), custom.Timestamp(), "no ts: receive time")
	assert.Equal(t, pv.ObservedTimestamp(), custom.ObservedTimestamp())
	assert.Equal(t, map[string]any{
		eventmodel.AttrEventID:        "e-2",
		eventmodel.AttrSchemaVersion:  int64(eventmodel.SchemaVersion),
		eventmodel.AttrSiteID:         "shop",
		eventmodel.AttrIngestChannel:  eventmodel.ChannelBeacon,
		eventmodel.AttrTimeSource:     eventmodel.TimeSourceReceiveTime,
		eventmodel.AttrTimeCorrection: eventmodel.TimeCorrectionMissing,
		eventmodel.AttrURLFull:        "https://shop.example/cart",
		eventmodel.AttrURLScheme:      "https",
		eventmodel.AttrURLDomain:      "shop.example",
		eventmodel.AttrURLPath:        "/cart",
		eventmodel.AttrVisitorID:      "v-1",
		eventmodel.AttrSessionID:      "s-1",
		eventmodel.AttrCustomName:     "signup",
		eventmodel.AttrProperties:     map[string]any{"plan": "pro", "n": int64(3), "ratio": 0.5, "ok": true},
		eventmodel.AttrUserAgent:      "TestAgent/2.0",
		eventmodel.AttrClientAddress:  "127.0.0.1",
	}, custom.Attributes().AsRaw())

	assert.Equal(t, int64(2), e.obsMetric("otelcol_receiver_accepted_log_records"))
	e.requireRejections()
}

func TestBeaconEventTime(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	// The client clock is years off; only the gaps count. An event "after"
	// sending or more than a day old gets the receive time.
	body := `{"site":"shop","sent_at":1000000000,"events":[
		{"url":"https://shop.example/","ts":999990000},
		{"url":"https://shop.example/","ts":1000000001},
		{"url":"https://shop.example/","ts":913599999},
		{"url":"https://shop.example/","ts":1000000000}
	]}`
	resp := e.request(http.MethodPost, "/b", body, jsonHeader)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	records := onlyRecords(t, sink)
	require.Equal(t, 4, records.Len())
	observed := records.At(0).ObservedTimestamp().AsTime()
	assert.Equal(t, observed.Add(-10*time.Second), records.At(0).Timestamp().AsTime())
	assert.Equal(t, observed, records.At(1).Timestamp().AsTime())
	assert.Equal(t, observed, records.At(2).Timestamp().AsTime())
	assert.Equal(t, observed, records.At(3).Timestamp().AsTime())

	// Each says where its time came from, and why when not from the
	// client as sent.
	skew := observed.Sub(time.UnixMilli(1000000000)).Round(time.Millisecond).Milliseconds()
	want := []map[string]any{
		{eventmodel.AttrTimeSource: eventmodel.TimeSourceClientSkewCorrected, eventmodel.AttrTimeCorrection: eventmodel.TimeCorrectionSkew, eventmodel.AttrTimeSkew: skew},
		{eventmodel.AttrTimeSource: eventmodel.TimeSourceReceiveTime, eventmodel.AttrTimeCorrection: eventmodel.TimeCorrectionInFuture},
		{eventmodel.AttrTimeSource: eventmodel.TimeSourceReceiveTime, eventmodel.AttrTimeCorrection: eventmodel.TimeCorrectionTooOld},
		{eventmodel.AttrTimeSource: eventmodel.TimeSourceClientSkewCorrected, eventmodel.AttrTimeCorrection: eventmodel.TimeCorrectionSkew, eventmodel.AttrTimeSkew: skew},
	}
	for i, w := range want {
		assert.Equal(t, w, timeAttributes(records.At(i)), "event %d", i)
	}
	e.requireTimeCorrections(
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionInFuture, 1},
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionSkew, 2},
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionTooOld, 1},
	)
}

// Every reason the receiver gives for not taking a client's time as sent is
// on the event and in the counter; a right clock and a pixel hit are
// neither corrected nor counted.
func TestTimeCorrectionsCounted(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	now := time.Now().UnixMilli()
	beacons := []string{
		// A right clock: the client's times as sent, not counted.
		fmt.Sprintf(`{"site":"shop","sent_at":%d,"events":[{"url":"https://shop.example/","ts":%d}]}`, now, now-5000),
		// No ts, and a ts from after sending.
		fmt.Sprintf(`{"site":"shop","sent_at":%d,"events":[{"url":"https://shop.example/"},{"url":"https://shop.example/","ts":%d}]}`, now, now+1),
		// No sent_at: the clock cannot be checked.
		fmt.Sprintf(`{"site":"shop","events":[{"url":"https://shop.example/","ts":%d},{"url":"https://shop.example/","ts":%d}]}`, now, now),
		// Held a day and a millisecond.
		fmt.Sprintf(`{"site":"shop","sent_at":%d,"events":[{"url":"https://shop.example/","ts":%d}]}`, now, now-86_400_001),
		// A clock an hour behind.
		fmt.Sprintf(`{"site":"shop","sent_at":%d,"events":[{"url":"https://shop.example/","ts":%d}]}`, now-3_600_000, now-3_600_000-2000),
	}
	for _, b := range beacons {
		resp := e.request(http.MethodPost, "/b", b, jsonHeader)
		require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	}
	requireGIF(t, e.request(http.MethodGet, "/p.gif?s=shop&url=https%3A%2F%2Fshop.example%2F", "", nil))

	var got []map[string]any
	for _, ld := range sink.AllLogs() {
		records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range records.Len() {
			got = append(got, timeAttributes(records.At(i)))
		}
	}
	replaced := func(c string) map[string]any {
		return map[string]any{eventmodel.AttrTimeSource: eventmodel.TimeSourceReceiveTime, eventmodel.AttrTimeCorrection: c}
	}
	require.Len(t, got, 8)
	assert.Equal(t, map[string]any{eventmodel.AttrTimeSource: eventmodel.TimeSourceClient}, got[0])
	assert.Equal(t, replaced(eventmodel.TimeCorrectionMissing), got[1])
	assert.Equal(t, replaced(eventmodel.TimeCorrectionInFuture), got[2])
	assert.Equal(t, replaced(eventmodel.TimeCorrectionMissingSendTime), got[3])
	assert.Equal(t, replaced(eventmodel.TimeCorrectionMissingSendTime), got[4])
	assert.Equal(t, replaced(eventmodel.TimeCorrectionTooOld), got[5])
	assert.Equal(t, eventmodel.TimeSourceClientSkewCorrected, got[6][eventmodel.AttrTimeSource])
	assert.Equal(t, eventmodel.TimeCorrectionSkew, got[6][eventmodel.AttrTimeCorrection])
	// The receive time is a little after now: the skew is an hour and the
	// request's time on the network.
	assert.GreaterOrEqual(t, got[6][eventmodel.AttrTimeSkew], int64(3_600_000))
	assert.Less(t, got[6][eventmodel.AttrTimeSkew], int64(3_600_000+10_000))
	assert.Equal(t, map[string]any{eventmodel.AttrTimeSource: eventmodel.TimeSourceReceiveTime}, got[7], "a pixel hit replaces no client time")

	e.requireTimeCorrections(
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionInFuture, 1},
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionMissing, 1},
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionMissingSendTime, 2},
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionSkew, 1},
		timeCorrection{channelBeacon, eventmodel.TimeCorrectionTooOld, 1},
	)
}

// timeAttributes returns the webjourney.time.* attributes of lr.
func timeAttributes(lr plog.LogRecord) map[string]any {
	out := map[string]any{}
	for k, v := range lr.Attributes().All() {
		if strings.HasPrefix(k, "webjourney.time.") {
			out[k] = v.AsRaw()
		}
	}
	return out
}

func TestBeaconMixedBatch(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	body := `{"site":"shop","visitor_id":"v-1","events":[
		{"url":"https://shop.example/a"},
		{"title":"no url"},
		{"type":"custom","name":"signup","url":"https://shop.example/b"},
		{"type":"custom","url":"https://shop.example/c"},
		{"type":"click","url":"https://shop.example/d"},
		"not an object",
		{"url":"https://shop.example/e","props":{"deep":{"x":1}}}
	]}`
	resp := e.request(http.MethodPost, "/b", body, jsonHeader)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	got := requireJSON(t, resp)
	assert.InDelta(t, 2, got["accepted"], 0)
	rejected := got["rejected"].([]any)
	require.Len(t, rejected, 5)
	wantRejected := []struct {
		index  float64
		reason string
	}{{1, "missing_url"}, {3, "missing_name"}, {4, "invalid_type"}, {5, "invalid_event"}, {6, "invalid_property"}}
	for i, w := range wantRejected {
		r := rejected[i].(map[string]any)
		assert.ElementsMatch(t, []string{"index", "error", "message"}, keysOf(r))
		assert.InDelta(t, w.index, r["index"], 0)
		assert.Equal(t, w.reason, r["error"])
		assert.NotEmpty(t, r["message"])
	}

	records := onlyRecords(t, sink)
	require.Equal(t, 2, records.Len())
	assert.Equal(t, eventmodel.EventPageView, records.At(0).EventName())
	assert.Equal(t, eventmodel.EventCustom, records.At(1).EventName())
	path, _ := records.At(1).Attributes().Get(eventmodel.AttrURLPath)
	assert.Equal(t, "/b", path.Str())

	e.requireRejections(
		rejection{"beacon", "missing_url", 1},
		rejection{"beacon", "missing_name", 1},
		rejection{"beacon", "invalid_type", 1},
		rejection{"beacon", "invalid_event", 1},
		rejection{"beacon", "invalid_property", 1},
	)
}

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestBeaconAllEventsRejected(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	resp := e.request(http.MethodPost, "/b", `{"site":"shop","events":[{},{"url":"ftp://x/"}]}`, jsonHeader)
	require.Equal(t, http.StatusBadRequest, resp.status)
	requireJSON(t, resp)
	assert.JSONEq(t, `{"accepted":0,"rejected":[
		{"index":0,"error":"missing_url","message":"the page URL is missing"},
		{"index":1,"error":"invalid_url","message":"the page URL must be an absolute http(s) URL"}]}`, string(resp.body))
	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections(rejection{"beacon", "missing_url", 1}, rejection{"beacon", "invalid_url", 1})
}

func TestBeaconWholeRequestErrors(t *testing.T) {
	oneEvent := `[{"url":"https://shop.example/"}]`
	tooMany := "[" + strings.Repeat(`{"url":"https://shop.example/"},`, 50) + `{"url":"https://shop.example/"}]`
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		reason      string
	}{
		{"not json", "application/json", `site=shop`, 400, "invalid_json"},
		{"truncated json", "application/json", `{"site":"shop","events":[`, 400, "invalid_json"},
		{"json array", "application/json", oneEvent, 400, "invalid_json"},
		{"wrong field type", "application/json", `{"site":"shop","sent_at":"now","events":` + oneEvent + `}`, 400, "invalid_json"},
		{"unknown site", "application/json", `{"site":"nope","events":` + oneEvent + `}`, 400, "unknown_site"},
		{"missing site", "application/json", `{"events":` + oneEvent + `}`, 400, "unknown_site"},
		{"bad visitor id", "application/json", `{"site":"shop","visitor_id":"a@b","events":` + oneEvent + `}`, 400, "invalid_id"},
		{"no events", "application/json", `{"site":"shop","events":[]}`, 400, "no_events"},
		{"events missing", "application/json", `{"site":"shop"}`, 400, "no_events"},
		{"too many events", "application/json", `{"site":"shop","events":` + tooMany + `}`, 400, "too_many_events"},
		{"form content type", "application/x-www-form-urlencoded", `{"site":"shop","events":` + oneEvent + `}`, 415, "unsupported_media_type"},
		{"no content type", "", `{"site":"shop","events":` + oneEvent + `}`, 415, "unsupported_media_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			e := startReceiver(t, sink)
			req, err := http.NewRequest(http.MethodPost, e.base+"/b", strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp := e.do(req)
			require.Equal(t, tt.status, resp.status, string(resp.body))
			got := requireJSON(t, resp)
			assert.Equal(t, tt.reason, got["error"])
			assert.NotEmpty(t, got["message"])
			assert.Zero(t, sink.LogRecordCount())
			e.requireRejections(rejection{"beacon", tt.reason, 1})
		})
	}
}

func TestBeaconBodyTooLarge(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) { cfg.ServerConfig.MaxRequestBodySize = 1024 })
	big := `{"site":"shop","events":[{"url":"https://shop.example/","title":"` + strings.Repeat("x", 2000) + `"}]}`

	// With Content-Length: refused before reading.
	resp := e.request(http.MethodPost, "/b", big, jsonHeader)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	assert.Equal(t, "body_too_large", requireJSON(t, resp)["error"])

	// Chunked, without Content-Length: refused while reading.
	req, err := http.NewRequest(http.MethodPost, e.base+"/b", io.MultiReader(strings.NewReader(big)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp = e.do(req)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	assert.Equal(t, "body_too_large", requireJSON(t, resp)["error"])

	// A gzip bomb is cut at the same limit after decompression.
	resp = e.request(http.MethodPost, "/b", gzipString(t, big), map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.status)

	assert.Zero(t, sink.LogRecordCount())
	e.requireRejections(rejection{"beacon", "body_too_large", 3})
}

func gzipString(t *testing.T, s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.String()
}

func TestBeaconContentTypesAndEncodings(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	body := `{"site":"blog","events":[{"url":"https://blog.example/"}]}`

	// navigator.sendBeacon(url, string) sends text/plain.
	resp := e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "text/plain;charset=UTF-8"})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	resp = e.request(http.MethodPost, "/b", gzipString(t, body), map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 2, sink.LogRecordCount())

	resp = e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "application/json", "Content-Encoding": "br"})
	require.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "invalid_request", requireJSON(t, resp)["error"])
	assert.Equal(t, 2, sink.LogRecordCount())
	e.requireRejections(rejection{"beacon", "invalid_request", 1})
}

func TestBeaconPipelineErrors(t *testing.T) {
	body := `{"site":"shop","events":[{"url":"https://shop.example/"}]}`

	retryable := startReceiver(t, consumertest.NewErr(errors.New("queue full")))
	resp := retryable.request(http.MethodPost, "/b", body, jsonHeader)
	require.Equal(t, http.StatusServiceUnavailable, resp.status)
	assert.Equal(t, "5", resp.header.Get("Retry-After"))
	got := requireJSON(t, resp)
	assert.Equal(t, "pipeline_unavailable", got["error"])
	assert.NotContains(t, got["message"], "queue full", "internals are not sent to browsers")
	assert.Equal(t, int64(1), retryable.obsMetric("otelcol_receiver_refused_log_records"))
	retryable.requireRejections()

	permanent := startReceiver(t, consumertest.NewErr(consumererror.NewPermanent(errors.New("mapping conflict"))))
	resp = permanent.request(http.MethodPost, "/b", body, jsonHeader)
	require.Equal(t, http.StatusBadRequest, resp.status)
	assert.Empty(t, resp.header.Get("Retry-After"))
	assert.Equal(t, "pipeline_refused", requireJSON(t, resp)["error"])
}

func TestBeaconMethodsAndCORS(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)

	pre := e.request(http.MethodOptions, "/b", "", map[string]string{
		"Origin":                         "https://evil.example",
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "Content-Type, X-Evil",
	})
	assert.Equal(t, http.StatusNoContent, pre.status)
	// No site restricts its origins here, so any origin may send.
	assert.Equal(t, "https://evil.example", pre.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "POST", pre.header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Content-Type", pre.header.Get("Access-Control-Allow-Headers"), "requested headers are not reflected")
	assert.Equal(t, "true", pre.header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, pre.header.Values("Vary"), "Origin")
	assert.Empty(t, pre.body)

	get := e.request(http.MethodGet, "/b", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, get.status)
	assert.Equal(t, "POST, OPTIONS", get.header.Get("Allow"))
	assert.Equal(t, "method_not_allowed", requireJSON(t, get)["error"])
	e.requireRejections(rejection{"beacon", "method_not_allowed", 1})
	assert.Zero(t, sink.LogRecordCount())
}

func TestBeaconConfiguredCORSTakesOver(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.ServerConfig.CORS = configoptional.Some(confighttp.CORSConfig{AllowedOrigins: []string{"https://shop.example"}})
	})
	body := `{"site":"shop","events":[{"url":"https://shop.example/"}]}`
	resp := e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "application/json", "Origin": "https://shop.example"})
	require.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, "https://shop.example", resp.header.Get("Access-Control-Allow-Origin"))

	resp = e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"})
	assert.Empty(t, resp.header.Get("Access-Control-Allow-Origin"))
}

func TestBeaconLimits(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.Limits.MaxEventsPerBeacon = 3
		cfg.Limits.MaxProperties = 1
		cfg.Limits.MaxStringLength = 30
	})
	events := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"url":"https://shop.example/%d"}`, i)
		}
		return `{"site":"shop","events":[` + strings.Join(parts, ",") + `]}`
	}
	resp := e.request(http.MethodPost, "/b", events(3), jsonHeader)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	resp = e.request(http.MethodPost, "/b", events(4), jsonHeader)
	require.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "too_many_events", requireJSON(t, resp)["error"])

	resp = e.request(http.MethodPost, "/b", `{"site":"shop","events":[
		{"url":"https://shop.example/","props":{"a":"`+strings.Repeat("é", 20)+`"}},
		{"url":"https://shop.example/","props":{"a":1,"b":2}},
		{"url":"https://shop.example/`+strings.Repeat("x", 30)+`"}]}`, jsonHeader)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.JSONEq(t, `{"accepted":1,"rejected":[
		{"index":1,"error":"too_many_properties","message":"more custom properties than max_properties"},
		{"index":2,"error":"url_too_long","message":"the page URL is longer than max_string_length"}]}`, string(resp.body))
	last := sink.AllLogs()[len(sink.AllLogs())-1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	props, _ := last.Attributes().Get(eventmodel.AttrProperties)
	a, _ := props.Map().Get("a")
	assert.Equal(t, strings.Repeat("é", 15), a.Str(), "strings are cut at 30 bytes")
}
