package e2e

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/kibana"
	"github.com/webjourney/webjourney/test/panelquery"
	"github.com/webjourney/webjourney/test/testenv"
	"github.com/webjourney/webjourney/test/vegarender"
)

var updateDocs = flag.Bool("update-docs", false, "write the Vega panels rendered from the seeded journeys to docs/ (journeys-{sankey,transitions}, retention, funnels{,-next}; .svg and .png)")

// Size of the rendered Sankey: the Journeys dashboard gives it the full
// width (48 columns) and 20 rows.
const sankeyWidth, sankeyHeight = 1100, 520

// sankeyLink is one band of the Sankey: stage j goes from column j to
// column j+1 (the last column is the outcome); src and dst are node names,
// "<column>|<label>".
type sankeyLink struct {
	stage    int
	src, dst string
}

// sankeyExpected is what the seed implies: the visits on each link, along
// the first kibana.SankeySteps pages of each visit's path, "(exit)" once
// the path ended, then the outcome.
func sankeyExpected(seed []dashVisitor) map[sankeyLink]float64 {
	out := map[sankeyLink]float64{}
	for _, v := range seed {
		for _, vis := range v.visits {
			path, _ := dashVisitPath(vis)
			var cols []string
			for j := range kibana.SankeySteps {
				label := "(exit)"
				if j < len(path) {
					label = path[j]
				}
				cols = append(cols, fmt.Sprintf("%d|%s", j+1, label))
			}
			outcome := "no outcome"
			if vis.purchase {
				outcome = "outcome: purchase"
			}
			cols = append(cols, fmt.Sprintf("%d|%s", kibana.SankeySteps+1, outcome))
			for j := 1; j < len(cols); j++ {
				out[sankeyLink{j - 1, cols[j-1], cols[j]}]++
			}
		}
	}
	return out
}

// renderPanel renders a Vega panel as Kibana would: it runs the spec's
// Elasticsearch queries (the dashboard context being "everything") on the
// seeded data and hands the answers to the real vega package. Vega
// warnings fail the test.
func renderPanel(t *testing.T, store es, specText string, width, height int) vegarender.Result {
	t.Helper()
	return panelquery.RenderVega(t, store.do, specText, width, height)
}

// writePicture writes a rendered panel as docs/<name>.{svg,png} with
// -update-docs, else into a temporary directory (so the rasterising is
// tested either way).
func writePicture(t *testing.T, name, svg string) {
	t.Helper()
	png, err := vegarender.PNG(testenv.Browser(t, time.Minute), svg)
	if err != nil {
		t.Fatalf("rasterising %s: %v", name, err)
	}
	dir := t.TempDir()
	if *updateDocs {
		dir = filepath.Join("..", "..", "docs")
	}
	for file, b := range map[string][]byte{name + ".svg": []byte(svg), name + ".png": png} {
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkSankey renders the Journeys Sankey from the seeded visits. The
// links Vega computes must be the seed's paths; the picture goes to docs/
// with -update-docs.
func checkSankey(t *testing.T, store es, prefix string, seed []dashVisitor) {
	t.Helper()
	res := renderPanel(t, store, kibana.SankeySpec(prefix), sankeyWidth, sankeyHeight)

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
		_, label, _ := strings.Cut(name, "|")
		if !strings.Contains(res.SVG, ">"+xmlEscape(label)+"<") {
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

	writePicture(t, "journeys-sankey", res.SVG)
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
