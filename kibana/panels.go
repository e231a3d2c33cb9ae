package kibana

import "github.com/webjourney/webjourney/internal/journeystore"

// PanelSpec describes one Lens panel of a shipped dashboard in the terms a
// test needs to run the equivalent Elasticsearch query: the index pattern
// of its data view, its KQL query and its columns. It is read from the same
// definitions that generate saved_objects.ndjson.
type PanelSpec struct {
	Dashboard string // dashboard id, e.g. "webjourney-overview"
	Key       string // panel key, unique in its dashboard, e.g. "visits"
	Title     string
	DataView  string // data view id
	Index     string // the data view's index pattern with journeystore.DefaultPrefix
	Query     string // KQL of the whole panel ("" = all documents)
	Columns   []ColumnSpec
}

// ColumnSpec is one visible column of a panel.
type ColumnSpec struct {
	ID        string
	Label     string
	Operation string // count, sum, average, median, unique_count, terms, date_histogram, formula
	Field     string // source field ("" for count and formula)
	Filter    string // KQL filter of the column itself
	Size      int    // terms: the number of buckets
	Bucketed  bool
	// Formula columns: Parts combined with Combine ("divide" or "add").
	Combine string
	Parts   []ColumnSpec
}

// DataViewIndex maps a data view id to its index pattern for prefix.
func DataViewIndex(id, prefix string) string { return dataViewTitles(prefix)[id] }

func dataViewTitles(prefix string) map[string]string {
	out := map[string]string{}
	for _, o := range dataViews(prefix) {
		out[o.ID], _ = o.Attributes["title"].(string)
	}
	return out
}

// Panels lists the Lens panels of every dashboard.
func Panels() []PanelSpec {
	titles := dataViewTitles(journeystore.DefaultPrefix)
	var out []PanelSpec
	for _, d := range dashboardDefs() {
		for _, p := range d.panels {
			if p.lens == nil {
				continue
			}
			ps := PanelSpec{
				Dashboard: d.id, Key: p.key, Title: p.lens.title, DataView: p.lens.dataView,
				Index: titles[p.lens.dataView], Query: p.lens.query,
			}
			for _, c := range p.lens.columns {
				ps.Columns = append(ps.Columns, columnSpec(c))
			}
			out = append(out, ps)
		}
	}
	return out
}

// Panel returns the panel key of dashboard id, and whether it exists.
func Panel(dashboard, key string) (PanelSpec, bool) {
	for _, p := range Panels() {
		if p.Dashboard == dashboard && p.Key == key {
			return p, true
		}
	}
	return PanelSpec{}, false
}

func columnSpec(c column) ColumnSpec {
	s := ColumnSpec{ID: c.id}
	s.Label, _ = c.def["label"].(string)
	s.Operation, _ = c.def["operationType"].(string)
	s.Bucketed, _ = c.def["isBucketed"].(bool)
	if f, _ := c.def["sourceField"].(string); f != "___records___" {
		s.Field = f
	}
	if f, ok := c.def["filter"].(map[string]any); ok {
		s.Filter, _ = f["query"].(string)
	}
	if params, ok := c.def["params"].(map[string]any); ok {
		if n, ok := params["size"].(int); ok {
			s.Size = n
		}
	}
	if s.Operation == "formula" {
		for _, h := range c.helpers {
			if h.def["operationType"] == "math" {
				ast := h.def["params"].(map[string]any)["tinymathAst"]
				if m, ok := ast.(map[string]any); ok {
					s.Combine, _ = m["name"].(string)
				}
				continue
			}
			s.Parts = append(s.Parts, columnSpec(h))
		}
	}
	return s
}
