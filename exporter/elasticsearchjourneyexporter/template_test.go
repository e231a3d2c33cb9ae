package elasticsearchjourneyexporter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Every event-model attribute must have a mapping, unless it is never
// stored, and the table must not map names the model does not have
// (besides the exporter's own fields).
func TestEveryAttributeIsMapped(t *testing.T) {
	for _, name := range eventmodel.AttributeNames {
		_, mapped := eventFields[name]
		assert.True(t, mapped != neverStored[name], "eventmodel attribute %q: mapped=%v, never stored=%v; exactly one must hold", name, mapped, neverStored[name])
	}
	own := map[string]bool{fieldTimestamp: true, fieldIngested: true, fieldEventName: true}
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
	tpl := eventsTemplate("shop")
	raw, err := json.Marshal(tpl)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, []any{"shop-events-*"}, got["index_patterns"])
	assert.EqualValues(t, templateVersion, got["version"])
	assert.Equal(t, map[string]any{"managed_by": "webjourney", "family": "events", "event_model_version": float64(eventmodel.SchemaVersion)}, got["_meta"])
	settings := got["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	assert.EqualValues(t, 1, settings["number_of_shards"])
	assert.Equal(t, "0-1", settings["auto_expand_replicas"])
	assert.Equal(t, "shop-events", eventsTemplateName("shop"))
}

// Each entity family has its own template for exactly its one index, with
// the shared mapping; the dead-letter template maps the original document
// as an unindexed string.
func TestEntityAndDeadLetterTemplates(t *testing.T) {
	for f, want := range map[family]string{familyVisits: "shop-visits", familyVisitors: "shop-visitors", familyCredits: "shop-credits"} {
		assert.Equal(t, want, f.index("shop"))
		tpl := entityTemplate("shop", f)
		assert.Equal(t, []string{want}, tpl["index_patterns"])
		assert.EqualValues(t, templateVersion, tpl["version"])
		assert.Equal(t, f.name(), tpl["_meta"].(map[string]any)["family"])
		assert.Equal(t, eventsMapping(), tpl["template"].(map[string]any)["mappings"])
	}
	for name, f := range map[string]family{
		eventmodel.EventVisit: familyVisits, eventmodel.EventVisitor: familyVisitors,
		eventmodel.EventAttributionCredit: familyCredits, eventmodel.EventPageView: familyEvents, "": familyEvents,
	} {
		assert.Equal(t, f, familyOf(name), name)
	}

	tpl := deadLetterTemplate("shop-dead-letter")
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
		fieldTimestamp, fieldEventName, fieldIngested, // our own fields
		"url", "webjourney", "webjourney.page", "event", "log.record", // mapped objects
		"url.full.x", "url.port.number", "webjourney.page.title.keyword", // under a mapped value
		"", " ", ".a", "a..b", "_id", "_source", // refused field names
		eventmodel.AttrRoutingKey, // never stored
	}
	for _, name := range conflicts {
		assert.True(t, s.attributeConflicts(name), name)
	}
}

func TestWithoutValuePreview(t *testing.T) {
	r := "[1:50] failed to parse field [url.port] of type [integer] in document with id 'e1'. Preview of field's value: 'jane@example.com'"
	got := withoutValuePreview(r)
	assert.Equal(t, "[1:50] failed to parse field [url.port] of type [integer] in document with id 'e1'.", got)
	assert.Equal(t, "other", withoutValuePreview("other"))
}

func TestShortError(t *testing.T) {
	short := errors.New("short")
	assert.Same(t, short, shortError(short))
	long := shortError(errors.New(strings.Repeat("é", 400)))
	assert.LessOrEqual(t, len(long.Error()), maxErrorLen+len("…"))
	assert.True(t, utf8.ValidString(long.Error()))
}
