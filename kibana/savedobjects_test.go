package kibana

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/journeystore"
)

// savedObject is a parsed line of the NDJSON file.
type savedObject struct {
	Type                 string         `json:"type"`
	ID                   string         `json:"id"`
	Attributes           map[string]any `json:"attributes"`
	References           []Reference    `json:"references"`
	CoreMigrationVersion string         `json:"coreMigrationVersion"`
	Managed              bool           `json:"managed"`
	TypeMigrationVersion string         `json:"typeMigrationVersion"`
}

// fieldUse is one field a saved object uses on a data view.
type fieldUse struct {
	dataView   string // data view id
	field      string
	aggregated bool // a panel aggregates (buckets, sorts or computes a metric on) it
	date       bool // must be a date (time fields)
	where      string
}

func readFile(t *testing.T) []savedObject {
	t.Helper()
	raw, err := os.ReadFile(FileName)
	require.NoError(t, err)
	var objs []savedObject
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var o savedObject
		require.NoError(t, dec.Decode(&o), "line %d", n)
		objs = append(objs, o)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, objs)
	return objs
}

// TestGeneratedFileUpToDate fails when saved_objects.ndjson is not what the
// generator makes: run `go generate ./kibana/...`.
func TestGeneratedFileUpToDate(t *testing.T) {
	want, err := NDJSON(journeystore.DefaultPrefix)
	require.NoError(t, err)
	got, err := os.ReadFile(FileName)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "%s is stale: run `go generate ./kibana/...`", FileName)
}

func str(t *testing.T, m map[string]any, key, where string) string {
	t.Helper()
	s, ok := m[key].(string)
	require.True(t, ok, "%s: %q is missing or not a string", where, key)
	return s
}

func parseJSONAttr(t *testing.T, s, where string, into any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(s), into), "%s does not parse: %s", where, s)
}

var kqlField = regexp.MustCompile(`(?:^|[\s(])([@A-Za-z_][\w.@]*)\s*:`)

func kqlFields(q string) []string {
	var out []string
	for _, m := range kqlField.FindAllStringSubmatch(q, -1) {
		out = append(out, m[1])
	}
	return out
}

// check walks every object, asserts its structure and returns the fields
// it uses.
type checker struct {
	t      *testing.T
	byKey  map[string]savedObject // type/id
	titles map[string]string      // data view title -> id
	uses   []fieldUse
}

func (c *checker) use(dv, field string, aggregated bool, where string) {
	c.uses = append(c.uses, fieldUse{dataView: dv, field: field, aggregated: aggregated, where: where})
}

func (c *checker) resolves(typ, id, where string) {
	c.t.Helper()
	_, ok := c.byKey[typ+"/"+id]
	assert.True(c.t, ok, "%s: reference to %s %q does not resolve", where, typ, id)
}

func TestStructure(t *testing.T) {
	objs := readFile(t)
	c := &checker{t: t, byKey: map[string]savedObject{}, titles: map[string]string{}}
	for _, o := range objs {
		key := o.Type + "/" + o.ID
		require.NotContains(t, c.byKey, key, "duplicate id")
		c.byKey[key] = o
		assert.Equal(t, "8.8.0", o.CoreMigrationVersion, key)
		assert.Equal(t, typeMigrationVersion[o.Type], o.TypeMigrationVersion, key)
		assert.NotEmpty(t, o.TypeMigrationVersion, "%s: unknown type", key)
		assert.NotEmpty(t, str(t, o.Attributes, "title", key), key)
		for _, r := range o.References {
			c.resolves(r.Type, r.ID, key+" reference "+r.Name)
		}
		if o.Type == "index-pattern" {
			c.titles[o.Attributes["title"].(string)] = o.ID
		}
	}
	counts := map[string]int{}
	for _, o := range objs {
		counts[o.Type]++
		switch o.Type {
		case "index-pattern":
			c.dataView(o)
		case "search":
			c.search(o)
		case "visualization":
			c.visualization(o)
		case "dashboard":
			c.dashboard(o)
		default:
			t.Errorf("%s/%s: unexpected type", o.Type, o.ID)
		}
	}
	assert.Equal(t, 6, counts["index-pattern"])
	assert.Equal(t, 9, counts["dashboard"])
	assert.GreaterOrEqual(t, counts["search"], 1)
}

