package kibana

import (
	"encoding/json"
	"fmt"
	"strconv"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// SankeySteps is how many page columns the Journeys dashboard's Sankey
// shows (PathSankeySpec allows 3 to 6).
const SankeySteps = 4

// SankeySpec is the Journeys dashboard's Sankey: PathSankeySpec with
// SankeySteps columns of pages.
func SankeySpec(prefix string) string { return PathSankeySpec(prefix, SankeySteps) }

// PathSankeySpec is the Vega spec of the N-step journeys Sankey: visits
// flow along the first steps pages of their path (webjourney.visit.step_1
// to step_<steps>, consecutive repeats collapsed by the attribution
// processor) and on to the outcome they achieved (or "no outcome"). A visit
// whose path is shorter flows into "(exit)" at the step after its last
// page and stays there, so that every column adds up to all the visits.
// One composite aggregation on the visits index gives the visit count per
// (step 1, ..., step N, outcome); Vega derives the link sets, stacks the
// nodes per column and draws each link as a band whose width is its visit
// count. Node names carry their column ("2|/pricing"), labels do not.
// %context% and %timefield% make the dashboard's time range, query and
// filters apply. A visit with several outcomes counts once per outcome.
// prefix is the exporter's index_prefix; steps must be 3 to 6.
func PathSankeySpec(prefix string, steps int) string {
	if steps < 3 || steps > len(em.AttrVisitSteps) {
		panic(fmt.Sprintf("kibana: a path Sankey has 3 to %d steps, not %d", len(em.AttrVisitSteps), steps))
	}
	agg := func(name, field string, missing bool) map[string]any {
		t := map[string]any{"field": field}
		if missing {
			t["missing_bucket"] = true
		}
		return map[string]any{name: map[string]any{"terms": t}}
	}
	formula := func(as, expr string) map[string]any {
		return map[string]any{"type": "formula", "as": as, "expr": expr}
	}
	links := func(stage int) map[string]any {
		from, to := "c"+strconv.Itoa(stage), "c"+strconv.Itoa(stage+1)
		return map[string]any{"name": "links" + strconv.Itoa(stage), "source": "visits", "transform": []any{
			map[string]any{"type": "aggregate", "groupby": []any{from, to}, "fields": []any{"visits"}, "ops": []any{"sum"}, "as": []any{"size"}},
			formula("src", "datum."+from),
			formula("dst", "datum."+to),
			formula("stage", strconv.Itoa(stage)),
		}}
	}
	var sources, columns, linkSets, linkNames []any
	for i := range steps {
		sources = append(sources, agg("s"+strconv.Itoa(i+1), em.AttrVisitSteps[i], i > 0))
		// A missing step is an exit; so is every step after one.
		page := "datum.key.s" + strconv.Itoa(i+1)
		col := "'" + strconv.Itoa(i+1) + "|'"
		columns = append(columns, formula("c"+strconv.Itoa(i), page+" ? "+col+" + "+page+" : "+col+" + '"+sankeyExit+"'"))
	}
	sources = append(sources, agg("outcome", em.AttrVisitOutcomes, true))
	columns = append(columns,
		formula("c"+strconv.Itoa(steps), "'"+strconv.Itoa(steps+1)+"|' + (datum.key.outcome ? 'outcome: ' + datum.key.outcome : 'no outcome')"),
		formula("visits", "datum.doc_count"))
	for stage := range steps {
		linkSets = append(linkSets, links(stage))
		linkNames = append(linkNames, "links"+strconv.Itoa(stage))
	}
	data := []any{
		map[string]any{
			"name": "visits",
			"url": map[string]any{
				"index":       journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyVisits),
				"%context%":   true,
				"%timefield%": fieldTimestamp,
				"body": map[string]any{"size": 0, "aggs": map[string]any{"paths": map[string]any{"composite": map[string]any{
					"size":    10000,
					"sources": sources,
				}}}},
			},
			"format":    map[string]any{"property": "aggregations.paths.buckets"},
			"transform": columns,
		},
	}
	data = append(data, linkSets...)
	data = append(data,
		map[string]any{"name": "nodeSides", "source": linkNames, "transform": []any{
			map[string]any{"type": "fold", "fields": []any{"src", "dst"}, "as": []any{"side", "name"}},
			formula("col", "datum.side === 'src' ? datum.stage : datum.stage + 1"),
		}},
		map[string]any{"name": "nodes", "source": "nodeSides", "transform": []any{
			map[string]any{"type": "aggregate", "groupby": []any{"name", "col", "side"}, "fields": []any{"size"}, "ops": []any{"sum"}, "as": []any{"total"}},
			map[string]any{"type": "aggregate", "groupby": []any{"name", "col"}, "fields": []any{"total"}, "ops": []any{"max"}, "as": []any{"size"}},
			formula("label", "slice(datum.name, indexof(datum.name, '|') + 1)"),
			map[string]any{"type": "stack", "groupby": []any{"col"}, "field": "size",
				"sort": map[string]any{"field": "size", "order": "descending"}, "as": []any{"y0", "y1"}},
		}},
		map[string]any{"name": "links", "source": linkNames, "transform": []any{
			// Bands leave a node in the order of the nodes they go to,
			// and enter one in the order of the nodes they come from,
			// so that they do not cross at the nodes.
			map[string]any{"type": "lookup", "from": "nodes", "key": "name", "fields": []any{"src", "dst"}, "as": []any{"srcNode", "dstNode"}},
			map[string]any{"type": "stack", "groupby": []any{"src"}, "field": "size", "sort": map[string]any{"field": "dstNode.y0"}, "as": []any{"sy0", "sy1"}},
			map[string]any{"type": "stack", "groupby": []any{"dst"}, "field": "size", "sort": map[string]any{"field": "srcNode.y0"}, "as": []any{"ty0", "ty1"}},
			formula("sx", "scale('x', datum.stage) + nodeWidth"),
			formula("tx", "scale('x', datum.stage + 1)"),
			formula("sy", "scale('y', datum.srcNode.y0 + (datum.sy0 + datum.sy1) / 2)"),
			formula("ty", "scale('y', datum.dstNode.y0 + (datum.ty0 + datum.ty1) / 2)"),
			formula("thickness", "max(1, scale('y', datum.size) - scale('y', 0))"),
			formula("label", "slice(datum.src, indexof(datum.src, '|') + 1) + ' → ' + slice(datum.dst, indexof(datum.dst, '|') + 1)"),
			map[string]any{"type": "linkpath", "orient": "horizontal", "shape": "diagonal",
				"sourceX": "sx", "sourceY": "sy", "targetX": "tx", "targetY": "ty"},
		}},
	)
	spec := map[string]any{
		"$schema":     "https://vega.github.io/schema/vega/v5.json",
		"description": fmt.Sprintf("webjourney: visits along the first %d pages of their path to their outcome", steps),
		"padding":     5,
		"signals":     []any{map[string]any{"name": "nodeWidth", "value": 10}},
		"data":        data,
		"scales": []any{
			map[string]any{"name": "x", "type": "linear", "domain": []any{0, steps}, "range": []any{0, map[string]any{"signal": "width - 170"}}},
			map[string]any{"name": "y", "type": "linear", "domain": map[string]any{"data": "nodes", "field": "y1"}, "zero": true,
				"range": []any{0, map[string]any{"signal": "height"}}},
			// One colour per page, whatever its column.
			map[string]any{"name": "color", "type": "ordinal", "domain": map[string]any{"data": "nodes", "field": "label"}, "range": "category"},
		},
		"marks": []any{
			// clip: a band's stroke is as thick as its visit count, and
			// Vega counts a path's bounds as the path plus its stroke on
			// every side (twice, for miter joins); unclipped, Kibana's
			// autosize "fit" shrinks the whole chart to make room for them.
			map[string]any{"type": "path", "clip": true, "from": map[string]any{"data": "links"}, "encode": map[string]any{
				"update": map[string]any{
					"path":          map[string]any{"field": "path"},
					"stroke":        map[string]any{"signal": "datum.srcNode.label === '" + sankeyExit + "' ? '" + sankeyExitColor + "' : scale('color', datum.srcNode.label)"},
					"strokeWidth":   map[string]any{"field": "thickness"},
					"strokeOpacity": map[string]any{"value": 0.35},
					"tooltip":       map[string]any{"signal": "datum.label + ': ' + format(datum.size, ',') + ' visits'"},
				},
				"hover": map[string]any{"strokeOpacity": map[string]any{"value": 0.7}},
			}},
			map[string]any{"type": "rect", "from": map[string]any{"data": "nodes"}, "encode": map[string]any{"update": map[string]any{
				"x":       map[string]any{"scale": "x", "field": "col"},
				"width":   map[string]any{"signal": "nodeWidth"},
				"y":       map[string]any{"scale": "y", "field": "y0"},
				"y2":      map[string]any{"scale": "y", "field": "y1", "offset": -1},
				"fill":    map[string]any{"signal": "datum.label === '" + sankeyExit + "' ? '" + sankeyExitColor + "' : scale('color', datum.label)"},
				"tooltip": map[string]any{"signal": "datum.label + ': ' + format(datum.size, ',') + ' visits'"},
			}}},
			map[string]any{"type": "text", "from": map[string]any{"data": "nodes"}, "encode": map[string]any{"update": map[string]any{
				"x":        map[string]any{"scale": "x", "field": "col", "offset": 14},
				"y":        map[string]any{"signal": "(scale('y', datum.y0) + scale('y', datum.y1)) / 2"},
				"baseline": map[string]any{"value": "middle"},
				"text":     map[string]any{"field": "label"},
				"limit":    map[string]any{"value": 150},
				"fontSize": map[string]any{"value": 11},
			}}},
		},
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(out)
}

// sankeyExit is the node of visits that left before a step, drawn in
// sankeyExitColor (grey: no page).
const (
	sankeyExit      = "(exit)"
	sankeyExitColor = "#c8c8c8"
)
