package kibana

import (
	"encoding/json"
	"strconv"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// FunnelNoNextPage labels the abandoned funnel records after whose last
// step no page followed (webjourney.funnel.next_page is absent).
const FunnelNoNextPage = "(no further page)"

// FunnelsShown is how many funnels the funnel chart draws (the terms
// aggregation's size, funnels in name order).
const FunnelsShown = 20

// FunnelNextPagesShown is how many next pages the abandonment panel lists
// per funnel and last step (the most frequent; the rest are counted in its
// heading).
const FunnelNextPagesShown = 3

// FunnelStep is the value webjourney.funnel.reached and .last_step hold for
// the step at position n (1-based) named name: "NN name", so that sorting
// by value is sorting by position.
func FunnelStep(n int, name string) string {
	if n < 10 {
		return "0" + strconv.Itoa(n) + " " + name
	}
	return strconv.Itoa(n) + " " + name
}

func vegaFormula(as, expr string) map[string]any {
	return map[string]any{"type": "formula", "as": as, "expr": expr}
}

func marshalSpec(spec map[string]any) string {
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(out)
}

// FunnelSpec is the Vega spec of the funnel chart: for each funnel (in name
// order, one block each), a bar per step with the funnel records that
// reached it, labelled with the count, its share of step 1 (the records
// that entered) and the drop-off from the previous step, under a heading
// with the records that entered and completed. One terms aggregation on
// webjourney.funnel.name with a terms aggregation on
// webjourney.funnel.reached inside (every step a record reached, "NN name",
// so sorted by key the steps come in funnel order) is the whole chart: a
// record that reached step 3 counts in steps 1, 2 and 3. A step nobody
// reached has no bucket, and so no bar (the heading says how many steps
// the funnel has). %context% and %timefield% make the dashboard's time
// range (on entered_at, the record's @timestamp), query and filters apply.
func FunnelSpec(prefix string) string {
	data := []any{
		map[string]any{
			"name": "funnels",
			"url": map[string]any{
				"index":       journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyFunnels),
				"%context%":   true,
				"%timefield%": fieldTimestamp,
				"body": map[string]any{"size": 0, "aggs": map[string]any{"funnels": map[string]any{
					"terms": map[string]any{"field": em.AttrFunnelName, "size": FunnelsShown, "order": map[string]any{"_key": "asc"}},
					"aggs": map[string]any{
						"steps": map[string]any{"terms": map[string]any{
							"field": em.AttrFunnelReached, "size": em.MaxFunnelSteps, "order": map[string]any{"_key": "asc"},
						}},
						"completed":  map[string]any{"filter": map[string]any{"term": map[string]any{em.AttrFunnelCompleted: true}}},
						"step_count": map[string]any{"max": map[string]any{"field": em.AttrFunnelStepCount}},
					},
				}}},
			},
			"format": map[string]any{"property": "aggregations.funnels.buckets"},
			"transform": []any{
				vegaFormula("funnel", "datum.key"),
				vegaFormula("entered", "datum.doc_count"),
				vegaFormula("completed", "datum.completed.doc_count"),
				vegaFormula("stepCount", "datum.step_count.value"),
				vegaFormula("rate", "datum.entered > 0 ? datum.completed / datum.entered : 0"),
			},
		},
		map[string]any{
			"name":   "steps",
			"source": "funnels",
			"transform": []any{
				map[string]any{"type": "flatten", "fields": []any{"steps.buckets"}, "as": []any{"s"}},
				vegaFormula("label", "datum.s.key"),
				vegaFormula("step", "parseInt(substring(datum.s.key, 0, 2))"),
				vegaFormula("records", "datum.s.doc_count"),
				vegaFormula("ofFirst", "datum.entered > 0 ? datum.records / datum.entered : 0"),
				map[string]any{"type": "window", "groupby": []any{"funnel"}, "sort": map[string]any{"field": "step"},
					"ops": []any{"lag"}, "fields": []any{"records"}, "as": []any{"previous"}},
				vegaFormula("dropoff", "datum.step === 1 || !datum.previous ? 0 : 1 - datum.records / datum.previous"),
				vegaFormula("text", "format(datum.records, ',') + (datum.step === 1 ? ' entered' : "+
					"' · ' + format(datum.ofFirst, '.1%') + ' of step 1 · −' + format(datum.dropoff, '.1%') + ' from step ' + (datum.step - 1))"),
			},
		},
	}
	text := func(enc map[string]any) map[string]any {
		return map[string]any{"type": "text", "from": map[string]any{"data": "facet"}, "encode": map[string]any{"update": enc}}
	}
	group := map[string]any{
		"type": "group",
		"from": map[string]any{"facet": map[string]any{
			"name": "facet", "data": "steps", "groupby": "funnel",
			"aggregate": map[string]any{
				"fields": []any{"entered", "completed", "rate", "stepCount"},
				"ops":    []any{"max", "max", "max", "max"},
				"as":     []any{"entered", "completed", "rate", "stepCount"},
			},
		}},
		"encode": map[string]any{"update": map[string]any{
			"y":      map[string]any{"scale": "row", "field": "funnel"},
			"height": map[string]any{"scale": "row", "band": 1},
			"width":  map[string]any{"signal": "width"},
		}},
		"signals": []any{map[string]any{"name": "height", "update": "bandwidth('row')"}},
		"scales": []any{
			map[string]any{"name": "y", "type": "band", "domain": map[string]any{"data": "facet", "field": "label", "sort": true},
				"range": []any{18, map[string]any{"signal": "height"}}, "paddingInner": 0.2},
			map[string]any{"name": "x", "type": "linear", "domain": map[string]any{"data": "facet", "field": "records"}, "zero": true,
				"nice": false, "range": []any{map[string]any{"signal": "width * 0.24"}, map[string]any{"signal": "width * 0.64"}}},
		},
		"marks": []any{
			map[string]any{"type": "text", "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"value": 0}, "y": map[string]any{"value": 0}, "baseline": map[string]any{"value": "top"},
				"fontSize": map[string]any{"value": 13}, "fontWeight": map[string]any{"value": "bold"},
				"text": map[string]any{"signal": "parent.funnel + ': ' + format(parent.entered, ',') + ' entered, ' + " +
					"format(parent.completed, ',') + ' completed all ' + parent.stepCount + ' steps (' + format(parent.rate, '.1%') + ')'"},
			}}},
			map[string]any{"type": "rect", "from": map[string]any{"data": "facet"}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"scale": "x", "value": 0}, "x2": map[string]any{"scale": "x", "field": "records"},
				"y": map[string]any{"scale": "y", "field": "label"}, "height": map[string]any{"scale": "y", "band": 1},
				"fill":    map[string]any{"signal": "datum.step === parent.stepCount ? '#54b399' : '#6092c0'"},
				"tooltip": map[string]any{"signal": "parent.funnel + ', ' + datum.label + ': ' + datum.text"},
			}}},
			text(map[string]any{
				"x": map[string]any{"signal": "width * 0.23"}, "y": map[string]any{"scale": "y", "field": "label", "band": 0.5},
				"align": map[string]any{"value": "right"}, "baseline": map[string]any{"value": "middle"},
				"fontSize": map[string]any{"value": 11}, "text": map[string]any{"field": "label"}, "limit": map[string]any{"signal": "width * 0.22"},
			}),
			text(map[string]any{
				"x": map[string]any{"scale": "x", "field": "records", "offset": 5}, "y": map[string]any{"scale": "y", "field": "label", "band": 0.5},
				"baseline": map[string]any{"value": "middle"}, "fontSize": map[string]any{"value": 11},
				"text": map[string]any{"field": "text"},
			}),
		},
	}
	return marshalSpec(map[string]any{
		"$schema":     "https://vega.github.io/schema/vega/v5.json",
		"description": "webjourney: funnels, records per step with the share of step 1 and the drop-off from the previous step",
		"padding":     5,
		"data":        data,
		"scales": []any{
			map[string]any{"name": "row", "type": "band", "domain": map[string]any{"data": "funnels", "field": "funnel", "sort": true},
				"range": "height", "paddingInner": 0.12},
		},
		"marks": []any{group},
	})
}

