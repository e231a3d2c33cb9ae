package journeystore

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Fields of a dead-letter document besides @timestamp (when it was
// dead-lettered) and event.name (the record's).
const (
	fieldDLIndex     = "dead_letter.index"    // where the document was going
	fieldDLID        = "dead_letter.id"       // its _id there, when it had one
	fieldDLVersion   = "dead_letter.version"  // its entity version, for entities
	fieldDLDocument  = "dead_letter.document" // the document as JSON text
	fieldErrorStatus = "error.status"         // the item's HTTP status; absent when never sent
	fieldErrorType   = "error.type"           // Elasticsearch's error type, or invalid_event_id / invalid_entity
	fieldErrorReason = "error.reason"         // Elasticsearch's reason without the value preview
	fieldErrorCause  = "error.caused_by.type"
)

// deadLetterFields maps the dead-letter index. The original document is one
// string that is neither indexed nor has doc values: whatever made it
// unstorable (a bad value, a huge field, thousands of keys) cannot fail the
// dead-letter document too. Site, visitor and user id are copied out of it
// as keywords so that an erasure request finds the document.
var deadLetterFields = map[string]map[string]any{
	FieldTimestamp:   mapDate,
	FieldEventName:   mapKeyword,
	fieldDLIndex:     mapKeyword,
	fieldDLID:        mapKeyword,
	fieldDLVersion:   mapLong,
	fieldDLDocument:  {"type": "keyword", "index": false, "doc_values": false},
	fieldErrorStatus: mapInteger,
	fieldErrorType:   mapKeyword,
	fieldErrorReason: mapLongKeyword,
	fieldErrorCause:  mapKeyword,

	eventmodel.AttrSiteID:    mapKeyword,
	eventmodel.AttrVisitorID: mapKeyword,
	eventmodel.AttrUserID:    mapKeyword,
}

// deadLetterSubject lists the attributes copied into a dead-letter
// document for erasure.
var deadLetterSubject = [...]string{eventmodel.AttrSiteID, eventmodel.AttrVisitorID, eventmodel.AttrUserID}

// Refusal is why a record's document was refused for good, as its
// dead-letter document records it. It holds no document content: the
// document may carry personal data.
type Refusal struct {
	// Where the document was going: its index, _id (when it had one) and
	// entity version (for entities).
	Index, ID string
	Version   int64
	// Status is the item's HTTP status; 0 when the document was never
	// sent.
	Status int
	// Type is Elasticsearch's error type (or the sender's own, e.g.
	// invalid_event_id), Reason its reason without any quoted value,
	// CauseType the type of its cause.
	Type, Reason, CauseType string
}

// AppendDeadLetter appends the dead-letter document of the refused record
// lr, whose document was doc, dead-lettered at now.
func (r *Refusal) AppendDeadLetter(buf []byte, lr plog.LogRecord, doc []byte, now time.Time) []byte {
	buf = append(buf, `{"`+FieldTimestamp+`":"`...)
	buf = now.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","`+fieldDLIndex+`":`...)
	buf = appendJSONString(buf, r.Index)
	if r.ID != "" {
		buf = append(buf, `,"`+fieldDLID+`":`...)
		buf = appendJSONString(buf, r.ID)
	}
	if r.Version > 0 {
		buf = append(buf, `,"`+fieldDLVersion+`":`...)
		buf = strconv.AppendInt(buf, r.Version, 10)
	}
	if name := lr.EventName(); name != "" {
		buf = append(buf, `,"`+FieldEventName+`":`...)
		buf = appendJSONString(buf, name)
	}
	if r.Status != 0 {
		buf = append(buf, `,"`+fieldErrorStatus+`":`...)
		buf = strconv.AppendInt(buf, int64(r.Status), 10)
	}
	buf = append(buf, `,"`+fieldErrorType+`":`...)
	buf = appendJSONString(buf, r.Type)
	buf = append(buf, `,"`+fieldErrorReason+`":`...)
	buf = appendJSONString(buf, r.Reason)
	if r.CauseType != "" {
		buf = append(buf, `,"`+fieldErrorCause+`":`...)
		buf = appendJSONString(buf, r.CauseType)
	}
	for _, k := range deadLetterSubject {
		if v, ok := lr.Attributes().Get(k); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			buf = append(buf, ',')
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendJSONString(buf, v.Str())
		}
	}
	buf = append(buf, `,"`+fieldDLDocument+`":`...)
	buf = appendJSONString(buf, string(doc))
	return append(buf, '}')
}

// DeadLetterID is the _id of the dead-letter document of doc. It makes a
// replayed refusal a 409 instead of a second dead-letter document: the
// same target, id, version and document give the same id.
func (r *Refusal) DeadLetterID(doc []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Index + "\x00" + r.ID + "\x00" + strconv.FormatInt(r.Version, 10) + "\x00"))
	h.Write(doc)
	return hex.EncodeToString(h.Sum(nil)[:16])
}
