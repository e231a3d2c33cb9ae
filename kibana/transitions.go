package kibana

import (
	"encoding/json"
	"strconv"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// TransitionsPage is the page the Journeys dashboard's Transitions panel
// opens on; its Page box changes it.
const TransitionsPage = "/"

// transitionsShown is how many previous and next entries the panel draws
// on each side (the rest are summed into its totals).
const transitionsShown = 12

// TransitionsSpec is the Vega spec of the Transitions panel (Matomo's
// Transitions): for one page, where visits came to it from (the previous
// page, or the channel medium of the visit's entrance, in parentheses) and
// where they went next (the next page, or "(exit)"). One terms aggregation
// on webjourney.visit.transitions (each visit's moves along its path as
// "from → to", a set per visit) gives the visits per move; Vega splits the
// moves and keeps those into and out of the page, which the panel's Page
// box (a Vega signal bound to a text input) sets, page being its initial
// value. %context% and %timefield% make the dashboard's time range, query
// and filters apply (a filter on webjourney.visit.step_1, for one, narrows
// it to visits that landed on a page). Moves come from the visits' paths,
// so from their first journey::path_length pages.
func TransitionsSpec(prefix, page string) string {
	formula := func(as, expr string) map[string]any {
		return map[string]any{"type": "formula", "as": as, "expr": expr}
	}
	side := func(name, match, other string) []any {
		all := map[string]any{"name": name, "source": "moves", "transform": []any{
			map[string]any{"type": "filter", "expr": "datum." + match + " === page"},
			formula("name", "datum."+other),
			map[string]any{"type": "window", "sort": map[string]any{"field": []any{"visits", "name"}, "order": []any{"descending", "ascending"}},
				"ops": []any{"row_number"}, "as": []any{"rank"}},
		}}
		shown := map[string]any{"name": name + "Shown", "source": name, "transform": []any{
			map[string]any{"type": "filter", "expr": "datum.rank <= " + strconv.Itoa(transitionsShown)},
		}}
		return []any{all, shown}
	}
	data := []any{map[string]any{
		"name": "moves",
		"url": map[string]any{
			"index":       journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyVisits),
			"%context%":   true,
			"%timefield%": fieldTimestamp,
			"body": map[string]any{"size": 0, "aggs": map[string]any{"moves": map[string]any{"terms": map[string]any{
				"field": em.AttrVisitTransitions, "size": 10000,
			}}}},
		},
		"format": map[string]any{"property": "aggregations.moves.buckets"},
		"transform": []any{
			formula("from", "split(datum.key, ' → ')[0]"),
			formula("to", "split(datum.key, ' → ')[1]"),
			formula("visits", "datum.doc_count"),
		},
	}}
	data = append(data, side("previous", "to", "from")...)
	data = append(data, side("next", "from", "to")...)
	total := func(name, from string) map[string]any {
		return map[string]any{"name": name, "source": from, "transform": []any{
			map[string]any{"type": "aggregate", "fields": []any{"visits"}, "ops": []any{"sum"}, "as": []any{"visits"}},
		}}
	}
	data = append(data, total("previousTotal", "previous"), total("nextTotal", "next"))

	// Each side is a column of bars: label, bar (length by visits), count.
	bars := func(from, scaleY string, left bool) []any {
		x0 := "width * 0.01"
		if !left {
			x0 = "width * 0.59"
		}
		text := func(x, align string, field map[string]any) map[string]any {
			return map[string]any{"type": "text", "from": map[string]any{"data": from}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"signal": x}, "y": map[string]any{"scale": scaleY, "field": "name", "band": 0.5},
				"baseline": map[string]any{"value": "middle"}, "align": map[string]any{"value": align},
				"text": field, "fontSize": map[string]any{"value": 11}, "limit": map[string]any{"signal": "width * 0.16"},
			}}}
		}
		return []any{
			text(x0, "left", map[string]any{"field": "name"}),
			map[string]any{"type": "rect", "from": map[string]any{"data": from}, "encode": map[string]any{"update": map[string]any{
				"x":       map[string]any{"signal": x0 + " + width * 0.18"},
				"width":   map[string]any{"scale": "length", "field": "visits"},
				"y":       map[string]any{"scale": scaleY, "field": "name"},
				"height":  map[string]any{"scale": scaleY, "band": 1},
				"fill":    map[string]any{"value": map[bool]string{true: "#6092c0", false: "#d6bf57"}[left]},
				"tooltip": map[string]any{"signal": "datum.name + ': ' + format(datum.visits, ',') + ' visits'"},
			}}},
			text(x0+" + width * 0.18 + scale('length', datum.visits) + 4", "left",
				map[string]any{"signal": "format(datum.visits, ',')"}),
		}
	}
	band := func(name, from string) map[string]any {
		return map[string]any{"name": name, "type": "band", "padding": 0.15,
			"domain": map[string]any{"data": from, "field": "name", "sort": map[string]any{"field": "rank", "op": "min"}},
			"range":  []any{24, map[string]any{"signal": "height"}}}
	}
	heading := func(x, text string) map[string]any {
		return map[string]any{"type": "text", "encode": map[string]any{"update": map[string]any{
			"x": map[string]any{"signal": x}, "y": map[string]any{"value": 8}, "fontWeight": map[string]any{"value": "bold"},
			"text": map[string]any{"signal": text}, "fontSize": map[string]any{"value": 12},
		}}}
	}
	marks := []any{
		heading("width * 0.01", "'Came from (page or entrance channel): ' + format(length(data('previousTotal')) ? data('previousTotal')[0].visits || 0 : 0, ',') + ' visits'"),
		heading("width * 0.59", "'Went to (page or exit): ' + format(length(data('nextTotal')) ? data('nextTotal')[0].visits || 0 : 0, ',') + ' visits'"),
		map[string]any{"type": "rect", "encode": map[string]any{"update": map[string]any{
			"x": map[string]any{"signal": "width * 0.46"}, "x2": map[string]any{"signal": "width * 0.54"},
			"y": map[string]any{"value": 24}, "y2": map[string]any{"signal": "height"},
			"fill": map[string]any{"value": "#54b399"}, "opacity": map[string]any{"value": 0.8},
		}}},
		map[string]any{"type": "text", "encode": map[string]any{"update": map[string]any{
			"x": map[string]any{"signal": "width * 0.5"}, "y": map[string]any{"signal": "(height + 24) / 2"},
			"align": map[string]any{"value": "center"}, "baseline": map[string]any{"value": "middle"}, "angle": map[string]any{"value": -90},
			"text": map[string]any{"signal": "page"}, "fontSize": map[string]any{"value": 14}, "fontWeight": map[string]any{"value": "bold"},
			"limit": map[string]any{"signal": "height - 30"},
		}}},
	}
	marks = append(marks, bars("previousShown", "yPrevious", true)...)
	marks = append(marks, bars("nextShown", "yNext", false)...)
	spec := map[string]any{
		"$schema":     "https://vega.github.io/schema/vega/v5.json",
		"description": "webjourney: transitions of one page, from the previous pages and entrance channels to the next pages and exits",
		"padding":     5,
		"signals": []any{map[string]any{"name": "page", "value": page,
			"bind": map[string]any{"input": "text", "name": "Page "}}},
		"data": data,
		"scales": []any{
			band("yPrevious", "previousShown"),
			band("yNext", "nextShown"),
			map[string]any{"name": "length", "type": "linear", "zero": true, "nice": false,
				"domain": map[string]any{"fields": []any{
					map[string]any{"data": "previousShown", "field": "visits"},
					map[string]any{"data": "nextShown", "field": "visits"},
				}},
				"range": []any{0, map[string]any{"signal": "width * 0.14"}}},
		},
		"marks": marks,
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(out)
}
