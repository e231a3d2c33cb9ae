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

	"github.com/webjourney/webjourney/internal/journeystore"
)

const postbackSite = "e2e-postback"

// partnerRequest is a postback the test's partner server received.
type partnerRequest struct {
	uri, key string
	signed   bool
}

// TestPartnerPostback runs visitors from a partner link through the built
// collector (pixel → consent → anonymizer → attribution → Elasticsearch and
// partner_postback): the one who granted marketing consent and converts
// is reported to the partner's TLS server exactly once, signed, with the
// click id it arrived with; the one without marketing consent and the one
// with GPC are not.
func TestPartnerPostback(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const partnerSecret = "e2e-partner-secret"
	secretFile, clickKey, partnerSecretFile := write("secret.key", strings.Repeat("4d", 32)), write("click.key", strings.Repeat("e1", 32)), write("partner.secret", partnerSecret)

	var mu sync.Mutex
	var got []partnerRequest
	partner := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(partnerSecret))
		mac.Write([]byte(r.Method + "\n" + r.RequestURI + "\n" + r.Header.Get("X-Webjourney-Timestamp") + "\n"))
		mac.Write(body)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Webjourney-Timestamp"), 10, 64)
		signed := hmac.Equal([]byte("v1="+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Webjourney-Signature"))) &&
			time.Since(time.Unix(ts, 0)).Abs() < 5*time.Minute
		mu.Lock()
		got = append(got, partnerRequest{uri: r.RequestURI, key: r.Header.Get("Idempotency-Key"), signed: signed})
		mu.Unlock()
	}))
	partner.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(partner.Close)
	caFile := write("partner-ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: partner.Certificate().Raw})))

	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    bots: {action: keep}
    rate_limit: {requests_per_second: 0}
    sites:
      - id: %s
        referral_partners:
          - {name: archipro, param: __apid, attribution_window: 720h}`, postbackSite),
		processors: fmt.Sprintf(`  consent:
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
`, secretFile, clickKey),
		order: []string{"consent", "anonymizer", "attribution"},
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
`, clickKey, postbackSite, partner.URL, partnerSecretFile, caFile),
		exporterNames: []string{"partner_postback"},
	})

	now := time.Now()
	send := func(visitor string, header map[string]any) {
		t.Helper()
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
	eventually(t, 30*time.Second, "the postback", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	// The exporters are fed together: once the credits are stored and one
	// postback arrived, a second one would have been sent as well.
	time.Sleep(time.Second)
	mu.Lock()
	defer mu.Unlock()
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
}
