package journeystore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// TemplateVersion is the version of every index template this build
// installs (what `webjourneyctl templates check` expects). Bump it whenever
// a template changes (a new mapped field, a setting): an installed template
// is replaced only when its version is lower. Version 4 added the entity
// and dead-letter templates and the journey names, version 5 the visit's
// second page, version 6 the referrer's scheme, path and query and the
// referral partner's window and landing flag, version 7 the event time's
// source, correction and skew, version 8 the non-interactive flag,
// version 9 the visit's path (whole, per step, transitions) and the pages
// before an outcome, version 10 the visitor's cohort on visits (first seen,
// first touch, weeks since), version 11 the postback decision on credits,
// version 12 the import line's format (webjourney.ingest.format), version
// 13 the events indices' refresh interval of 500 ms, version 14 the funnel
// records (their index and the webjourney.funnel.* fields).
const TemplateVersion = 14

// templatePriority ranks our templates above the built-in templates of a
// full Elasticsearch distribution (priority 100, e.g. logs-*-*), so a prefix
// such as "logs" still gets this mapping.
const templatePriority = 200

// managedBy marks our templates in their _meta.
const managedBy = "webjourney"

// indexTemplateSpec is one index template of a layout.
type indexTemplateSpec struct {
	name   string
	family Family
	body   map[string]any
}

// templates lists the index templates of the layout: events, the entity
// families and, when it has one, the dead-letter index.
func (l Layout) templates() []indexTemplateSpec {
	var specs []indexTemplateSpec
	for _, f := range l.Families() {
		specs = append(specs, indexTemplateSpec{name: l.TemplateName(f), family: f, body: l.template(f)})
	}
	return specs
}

