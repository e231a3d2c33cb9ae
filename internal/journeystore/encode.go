package journeystore

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
)

// maxValueDepth bounds how deep nested maps and slices are written as JSON
// (Elasticsearch's own default object depth limit is 20). A deeper value is
// written as its JSON text in a string, so nothing is lost and the encoder
// never recurses without bound on hostile input.
const maxValueDepth = 20

// Encoder turns log records into the documents of a layout. It is not safe
// for concurrent use; each push makes its own.
type Encoder struct {
	prefix string
	now    time.Time // event time of records that carry no timestamp at all

	// The index name of the last month seen: a push almost always spans
	// one month, so this saves building the name per record.
	lastMonth int
	lastIndex string

	// entityIndex holds the index of each entity family.
	entityIndex [FamilyFunnels + 1]string

	// keys is a stack of the keys written so far in the maps being
	// encoded, to skip repeated keys without allocating per map.
	keys []string

	// erased holds the erasure requests of the push that were carried
	// out, by event id: their documents name a hash, not the ids.
	erased map[string]*Erasure
}

// NewEncoder returns an encoder for the indices of prefix. now is the event
// time of a record without any timestamp. erased holds the erasure
// requests carried out before the documents are written, by event id (see
// ErasureRequest); their documents keep a hash of the subject instead of
// the ids.
func NewEncoder(prefix string, now time.Time, erased map[string]*Erasure) *Encoder {
	e := &Encoder{prefix: prefix, now: now, lastMonth: -1, erased: erased}
	l := Layout{Prefix: prefix}
	for _, f := range entityFamilies {
		e.entityIndex[f] = l.Index(f)
	}
	return e
}

// Document is where and how one encoded record is written.
type Document struct {
	Family Family
	Index  string
	// ID is the document _id: the event id of an event, the entity id of
	// an entity; empty when the record has none that is usable.
	ID string
	// Version is an entity's external version: a snapshot replaces the
	// stored one only when its version is higher. 0 for events.
	Version int64
	// Problem says why the record cannot be written (no usable id or
	// version); empty when it can. The document is encoded anyway, for the
	// dead-letter index.
	Problem string
	// Dropped counts the attributes left out because Elasticsearch would
	// refuse their names (see attributeConflicts).
	Dropped int
}

// Why a record cannot be written; the dead-letter document and the log
// carry the text.
const (
	problemEventID       = "log.record.uid is missing, not a string, empty or over 512 bytes"
	problemEntityID      = "webjourney.entity.id is missing, not a string, empty or over 512 bytes"
	problemEntityVersion = "webjourney.entity.version is missing, not an int or not positive"
)

// maxEventIDBytes is Elasticsearch's limit on _id. A longer id fails the
// whole bulk request (not just its item), so it must never be sent.
const maxEventIDBytes = 512

// eventID returns the record's log.record.uid, which becomes the document
// _id; ok is false when it is missing, empty, not a string or too long.
func eventID(lr plog.LogRecord) (id string, ok bool) {
	v, found := lr.Attributes().Get(eventmodel.AttrEventID)
	if !found || v.Type() != pcommon.ValueTypeStr || v.Str() == "" || len(v.Str()) > maxEventIDBytes {
		return "", false
	}
	return v.Str(), true
}

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

// eventTime is the record's event time (eventrecord.Time), else the time
// of the push.
func (e *Encoder) eventTime(lr plog.LogRecord) time.Time {
	if t := eventrecord.Time(lr); !t.IsZero() {
		return t
	}
	return e.now.UTC()
}

// indexFor returns the events index of the month of t (Layout.EventsIndex).
func (e *Encoder) indexFor(t time.Time) string {
	y, m, _ := t.UTC().Date()
	key := y*12 + int(m)
	if key != e.lastMonth {
		e.lastMonth, e.lastIndex = key, string(appendEventsIndex(make([]byte, 0, len(e.prefix)+16), e.prefix, t))
	}
	return e.lastIndex
}