// FunnelNextSpec is the Vega spec of the abandonment panel ("where did
// they go next"): for each funnel and the last step its abandoned records
// reached (webjourney.funnel.completed false), the pages viewed next
// (webjourney.funnel.next_page, FunnelNoNextPage when none followed) with
// their records and share. One filter aggregation (a body beside
// %context% may not have a query of its own) with nested terms
// aggregations on name, last_step (sorted by key: step order) and
// next_page (its missing value labelled) is the whole table.
func FunnelNextSpec(prefix string) string {
	data := []any{
		map[string]any{
			"name": "next",
			"url": map[string]any{
				"index":       journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyFunnels),
				"%context%":   true,
				"%timefield%": fieldTimestamp,
				"body": map[string]any{"size": 0, "aggs": map[string]any{"abandoned": map[string]any{
					"filter": map[string]any{"term": map[string]any{em.AttrFunnelCompleted: false}},
					"aggs": map[string]any{"funnels": map[string]any{
						"terms": map[string]any{"field": em.AttrFunnelName, "size": FunnelsShown, "order": map[string]any{"_key": "asc"}},
						"aggs": map[string]any{"last": map[string]any{
							"terms": map[string]any{"field": em.AttrFunnelLastStep, "size": em.MaxFunnelSteps, "order": map[string]any{"_key": "asc"}},
							"aggs": map[string]any{"pages": map[string]any{"terms": map[string]any{
								"field": em.AttrFunnelNextPage, "size": FunnelNextPagesShown, "missing": FunnelNoNextPage,
								"order": []any{map[string]any{"_count": "desc"}, map[string]any{"_key": "asc"}},
							}}},
						}},
					}},
				}}},
			},
			"format": map[string]any{"property": "aggregations.abandoned.funnels.buckets"},
			"transform": []any{
				map[string]any{"type": "flatten", "fields": []any{"last.buckets"}, "as": []any{"l"}},
				map[string]any{"type": "flatten", "fields": []any{"l.pages.buckets"}, "as": []any{"p"}},
				vegaFormula("funnel", "datum.key"),
				vegaFormula("lastStep", "datum.l.key"),
				vegaFormula("abandoned", "datum.l.doc_count"),
				vegaFormula("others", "datum.l.pages.sum_other_doc_count"),
				vegaFormula("page", "datum.p.key"),
				vegaFormula("records", "datum.p.doc_count"),
				vegaFormula("share", "datum.abandoned > 0 ? datum.records / datum.abandoned : 0"),
				vegaFormula("kind", "1"),
			},
		},
		map[string]any{
			"name": "headings", "source": "next",
			"transform": []any{
				map[string]any{"type": "aggregate", "groupby": []any{"funnel", "lastStep", "abandoned", "others"}},
				vegaFormula("kind", "0"),
				vegaFormula("records", "0"),
				vegaFormula("text", "datum.funnel + ', abandoned after ' + datum.lastStep + ': ' + format(datum.abandoned, ',') + "+
					"(datum.others > 0 ? ' (' + format(datum.others, ',') + ' went to other pages)' : '')"),
			},
		},
		map[string]any{
			"name": "rows", "source": []any{"headings", "next"},
			"transform": []any{
				map[string]any{"type": "window", "sort": map[string]any{
					"field": []any{"funnel", "lastStep", "kind", "records", "page"},
					"order": []any{"ascending", "ascending", "ascending", "descending", "ascending"},
				}, "ops": []any{"row_number"}, "as": []any{"row"}},
			},
		},
		map[string]any{"name": "headingRows", "source": "rows", "transform": []any{map[string]any{"type": "filter", "expr": "datum.kind === 0"}}},
		map[string]any{"name": "pageRows", "source": "rows", "transform": []any{map[string]any{"type": "filter", "expr": "datum.kind === 1"}}},
	}
	return marshalSpec(map[string]any{
		"$schema":     "https://vega.github.io/schema/vega/v5.json",
		"description": "webjourney: funnels, where the abandoned records went next after their last step",
		"padding":     5,
		"data":        data,
		"scales": []any{
			map[string]any{"name": "y", "type": "band", "domain": map[string]any{"data": "rows", "field": "row", "sort": true},
				"range": "height", "paddingInner": 0.1},
			map[string]any{"name": "x", "type": "linear", "domain": []any{0, 1}, "zero": true,
				"range": []any{map[string]any{"signal": "width * 0.45"}, map[string]any{"signal": "width * 0.8"}}},
		},
		"marks": []any{
			map[string]any{"type": "text", "from": map[string]any{"data": "headingRows"}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"value": 0}, "y": map[string]any{"scale": "y", "field": "row", "band": 0.5},
				"baseline": map[string]any{"value": "middle"}, "fontSize": map[string]any{"value": 12}, "fontWeight": map[string]any{"value": "bold"},
				"text": map[string]any{"field": "text"},
			}}},
			map[string]any{"type": "text", "from": map[string]any{"data": "pageRows"}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"value": 16}, "y": map[string]any{"scale": "y", "field": "row", "band": 0.5},
				"baseline": map[string]any{"value": "middle"}, "fontSize": map[string]any{"value": 11},
				"text": map[string]any{"signal": "'→ ' + datum.page"}, "limit": map[string]any{"signal": "width * 0.42"},
				"fontStyle": map[string]any{"signal": "datum.page === '" + FunnelNoNextPage + "' ? 'italic' : 'normal'"},
			}}},
			map[string]any{"type": "rect", "from": map[string]any{"data": "pageRows"}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"scale": "x", "value": 0}, "x2": map[string]any{"scale": "x", "field": "share"},
				"y": map[string]any{"scale": "y", "field": "row"}, "height": map[string]any{"scale": "y", "band": 1},
				"fill":    map[string]any{"signal": "datum.page === '" + FunnelNoNextPage + "' ? '#d36086' : '#6092c0'"},
				"tooltip": map[string]any{"signal": "datum.funnel + ', after ' + datum.lastStep + ' → ' + datum.page + ': ' + format(datum.records, ',')"},
			}}},
			map[string]any{"type": "text", "from": map[string]any{"data": "pageRows"}, "encode": map[string]any{"update": map[string]any{
				"x": map[string]any{"scale": "x", "field": "share", "offset": 5}, "y": map[string]any{"scale": "y", "field": "row", "band": 0.5},
				"baseline": map[string]any{"value": "middle"}, "fontSize": map[string]any{"value": 11},
				"text": map[string]any{"signal": "format(datum.records, ',') + ' (' + format(datum.share, '.1%') + ')'"},
			}}},
		},
	})
}

