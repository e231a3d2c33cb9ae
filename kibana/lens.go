package kibana

import "fmt"

// A column of a Lens form-based (formBased) layer. helpers are the hidden
// columns a formula column stores next to itself.
type column struct {
	id      string
	def     map[string]any
	helpers []column
}

func kql(q string) map[string]any { return map[string]any{"query": q, "language": "kuery"} }

// count counts documents (optionally those matching filter, a KQL query).
func count(id, label, filter string) column {
	def := map[string]any{
		"label": label, "customLabel": true, "dataType": "number", "operationType": "count",
		"isBucketed": false, "scale": "ratio", "sourceField": "___records___",
		"params": map[string]any{"emptyAsNull": false},
	}
	if filter != "" {
		def["filter"] = kql(filter)
	}
	return column{id: id, def: def}
}

// metric is sum, average, median, max, min or unique_count of field.
func metric(op, id, label, field, filter string) column {
	def := map[string]any{
		"label": label, "customLabel": true, "dataType": "number", "operationType": op,
		"isBucketed": false, "scale": "ratio", "sourceField": field,
		"params": map[string]any{"emptyAsNull": true},
	}
	if filter != "" {
		def["filter"] = kql(filter)
	}
	return column{id: id, def: def}
}

// terms buckets by the top size values of field, ordered by column orderBy.
func terms(id, label, field string, size int, orderBy string) column {
	return column{id: id, def: map[string]any{
		"label": label, "customLabel": true, "dataType": "string", "operationType": "terms",
		"isBucketed": true, "scale": "ordinal", "sourceField": field,
		"params": map[string]any{
			"size": size, "orderBy": map[string]any{"type": "column", "columnId": orderBy},
			"orderDirection": "desc", "otherBucket": true, "missingBucket": false,
			"parentFormat": map[string]any{"id": "terms"},
			"include":      []any{}, "exclude": []any{}, "includeIsRegex": false, "excludeIsRegex": false,
		},
	}}
}

// overTime is a date histogram on the data view's time field.
func overTime(id string) column {
	return column{id: id, def: map[string]any{
		"label": fieldTimestamp, "dataType": "date", "operationType": "date_histogram",
		"isBucketed": true, "scale": "interval", "sourceField": fieldTimestamp,
		"params": map[string]any{"interval": "auto", "includeEmptyRows": true, "dropPartials": false},
	}}
}

// ratio is the formula count(kql='num') / count(kql='den') (den "" = all),
// shown as a percentage. Lens stores a formula with its parts as hidden
// columns: two counts and the math column that divides them.
func ratio(id, label, num, den string) column {
	part := func(q string) string {
		if q == "" {
			return "count()"
		}
		return fmt.Sprintf("count(kql='%s')", q)
	}
	text := part(num) + " / " + part(den)
	a, b := count(id+"X0", "Part of "+label, num), count(id+"X1", "Part of "+label, den)
	return formula(id, label, text, map[string]any{"id": "percent", "params": map[string]any{"decimals": 1}},
		[]column{a, b}, map[string]any{"type": "function", "name": "divide", "args": []any{a.id, b.id}})
}

// sumOf is the formula unique_count(f1) + unique_count(f2) and the like:
// parts added together.
func sumOf(id, label, text string, parts ...column) column {
	args := make([]any, len(parts))
	for i, p := range parts {
		args[i] = p.id
	}
	var ast any = args[0]
	for _, a := range args[1:] {
		ast = map[string]any{"type": "function", "name": "add", "args": []any{ast, a}}
	}
	return formula(id, label, text, nil, parts, ast)
}

