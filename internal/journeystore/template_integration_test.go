package journeystore

// Index templates against the real Elasticsearch at ELASTICSEARCH_URL
// (skipped when unset, failed under WEBJOURNEY_REQUIRE_ES=1).

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

func TestTemplateInstalledWithExactMapping(t *testing.T) {
	st, es := newTestStore(t, false)
	prefix := st.layout.Prefix
	install(t, st)

	want := storetest.AsJSON(t, st.layout.template(FamilyEvents)).(map[string]any)
	// Elasticsearch stores settings as strings and adds composed_of.
	want["template"].(map[string]any)["settings"] = map[string]any{
		"index": map[string]any{"number_of_shards": "1", "auto_expand_replicas": "0-1", "refresh_interval": eventsRefreshInterval},
	}
	want["composed_of"] = []any{}
	assert.Equal(t, want, es.InstalledTemplate(prefix+"-events"))

	// The index the first event creates carries exactly that mapping, and is
	// green on one node.
	write(t, st, storetest.PageViewWithID(storetest.UniqueID(t, 1)))
	index := prefix + "-events-2026.11"
	wantMapping := storetest.AsJSON(t, eventsMapping()).(map[string]any)
	wantMapping["dynamic"] = "false" // how Elasticsearch reports it on an index
	assert.Equal(t, wantMapping, es.Mapping(index))

	var health struct {
		Status string `json:"status"`
	}
	es.Decode(http.MethodGet, "/_cluster/health/"+index+"?wait_for_status=green&timeout=10s", nil, &health)
	assert.Equal(t, "green", health.Status)
}

func TestSecondInstallKeepsInstalledTemplate(t *testing.T) {
	st, es := newTestStore(t, false)
	prefix := st.layout.Prefix
	install(t, st)

	// Mark the installed template (same version): a second installation
	// (the next collector start) must not PUT it again, so the marker must
	// survive.
	tpl := es.InstalledTemplate(prefix + "-events")
	tpl["_meta"].(map[string]any)["marker"] = "set by the test"
	status, raw := es.Do(http.MethodPut, "/_index_template/"+st.layout.TemplateName(FamilyEvents), tpl)
	require.Equal(t, http.StatusOK, status, string(raw))

	second := install(t, st)
	assert.Equal(t, TemplateInstall{Name: prefix + "-events", Outcome: TemplateUpToDate, Previous: TemplateVersion}, second[0])
	assert.Equal(t, "set by the test", es.InstalledTemplate(prefix + "-events")["_meta"].(map[string]any)["marker"])
	assert.EqualValues(t, TemplateVersion, es.InstalledTemplate(prefix + "-events")["version"])
}

func TestOlderTemplateIsReplacedNewerIsKept(t *testing.T) {
	st, es := newTestStore(t, false)
	prefix := st.layout.Prefix
	name := "/_index_template/" + st.layout.TemplateName(FamilyEvents)

	older := storetest.AsJSON(t, st.layout.template(FamilyEvents)).(map[string]any)
	older["version"] = TemplateVersion - 1
	status, raw := es.Do(http.MethodPut, name, older)
	require.Equal(t, http.StatusOK, status, string(raw))
	assert.Equal(t, TemplateInstall{Name: prefix + "-events", Outcome: TemplateInstalled, Previous: TemplateVersion - 1}, install(t, st)[0])
	assert.EqualValues(t, TemplateVersion, es.InstalledTemplate(prefix + "-events")["version"])

	newer := storetest.AsJSON(t, st.layout.template(FamilyEvents)).(map[string]any)
	newer["version"] = TemplateVersion + 10
	status, raw = es.Do(http.MethodPut, name, newer)
	require.Equal(t, http.StatusOK, status, string(raw))
	assert.Equal(t, TemplateInstall{Name: prefix + "-events", Outcome: TemplateLeftNewer, Previous: TemplateVersion + 10}, install(t, st)[0])
	assert.EqualValues(t, TemplateVersion+10, es.InstalledTemplate(prefix + "-events")["version"])
}