func (c *checker) dataView(o savedObject) {
	t := c.t
	where := "index-pattern/" + o.ID
	tf := str(t, o.Attributes, "timeFieldName", where)
	c.uses = append(c.uses, fieldUse{dataView: o.ID, field: tf, aggregated: true, date: true, where: where + " timeFieldName"})
	var formats map[string]struct {
		ID     string         `json:"id"`
		Params map[string]any `json:"params"`
	}
	parseJSONAttr(t, str(t, o.Attributes, "fieldFormatMap", where), where+" fieldFormatMap", &formats)
	for f, fm := range formats {
		assert.Contains(t, []string{"duration", "percent", "number", "currency"}, fm.ID, "%s format of %s", where, f)
		c.use(o.ID, f, false, where+" fieldFormatMap")
	}
	for _, k := range []string{"fields", "sourceFilters"} {
		var v []any
		parseJSONAttr(t, str(t, o.Attributes, k, where), where+" "+k, &v)
	}
}

// searchSourceIndex parses a searchSourceJSON and returns the data view its
// indexRefName names ("" when none) and the KQL query.
func (c *checker) searchSource(o savedObject, ssJSON, where string) (string, string) {
	t := c.t
	var ss struct {
		Query struct {
			Query    string `json:"query"`
			Language string `json:"language"`
		} `json:"query"`
		Filter       []any  `json:"filter"`
		IndexRefName string `json:"indexRefName"`
	}
	parseJSONAttr(t, ssJSON, where+" searchSourceJSON", &ss)
	assert.Equal(t, "kuery", ss.Query.Language, where)
	if ss.IndexRefName == "" {
		return "", ss.Query.Query
	}
	for _, r := range o.References {
		if r.Name == ss.IndexRefName && r.Type == "index-pattern" {
			return r.ID, ss.Query.Query
		}
	}
	t.Errorf("%s: indexRefName %q has no reference", where, ss.IndexRefName)
	return "", ss.Query.Query
}

func meta(t *testing.T, attrs map[string]any, where string) string {
	m, ok := attrs["kibanaSavedObjectMeta"].(map[string]any)
	require.True(t, ok, "%s: kibanaSavedObjectMeta", where)
	return str(t, m, "searchSourceJSON", where)
}

func (c *checker) search(o savedObject) {
	t := c.t
	where := "search/" + o.ID
	dv, query := c.searchSource(o, meta(t, o.Attributes, where), where)
	require.NotEmpty(t, dv, "%s: a saved search needs a data view", where)
	for _, f := range kqlFields(query) {
		c.use(dv, f, false, where+" query")
	}
	cols, ok := o.Attributes["columns"].([]any)
	require.True(t, ok && len(cols) > 0, "%s: columns", where)
	for _, col := range cols {
		c.use(dv, col.(string), false, where+" column")
	}
	sorts, ok := o.Attributes["sort"].([]any)
	require.True(t, ok && len(sorts) > 0, "%s: sort", where)
	for _, s := range sorts {
		pair := s.([]any)
		require.Len(t, pair, 2, where)
		assert.Contains(t, []any{"asc", "desc"}, pair[1], where)
		c.use(dv, pair[0].(string), true, where+" sort")
	}
}

type visState struct {
	Title  string         `json:"title"`
	Type   string         `json:"type"`
	Params map[string]any `json:"params"`
}

func (c *checker) visualization(o savedObject) {
	t := c.t
	where := "visualization/" + o.ID
	var vs visState
	parseJSONAttr(t, str(t, o.Attributes, "visState", where), where+" visState", &vs)
	c.searchSource(o, meta(t, o.Attributes, where), where)
	switch vs.Type {
	case "markdown":
		assert.NotEmpty(t, vs.Params["markdown"], where)
	case "vega":
		c.vega(str(t, vs.Params, "spec", where), where)
	default:
		t.Errorf("%s: unexpected visualization type %q", where, vs.Type)
	}
}

