package journeystore

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

// Every event-model attribute must have a mapping, unless it is never
// stored, and the table must not map names the model does not have
// (besides the exporter's own fields).
func TestEveryAttributeIsMapped(t *testing.T) {
	for _, name := range eventmodel.AttributeNames {
		_, mapped := eventFields[name]
		assert.True(t, mapped != neverStored[name], "eventmodel attribute %q: mapped=%v, never stored=%v; exactly one must hold", name, mapped, neverStored[name])
	}
	own := map[string]bool{FieldTimestamp: true, FieldIngested: true, FieldEventName: true,
		// The partner_postback exporter's stamp on credit records (CreditStamp).
		eventmodel.PostbackID: true, eventmodel.PostbackDecision: true, eventmodel.PostbackReason: true}
	for name := range eventFields {
		if !own[name] {
			assert.Contains(t, eventmodel.AttributeNames, name, "eventFields maps %q, which eventmodel does not declare", name)
		}
	}
	for name := range neverStored {
		assert.Contains(t, eventmodel.AttributeNames, name)
	}
}

func TestEventsMappingExpandsDottedNames(t *testing.T) {
	m := eventsMapping()
	assert.Equal(t, false, m["dynamic"])
	props := m["properties"].(map[string]any)

	url := props["url"].(map[string]any)["properties"].(map[string]any)
	assert.Equal(t, map[string]any{"type": "integer"}, url["port"])
	assert.Equal(t, map[string]any{"type": "keyword", "ignore_above": 2048}, url["full"])

	wj := props["webjourney"].(map[string]any)["properties"].(map[string]any)
	assert.Equal(t, "flattened", wj["properties"].(map[string]any)["type"])
	title := wj["page"].(map[string]any)["properties"].(map[string]any)["title"].(map[string]any)
	assert.Equal(t, "text", title["type"])

	assert.Equal(t, map[string]any{"type": "date"}, props["@timestamp"])
	assert.Equal(t, map[string]any{"type": "ip"}, props["client"].(map[string]any)["properties"].(map[string]any)["address"])
}

func TestEventsTemplate(t *testing.T) {
	shop := Layout{Prefix: "shop"}
	tpl := shop.template(FamilyEvents)
	raw, err := json.Marshal(tpl)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, []any{"shop-events-*"}, got["index_patterns"])
	assert.EqualValues(t, TemplateVersion, got["version"])
	assert.Equal(t, map[string]any{"managed_by": "webjourney", "family": "events", "event_model_version": float64(eventmodel.SchemaVersion)}, got["_meta"])
	settings := got["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	assert.EqualValues(t, 1, settings["number_of_shards"])
	assert.Equal(t, "0-1", settings["auto_expand_replicas"])
	assert.Equal(t, "500ms", settings["refresh_interval"], "events are searchable within a second (the Live dashboard)")
	assert.Equal(t, "shop-events", shop.TemplateName(FamilyEvents))
	visits := shop.template(FamilyVisits)["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	assert.NotContains(t, visits, "refresh_interval", "entity indices keep Elasticsearch's default")
}

// Each entity family has its own template for exactly its one index, with
// the shared mapping; the dead-letter template maps the original document
// as an unindexed string.
func TestEntityAndDeadLetterTemplates(t *testing.T) {
	shop := Layout{Prefix: "shop", DeadLetterIndex: "shop-dead-letter"}
	for f, want := range map[Family]string{FamilyVisits: "shop-visits", FamilyVisitors: "shop-visitors", FamilyCredits: "shop-credits"} {
		assert.Equal(t, want, shop.Index(f))
		assert.Equal(t, want, shop.TemplateName(f))
		tpl := shop.template(f)
		assert.Equal(t, []string{want}, tpl["index_patterns"])
		assert.EqualValues(t, TemplateVersion, tpl["version"])
		assert.Equal(t, f.String(), tpl["_meta"].(map[string]any)["family"])
		assert.Equal(t, eventsMapping(), tpl["template"].(map[string]any)["mappings"])
	}
	for name, f := range map[string]Family{
		eventmodel.EventVisit: FamilyVisits, eventmodel.EventVisitor: FamilyVisitors,
		eventmodel.EventAttributionCredit: FamilyCredits, eventmodel.EventPageView: FamilyEvents, "": FamilyEvents,
	} {
		assert.Equal(t, f, FamilyOf(name), name)
	}

	assert.Equal(t, "shop-dead-letter", shop.TemplateName(FamilyDeadLetter))
	tpl := shop.template(FamilyDeadLetter)
	assert.Equal(t, []string{"shop-dead-letter"}, tpl["index_patterns"])
	m := tpl["template"].(map[string]any)["mappings"].(map[string]any)
	assert.Equal(t, false, m["dynamic"])
	dl := m["properties"].(map[string]any)["dead_letter"].(map[string]any)["properties"].(map[string]any)
	assert.Equal(t, map[string]any{"type": "keyword", "index": false, "doc_values": false}, dl["document"])
}

func TestAttributeConflicts(t *testing.T) {
	s := newFieldShape()
	ok := []string{
		eventmodel.AttrURLFull, eventmodel.AttrProperties, eventmodel.AttrPageTitle,
		"custom", "app.version", "webjourney.future.name", "webjourney.properties.plan", // under flattened: fine
		"a.", "x-y",
	}
	for _, name := range ok {
		assert.False(t, s.attributeConflicts(name), name)
	}
	conflicts := []string{
		FieldTimestamp, FieldEventName, FieldIngested, // our own fields
		"url", "webjourney", "webjourney.page", "event", "log.record", // mapped objects
		"url.full.x", "url.port.number", "webjourney.page.title.keyword", // under a mapped value
		"", " ", ".a", "a..b", "_id", "_source", // refused field names
		eventmodel.AttrRoutingKey, // never stored
	}
	for _, name := range conflicts {
		assert.True(t, s.attributeConflicts(name), name)
	}
}

func TestMappingDrift(t *testing.T) {
	want := eventsMapping()
	got := storetest.AsJSON(t, want).(map[string]any)
	drift, err := mappingDrift(want, got)
	require.NoError(t, err)
	assert.Empty(t, drift, "the same mapping, decoded from JSON")

	props := got["properties"].(map[string]any)
	props["url"].(map[string]any)["properties"].(map[string]any)["port"] = map[string]any{"type": "long"}
	delete(props, "session")
	props["extra"] = map[string]any{"type": "keyword"}
	got["dynamic"] = "true"
	drift, err = mappingDrift(want, got)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`.: expected {"dynamic":false}, installed {"dynamic":"true"}`,
		`extra: expected none, installed {"type":"keyword"}`,
		`session.id: expected {"ignore_above":1024,"type":"keyword"}, installed none`,
		`url.port: expected {"type":"integer"}, installed {"type":"long"}`,
	}, drift)
}