func formula(id, label, text string, format map[string]any, parts []column, ast any) column {
	if m, ok := ast.(map[string]any); ok {
		m["location"] = map[string]any{"min": 0, "max": len(text)}
		m["text"] = text
	}
	refs := make([]any, len(parts))
	for i, p := range parts {
		refs[i] = p.id
	}
	math := column{id: id + fmt.Sprintf("X%d", len(parts)), def: map[string]any{
		"label": "Part of " + label, "customLabel": true, "dataType": "number", "operationType": "math",
		"isBucketed": false, "scale": "ratio", "params": map[string]any{"tinymathAst": ast}, "references": refs,
	}}
	params := map[string]any{"formula": text, "isFormulaBroken": false}
	if format != nil {
		params["format"] = format
	}
	return column{id: id, def: map[string]any{
		"label": label, "customLabel": true, "dataType": "number", "operationType": "formula",
		"isBucketed": false, "scale": "ratio", "params": params, "references": []any{math.id},
	}, helpers: append(append([]column{}, parts...), math)}
}

// lens is one by-value Lens panel: one layer on one data view.
type lens struct {
	title    string
	dataView string
	query    string // KQL applied to the whole panel
	visType  string // lnsMetric, lnsXY, lnsDatatable
	columns  []column
	vis      map[string]any // the visualization state (layerId is filled in)
}

const layerID = "layer1"

func (l lens) attributes() (map[string]any, []Reference) {
	cols := map[string]any{}
	var order []string
	var add func(c column)
	add = func(c column) {
		cols[c.id] = c.def
		order = append(order, c.id)
		for _, h := range c.helpers {
			add(h)
		}
	}
	for _, c := range l.columns {
		add(c)
	}
	refs := []Reference{{ID: l.dataView, Name: "indexpattern-datasource-layer-" + layerID, Type: "index-pattern"}}
	return map[string]any{
		"title":             l.title,
		"description":       "",
		"visualizationType": l.visType,
		"type":              "lens",
		"references":        refs,
		"state": map[string]any{
			"visualization": l.vis,
			"query":         kql(l.query),
			"filters":       []any{},
			"datasourceStates": map[string]any{"formBased": map[string]any{"layers": map[string]any{
				layerID: map[string]any{"columns": cols, "columnOrder": order, "incompleteColumns": map[string]any{}, "sampling": 1},
			}}},
			"internalReferences": []any{},
			"adHocDataViews":     map[string]any{},
		},
	}, refs
}

// metricPanel shows one number.
func metricPanel(title, dv, query string, c column) lens {
	return lens{title: title, dataView: dv, query: query, visType: "lnsMetric", columns: []column{c},
		vis: map[string]any{"layerId": layerID, "layerType": "data", "metricAccessor": c.id}}
}

// xyPanel draws metrics over x (split by split, when not empty).
func xyPanel(title, dv, query, seriesType string, x column, split *column, metrics ...column) lens {
	cols := []column{x}
	layer := map[string]any{
		"layerId": layerID, "layerType": "data", "seriesType": seriesType, "xAccessor": x.id,
		"position": "top", "showGridlines": false,
	}
	if split != nil {
		cols = append(cols, *split)
		layer["splitAccessor"] = split.id
	}
	acc := []any{}
	for _, m := range metrics {
		cols = append(cols, m)
		acc = append(acc, m.id)
	}
	layer["accessors"] = acc
	return lens{title: title, dataView: dv, query: query, visType: "lnsXY", columns: cols, vis: map[string]any{
		"legend":              map[string]any{"isVisible": true, "position": "right"},
		"valueLabels":         "hide",
		"fittingFunction":     "None",
		"preferredSeriesType": seriesType,
		"layers":              []any{layer},
	}}
}

// tablePanel is a data table; transposed columns become column groups
// (one set of metric columns per value, e.g. per attribution model).
func tablePanel(title, dv, query string, transposed map[string]bool, cols ...column) lens {
	vc := []any{}
	for _, c := range cols {
		e := map[string]any{"columnId": c.id}
		if transposed[c.id] {
			e["isTransposed"] = true
		}
		vc = append(vc, e)
	}
	return lens{title: title, dataView: dv, query: query, visType: "lnsDatatable", columns: cols,
		vis: map[string]any{"layerId": layerID, "layerType": "data", "columns": vc}}
}