func (c *checker) vega(specText, where string) {
	t := c.t
	var spec map[string]any
	require.NoError(t, json.Unmarshal([]byte(specText), &spec), "%s: the Vega spec is not JSON", where)
	assert.Equal(t, "https://vega.github.io/schema/vega/v5.json", spec["$schema"], where)
	dataNames := map[string]bool{}
	queried := 0
	for _, d := range spec["data"].([]any) {
		dm := d.(map[string]any)
		dataNames[dm["name"].(string)] = true
		switch src := dm["source"].(type) {
		case string:
			assert.True(t, dataNames[src], "%s: data %v reads %q before it is defined", where, dm["name"], src)
		case []any:
			for _, s := range src {
				assert.True(t, dataNames[s.(string)], "%s: data %v reads %q before it is defined", where, dm["name"], s)
			}
		}
		u, ok := dm["url"].(map[string]any)
		if !ok {
			continue
		}
		queried++
		dv, ok := c.titles[u["index"].(string)]
		require.True(t, ok, "%s: index %v is no data view's title", where, u["index"])
		if tf, ok := u["%timefield%"].(string); ok {
			c.uses = append(c.uses, fieldUse{dataView: dv, field: tf, aggregated: true, date: true, where: where + " %timefield%"})
			assert.Equal(t, true, u["%context%"], "%s: %%timefield%% needs %%context%%", where)
			_, hasQuery := u["body"].(map[string]any)["query"]
			assert.False(t, hasQuery, "%s: with %%context%% the body must not have a query", where)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if k == "field" {
						c.use(dv, e.(string), true, where+" aggregation")
						continue
					}
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(u["body"])
	}
	assert.Positive(t, queried, "%s: the spec queries nothing", where)
	c.vegaMarks(spec["marks"].([]any), dataNames, where)
}

// vegaMarks checks that every mark reads data defined before it: a
// top-level data set, or the facet of a group mark it is inside.
func (c *checker) vegaMarks(marks []any, dataNames map[string]bool, where string) {
	t := c.t
	for _, m := range marks {
		mm := m.(map[string]any)
		f, ok := mm["from"].(map[string]any)
		if !ok {
			continue // a single item (a heading, a frame): no data
		}
		inner := dataNames
		if facet, ok := f["facet"].(map[string]any); ok {
			from := facet["data"].(string)
			assert.True(t, dataNames[from], "%s: group facets unknown data %q", where, from)
			inner = map[string]bool{facet["name"].(string): true}
			for k := range dataNames {
				inner[k] = true
			}
		} else {
			from := f["data"].(string)
			assert.True(t, dataNames[from], "%s: mark reads unknown data %q", where, from)
		}
		if sub, ok := mm["marks"].([]any); ok {
			c.vegaMarks(sub, inner, where)
		}
	}
}

// identifier fields the partner view must never use.
var identifiers = []string{
	"webjourney.visitor.id", "webjourney.visitor.cookieless_key", "webjourney.visitor.cookieless_key_previous",
	"webjourney.visit.id", "session.id", "user.id", "client.address", "user_agent.original",
	"webjourney.referral.click_id", "webjourney.click_id.value", "webjourney.entity.id",
	"webjourney.outcome.event_id", "webjourney.outcome.visit_id", "log.record.uid", "webjourney.page_view.id",
	"webjourney.consent.tcf.string", "webjourney.erasure.subject",
}

func (c *checker) dashboard(o savedObject) {
	t := c.t
	where := "dashboard/" + o.ID
	// Kibana's dashboard schema refuses unknown attributes; the accepted
	// ones are in the version table (versions_test.go).
	for k := range o.Attributes {
		assert.Contains(t, kibanaTypeVersions["dashboard"].createKeys, k, "%s: attribute %q is not in the dashboard schema", where, k)
	}
	c.searchSource(o, meta(t, o.Attributes, where), where)
	var opts map[string]any
	parseJSONAttr(t, str(t, o.Attributes, "optionsJSON", where), where+" optionsJSON", &opts)
	var panels []map[string]any
	parseJSONAttr(t, str(t, o.Attributes, "panelsJSON", where), where+" panelsJSON", &panels)
	require.NotEmpty(t, panels, where)
	refs := map[string]Reference{}
	for _, r := range o.References {
		require.NotContains(t, refs, r.Name, "%s: reference name used twice", where)
		refs[r.Name] = r
	}
	usedRefs := map[string]bool{}
	seenPanel := map[string]bool{}
	hasMarkdown := false
	start := len(c.uses)
	for _, p := range panels {
		idx, _ := p["panelIndex"].(string)
		require.NotEmpty(t, idx, "%s: panel without panelIndex", where)
		require.False(t, seenPanel[idx], "%s: panelIndex %s twice", where, idx)
		seenPanel[idx] = true
		pw := where + " panel " + idx
		gd, ok := p["gridData"].(map[string]any)
		require.True(t, ok, pw)
		assert.Equal(t, idx, gd["i"], pw)
		x, w := gd["x"].(float64), gd["w"].(float64)
		assert.True(t, x >= 0 && w > 0 && x+w <= 48 && gd["h"].(float64) > 0, "%s: gridData %v", pw, gd)
		ec, ok := p["embeddableConfig"].(map[string]any)
		require.True(t, ok, "%s: embeddableConfig", pw)
		switch p["type"] {
		case "lens":
			attrs, ok := ec["attributes"].(map[string]any)
			require.True(t, ok, "%s: a by-value lens panel needs embeddableConfig.attributes", pw)
			c.lens(attrs, idx, refs, usedRefs, pw)
		case "visualization", "search":
			name, _ := p["panelRefName"].(string)
			r, ok := refs[idx+":"+name]
			require.True(t, ok, "%s: panelRefName %q has no reference %q", pw, name, idx+":"+name)
			usedRefs[r.Name] = true
			assert.Equal(t, p["type"], r.Type, pw)
			c.resolves(r.Type, r.ID, pw)
			if r.Type == "visualization" {
				var vs visState
				parseJSONAttr(t, c.byKey[r.Type+"/"+r.ID].Attributes["visState"].(string), pw, &vs)
				hasMarkdown = hasMarkdown || vs.Type == "markdown"
			}
		default:
			t.Errorf("%s: unexpected panel type %v", pw, p["type"])
		}
	}
	assert.True(t, hasMarkdown, "%s: no markdown description panel", where)
	for name := range refs {
		assert.True(t, usedRefs[name], "%s: reference %q is used by no panel", where, name)
	}
	if o.ID == "webjourney-partner" {
		for _, u := range c.uses[start:] {
			assert.NotContains(t, identifiers, u.field, "partner view uses an identifier: %s (%s)", u.field, u.where)
		}
	}
}

func (c *checker) lens(attrs map[string]any, idx string, dashRefs map[string]Reference, usedRefs map[string]bool, where string) {
	t := c.t
	assert.Equal(t, "lens", attrs["type"], where)
	assert.NotEmpty(t, attrs["title"], where)
	vt := str(t, attrs, "visualizationType", where)
	state, ok := attrs["state"].(map[string]any)
	require.True(t, ok, "%s: lens state", where)
	vis, ok := state["visualization"].(map[string]any)
	require.True(t, ok, "%s: state.visualization", where)
	ds, ok := state["datasourceStates"].(map[string]any)
	require.True(t, ok, "%s: state.datasourceStates", where)
	fb, ok := ds["formBased"].(map[string]any)
	require.True(t, ok, "%s: datasourceStates.formBased", where)
	layers := fb["layers"].(map[string]any)
	require.NotEmpty(t, layers, where)
	query := state["query"].(map[string]any)
	assert.Equal(t, "kuery", query["language"], where)
	var ownRefs []Reference
	raw, _ := json.Marshal(attrs["references"])
	require.NoError(t, json.Unmarshal(raw, &ownRefs))
	allCols := map[string]bool{}
	for layerID, l := range layers {
		lw := where + " layer " + layerID
		refName := "indexpattern-datasource-layer-" + layerID
		dr, ok := dashRefs[idx+":"+refName]
		require.True(t, ok, "%s: no dashboard reference %s", lw, idx+":"+refName)
		usedRefs[dr.Name] = true
		assert.Equal(t, "index-pattern", dr.Type, lw)
		c.resolves("index-pattern", dr.ID, lw)
		assert.True(t, slices.Contains(ownRefs, Reference{ID: dr.ID, Name: refName, Type: "index-pattern"}),
			"%s: attributes.references disagree with the dashboard's", lw)
		dv := dr.ID
		for _, f := range kqlFields(query["query"].(string)) {
			c.use(dv, f, false, lw+" query")
		}
		layer := l.(map[string]any)
		cols := layer["columns"].(map[string]any)
		order := layer["columnOrder"].([]any)
		assert.Len(t, order, len(cols), "%s: columnOrder", lw)
		for _, id := range order {
			assert.Contains(t, cols, id, "%s: columnOrder names unknown column", lw)
		}
		for id, cv := range cols {
			allCols[id] = true
			col := cv.(map[string]any)
			cw := lw + " column " + id
			op := str(t, col, "operationType", cw)
			assert.NotEmpty(t, col["label"], cw)
			assert.NotEmpty(t, col["dataType"], cw)
			if sf, ok := col["sourceField"].(string); ok && sf != "___records___" {
				c.use(dv, sf, true, cw)
			}
			if f, ok := col["filter"].(map[string]any); ok {
				for _, fld := range kqlFields(f["query"].(string)) {
					c.use(dv, fld, false, cw+" filter")
				}
			}
			for _, r := range asSlice(col["references"]) {
				assert.Contains(t, cols, r, "%s: references unknown column", cw)
			}
			params, _ := col["params"].(map[string]any)
			switch op {
			case "terms":
				ob := params["orderBy"].(map[string]any)
				if ob["type"] == "column" {
					assert.Contains(t, cols, ob["columnId"], "%s: orders by an unknown column", cw)
				}
			case "formula":
				assert.NotEmpty(t, params["formula"], cw)
				assert.Equal(t, false, params["isFormulaBroken"], cw)
			case "math":
				assert.NotNil(t, params["tinymathAst"], cw)
			}
		}
	}
	accessors := []any{}
	switch vt {
	case "lnsMetric":
		accessors = append(accessors, vis["metricAccessor"])
	case "lnsXY":
		for _, l := range vis["layers"].([]any) {
			lm := l.(map[string]any)
			assert.Contains(t, layers, lm["layerId"], where)
			accessors = append(accessors, asSlice(lm["accessors"])...)
			accessors = append(accessors, lm["xAccessor"])
			if s, ok := lm["splitAccessor"]; ok {
				accessors = append(accessors, s)
			}
		}
	case "lnsDatatable":
		for _, col := range vis["columns"].([]any) {
			accessors = append(accessors, col.(map[string]any)["columnId"])
		}
	default:
		t.Errorf("%s: unexpected visualizationType %q", where, vt)
	}
	require.NotEmpty(t, accessors, where)
	for _, a := range accessors {
		assert.True(t, allCols[fmt.Sprint(a)], "%s: visualization names unknown column %v", where, a)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// collectUses parses the committed file and returns every field use.
func collectUses(t *testing.T) ([]fieldUse, map[string]string) {
	objs := readFile(t)
	c := &checker{t: t, byKey: map[string]savedObject{}, titles: map[string]string{}}
	for _, o := range objs {
		c.byKey[o.Type+"/"+o.ID] = o
		if o.Type == "index-pattern" {
			c.titles[o.Attributes["title"].(string)] = o.ID
		}
	}
	for _, o := range objs {
		switch o.Type {
		case "index-pattern":
			c.dataView(o)
		case "search":
			c.search(o)
		case "visualization":
			c.visualization(o)
		case "dashboard":
			c.dashboard(o)
		}
	}
	dvTitles := map[string]string{}
	for title, id := range c.titles {
		dvTitles[id] = title
	}
	return c.uses, dvTitles
}
