package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

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
	fieldTimestamp:   mapDate,
	fieldEventName:   mapKeyword,
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

// deadLetterTemplate is the body of PUT _index_template/<index>. The
// template is named after the index, so collectors that share one
// dead-letter index share one template.
func deadLetterTemplate(index string) map[string]any {
	return indexTemplate([]string{index}, "dead_letter", expandMapping(deadLetterFields))
}

// appendDeadLetter appends the dead-letter document of refused record lr,
// whose document was doc.
func appendDeadLetter(buf []byte, r *refusal, lr plog.LogRecord, doc []byte, now time.Time) []byte {
	buf = append(buf, `{"`+fieldTimestamp+`":"`...)
	buf = now.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","`+fieldDLIndex+`":`...)
	buf = appendJSONString(buf, r.index)
	if r.id != "" {
		buf = append(buf, `,"`+fieldDLID+`":`...)
		buf = appendJSONString(buf, r.id)
	}
	if r.version > 0 {
		buf = append(buf, `,"`+fieldDLVersion+`":`...)
		buf = strconv.AppendInt(buf, r.version, 10)
	}
	if name := lr.EventName(); name != "" {
		buf = append(buf, `,"`+fieldEventName+`":`...)
		buf = appendJSONString(buf, name)
	}
	if r.status != 0 {
		buf = append(buf, `,"`+fieldErrorStatus+`":`...)
		buf = strconv.AppendInt(buf, int64(r.status), 10)
	}
	buf = append(buf, `,"`+fieldErrorType+`":`...)
	buf = appendJSONString(buf, r.errType)
	buf = append(buf, `,"`+fieldErrorReason+`":`...)
	buf = appendJSONString(buf, r.reason)
	if r.causeType != "" {
		buf = append(buf, `,"`+fieldErrorCause+`":`...)
		buf = appendJSONString(buf, r.causeType)
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

// deadLetterID makes a replayed refusal a 409 instead of a second
// dead-letter document: the same target, id, version and document give
// the same id.
func deadLetterID(r *refusal, doc []byte) string {
	h := sha256.New()
	h.Write([]byte(r.index + "\x00" + r.id + "\x00" + strconv.FormatInt(r.version, 10) + "\x00"))
	h.Write(doc)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// deadLetters collects the outcome of one push's dead-letter documents.
type deadLetters struct {
	mu     sync.Mutex
	stored int
	failed []refusal // the refused record, with why dead-lettering failed
}

func (d *deadLetters) fail(r refusal, status int, errType, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r.dlStatus, r.dlErrType, r.dlReason = status, errType, reason
	d.failed = append(d.failed, r)
}

// addDeadLetters adds a dead-letter document for every refused record to
// the push's bulk indexer, after the documents' own outcomes are known.
// flushErr is the error of that flush: when it failed (the push's time is
// up), nothing is attempted and every refusal counts as failed.
func (e *eventsExporter) addDeadLetters(ctx context.Context, bi esutil.BulkIndexer, ld plog.Logs, buf []byte,
	docs []pendingDoc, refused []refusal, flushErr error,
) *deadLetters {
	out := &deadLetters{}
	if flushErr != nil {
		for _, r := range refused {
			out.fail(r, 0, "not_attempted", shortError(flushErr).Error())
		}
		return out
	}
	at := make(map[int]int, len(refused)) // record position -> refused index
	for j, r := range refused {
		at[r.pos] = j
	}
	now := time.Now()
	var dlBuf []byte
	bounds := make([][2]int, len(refused)) // of each dead-letter document in dlBuf
	forEachRecord(ld, func(i int, lr plog.LogRecord) {
		if j, ok := at[i]; ok {
			start := len(dlBuf)
			dlBuf = appendDeadLetter(dlBuf, &refused[j], lr, buf[docs[i].start:docs[i].end], now)
			bounds[j] = [2]int{start, len(dlBuf)}
		}
	})
	for j := range refused {
		r := refused[j]
		body := dlBuf[bounds[j][0]:bounds[j][1]]
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Index:      e.cfg.DeadLetter.Index,
			Action:     "create", // a replay is a 409: already dead-lettered
			DocumentID: deadLetterID(&r, buf[docs[r.pos].start:docs[r.pos].end]),
			Body:       bytes.NewReader(body),
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				out.mu.Lock()
				out.stored++
				out.mu.Unlock()
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				switch {
				case err != nil:
					out.fail(r, 0, "request_failed", shortError(err).Error())
				case res.Status == http.StatusConflict:
					out.mu.Lock()
					out.stored++
					out.mu.Unlock()
				default:
					out.fail(r, res.Status, res.Error.Type, withoutValuePreview(res.Error.Reason))
				}
			},
		})
		if err != nil { // only a done context stops Add
			for _, rest := range refused[j:] {
				out.fail(rest, 0, "not_attempted", err.Error())
			}
			break
		}
	}
	return out
}

// logDeadLetterFailures warns about refused documents that are lost
// because the dead-letter index did not take them either.
func (e *eventsExporter) logDeadLetterFailures(failed []refusal) {
	for i, r := range failed {
		if i == maxLoggedRefusals {
			e.logger.Error("More refused documents could not be dead-lettered in the same push", zap.Int("count", len(failed)-i))
			break
		}
		e.logger.Error("A refused document could not be written to the dead-letter index either; it is lost",
			zap.String("dead_letter_index", e.cfg.DeadLetter.Index),
			zap.String("index", r.index),
			zap.String("id", r.id),
			zap.String("refusal", r.errType),
			zap.Int("status", r.dlStatus),
			zap.String("error.type", r.dlErrType),
			zap.String("error.reason", r.dlReason))
	}
}
