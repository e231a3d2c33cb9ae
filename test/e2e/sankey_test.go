package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/kibana"
	"github.com/webjourney/webjourney/test/testenv"
	"github.com/webjourney/webjourney/test/vegarender"
)

var updateDocs = flag.Bool("update-docs", false, "write the Journeys Sankey rendered from the seeded journeys to docs/journeys-sankey.{svg,png}")

// Size of the rendered Sankey: the Journeys dashboard gives it the full
// width (48 columns) and 20 rows.
const sankeyWidth, sankeyHeight = 1100, 520

// sankeyLink is one band of the Sankey: stage 0 is landing -> next page,
// 1 next page -> exit page, 2 exit page -> outcome.
type sankeyLink struct {
	stage    int
	src, dst string
}

// sankeyExpected is what the seed implies: the visits on each link.
func sankeyExpected(seed []dashVisitor) map[sankeyLink]float64 {
	out := map[sankeyLink]float64{}
	for _, v := range seed {
		for _, vis := range v.visits {
			var pages []string
			for _, e := range vis.events {
				if e.purpose == "page" {
					pages = append(pages, dashPath(e.url))
				}
			}
			landing, second, exit := pages[0], "(one page)", "exit "+pages[len(pages)-1]
			if len(pages) > 1 {
				second = "then " + pages[1]
			}
			outcome := "no outcome"
			if vis.purchase {
				outcome = "outcome: purchase"
			}
			out[sankeyLink{0, landing, second}]++
			out[sankeyLink{1, second, exit}]++
			out[sankeyLink{2, exit, outcome}]++
		}
	}
	return out
}

// checkSankey renders the Journeys Sankey as Kibana would: it runs the
// spec's Elasticsearch query (the dashboard context being "everything")
// on the seeded visits and hands the answer to the real vega package. The
// links Vega computes must be the seed's paths; the picture goes to docs/
// with -update-docs.
func checkSankey(t *testing.T, store es, prefix string, seed []dashVisitor) {
	t.Helper()
	specText := kibana.SankeySpec(prefix)
	var spec struct {
		Data []struct {
			Name string `json:"name"`
			URL  *struct {
				Index string         `json:"index"`
				Body  map[string]any `json:"body"`
			} `json:"url"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(specText), &spec); err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	for _, d := range spec.Data {
		if d.URL == nil {
			continue
		}
		index := d.URL.Index
		body := d.URL.Body
		body["query"] = map[string]any{"match_all": map[string]any{}} // %context%: no filter
		status, answer := store.do(http.MethodPost, "/"+index+"/_search", body)
		if status != http.StatusOK {
			t.Fatalf("Sankey data %q on %s: %d %s", d.Name, index, status, answer)
		}
		var v any
		if err := json.Unmarshal(answer, &v); err != nil {
			t.Fatal(err)
		}
		values[d.Name] = v
	}

	node := testenv.Node(t)
	vega := testenv.Fetched(t, testenv.Vega)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := vegarender.Render(ctx, node, vega, []byte(specText), values, sankeyWidth, sankeyHeight)
	if err != nil {
		t.Fatalf("rendering the Sankey: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Vega warning: %s", w)
	}

	want := sankeyExpected(seed)
	got := map[sankeyLink]float64{}
	for _, l := range res.Data["links"] {
		stage, _ := l["stage"].(float64)
		size, _ := l["size"].(float64)
		got[sankeyLink{int(stage), fmt.Sprint(l["src"]), fmt.Sprint(l["dst"])}] += size
	}
	var diffs []string
	for k, w := range want {
		if got[k] != w {
			diffs = append(diffs, fmt.Sprintf("Sankey link %d %q -> %q: %v visits, want %v", k.stage, k.src, k.dst, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("Sankey link %d %q -> %q: %v visits, not in the seed", k.stage, k.src, k.dst, g))
		}
	}
	// Every node is drawn once, as tall as the larger of its in- and
	// outflow, and labelled.
	in, out := map[string]float64{}, map[string]float64{}
	for k, w := range want {
		out[k.src] += w
		in[k.dst] += w
	}
	nodes := map[string]float64{}
	for _, n := range res.Data["nodes"] {
		name := fmt.Sprint(n["name"])
		if _, dup := nodes[name]; dup {
			diffs = append(diffs, fmt.Sprintf("Sankey node %q twice", name))
		}
		nodes[name], _ = n["size"].(float64)
	}
	names := nodeNames(in, out)
	for name := range names {
		if w := max(in[name], out[name]); nodes[name] != w {
			diffs = append(diffs, fmt.Sprintf("Sankey node %q: size %v, want %v", name, nodes[name], w))
		}
		if !strings.Contains(res.SVG, ">"+xmlEscape(name)+"<") {
			diffs = append(diffs, fmt.Sprintf("Sankey node %q has no label in the SVG", name))
		}
	}
	if len(nodes) != len(names) {
		diffs = append(diffs, fmt.Sprintf("Sankey: %d nodes, want %d", len(nodes), len(names)))
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("Sankey: %d links and %d nodes, as seeded", len(got), len(nodes))

	png, err := vegarender.PNG(testenv.Browser(t, time.Minute), res.SVG)
	if err != nil {
		t.Fatalf("rasterising the Sankey: %v", err)
	}
	dir := t.TempDir()
	if *updateDocs {
		dir = filepath.Join("..", "..", "docs")
	}
	for name, b := range map[string][]byte{"journeys-sankey.svg": []byte(res.SVG), "journeys-sankey.png": png} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func nodeNames(a, b map[string]float64) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