// Append appends the JSON document of lr to buf and returns it with where
// and how the document is written.
//
// The document holds @timestamp (event time), event.ingested (observed time,
// when set), event.name (when set) and every attribute under its own dotted
// name, except the neverStored ones. Resource attributes, scope, severity
// and body are not part of the event model and are not written: the body in
// particular is not covered by the consent and anonymizer processors, which
// work on attributes.
//
// An entity record (visit, visitor, credit) goes to its family's index;
// its @timestamp is the record's Timestamp (visit start, first seen,
// outcome time).
func (e *Encoder) Append(buf []byte, lr plog.LogRecord) ([]byte, Document) {
	t := e.eventTime(lr)
	doc := Document{Family: FamilyOf(lr.EventName())}
	if doc.Family == FamilyEvents {
		doc.Index = e.indexFor(t)
		var ok bool
		if doc.ID, ok = eventID(lr); !ok {
			doc.Problem = problemEventID
		}
	} else {
		doc.Index = e.entityIndex[doc.Family]
		doc.ID, doc.Version, doc.Problem = entityRef(lr)
	}

	buf = append(buf, `{"`+FieldTimestamp+`":"`...)
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, '"')
	if ts := lr.ObservedTimestamp(); ts != 0 {
		buf = append(buf, `,"`+FieldIngested+`":"`...)
		buf = ts.AsTime().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, '"')
	}
	if name := lr.EventName(); name != "" {
		buf = append(buf, `,"`+FieldEventName+`":`...)
		buf = appendJSONString(buf, name)
	}

	e.keys = e.keys[:0]
	stamp := 0 // the months of webjourney.retention.max_months, when set
	attrs := lr.Attributes()
	set := bigMapSet(attrs)
	anonymous := isAnonymous(attrs)
	var er *Erasure
	if lr.EventName() == eventmodel.EventErasureRequest {
		er = e.erased[doc.ID]
	}
	for k, v := range attrs.All() {
		if er != nil && (k == eventmodel.AttrVisitorID || k == eventmodel.AttrUserID) {
			continue // erased: the audit record keeps only a hash
		}
		if anonymous && removedWhenAnonymous[k] {
			continue
		}
		if k == eventmodel.AttrRetentionMonths && stamp == 0 {
			stamp = StampedMonths(v)
		}
		if storedShape.attributeConflicts(k) {
			if !neverStored[k] { // left out by design, not by accident
				doc.Dropped++
			}
			continue
		}
		if e.repeated(0, k, set) {
			// A map decoded from the wire can repeat a key; Elasticsearch
			// refuses duplicate fields, so the first value wins (as in
			// pcommon.Map.Get).
			continue
		}
		buf = append(buf, ',')
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = e.appendValue(buf, v, 1)
	}
	if er != nil {
		buf = append(buf, `,"`+eventmodel.AttrErasureSubject+`":"`...)
		buf = append(buf, er.Subject()...)
		buf = append(buf, `","`+eventmodel.AttrErasureDeleted+`":`...)
		buf = strconv.AppendInt(buf, er.Deleted, 10)
	}
	buf = append(buf, '}')
	if stamp > 0 && doc.Family == FamilyEvents {
		doc.Index = string(appendStampedEventsIndex(make([]byte, 0, len(e.prefix)+24), e.prefix, t, stamp))
	}
	return buf, doc
}

// isAnonymous reports whether the consent processor made the event anonymous.
func isAnonymous(attrs pcommon.Map) bool {
	v, ok := attrs.Get(eventmodel.AttrConsentDecision)
	return ok && v.Type() == pcommon.ValueTypeStr && v.Str() == eventmodel.DecisionAnonymous
}

// linearKeyCheck is the map size up to which repeated keys are found by a
// linear scan; larger maps (possible over OTLP) get a hash set so encoding
// stays linear.
const linearKeyCheck = 64

func bigMapSet(m pcommon.Map) map[string]struct{} {
	if m.Len() <= linearKeyCheck {
		return nil
	}
	return make(map[string]struct{}, m.Len())
}

// repeated reports whether k was already written in the current map and
// records it otherwise. The keys of the current map are e.keys[base:], or
// set for a large map.
func (e *Encoder) repeated(base int, k string, set map[string]struct{}) bool {
	if set != nil {
		if _, ok := set[k]; ok {
			return true
		}
		set[k] = struct{}{}
		return false
	}
	for _, seen := range e.keys[base:] {
		if seen == k {
			return true
		}
	}
	e.keys = append(e.keys, k)
	return false
}

// appendValue writes v as JSON: maps as objects, slices as arrays, bytes as
// base64 strings, non-finite doubles as strings ("NaN", "+Inf", "-Inf"),
// empty values as null.
func (e *Encoder) appendValue(buf []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(buf, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendFloat(buf, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeBytes:
		buf = append(buf, '"')
		buf = base64.StdEncoding.AppendEncode(buf, v.Bytes().AsRaw())
		return append(buf, '"')
	case pcommon.ValueTypeMap:
		if depth >= maxValueDepth {
			return appendJSONString(buf, v.AsString())
		}
		base := len(e.keys)
		m := v.Map()
		set := bigMapSet(m)
		buf = append(buf, '{')
		first := true
		for k, mv := range m.All() {
			if e.repeated(base, k, set) {
				continue
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = e.appendValue(buf, mv, depth+1)
		}
		e.keys = e.keys[:base]
		return append(buf, '}')
	case pcommon.ValueTypeSlice:
		if depth >= maxValueDepth {
			return appendJSONString(buf, v.AsString())
		}
		s := v.Slice()
		buf = append(buf, '[')
		for i := range s.Len() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = e.appendValue(buf, s.At(i), depth+1)
		}
		return append(buf, ']')
	default: // pcommon.ValueTypeEmpty
		return append(buf, "null"...)
	}
}

// appendFloat formats like encoding/json (shortest representation, exponent
// only for very large or small magnitudes); JSON has no NaN or Inf.
func appendFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Inf"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(buf, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as in encoding/json, so every document is valid JSON whatever the input.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