// funnelStepTimes are the median-time columns of the funnels dashboard:
// one per step after the first (the 50th percentile of
// webjourney.funnel.step_N.after_ms over the records that reached step N).
func funnelStepTimes() []column {
	var out []column
	for n := 2; n <= em.MaxFunnelSteps; n++ {
		out = append(out, metric("median", "after"+strconv.Itoa(n),
			"Step "+strconv.Itoa(n-1)+" → "+strconv.Itoa(n), em.AttrFunnelStepAfter[n-1], ""))
	}
	return out
}

func funnelsDashboard() dashboardDef {
	qCompleted := em.AttrFunnelCompleted + " : true"
	funnel := func() column { return terms("funnel", "Funnel", em.AttrFunnelName, FunnelsShown, "entered") }
	entered := func() column { return count("entered", "Entered", "") }
	completed := func() column { return count("completed", "Completed", qCompleted) }
	rate := func() column { return ratio("rate", "Completion rate", qCompleted, "") }
	times := append([]column{funnel(), entered(),
		metric("median", "total", "Median time to complete", em.AttrFunnelDuration, qCompleted)}, funnelStepTimes()...)
	return dashboardDef{
		id: DashboardFunnels, title: "[webjourney] Funnels",
		description: "Funnels defined in the attribution processor: records per step and drop-off, conversion by channel and device, median time between steps, where abandoned visitors went next.",
		about: "### Funnels\nHow visitors move through the funnels defined in the attribution processor (`funnels`): one " +
			"record per visitor and funnel (`" + defaultLayout.Index(journeystore.FamilyFunnels) + "`), its **best attempt** " +
			"(the furthest step reached, the earliest such attempt), timed by its first step. The **funnel chart** shows the " +
			"records that reached each step, their share of step 1 and the **drop-off** from the previous step (a step nobody " +
			"reached has no bar); funnels of scope `visit` count a visitor's steps within one visit, scope `visitor` across visits " +
			"within the funnel's window, order `strict` ends an attempt when another step of the funnel comes in between. " +
			"**Conversion** by channel and device uses the entry channel of the visit and the device of the attempt's first step. " +
			"**Median time between steps** counts from step N-1 to step N over the records that reached step N. **Where did they go next** " +
			"lists, for records not completed, the first page viewed after their last step in the same visit (" + FunnelNoNextPage + " when none).",
		timeFrom: "now-30d",
		panels: []panel{
			{key: "chart", w: 48, h: 22, refType: "visualization", refID: VisFunnels},
			lp("bychannel", 24, 14, tablePanel("Conversion by channel", DataViewFunnels, "", nil,
				funnel(), terms("medium", "Medium", em.AttrChannelMedium, 10, "entered"),
				terms("source", "Source", em.AttrChannelSource, 10, "entered"), entered(), completed(), rate())),
			lp("bydevice", 24, 14, tablePanel("Conversion by device", DataViewFunnels, "", nil,
				funnel(), terms("device", "Device", em.AttrDeviceClass, 5, "entered"), entered(), completed(), rate())),
			lp("steptimes", 48, 10, tablePanel("Median time between steps", DataViewFunnels, "", nil, times...)),
			{key: "next", w: 48, h: 30, refType: "visualization", refID: VisFunnelNext},
		},
	}
}
