package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

const postbackSite = "e2e-postback"

// partnerRequest is a postback the test's partner server received.
type partnerRequest struct {
	uri, key string
	signed   bool
	status   int // what the partner answered
}

// TestPartnerPostback runs visitors from a partner link through the built
// collector (pixel → consent → anonymizer → attribution → Elasticsearch and
// partner_postback): the one who granted marketing consent and converts
// is reported to the partner's TLS server exactly once, signed, with the
// click id it arrived with; the one without marketing consent and the one
// with GPC are not.
func TestPartnerPostback(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeLine(t, dir, name, text) }
	const partnerSecret = "e2e-partner-secret"
	secretFile, clickKey, partnerSecretFile := write("secret.key", strings.Repeat("4d", 32)), write("click.key", strings.Repeat("e1", 32)), write("partner.secret", partnerSecret)

	partner := newE2EPartner(t, partnerSecret)
	caFile := write("partner-ca.pem", partner.caPEM())

	store, prefix, listen := startPipeline(t, pipeline{
		pixel:      postbackPixel,
		processors: postbackProcessors(secretFile, clickKey),
		order:      []string{"consent", "anonymizer", "attribution"},
		exporters: fmt.Sprintf(`  partner_postback:
    click_id:
      keys: {c1: {file: %q}}
    sites:
      %s:
        archipro:
          url: "%s/pb/{site_id}?click={click_id}&event={outcome}&value={value}&cur={currency}&share={credit}"
          outcomes: [purchase]
          secret_file: %q
          client:
            tls: {ca_file: %q}
    ledger:
      endpoints: ["@ES_URL@"]
      index_prefix: "@PREFIX@"
      flush_interval: 200ms
`, clickKey, postbackSite, partner.URL, partnerSecretFile, caFile),
		exporterNames: []string{"partner_postback"},
	})

	send := func(visitor string, header map[string]any) { sendPartnerJourney(t, listen, visitor, header) }
	send("consented", map[string]any{"consent": map[string]any{"analytics": "granted", "marketing": "granted"}})
	send("analyticsonly", map[string]any{"consent": map[string]any{"analytics": "granted"}})
	send("gpc", map[string]any{"consent": map[string]any{"analytics": "granted", "marketing": "granted"}, "gpc": true})

	// Every purchase was credited (stored), and the consented one reported.
	eventually(t, 60*time.Second, "the credits of the three purchases", func() bool {
		docs := store.searchHits(storeIndex(prefix, journeystore.FamilyCredits), map[string]any{"match_all": map[string]any{}})
		outcomes := map[any]bool{}
		for _, d := range docs {
			outcomes[d["webjourney.outcome.event_id"]] = true
		}
		return len(outcomes) == 3
	})
	eventually(t, 30*time.Second, "the postback", func() bool { return len(partner.requests()) > 0 })
	// The exporters are fed together: once the credits are stored and one
	// postback arrived, a second one would have been sent as well.
	time.Sleep(time.Second)
	got := partner.requests()
	if len(got) != 1 {
		t.Fatalf("the partner received %d postbacks, want 1: %+v", len(got), got)
	}
	r := got[0]
	if !r.signed {
		t.Error("the postback's signature does not verify")
	}
	u, err := url.Parse(r.uri)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"click": {"ap-consented"}, "event": {"purchase"}, "value": {"120.5"}, "cur": {"EUR"}, "share": {"1"}}
	if u.Path != "/pb/"+postbackSite || u.Query().Encode() != want.Encode() {
		t.Errorf("postback %s, want /pb/%s?%s", r.uri, postbackSite, want.Encode())
	}
	if len(r.key) != 32 {
		t.Errorf("idempotency key %q", r.key)
	}

	// The ledger holds the three decisions by idempotency key: the sent
	// one under the key the partner received, the others skipped with
	// their reason; and no click id.
	ledger := storeIndex(prefix, journeystore.FamilyPostbacks)
	var decisions map[string]string
	eventually(t, 30*time.Second, "the three ledger documents", func() bool {
		decisions = map[string]string{}
		for _, d := range store.searchHits(ledger, map[string]any{"match_all": map[string]any{}}) {
			reason, _ := d[eventmodel.PostbackReason].(string)
			decisions[fmt.Sprint(d[eventmodel.AttrOutcomeEventID])] = fmt.Sprint(d[eventmodel.PostbackDecision]) + ":" + reason
			if d[eventmodel.PostbackDecision] == eventmodel.PostbackSent && d[eventmodel.PostbackID] != r.key {
				t.Errorf("the sent postback's ledger id %v is not the key the partner got, %s", d[eventmodel.PostbackID], r.key)
			}
		}
		return len(decisions) == 3
	})
	if len(decisions) != 3 {
		t.Fatalf("ledger: %v", decisions)
	}
	counts := map[string]int{}
	for _, v := range decisions {
		counts[v]++
	}
	// The consent processor already decides the GPC visitor's events
	// anonymous (GPC withdraws marketing there), so that is the reason.
	wantCounts := map[string]int{"sent:": 1, "skipped:no_marketing_consent": 1, "skipped:anonymous": 1}
	if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
		t.Errorf("ledger decisions %v, want %v", counts, wantCounts)
	}
	if _, raw := store.do(http.MethodGet, "/"+ledger+"/_search?size=1000", nil); strings.Contains(string(raw), "ap-") {
		t.Errorf("a click id in clear in the ledger: %s", raw)
	}

	// Each purchase's last_touch credit of the partner carries the same
	// decision (postback id, decision, reason), stamped by the exporter.
	var stamps map[string]int
	eventually(t, 30*time.Second, "the decisions stamped on the credits", func() bool {
		stamps = map[string]int{}
		for _, c := range store.searchHits(storeIndex(prefix, journeystore.FamilyCredits), map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{eventmodel.AttrAttributionModel: eventmodel.ModelLastTouch}},
			map[string]any{"term": map[string]any{eventmodel.AttrChannelPartner: "archipro"}},
			map[string]any{"exists": map[string]any{"field": eventmodel.PostbackDecision}},
		}}}) {
			reason, _ := c[eventmodel.PostbackReason].(string)
			stamps[fmt.Sprint(c[eventmodel.PostbackDecision])+":"+reason]++
			if c[eventmodel.PostbackDecision] == eventmodel.PostbackSent && c[eventmodel.PostbackID] != r.key {
				t.Errorf("the sent credit's postback id %v is not the key the partner got, %s", c[eventmodel.PostbackID], r.key)
			}
		}
		return fmt.Sprint(stamps) == fmt.Sprint(wantCounts)
	})
}

