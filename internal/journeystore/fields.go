package journeystore

import (
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Document fields written from the LogRecord itself rather than from an
// attribute. They are Elasticsearch/ECS document fields, not event-model
// attribute names.
const (
	FieldTimestamp = "@timestamp"     // event time (LogRecord Timestamp); the data views' time field
	FieldIngested  = "event.ingested" // receive time (LogRecord ObservedTimestamp)
	FieldEventName = "event.name"     // LogRecord EventName
)

// Mapping snippets. ignore_above keeps an over-long string in _source but
// out of the index, so it never fails a document (Lucene refuses terms over
// 32766 bytes) and never bloats the terms dictionary.
var (
	mapKeyword     = map[string]any{"type": "keyword", "ignore_above": 1024}
	mapLongKeyword = map[string]any{"type": "keyword", "ignore_above": 2048} // URLs
	mapInteger     = map[string]any{"type": "integer"}
	mapLong        = map[string]any{"type": "long"}
	mapBoolean     = map[string]any{"type": "boolean"}
	mapIP          = map[string]any{"type": "ip"}
	mapDate        = map[string]any{"type": "date"}
	mapDouble      = map[string]any{"type": "double"}
	// Searchable title plus an exact keyword for terms aggregations.
	mapTitle = map[string]any{
		"type":   "text",
		"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 1024}},
	}
	// flattened maps all custom properties as one field, whatever their
	// keys: a site cannot blow up the mapping with its property names.
	mapFlattened = map[string]any{"type": "flattened", "ignore_above": 1024}
)

// mappingOf turns the event model's storage classes into field mappings.
var mappingOf = map[eventmodel.Mapping]map[string]any{
	eventmodel.MapKeyword:     mapKeyword,
	eventmodel.MapLongKeyword: mapLongKeyword,
	eventmodel.MapText:        mapTitle,
	eventmodel.MapInteger:     mapInteger,
	eventmodel.MapLong:        mapLong,
	eventmodel.MapDouble:      mapDouble,
	eventmodel.MapBoolean:     mapBoolean,
	eventmodel.MapIP:          mapIP,
	eventmodel.MapDate:        mapDate,
	eventmodel.MapFlattened:   mapFlattened,
}

// eventFields holds the mapped fields, keyed by dotted field name, shared
// by the events and the entity indices: entity records carry event names
// too (site, visitor, device, country, channel), and one table keeps a
// name's type the same in every index a Kibana view joins. It is the
// document's own fields plus every stored row of the event model's
// attribute table; a change there needs a bump of TemplateVersion (a test
// compares the mapping with a committed copy).
var eventFields = func() map[string]map[string]any {
	m := map[string]map[string]any{
		FieldTimestamp: mapDate,
		FieldIngested:  mapDate,
		FieldEventName: mapKeyword,
		// The partner_postback exporter stamps its decision onto the
		// credit records a postback sums (CreditStamp): the credits index
		// shares this mapping.
		eventmodel.PostbackID:       mapKeyword,
		eventmodel.PostbackDecision: mapKeyword,
		eventmodel.PostbackReason:   mapKeyword,
	}
	for i := range eventmodel.Attributes {
		if a := &eventmodel.Attributes[i]; a.Stored() {
			m[a.Name] = mappingOf[a.Mapping]
		}
	}
	return m
}()

// neverStored lists event-model attributes that no document may hold; the
// encoder leaves them out of every document (the routing key, a precise
// location).
var neverStored = eventmodel.NameSet(func(a *eventmodel.Attribute) bool { return !a.Stored() })

// removedWhenAnonymous lists what an anonymous event may not hold. The
// consent processor and the anonymizer remove these; the encoder leaves
// them out too, as the last line of defence for a pipeline that lacks
// either.
var removedWhenAnonymous = eventmodel.NameSet((*eventmodel.Attribute).RemovedWhenAnonymous)

// fieldShape classifies document field names against the mapping, so the
// encoder can leave out attributes that Elasticsearch would refuse because of
// their name alone (see attributeConflicts).
type fieldShape struct {
	leaves  map[string]bool // mapped field -> true when it takes sub-keys (flattened)
	objects map[string]bool // object paths: "url", "webjourney", "webjourney.page", ...
}

// storedShape is the field shape of eventFields.
var storedShape = newFieldShape()

func newFieldShape() *fieldShape {
	s := &fieldShape{leaves: map[string]bool{}, objects: map[string]bool{}}
	for name, m := range eventFields {
		s.leaves[name] = m["type"] == "flattened"
		for i := range len(name) {
			if name[i] == '.' {
				s.objects[name[:i]] = true
			}
		}
	}
	return s
}

// attributeConflicts reports whether a top-level attribute name cannot be
// stored: it is one of the neverStored names (never mapped, so checked off
// the common path), it names one of our own document fields (they are
// written from the LogRecord and must not appear twice), it is a mapped
// object ("url" holding a string), it nests under a mapped value
// ("url.full.x"), or Elasticsearch refuses it as a field name (empty,
// leading '.' or '_', "..", blank). Any but the first would fail the whole
// document.
func (s *fieldShape) attributeConflicts(name string) bool {
	if _, ok := s.leaves[name]; ok {
		// The common case: an event-model attribute.
		return name == FieldTimestamp || name == FieldIngested || name == FieldEventName
	}
	if neverStored[name] || name == "" || name[0] == '.' || name[0] == '_' || strings.Contains(name, "..") || strings.TrimSpace(name) == "" {
		return true
	}
	if s.objects[name] {
		return true
	}
	for i := range len(name) {
		if name[i] == '.' {
			if takesSubKeys, ok := s.leaves[name[:i]]; ok && !takesSubKeys {
				return true
			}
		}
	}
	return false
}
