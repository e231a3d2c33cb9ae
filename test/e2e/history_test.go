package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// histLine is one generated history event.
type histLine struct {
	id   string
	ts   int64 // ms
	text string
}

// historyCampaigns, historySearch: the landings of the generated history.
var (
	historyCampaigns = []string{"spring_sale", "newsletter_w12", "retarget"}
	historySearch    = []string{"https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/"}
)

// genHistory makes a deterministic six-week history of nVisitors visitors
// ending a day before end: each visitor comes back in up to four weeks
// through campaign, partner, search or direct landings, browses a few
// pages, and some buy (a purchase outcome with revenue, which gives
// attribution credits over their touches). Every fifth visitor said
// nothing about consent (stored anonymous, no journey); the rest granted
// analytics. Times are unique per visitor. A broken line goes along. It returns the lines and the number of visits
// (one per visitor and week: a visit's pages are minutes apart).
func genHistory(nVisitors int, end time.Time) ([]histLine, int) {
	rng := rand.New(rand.NewPCG(24, 6))
	start := end.Add(-24*time.Hour - 42*24*time.Hour).Truncate(time.Hour)
	var out []histLine
	visits := 0
	for v := range nVisitors {
		visitor := fmt.Sprintf("hv-%03d", v)
		consent := `,"consent":{"analytics":"granted"}`
		// Visit times: distinct weeks (returning visitors across weeks),
		// a random hour in each.
		nVisits := 1 + rng.IntN(4)
		visits += nVisits
		weeks := rng.Perm(6)[:nVisits]
		slices.Sort(weeks)
		for k, week := range weeks {
			at := start.Add(time.Duration(week)*7*24*time.Hour + time.Duration(rng.IntN(6*24*60))*time.Minute +
				time.Duration(rng.IntN(60000))*time.Millisecond)
			var url, ref string
			switch rng.IntN(5) {
			case 0:
				url = fmt.Sprintf("https://shop.example/l/%d?utm_source=mail&utm_medium=email&utm_campaign=%s", rng.IntN(4), historyCampaigns[rng.IntN(len(historyCampaigns))])
			case 1:
				url = fmt.Sprintf("https://shop.example/l/%d?utm_source=facebook&utm_medium=cpc&utm_campaign=%s", rng.IntN(4), historyCampaigns[rng.IntN(len(historyCampaigns))])
			case 2:
				url, ref = fmt.Sprintf("https://shop.example/p/%d", rng.IntN(30)), "https://archipro.co.nz/products/"+fmt.Sprint(rng.IntN(9))
			case 3:
				url, ref = fmt.Sprintf("https://shop.example/p/%d", rng.IntN(30)), historySearch[rng.IntN(len(historySearch))]
			default:
				url = "https://shop.example/"
			}
			pages := 1 + rng.IntN(5)
			for p := range pages {
				id := fmt.Sprintf("h-%s-%d-%d", visitor, k, p)
				out = append(out, histLine{id: id, ts: at.UnixMilli(), text: fmt.Sprintf(
					`{"id":%q,"ts":%d,"type":"page_view","url":%q,"referrer":%q,"title":"Page %d","visitor_id":%q,"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","client_address":"198.51.100.%d"%s}`,
					id, at.UnixMilli(), url, ref, p, visitor, v%250, consent)})
				if p == 0 && rng.IntN(3) == 0 {
					at = at.Add(time.Duration(5+rng.IntN(20)) * time.Second)
					id := fmt.Sprintf("h-%s-%d-%d-e", visitor, k, p)
					out = append(out, histLine{id: id, ts: at.UnixMilli(), text: fmt.Sprintf(
						`{"id":%q,"ts":%d,"type":"engagement","url":%q,"engaged_ms":%d,"scroll_depth":%d,"visitor_id":%q%s}`,
						id, at.UnixMilli(), url, 4000+rng.IntN(30000), rng.IntN(100), visitor, consent)})
				}
				ref = "https://shop.example/"
				url = fmt.Sprintf("https://shop.example/p/%d", rng.IntN(30))
				at = at.Add(time.Duration(10+rng.IntN(300)) * time.Second)
			}
			if rng.IntN(4) == 0 {
				id := fmt.Sprintf("h-%s-%d-buy", visitor, k)
				out = append(out, histLine{id: id, ts: at.UnixMilli(), text: fmt.Sprintf(
					`{"id":%q,"ts":%d,"type":"custom","name":"purchase","url":"https://shop.example/checkout","props":{"revenue":%d},"visitor_id":%q%s}`,
					id, at.UnixMilli(), 20+rng.IntN(400), visitor, consent)})
			}
		}
	}
	out = append(out, histLine{id: "~broken", ts: start.UnixMilli(), text: `{"id":"h-broken","ts":`})
	return out, visits
}