// template returns the body of PUT _index_template/<name> of a family:
// events and every entity family share one field table (entity records
// carry event names too, and Kibana views join them); the dead-letter
// template is named after its index, so collectors that share one
// dead-letter index share one template.
func (l Layout) template(f Family) map[string]any {
	mapping := eventsMapping()
	if f == FamilyDeadLetter {
		mapping = expandMapping(deadLetterFields)
	}
	t := indexTemplate([]string{l.Index(f)}, f, mapping)
	if f == FamilyEvents {
		// Events are searchable half a second after they are indexed
		// (Elasticsearch's default is a second): with the exporter's
		// batching this keeps beacon -> searchable under a second at p95
		// (docs/benchmarks.md, "Beacon → searchable"), what the Live
		// dashboard shows. The price is twice the refreshes of the one
		// index being written; a large site may raise it in the template
		// (keeping the version, so installation leaves the edit alone).
		settings := t["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
		settings["refresh_interval"] = eventsRefreshInterval
	}
	return t
}

// eventsRefreshInterval is the events indices' refresh interval.
const eventsRefreshInterval = "500ms"

// indexTemplate is the body of one of our composable index templates.
func indexTemplate(patterns []string, family Family, mapping map[string]any) map[string]any {
	return map[string]any{
		"index_patterns": patterns,
		"priority":       templatePriority,
		"version":        TemplateVersion,
		"_meta": map[string]any{
			"managed_by":          managedBy,
			"family":              family.String(),
			"event_model_version": eventmodel.SchemaVersion,
		},
		"template": map[string]any{
			"settings": map[string]any{
				"index": map[string]any{
					// A month of one site's events, or all of its visits,
					// is small; one shard keeps the shard count low. A
					// large site raises it in the template (keeping the
					// version, so installation leaves the edit alone).
					"number_of_shards": 1,
					// Green on a single node, one replica as soon as a
					// second node joins.
					"auto_expand_replicas": "0-1",
				},
			},
			"mappings": mapping,
		},
	}
}

// eventsMapping is the mapping of the events and entity indices.
func eventsMapping() map[string]any { return expandMapping(eventFields) }

// expandMapping expands dotted field names into the object structure
// Elasticsearch stores ("url.full" -> url.properties.full). dynamic:false at
// the root (inherited by every object) keeps an unknown attribute in _source
// without ever mapping it: no mapping explosion and no document rejected
// because a new name guessed the wrong type.
func expandMapping(fields map[string]map[string]any) map[string]any {
	root := map[string]any{}
	for name, m := range fields {
		props := root
		parts := strings.Split(name, ".")
		for _, p := range parts[:len(parts)-1] {
			obj, ok := props[p].(map[string]any)
			if !ok {
				obj = map[string]any{"properties": map[string]any{}}
				props[p] = obj
			}
			props = obj["properties"].(map[string]any)
		}
		props[parts[len(parts)-1]] = m
	}
	return map[string]any{"dynamic": false, "properties": root}
}

// Template states of a TemplateCheck.
const (
	TemplateOK      = "ok"      // the expected version, with the expected mapping
	TemplateMissing = "missing" // not installed
	TemplateOlder   = "older"   // an older version: the collector (or InstallTemplates) upgrades it
	TemplateNewer   = "newer"   // a newer version (a newer webjourney); left alone
	TemplateDrift   = "drift"   // the expected version, but its mapping differs
)

// TemplateCheck is the state of one index template.
type TemplateCheck struct {
	Name      string
	Family    Family // events, visits, visitors, credits, dead_letter
	Expected  int64  // the version this code installs
	Installed int64  // the installed version; 0 when missing or without one
	Status    string // one of the Template* states
	// MappingDrift lists, for an installed template of the expected
	// version, every mapped field whose mapping differs from the expected
	// one, as "field: expected X, installed Y" (X or Y "none").
	MappingDrift []string
}

// TemplateReport is the state of every index template of the prefix (and
// of the dead-letter index, when set).
type TemplateReport struct {
	Templates []TemplateCheck
}

// Ready reports whether every template is ok or newer: nothing is missing,
// older or drifted.
func (r *TemplateReport) Ready() bool {
	for _, t := range r.Templates {
		if t.Status != TemplateOK && t.Status != TemplateNewer {
			return false
		}
	}
	return true
}

// CheckTemplates reads every index template the exporter installs and
// compares it with the one this code would install: version and, at the
// same version, the mapping (settings are not compared: the operator may
// tune shards and replicas).
func (s *Store) CheckTemplates(ctx context.Context) (*TemplateReport, error) {
	rep := &TemplateReport{}
	for _, spec := range s.layout.templates() {
		c := TemplateCheck{Name: spec.name, Family: spec.family, Expected: TemplateVersion}
		it, err := s.getInstalledTemplate(ctx, spec.name)
		if err != nil {
			return nil, err
		}
		switch {
		case it == nil:
			c.Status = TemplateMissing
		case it.version < TemplateVersion:
			c.Installed, c.Status = it.version, TemplateOlder
		case it.version > TemplateVersion:
			c.Installed, c.Status = it.version, TemplateNewer
		default:
			c.Installed, c.Status = it.version, TemplateOK
			want := spec.body["template"].(map[string]any)["mappings"].(map[string]any)
			if c.MappingDrift, err = mappingDrift(want, it.mappings); err != nil {
				return nil, err
			}
			if len(c.MappingDrift) > 0 {
				c.Status = TemplateDrift
			}
		}
		rep.Templates = append(rep.Templates, c)
	}
	return rep, nil
}

// Outcomes of TemplateInstall.
const (
	TemplateInstalled = "installed"  // was missing or older
	TemplateReplaced  = "replaced"   // was the same version; force replaced it
	TemplateUpToDate  = "up to date" // the same version; left alone
	TemplateLeftNewer = "newer"      // a newer version; left alone
)

// TemplateInstall is what InstallTemplates did to one template.
type TemplateInstall struct {
	Name     string
	Outcome  string // one of the outcome constants above
	Previous int64  // the version that was installed before (0: none)
}

// InstallTemplates installs every index template that is missing or older,
// as the exporter does at start, and puts the mapping of an installed one
// on its existing indices. With force it also replaces templates of the
// same version (repairing mapping drift); a newer version is never
// replaced. It stops at the first error.
func (s *Store) InstallTemplates(ctx context.Context, force bool) ([]TemplateInstall, error) {
	var out []TemplateInstall
	for _, spec := range s.layout.templates() {
		state, previous, err := s.ensureTemplate(ctx, spec, force)
		if err != nil {
			return out, err
		}
		ti := TemplateInstall{Name: spec.name, Previous: previous}
		switch {
		case state == templateNewer:
			ti.Outcome = TemplateLeftNewer
		case state == templateUpToDate:
			ti.Outcome = TemplateUpToDate
		case previous == TemplateVersion:
			ti.Outcome = TemplateReplaced
		default:
			ti.Outcome = TemplateInstalled
		}
		out = append(out, ti)
	}
	return out, nil
}

// templateState is what ensureTemplate found and did.
type templateState int

const (
	templateUpToDate  templateState = iota // installed version equals ours
	templateInstalled                      // we PUT it (missing or older)
	templateNewer                          // a newer version is installed; left alone
)

// ensureTemplate installs one template unless the same (with force: a
// newer) version is already there. PUT _index_template is idempotent; the GET first avoids
// needless cluster-state updates at every collector start and keeps a newer
// collector's template from being downgraded by an older one.
//
// A template reaches only indices created after it, and the entity and
// dead-letter indices are created once and live for ever (this month's
// event index for a month). So after installing a newer version it also
// adds the template's mapping to the existing indices it matches: new
// fields are additive; a changed type is refused by Elasticsearch and
// returned as an error.
func (s *Store) ensureTemplate(ctx context.Context, spec indexTemplateSpec, force bool) (templateState, int64, error) {
	installed, found, err := s.installedTemplateVersion(ctx, spec.name)
	if err != nil {
		return 0, 0, err
	}
	if found && installed == TemplateVersion && !force {
		return templateUpToDate, installed, nil
	}
	if found && installed > TemplateVersion {
		return templateNewer, installed, nil
	}
	body, err := json.Marshal(spec.body)
	if err != nil {
		return 0, 0, err
	}
	put := s.es.Indices.PutIndexTemplate
	res, err := put(spec.name, bytes.NewReader(body), put.WithContext(ctx))
	if err != nil {
		return 0, 0, fmt.Errorf("put index template %s: %w", spec.name, err)
	}
	defer drainAndClose(res.Body)
	if res.IsError() {
		return 0, 0, fmt.Errorf("put index template %s: %s", spec.name, responseError(res.StatusCode, res.Body))
	}
	if err := s.updateExistingMappings(ctx, spec); err != nil {
		return 0, 0, err
	}
	return templateInstalled, installed, nil
}

// updateExistingMappings puts the template's mapping on the existing
// indices of its patterns (none is fine).
func (s *Store) updateExistingMappings(ctx context.Context, spec indexTemplateSpec) error {
	tpl := spec.body["template"].(map[string]any)
	body, err := json.Marshal(tpl["mappings"])
	if err != nil {
		return err
	}
	pm := s.es.Indices.PutMapping
	_, err = answer("updating the mapping of existing indices of template " + spec.name)(pm(
		spec.body["index_patterns"].([]string), bytes.NewReader(body), pm.WithContext(ctx),
		pm.WithAllowNoIndices(true), pm.WithIgnoreUnavailable(true), pm.WithExpandWildcards("open")))
	return err
}

// installedTemplateVersion returns the version of the installed template
// (0 when it has none) and whether it exists.
func (s *Store) installedTemplateVersion(ctx context.Context, name string) (int64, bool, error) {
	it, err := s.getInstalledTemplate(ctx, name)
	if it == nil || err != nil {
		return 0, false, err
	}
	return it.version, true, nil
}

// installedTemplate is what getInstalledTemplate reads of a template.
type installedTemplate struct {
	version  int64 // 0 when it has none
	mappings map[string]any
}

// getInstalledTemplate reads the installed template name; nil when there
// is none.
func (s *Store) getInstalledTemplate(ctx context.Context, name string) (*installedTemplate, error) {
	get := s.es.Indices.GetIndexTemplate
	res, err := get(get.WithName(name), get.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("get index template %s: %w", name, err)
	}
	defer drainAndClose(res.Body)
	if res.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if res.IsError() {
		return nil, fmt.Errorf("get index template %s: %s", name, responseError(res.StatusCode, res.Body))
	}
	var got struct {
		IndexTemplates []struct {
			Name          string `json:"name"`
			IndexTemplate struct {
				Version  *int64 `json:"version"`
				Template struct {
					Mappings map[string]any `json:"mappings"`
				} `json:"template"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		return nil, fmt.Errorf("get index template %s: decoding the answer: %w", name, err)
	}
	for _, it := range got.IndexTemplates {
		if it.Name == name {
			t := &installedTemplate{mappings: it.IndexTemplate.Template.Mappings}
			if it.IndexTemplate.Version != nil {
				t.version = *it.IndexTemplate.Version
			}
			return t, nil
		}
	}
	return nil, nil
}

// mappingDrift compares two mappings field by field (dotted names; "."
// for the root's own keys such as dynamic) and describes every difference.
func mappingDrift(want, got map[string]any) ([]string, error) {
	raw, err := json.Marshal(want)
	if err != nil {
		return nil, err
	}
	var wantJSON map[string]any // the types a decoded answer has
	if err := json.Unmarshal(raw, &wantJSON); err != nil {
		return nil, err
	}
	w, g := flattenMapping(wantJSON), flattenMapping(got)
	var drift []string
	for field, wv := range w {
		if gv, ok := g[field]; !ok {
			drift = append(drift, fmt.Sprintf("%s: expected %s, installed none", field, wv))
		} else if gv != wv {
			drift = append(drift, fmt.Sprintf("%s: expected %s, installed %s", field, wv, gv))
		}
	}
	for field, gv := range g {
		if _, ok := w[field]; !ok {
			drift = append(drift, fmt.Sprintf("%s: expected none, installed %s", field, gv))
		}
	}
	sort.Strings(drift)
	return drift, nil
}

// flattenMapping maps every field of a mapping to the JSON of its own
// mapping (an object field: to its keys other than properties, if any).
func flattenMapping(m map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(path string, node map[string]any)
	walk = func(path string, node map[string]any) {
		own := map[string]any{}
		for k, v := range node {
			if k != "properties" {
				own[k] = v
			}
		}
		if len(own) > 0 {
			raw, _ := json.Marshal(own) // sorted keys: comparable text
			out[path] = string(raw)
		}
		props, _ := node["properties"].(map[string]any)
		for name, v := range props {
			child, _ := v.(map[string]any)
			p := name
			if path != "." {
				p = path + "." + name
			}
			walk(p, child)
		}
	}
	walk(".", m)
	return out
}
