package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// family is the kind of document a record becomes: it decides the index
// and how the document is written.
type family uint8

const (
	familyEvents   family = iota // monthly indices, bulk create by event id
	familyVisits                 // the entity families: one index each,
	familyVisitors               // bulk index by entity id with the
	familyCredits                // entity version as external version
)

// entityFamilies lists the entity families in a fixed order.
var entityFamilies = [...]family{familyVisits, familyVisitors, familyCredits}

// familyOf returns the family of a record by its event name.
func familyOf(eventName string) family {
	switch eventName {
	case eventmodel.EventVisit:
		return familyVisits
	case eventmodel.EventVisitor:
		return familyVisitors
	case eventmodel.EventAttributionCredit:
		return familyCredits
	default:
		return familyEvents
	}
}

// name is the family's index suffix and the value of the templates'
// _meta.family.
func (f family) name() string {
	switch f {
	case familyVisits:
		return "visits"
	case familyVisitors:
		return "visitors"
	case familyCredits:
		return "credits"
	default:
		return "events"
	}
}

// index returns the entity family's index (and template) name,
// "<prefix>-visits", "<prefix>-visitors" or "<prefix>-credits".
//
// Entity indices are not time-based: a snapshot replaces the previous one
// by id, and Elasticsearch checks versions within one index only. A visit
// that crosses a month boundary, or a visitor seen for years, must stay
// one document, so its index cannot depend on time; expired documents are
// deleted by date instead (see retention.go).
func (f family) index(prefix string) string { return prefix + "-" + f.name() }

// Why an entity record cannot be written; the dead-letter document and the
// log carry the text.
const (
	problemEntityID      = "webjourney.entity.id is missing, not a string, empty or over 512 bytes"
	problemEntityVersion = "webjourney.entity.version is missing, not an int or not positive"
)

// entityRef returns the document id and external version of an entity
// record, or the problem that keeps it from being written.
func entityRef(lr plog.LogRecord) (id string, version int64, problem string) {
	attrs := lr.Attributes()
	v, ok := attrs.Get(eventmodel.AttrEntityID)
	if !ok || v.Type() != pcommon.ValueTypeStr || v.Str() == "" || len(v.Str()) > maxEventIDBytes {
		return "", 0, problemEntityID
	}
	id = v.Str()
	// Only an int: a double could not carry a nanosecond-time version
	// exactly, and a rounded version could order two snapshots wrongly.
	ver, ok := attrs.Get(eventmodel.AttrEntityVersion)
	if !ok || ver.Type() != pcommon.ValueTypeInt || ver.Int() <= 0 {
		return id, 0, problemEntityVersion
	}
	return id, ver.Int(), ""
}
