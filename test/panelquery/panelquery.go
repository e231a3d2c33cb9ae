// Package panelquery runs, on a real Elasticsearch, the queries a shipped
// Kibana panel makes (read from the same definitions that generate the
// saved objects), so tests can compare each panel's numbers with what
// their seed implies: Lens panels (Run), the data sets of Vega specs
// (VegaValues) and the Vega specs rendered (RenderVega).
package panelquery // import "github.com/webjourney/webjourney/test/panelquery"

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/kibana"
	"github.com/webjourney/webjourney/test/testenv"
	"github.com/webjourney/webjourney/test/vegarender"
)

// KQL translates the KQL the dashboards use: clauses joined by "and",
// each `field : *`, `field : true|false`, `field : "v"`, `field : 0` (a
// number) or `field : ("a" or "b")`.
func KQL(t testing.TB, q string) map[string]any {
	t.Helper()
	q = strings.TrimSpace(q)
	if q == "" {
		return map[string]any{"match_all": map[string]any{}}
	}
	var filters []any
	for _, clause := range strings.Split(q, " and ") {
		field, value, ok := strings.Cut(clause, " : ")
		if !ok {
			t.Fatalf("KQL %q: clause %q is not field : value", q, clause)
		}
		field, value = strings.TrimSpace(field), strings.TrimSpace(value)
		switch {
		case value == "*":
			filters = append(filters, map[string]any{"exists": map[string]any{"field": field}})
		case value == "true" || value == "false":
			filters = append(filters, map[string]any{"term": map[string]any{field: value == "true"}})
		case strings.HasPrefix(value, "(") && strings.HasSuffix(value, ")"):
			var vals []string
			for _, v := range strings.Split(strings.Trim(value, "()"), " or ") {
				vals = append(vals, strings.Trim(strings.TrimSpace(v), `"`))
			}
			filters = append(filters, map[string]any{"terms": map[string]any{field: vals}})
		case strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`):
			filters = append(filters, map[string]any{"term": map[string]any{field: strings.Trim(value, `"`)}})
		case isNumber(value):
			filters = append(filters, map[string]any{"term": map[string]any{field: json.Number(value)}})
		default:
			t.Fatalf("KQL %q: value %q not understood by this test", q, value)
		}
	}
	return map[string]any{"bool": map[string]any{"filter": filters}}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// metricAggs adds the aggregations of a metric column (and of a formula's
// parts) to aggs.
func metricAggs(t testing.TB, c kibana.ColumnSpec, aggs map[string]any) {
	if c.Operation == "formula" {
		for _, p := range c.Parts {
			metricAggs(t, p, aggs)
		}
		return
	}
	var inner map[string]any
	switch c.Operation {
	case "count":
		inner = nil
	case "sum":
		inner = map[string]any{"sum": map[string]any{"field": c.Field}}
	case "average":
		inner = map[string]any{"avg": map[string]any{"field": c.Field}}
	case "unique_count":
		inner = map[string]any{"cardinality": map[string]any{"field": c.Field, "precision_threshold": 40000}}
	case "max", "min":
		inner = map[string]any{c.Operation: map[string]any{"field": c.Field}}
	case "median":
		inner = map[string]any{"percentiles": map[string]any{"field": c.Field, "percents": []any{50}}}
	default:
		t.Fatalf("metric %s (%s) not understood by this test", c.ID, c.Operation)
	}
	agg := map[string]any{"filter": KQL(t, c.Filter)}
	if inner != nil {
		agg["aggs"] = map[string]any{"v": inner}
	}
	aggs["m_"+c.ID] = agg
}

// metricValue reads a metric column from a bucket of the answer.
func metricValue(c kibana.ColumnSpec, b map[string]any) (float64, bool) {
	if c.Operation == "formula" {
		var vals []float64
		for _, p := range c.Parts {
			v, ok := metricValue(p, b)
			if !ok {
				return 0, false
			}
			vals = append(vals, v)
		}
		switch c.Combine {
		case "divide":
			return vals[0] / vals[1], true
		case "add":
			sum := 0.0
			for _, v := range vals {
				sum += v
			}
			return sum, true
		}
		return 0, false
	}
	m, ok := b["m_"+c.ID].(map[string]any)
	if !ok {
		return 0, false
	}
	if c.Operation == "count" {
		return m["doc_count"].(float64), true
	}
	if c.Operation == "median" {
		v, ok := m["v"].(map[string]any)["values"].(map[string]any)["50.0"].(float64)
		return v, ok
	}
	v, _ := m["v"].(map[string]any)["value"].(float64)
	return v, true
}

// Do sends a request with a JSON body to Elasticsearch and returns the
// status and the answer.
type Do func(method, path string, body any) (int, []byte)

// Run runs the Elasticsearch query equivalent to a Lens panel: the
// panel's KQL, its bucket columns as nested aggregations (terms, and a date
// histogram in hours, keyed "2006-01-02T15" UTC, where Lens picks an
// interval for the time range shown), and its metric columns in each
// bucket. It returns row key -> column id -> value.
func Run(t testing.TB, do Do, prefix string, p kibana.PanelSpec) map[string]map[string]float64 {
	t.Helper()
	var buckets, metrics []kibana.ColumnSpec
	for _, c := range p.Columns {
		switch {
		case c.Operation == "terms" || c.Operation == "date_histogram":
			buckets = append(buckets, c)
		case c.Bucketed:
			t.Fatalf("panel %s/%s: bucket column %s (%s) not understood by this test", p.Dashboard, p.Key, c.ID, c.Operation)
		default:
			metrics = append(metrics, c)
		}
	}
	leaf := map[string]any{}
	for _, m := range metrics {
		metricAggs(t, m, leaf)
	}
	aggs := leaf
	for i := len(buckets) - 1; i >= 0; i-- {
		b := map[string]any{"terms": map[string]any{"field": buckets[i].Field, "size": buckets[i].Size}, "aggs": aggs}
		if buckets[i].Operation == "date_histogram" {
			b = map[string]any{"date_histogram": map[string]any{"field": buckets[i].Field, "fixed_interval": "1h",
				"format": "yyyy-MM-dd'T'HH", "time_zone": "UTC", "min_doc_count": 1}, "aggs": aggs}
		}
		aggs = map[string]any{fmt.Sprintf("b%d", i): b}
	}
	index := kibana.DataViewIndex(p.DataView, prefix)
	status, body := do(http.MethodPost, "/"+index+"/_search?ignore_unavailable=true&allow_no_indices=true",
		map[string]any{"size": 0, "track_total_hits": true, "query": KQL(t, p.Query), "aggs": aggs})
	if status != http.StatusOK {
		t.Fatalf("panel %s/%s on %s: %d %s", p.Dashboard, p.Key, index, status, body)
	}
	var res struct {
		Aggregations map[string]any `json:"aggregations"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	var walk func(level int, key []string, b map[string]any)
	walk = func(level int, key []string, b map[string]any) {
		if level == len(buckets) {
			row := map[string]float64{}
			for _, m := range metrics {
				if v, ok := metricValue(m, b); ok {
					row[m.ID] = v
				}
			}
			out[strings.Join(key, "|")] = row
			return
		}
		agg, _ := b[fmt.Sprintf("b%d", level)].(map[string]any)
		list, _ := agg["buckets"].([]any)
		for _, x := range list {
			bb := x.(map[string]any)
			k := fmt.Sprint(bb["key"])
			if s, ok := bb["key_as_string"].(string); ok {
				k = s
			}
			walk(level+1, append(append([]string{}, key...), k), bb)
		}
	}
	walk(0, nil, res.Aggregations)
	return out
}

// RenderVega renders a Vega panel as Kibana would: it runs the spec's
// Elasticsearch queries (VegaValues) and hands the answers to the real
// vega package (test/vegarender) at the panel's size. Vega warnings fail
// the test.
func RenderVega(t *testing.T, do Do, spec string, width, height int) vegarender.Result {
	t.Helper()
	values := VegaValues(t, do, spec)
	node := testenv.Node(t)
	vega := testenv.Fetched(t, testenv.Vega)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := vegarender.Render(ctx, node, vega, []byte(spec), values, width, height)
	if err != nil {
		t.Fatalf("rendering a Vega panel: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Vega warning: %s", w)
	}
	return res
}

// VegaValues runs the Elasticsearch query of every data set of a Vega spec
// that has one (its url), as Kibana does when the dashboard context is
// "everything" (%context%: no filter), and returns data set name -> the
// search response, as vegarender.Render takes them.
func VegaValues(t testing.TB, do Do, specText string) map[string]any {
	t.Helper()
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
		body := d.URL.Body
		body["query"] = map[string]any{"match_all": map[string]any{}} // %context%: no filter
		status, answer := do(http.MethodPost, "/"+d.URL.Index+"/_search", body)
		if status != http.StatusOK {
			t.Fatalf("Vega data %q on %s: %d %s", d.Name, d.URL.Index, status, answer)
		}
		var v any
		if err := json.Unmarshal(answer, &v); err != nil {
			t.Fatal(err)
		}
		values[d.Name] = v
	}
	return values
}
