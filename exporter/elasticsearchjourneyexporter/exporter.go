package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadata"
	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Values of the `reason` attribute of the docs_failed metric.
const (
	reasonInvalidEventID = "invalid_event_id" // permanent
	reasonInvalidEntity  = "invalid_entity"   // permanent: no usable entity id or version
	reasonRejected       = "rejected"         // permanent: Elasticsearch refused the document
	reasonItemRetryable  = "item_retryable"   // the document answered 429 or 5xx
	reasonRequestFailed  = "request_failed"   // the bulk request as a whole failed
	reasonTemplateMiss   = "template_missing" // the index template is not installed yet
)

const (
	// bulkFlushBytes cuts a push into bulk requests of about 5 MB, the size
	// Elasticsearch handles well (and the go-elasticsearch default).
	bulkFlushBytes = 5 << 20
	// maxLoggedRefusals bounds the per-document warnings of one push; the
	// rest are summed up in one line (and all are counted in telemetry).
	maxLoggedRefusals = 10
	// startAttemptTimeout bounds the template installation that Start waits
	// for; after that it continues in the background.
	startAttemptTimeout = 10 * time.Second
)

// bulkFilterPath trims the bulk answer to what the outcome of each item
// needs. Items are matched to documents by position (esutil does), so
// their _index and _id, nearly half of a successful answer, are left out.
var bulkFilterPath = []string{
	"errors",
	"items.*.status",
	"items.*.error.type", "items.*.error.reason", "items.*.error.caused_by.type",
}

// eventsExporter writes event log records to Elasticsearch.
type eventsExporter struct {
	cfg       *Config
	set       exporter.Settings
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	shape     *fieldShape

	httpClient *http.Client
	es         *elasticsearch.Client
	ops        *Ops // erasure and retention, on es
	closed     bool // es was closed by shutdown

	// templateReady is set once the events template is known to be
	// installed; until then every push is refused with a retryable error so
	// that no index is ever auto-created with a dynamic default mapping.
	templateReady atomic.Bool
	templateMu    sync.Mutex
	templateErr   error // last installation failure

	cancelInstall context.CancelFunc
	installDone   chan struct{}

	cancelRetention context.CancelFunc
	retentionDone   chan struct{}

	// Pacing of the background installation retries; tests shorten them.
	retryMin, retryMax time.Duration
}

func newEventsExporter(cfg *Config, set exporter.Settings) (*eventsExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &eventsExporter{
		cfg:         cfg,
		set:         set,
		logger:      set.Logger,
		telemetry:   tb,
		shape:       newFieldShape(),
		templateErr: errors.New("not attempted"),
		retryMin:    time.Second,
		retryMax:    30 * time.Second,
	}, nil
}

// start builds the client and installs the index template. It fails only on
// local configuration problems (e.g. an unreadable TLS file): an unreachable
// Elasticsearch must not stop the collector, so installation then goes on
// in the background while pushes are refused with a retryable error and
// events wait in the queue.
func (e *eventsExporter) start(ctx context.Context, host component.Host) error {
	hc, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("elasticsearch_journey: building the HTTP client: %w", err)
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: e.cfg.Endpoints,
		Username:  e.cfg.User,
		Password:  string(e.cfg.Password),
		APIKey:    string(e.cfg.APIKey),
		// TLS, headers, auth extensions and compression of confighttp.
		Transport: hc.Transport,
		// The client's own retries (network errors, 502/503/504) are what
		// fails over to the next endpoint; exporterhelper's retry does the
		// long backoff.
		RetryBackoff: func(attempt int) time.Duration { return time.Duration(attempt) * 100 * time.Millisecond },
	})
	if err != nil {
		return fmt.Errorf("elasticsearch_journey: creating the Elasticsearch client: %w", err)
	}
	e.httpClient, e.es = hc, es
	e.ops = &Ops{es: es, prefix: e.cfg.IndexPrefix, deadLetter: e.cfg.DeadLetter.Index}

	if e.cfg.Retention.enabled() {
		rctx, rcancel := context.WithCancel(context.Background())
		e.cancelRetention, e.retentionDone = rcancel, make(chan struct{})
		go e.retentionLoop(rctx)
	}

	attemptCtx, cancel := context.WithTimeout(ctx, min(startAttemptTimeout, e.cfg.ClientConfig.Timeout))
	err = e.installTemplate(attemptCtx)
	cancel()
	if err == nil {
		return nil
	}
	e.logger.Warn("Elasticsearch index templates not installed yet; retrying in the background. "+
		"Events are kept in the sending queue and retried until they are installed.",
		zap.Strings("templates", e.templateNames()),
		zap.Strings("endpoints", e.cfg.Endpoints),
		zap.Error(err))

	bgCtx, bgCancel := context.WithCancel(context.Background())
	e.cancelInstall = bgCancel
	e.installDone = make(chan struct{})
	go e.installLoop(bgCtx)
	return nil
}

