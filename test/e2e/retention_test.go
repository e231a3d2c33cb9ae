package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/kibana"
)

const (
	retentionSite = "e2e-retention"
	retentionKey  = "e2e-retention-import-key-0123456789"
)

// retentionVisitor is one seeded visitor: the start of each of its visits,
// in time order (the first is when it was first seen).
type retentionVisitor struct {
	name   string
	visits []time.Time
}

// retentionSeed makes 80 visitors first seen over four weeks, eight to
// five weeks before now, each returning in a random subset of the
// following six weeks (some never), sometimes twice in a week; a visit is
// one or two page views.
func retentionSeed(now time.Time) []retentionVisitor {
	rng := rand.New(rand.NewPCG(20261202, 11))
	base := now.Add(-8 * 7 * 24 * time.Hour).Truncate(time.Hour)
	var out []retentionVisitor
	for i := range 80 {
		v := retentionVisitor{name: fmt.Sprintf("ret-v%02d", i)}
		first := base.Add(time.Duration(rng.IntN(4*7*24)) * time.Hour)
		v.visits = append(v.visits, first)
		for w := 1; w <= 6; w++ {
			if rng.IntN(10) < 3+w { // fewer come back as the weeks pass
				continue
			}
			for range 1 + rng.IntN(2) {
				at := first.Add(time.Duration(w)*7*24*time.Hour + time.Duration(rng.IntN(7*24))*time.Hour)
				if at.Before(now.Add(-time.Hour)) {
					v.visits = append(v.visits, at)
				}
			}
		}
		sort.Slice(v.visits, func(a, b int) bool { return v.visits[a].Before(v.visits[b]) })
		out = append(out, v)
	}
	return out
}

// retentionExpected is the heatmap's cells from the seed: cohort (the
// Monday, UTC, of the week of first seen) and weeks since first seen ->
// distinct visitors. Weeks since are counted from the first visit, as the
// attribution processor does.
func retentionExpected(seed []retentionVisitor) map[string]float64 {
	out := map[string]float64{}
	for _, v := range seed {
		first := v.visits[0]
		day := first.UTC().Truncate(24 * time.Hour)
		monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		weeks := map[int]bool{}
		for _, at := range v.visits {
			weeks[int(at.Sub(first)/(7*24*time.Hour))] = true
		}
		for w := range weeks {
			if w <= kibana.RetentionWeeks {
				out[fmt.Sprintf("%s|%d", monday.Format("2006-01-02"), w)]++
			}
		}
	}
	return out
}

// TestRetention imports weeks of history through the built collector's
// import endpoint (the only way to have visits older than a day), runs the
// retention heatmap's Elasticsearch query as Kibana would and renders the
// spec with the real vega package: every cell (cohort × weeks since) must
// hold the seed's distinct visitors, week 0 the cohort's size and each
// share visitors / size. The picture goes to docs/retention.{svg,png} with
// -update-docs.
func TestRetention(t *testing.T) {
	store, prefix, listen := importPipeline(t, retentionSite, "", "")

	now := time.Now()
	seed := retentionSeed(now)
	// Each visitor's history in time order (the attribution processor
	// keeps a visitor's state in time order), as webjourneyctl import
	// sorts it.
	var lines []string
	pages := 0
	for _, v := range seed {
		for k, at := range v.visits {
			for p := range 1 + k%2 {
				line, _ := json.Marshal(map[string]any{
					"id": fmt.Sprintf("%s-k%d-p%d", v.name, k, p), "ts": at.Add(time.Duration(p) * time.Minute).UnixMilli(),
					"type": "page_view", "url": fmt.Sprintf("https://shop.example/p/%d", p), "visitor_id": v.name,
					"session_id": fmt.Sprintf("%s-s%d", v.name, k), "consent": map[string]any{"analytics": "granted"},
				})
				lines = append(lines, string(line))
				pages++
			}
		}
	}
	importAll(t, listen, retentionSite, lines)

	want := retentionExpected(seed)
	visits := 0
	for _, v := range seed {
		visits += len(v.visits)
	}
	eventually(t, 60*time.Second, "every visit stored", func() bool {
		return dashCount(store, storeIndex(prefix, journeystore.FamilyVisits)) == visits &&
			dashCount(store, storeIndex(prefix, journeystore.FamilyEvents)) == pages
	})

	res := renderPanel(t, store, kibana.RetentionSpec(prefix), 1100, 420)
	got := map[string]float64{}
	size := map[string]float64{}
	for _, c := range res.Data["cells"] {
		key := fmt.Sprintf("%v|%v", c["cohort"], c["week"])
		got[key], _ = c["visitors"].(float64)
		if c["week"] == 0.0 {
			size[fmt.Sprint(c["cohort"])] = got[key]
		}
	}
	for _, c := range res.Data["cells"] {
		cohort := fmt.Sprint(c["cohort"])
		share, _ := c["share"].(float64)
		if w := got[fmt.Sprintf("%v|%v", cohort, c["week"])] / size[cohort]; share != w {
			t.Errorf("cohort %s week %v: share %v, want %v", cohort, c["week"], share, w)
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("retention cell %s: %v visitors, want %v", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("retention cell %s: %v visitors, not in the seed", k, g)
		}
	}
	t.Logf("retention: %d cells of %d cohorts, as seeded", len(got), len(size))

	// The visit records carry the cohort: first_seen and weeks since.
	for id, d := range store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"match_all": map[string]any{}}) {
		if d[eventmodel.AttrVisitorFirstSeen] == nil || d[eventmodel.AttrVisitWeeksSinceFirstSeen] == nil {
			t.Errorf("visit %s lacks its cohort: %v", id, d)
			break
		}
	}
	writePicture(t, "retention", res.SVG)
}

// importPipeline runs the built collector with the consent, anonymizer and
// attribution processors (emitting every 100 ms) and site with an import
// key (retentionKey); pixel and attribution add lines to the pixel
// receiver (indented by four spaces) and the attribution processor
// (indented by four spaces).
func importPipeline(t *testing.T, site, pixel, attribution string) (store es, prefix, listen string) {
	t.Helper()
	secretFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("4d", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startPipeline(t, pipeline{
		pixel: pixel + fmt.Sprintf(`    sites:
      - id: %s
        import: {key: %s}`, site, retentionKey),
		processors: fmt.Sprintf(`  consent:
    default: opt_out
  anonymizer:
    secret: {file: %q}
  attribution:
    emit_interval: 100ms
%s`, secretFile, attribution),
		order: []string{"consent", "anonymizer", "attribution"},
	})
}

// importAll imports lines into site, 150 a request, in their order.
func importAll(t *testing.T, listen, site string, lines []string) {
	t.Helper()
	for len(lines) > 0 {
		n := min(len(lines), 150)
		importLines(t, "http://"+listen+"/wj/import?site="+site, lines[:n])
		lines = lines[n:]
	}
}

// importLines posts lines of history to the import endpoint with the
// site's import key; every line must be accepted.
func importLines(t *testing.T, u string, lines []string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewBufferString(strings.Join(lines, "\n")+"\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+retentionKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum struct {
		Accepted int `json:"accepted"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &sum) != nil || sum.Accepted != len(lines) {
		t.Fatalf("import of %d lines: %d %s", len(lines), resp.StatusCode, body)
	}
}
