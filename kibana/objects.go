package kibana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// FileName is the generated saved-objects file, relative to this directory.
const FileName = "saved_objects.ndjson"

// Document fields written from the LogRecord itself (not event-model
// attributes).
const (
	fieldTimestamp = journeystore.FieldTimestamp
	fieldEventName = journeystore.FieldEventName
)

// Migration versions of the saved-object types we emit. On import Kibana
// runs every migration above an object's typeMigrationVersion and refuses a
// version above the type's latest, so each is the newest version the public
// Kibana source shows 8.19 to register (dashboard: model version 2, since
// 8.14; search: model version 5, 8.19's latest): the objects import into 8.19
// and every 9.x migrates them. versions_test.go checks them against what
// 8.19 and the newest 9.x register, with the source each fact comes from.
// 8.8.0 is Kibana's last (and only) core migration. Lens panels are stored
// by value inside the dashboards, so no lens-type object is emitted.
const coreMigrationVersion = "8.8.0"

var typeMigrationVersion = map[string]string{
	"index-pattern": "8.0.0",
	"search":        "10.5.0",
	"visualization": "8.5.0",
	"dashboard":     "10.2.0",
}

// Data view ids (stable, so dashboards of a later release overwrite them,
// and the same whatever the index prefix: they are not index names).
const (
	DataViewEvents   = "webjourney-events"
	DataViewVisits   = "webjourney-visits"
	DataViewVisitors = "webjourney-visitors"
	DataViewCredits  = "webjourney-credits"
	// DataViewPostbacks is the partner_postback exporter's ledger: what
	// was reported to each partner, skipped or refused.
	DataViewPostbacks = "webjourney-postbacks"
	// DataViewFunnels is the funnel records: one per site, visitor and
	// funnel, timed by the first step (entered_at).
	DataViewFunnels = "webjourney-funnels"
)

// Object is one saved object in Kibana's export format.
type Object struct {
	Attributes           map[string]any `json:"attributes"`
	CoreMigrationVersion string         `json:"coreMigrationVersion"`
	ID                   string         `json:"id"`
	Managed              bool           `json:"managed"`
	References           []Reference    `json:"references"`
	Type                 string         `json:"type"`
	TypeMigrationVersion string         `json:"typeMigrationVersion"`
}

// Reference is one entry of a saved object's references.
type Reference struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func newObject(typ, id string, attrs map[string]any, refs []Reference) Object {
	if refs == nil {
		refs = []Reference{}
	}
	return Object{
		Attributes:           attrs,
		CoreMigrationVersion: coreMigrationVersion,
		ID:                   id,
		References:           refs,
		Type:                 typ,
		TypeMigrationVersion: typeMigrationVersion[typ],
	}
}

// jsonString renders v as the JSON string Kibana stores in *JSON attributes.
func jsonString(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("kibana: encoding %T: %v", v, err))
	}
	return string(bytes.TrimRight(b.Bytes(), "\n"))
}

// Objects returns every saved object, dependencies first, for the indices
// of prefix (the exporter's index_prefix): only the data views' index
// patterns and the Vega spec's index depend on it.
func Objects(prefix string) []Object {
	objs := dataViews(prefix)
	objs = append(objs, searches()...)
	objs = append(objs, visualizations(prefix)...)
	objs = append(objs, dashboards()...)
	return objs
}

// NDJSON renders Objects(prefix) in Kibana's import format: one object per
// line. FileName holds it for journeystore.DefaultPrefix.
func NDJSON(prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, o := range Objects(prefix) {
		if err := enc.Encode(o); err != nil {
			return nil, fmt.Errorf("encoding %s %s: %w", o.Type, o.ID, err)
		}
	}
	return b.Bytes(), nil
}

// Field formats (Kibana field-format ids and params).
var (
	formatDuration = map[string]any{"id": "duration", "params": map[string]any{
		"inputFormat": "milliseconds", "outputFormat": "humanizePrecise", "outputPrecision": 1,
		"showSuffix": true, "useShortSuffix": true, "includeSpaceWithSuffix": true,
	}}
	formatPercent = map[string]any{"id": "percent", "params": map[string]any{"pattern": "0,0.[0]%"}}
	// Outcome values carry their own currency (webjourney.outcome.currency),
	// so no currency symbol is fixed here.
	formatMoney = map[string]any{"id": "number", "params": map[string]any{"pattern": "0,0.00"}}
)

