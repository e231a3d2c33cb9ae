package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
)

// canarySite keeps every event (consent not required, opt-out policy), so
// the anonymizer, not the consent processor, has to stop the PII.
const canarySite = "e2e-canary"

// The canaries: personal data and secrets no stored document may contain,
// in any of these spellings.
var canaries = map[string][]string{
	"email":    {"canary.person@example.com", "canary.person%40example.com", "canary.person%2540example.com", "canary.person"},
	"phone":    {"+44 7700 900123", "7700 900123", "7700900123", "07700900123", "7700+900123", "7700%20900123"},
	"card":     {"4111 1111 1111 1111", "4111111111111111", "4111-1111-1111-1111", "4111+1111+1111+1111", "4111%201111"},
	"password": {"hunter2-canary-pw"},
	"iban":     {"DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "DE89+3704", "DE89%203704"},
	"jwt":      {"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeS12YWx1ZS0xMjM0NTY"},
	"token":    {"sk_live_51HcanaryT0kenAbCdEfGh1234567890"},
	// issue 22: phone numbers glued to a word, and values of fields named
	// for a person's name or address
	"glued phone": {"612345678", "6 12 34 56 79", "33612345679"},
	"name":        {"janecanary", "canary wharf"},
	// issue 23: a referral partner's own click id, in the landing URL, the
	// next page's referrer and every later event (pseudonymised there, and
	// sealed for the partner_postback exporter, never stored).
	"partner click id": {partnerClickCanary},
}

const partnerClickCanary = "cpcanary-77c1-click"

// lookalikes must reach Elasticsearch unchanged: references that look like
// phone numbers.
var lookalikes = []string{"#1234-5678-90", "Ticket 123-456-7890"}

// TestPIICanary pushes personal data and secrets through every input
// surface of the pixel receiver — pixel parameters, beacon fields, page
// URL (path, query, fragment, userinfo), referrer, title, site search,
// custom event names and properties, identify, Plausible's Events API, Matomo's HTTP
// Tracking API, Snowplow's tracker protocol, GA4's Measurement Protocol and
// gtag.js's /g/collect — through the built
// collector into the real Elasticsearch, then scans every stored document
// for any clear-text occurrence.
func TestPIICanary(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("5a", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clickKeyFile := filepath.Join(t.TempDir(), "click.key")
	if err := os.WriteFile(clickKeyFile, []byte(strings.Repeat("c3", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    bots: {action: keep}
    protocols:
      plausible: {enabled: true}
      matomo: {enabled: true}
      snowplow: {enabled: true}
      ga4: {enabled: true}
    sites:
      - id: %s
        consent: {required: false}
        referral_partners:
          - {name: canarypartner, param: cp_click, attribution_window: 720h}
        protocols:
          plausible: {domains: [canary.example]}
          matomo: {site_ids: [1]}
          snowplow: {app_ids: [canary-app]}
          ga4: {measurement_ids: [G-CANARY1234]}`, canarySite),
		processors: fmt.Sprintf("  consent:\n    default: opt_out\n  anonymizer:\n    secret: {file: %q}\n"+
			"    partner_click_id: {primary_key: c1, keys: {c1: {file: %q}}}\n", secretFile, clickKeyFile),
		order: []string{"consent", "anonymizer"},
	})
	base := "http://" + listen

	email, phone, card, iban := "canary.person@example.com", "+44 7700 900123", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"
	jwt, token, password := canaries["jwt"][0], canaries["token"][0], canaries["password"][0]

	// Image pixel: every parameter the pixel takes.
	pageURL := "https://shop.example/account/" + email + "/orders?email=" + url.QueryEscape(email) +
		"&password=" + password + "&note=call%20" + url.QueryEscape(phone) + "&utm_source=newsletter#access_token=" + jwt
	pixel(t, base+"/p.gif?"+url.Values{
		"s": {canarySite}, "eid": {"canary-pixel-1"}, "url": {pageURL},
		"ref": {"https://mail.example/inbox?to=" + email + "&token=" + token},
		"t":   {"Order for " + email + " card " + card},
		"vid": {"v-canary"}, "sid": {"s-canary"},
		"p.card": {card}, "p.iban": {iban}, "p.contact": {"Phone " + phone}, "p.password": {password},
		"p.note": {"api key " + token},
	}.Encode(), nil)
	pixel(t, base+"/p.gif?"+url.Values{
		"s": {canarySite}, "eid": {"canary-pixel-2"}, "e": {"ev"}, "n": {"signup " + email},
		"url": {"https://user:" + password + "@shop.example/join?iban=" + strings.ReplaceAll(iban, " ", "")},
	}.Encode(), nil)

	// Issue 22: phone numbers glued to a word in every surface, person-name
	// fields as query parameters and properties, next to references that
	// must stay.
	pixel(t, base+"/p.gif?"+url.Values{
		"s": {canarySite}, "eid": {"canary-pixel-3"},
		"url": {"https://shop.example/contact/call-0612345678?first_name=Janecanary&msg=tel_%2B33%206%2012%2034%2056%2079#call-0612345678"},
		"t":   {"Order #1234-5678-90, call-0612345678"},
		"vid": {"v-canary"}, "sid": {"s-canary"},
		"p.billingName": {"Janecanary"}, "p.note": {"whatsapp-+33 6 12 34 56 79"}, "p.subject": {"Ticket 123-456-7890"},
	}.Encode(), nil)

	// Beacon: every field that carries text.
	events := []map[string]any{
		{"id": "canary-beacon-1", "type": "page_view", "url": pageURL, "title": "Hi " + email, "referrer": "https://search.example/?q=" + url.QueryEscape(phone)},
		{"id": "canary-beacon-2", "type": "site_search", "url": "https://shop.example/search?q=" + url.QueryEscape(email), "search_term": email + " " + card},
		{"id": "canary-beacon-3", "type": "custom", "name": "lead " + email, "url": "https://shop.example/lead",
			"props": map[string]any{"email": email, "phone": phone, "card": card, "iban": iban, "password": password, "jwt": jwt, "free": "my card " + card + " and iban " + iban}},
		{"id": "canary-beacon-4", "type": "identify", "url": "https://shop.example/login"},
		{"id": "canary-beacon-5", "type": "outbound_click", "url": "https://shop.example/", "link_url": "https://partner.example/?ref=" + url.QueryEscape(email)},
		{"id": "canary-beacon-6", "type": "form_submit", "url": "https://shop.example/", "form_id": email, "form_name": phone, "form_action": "/subscribe/" + email},
		{"id": "canary-beacon-7", "type": "page_view", "url": "https://shop.example/help/tel_0612345678?customer_name=Janecanary#call-0612345678",
			"title": "Ticket 123-456-7890: call-0612345678",
			"props": map[string]any{"customer_name": "Janecanary", "shippingAddress": "1 Canary Wharf", "Nachname": "Janecanary", "order_ref": "#1234-5678-90", "note": "tel_+33 6 12 34 56 79"}},
		{"id": "canary-beacon-8", "type": "form_submit", "url": "https://shop.example/", "form_id": "contact-call-0612345678", "form_name": "tel_+33 6 12 34 56 79", "form_action": "/callback"},
	}
	body, _ := json.Marshal(map[string]any{"site": canarySite, "visitor_id": "v-canary", "session_id": "s-1", "user_id": email, "events": events})
	if status, out := beacon(t, base+"/b", "application/json", string(body)); status != http.StatusOK {
		t.Fatalf("canary beacon: %d %s", status, out)
	}

	// Issue 23: a visitor from a referral partner's link, with marketing
	// consent (its click id is sealed), and a pixel landing without it.
	landing := "https://shop.example/?utm_source=canarypartner&cp_click=" + partnerClickCanary
	partnerBeacon, _ := json.Marshal(map[string]any{"site": canarySite, "visitor_id": "v-canary-partner", "session_id": "s-2",
		"consent": map[string]any{"analytics": "granted", "marketing": "granted"},
		"events": []map[string]any{
			{"id": "canary-partner-1", "type": "page_view", "url": landing, "referrer": "https://canarypartner.example/listing"},
			{"id": "canary-partner-2", "type": "page_view", "url": "https://shop.example/next", "referrer": landing},
		}})
	if status, out := beacon(t, base+"/b", "application/json", string(partnerBeacon)); status != http.StatusOK {
		t.Fatalf("canary partner beacon: %d %s", status, out)
	}
	pixel(t, base+"/p.gif?"+url.Values{
		"s": {canarySite}, "eid": {"canary-partner-3"}, "url": {landing}, "vid": {"v-canary-partner-2"}, "sid": {"s-3"},
	}.Encode(), nil)

	// Plausible's Events API: its name, URL, referrer, props and revenue.
	plausibleEvent, _ := json.Marshal(map[string]any{"n": "lead " + email, "u": pageURL, "d": "canary.example",
		"r": "https://mail.example/inbox?to=" + email + "&token=" + token,
		"p": map[string]any{"email": email, "phone": phone, "card": card, "iban": iban, "note": "api key " + token, "customer_name": "Janecanary"},
		"$": map[string]any{"amount": 1, "currency": "EUR"}})
	if status, out := beacon(t, base+"/api/event", "text/plain", string(plausibleEvent)); status != http.StatusAccepted {
		t.Fatalf("canary Plausible event: %d %s", status, out)
	}

	// Matomo's HTTP Tracking API, a bulk request: every parameter that
	// carries text, mapped or kept as a property.
	matomoRequests := []string{
		"?" + url.Values{"idsite": {"1"}, "rec": {"1"}, "url": {pageURL}, "action_name": {"Order for " + email + " card " + card},
			"urlref": {"https://mail.example/inbox?to=" + email + "&token=" + token}, "_id": {"1a2b3c4d5e6f7a8b"}, "uid": {email},
			"dimension1": {"Phone " + phone}, "cvar": {`{"1":["email","` + email + `"]}`}, "_ref": {"https://mail.example/?to=" + email},
			"_rcn": {"lead " + email}, "customer_name": {"Janecanary"}, "note": {"api key " + token}}.Encode(),
		"?" + url.Values{"idsite": {"1"}, "rec": {"1"}, "url": {"https://shop.example/"}, "_id": {"1a2b3c4d5e6f7a8b"},
			"e_c": {"lead"}, "e_a": {"signup " + email}, "e_n": {iban}}.Encode(),
		"?" + url.Values{"idsite": {"1"}, "rec": {"1"}, "url": {"https://shop.example/search"}, "search": {email + " " + card}, "search_cat": {phone}}.Encode(),
		"?" + url.Values{"idsite": {"1"}, "rec": {"1"}, "url": {"https://shop.example/"}, "link": {"https://partner.example/?ref=" + url.QueryEscape(email)}}.Encode(),
		"?" + url.Values{"idsite": {"1"}, "rec": {"1"}, "url": {"https://shop.example/"}, "c_n": {"Banner for " + email}, "c_p": {"card " + card}, "c_t": {"https://shop.example/?jwt=" + jwt}}.Encode(),
		"?" + url.Values{"idsite": {"1"}, "rec": {"1"}, "url": {"https://shop.example/thanks"}, "idgoal": {"0"}, "ec_id": {"order " + email}, "revenue": {"1"},
			"ec_items": {`[["SKU1","Gift for ` + email + `","` + card + `",1,1]]`}}.Encode(),
	}
	matomoBody, _ := json.Marshal(map[string]any{"requests": matomoRequests})
	if status, out := beacon(t, base+"/matomo.php", "application/json", string(matomoBody)); status != http.StatusOK || !strings.Contains(string(out), `"tracked":6`) {
		t.Fatalf("canary Matomo bulk: %d %s", status, out)
	}

	// Snowplow's tracker protocol, a POST batch: page view, structured
	// event, self-describing event and a context, each carrying text.
	sdJSON := func(schema string, data any) string {
		b, _ := json.Marshal(map[string]any{"schema": schema, "data": data})
		return string(b)
	}
	spCommon := map[string]any{"tv": "js-4.6.8", "aid": "canary-app", "p": "web", "duid": "7e85664c-ea4f-49ee-b911-b858e3ad3564",
		"sid": "5eb9ab19-8d5c-4ff0-a142-ad235aac5bac", "vid": "1", "uid": email}
	spEvent := func(fields map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range spCommon {
			out[k] = v
		}
		for k, v := range fields {
			out[k] = v
		}
		return out
	}
	spContext := sdJSON("iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
		[]any{map[string]any{"schema": "iglu:com.acme/customer/jsonschema/1-0-0", "data": map[string]any{"email": email, "phone": phone}}})
	snowplowEvents := []map[string]any{
		spEvent(map[string]any{"e": "pv", "eid": "b6a2c1d4-0001-4000-8000-000000000001", "url": pageURL, "page": "Order for " + email + " card " + card,
			"refr": "https://mail.example/inbox?to=" + email + "&token=" + token, "co": spContext}),
		spEvent(map[string]any{"e": "se", "eid": "b6a2c1d4-0002-4000-8000-000000000002", "url": "https://shop.example/", "se_ca": "lead",
			"se_ac": "signup " + email, "se_la": iban, "se_pr": "Phone " + phone}),
		spEvent(map[string]any{"e": "ue", "eid": "b6a2c1d4-0003-4000-8000-000000000003", "url": "https://shop.example/",
			"ue_pr": sdJSON("iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
				map[string]any{"schema": "iglu:com.acme/lead/jsonschema/1-0-0", "data": map[string]any{"email": email, "card": card, "note": "api key " + token}})}),
	}
	snowplowBody, _ := json.Marshal(map[string]any{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": snowplowEvents})
	if status, out := beacon(t, base+"/com.snowplowanalytics.snowplow/tp2", "application/json", string(snowplowBody)); status != http.StatusOK {
		t.Fatalf("canary Snowplow batch: %d %s", status, out)
	}

	// GA4's Measurement Protocol (a server's request) and gtag.js's
	// /g/collect (a browser's).
	ga4Body, _ := json.Marshal(map[string]any{"client_id": "1234567890.1733130000", "user_id": email,
		"user_properties": map[string]any{"contact": map[string]any{"value": email}},
		"events": []map[string]any{
			{"name": "page_view", "params": map[string]any{"page_location": pageURL, "page_title": "Hi " + email,
				"page_referrer": "https://mail.example/inbox?to=" + email + "&token=" + token}},
			{"name": "lead_form", "params": map[string]any{"page_location": "https://shop.example/lead", "email": email, "phone": phone,
				"card": card, "iban": iban, "note": "api key " + token}},
		}})
	if status, out := beacon(t, base+"/mp/collect?measurement_id=G-CANARY1234&api_secret=canary", "application/json", string(ga4Body)); status != http.StatusNoContent {
		t.Fatalf("canary GA4 Measurement Protocol: %d %s", status, out)
	}
	gtagQuery := url.Values{"v": {"2"}, "tid": {"G-CANARY1234"}, "cid": {"1234567890.1733130000"}, "uid": {email}, "en": {"page_view"},
		"dl": {pageURL}, "dt": {"Order for " + email}, "dr": {"https://mail.example/?to=" + email}, "ep.contact": {"Phone " + phone},
		"up.card": {card}}.Encode()
	gtagReq, _ := http.NewRequest(http.MethodGet, base+"/g/collect?"+gtagQuery, http.NoBody)
	gtagReq.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	gtagResp, err := http.DefaultClient.Do(gtagReq)
	if err != nil {
		t.Fatal(err)
	}
	_ = gtagResp.Body.Close()
	if gtagResp.StatusCode != http.StatusNoContent {
		t.Fatalf("canary gtag.js /g/collect: %d", gtagResp.StatusCode)
	}

	wantIDs := []string{"canary-pixel-1", "canary-pixel-2", "canary-pixel-3", "canary-beacon-1", "canary-beacon-2", "canary-beacon-3",
		"canary-beacon-4", "canary-beacon-5", "canary-beacon-6", "canary-beacon-7", "canary-beacon-8",
		"canary-partner-1", "canary-partner-2", "canary-partner-3"}
	var docs map[string]map[string]any
	eventually(t, 60*time.Second, "the canary documents", func() bool {
		docs = store.searchHits(storeIndex(prefix, journeystore.FamilyEvents), map[string]any{"match_all": map[string]any{}})
		// The Plausible, Matomo and GA4 events' ids are the receiver's.
		return len(docs) >= len(wantIDs)+1+len(matomoRequests)+len(snowplowEvents)+3
	})
	for _, id := range wantIDs {
		if docs[id] == nil {
			t.Errorf("canary event %s was not stored (every event of this site should be)", id)
		}
	}
	plausibleDocs := 0
	for _, d := range docs {
		if d["webjourney.ingest.channel"] == "plausible" {
			plausibleDocs++
		}
	}
	if plausibleDocs != 1 {
		t.Errorf("%d Plausible canary events stored, want 1", plausibleDocs)
	}
	matomoDocs := 0
	for _, d := range docs {
		if d["webjourney.ingest.channel"] == "matomo" {
			matomoDocs++
		}
	}
	if matomoDocs != len(matomoRequests) {
		t.Errorf("%d Matomo canary events stored, want %d", matomoDocs, len(matomoRequests))
	}
	for channel, want := range map[string]int{"snowplow": len(snowplowEvents), "ga4": 3} {
		n := 0
		for _, d := range docs {
			if d["webjourney.ingest.channel"] == channel {
				n++
			}
		}
		if n != want {
			t.Errorf("%d %s canary events stored, want %d", n, channel, want)
		}
	}
	raw, _ := json.Marshal(docs)
	all := strings.ToLower(string(raw))
	for kind, spellings := range canaries {
		for _, s := range spellings {
			if strings.Contains(all, strings.ToLower(s)) {
				t.Errorf("%s canary %q reached Elasticsearch", kind, s)
			}
		}
	}
	for _, s := range lookalikes {
		if !strings.Contains(all, strings.ToLower(s)) {
			t.Errorf("look-alike %q did not reach Elasticsearch unchanged", s)
		}
	}
	if t.Failed() {
		dump, _ := json.MarshalIndent(docs, "", "  ")
		t.Logf("stored documents:\n%s", dump)
	}
	// The events still say what happened: redaction markers in place of the data.
	if !strings.Contains(all, "[email]") || !strings.Contains(all, "[card]") {
		t.Errorf("no redaction marker in the stored documents: the canaries were lost, not scrubbed")
	}
	// The partner's landing is still the partner's, by a pseudonym.
	if d := docs["canary-partner-1"]; d != nil {
		if d["webjourney.referral.partner"] != "canarypartner" {
			t.Errorf("the partner landing lost its partner: %v", d["webjourney.referral.partner"])
		}
		if id, _ := d["webjourney.referral.click_id"].(string); !strings.HasPrefix(id, "k1:") {
			t.Errorf("the partner landing's click id is not a pseudonym: %q", id)
		}
		if _, ok := d["webjourney.referral.click_id_sealed"]; ok {
			t.Error("the sealed click id was stored")
		}
	}
}
