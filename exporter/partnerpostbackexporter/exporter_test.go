package partnerpostbackexporter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadatatest"
)

// startExporter builds the exporter through its factory (exporterhelper's
// retry included) and starts it.
func startExporter(t *testing.T, tt *componenttest.Telemetry, cfg *Config) exporter.Logs {
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tt), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

func partnerSet(kv ...string) attribute.Set {
	attrs := []attribute.KeyValue{attribute.String("partner", "archipro")}
	for i := 0; i+1 < len(kv); i += 2 {
		attrs = append(attrs, attribute.String(kv[i], kv[i+1]))
	}
	return attribute.NewSet(attrs...)
}

func TestOneSignedPostbackWithTheMacros(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	exp := startExporter(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))

	// A partner's click id with characters that would break out of a query
	// value if they were not encoded.
	click := "ap-77c1&admin=1#x"
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase(click))))

	got := ps.requests()
	require.Len(t, got, 1)
	r := got[0]
	assert.True(t, r.signed, "the signature verifies")
	assert.Equal(t, http.MethodGet, r.method)
	u, err := url.Parse(r.uri)
	require.NoError(t, err)
	assert.Equal(t, "/pb/shop", u.Path)
	assert.Equal(t, url.Values{
		"click": {click}, "event": {"purchase"}, "value": {"120.5"}, "cur": {"EUR"}, "share": {"1"},
		"paid": {"120.5"}, "model": {"last_touch"}, "at": {"2026-12-01T10:30:00Z"}, "id": {"ev-1"},
	}, u.Query())
	assert.Equal(t, idempotencyKey("shop", "archipro", "ev-1", "purchase", "last_touch"), r.key)
	assert.Len(t, r.key, 32)

	metadatatest.AssertEqualExporterPartnerPostbackSent(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet()}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterPartnerPostbackDuration(t, tt,
		[]metricdata.HistogramDataPoint[float64]{{Attributes: partnerSet()}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue(), metricdatatest.IgnoreExemplars())
}

func TestJSONPostbackBody(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{
		Method:     "POST",
		BodyFormat: BodyJSON,
		Body:       `{"click": "{click_id}", "sale": "{credited_value}", "goal": "{outcome}"}`,
		Headers:    map[string]string{"X-Client": "webjourney/{site_id}"},
	})
	exp := startExporter(t, tt, cfg)
	click := `ap"},"admin":true,"x":{"`
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase(click))))

	got := ps.requests()
	require.Len(t, got, 1)
	assert.True(t, got[0].signed)
	assert.Equal(t, "application/json", got[0].contentType)
	assert.Equal(t, "webjourney/shop", got[0].header.Get("X-Client"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(got[0].body, &body))
	assert.Equal(t, map[string]any{"click": click, "sale": 120.5, "goal": "purchase"}, body)
}

func TestServerErrorThenSuccessDeliversOnceWithTheSameKey(t *testing.T) {
	ps := newPartnerServer(t, http.StatusServiceUnavailable, http.StatusTooManyRequests)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	exp := startExporter(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))

	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1"))))

	got := ps.requests()
	require.Len(t, got, 3)
	for _, r := range got {
		assert.Equal(t, got[0].key, r.key, "a resend carries the same idempotency key")
		assert.True(t, r.signed)
	}
	metadatatest.AssertEqualExporterPartnerPostbackSent(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet()}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterPartnerPostbackFailed(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: partnerSet("status", "429")},
		{Value: 1, Attributes: partnerSet("status", "503")},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestRetryResendsOnlyTheFailedPostback(t *testing.T) {
	ps := newPartnerServer(t, http.StatusOK, http.StatusBadGateway)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	exp := startExporter(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))
	second := purchase("c2")
	second.eventID = "ev-2"
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1"), second)))

	got := ps.requests()
	require.Len(t, got, 3)
	keys := map[string]int{}
	for _, r := range got {
		keys[r.key]++
	}
	assert.Equal(t, map[string]int{
		idempotencyKey("shop", "archipro", "ev-1", "purchase", "last_touch"): 1,
		idempotencyKey("shop", "archipro", "ev-2", "purchase", "last_touch"): 2,
	}, keys)
}