func dataView(id, title, name string, formats map[string]any) Object {
	return newObject("index-pattern", id, map[string]any{
		"title":           title,
		"name":            name,
		"timeFieldName":   fieldTimestamp,
		"fieldFormatMap":  jsonString(formats),
		"fields":          "[]",
		"runtimeFieldMap": "{}",
		"fieldAttrs":      "{}",
		"sourceFilters":   "[]",
		"typeMeta":        "{}",
		"allowNoIndex":    true,
	}, nil)
}

// journeyFormats are the field formats of the visit and credit fields, for
// a data view over both (the events one, a partner's).
func journeyFormats() map[string]any {
	return map[string]any{
		em.AttrVisitDuration:          formatDuration,
		em.AttrVisitEngagedTime:       formatDuration,
		em.AttrOutcomeValue:           formatMoney,
		em.AttrOutcomeTimeToConvert:   formatDuration,
		em.AttrAttributionValue:       formatMoney,
		em.AttrAttributionCredit:      formatPercent,
		em.AttrOutcomeVisitsToConvert: map[string]any{"id": "number", "params": map[string]any{"pattern": "0,0.[0]"}},
	}
}

func dataViews(prefix string) []Object {
	l := journeystore.Layout{Prefix: prefix}
	events := journeyFormats()
	events[em.AttrEngagedTime] = formatDuration
	return []Object{
		dataView(DataViewEvents, l.Index(journeystore.FamilyEvents), "webjourney events", events),
		dataView(DataViewVisits, l.Index(journeystore.FamilyVisits), "webjourney visits", map[string]any{
			em.AttrVisitDuration:    formatDuration,
			em.AttrVisitEngagedTime: formatDuration,
			em.AttrOutcomeValue:     formatMoney,
		}),
		dataView(DataViewVisitors, l.Index(journeystore.FamilyVisitors), "webjourney visitors", map[string]any{
			em.AttrOutcomeValue: formatMoney,
		}),
		dataView(DataViewCredits, l.Index(journeystore.FamilyCredits), "webjourney attribution credits", map[string]any{
			em.AttrAttributionCredit:      formatPercent,
			em.AttrAttributionValue:       formatMoney,
			em.AttrOutcomeValue:           formatMoney,
			em.AttrOutcomeTimeToConvert:   formatDuration,
			em.AttrOutcomeVisitsToConvert: map[string]any{"id": "number", "params": map[string]any{"pattern": "0,0.[0]"}},
		}),
		// Its time field is the outcome's time, as the credits': one time
		// range shows the same outcomes credited and reported.
		dataView(DataViewPostbacks, l.Index(journeystore.FamilyPostbacks), "webjourney partner postbacks", map[string]any{
			em.AttrAttributionCredit: formatPercent,
			em.AttrAttributionValue:  formatMoney,
			em.AttrOutcomeValue:      formatMoney,
		}),
		dataView(DataViewFunnels, l.Index(journeystore.FamilyFunnels), "webjourney funnels", funnelFormats()),
	}
}

// funnelFormats are the funnel records' durations: from the first to the
// furthest step, and from each step to the next.
func funnelFormats() map[string]any {
	out := map[string]any{em.AttrFunnelDuration: formatDuration}
	for _, f := range em.AttrFunnelStepAfter[1:] {
		out[f] = formatDuration
	}
	return out
}