// writeLine writes text and a newline to dir/name and returns the path.
func writeLine(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// postbackPixel is the pixel receiver's site of the postback tests (after
// its endpoint): a referral partner whose click id is __apid.
var postbackPixel = fmt.Sprintf(`    bots: {action: keep}
    rate_limit: {requests_per_second: 0}
    sites:
      - id: %s
        referral_partners:
          - {name: archipro, param: __apid, attribution_window: 720h}`, postbackSite)

// postbackProcessors are the processors of the postback tests: the
// anonymizer seals click ids, the attribution processor credits purchases.
func postbackProcessors(secretFile, clickKey string) string {
	return fmt.Sprintf(`  consent:
  anonymizer:
    secret: {file: %q}
    partner_click_id: {primary_key: c1, keys: {c1: {file: %q}}}
  attribution:
    emit_interval: 100ms
    outcomes:
      - name: purchase
        conditions:
          - event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "purchase"
        value: attributes["webjourney.properties"]["revenue"]
        currency: EUR
`, secretFile, clickKey)
}

// e2ePartner is the partner's postback endpoint: TLS with its own
// certificate as the test CA, checking each request's signature as the
// exporter's README tells partners to, answering with status.
type e2ePartner struct {
	*httptest.Server
	mu     sync.Mutex
	got    []partnerRequest
	status int
}

func newE2EPartner(t *testing.T, secret string) *e2ePartner {
	p := &e2ePartner{status: http.StatusOK}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(r.Method + "\n" + r.RequestURI + "\n" + r.Header.Get("X-Webjourney-Timestamp") + "\n"))
		mac.Write(body)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Webjourney-Timestamp"), 10, 64)
		signed := hmac.Equal([]byte("v1="+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Webjourney-Signature"))) &&
			time.Since(time.Unix(ts, 0)).Abs() < 5*time.Minute
		p.mu.Lock()
		defer p.mu.Unlock()
		p.got = append(p.got, partnerRequest{uri: r.RequestURI, key: r.Header.Get("Idempotency-Key"), signed: signed, status: p.status})
		w.WriteHeader(p.status)
	}))
	p.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(p.Close)
	return p
}

func (p *e2ePartner) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Certificate().Raw}))
}

func (p *e2ePartner) requests() []partnerRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]partnerRequest(nil), p.got...)
}

func (p *e2ePartner) answer(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = status
}

// sendPartnerJourney sends one visitor's landing from the partner's link
// (click id ap-<visitor>) and a purchase of 120.5 a minute later.
func sendPartnerJourney(t *testing.T, listen, visitor string, header map[string]any) {
	t.Helper()
	now := time.Now()
	b := map[string]any{"site": postbackSite, "visitor_id": visitor, "session_id": visitor + "-s1", "sent_at": now.UnixMilli(),
		"events": []map[string]any{
			{"id": visitor + "-landing", "type": "page_view", "ts": now.Add(-time.Minute).UnixMilli(),
				"url": "https://shop.example/?__apid=ap-" + visitor, "referrer": "https://archipro.example/listing"},
			{"id": visitor + "-purchase", "type": "custom", "name": "purchase", "ts": now.UnixMilli(),
				"url": "https://shop.example/checkout/done", "props": map[string]any{"revenue": 120.5}},
		}}
	for k, v := range header {
		b[k] = v
	}
	body, _ := json.Marshal(b)
	if status, out := beacon(t, "http://"+listen+"/b", "application/json", string(body)); status != http.StatusOK {
		t.Fatalf("beacon of %s: %d %s", visitor, status, out)
	}
}

