package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/kibana"
)

// dashPathLength is the attribution processor's default journey::path_length,
// which TestDashboardNumbers runs with.
const dashPathLength = 10

// dashLongVisitors are the seed's long visits: 12 to 15 page views each,
// with reloads (a page twice in a row) and returns to a page, so that
// paths are collapsed and cut at dashPathLength pages, and some purchase.
// They have their own random source, so the rest of the seed is as before.
func dashLongVisitors() []dashVisitor {
	rng := rand.New(rand.NewPCG(20261202, 7))
	var out []dashVisitor
	for i := range 8 {
		v := dashVisitor{name: fmt.Sprintf("dash-l%02d", i)}
		vis := dashVisit{ch: dashChannels[i%len(dashChannels)], pages: 12 + rng.IntN(4), purchase: i%3 == 0}
		start := 20*time.Hour - time.Duration(rng.IntN(120))*time.Minute
		page := 0
		for p := range vis.pages {
			e := dashEvent{id: fmt.Sprintf("%s-k0-p%d", v.name, p), purpose: "page", ago: start - time.Duration(p)*45*time.Second}
			switch {
			case p == 0:
				e.url, e.ref = "https://shop.example/"+vis.ch.query, vis.ch.referrer
			case p%4 == 3: // a reload
			default:
				page = rng.IntN(8)
			}
			if p > 0 {
				e.url = fmt.Sprintf("https://shop.example/p/%d", page)
			}
			vis.events = append(vis.events, e)
			if p == 0 {
				vis.engaged = int64(1+rng.IntN(60)) * 1000
				vis.events = append(vis.events, dashEvent{id: v.name + "-k0-e0", purpose: "engagement",
					ago: start - 20*time.Second, url: e.url, engaged: vis.engaged})
			}
		}
		if vis.purchase {
			vis.revenue = float64(1000+rng.IntN(30000)) / 100
			vis.events = append(vis.events, dashEvent{id: v.name + "-k0-buy", purpose: "purchase",
				ago: start - time.Duration(vis.pages)*45*time.Second, url: "https://shop.example/checkout/done", revenue: vis.revenue})
		}
		v.visits = []dashVisit{vis}
		out = append(out, v)
	}
	return out
}

// dashVisitPath is a seeded visit's path as the attribution processor must
// make it, computed from the seed alone: its page views in time order,
// consecutive repeats collapsed, the first dashPathLength of them, and
// whether there were more.
func dashVisitPath(vis dashVisit) (path []string, truncated bool) {
	type view struct {
		ago  time.Duration
		path string
	}
	var views []view
	for _, e := range vis.events {
		if e.purpose == "page" {
			views = append(views, view{e.ago, dashPath(e.url)})
		}
	}
	sort.SliceStable(views, func(i, j int) bool { return views[i].ago > views[j].ago }) // oldest first
	for _, v := range views {
		if len(path) > 0 && path[len(path)-1] == v.path {
			continue
		}
		if len(path) == dashPathLength {
			return path, true
		}
		path = append(path, v.path)
	}
	return path, false
}

// dashPagesBefore is the way to a seeded visit's purchase: the last three
// pages before it (every page view of a visit comes before its purchase),
// repeats collapsed.
func dashPagesBefore(vis dashVisit) string {
	var pages []string
	for _, e := range vis.events {
		if e.purpose == "page" && (len(pages) == 0 || pages[len(pages)-1] != dashPath(e.url)) {
			pages = append(pages, dashPath(e.url))
		}
	}
	return strings.Join(pages[max(0, len(pages)-3):], " → ")
}

// dashMoves are a seeded visit's transitions (webjourney.visit.transitions):
// the entrance from its medium, page to page along its path, and the exit
// when the path holds the visit's last page; a set.
func dashMoves(vis dashVisit) map[[2]string]bool {
	path, truncated := dashVisitPath(vis)
	moves := map[[2]string]bool{{"(" + vis.ch.medium + ")", path[0]}: true}
	for i := 1; i < len(path); i++ {
		moves[[2]string{path[i-1], path[i]}] = true
	}
	if !truncated {
		moves[[2]string{path[len(path)-1], "(exit)"}] = true
	}
	return moves
}

