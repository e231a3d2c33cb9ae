package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// deadLetters collects the outcome of one push's dead-letter documents.
type deadLetters struct {
	mu     sync.Mutex
	stored int
	failed []refusal // the refused record, with why dead-lettering failed
}

func (d *deadLetters) store() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stored++
}

func (d *deadLetters) fail(r refusal, status int, errType, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r.dlStatus, r.dlErrType, r.dlReason = status, errType, reason
	d.failed = append(d.failed, r)
}

// addDeadLetters adds a dead-letter document for every refused record of
// the push to its bulk indexer, after the documents' own outcomes are
// known. flushErr is the error of that flush: when it failed (the push's
// time is up), nothing is attempted and every refusal counts as failed.
func (e *eventsExporter) addDeadLetters(ctx context.Context, bi esutil.BulkIndexer, p *push, refused []refusal, flushErr error) *deadLetters {
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
	forEachRecord(p.ld, func(i int, lr plog.LogRecord) {
		if j, ok := at[i]; ok {
			start := len(dlBuf)
			dlBuf = refused[j].AppendDeadLetter(dlBuf, lr, p.document(i), now)
			bounds[j] = [2]int{start, len(dlBuf)}
		}
	})
	for j := range refused {
		r := refused[j]
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Index:      e.cfg.DeadLetter.Index,
			Action:     "create", // a replay is a 409: already dead-lettered
			DocumentID: r.DeadLetterID(p.document(r.pos)),
			Body:       bytes.NewReader(dlBuf[bounds[j][0]:bounds[j][1]]),
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				out.store()
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				switch {
				case err != nil:
					out.fail(r, 0, "request_failed", shortError(err).Error())
				case res.Status == http.StatusConflict:
					out.store()
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
			zap.String("index", r.Index),
			zap.String("id", r.ID),
			zap.String("refusal", r.Type),
			zap.Int("status", r.dlStatus),
			zap.String("error.type", r.dlErrType),
			zap.String("error.reason", r.dlReason))
	}
}