// searchSource is a searchSourceJSON with a KQL query and, for objects that
// reference a data view, the indexRefName Kibana resolves via references.
func searchSource(kql string, withIndex bool) string {
	ss := map[string]any{"query": map[string]any{"query": kql, "language": "kuery"}, "filter": []any{}}
	if withIndex {
		ss["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
	}
	return jsonString(ss)
}

// Saved search ids.
const (
	SearchVisitTimeline   = "webjourney-visit-timeline"
	SearchVisitsByVisitor = "webjourney-visits-by-visitor"
)

func savedSearch(id, title, description, dv, kql string, columns []string, sort [][]string) Object {
	return newObject("search", id, map[string]any{
		"title":            title,
		"description":      description,
		"columns":          columns,
		"sort":             sort,
		"grid":             map[string]any{},
		"hideChart":        true,
		"isTextBasedQuery": false,
		"timeRestore":      false,
		"kibanaSavedObjectMeta": map[string]any{
			"searchSourceJSON": searchSource(kql, true),
		},
	}, []Reference{{ID: dv, Name: "kibanaSavedObjectMeta.searchSourceJSON.index", Type: "index-pattern"}})
}

func searches() []Object {
	return []Object{
		savedSearch(SearchVisitTimeline, "[webjourney] Visit timeline",
			"Every event, grouped by visit and in time order within a visit.",
			DataViewEvents, em.AttrVisitID+` : *`,
			[]string{em.AttrVisitID, fieldEventName, em.AttrURLPath, em.AttrPageTitle, em.AttrEngagedTime, em.AttrOutcomeName, em.AttrChannelMedium},
			[][]string{{em.AttrVisitID, "asc"}, {fieldTimestamp, "asc"}}),
		savedSearch(SearchVisitsByVisitor, "[webjourney] Visits by visitor",
			"One row per visit, each visitor's visits together in order: filter on a visitor id to drill down.",
			DataViewVisits, "",
			[]string{em.AttrVisitorID, em.AttrVisitNumber, em.AttrChannelMedium, em.AttrChannelSource, em.AttrVisitLandingPage,
				em.AttrVisitSecondPage, em.AttrVisitExitPage, em.AttrVisitPagesViewed, em.AttrVisitEngagedTime, em.AttrVisitOutcomes},
			[][]string{{em.AttrVisitorID, "asc"}, {fieldTimestamp, "asc"}}),
	}
}

// Visualization ids that are not per-dashboard descriptions.
const (
	VisJourneySankey      = "webjourney-journeys-sankey"
	VisJourneyTransitions = "webjourney-journeys-transitions"
	VisRetention          = "webjourney-retention-heatmap"
	VisFunnels            = "webjourney-funnels-chart"
	VisFunnelNext         = "webjourney-funnels-next"
)

// DashboardFunnels is the funnels dashboard's id.
const DashboardFunnels = "webjourney-funnels"

func visualization(id, title, visType string, params map[string]any) Object {
	return newObject("visualization", id, map[string]any{
		"title":       title,
		"description": "",
		"uiStateJSON": "{}",
		"version":     1,
		"visState": jsonString(map[string]any{
			"title": title, "type": visType, "aggs": []any{}, "params": params,
		}),
		"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": searchSource("", false)},
	}, nil)
}

func markdownVis(id, title, text string) Object {
	return visualization(id, title, "markdown", map[string]any{
		"fontSize": 12, "openLinksInNewTab": false, "markdown": text,
	})
}

func visualizations(prefix string) []Object {
	var out []Object
	for _, d := range dashboardDefs() {
		out = append(out, markdownVis(d.id+"-about", d.title+": about", d.about))
	}
	out = append(out,
		visualization(VisJourneySankey, "[webjourney] Journeys: the first "+strconv.Itoa(SankeySteps)+" pages of each visit's path → outcome", "vega",
			map[string]any{"spec": SankeySpec(prefix)}),
		visualization(VisJourneyTransitions, "[webjourney] Journeys: transitions of one page (previous pages and entrances → page → next pages and exits)", "vega",
			map[string]any{"spec": TransitionsSpec(prefix, TransitionsPage)}),
		visualization(VisRetention, "[webjourney] Retention: visitors by first-seen week × weeks since", "vega",
			map[string]any{"spec": RetentionSpec(prefix)}),
		visualization(VisFunnels, "[webjourney] Funnels: records per step, share of step 1 and drop-off", "vega",
			map[string]any{"spec": FunnelSpec(prefix)}),
		visualization(VisFunnelNext, "[webjourney] Funnels: where did they go next (page after the last step of abandoned records)", "vega",
			map[string]any{"spec": FunnelNextSpec(prefix)}))
	return out
}
