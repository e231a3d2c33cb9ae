package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// Values of the `reason` attribute of the docs_failed metric.
const (
	reasonInvalidEventID = "invalid_event_id" // permanent
	reasonInvalidEntity  = "invalid_entity"   // permanent: no usable entity id or version
	reasonRejected       = "rejected"         // permanent: Elasticsearch refused the document
	reasonItemRetryable  = "item_retryable"   // the document answered 429 or 5xx
	reasonRequestFailed  = "request_failed"   // the bulk request as a whole failed
	reasonTemplateMiss   = "template_missing" // the index template is not installed yet
	// Refusals the operator must fix (esclient.Cause): unauthorized (401),
	// forbidden (403), tls (handshake), not_elasticsearch and
	// unsupported_version (start); the records are kept for retry.
)

// bulkFlushBytes cuts a push into bulk requests of about 5 MB, the size
// Elasticsearch handles well (and the go-elasticsearch default).
const bulkFlushBytes = 5 << 20

// bulkFilterPath trims the bulk answer to what the outcome of each item
// needs. Items are matched to documents by position (esutil does), so
// their _index and _id, nearly half of a successful answer, are left out.
var bulkFilterPath = []string{
	"errors",
	"items.*.status",
	"items.*.error.type", "items.*.error.reason", "items.*.error.caused_by.type",
}

// outcome of one log record in a push.
type outcome uint8

const (
	outcomePending         outcome = iota // no answer (yet): retry
	outcomeIndexed                        // 201 created (or 200 replaced, for an entity)
	outcomeDuplicate                      // 409: an event already stored under this id
	outcomeVersionConflict                // 409: an entity already stored with this or a newer version
	outcomeInvalidID                      // permanent: an event without a usable id
	outcomeInvalidEntity                  // permanent: an entity without a usable id or version
	outcomeRejected                       // permanent
	outcomeItemRetry                      // 429 / 5xx for this document
	outcomeItemRefused                    // 401 / 403 for this document: retry once the operator fixed it
	outcomeErased                         // its subject is erased: not written
	outcomeRequestFailed                  // the bulk request failed
)

// pendingDoc is one encoded document of a push.
type pendingDoc struct {
	start, end int // in the push's document buffer
	index, id  string
	version    int64 // > 0: an entity, written with this external version
	// partner is the partner-facing copy of a visit or credit of a
	// referral partner (see journeystore's partner.go); nil for the rest.
	partner *pendingDoc
}

// refusal describes a permanently refused record for the log and the
// dead-letter index. Its fields hold no document content: the document may
// carry personal data.
type refusal struct {
	journeystore.Refusal
	pos       int    // of the record in the push
	eventName string // for records never sent (no usable id)

	// Why the dead-letter document failed, when it did.
	dlStatus            int
	dlErrType, dlReason string
}

// push is one pushLogs call: its records encoded, and what became of each.
type push struct {
	ld      plog.Logs
	buf     []byte       // every document, back to back
	docs    []pendingDoc // by record position
	invalid []refusal    // records that are never sent: no usable id or version
	dropped int          // attributes left out of the documents
	erased  sweep        // records of erased subjects, not sent
	// partners counts the partner-facing copies; partnerErr says why they
	// cannot be sent (their records are retried).
	partners   int
	partnerErr error

	// Written by the bulk indexer's callbacks, under mu.
	mu         sync.Mutex
	outcomes   []outcome // by record position
	rejected   []refusal // refused by Elasticsearch for good
	retryCause error     // the first reason to retry
	// The first document answered 401 or 403 (a missing index privilege
	// is reported per document).
	itemRefusal *journeystore.Refusal
	// partnerRetry marks the records whose partner-facing copy must be
	// sent again (429, 5xx, 401/403, a failed request).
	partnerRetry map[int]bool
}