// TestPartnerPostbackSurvivesKill: the partner is down (503) when a
// consented visitor converts; the collector is killed with SIGKILL while
// the postback waits in its persistent queue, the partner comes back, the
// collector starts again: the postback is delivered exactly once, with the
// idempotency key of every earlier attempt. No Elasticsearch: the pipeline
// ends at the partner.
func TestPartnerPostbackSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeLine(t, dir, name, text) }
	const partnerSecret = "e2e-partner-secret-2"
	partner := newE2EPartner(t, partnerSecret)
	partner.answer(http.StatusServiceUnavailable)
	queueDir := filepath.Join(dir, "queue")
	if err := os.Mkdir(queueDir, 0o700); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	clickKey := write("click.key", strings.Repeat("e2", 32))
	p := newProcess(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
  file_storage:
    directory: %s
receivers:
  pixel:
    endpoint: %s
%s
processors:
%s
exporters:
  partner_postback:
    click_id:
      keys: {c1: {file: %q}}
    sites:
      %s:
        archipro:
          url: "%s/pb?click={click_id}&id={postback_id}"
          outcomes: [purchase]
          secret_file: %q
          client:
            tls: {ca_file: %q}
    sending_queue:
      storage: file_storage
    retry_on_failure:
      initial_interval: 200ms
      max_interval: 500ms
      max_elapsed_time: 0
service:
  extensions: [health_check, file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [pixel]
      processors: [consent, anonymizer, attribution]
      exporters: [partner_postback]
`, health, queueDir, listen, postbackPixel, postbackProcessors(write("secret.key", strings.Repeat("5e", 32)), clickKey), clickKey,
		postbackSite, partner.URL, write("partner.secret", partnerSecret), write("ca.pem", partner.caPEM())), health)
	p.start()

	// Five consented buyers while the partner is down; the partner stays
	// down for 60 s, across a kill -9 of the collector and its restart.
	down := time.Now()
	visitors := []string{"killed0", "killed1", "killed2", "killed3", "killed4"}
	for _, v := range visitors {
		sendPartnerJourney(t, listen, v, map[string]any{"consent": map[string]any{"analytics": "granted", "marketing": "granted"}})
	}
	clicks := func(rs []partnerRequest) map[string]bool {
		out := map[string]bool{}
		for _, r := range rs {
			if u, err := url.Parse(r.uri); err == nil {
				out[u.Query().Get("click")] = true
			}
		}
		return out
	}
	eventually(t, 60*time.Second, "a refused attempt of every postback", func() bool { return len(clicks(partner.requests())) == len(visitors) })
	p.kill()
	beforeKill := len(partner.requests())
	p.start()
	// Restored from the persistent queue, the postbacks are tried again
	// (and refused) after the restart.
	eventually(t, 60*time.Second, "attempts after the restart", func() bool { return len(partner.requests()) > beforeKill })
	if wait := 60*time.Second - time.Since(down); wait > 0 {
		time.Sleep(wait) // the outage lasts 60 s
	}
	refused := len(partner.requests())
	partner.answer(http.StatusOK)
	delivered := func() map[string]int {
		out := map[string]int{}
		for _, r := range partner.requests() {
			if u, err := url.Parse(r.uri); err == nil && r.status == http.StatusOK {
				out[u.Query().Get("click")]++
			}
		}
		return out
	}
	eventually(t, 60*time.Second, "every postback after the outage", func() bool { return len(delivered()) == len(visitors) })
	time.Sleep(time.Second) // a duplicate would follow at once
	got := partner.requests()
	keys := map[string]string{}
	for _, r := range got {
		u, _ := url.Parse(r.uri)
		click := u.Query().Get("click")
		if k, ok := keys[click]; ok && k != r.key {
			t.Errorf("%s: attempt with idempotency key %q, an earlier one had %q", click, r.key, k)
		}
		keys[click] = r.key
		if !r.signed {
			t.Error("an attempt's signature does not verify")
		}
	}
	for _, v := range visitors {
		if n := delivered()["ap-"+v]; n != 1 {
			t.Errorf("the postback of %s was delivered %d times, want exactly once", v, n)
		}
	}
	if len(keys) != len(visitors) {
		t.Errorf("%d distinct click ids among the attempts, want %d: %v", len(keys), len(visitors), keys)
	}
	t.Logf("%d attempts over a %s outage, %d refused (%d before the kill)", len(got), time.Since(down).Round(time.Second), refused, beforeKill)
}
