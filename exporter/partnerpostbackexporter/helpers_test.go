package partnerpostbackexporter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/sealed"
)

const testSecret = "partner-shared-secret"

// verifySignature is the check a partner runs (the README's snippet in Go).
func verifySignature(secret []byte, r *http.Request, body []byte, now time.Time) bool {
	ts := r.Header.Get("X-Webjourney-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(r.Method + "\n" + r.RequestURI + "\n" + ts + "\n"))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(r.Header.Get("X-Webjourney-Signature")))
}

// received is one request the partner server got.
type received struct {
	method, uri, key, contentType string
	header                        http.Header
	body                          []byte
	signed                        bool
}

// partnerServer is a TLS postback endpoint whose answers the test scripts:
// answers[i] is the status of the i-th request, 200 after the list.
type partnerServer struct {
	*httptest.Server
	caFile string
	mu     sync.Mutex
	got    []received
	answer []int
}

func newPartnerServer(t *testing.T, answers ...int) *partnerServer {
	ps := &partnerServer{answer: answers}
	ps.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.got = append(ps.got, received{
			method: r.Method, uri: r.RequestURI, key: r.Header.Get("Idempotency-Key"),
			contentType: r.Header.Get("Content-Type"), header: r.Header.Clone(), body: body,
			signed: verifySignature([]byte(testSecret), r, body, time.Now()),
		})
		code := http.StatusOK
		if n := len(ps.got) - 1; n < len(ps.answer) {
			code = ps.answer[n]
		}
		w.WriteHeader(code)
	}))
	ps.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused-certificate test's handshake error is expected
	t.Cleanup(ps.Close)
	ps.caFile = writeCA(t, ps.Server)
	return ps
}

// writeCA writes the server's self-signed certificate, the test CA the
// client trusts.
func writeCA(t testing.TB, srv *httptest.Server) string {
	f := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	return f
}

func (ps *partnerServer) requests() []received {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]received(nil), ps.got...)
}

// clickKeys writes a click-id key and returns a sealer with it.
func clickKeys(t testing.TB) (string, *sealed.Sealer) {
	key := make([]byte, sealed.KeyBytes)
	for i := range key {
		key[i] = byte(i + 7)
	}
	file := filepath.Join(t.TempDir(), "k1.key")
	require.NoError(t, os.WriteFile(file, []byte(hex.EncodeToString(key)+"\n"), 0o600))
	s, err := sealed.New("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	return file, s
}

// testConfig is one partner "archipro" on site "shop" posting to ps.
func testConfig(t testing.TB, ps *partnerServer, keyFile string, p PartnerConfig) *Config {
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600))
	if p.URL == "" {
		p.URL = ps.URL + "/pb/{site_id}?click={click_id}&event={outcome}&value={value}&cur={currency}&share={credit}&paid={credited_value}&model={model}&at={event_time}&id={outcome_id}"
	}
	if p.Outcomes == nil {
		p.Outcomes = []string{"purchase"}
	}
	p.SecretFile = secretFile
	p.Client = confighttp.NewDefaultClientConfig()
	p.Client.Timeout = defaultTimeout
	p.Client.MaxIdleConnsPerHost = defaultIdleConnsPerHost //nolint:staticcheck // as Unmarshal sets it
	p.Client.TLS.CAFile = ps.caFile
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = time.Millisecond
	retry.MaxInterval = time.Millisecond
	retry.RandomizationFactor = 0
	cfg := &Config{
		Sites:       map[string]map[string]*PartnerConfig{"shop": {"archipro": &p}},
		ClickID:     ClickIDConfig{Keys: map[string]KeySource{"k1": {File: keyFile}}},
		QueueConfig: configoptional.None[exporterhelper.QueueBatchConfig](),
		RetryConfig: retry,
	}
	require.NoError(t, cfg.Validate())
	return cfg
}

// creditRecord is what the attribution processor emits for one touch.
type creditRecord struct {
	site, partner, model, outcome, eventID, currency string
	visitor                                          string // pseudonymous visitor id; "" for none
	value, credit                                    float64
	click                                            string // clear click id, sealed here; "" for none
	touchTime                                        time.Time
	at                                               time.Time
	// consent is what the attribution processor copied from the outcome
	// event; nil is a visitor who granted marketing in the tag.
	consent map[string]any
}

var tagGranted = map[string]any{
	eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tag_granted", eventmodel.AttrConsentMarketing: "granted",
}

func (c creditRecord) appendTo(t testing.TB, lrs plog.LogRecordSlice, s *sealed.Sealer) {
	lr := lrs.AppendEmpty()
	lr.SetEventName(eventmodel.EventAttributionCredit)
	if c.at.IsZero() {
		c.at = time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(c.at))
	m := lr.Attributes()
	put := func(k, v string) {
		if v != "" {
			m.PutStr(k, v)
		}
	}
	put(eventmodel.AttrSiteID, c.site)
	put(eventmodel.AttrVisitorID, c.visitor)
	put(eventmodel.AttrChannelPartner, c.partner)
	put(eventmodel.AttrAttributionModel, c.model)
	put(eventmodel.AttrOutcomeName, c.outcome)
	put(eventmodel.AttrOutcomeEventID, c.eventID)
	put(eventmodel.AttrOutcomeCurrency, c.currency)
	m.PutDouble(eventmodel.AttrOutcomeValue, c.value)
	m.PutDouble(eventmodel.AttrAttributionCredit, c.credit)
	m.PutDouble(eventmodel.AttrAttributionValue, c.credit*c.value)
	put(eventmodel.AttrAttributionTouchTime, c.touchTime.UTC().Format(time.RFC3339Nano))
	consent := c.consent
	if consent == nil {
		consent = tagGranted
	}
	for k, v := range consent {
		require.NoError(t, m.PutEmpty(k).FromRaw(v))
	}
	if c.click != "" {
		put(eventmodel.AttrReferralClickIDSealed, s.Seal(c.click, sealed.AssociatedData(c.site, eventmodel.AttrReferralClickIDSealed)))
	}
}

func purchase(click string) creditRecord {
	return creditRecord{site: "shop", partner: "archipro", model: "last_touch", outcome: "purchase",
		eventID: "ev-1", currency: "EUR", value: 120.5, credit: 1, click: click,
		touchTime: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
}

func logsOf(t testing.TB, s *sealed.Sealer, recs ...creditRecord) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, r := range recs {
		r.appendTo(t, lrs, s)
	}
	return ld
}