// pushLogs writes every record as one document with bulk requests: events
// with "create" by event id, entity records (visits, visitors, credits)
// with "index" by entity id and the entity version as external version.
// Per record: created (or replaced by a newer entity version) -> sent; 409
// -> sent, counted as a duplicate event or an outdated entity snapshot;
// 429/5xx or a failed request -> returned for retry (only those records,
// through consumererror.NewLogs); no usable id or version, or any other
// refusal (e.g. a mapping conflict) -> permanent: counted, logged, written
// to the dead-letter index when one is configured, never retried. When
// every record of the push is lost this way the push returns a permanent
// error, so exporterhelper also counts and logs the loss.
func (e *eventsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	if !e.templateReady.Load() {
		err := e.lastTemplateError()
		e.countFailed(ctx, n, notReadyReason(err))
		return fmt.Errorf("%w: %w", errTemplateNotInstalled, err)
	}
	trial, refused := e.refusals.admit(time.Now())
	if refused != nil {
		e.countFailed(ctx, n, refused.Cause.String())
		return fmt.Errorf("not sent while Elasticsearch refuses the exports (retried after a backoff): %w", refused)
	}
	ctx, rec := esclient.WithRecorder(ctx)
	var itemRefusal *esclient.Error
	defer func() { e.afterPush(rec, trial, itemRefusal) }()

	// Every erasure recorded so far, by any collector or webjourneyctl,
	// before anything is written: no record of an erased subject goes out.
	if err := e.guard.sync(ctx, e.store, time.Now()); err != nil {
		e.countFailed(ctx, n, requestReason(rec))
		return consumererror.NewLogs(fmt.Errorf("erasures not read yet, retrying: %w", withRefusal(err, rec)), ld)
	}
	// Erasure requests are carried out before anything of the push is
	// written, so the stored request is the audit record of a finished
	// erasure.
	erased, err := e.eraseRequested(ctx, ld)
	if err != nil {
		e.countFailed(ctx, n, requestReason(rec))
		return fmt.Errorf("erasure request not carried out yet, retrying: %w", withRefusal(err, rec))
	}

	p := encodePush(ld, e.cfg.IndexPrefix, erased, e.guard, e.buffers.get(n))
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyAttributesDropped, p.dropped)
	if p.partners > 0 {
		p.partnerErr = e.ensurePartnerIndices(ctx)
	}
	if e.beforeSend != nil {
		e.beforeSend()
	}
	s, err := e.send(ctx, p)
	if err != nil {
		return fmt.Errorf("creating the bulk indexer: %w", err)
	}
	if s.done {
		// Every document was answered: nothing reads p.buf any more.
		e.buffers.put(p.buf, n)
	}
	t := p.collect(s.deadLetters)
	e.sweepErased(ctx, p, &t)
	if t.itemRefusal != nil {
		last, _ := rec.Last()
		r := t.itemRefusal
		itemRefusal = e.es.Refusal(last.Endpoint, r.Status, r.Type, r.Reason)
		t.retryCause = itemRefusal
	}
	if refusal := rec.Refusal(); refusal != nil {
		// The bulk request itself was refused: the refusal says it best.
		t.retryCause = refusal
	}
	e.count(ctx, &t, s.requests, requestReason(rec), itemRefusal)
	e.logRefusals(p.invalid, t.rejected)
	e.logDeadLetterFailures(t.dlFailed)
	return t.result(ld, s.closeErr)
}

// notReadyReason is the docs_failed reason of a push refused before the
// exporter is ready: the cause the operator must fix, else
// template_missing.
func notReadyReason(err error) string {
	var ee *esclient.Error
	if errors.As(err, &ee) && ee.Cause != esclient.CauseUnreachable {
		return ee.Cause.String()
	}
	return reasonTemplateMiss
}

// requestReason is the docs_failed reason of a failed request: the
// refusal's cause when Elasticsearch refused it (401, 403, TLS), else
// request_failed.
func requestReason(rec *esclient.Recorder) string {
	if refusal := rec.Refusal(); refusal != nil {
		return refusal.Cause.String()
	}
	return reasonRequestFailed
}

// withRefusal returns the refusal the recorder saw instead of err when
// there was one: it names the node, the cause and what to do.
func withRefusal(err error, rec *esclient.Recorder) error {
	if refusal := rec.Refusal(); refusal != nil {
		return refusal
	}
	return err
}