func writeLines(t *testing.T, path string, lines []histLine) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		fmt.Fprintln(w, l.text)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// historyCollector runs the built collector with the history site's
// configuration (the same for every run: same keys, so the same
// pseudonyms) into its own index prefix, and returns its import endpoint,
// prefix and metrics address.
func historyCollector(t *testing.T, esURL, secretFile, keyFile string) (endpoint, prefix, metrics string) {
	t.Helper()
	prefix = estest.UniquePrefix(t)
	t.Cleanup(func() { es{t: t, url: esURL}.deleteIndices(prefix) })
	_, endpoint, metrics = startImportCollector(t, esURL, prefix, secretFile, keyFile, "", `        referral_partners:
          - name: archipro
            domains: [archipro.co.nz]
            attribution_window: 720h`, `    internal_domains: [shop.example]
    outcomes:
      - name: purchase
        conditions:
          - event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "purchase"
        value: attributes["webjourney.properties"]["revenue"]
        currency: EUR
        count: every_event
    funnels:
      - name: campaign_to_purchase
        steps:
          - name: landing
            conditions: ['IsMatch(attributes["url.path"], "^/l/")']
          - name: product
            conditions: ['IsMatch(attributes["url.path"], "^/p/")']
          - name: purchase
            conditions: ['event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "purchase"']
      - name: home_to_purchase
        scope: visitor
        order: strict
        window: 720h
        steps:
          - name: home
            conditions: ['attributes["url.path"] == "/"']
          - name: product
            conditions: ['IsMatch(attributes["url.path"], "^/p/")']
          - name: purchase
            conditions: ['event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "purchase"']`)
	return endpoint, prefix, metrics
}

// ingestTimeFields are, per family, the fields whose values legitimately
// depend on when and in which batches the documents were written rather
// than on the history: compared for presence only.
var ingestTimeFields = map[string]map[string]bool{
	// The time the record was made (the import's, or the emit's, time).
	"*": {"event.ingested": true},
	// The visitor record is written again when the visitor changes in
	// substance (a visit starts, an outcome), not for every event (see
	// the attribution processor README): its last_seen
	// and version are those of the last event in the batch that carried
	// the last such change, and batches follow delivery (request size,
	// emit interval), not the history. The visit records hold the exact
	// last activity.
	"visitors": {"webjourney.visitor.last_seen": true, "webjourney.entity.version": true},
	// A funnel record's version is its visitor's when it was built.
	"funnels": {"webjourney.entity.version": true},
}

