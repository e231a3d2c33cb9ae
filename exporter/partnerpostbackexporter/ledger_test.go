package partnerpostbackexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// withLedger points cfg's ledger at endpoint (the real Elasticsearch, or a
// proxy in front of it) under a prefix of the test's own, deleted after
// the test; it returns the ledger index.
func withLedger(t *testing.T, cfg *Config, esURL, endpoint string) string {
	t.Helper()
	// Last: the connections of the test's own requests and proxies.
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	prefix := estest.UniquePrefix(t)
	l := defaultLedgerConfig()
	l.Endpoints = []string{endpoint}
	l.IndexPrefix = prefix
	l.FlushInterval = 20 * time.Millisecond
	// confighttp's transport wrappers do not pass CloseIdleConnections
	// on, so a kept-alive connection would outlive the test and trip the
	// package's goleak check (as in elasticsearch_journey's tests).
	l.ClientConfig.DisableKeepAlives = true
	cfg.Ledger = configoptional.Some(l)
	require.NoError(t, cfg.Validate())
	index := journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyPostbacks)
	t.Cleanup(func() {
		for _, path := range []string{"/" + index, "/_index_template/" + index} {
			req, _ := http.NewRequest(http.MethodDelete, esURL+path, http.NoBody)
			if res, err := http.DefaultClient.Do(req); err == nil {
				_ = res.Body.Close()
			}
		}
	})
	return index
}

// ledgerDocs waits until the ledger index holds n documents (polling: the
// writer flushes in the background) and returns them by id.
func ledgerDocs(t *testing.T, esURL, index string, n int) map[string]map[string]any {
	t.Helper()
	var docs map[string]map[string]any
	require.Eventually(t, func() bool {
		docs = searchAll(t, esURL, index)
		return len(docs) >= n
	}, 30*time.Second, 50*time.Millisecond, "the ledger gets %d documents", n)
	require.Len(t, docs, n)
	return docs
}

func searchAll(t *testing.T, esURL, index string) map[string]map[string]any {
	t.Helper()
	res, err := http.Post(esURL+"/"+index+"/_refresh", "application/json", http.NoBody)
	if err != nil {
		return nil
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil
	}
	res, err = http.Post(esURL+"/"+index+"/_search?size=1000", "application/json", strings.NewReader(`{"query":{"match_all":{}}}`))
	require.NoError(t, err)
	defer res.Body.Close()
	var out struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	docs := map[string]map[string]any{}
	for _, h := range out.Hits.Hits {
		docs[h.ID] = h.Source
	}
	return docs
}