// eraseRequested carries out the erasure requests of a push before any of
// its documents is written, and returns them by event id so that the
// stored request names only a hash of whom it erased. An error leaves the
// push retryable; erasing again is harmless.
func (e *eventsExporter) eraseRequested(ctx context.Context, ld plog.Logs) (map[string]*journeystore.Erasure, error) {
	var done map[string]*journeystore.Erasure
	var err error
	forEachRecord(ld, func(_ int, lr plog.LogRecord) {
		if err != nil {
			return
		}
		id, er := journeystore.ErasureRequest(lr)
		if er == nil {
			return
		}
		// Noted before the deletion: this exporter's other pushes drop
		// and sweep the subject's records from now.
		e.guard.add(er, time.Now())
		if err = e.store.EraseSubject(ctx, er); err == nil {
			if done == nil {
				done = map[string]*journeystore.Erasure{}
			}
			done[id] = er
		}
	})
	return done, err
}

// encodePush encodes every record of ld into one buffer, with the
// partner-facing copy of each visit and credit of a referral partner. A
// record of an erased subject is not encoded: it is decided at once, and
// its subject swept after the push. A record without a usable id or
// version is encoded too (the dead-letter index keeps it) but decided at
// once: it is never sent.
// buf is an empty buffer for the documents, sized for the push.
func encodePush(ld plog.Logs, prefix string, erased map[string]*journeystore.Erasure, guard *erasureGuard, buf []byte) *push {
	n := ld.LogRecordCount()
	p := &push{
		ld:       ld,
		buf:      buf,
		docs:     make([]pendingDoc, n),
		outcomes: make([]outcome, n),
	}
	enc := journeystore.NewEncoder(prefix, time.Now(), erased)
	l := journeystore.Layout{Prefix: prefix}
	checkErased := !guard.empty()
	forEachRecord(ld, func(i int, lr plog.LogRecord) {
		if checkErased {
			if er := guard.erased(lr); er != nil {
				p.outcomes[i] = outcomeErased
				p.erased.add(er, i)
				return
			}
		}
		start := len(p.buf)
		var doc journeystore.Document
		p.buf, doc = enc.Append(p.buf, lr)
		p.dropped += doc.Dropped
		p.docs[i] = pendingDoc{start: start, end: len(p.buf), index: doc.Index, id: doc.ID, version: doc.Version}
		if doc.Problem == "" {
			p.addPartnerCopy(i, l, doc.Family, lr)
			return
		}
		r := refusal{pos: i, eventName: lr.EventName(), Refusal: journeystore.Refusal{Index: doc.Index, Reason: doc.Problem}}
		if doc.Family == journeystore.FamilyEvents {
			p.outcomes[i], r.Type = outcomeInvalidID, reasonInvalidEventID
		} else {
			p.outcomes[i], r.Type, r.ID, r.Version = outcomeInvalidEntity, reasonInvalidEntity, doc.ID, doc.Version
		}
		p.invalid = append(p.invalid, r)
	})
	return p
}

// addPartnerCopy encodes the partner-facing copy of record i, a visit or
// credit of a referral partner (the rest have none).
func (p *push) addPartnerCopy(i int, l journeystore.Layout, f journeystore.Family, lr plog.LogRecord) {
	pf, ok := journeystore.PartnerFamily(f)
	if !ok || str(lr.Attributes(), eventmodel.AttrChannelPartner) == "" {
		return
	}
	d := &p.docs[i]
	start := len(p.buf)
	buf, err := journeystore.AppendPartnerDocument(p.buf, pf, p.buf[d.start:d.end])
	if err != nil { // cannot happen: the encoder wrote the document
		p.buf = p.buf[:start]
		return
	}
	p.buf = buf
	d.partner = &pendingDoc{start: start, end: len(p.buf), index: l.Index(pf), id: journeystore.PartnerDocumentID(d.id), version: d.version}
	p.partners++
}

// document returns the encoded document of record i.
func (p *push) document(i int) []byte {
	d := &p.docs[i]
	return p.buf[d.start:d.end]
}

// sent is what sending a push leaves to report.
type sent struct {
	requests    int          // bulk requests made
	closeErr    error        // the indexer's error at close (e.g. the context is done)
	deadLetters *deadLetters // nil when nothing was dead-lettered
	// done: every document added was answered, so the indexer holds none
	// of the push's documents any more (false when the push's context
	// ended first: the indexer may still read them).
	done bool
}