// Upgrading from the version-3 template (events only, no journey names):
// the new templates are installed and the indices that already exist get
// the new fields, so this month's events and the entity indices can be
// searched by them at once.
func TestUpgradeMapsNewFieldsInExistingIndices(t *testing.T) {
	st, es := newTestStore(t, false)
	prefix := st.layout.Prefix

	v3 := storetest.AsJSON(t, st.layout.template(FamilyEvents)).(map[string]any)
	v3["version"] = 3
	props := v3["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	wj := props["webjourney"].(map[string]any)["properties"].(map[string]any)
	for _, journey := range []string{"visit", "channel", "outcome", "attribution", "entity"} {
		delete(wj, journey)
	}
	status, raw := es.Do(http.MethodPut, "/_index_template/"+st.layout.TemplateName(FamilyEvents), v3)
	require.Equal(t, http.StatusOK, status, string(raw))
	index := prefix + "-events-2026.11"
	status, raw = es.Do(http.MethodPut, "/"+index, nil)
	require.Equal(t, http.StatusOK, status, string(raw))
	// An entity index made by hand before its template existed.
	status, raw = es.Do(http.MethodPut, "/"+prefix+"-visits", map[string]any{"mappings": map[string]any{"dynamic": false}})
	require.Equal(t, http.StatusOK, status, string(raw))

	install(t, st)
	assert.EqualValues(t, TemplateVersion, es.InstalledTemplate(prefix + "-events")["version"])
	write(t, st, func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, 1))
		lr.Attributes().PutStr(eventmodel.AttrVisitID, "0c9d")
	}, storetest.Visit("v-1", 1, "shop", "k1:a"))
	assert.Len(t, es.Search(index, map[string]any{"term": map[string]any{eventmodel.AttrVisitID: "0c9d"}}), 1)
	assert.Len(t, es.Search(prefix+"-visits", map[string]any{"range": map[string]any{
		eventmodel.AttrVisitStart: map[string]any{"gte": "2026-11-23T00:00:00Z"},
	}}), 1)
}

// Every entity family gets its own template, and its index the exact
// shared mapping.
func TestEntityTemplatesInstalled(t *testing.T) {
	st, es := newTestStore(t, true)
	prefix := st.layout.Prefix
	install(t, st)

	for _, f := range entityFamilies {
		tpl := es.InstalledTemplate(st.layout.TemplateName(f))
		assert.EqualValues(t, TemplateVersion, tpl["version"])
		assert.Equal(t, []any{st.layout.Index(f)}, tpl["index_patterns"])
	}
	assert.EqualValues(t, TemplateVersion, es.InstalledTemplate(prefix + "-dead-letter")["version"])

	write(t, st,
		storetest.Visit("v-1", 1, "shop", "k1:a"),
		storetest.Visitor("r-1", 1, "shop", "k1:a", storetest.VisitStart),
		storetest.Credit("c-1", "shop", "k1:a", storetest.VisitStart),
		storetest.Funnel("f-1", 1, "shop", "k1:a"),
	)
	wantMapping := storetest.AsJSON(t, eventsMapping()).(map[string]any)
	wantMapping["dynamic"] = "false"
	for _, f := range entityFamilies {
		index := st.layout.Index(f)
		assert.Equal(t, wantMapping, es.Mapping(index), index)
		assert.Equal(t, 1, es.CountIndex(index), index)
	}

	// The visit is stored field for field; its dates and numbers are
	// searchable with their types.
	version, src := es.StoredDoc(prefix+"-visits", "v-1")
	assert.EqualValues(t, 1, version)
	assert.Equal(t, "2026-11-23T09:00:00Z", src["@timestamp"])
	assert.Equal(t, eventmodel.EventVisit, src["event.name"])
	assert.Equal(t, "2026-11-23T09:12:00.4Z", src[eventmodel.AttrVisitLastActivity])
	assert.Equal(t, []any{"purchase"}, src[eventmodel.AttrVisitOutcomes])
	hits := es.Search(prefix+"-visits", map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"range": map[string]any{eventmodel.AttrVisitLastActivity: map[string]any{"gte": "2026-11-23T09:12:00Z"}}},
		map[string]any{"range": map[string]any{eventmodel.AttrVisitDuration: map[string]any{"gt": 760000}}},
		map[string]any{"term": map[string]any{eventmodel.AttrVisitOutcomes: "purchase"}},
		map[string]any{"term": map[string]any{eventmodel.AttrVisitBounce: false}},
	}}})
	assert.Len(t, hits, 1)
	hits = es.Search(prefix+"-credits", map[string]any{"range": map[string]any{eventmodel.AttrAttributionValue: map[string]any{"gt": 32.4, "lt": 32.5}}})
	assert.Len(t, hits, 1)
}

// An installation on an unreachable server fails and names the template.
func TestInstallTemplatesNamesTheFailure(t *testing.T) {
	st := openStore(t, "http://127.0.0.1:1", Layout{Prefix: "wj"})
	out, err := st.InstallTemplates(context.Background(), false)
	assert.Empty(t, out)
	assert.ErrorContains(t, err, "get index template wj-events: ")
}