func TestClientErrorIsPermanentAndCounted(t *testing.T) {
	ps := newPartnerServer(t, http.StatusNotFound)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	exp := startExporter(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))

	err := exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1")))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Len(t, ps.requests(), 1, "a 4xx is not retried")
	metadatatest.AssertEqualExporterPartnerPostbackFailed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet("status", "404")}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestRedirectIsNotFollowed(t *testing.T) {
	ps := newPartnerServer(t, http.StatusFound)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	exp := startExporter(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))
	err := exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1")))
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Len(t, ps.requests(), 1)
}

func TestUntrustedCertificateIsANetworkFailure(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	cfg.Sites["shop"]["archipro"].Client.TLS.CAFile = "" // system roots do not know the test CA
	cfg.RetryConfig.Enabled = false
	tt := componenttest.NewTelemetry()
	exp := startExporter(t, tt, cfg)
	err := exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1")))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "c1", "errors never carry the URL and its click id")
	assert.Empty(t, ps.requests())
	metadatatest.AssertEqualExporterPartnerPostbackFailed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet("status", "network")}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// newDirect builds the exporter without exporterhelper, to reach its parts.
func newDirect(t *testing.T, tt *componenttest.Telemetry, cfg *Config) *postbackExporter {
	e, err := newPostbackExporter(cfg, metadatatest.NewSettings(tt))
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = e.shutdown(context.Background()) })
	return e
}

type countingWaiter struct{ calls int }

func (c *countingWaiter) Wait(context.Context) error { c.calls++; return nil }

func TestEveryRequestTakesARateLimitToken(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	e := newDirect(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))
	w := &countingWaiter{}
	e.partners[[2]string{"shop", "archipro"}].limiter = w
	var recs []creditRecord
	for _, id := range []string{"a", "b", "c"} {
		r := purchase("c-" + id)
		r.eventID = id
		recs = append(recs, r)
	}
	skipped := purchase("c")
	skipped.outcome = "newsletter" // not sent: takes no token
	recs = append(recs, skipped)
	require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, recs...)))
	assert.Equal(t, 3, w.calls)
	assert.Len(t, ps.requests(), 3)
}