// TestImportHistoryJourneys imports a generated six-week history of 400
// visitors twice through the built collector, each into its own index
// prefix with the same configuration and keys: once with its lines
// shuffled (webjourneyctl import sorts them per visitor in time order),
// once in time order as it would have arrived live (--no-sort). Events,
// visits, visitors and attribution credits must be the same documents
// under the same ids. A second import of the shuffled file stores nothing
// new.
func TestImportHistoryJourneys(t *testing.T) {
	esURL := estest.URL(t)
	store := es{t: t, url: esURL}
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.key")
	keyFile := filepath.Join(dir, "import.key")
	for path, content := range map[string]string{secretFile: strings.Repeat("5d", 32), keyFile: importKey} {
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lines, nVisits := genHistory(400, time.Now())
	ordered := slices.Clone(lines)
	sort.SliceStable(ordered, func(i, j int) bool {
		if ordered[i].ts != ordered[j].ts {
			return ordered[i].ts < ordered[j].ts
		}
		return ordered[i].id < ordered[j].id
	})
	shuffled := slices.Clone(lines)
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	orderedFile, shuffledFile := filepath.Join(dir, "ordered.ndjson"), filepath.Join(dir, "shuffled.ndjson")
	writeLines(t, orderedFile, ordered)
	writeLines(t, shuffledFile, shuffled)
	n := len(lines) - 1 // the broken line is refused

	endA, prefixA, metricsA := historyCollector(t, esURL, secretFile, keyFile)
	endB, prefixB, _ := historyCollector(t, esURL, secretFile, keyFile)
	ctl := importCtl(t)
	start := time.Now()
	sumA := runImportCtl(t, ctl, endA, keyFile, "--sort-memory", "64KiB", shuffledFile)
	sumB := runImportCtl(t, ctl, endB, keyFile, "--no-sort", orderedFile)
	for _, s := range []ctlSummary{sumA, sumB} {
		if s.Lines != len(lines) || s.Accepted != n || s.Rejected["invalid_json"] != 1 {
			t.Fatalf("import: %+v, want %d lines, %d accepted, 1 invalid_json", s, len(lines), n)
		}
	}

	families := []journeystore.Family{journeystore.FamilyEvents, journeystore.FamilyVisits, journeystore.FamilyVisitors, journeystore.FamilyCredits, journeystore.FamilyFunnels}
	var diffs []string
	var docsA map[journeystore.Family]map[string]map[string]any
	deadline := time.Now().Add(2 * time.Minute)
	complete := func(prefix string) bool {
		return dashCount(store, storeIndex(prefix, journeystore.FamilyEvents)) == n &&
			dashCount(store, storeIndex(prefix, journeystore.FamilyVisits)) == nVisits &&
			dashCount(store, storeIndex(prefix, journeystore.FamilyVisitors)) == 400
	}
	agreed := 0 // consecutive comparisons without a difference
	for {
		for !complete(prefixA) || !complete(prefixB) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %d events, %d visits and 400 visitors in both prefixes", n, nVisits)
			}
			time.Sleep(250 * time.Millisecond)
		}
		diffs = nil
		docsA = map[journeystore.Family]map[string]map[string]any{}
		for _, f := range families {
			a, b := store.allDocs(storeIndex(prefixA, f)), store.allDocs(storeIndex(prefixB, f))
			docsA[f] = a
			diffs = append(diffs, compareDocs(f.String(), a, b)...)
		}
		// The entity records follow the events by an emit interval and a
		// flush: compare again until they agree twice in a row (a record
		// still on its way would show in the second) or the time is up.
		if len(diffs) == 0 {
			agreed++
		} else {
			agreed = 0
		}
		if agreed == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(diffs) > 0 {
		byField := map[string]int{}
		for _, d := range diffs {
			family, rest, _ := strings.Cut(d, " ")
			_, rest, _ = strings.Cut(rest, ": ")
			field, _, _ := strings.Cut(rest, " ")
			byField[family+" "+field]++
		}
		t.Errorf("differences by family and field: %v", byField)
	}
	for i, d := range diffs {
		if i == 40 {
			t.Errorf("... and %d more differences", len(diffs)-40)
			break
		}
		t.Error(d)
	}
	if len(diffs) > 0 {
		t.FailNow()
	}
	t.Logf("both imports built the same documents %s after the first request: %d events, %d visits, %d visitors, %d credits, %d funnel records",
		time.Since(start).Round(time.Millisecond), len(docsA[journeystore.FamilyEvents]), len(docsA[journeystore.FamilyVisits]),
		len(docsA[journeystore.FamilyVisitors]), len(docsA[journeystore.FamilyCredits]), len(docsA[journeystore.FamilyFunnels]))
	// The history is rich enough for the comparison to mean something.
	channels := map[string]int{}
	for _, v := range docsA[journeystore.FamilyVisits] {
		channels[fmt.Sprint(v[eventmodel.AttrChannelMedium])]++
	}
	returning := 0
	for _, v := range docsA[journeystore.FamilyVisitors] {
		if c, _ := v[eventmodel.AttrVisitorVisitCount].(float64); c > 1 {
			returning++
		}
	}
	reached := map[string]int{}
	for _, f := range docsA[journeystore.FamilyFunnels] {
		reached[fmt.Sprint(f[eventmodel.AttrFunnelName], " ", f[eventmodel.AttrFunnelLastStep])]++
	}
	t.Logf("visit entry media %v; %d returning visitors; funnel records by furthest step %v", channels, returning, reached)
	if len(docsA[journeystore.FamilyVisitors]) < 300 || returning < 100 || len(docsA[journeystore.FamilyCredits]) < 50 || len(channels) < 4 ||
		len(reached) < 5 {
		t.Errorf("the history built %d visitors (%d returning), %d credits, media %v, funnel steps %v: too little to compare",
			len(docsA[journeystore.FamilyVisitors]), returning, len(docsA[journeystore.FamilyCredits]), channels, reached)
	}

	// Again: nothing new is stored, every event a duplicate at the store.
	dup0 := promValue(t, metricsA, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total")
	again := runImportCtl(t, ctl, endA, keyFile, shuffledFile)
	if again.Lines != sumA.Lines || again.Accepted != sumA.Accepted {
		t.Fatalf("second import: %+v, want the first's counts %+v", again, sumA)
	}
	eventually(t, time.Minute, "every re-imported event answered as a duplicate", func() bool {
		return promValue(t, metricsA, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total")-dup0 >= float64(n)
	})
	if got := dashCount(store, storeIndex(prefixA, journeystore.FamilyEvents)); got != n {
		t.Fatalf("after the second import %d event documents, want %d", got, n)
	}
	for _, f := range families[1:] {
		if got, want := dashCount(store, storeIndex(prefixA, f)), len(docsA[f]); got != want {
			t.Errorf("after the second import %d %s documents, want %d", got, f, want)
		}
	}

	historyBehindLive(t, store, prefixA, metricsA, endA, ctl, keyFile, dir, docsA)
}

// historyBehindLive: visitor hv-000 comes back live today; then history
// older than all its state arrives (two page views and a purchase eight
// weeks ago) and one imported event inside today's live visit. The old
// history builds a visit and credits of its own (history_behind_live), the
// event inside the live visit is stored but not attributed
// (history_in_live_visit), and the visitor record stays the live state's:
// its visit count counts today's visit, not the old history's.
func historyBehindLive(t *testing.T, store es, prefix, metrics, importEndpoint, ctl, keyFile, dir string, before map[journeystore.Family]map[string]map[string]any) {
	t.Helper()
	events, visits, visitors, credits := storeIndex(prefix, journeystore.FamilyEvents), storeIndex(prefix, journeystore.FamilyVisits),
		storeIndex(prefix, journeystore.FamilyVisitors), storeIndex(prefix, journeystore.FamilyCredits)
	first := store.searchHits(events, map[string]any{"term": map[string]any{"log.record.uid": "h-hv-000-0-0"}})["h-hv-000-0-0"]
	pseudonym, _ := first[eventmodel.AttrVisitorID].(string)
	if pseudonym == "" {
		t.Fatalf("no visitor id on the first event of hv-000: %v", first)
	}
	visitorDoc := func() map[string]any {
		for _, d := range store.searchHits(visitors, map[string]any{"term": map[string]any{eventmodel.AttrVisitorID: pseudonym}}) {
			return d
		}
		return nil
	}
	count0, _ := visitorDoc()[eventmodel.AttrVisitorVisitCount].(float64)
	nVisits, nCredits := len(before[journeystore.FamilyVisits]), len(before[journeystore.FamilyCredits])

	// Live, now.
	now := time.Now()
	beacon, _ := json.Marshal(map[string]any{"site": importSite, "sent_at": now.UnixMilli(), "visitor_id": "hv-000",
		"consent": map[string]any{"analytics": "granted"},
		"events":  []any{map[string]any{"id": "live-hv-000-1", "ts": now.UnixMilli(), "type": "page_view", "url": "https://shop.example/p/7", "referrer": "https://www.bing.com/"}}})
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(importEndpoint, "/wj/import")+"/b", strings.NewReader(string(beacon)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("live beacon: %d", resp.StatusCode)
	}
	eventually(t, time.Minute, "the live visit and the visitor's new count", func() bool {
		c, _ := visitorDoc()[eventmodel.AttrVisitorVisitCount].(float64)
		return dashCount(store, visits) == nVisits+1 && c == count0+1
	})

	// History: older than all of hv-000's state, and one event inside the live visit.
	old := now.Add(-56 * 24 * time.Hour).Truncate(time.Millisecond)
	line := func(id string, at time.Time, extra string) string {
		return fmt.Sprintf(`{"id":%q,"ts":%d,"visitor_id":"hv-000","consent":{"analytics":"granted"},%s}`, id, at.UnixMilli(), extra)
	}
	file := filepath.Join(dir, "older.ndjson")
	writeLines(t, file, []histLine{
		{text: line("old-hv-000-2", old.Add(3*time.Minute), `"type":"custom","name":"purchase","url":"https://shop.example/checkout","props":{"revenue":99}`)},
		{text: line("old-hv-000-0", old, `"type":"page_view","url":"https://shop.example/l/1?utm_source=mail&utm_medium=email&utm_campaign=winter"`)},
		{text: line("old-hv-000-1", old.Add(time.Minute), `"type":"page_view","url":"https://shop.example/p/3","referrer":"https://shop.example/"`)},
		{text: line("in-live-hv-000", now.Add(-time.Minute), `"type":"page_view","url":"https://shop.example/p/8"`)},
	})
	behind0 := promValue(t, metrics, "otelcol_processor_attribution_events_total", `result="history_behind_live"`)
	inVisit0 := promValue(t, metrics, "otelcol_processor_attribution_events_total", `result="history_in_live_visit"`)
	if sum := runImportCtl(t, ctl, importEndpoint, keyFile, file); sum.Accepted != 4 {
		t.Fatalf("older history: %+v, want 4 accepted", sum)
	}
	eventually(t, time.Minute, "the old history's visit and credits", func() bool {
		return dashCount(store, visits) == nVisits+2 && dashCount(store, credits) > nCredits
	})
	if b := promValue(t, metrics, "otelcol_processor_attribution_events_total", `result="history_behind_live"`) - behind0; b != 3 {
		t.Errorf("history_behind_live counted %v, want 3", b)
	}
	if b := promValue(t, metrics, "otelcol_processor_attribution_events_total", `result="history_in_live_visit"`) - inVisit0; b != 1 {
		t.Errorf("history_in_live_visit counted %v, want 1", b)
	}
	// The old visit: its own entry and outcome, an older version than the live visit's.
	var oldVisit, liveVisit map[string]any
	for _, v := range store.searchHits(visits, map[string]any{"term": map[string]any{eventmodel.AttrVisitorID: pseudonym}}) {
		start, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(v[eventmodel.AttrVisitStart]))
		switch {
		case start.Equal(old):
			oldVisit = v
		case !start.Before(now.Add(-time.Minute)) && start.Before(now.Add(time.Minute)):
			liveVisit = v
		}
	}
	if oldVisit == nil || liveVisit == nil {
		t.Fatalf("want hv-000's old history visit and live visit, found old %v, live %v", oldVisit, liveVisit)
	}
	if oldVisit[eventmodel.AttrChannelMedium] != "email" || fmt.Sprint(oldVisit[eventmodel.AttrVisitOutcomes]) != "[purchase]" || oldVisit[eventmodel.AttrVisitPagesViewed] != float64(2) {
		t.Errorf("the old history's visit: medium %v, outcomes %v, pages %v", oldVisit[eventmodel.AttrChannelMedium], oldVisit[eventmodel.AttrVisitOutcomes], oldVisit[eventmodel.AttrVisitPagesViewed])
	}
	if liveVisit[eventmodel.AttrVisitPagesViewed] != float64(1) {
		t.Errorf("the live visit has %v pages: the imported event inside it changed it", liveVisit[eventmodel.AttrVisitPagesViewed])
	}
	if ov, lv := oldVisit[eventmodel.AttrEntityVersion].(float64), liveVisit[eventmodel.AttrEntityVersion].(float64); ov >= lv {
		t.Errorf("the old visit's version %v is not below the live visit's %v", ov, lv)
	}
	if c, _ := visitorDoc()[eventmodel.AttrVisitorVisitCount].(float64); c != count0+1 {
		t.Errorf("the visitor record counts %v visits, want the live state's %v", c, count0+1)
	}
	// Every imported event is stored, the one inside the live visit too.
	if got := store.searchHits(events, map[string]any{"terms": map[string]any{"log.record.uid": []string{"old-hv-000-0", "old-hv-000-1", "old-hv-000-2", "in-live-hv-000"}}}); len(got) != 4 {
		t.Errorf("%d of the 4 imported events stored", len(got))
	}
}

// compareDocs lists the differences between two sets of documents by id.
func compareDocs(family string, a, b map[string]map[string]any) []string {
	var diffs []string
	if len(a) != len(b) {
		diffs = append(diffs, fmt.Sprintf("%s: %d documents sorted, %d in time order", family, len(a), len(b)))
	}
	ids := make([]string, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		db, ok := b[id]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s %s: only in the sorted import", family, id))
			continue
		}
		da := a[id]
		for _, k := range unionKeys(da, db) {
			va, okA := da[k]
			vb, okB := db[k]
			ignored := ingestTimeFields["*"][k] || ingestTimeFields[family][k]
			if okA != okB || (!ignored && !reflect.DeepEqual(va, vb)) {
				diffs = append(diffs, fmt.Sprintf("%s %s: %s is %v sorted, %v in time order", family, id, k, va, vb))
			}
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s %s: only in the import in time order", family, id))
		}
	}
	return diffs
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// allDocs returns every document of the indices matching pattern by id
// (a scroll: more than one search page).
func (e es) allDocs(pattern string) map[string]map[string]any {
	e.t.Helper()
	e.do(http.MethodPost, "/"+pattern+"/_refresh?ignore_unavailable=true&allow_no_indices=true", nil)
	out := map[string]map[string]any{}
	status, body := e.do(http.MethodPost, "/"+pattern+"/_search?scroll=1m&ignore_unavailable=true&allow_no_indices=true",
		map[string]any{"size": 2000, "sort": []string{"_doc"}})
	for {
		if status != http.StatusOK {
			e.t.Fatalf("scroll %s: %d %s", pattern, status, body)
		}
		var res struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []struct {
					ID     string         `json:"_id"`
					Source map[string]any `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			e.t.Fatal(err)
		}
		for _, h := range res.Hits.Hits {
			out[h.ID] = h.Source
		}
		if len(res.Hits.Hits) == 0 || res.ScrollID == "" {
			if res.ScrollID != "" {
				e.do(http.MethodDelete, "/_search/scroll", map[string]any{"scroll_id": res.ScrollID})
			}
			return out
		}
		status, body = e.do(http.MethodPost, "/_search/scroll", map[string]any{"scroll": "1m", "scroll_id": res.ScrollID})
	}
}