// installLoop retries the template installation with exponential backoff
// until it succeeds or the exporter shuts down.
func (e *eventsExporter) installLoop(ctx context.Context) {
	defer close(e.installDone)
	delay := e.retryMin
	for {
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		attemptCtx, cancel := context.WithTimeout(ctx, e.cfg.ClientConfig.Timeout)
		err := e.installTemplate(attemptCtx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		e.logger.Warn("Elasticsearch index templates still not installed; retrying",
			zap.Strings("templates", e.templateNames()),
			zap.Duration("next_attempt_in", min(2*delay, e.retryMax)),
			zap.Error(err))
		delay = min(2*delay, e.retryMax)
	}
}

// templates lists the index templates the exporter owns: events, the
// entity families and, when configured, the dead-letter index.
func (e *eventsExporter) templates() []indexTemplateSpec {
	return templateSpecs(e.cfg.IndexPrefix, e.cfg.DeadLetter.Index)
}

// templateSpecs lists the index templates of prefix and, when not empty,
// of the dead-letter index dl.
func templateSpecs(prefix, dl string) []indexTemplateSpec {
	specs := []indexTemplateSpec{{name: eventsTemplateName(prefix), body: eventsTemplate(prefix)}}
	for _, f := range entityFamilies {
		specs = append(specs, indexTemplateSpec{name: f.index(prefix), body: entityTemplate(prefix, f)})
	}
	if dl != "" {
		specs = append(specs, indexTemplateSpec{name: dl, body: deadLetterTemplate(dl)})
	}
	return specs
}

func (e *eventsExporter) templateNames() []string {
	var names []string
	for _, t := range e.templates() {
		names = append(names, t.name)
	}
	return names
}

// installTemplate makes one installation attempt of every template and
// records its outcome. Pushes start only once all are in place, so that
// no index is ever auto-created with a dynamic default mapping.
func (e *eventsExporter) installTemplate(ctx context.Context) error {
	for _, spec := range e.templates() {
		state, installed, err := ensureTemplate(ctx, e.es, spec, false)
		if err != nil {
			e.templateMu.Lock()
			e.templateErr = err
			e.templateMu.Unlock()
			return err
		}
		switch state {
		case templateInstalled:
			e.logger.Info("Installed Elasticsearch index template",
				zap.String("template", spec.name), zap.Int64("version", templateVersion), zap.Int64("replaced_version", installed))
		case templateUpToDate:
			e.logger.Debug("Elasticsearch index template is up to date",
				zap.String("template", spec.name), zap.Int64("version", installed))
		case templateNewer:
			e.logger.Warn("A newer Elasticsearch index template is installed (from a newer webjourney?); leaving it in place",
				zap.String("template", spec.name), zap.Int64("installed_version", installed), zap.Int64("our_version", templateVersion))
		}
	}
	e.templateReady.Store(true)
	return nil
}

func (e *eventsExporter) lastTemplateError() error {
	e.templateMu.Lock()
	defer e.templateMu.Unlock()
	return e.templateErr
}

// shutdown stops the background installation and the client. It is safe
// without start. exporterhelper calls it after the queue has drained.
func (e *eventsExporter) shutdown(ctx context.Context) error {
	if e.cancelInstall != nil {
		e.cancelInstall()
		<-e.installDone
	}
	if e.cancelRetention != nil {
		e.cancelRetention()
		<-e.retentionDone
	}
	var err error
	if e.es != nil && !e.closed {
		// Stops the connection pool's timers that bring dead nodes back.
		// Later requests fail with a (retryable) "client closed" error.
		e.closed = true
		if cerr := e.es.Close(ctx); cerr != nil {
			err = fmt.Errorf("closing the Elasticsearch client: %w", cerr)
		}
	}
	if e.httpClient != nil {
		// Reaches the pooled connections only if every transport wrapper
		// passes it on (confighttp's do not); otherwise idle connections
		// close after idle_conn_timeout.
		e.httpClient.CloseIdleConnections()
	}
	if e.telemetry != nil {
		e.telemetry.Shutdown()
	}
	return err
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
	outcomeRequestFailed                  // the bulk request failed
)

// pendingDoc is one encoded document of a push.
type pendingDoc struct {
	start, end int // in the push's document buffer
	index, id  string
	version    int64 // > 0: an entity, written with this external version
}

// refusal describes a permanently refused record for the log and the
// dead-letter index. Its fields hold no document content: the document may
// carry personal data.
type refusal struct {
	pos                                   int // of the record in the push
	index, id, errType, reason, causeType string
	version                               int64
	status                                int

	eventName string // for records never sent (no usable id)

	// Why the dead-letter document failed, when it did.
	dlStatus            int
	dlErrType, dlReason string
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
		e.countFailed(ctx, n, reasonTemplateMiss)
		return fmt.Errorf("%w: %w", errTemplateNotInstalled, e.lastTemplateError())
	}

	// Erasure requests are carried out before anything of the push is
	// written, so the stored request is the audit record of a finished
	// erasure.
	erased, err := e.eraseRequested(ctx, ld)
	if err != nil {
		e.countFailed(ctx, n, reasonRequestFailed)
		return fmt.Errorf("erasure request not carried out yet, retrying: %w", err)
	}

	outcomes := make([]outcome, n)
	docs := make([]pendingDoc, n)
	buf := make([]byte, 0, n*1024) // a page view is about 1 KB of JSON
	enc := newEncoder(e.cfg.IndexPrefix, e.shape, time.Now())
	enc.erased = erased
	dropped := 0
	var invalid []refusal // records without a usable id or version
	forEachRecord(ld, func(i int, lr plog.LogRecord) {
		start := len(buf)
		var index string
		var d int
		// Encoded even without a usable id: the dead-letter index keeps it.
		buf, index, d = enc.appendDocument(buf, lr)
		dropped += d
		doc := pendingDoc{start: start, end: len(buf), index: index}
		r := refusal{pos: i, index: index, eventName: lr.EventName()}
		if familyOf(lr.EventName()) == familyEvents {
			var ok bool
			if doc.id, ok = eventID(lr); !ok {
				outcomes[i] = outcomeInvalidID
				r.errType, r.reason = reasonInvalidEventID, problemEventID
			}
		} else if doc.id, doc.version, r.reason = entityRef(lr); r.reason != "" {
			outcomes[i] = outcomeInvalidEntity
			r.errType, r.id, r.version = reasonInvalidEntity, doc.id, doc.version
		}
		docs[i] = doc
		if outcomes[i] != outcomePending {
			invalid = append(invalid, r)
		}
	})
	if dropped > 0 {
		e.telemetry.ExporterElasticsearchJourneyAttributesDropped.Add(ctx, int64(dropped))
	}

	var (
		mu         sync.Mutex
		rejected   []refusal
		retryCause error
	)
	setOutcome := func(i int, o outcome, cause error) {
		mu.Lock()
		defer mu.Unlock()
		outcomes[i] = o
		if cause != nil && retryCause == nil {
			retryCause = cause
		}
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:     e.es,
		NumWorkers: 1,
		FlushBytes: flushBytesFor(docs, len(buf)),
		FilterPath: bulkFilterPath,
		// The indexer's worker flushes with a background context; run the
		// bulk requests under the push context so the attempt's timeout
		// and cancellation apply to them.
		OnFlushStart: func(context.Context) context.Context { return ctx },
	})
	if err != nil {
		return fmt.Errorf("creating the bulk indexer: %w", err)
	}
	for i := range docs {
		if outcomes[i] != outcomePending { // no usable id: already decided
			continue
		}
		d := docs[i]
		item := esutil.BulkIndexerItem{
			Index:      d.index,
			Action:     "create", // never overwrite: a replayed event is a 409, not a second copy
			DocumentID: d.id,
			Body:       bytes.NewReader(buf[d.start:d.end]),
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				setOutcome(i, outcomeIndexed, nil)
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				switch {
				case err != nil:
					setOutcome(i, outcomeRequestFailed, shortError(err))
				case res.Status == http.StatusConflict && d.version > 0:
					setOutcome(i, outcomeVersionConflict, nil)
				case res.Status == http.StatusConflict:
					setOutcome(i, outcomeDuplicate, nil)
				case res.Status == http.StatusTooManyRequests || res.Status >= 500:
					setOutcome(i, outcomeItemRetry, fmt.Errorf("document answered HTTP %d %s", res.Status, res.Error.Type))
				default:
					setOutcome(i, outcomeRejected, nil)
					mu.Lock()
					rejected = append(rejected, refusal{
						pos: i, index: d.index, id: d.id, version: d.version, status: res.Status, errType: res.Error.Type,
						reason: withoutValuePreview(res.Error.Reason), causeType: res.Error.Cause.Type,
					})
					mu.Unlock()
				}
			},
		}
		if d.version > 0 {
			// A snapshot replaces the stored one only when its version is
			// higher; a late older one (or a replay) answers 409.
			item.Action, item.Version, item.VersionType = "index", &docs[i].version, "external"
		}
		if addErr := bi.Add(ctx, item); addErr != nil {
			// Only a done context stops Add; what was not added stays
			// pending and is retried.
			break
		}
	}

	// The documents' own outcomes come first: only then is it known which
	// were refused and go to the dead-letter index, through the same
	// indexer.
	var dl *deadLetters
	if e.cfg.DeadLetter.Index != "" {
		flushErr := bi.Flush(ctx)
		mu.Lock()
		refused := append(append([]refusal(nil), invalid...), rejected...)
		mu.Unlock()
		if len(refused) > 0 {
			dl = e.addDeadLetters(ctx, bi, ld, buf, docs, refused, flushErr)
		}
	}
	closeErr := bi.Close(ctx)
	if reqs := bi.Stats().NumRequests; reqs > 0 {
		e.telemetry.ExporterElasticsearchJourneyBulkRequests.Add(ctx, int64(reqs))
	}

	// With a done context Close may return before the last callbacks ran;
	// read the outcomes under the lock and treat anything unanswered as
	// retryable (a replay of a stored event is a harmless 409).
	mu.Lock()
	defer mu.Unlock()
	var count [outcomeRequestFailed + 1]int
	retry := make([]bool, n)
	for i, o := range outcomes {
		if o == outcomePending {
			o = outcomeRequestFailed
		}
		count[o]++
		retry[i] = o == outcomeItemRetry || o == outcomeRequestFailed
	}
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsIndexed, count[outcomeIndexed])
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsDuplicate, count[outcomeDuplicate])
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsVersionConflict, count[outcomeVersionConflict])
	e.countFailed(ctx, count[outcomeInvalidID], reasonInvalidEventID)
	e.countFailed(ctx, count[outcomeInvalidEntity], reasonInvalidEntity)
	e.countFailed(ctx, count[outcomeRejected], reasonRejected)
	e.countFailed(ctx, count[outcomeItemRetry], reasonItemRetryable)
	e.countFailed(ctx, count[outcomeRequestFailed], reasonRequestFailed)
	e.logRefusals(invalid, rejected)
	permanent := count[outcomeInvalidID] + count[outcomeInvalidEntity] + count[outcomeRejected]
	lost := permanent
	if dl != nil {
		dl.mu.Lock()
		defer dl.mu.Unlock()
		e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsDeadLettered, dl.stored)
		e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDeadLetterFailed, len(dl.failed))
		e.logDeadLetterFailures(dl.failed)
		lost = permanent - dl.stored
	}

	if retries := count[outcomeItemRetry] + count[outcomeRequestFailed]; retries > 0 {
		cause := retryCause
		if cause == nil {
			cause = closeErr
		}
		if cause == nil {
			cause = errors.New("no answer from Elasticsearch")
		}
		err := fmt.Errorf("%d of %d records not stored yet, retrying them: %w", retries, n, cause)
		return consumererror.NewLogs(err, selectRecords(ld, retry))
	}
	if lost == n {
		return consumererror.NewPermanent(fmt.Errorf("all %d records were refused (%d without a usable id or version, %d rejected by Elasticsearch; see the warnings above)",
			n, count[outcomeInvalidID]+count[outcomeInvalidEntity], count[outcomeRejected]))
	}
	return nil
}