// topRows keeps the size rows with the highest count n, ties by key: the
// order of an Elasticsearch terms aggregation.
func topRows(n map[string]int, size int) []string {
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if n[keys[i]] != n[keys[j]] {
			return n[keys[i]] > n[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys[:min(size, len(keys))]
}

// pathsExpected adds the Journeys dashboard's path tables: Top paths (per
// whole path: visits, conversion rate, median engaged time) and Pages
// before outcome (per outcome and its last three pages: outcomes).
func pathsExpected(x dashExpect, seed []dashVisitor) {
	visits, conv := map[string]int{}, map[string]int{}
	engaged := map[string][]float64{}
	before := map[string]int{}
	for _, v := range seed {
		for _, vis := range v.visits {
			path, _ := dashVisitPath(vis)
			key := strings.Join(path, " → ")
			visits[key]++
			engaged[key] = append(engaged[key], float64(vis.engaged))
			if vis.purchase {
				conv[key]++
				before["purchase|"+dashPagesBefore(vis)]++
			}
		}
	}
	panel := "journeys/toppaths"
	for _, key := range topRows(visits, topSize(panel, "path")) {
		x.set(panel, key, "visits", float64(visits[key]))
		x.set(panel, key, "conv", float64(conv[key])/float64(visits[key]))
		sort.Float64s(engaged[key])
		x.set(panel, key, "engaged", engaged[key][len(engaged[key])/2])
		dashMedians[panel+"|"+key+"|engaged"] = engaged[key]
	}
	panel = "journeys/beforeoutcome"
	for _, key := range topRows(before, topSize(panel, "before")) {
		x.set(panel, key, "n", float64(before[key]))
	}
}

// topSize is the size of a terms column of a Journeys panel.
func topSize(panel, column string) int {
	dash, key, _ := strings.Cut(panel, "/")
	p, ok := kibana.Panel("webjourney-"+dash, key)
	if !ok {
		panic("no panel " + panel)
	}
	for _, c := range p.Columns {
		if c.ID == column {
			return c.Size
		}
	}
	panic("no column " + column + " in " + panel)
}

// transitionsExpected is what the Transitions panel must show for page:
// visits per previous page or entrance, and per next page or exit.
func transitionsExpected(seed []dashVisitor, page string) (previous, next map[string]float64) {
	previous, next = map[string]float64{}, map[string]float64{}
	for _, v := range seed {
		for _, vis := range v.visits {
			for m := range dashMoves(vis) {
				if m[1] == page {
					previous[m[0]]++
				}
				if m[0] == page {
					next[m[1]]++
				}
			}
		}
	}
	return previous, next
}

// checkTransitions renders the Transitions panel for page with the real
// vega package from the seeded visits: its previous and next sides must
// be what the seed implies, and each shown entry labelled. The picture of
// the page /p/3 goes to docs/ with -update-docs.
func checkTransitions(t *testing.T, store es, prefix string, seed []dashVisitor, page string) {
	t.Helper()
	res := renderPanel(t, store, kibana.TransitionsSpec(prefix, page), sankeyWidth, 420)
	wantPrev, wantNext := transitionsExpected(seed, page)
	var diffs []string
	for side, want := range map[string]map[string]float64{"previous": wantPrev, "next": wantNext} {
		got := map[string]float64{}
		for _, d := range res.Data[side] {
			got[fmt.Sprint(d["name"])], _ = d["visits"].(float64)
		}
		for k, w := range want {
			if got[k] != w {
				diffs = append(diffs, fmt.Sprintf("Transitions of %s, %s %q: %v visits, want %v", page, side, k, got[k], w))
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("Transitions of %s, %s %q: %v visits, not in the seed", page, side, k, g))
			}
		}
		for _, d := range res.Data[side+"Shown"] {
			if name := fmt.Sprint(d["name"]); !strings.Contains(res.SVG, ">"+xmlEscape(name)+"<") {
				diffs = append(diffs, fmt.Sprintf("Transitions of %s: %s %q has no label in the SVG", page, side, name))
			}
		}
	}
	if len(wantPrev) == 0 || len(wantNext) == 0 {
		diffs = append(diffs, fmt.Sprintf("Transitions of %s: the seed has no visit through it", page))
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("Transitions of %s: %d previous and %d next entries, as seeded", page, len(wantPrev), len(wantNext))
	if page == "/p/3" {
		writePicture(t, "journeys-transitions", res.SVG)
	}
}