func TestRateLimitHoldsBackWhatItCannotSendBeforeTheDeadline(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	// One request per hour, a burst of one: the second postback would have
	// to wait past the push's deadline, so the limiter refuses at once and
	// the postback goes back to the queue.
	cfg := testConfig(t, ps, keyFile, PartnerConfig{RateLimit: RateLimitConfig{RequestsPerSecond: 1.0 / 3600, Burst: 1}})
	e := newDirect(t, tt, cfg)
	second := purchase("c2")
	second.eventID = "ev-2"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := e.pushLogs(ctx, logsOf(t, s, purchase("c1"), second))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var le consumererror.Logs
	require.True(t, errors.As(err, &le))
	assert.Equal(t, 1, le.Data().LogRecordCount(), "only the held-back postback is retried")
	assert.Len(t, ps.requests(), 1)
	metadatatest.AssertEqualExporterPartnerPostbackFailed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet("status", "rate_limited")}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestSkipsAndCreditsOfOneOutcomeAddUp(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{Model: "linear", MinCredit: 0.3, Outcomes: []string{"purchase", "lead"}})
	e := newDirect(t, tt, cfg)

	// Two touches of the partner credited for one purchase under linear:
	// one postback with the sum, and the newer touch's click id.
	older, newer := purchase("old-click"), purchase("new-click")
	older.model, newer.model = "linear", "linear"
	older.credit, newer.credit = 0.25, 0.25
	newer.touchTime = older.touchTime.Add(time.Hour)
	lowLead := purchase("c")
	lowLead.model, lowLead.outcome, lowLead.eventID, lowLead.credit = "linear", "lead", "ev-lead", 0.2
	newsletter := purchase("c")
	newsletter.model, newsletter.outcome, newsletter.eventID = "linear", "newsletter", "ev-news"
	noClick := purchase("")
	noClick.model, noClick.eventID = "linear", "ev-noclick"
	otherModel := purchase("c") // last_touch: not this partner's model, not counted
	otherPartner := purchase("c")
	otherPartner.model, otherPartner.partner = "linear", "someone_else"
	otherSite := purchase("c")
	otherSite.model, otherSite.site = "linear", "blog"
	ld := logsOf(t, s, newer, lowLead, newsletter, noClick, otherModel, otherPartner, otherSite, older)
	require.NoError(t, e.pushLogs(context.Background(), ld))

	got := ps.requests()
	require.Len(t, got, 1)
	u, err := url.Parse(got[0].uri)
	require.NoError(t, err)
	assert.Equal(t, "0.5", u.Query().Get("share"))
	assert.Equal(t, "60.25", u.Query().Get("paid"))
	assert.Equal(t, "new-click", u.Query().Get("click"))
	assert.Equal(t, "linear", u.Query().Get("model"))
	metadatatest.AssertEqualExporterPartnerPostbackSkipped(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: partnerSet("reason", skipMinCredit)},
		{Value: 1, Attributes: partnerSet("reason", skipOutcome)},
		{Value: 1, Attributes: partnerSet("reason", skipNoClickID)},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestClickIDSealedForAnotherSiteDoesNotOpen(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	e := newDirect(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))
	ld := logsOf(t, s, purchase(""))
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.Attributes().PutStr("webjourney.referral.click_id_sealed", s.Seal("c1", "blog\x00webjourney.referral.click_id_sealed"))
	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Empty(t, ps.requests())
	metadatatest.AssertEqualExporterPartnerPostbackSkipped(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet("reason", skipNoClickID)}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	e := newDirect(t, tt, testConfig(t, ps, keyFile, PartnerConfig{Headers: map[string]string{"X-Click": "{click_id}"}}))
	require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, purchase("c1\r\nX-Admin: 1"))))
	assert.Empty(t, ps.requests())
	metadatatest.AssertEqualExporterPartnerPostbackSkipped(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet("reason", skipUnsafeValue)}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestStartNamesAMissingSecret(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, _ := clickKeys(t)
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	p := cfg.Sites["shop"]["archipro"]
	p.SecretFile, p.SecretEnv = "", "WEBJOURNEY_TEST_POSTBACK_SECRET_UNSET"
	e, err := newPostbackExporter(cfg, metadatatest.NewSettings(componenttest.NewTelemetry()))
	require.NoError(t, err)
	err = e.start(context.Background(), componenttest.NewNopHost())
	assert.EqualError(t, err, "sites::shop::archipro::secret_env: environment variable WEBJOURNEY_TEST_POSTBACK_SECRET_UNSET is not set")

	cfg.ClickID.Keys["k1"] = KeySource{File: keyFile + ".missing"}
	e, err = newPostbackExporter(cfg, metadatatest.NewSettings(componenttest.NewTelemetry()))
	require.NoError(t, err)
	assert.ErrorContains(t, e.start(context.Background(), componenttest.NewNopHost()), "click_id::keys::k1::file")
}

// A partner touch without credit under the partner's model (an earlier
// touch, under last touch) is not the partner's conversion: no postback,
// nothing counted.
func TestUncreditedTouchIsNotAPostback(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	e := newDirect(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))
	earlier := purchase("c1")
	earlier.credit = 0
	require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, earlier)))
	assert.Empty(t, ps.requests())
	_, err := tt.GetMetric("otelcol_exporter_partner_postback_skipped")
	assert.Error(t, err, "not counted as skipped")
}