// flushBytesFor sizes the bulk indexer's buffer, which it allocates whole
// up front: the push's documents plus their action lines (one request),
// capped at bulkFlushBytes. Without this every push, even of one event,
// would allocate the full 5 MB.
func flushBytesFor(docs []pendingDoc, docBytes int) int {
	total := docBytes + 1024
	for _, d := range docs {
		// {"create":{"_id":"<id>","_index":"<index>"}}\n + document \n
		// (an entity's action line adds its version, at most 64 bytes more)
		total += len(d.id) + len(d.index) + 128
	}
	return min(total, bulkFlushBytes)
}

// addCount adds n to a counter when there is something to add.
func (e *eventsExporter) addCount(ctx context.Context, c metric.Int64Counter, n int) {
	if n > 0 {
		c.Add(ctx, int64(n))
	}
}

func (e *eventsExporter) countFailed(ctx context.Context, n int, reason string) {
	if n > 0 {
		e.telemetry.ExporterElasticsearchJourneyDocsFailed.Add(ctx, int64(n),
			metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
	}
}

// problemEventID is why an event without a usable id cannot be stored.
const problemEventID = "log.record.uid is missing, not a string, empty or over 512 bytes"

// logRefusals warns about permanently refused records, naming index, id
// and the reason, never document content.
func (e *eventsExporter) logRefusals(invalid, rejected []refusal) {
	var events, entities []string
	for _, r := range invalid {
		if r.errType == reasonInvalidEventID {
			events = append(events, r.eventName)
		} else {
			entities = append(entities, r.eventName+" "+r.id+": "+r.reason)
		}
	}
	dl := e.cfg.DeadLetter.Index
	if len(events) > 0 {
		e.logger.Warn("Events without a usable event id cannot be stored; the producer must set it (a non-empty string of at most 512 bytes)",
			zap.String("attribute", eventmodel.AttrEventID),
			zap.Int("count", len(events)),
			zap.Strings("event_names", events[:min(len(events), maxLoggedRefusals)]),
			zap.String("dead_letter_index", dl))
	}
	if len(entities) > 0 {
		e.logger.Warn("Entity records without a usable id or version cannot be stored; the producer must set "+
			eventmodel.AttrEntityID+" (a non-empty string of at most 512 bytes) and "+eventmodel.AttrEntityVersion+" (an int > 0)",
			zap.Int("count", len(entities)),
			zap.Strings("records", entities[:min(len(entities), maxLoggedRefusals)]),
			zap.String("dead_letter_index", dl))
	}
	for i, r := range rejected {
		if i == maxLoggedRefusals {
			e.logger.Warn("More documents refused by Elasticsearch in the same push", zap.Int("count", len(rejected)-i))
			break
		}
		e.logger.Warn("Elasticsearch refused a document; not retried",
			zap.String("index", r.index),
			zap.String("id", r.id),
			zap.Int("status", r.status),
			zap.String("error.type", r.errType),
			zap.String("error.reason", r.reason),
			zap.String("error.caused_by.type", r.causeType),
			zap.String("dead_letter_index", dl))
	}
}

// maxErrorLen bounds an error text taken from an Elasticsearch answer: the
// retry log repeats it, and an answer body can be long.
const maxErrorLen = 512

// shortError cuts err's text to maxErrorLen bytes.
func shortError(err error) error {
	msg := err.Error()
	if len(msg) <= maxErrorLen {
		return err
	}
	return errors.New(strings.ToValidUTF8(msg[:maxErrorLen], "") + "…")
}

// withoutValuePreview cuts the "Preview of field's value: '...'" that
// Elasticsearch appends to parsing errors: it quotes document content.
func withoutValuePreview(reason string) string {
	if i := strings.Index(reason, "Preview of field's value"); i >= 0 {
		return strings.TrimSpace(reason[:i])
	}
	return reason
}

// forEachRecord calls f with the position and record of every log record,
// in resource, scope, record order.
func forEachRecord(ld plog.Logs, f func(i int, lr plog.LogRecord)) {
	i := 0
	rls := ld.ResourceLogs()
	for r := range rls.Len() {
		sls := rls.At(r).ScopeLogs()
		for s := range sls.Len() {
			lrs := sls.At(s).LogRecords()
			for l := range lrs.Len() {
				f(i, lrs.At(l))
				i++
			}
		}
	}
}

// selectRecords copies the records whose position is marked in keep, with
// their resource and scope, into new Logs.
func selectRecords(ld plog.Logs, keep []bool) plog.Logs {
	out := plog.NewLogs()
	i := 0
	rls := ld.ResourceLogs()
	for r := range rls.Len() {
		rl := rls.At(r)
		var outRL plog.ResourceLogs
		haveRL := false
		sls := rl.ScopeLogs()
		for s := range sls.Len() {
			sl := sls.At(s)
			var outSL plog.ScopeLogs
			haveSL := false
			lrs := sl.LogRecords()
			for l := range lrs.Len() {
				if keep[i] {
					if !haveRL {
						outRL = out.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(outRL.Resource())
						outRL.SetSchemaUrl(rl.SchemaUrl())
						haveRL = true
					}
					if !haveSL {
						outSL = outRL.ScopeLogs().AppendEmpty()
						sl.Scope().CopyTo(outSL.Scope())
						outSL.SetSchemaUrl(sl.SchemaUrl())
						haveSL = true
					}
					lrs.At(l).CopyTo(outSL.LogRecords().AppendEmpty())
				}
				i++
			}
		}
	}
	return out
}