// send writes the push's documents through a bulk indexer and, once their
// own outcomes are known, the dead-letter documents of the refused records
// through the same indexer.
func (e *eventsExporter) send(ctx context.Context, p *push) (sent, error) {
	bi, err := e.indexers.get(ctx)
	if err != nil {
		return sent{}, err
	}
	before := bi.Stats().NumRequests
	p.addTo(ctx, bi)
	flushErr := bi.Flush(ctx)
	var s sent
	if e.cfg.DeadLetter.Index != "" {
		if refused := p.refused(); len(refused) > 0 {
			s.deadLetters = e.addDeadLetters(ctx, bi, p, refused, flushErr)
			if flushErr == nil {
				flushErr = bi.Flush(ctx)
			}
		}
	}
	s.requests = int(bi.Stats().NumRequests - before)
	s.closeErr, s.done = flushErr, flushErr == nil
	e.indexers.put(bi, s.done)
	return s, nil
}

// addTo adds every document that can be sent to bi. Only a done context
// stops Add; what was not added stays pending and is retried.
func (p *push) addTo(ctx context.Context, bi esutil.BulkIndexer) {
	for i := range p.docs {
		if p.outcomes[i] != outcomePending { // no usable id: already decided
			continue
		}
		if err := bi.Add(ctx, p.item(i)); err != nil {
			break
		}
		if d := p.docs[i].partner; d != nil {
			if p.partnerErr != nil {
				p.retryPartner(i)
			} else if err := bi.Add(ctx, p.partnerItem(i, d)); err != nil {
				p.retryPartner(i)
				break
			}
		}
	}
}

// partnerItem is the bulk item of the partner-facing copy d of record i.
// A copy is written like its entity (external version); one that must be
// sent again makes its record retried (the entity is then a harmless 409).
func (p *push) partnerItem(i int, d *pendingDoc) esutil.BulkIndexerItem {
	return esutil.BulkIndexerItem{
		Index:       d.index,
		Action:      "index",
		DocumentID:  d.id,
		Version:     &d.version,
		VersionType: "external",
		Body:        bytes.NewReader(p.buf[d.start:d.end]),
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			switch {
			case err != nil, res.Status == http.StatusTooManyRequests, res.Status >= 500,
				res.Status == http.StatusUnauthorized, res.Status == http.StatusForbidden:
				p.retryPartner(i)
			}
			// 409: the same or a newer copy is stored. Anything else is
			// the copy's own fault (its subset of the entity's fields
			// cannot fail where the entity did not): not retried.
		},
	}
}

// retryPartner marks record i for retry because of its partner-facing copy.
func (p *push) retryPartner(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.partnerRetry == nil {
		p.partnerRetry = map[int]bool{}
	}
	p.partnerRetry[i] = true
}

// item is the bulk item of document i; its callbacks record the outcome.
func (p *push) item(i int) esutil.BulkIndexerItem {
	d := &p.docs[i]
	item := esutil.BulkIndexerItem{
		Index:      d.index,
		Action:     "create", // never overwrite: a replayed event is a 409, not a second copy
		DocumentID: d.id,
		Body:       bytes.NewReader(p.document(i)),
		OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
			p.settle(i, outcomeIndexed, nil)
		},
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			p.fail(i, res, err)
		},
	}
	if d.version > 0 {
		// A snapshot replaces the stored one only when its version is
		// higher; a late older one (or a replay) answers 409.
		item.Action, item.Version, item.VersionType = "index", &d.version, "external"
	}
	return item
}

// settle records the outcome of document i and the first cause to retry.
func (p *push) settle(i int, o outcome, cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outcomes[i] = o
	if cause != nil && p.retryCause == nil {
		p.retryCause = cause
	}
}

