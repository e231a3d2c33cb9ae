package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

const (
	ga4Site        = "e2e-ga4"
	ga4Measurement = "G-E2E4TEST01"
	ga4Secret      = "e2e-ga4-api-secret-3f9c"
	// ga4Client is the _ga cookie's client id as gtag.js sends it (cid)
	// and a shop's back end reads it for the Measurement Protocol.
	ga4Client = "1234567890.1764600000"
	ga4User   = "customer-4711@shop.example"
)

// TestGA4Journey: a visit reported with GA4's two wire formats through the
// built collector into the real Elasticsearch. gtag.js's /g/collect
// requests (as the browser sends them with transport_url pointed at the
// collector: a landing from a newsletter, a second page, an engagement)
// and the shop back end's Measurement Protocol purchase for the same
// client id are one visitor and one visit; the purchase is its outcome,
// credited to the newsletter; client and user ids are pseudonymised (the
// raw ids are in no index) and the api_secret is stored nowhere.
//
// gtag.js itself is in no package registry here, so the browser's
// requests are built from gtag.js's documented parameters (docs/migrate.md).
func TestGA4Journey(t *testing.T) {
	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    bots: {action: keep}
    protocols:
      ga4: {enabled: true}
    sites:
      - id: %s
        consent: {required: false}
        cookies: {mode: script}
        protocols:
          ga4:
            measurement_ids: [%s]
            api_secrets: [%s]`, ga4Site, ga4Measurement, ga4Secret),
		processors: snowplowProcessors(t),
		order:      []string{"consent", "anonymizer", "attribution"},
	})
	collector := "http://" + listen
	const page = "https://shop.example"

	// gtag.js's hits: a GET per event, the shared parameters in the query.
	gtag := func(params url.Values) {
		t.Helper()
		q := url.Values{"v": {"2"}, "tid": {ga4Measurement}, "cid": {ga4Client}, "sid": {"1764600100"}, "sct": {"1"},
			"seg": {"1"}, "gcs": {"G111"}, "ul": {"en-gb"}, "sr": {"1920x1080"}, "_p": {"1764600123"}}
		for k, v := range params {
			q[k] = v
		}
		req, _ := http.NewRequest(http.MethodGet, collector+"/g/collect?"+q.Encode(), nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
		req.Header.Set("Origin", page)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("/g/collect %s: %d", q.Get("en"), resp.StatusCode)
		}
	}
	gtag(url.Values{"en": {"page_view"}, "dl": {page + "/boots?utm_source=newsletter&utm_medium=email&utm_campaign=winter"},
		"dr": {"https://mail.example/inbox"}, "dt": {"Winter boots"}, "_ss": {"1"}, "_fv": {"1"}})
	gtag(url.Values{"en": {"page_view"}, "dl": {page + "/boots/size-guide"}, "dr": {page + "/boots"}, "dt": {"Size guide"}})
	gtag(url.Values{"en": {"user_engagement"}, "dl": {page + "/boots/size-guide"}, "_et": {"8000"}})

	// The back end's purchase, as Google's Measurement Protocol documents
	// it: client_id from the _ga cookie, the customer's user id, the order.
	body, _ := json.Marshal(map[string]any{
		"client_id": ga4Client, "user_id": ga4User,
		"consent": map[string]any{"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
		"events": []map[string]any{{"name": "purchase", "params": map[string]any{
			"page_location": page + "/checkout/done", "session_id": "1764600100",
			"transaction_id": "T-9001", "value": 89.9, "currency": "eur",
			"items": []map[string]any{{"item_id": "SKU9", "item_name": "Winter boots", "price": 89.9, "quantity": 1}},
		}}},
	})
	status, out := beacon(t, collector+"/mp/collect?measurement_id="+ga4Measurement+"&api_secret="+ga4Secret, "application/json", string(body))
	if status != http.StatusNoContent {
		t.Fatalf("/mp/collect: %d %s", status, out)
	}

	docs := waitForDocs(t, store, prefix, ga4Site, func(docs []map[string]any) bool {
		return countName(docs, eventmodel.EventPageView) >= 2 && countName(docs, eventmodel.EventEngagement) >= 1 &&
			countName(docs, eventmodel.EventCustom) >= 1
	})
	landing := findDoc(t, docs, eventmodel.AttrURLPath, "/boots")
	purchase := findDoc(t, docs, eventmodel.AttrCustomName, "purchase")
	engagement := findDoc(t, docs, "event.name", eventmodel.EventEngagement)
	assertField(t, landing, eventmodel.AttrIngestChannel, eventmodel.ChannelGA4)
	assertField(t, purchase, eventmodel.AttrIngestChannel, eventmodel.ChannelGA4)
	assertField(t, landing, eventmodel.AttrCampaignName, "winter")
	assertField(t, engagement, eventmodel.AttrEngagedTime, 8000)
	vid, visit := landing[eventmodel.AttrVisitorID], landing[eventmodel.AttrVisitID]
	if vid == nil || visit == nil || vid == ga4Client {
		t.Fatalf("landing's visitor %v (raw client id %s), visit %v", vid, ga4Client, visit)
	}
	for _, d := range docs {
		assertField(t, d, eventmodel.AttrVisitorID, vid)
		assertField(t, d, eventmodel.AttrVisitID, visit)
	}
	assertField(t, purchase, eventmodel.AttrOutcomeName, []string{"purchase"})
	if u, _ := purchase[eventmodel.AttrUserID].(string); u == "" || u == ga4User {
		t.Errorf("purchase's user id %q: want a pseudonym", u)
	}

	var v map[string]any
	eventually(t, 30*time.Second, "the visit record with its outcome", func() bool {
		for _, doc := range store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"term": map[string]any{eventmodel.AttrVisitID: visit}}) {
			if doc[eventmodel.AttrVisitOutcomes] != nil {
				v = doc
				return true
			}
		}
		return false
	})
	assertField(t, v, eventmodel.AttrChannelMedium, "email")
	assertField(t, v, eventmodel.AttrChannelSource, "newsletter")
	assertField(t, v, eventmodel.AttrVisitOutcomes, []string{"purchase"})
	assertField(t, v, eventmodel.AttrVisitEngagedTime, 8000)

	var credits map[string]map[string]any
	eventually(t, 30*time.Second, "the purchase's credits", func() bool {
		credits = store.searchHits(storeIndex(prefix, journeystore.FamilyCredits), map[string]any{"term": map[string]any{eventmodel.AttrSiteID: ga4Site}})
		return len(credits) > 0
	})
	for id, c := range credits {
		if c[eventmodel.AttrChannelSource] != "newsletter" || c[eventmodel.AttrOutcomeValue] != 89.9 {
			t.Errorf("credit %s: %v, want 89.9 credited to the newsletter", id, c)
		}
	}

	// Neither raw id nor the api_secret reached any index.
	for id, d := range store.searchHits(prefix+"*", map[string]any{"match_all": map[string]any{}}) {
		b, _ := json.Marshal(d)
		for _, secret := range []string{ga4Client, ga4User, ga4Secret} {
			if strings.Contains(string(b), secret) {
				t.Errorf("document %s holds %q: %s", id, secret, b)
			}
		}
	}
}
