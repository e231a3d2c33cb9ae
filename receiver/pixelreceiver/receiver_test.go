package pixelreceiver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/framing"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadatatest"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// testEnv is a real receiver, started through its factory on a real
// localhost port, with a sink (or any consumer) behind it.
type testEnv struct {
	t      *testing.T
	rcv    *pixelReceiver
	tel    *componenttest.Telemetry
	base   string
	client *http.Client
}

// testSite is a site with the defaults a configuration file would give it.
func testSite(id string) SiteConfig {
	s := defaultSiteConfig()
	s.ID = id
	return s
}

func startReceiver(t *testing.T, next consumer.Logs, mutate ...func(*Config)) *testEnv {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	// An IP literal, so that client.address is predictable.
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.Sites = []SiteConfig{testSite("shop"), testSite("blog")}
	// Test requests come from Go's HTTP client, one address, fast: bot
	// filtering and rate limiting have their own tests that turn them on.
	cfg.Bots.Action = BotActionKeep
	cfg.RateLimit.RequestsPerSecond = 0
	for _, m := range mutate {
		m(cfg)
	}
	require.NoError(t, confmap.Validate(cfg))

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	logs, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, next)
	require.NoError(t, err)
	require.NoError(t, logs.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, logs.Shutdown(context.Background())) })

	rcv := logs.(*pixelReceiver)
	return &testEnv{
		t:    t,
		rcv:  rcv,
		tel:  tel,
		base: "http://" + rcv.endpoint,
		// No keep-alive: no client goroutines outlive a test (goleak).
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *testEnv) do(req *http.Request) response {
	e.t.Helper()
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func (e *testEnv) request(method, pathAndQuery, body string, header map[string]string) response {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+pathAndQuery, r)
	require.NoError(e.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.do(req)
}

// rejection is one expected data point of the rejection counter.
type rejection struct {
	channel, reason string
	count           int64
}

func (e *testEnv) requireRejections(want ...rejection) {
	e.t.Helper()
	if len(want) == 0 {
		_, err := e.tel.GetMetric("otelcol_receiver_pixel_rejections")
		require.Error(e.t, err, "no rejection expected")
		return
	}
	dps := make([]metricdata.DataPoint[int64], len(want))
	for i, w := range want {
		dps[i] = metricdata.DataPoint[int64]{
			Attributes: attribute.NewSet(attribute.String("channel", w.channel), attribute.String("reason", w.reason)),
			Value:      w.count,
		}
	}
	metadatatest.AssertEqualReceiverPixelRejections(e.t, e.tel, dps, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// timeCorrection is one expected data point of the time correction counter.
type timeCorrection struct {
	channel, correction string
	count               int64
}

func (e *testEnv) requireTimeCorrections(want ...timeCorrection) {
	e.t.Helper()
	dps := make([]metricdata.DataPoint[int64], len(want))
	for i, w := range want {
		dps[i] = metricdata.DataPoint[int64]{
			Attributes: attribute.NewSet(attribute.String("channel", w.channel), attribute.String("correction", w.correction)),
			Value:      w.count,
		}
	}
	metadatatest.AssertEqualReceiverPixelTimeCorrections(e.t, e.tel, dps, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// obsMetric sums a standard receiver metric from ObsReport (0 if absent).
func (e *testEnv) obsMetric(name string) int64 {
	e.t.Helper()
	m, err := e.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

// onlyRecords checks the one-request-one-Logs shape and returns the records.
func onlyRecords(t *testing.T, sink *consumertest.LogsSink) plog.LogRecordSlice {
	t.Helper()
	all := sink.AllLogs()
	require.Len(t, all, 1, "one plog.Logs per request")
	ld := all[0]
	require.Equal(t, 1, ld.ResourceLogs().Len())
	require.Equal(t, 1, ld.ResourceLogs().At(0).ScopeLogs().Len())
	sl := ld.ResourceLogs().At(0).ScopeLogs().At(0)
	assert.Equal(t, metadata.ScopeName, sl.Scope().Name())
	assert.Equal(t, "github.com/webjourney/webjourney/receiver/pixelreceiver", sl.Scope().Name())
	return sl.LogRecords()
}

func TestShutdownWithoutStart(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	logs, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, logs.Shutdown(context.Background()))
}

func TestStartFailsOnBusyPort(t *testing.T) {
	first := startReceiver(t, consumertest.NewNop())
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.ServerConfig.NetAddr.Endpoint = first.rcv.endpoint
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	logs, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.Error(t, logs.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, logs.Shutdown(context.Background()))
}

func TestUnknownPath(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	resp := e.request(http.MethodGet, "/other?s=shop&url=https%3A%2F%2Fshop.example%2F", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.status)
	assert.Zero(t, sink.LogRecordCount())
}

// The reason codes are documented through metadata.yaml (documentation.md);
// keep that list and the code in step: the decoder's reasons, then the
// framing refusals.
func TestReasonsMatchMetadata(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	documented := cm.Get("attributes::reason::enum")
	want := make([]any, 0, len(webevent.Reasons)+len(framing.Violations))
	for _, r := range webevent.Reasons {
		want = append(want, string(r))
	}
	for _, v := range framing.Violations {
		want = append(want, string(v))
	}
	assert.Equal(t, want, documented)
}

// The counter's correction values are the event model's.
func TestTimeCorrectionsMatchMetadata(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	want := make([]any, len(eventmodel.TimeCorrections))
	for i, c := range eventmodel.TimeCorrections {
		want[i] = c
	}
	assert.Equal(t, want, cm.Get("attributes::correction::enum"))
}
