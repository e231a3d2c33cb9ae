package kibana

import (
	"encoding/json"
	"strconv"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// RetentionWeeks is how many weeks after the first one the retention
// heatmap shows (later returns are left out of the picture, not the data).
const RetentionWeeks = 12

// RetentionSpec is the Vega spec of the retention heatmap: visitors by the
// week they were first seen (rows) × whole weeks since (columns), each cell
// the share of the row's visitors who had a visit in that week. It reads
// only the visits index: every visit record carries its visitor's
// first_seen and webjourney.visit.weeks_since_first_seen, so one date
// histogram (weekly on first_seen) with a terms aggregation on the weeks
// and a distinct count of visitor ids per cell is the whole table; the
// cohort's size is its week 0. Anonymous (cookieless) visits have no
// visitor id and are not counted: a visitor who is not recognised on
// return cannot be retained.
//
// The dashboard's time range applies to first_seen (%timefield%), so it
// selects cohorts, and each cohort's later visits count whenever they
// were; its query and filters apply to the visits (e.g.
// webjourney.visitor.first_touch.medium or webjourney.visitor.partner to
// compare the cohorts of one first channel or partner). Distinct counts
// are exact up to 40,000 visitors per cell (precision_threshold), and
// approximate above.
func RetentionSpec(prefix string) string {
	formula := func(as, expr string) map[string]any {
		return map[string]any{"type": "formula", "as": as, "expr": expr}
	}
	data := []any{
		map[string]any{
			"name": "cells",
			"url": map[string]any{
				"index":       journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyVisits),
				"%context%":   true,
				"%timefield%": em.AttrVisitorFirstSeen,
				"body": map[string]any{"size": 0, "aggs": map[string]any{"cohorts": map[string]any{
					"date_histogram": map[string]any{"field": em.AttrVisitorFirstSeen, "calendar_interval": "week", "min_doc_count": 1},
					"aggs": map[string]any{"weeks": map[string]any{
						"terms": map[string]any{"field": em.AttrVisitWeeksSinceFirstSeen, "size": RetentionWeeks + 1, "order": map[string]any{"_key": "asc"}},
						"aggs": map[string]any{"visitors": map[string]any{"cardinality": map[string]any{
							"field": em.AttrVisitorID, "precision_threshold": 40000,
						}}},
					}},
				}}},
			},
			"format": map[string]any{"property": "aggregations.cohorts.buckets"},
			"transform": []any{
				map[string]any{"type": "flatten", "fields": []any{"weeks.buckets"}, "as": []any{"w"}},
				formula("cohort", "utcFormat(datum.key, '%Y-%m-%d')"),
				formula("week", "datum.w.key"),
				formula("visitors", "datum.w.visitors.value"),
				map[string]any{"type": "filter", "expr": "datum.visitors > 0 && datum.week <= " + strconv.Itoa(RetentionWeeks)},
				formula("first", "datum.week === 0 ? datum.visitors : 0"),
				map[string]any{"type": "joinaggregate", "groupby": []any{"cohort"}, "fields": []any{"first"}, "ops": []any{"sum"}, "as": []any{"size"}},
				// A cohort whose week 0 lies outside the data (filtered
				// out) has no size: its shares would be meaningless.
				map[string]any{"type": "filter", "expr": "datum.size > 0"},
				formula("share", "datum.visitors / datum.size"),
			},
		},
	}
	cellText := "datum.week === 0 ? format(datum.visitors, ',') : format(datum.share, '.0%')"
	spec := map[string]any{
		"$schema":     "https://vega.github.io/schema/vega/v5.json",
		"description": "webjourney: retention, visitors by first-seen week × weeks since (share of the cohort with a visit that week)",
		"padding":     5,
		"data":        data,
		"scales": []any{
			map[string]any{"name": "x", "type": "band", "domain": map[string]any{"data": "cells", "field": "week", "sort": true},
				"range": "width", "padding": 0.04},
			map[string]any{"name": "y", "type": "band", "domain": map[string]any{"data": "cells", "field": "cohort", "sort": true},
				"range": "height", "padding": 0.04},
			map[string]any{"name": "color", "type": "linear", "domain": []any{0, 1}, "range": map[string]any{"scheme": "blues"}, "zero": true},
		},
		"axes": []any{
			map[string]any{"orient": "top", "scale": "x", "title": "Weeks since first seen (week 0: cohort size)", "labelFontSize": 11},
			map[string]any{"orient": "left", "scale": "y", "title": "First seen (week of)", "labelFontSize": 11},
		},
		"marks": []any{
			map[string]any{"type": "rect", "from": map[string]any{"data": "cells"}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"scale": "x", "field": "week"}, "width": map[string]any{"scale": "x", "band": 1},
				"y": map[string]any{"scale": "y", "field": "cohort"}, "height": map[string]any{"scale": "y", "band": 1},
				"fill":    map[string]any{"signal": "datum.week === 0 ? '#d3dae6' : scale('color', datum.share)"},
				"tooltip": map[string]any{"signal": "'Cohort ' + datum.cohort + ', week ' + datum.week + ': ' + format(datum.visitors, ',') + ' of ' + format(datum.size, ',') + ' visitors (' + format(datum.share, '.1%') + ')'"},
			}}},
			map[string]any{"type": "text", "from": map[string]any{"data": "cells"}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"scale": "x", "field": "week", "band": 0.5}, "y": map[string]any{"scale": "y", "field": "cohort", "band": 0.5},
				"align": map[string]any{"value": "center"}, "baseline": map[string]any{"value": "middle"}, "fontSize": map[string]any{"value": 11},
				"text": map[string]any{"signal": cellText},
				"fill": map[string]any{"signal": "datum.week > 0 && datum.share > 0.5 ? 'white' : 'black'"},
			}}},
		},
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(out)
}
