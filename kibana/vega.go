package kibana

import (
	"encoding/json"
	"strconv"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// SankeySpec is the Vega spec of the journeys Sankey: visits flow from their
// landing page to the page they viewed next ("one page" when there was
// none), to their exit page and on to the outcome they achieved (or "no
// outcome"). One composite aggregation on the visits index gives the visit
// count per (landing, second, exit, outcome); Vega derives the link sets,
// stacks the nodes per column and draws each link as a band whose width is
// its visit count. %context% and %timefield% make the dashboard's time range,
// query and filters apply. A visit with several outcomes counts once per
// outcome. prefix is the exporter's index_prefix.
func SankeySpec(prefix string) string {
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
	links := func(name, from, to string, stage int) map[string]any {
		return map[string]any{"name": name, "source": "visits", "transform": []any{
			map[string]any{"type": "aggregate", "groupby": []any{from, to}, "fields": []any{"visits"}, "ops": []any{"sum"}, "as": []any{"size"}},
			formula("src", "datum."+from),
			formula("dst", "datum."+to),
			formula("stage", strconv.Itoa(stage)),
		}}
	}
	spec := map[string]any{
		"$schema":     "https://vega.github.io/schema/vega/v5.json",
		"description": "webjourney: visits from landing page to next page to exit page to outcome",
		"padding":     5,
		"signals":     []any{map[string]any{"name": "nodeWidth", "value": 10}},
		"data": []any{
			map[string]any{
				"name": "visits",
				"url": map[string]any{
					"index":       journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyVisits),
					"%context%":   true,
					"%timefield%": fieldTimestamp,
					"body": map[string]any{"size": 0, "aggs": map[string]any{"paths": map[string]any{"composite": map[string]any{
						"size": 10000,
						"sources": []any{
							agg("landing", em.AttrVisitLandingPage, false),
							agg("second", em.AttrVisitSecondPage, true),
							agg("exit", em.AttrVisitExitPage, false),
							agg("outcome", em.AttrVisitOutcomes, true),
						},
					}}}},
				},
				"format": map[string]any{"property": "aggregations.paths.buckets"},
				"transform": []any{
					// Each column's names are distinct from the others' (a
					// page is a node in several columns).
					formula("landing", "datum.key.landing"),
					formula("second", "datum.key.second ? 'then ' + datum.key.second : '(one page)'"),
					formula("exit", "'exit ' + datum.key.exit"),
					formula("outcome", "datum.key.outcome ? 'outcome: ' + datum.key.outcome : 'no outcome'"),
					formula("visits", "datum.doc_count"),
				},
			},
			links("entryLinks", "landing", "second", 0),
			links("nextLinks", "second", "exit", 1),
			links("exitLinks", "exit", "outcome", 2),
			map[string]any{"name": "nodeSides", "source": []any{"entryLinks", "nextLinks", "exitLinks"}, "transform": []any{
				map[string]any{"type": "fold", "fields": []any{"src", "dst"}, "as": []any{"side", "name"}},
				formula("col", "datum.side === 'src' ? datum.stage : datum.stage + 1"),
			}},
			map[string]any{"name": "nodes", "source": "nodeSides", "transform": []any{
				map[string]any{"type": "aggregate", "groupby": []any{"name", "col", "side"}, "fields": []any{"size"}, "ops": []any{"sum"}, "as": []any{"total"}},
				map[string]any{"type": "aggregate", "groupby": []any{"name", "col"}, "fields": []any{"total"}, "ops": []any{"max"}, "as": []any{"size"}},
				map[string]any{"type": "stack", "groupby": []any{"col"}, "field": "size",
					"sort": map[string]any{"field": "size", "order": "descending"}, "as": []any{"y0", "y1"}},
			}},
			map[string]any{"name": "links", "source": []any{"entryLinks", "nextLinks", "exitLinks"}, "transform": []any{
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
				map[string]any{"type": "linkpath", "orient": "horizontal", "shape": "diagonal",
					"sourceX": "sx", "sourceY": "sy", "targetX": "tx", "targetY": "ty"},
			}},
		},
		"scales": []any{
			map[string]any{"name": "x", "type": "linear", "domain": []any{0, 3}, "range": []any{0, map[string]any{"signal": "width - 170"}}},
			map[string]any{"name": "y", "type": "linear", "domain": map[string]any{"data": "nodes", "field": "y1"}, "zero": true,
				"range": []any{0, map[string]any{"signal": "height"}}},
			map[string]any{"name": "color", "type": "ordinal", "domain": map[string]any{"data": "nodes", "field": "name"}, "range": "category"},
		},
		"marks": []any{
			// clip: a band's stroke is as thick as its visit count, and
			// Vega counts a path's bounds as the path plus its stroke on
			// every side (twice, for miter joins); unclipped, Kibana's
			// autosize "fit" shrinks the whole chart to make room for them.
			map[string]any{"type": "path", "clip": true, "from": map[string]any{"data": "links"}, "encode": map[string]any{
				"update": map[string]any{
					"path":          map[string]any{"field": "path"},
					"stroke":        map[string]any{"scale": "color", "field": "src"},
					"strokeWidth":   map[string]any{"field": "thickness"},
					"strokeOpacity": map[string]any{"value": 0.35},
					"tooltip":       map[string]any{"signal": "datum.src + ' → ' + datum.dst + ': ' + format(datum.size, ',') + ' visits'"},
				},
				"hover": map[string]any{"strokeOpacity": map[string]any{"value": 0.7}},
			}},
			map[string]any{"type": "rect", "from": map[string]any{"data": "nodes"}, "encode": map[string]any{"update": map[string]any{
				"x":       map[string]any{"scale": "x", "field": "col"},
				"width":   map[string]any{"signal": "nodeWidth"},
				"y":       map[string]any{"scale": "y", "field": "y0"},
				"y2":      map[string]any{"scale": "y", "field": "y1", "offset": -1},
				"fill":    map[string]any{"scale": "color", "field": "name"},
				"tooltip": map[string]any{"signal": "datum.name + ': ' + format(datum.size, ',') + ' visits'"},
			}}},
			map[string]any{"type": "text", "from": map[string]any{"data": "nodes"}, "encode": map[string]any{"update": map[string]any{
				"x":        map[string]any{"scale": "x", "field": "col", "offset": 14},
				"y":        map[string]any{"signal": "(scale('y', datum.y0) + scale('y', datum.y1)) / 2"},
				"baseline": map[string]any{"value": "middle"},
				"text":     map[string]any{"field": "name"},
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
