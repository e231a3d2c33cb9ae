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

// Every event-model attribute must have a mapping, and the table must not
// map names the model does not have (besides the exporter's own fields).
func TestEveryAttributeIsMapped(t *testing.T) {
	for _, name := range eventmodel.AttributeNames {
		assert.Contains(t, eventFields, name, "eventmodel attribute %q has no mapping in eventFields", name)
	}
	own := map[string]bool{fieldTimestamp: true, fieldIngested: true, fieldEventName: true}
	for name := range eventFields {
		if !own[name] {
			assert.Contains(t, eventmodel.AttributeNames, name, "eventFields maps %q, which eventmodel does not declare", name)
		}
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
	assert.EqualValues(t, eventsTemplateVersion, got["version"])
	assert.Equal(t, map[string]any{"managed_by": "webjourney", "event_model_version": float64(eventmodel.SchemaVersion)}, got["_meta"])
	settings := got["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	assert.EqualValues(t, 1, settings["number_of_shards"])
	assert.Equal(t, "0-1", settings["auto_expand_replicas"])
	assert.Equal(t, "shop-events", eventsTemplateName("shop"))
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