func rawIndex(t *testing.T, esURL, index string) string {
	t.Helper()
	res, err := http.Get(esURL + "/" + index + "/_search?size=1000")
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func keyOf(eventID string) string {
	return idempotencyKey("shop", "archipro", eventID, "purchase", "last_touch")
}

// Every decision lands in the ledger, one document per outcome and
// partner by its idempotency key, with what joins it to its credits and
// nothing that identifies the click.
func TestLedgerRecordsEveryDecision(t *testing.T) {
	esURL := estest.URL(t)
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	index := withLedger(t, cfg, esURL, esURL)
	e := newDirect(t, tt, cfg)

	type want struct{ decision, reason string }
	cases := map[string]struct {
		consent map[string]any
		noClick bool
		outcome string
		want    want
	}{
		"sent":           {want: want{"sent", ""}},
		"other-outcome":  {outcome: "lead", want: want{"skipped", "outcome"}},
		"no-click":       {noClick: true, want: want{"skipped", "no_click_id"}},
		"marketing":      {consent: map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "marketing_denied", eventmodel.AttrConsentMarketing: "denied"}, want: want{"skipped", "marketing_denied"}},
		"no-marketing":   {consent: map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tag_granted", eventmodel.AttrConsentMarketing: "unknown"}, want: want{"skipped", "no_marketing_consent"}},
		"gpc":            {consent: map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tag_granted", eventmodel.AttrConsentMarketing: "granted", eventmodel.AttrGPC: true}, want: want{"skipped", "gpc"}},
		"tcf-purposes":   {consent: map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tcf_consent", eventmodel.AttrTCFGDPRApplies: true, eventmodel.AttrOutcomeTCFString: tcWithoutPurpose7}, want: want{"skipped", "tcf_purposes"}},
		"tcf-missing":    {consent: map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tcf_consent", eventmodel.AttrTCFGDPRApplies: true}, want: want{"skipped", "tcf_missing"}},
		"cookieless":     {consent: map[string]any{eventmodel.AttrConsentDecision: "anonymous", eventmodel.AttrConsentReason: "cookieless"}, want: want{"skipped", "anonymous"}},
		"cnil":           {consent: map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "cnil_exemption"}, want: want{"skipped", "cnil_exemption"}},
		"no-consent-set": {consent: map[string]any{eventmodel.AttrConsentMarketing: "granted"}, want: want{"skipped", "no_consent"}},
	}
	var recs []creditRecord
	for id, c := range cases {
		r := purchase("")
		if !c.noClick {
			r.click = "CLICK-" + id
		}
		r.eventID, r.visitor = id, "k1:visitor-"+id
		if c.outcome != "" {
			r.outcome = c.outcome
		}
		if c.consent != nil {
			r.consent = c.consent
		}
		recs = append(recs, r)
	}
	// An erased visitor's postback.
	erased := purchase("CLICK-erased")
	erased.eventID, erased.visitor = "erased", "k1:gone"
	require.NoError(t, e.pushLogs(context.Background(), erasureRequest("shop", "k1:gone")))
	recs = append(recs, erased)
	cases["erased"] = struct {
		consent map[string]any
		noClick bool
		outcome string
		want    want
	}{want: want{"skipped", "erased"}}

	require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, recs...)))
	require.Len(t, ps.requests(), 1)

	docs := ledgerDocs(t, esURL, index, len(cases))
	for id, c := range cases {
		outcome := "purchase"
		if c.outcome != "" {
			outcome = c.outcome
		}
		key := idempotencyKey("shop", "archipro", id, outcome, "last_touch")
		d := docs[key]
		require.NotNil(t, d, id)
		assert.Equal(t, c.want.decision, d[eventmodel.PostbackDecision], id)
		assert.Equal(t, key, d[eventmodel.PostbackID], id)
		if c.want.reason == "" {
			assert.NotContains(t, d, eventmodel.PostbackReason, id)
		} else {
			assert.Equal(t, c.want.reason, d[eventmodel.PostbackReason], id)
		}
		assert.Equal(t, "shop", d[eventmodel.AttrSiteID], id)
		assert.Equal(t, "archipro", d[eventmodel.AttrChannelPartner], id)
		assert.Equal(t, id, d[eventmodel.AttrOutcomeEventID], id)
		assert.Equal(t, "2026-12-01T10:30:00Z", d[journeystore.FieldTimestamp], "the outcome's time, as on the credits")
	}
	sent := docs[keyOf("sent")]
	assert.EqualValues(t, 1, sent[eventmodel.PostbackAttempts])
	assert.EqualValues(t, 200, sent[eventmodel.PostbackHTTPStatus])
	assert.EqualValues(t, 120.5, sent[eventmodel.AttrAttributionValue])
	assert.EqualValues(t, 1, sent[eventmodel.AttrAttributionCredit])
	assert.Equal(t, "EUR", sent[eventmodel.AttrOutcomeCurrency])
	assert.Equal(t, "last_touch", sent[eventmodel.AttrAttributionModel])
	assert.Equal(t, "k1:visitor-sent", sent[eventmodel.AttrVisitorID])
	assert.Contains(t, sent, eventmodel.PostbackDurationMS)
	assert.EqualValues(t, 0, docs[keyOf("gpc")][eventmodel.PostbackAttempts], "a skipped postback made no request")

	raw := rawIndex(t, esURL, index)
	assert.NotContains(t, raw, "CLICK-", "no click id in clear in the ledger")
	assert.NotContains(t, raw, ps.URL, "no postback URL in the ledger")
	assert.NotContains(t, raw, testSecret)

	metadatatest.AssertEqualExporterPartnerPostbackLedgerWritten(t, tt,
		[]metricdata.DataPoint[int64]{{Value: int64(len(cases))}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// The credit ids join a ledger document to its credit records: one per
// credited touch of the partner, summed into one postback.
func TestLedgerJoinsTheCredits(t *testing.T) {
	esURL := estest.URL(t)
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	cfg := testConfig(t, ps, keyFile, PartnerConfig{Model: "linear"})
	index := withLedger(t, cfg, esURL, esURL)
	e := newDirect(t, componenttest.NewTelemetry(), cfg)

	ld := logsOf(t, s)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, share := range []float64{0.25, 0.5} {
		r := purchase(fmt.Sprintf("c%d", i))
		r.model, r.credit = "linear", share
		r.appendTo(t, lrs, s)
		lrs.At(i).Attributes().PutStr(eventmodel.AttrEntityID, fmt.Sprintf("credit-%d", i))
	}
	require.NoError(t, e.pushLogs(context.Background(), ld))
	d := ledgerDocs(t, esURL, index, 1)[idempotencyKey("shop", "archipro", "ev-1", "purchase", "linear")]
	assert.Equal(t, []any{"credit-0", "credit-1"}, d[eventmodel.AttrEntityID])
	assert.InDelta(t, 0.75, d[eventmodel.AttrAttributionCredit], 1e-9)
	assert.InDelta(t, 0.75*120.5, d[eventmodel.AttrAttributionValue], 1e-9)
}

// The decision is stamped on the credit records the postback sums
// (postback id, decision, reason), by a partial update that never creates
// one: a credit already stored is stamped at once, one stored only after
// the decision (its exporter behind) when it comes, through the stamp's
// retries on 404.
func TestLedgerStampsTheCredits(t *testing.T) {
	esURL := estest.URL(t)
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{Model: "linear"})
	withLedger(t, cfg, esURL, esURL)
	credits := journeystore.Layout{Prefix: cfg.Ledger.Get().IndexPrefix}.Index(journeystore.FamilyCredits)
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, esURL+"/"+credits, http.NoBody)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
		}
	})
	e := newDirect(t, tt, cfg)
	require.NoError(t, e.stopLedger(context.Background()))
	e.ledgerBackoff = 50 * time.Millisecond
	require.NoError(t, e.startLedger(context.Background(), componenttest.NewNopHost()))

	storeCredit := func(id string) {
		// As elasticsearch_journey writes it: by id, external version 1.
		req, _ := http.NewRequest(http.MethodPut, esURL+"/"+credits+"/_doc/"+id+"?version=1&version_type=external&refresh=true",
			strings.NewReader(`{"webjourney.site.id":"shop","webjourney.attribution.model":"linear"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		require.Equal(t, http.StatusCreated, res.StatusCode)
	}
	storeCredit("credit-0")

	ld := logsOf(t, s)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, share := range []float64{0.25, 0.5} {
		r := purchase(fmt.Sprintf("c%d", i))
		r.model, r.credit = "linear", share
		r.appendTo(t, lrs, s)
		lrs.At(i).Attributes().PutStr(eventmodel.AttrEntityID, fmt.Sprintf("credit-%d", i))
	}
	require.NoError(t, e.pushLogs(context.Background(), ld))
	key := idempotencyKey("shop", "archipro", "ev-1", "purchase", "linear")
	stamped := func(id string) bool {
		d := searchAll(t, esURL, credits)[id]
		return d != nil && d[eventmodel.PostbackID] == key && d[eventmodel.PostbackDecision] == eventmodel.PostbackSent
	}
	require.Eventually(t, func() bool { return stamped("credit-0") }, 30*time.Second, 50*time.Millisecond, "the stored credit is stamped")
	// credit-1 is not stored yet: its stamp waits (404, retried), and no
	// document is created for it meanwhile.
	assert.NotContains(t, searchAll(t, esURL, credits), "credit-1", "a stamp never creates a credit record")
	storeCredit("credit-1")
	require.Eventually(t, func() bool { return stamped("credit-1") }, 30*time.Second, 50*time.Millisecond, "the late credit is stamped when stored")
	d := searchAll(t, esURL, credits)["credit-1"]
	assert.Equal(t, "linear", d[eventmodel.AttrAttributionModel], "the credit's own fields stay")
	assert.Positive(t, counter(t, tt, "otelcol_exporter_partner_postback_ledger_retried", attribute.NewSet()), "the 404 was retried")
}

// A refusal (404) is a dead letter: failed, with its status as the reason.
// A 503 then 200 is one document, sent after two attempts.
func TestLedgerFailedAndRetried(t *testing.T) {
	esURL := estest.URL(t)
	ps := newPartnerServer(t, http.StatusNotFound, http.StatusServiceUnavailable)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	index := withLedger(t, cfg, esURL, esURL)
	exp := startExporter(t, tt, cfg)

	refused := purchase("c1")
	refused.eventID = "refused"
	require.Error(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, refused)))
	retried := purchase("c2")
	retried.eventID = "retried"
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, retried)))
	require.Len(t, ps.requests(), 3)

	docs := ledgerDocs(t, esURL, index, 2)
	f := docs[keyOf("refused")]
	assert.Equal(t, "failed", f[eventmodel.PostbackDecision])
	assert.Equal(t, "status_404", f[eventmodel.PostbackReason])
	assert.EqualValues(t, 404, f[eventmodel.PostbackHTTPStatus])
	assert.EqualValues(t, 1, f[eventmodel.PostbackAttempts])
	r := docs[keyOf("retried")]
	assert.Equal(t, "sent", r[eventmodel.PostbackDecision])
	assert.EqualValues(t, 2, r[eventmodel.PostbackAttempts])
	assert.EqualValues(t, 200, r[eventmodel.PostbackHTTPStatus])

	// The dead letters, as the README tells an operator to find them.
	res, err := http.Post(esURL+"/"+index+"/_search", "application/json", strings.NewReader(
		`{"query":{"term":{"`+eventmodel.PostbackDecision+`":"failed"}}}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	assert.Contains(t, string(body), `"total":{"value":1,`)
	assert.Contains(t, string(body), keyOf("refused"))
}

// A partner that keeps failing: the postback is given up when the retry
// sender could not retry it within max_elapsed_time, and recorded expired.
func TestLedgerExpired(t *testing.T) {
	esURL := estest.URL(t)
	answers := make([]int, 1000)
	for i := range answers {
		answers[i] = http.StatusBadGateway
	}
	ps := newPartnerServer(t, answers...)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	cfg.RetryConfig.InitialInterval = 5 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 20 * time.Millisecond
	// expirySlack (1s) is part of every decision: a window a little
	// longer lets a few retries happen first.
	cfg.RetryConfig.MaxElapsedTime = 3 * time.Second
	index := withLedger(t, cfg, esURL, esURL)
	exp := startExporter(t, tt, cfg)

	err := exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1")))
	require.ErrorContains(t, err, "expired")
	n := len(ps.requests())
	require.Greater(t, n, 1, "retried before it expired")

	d := ledgerDocs(t, esURL, index, 1)[keyOf("ev-1")]
	assert.Equal(t, "expired", d[eventmodel.PostbackDecision])
	assert.Equal(t, "status_502", d[eventmodel.PostbackReason])
	assert.EqualValues(t, n, d[eventmodel.PostbackAttempts])
	assert.EqualValues(t, 502, d[eventmodel.PostbackHTTPStatus])
	metadatatest.AssertEqualExporterPartnerPostbackExpired(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet()}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// Without retry, the first retryable failure is the last: expired at once.
func TestExpiredWithoutRetry(t *testing.T) {
	ps := newPartnerServer(t, http.StatusServiceUnavailable)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	cfg.RetryConfig.Enabled = false
	exp := startExporter(t, tt, cfg)
	require.ErrorContains(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1"))), "expired")
	assert.Len(t, ps.requests(), 1)
	metadatatest.AssertEqualExporterPartnerPostbackExpired(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet()}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// failingBulk is a proxy in front of the real Elasticsearch that answers
// 429 to the first `fail` bulk requests (a busy cluster, which a test
// cannot make the real one be on demand) and passes everything else.
func failingBulk(t *testing.T, esURL string, fail int64) *httptest.Server {
	target, err := url.Parse(esURL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var bulks atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_bulk") && bulks.Add(1) <= fail {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":429}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A ledger write that fails is written again, a bounded number of times;
// the postback itself never waits for it.
func TestLedgerWriteRetries(t *testing.T) {
	esURL := estest.URL(t)
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)

	t.Run("retried then written", func(t *testing.T) {
		tt := componenttest.NewTelemetry()
		cfg := testConfig(t, ps, keyFile, PartnerConfig{})
		index := withLedger(t, cfg, esURL, failingBulk(t, esURL, 2).URL)
		e := newDirect(t, tt, cfg)
		e.ledgerBackoff = 10 * time.Millisecond
		// The ledger writer took its backoff at start; restart it.
		require.NoError(t, e.stopLedger(context.Background()))
		require.NoError(t, e.startLedger(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, purchase("c1"))))
		ledgerDocs(t, esURL, index, 1)
		require.Eventually(t, func() bool {
			return counter(t, tt, "otelcol_exporter_partner_postback_ledger_written", attribute.NewSet()) == 1
		}, 10*time.Second, 20*time.Millisecond)
		assert.EqualValues(t, 2, counter(t, tt, "otelcol_exporter_partner_postback_ledger_retried", attribute.NewSet()))
	})
	t.Run("given up", func(t *testing.T) {
		tt := componenttest.NewTelemetry()
		cfg := testConfig(t, ps, keyFile, PartnerConfig{})
		withLedger(t, cfg, esURL, failingBulk(t, esURL, 1000).URL)
		cfg.Ledger.Get().MaxRetries = 1
		e := newDirect(t, tt, cfg)
		require.NoError(t, e.stopLedger(context.Background()))
		e.ledgerBackoff = 10 * time.Millisecond
		require.NoError(t, e.startLedger(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, purchase("c1"))), "the postback does not fail with its ledger")
		require.Eventually(t, func() bool {
			return counter(t, tt, "otelcol_exporter_partner_postback_ledger_dropped", attribute.NewSet(attribute.String("reason", "retries"))) == 1
		}, 10*time.Second, 20*time.Millisecond)
		assert.EqualValues(t, 1, counter(t, tt, "otelcol_exporter_partner_postback_ledger_retried", attribute.NewSet()))
	})
}

// counter reads one data point of a counter (0 when absent).
func counter(t *testing.T, tt *componenttest.Telemetry, name string, attrs attribute.Set) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, name)
	for _, dp := range sum.DataPoints {
		if dp.Attributes.Equals(&attrs) {
			return dp.Value
		}
	}
	return 0
}

// The ledger is off unless configured; its keys default as documented;
// errors name the key under ledger::.
func TestLedgerConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.False(t, cfg.Ledger.HasValue(), "no ledger unless configured")

	cfg, err = loadConfig(t, "ledger")
	require.NoError(t, err)
	l := cfg.Ledger.Get()
	require.NotNil(t, l)
	assert.Equal(t, []string{"https://es1.internal:9200", "https://es2.internal:9200"}, l.Endpoints)
	assert.Equal(t, "shop", l.IndexPrefix)
	assert.Equal(t, "/etc/webjourney/es-api-key", l.APIKeyFile)
	assert.Equal(t, "/etc/webjourney/es-ca.pem", l.ClientConfig.TLS.CAFile)
	assert.Equal(t, 5*time.Second, l.FlushInterval)
	assert.Equal(t, 5, l.MaxRetries)
	assert.Equal(t, 10_000, l.QueueSize)
	assert.Equal(t, 30*time.Second, l.ClientConfig.Timeout)

	_, err = loadConfig(t, "badledger")
	require.Error(t, err)
	for _, want := range []string{
		"ledger::endpoints::0: credentials in the URL are not allowed",
		`ledger::endpoints::1: "ftp://es" must be an http://`,
		"ledger::index_prefix:",
		"ledger::api_key: set one way to authenticate",
		"ledger::api_key: ",
		"ledger::timeout: must be positive",
		"ledger::flush_interval: must be positive",
		"ledger::max_retries: 0 to 100",
		"ledger::queue_size: at least 1",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = loadConfig(t, "emptyledger")
	assert.ErrorContains(t, err, "ledger::endpoints: at least one Elasticsearch URL is required")
}

// The ledger document holds exactly the fields of the mapping it is
// written to (no dynamic field, so nothing unmapped and nothing extra).
func TestLedgerDocumentShape(t *testing.T) {
	p := journeystore.Postback{ID: "k", Decision: "sent", Attempts: 1, HTTPStatus: 200, DurationMS: 1.5,
		DecidedAt: time.Unix(10, 0), OutcomeTime: time.Unix(5, 0), Site: "shop", Partner: "archipro", Visitor: "k1:v",
		Outcome: "purchase", OutcomeID: "ev", Currency: "EUR", Model: "last_touch", Value: 1, Credit: 1, Credited: 1,
		EntityIDs: []string{"a"}}
	var doc map[string]any
	require.NoError(t, json.Unmarshal(journeystore.AppendPostback(nil, &p), &doc))
	assert.Len(t, doc, 19)
	assert.True(t, json.Valid(journeystore.AppendPostback(nil, &journeystore.Postback{Value: nanValue()})))
	assert.False(t, bytes.Contains(journeystore.AppendPostback(nil, &p), []byte("click")))
}

func nanValue() float64 { z := 0.0; return z / z }

// webjourneyctl erase works on Elasticsearch only: it records a tombstone
// per erased id in "<prefix>_erasures" before deleting. With a ledger
// (same Elasticsearch, same prefix), the exporter reads those tombstones
// before a push, so a postback of a visitor erased there is cancelled,
// also one already waiting for its retry.
func TestTombstonesCancelPostbacks(t *testing.T) {
	esURL := estest.URL(t)
	keyFile, s := clickKeys(t)
	var store *journeystore.Store
	erase := func(visitor string) {
		require.NoError(t, store.AddTombstones(context.Background(),
			[]journeystore.TombstoneKey{journeystore.SubjectKey("shop", journeystore.KindVisitor, visitor)}, time.Now()))
	}
	// The partner is down for the first request; while it is, the visitor
	// of that postback is erased (as webjourneyctl erase does).
	var calls atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			erase("k1:queued")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	ps := &partnerServer{Server: srv, caFile: writeCA(t, srv)}
	tt := componenttest.NewTelemetry()
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	index := withLedger(t, cfg, esURL, esURL)
	prefix := strings.TrimSuffix(index, "-postbacks")
	layout := journeystore.Layout{Prefix: prefix}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, esURL+"/"+layout.ErasuresIndex(), http.NoBody)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
		}
	})
	es, err := esclient.New(esclient.Options{Endpoints: []string{esURL}})
	require.NoError(t, err)
	store = journeystore.New(es.Client, layout)
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	exp := startExporter(t, tt, cfg)

	// Erased before its outcome arrives: never sent.
	erase("k1:before")
	before := purchase("c0")
	before.eventID, before.visitor = "before", "k1:before"
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, before)))
	assert.EqualValues(t, 0, calls.Load())

	// Erased while its postback waits for the retry: cancelled.
	queued := purchase("c1")
	queued.eventID, queued.visitor = "queued", "k1:queued"
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, queued)))
	assert.EqualValues(t, 1, calls.Load(), "not sent again after the erasure")

	// Another visitor is reported.
	other := purchase("c2")
	other.eventID, other.visitor = "other", "k1:other"
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, other)))
	assert.EqualValues(t, 2, calls.Load())

	docs := ledgerDocs(t, esURL, index, 3)
	assert.Equal(t, "erased", docs[keyOf("before")][eventmodel.PostbackReason])
	assert.Equal(t, "erased", docs[keyOf("queued")][eventmodel.PostbackReason])
	assert.EqualValues(t, 1, docs[keyOf("queued")][eventmodel.PostbackAttempts], "the attempt before the erasure")
	assert.Equal(t, "sent", docs[keyOf("other")][eventmodel.PostbackDecision])
	metadatatest.AssertEqualExporterPartnerPostbackSkipped(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 2, Attributes: partnerSet("reason", "erased")}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