// fail records why document i was not stored: a failed request or a
// throttled item is retried, a 409 is a success, anything else a refusal.
func (p *push) fail(i int, res esutil.BulkIndexerResponseItem, err error) {
	d := &p.docs[i]
	switch {
	case err != nil:
		p.settle(i, outcomeRequestFailed, shortError(err))
	case res.Status == http.StatusConflict && d.version > 0:
		p.settle(i, outcomeVersionConflict, nil)
	case res.Status == http.StatusConflict:
		p.settle(i, outcomeDuplicate, nil)
	case res.Status == http.StatusTooManyRequests || res.Status >= 500:
		p.settle(i, outcomeItemRetry, fmt.Errorf("document answered HTTP %d %s", res.Status, res.Error.Type))
	case res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden:
		// A missing index privilege (or a read-only block) is not the
		// document's fault: keep it until the operator fixed it.
		p.mu.Lock()
		defer p.mu.Unlock()
		p.outcomes[i] = outcomeItemRefused
		if p.itemRefusal == nil {
			p.itemRefusal = &journeystore.Refusal{Index: d.index, Status: res.Status, Type: res.Error.Type, Reason: res.Error.Reason}
		}
	default:
		p.mu.Lock()
		defer p.mu.Unlock()
		p.outcomes[i] = outcomeRejected
		p.rejected = append(p.rejected, refusal{pos: i, Refusal: journeystore.Refusal{
			Index: d.index, ID: d.id, Version: d.version, Status: res.Status, Type: res.Error.Type,
			Reason: withoutValuePreview(res.Error.Reason), CauseType: res.Error.Cause.Type,
		}})
	}
}

// refused returns the records refused for good so far: those never sent,
// then those Elasticsearch refused.
func (p *push) refused() []refusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(slices.Clone(p.invalid), p.rejected...)
}

// tally is what became of a push's records.
type tally struct {
	n            int
	count        [outcomeRequestFailed + 1]int
	retry        []bool    // by record position: handed back for retry
	retryCause   error     // the first reason to retry, if one was given
	rejected     []refusal // refused by Elasticsearch
	deadLettered int       // dead-letter documents stored (or already there)
	dlFailed     []refusal // refused records the dead-letter index did not take
	itemRefusal  *journeystore.Refusal
	sweepRetry   int // records retried because their erased subject could not be swept
}

// collect reads the outcomes once the bulk indexer is closed. With a done
// context Close may return before the last callbacks ran, so it reads
// under the locks and treats anything unanswered as retryable (a replay of
// a stored event is a harmless 409).
func (p *push) collect(dl *deadLetters) tally {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := tally{
		n:           len(p.outcomes),
		retry:       make([]bool, len(p.outcomes)),
		retryCause:  p.retryCause,
		rejected:    slices.Clone(p.rejected),
		itemRefusal: p.itemRefusal,
	}
	for i, o := range p.outcomes {
		if o == outcomePending {
			o = outcomeRequestFailed
		}
		if p.partnerRetry[i] && (o == outcomeIndexed || o == outcomeVersionConflict) {
			// The visit or credit is stored, its partner-facing copy is
			// not yet: the record is sent again.
			o = outcomeItemRetry
			if t.retryCause == nil {
				t.retryCause = errors.New("a partner-facing copy was not stored")
				if p.partnerErr != nil {
					t.retryCause = p.partnerErr
				}
			}
		}
		t.count[o]++
		t.retry[i] = o == outcomeItemRetry || o == outcomeItemRefused || o == outcomeRequestFailed
	}
	if dl != nil {
		dl.mu.Lock()
		defer dl.mu.Unlock()
		t.deadLettered, t.dlFailed = dl.stored, slices.Clone(dl.failed)
	}
	return t
}

// result is the error pushLogs returns: the records to retry, if any; a
// permanent error when every record is lost (refused and not
// dead-lettered); else none.
func (t *tally) result(ld plog.Logs, closeErr error) error {
	if retries := t.count[outcomeItemRetry] + t.count[outcomeItemRefused] + t.count[outcomeRequestFailed] + t.sweepRetry; retries > 0 {
		cause := t.retryCause
		if cause == nil {
			cause = closeErr
		}
		if cause == nil {
			cause = errors.New("no answer from Elasticsearch")
		}
		err := fmt.Errorf("%d of %d records not stored yet, retrying them: %w", retries, t.n, cause)
		return consumererror.NewLogs(err, selectRecords(ld, t.retry))
	}
	invalid := t.count[outcomeInvalidID] + t.count[outcomeInvalidEntity]
	if lost := invalid + t.count[outcomeRejected] - t.deadLettered; lost == t.n {
		return consumererror.NewPermanent(fmt.Errorf("all %d records were refused (%d without a usable id or version, %d rejected by Elasticsearch; see the warnings above)",
			t.n, invalid, t.count[outcomeRejected]))
	}
	return nil
}
