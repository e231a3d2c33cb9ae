// Package ledger writes the partner_postback exporter's decisions to the
// postback ledger in Elasticsearch (journeystore.FamilyPostbacks), in the
// background: a decision is handed over without waiting, batched into
// bulk requests, and a write that fails is retried a bounded number of
// times. A postback never waits for, or fails because of, its ledger
// document.
package ledger // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/ledger"

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// Why a ledger document was given up (the reason of the dropped count).
const (
	DropQueueFull = "queue_full" // more decisions waiting than queue_size
	DropRefused   = "refused"    // Elasticsearch refused the document for good (a 4xx other than 409 and 429)
	DropRetries   = "retries"    // max_retries writes failed (429, 5xx, network)
	DropShutdown  = "shutdown"   // still waiting when the collector stopped
	// DropCreditMissing: a decision's stamp on a credit record that was
	// still not stored after maxStampRetries (its exporter is behind, or
	// the visitor was erased meanwhile). The ledger document holds it.
	DropCreditMissing = "credit_missing"
)

// A credit stamp waits for its credit record longer than a ledger write
// waits for Elasticsearch: the elasticsearch_journey exporter may be
// minutes behind (an outage drained from its queue) while postbacks go
// out. About three minutes in all.
const (
	maxStampRetries = 10
	maxStampBackoff = 30 * time.Second
)

// Telemetry is what the writer reports; the exporter counts it.
type Telemetry interface {
	Written(n int)
	Retried()
	Dropped(reason string)
}

// Options configure a Writer.
type Options struct {
	Client        *esclient.Client
	Layout        journeystore.Layout
	FlushInterval time.Duration
	MaxRetries    int           // retries of one document after its first write failed
	QueueSize     int           // decisions waiting to be written
	RetryBackoff  time.Duration // wait before the first retry; doubles per retry
	Logger        *zap.Logger
	Telemetry     Telemetry
}

// Writer writes ledger documents.
type Writer struct {
	o     Options
	store *journeystore.Store
	queue chan item
	bi    esutil.BulkIndexer

	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup // retries waiting for their backoff

	cancel context.CancelFunc
	done   chan struct{}
}

// item is one write with how many times it failed: the ledger document,
// or (credit set) the stamp of the decision on one of the credit records
// the postback sums.
type item struct {
	p        journeystore.Postback
	credit   string // the credit record's id; "" for the ledger document
	failures int
}

// New returns a writer; Start starts it.
func New(o Options) *Writer {
	return &Writer{o: o, store: journeystore.New(o.Client.Client, o.Layout), queue: make(chan item, o.QueueSize), done: make(chan struct{})}
}

// Start installs the ledger's index template (in the background until it
// succeeds: an unreachable Elasticsearch must not stop the collector, and
// documents wait in the queue meanwhile) and starts writing.
func (w *Writer) Start() error {
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:        w.o.Client.Client,
		NumWorkers:    1,
		FlushInterval: w.o.FlushInterval,
		FlushBytes:    1 << 20,
		FilterPath:    []string{"errors", "items.*.status", "items.*.error.type"},
		OnError: func(_ context.Context, err error) {
			w.o.Logger.Debug("Postback ledger bulk request failed", zap.Error(err))
		},
	})
	if err != nil {
		return err
	}
	w.bi = bi
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go w.run(ctx)
	return nil
}

// Write hands a decision over without waiting: its ledger document and
// its stamp on each credit record it sums (journeystore.CreditStamp).
// When the queue is full a write is dropped and counted.
func (w *Writer) Write(p journeystore.Postback) {
	w.enqueue(item{p: p})
	for _, id := range p.EntityIDs {
		w.enqueue(item{p: p, credit: id})
	}
}

func (w *Writer) enqueue(it item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.o.Telemetry.Dropped(DropShutdown)
		return
	}
	select {
	case w.queue <- it:
	default:
		w.o.Telemetry.Dropped(DropQueueFull)
	}
}

// run installs the template, then feeds the bulk indexer until Close.
func (w *Writer) run(ctx context.Context) {
	defer close(w.done)
	delay := time.Second
	for {
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := w.store.InstallPostbacksTemplate(attempt)
		cancel()
		if err == nil {
			break
		}
		w.o.Logger.Warn("Postback ledger: index template not installed yet; decisions wait in the ledger queue", zap.Error(err))
		select {
		case <-ctx.Done():
			w.drainDropped()
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
	for {
		select {
		case <-ctx.Done():
			// Close stopped taking decisions; write what is queued.
			for {
				select {
				case it := <-w.queue:
					w.add(it)
				default:
					return
				}
			}
		case it := <-w.queue:
			w.add(it)
		}
	}
}

func (w *Writer) drainDropped() {
	for {
		select {
		case <-w.queue:
			w.o.Telemetry.Dropped(DropShutdown)
		default:
			return
		}
	}
}

// add gives one document to the bulk indexer, by the postback's id with
// its decision time as external version (see journeystore.Postback), or
// the partial update of a credit record. The credit is updated, never
// created: an upsert written before the elasticsearch_journey exporter
// stores the credit would make its create by external version fail and
// lose the credit. Updates leave external versioning intact: credits are
// written once, at version 1, and a replay is refused either way.
func (w *Writer) add(it item) {
	bi := esutil.BulkIndexerItem{
		OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
			w.o.Telemetry.Written(1)
		},
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			w.failed(it, res.Status, err)
		},
	}
	if it.credit != "" {
		bi.Index, bi.Action, bi.DocumentID = w.o.Layout.Index(journeystore.FamilyCredits), "update", it.credit
		bi.Body = bytes.NewReader(journeystore.CreditStamp(nil, &it.p))
	} else {
		version := it.p.Version()
		bi.Index, bi.Action, bi.DocumentID = w.o.Layout.Index(journeystore.FamilyPostbacks), "index", it.p.ID
		bi.Version, bi.VersionType = &version, "external"
		bi.Body = bytes.NewReader(journeystore.AppendPostback(nil, &it.p))
	}
	if err := w.bi.Add(context.Background(), bi); err != nil {
		w.o.Telemetry.Dropped(DropShutdown)
	}
}

// failed decides what a failed write becomes: a 409 means a later
// decision is stored already (nothing lost); 429, 5xx and request errors
// are retried after a backoff up to MaxRetries times; anything else is a
// refusal.
//
// A credit stamp is also retried on 404 (the credit record is not stored
// yet: both exporters get it at once, and a postback can be decided
// first) and on 409 (another update of the record at the same moment).
func (w *Writer) failed(it item, status int, err error) {
	retryStamp := it.credit != "" && (status == http.StatusNotFound || status == http.StatusConflict)
	switch {
	case retryStamp:
	case status == http.StatusConflict:
		return // a later decision of the postback is stored: nothing is lost
	case err == nil && status != http.StatusTooManyRequests && status < 500:
		w.o.Telemetry.Dropped(DropRefused)
		w.o.Logger.Warn("Postback ledger: Elasticsearch refused a document", zap.Int("status", status), zap.String("postback", it.p.ID))
		return
	}
	it.failures++
	if retryStamp {
		w.retryStamp(it)
		return
	}
	if it.failures > w.o.MaxRetries {
		w.o.Telemetry.Dropped(DropRetries)
		w.o.Logger.Warn("Postback ledger: a document could not be written; giving up", zap.Int("attempts", it.failures), zap.String("postback", it.p.ID), zap.Error(errOr(err, status)))
		return
	}
	w.o.Telemetry.Retried()
	backoff := w.o.RetryBackoff << (it.failures - 1)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.o.Telemetry.Dropped(DropShutdown)
		return
	}
	w.pending.Add(1)
	w.mu.Unlock()
	time.AfterFunc(backoff, func() {
		defer w.pending.Done()
		w.requeue(it)
	})
}

// retryStamp queues a credit stamp again after a backoff, while its credit
// record may still come. Unlike a ledger document's retries, Close does
// not wait for these: a stamp still waiting at shutdown is dropped
// (counted), the ledger document keeps the decision.
func (w *Writer) retryStamp(it item) {
	if it.failures > maxStampRetries {
		w.o.Telemetry.Dropped(DropCreditMissing)
		w.o.Logger.Debug("Postback ledger: the credit record to stamp was not stored", zap.String("postback", it.p.ID), zap.String("credit", it.credit))
		return
	}
	w.o.Telemetry.Retried()
	time.AfterFunc(min(w.o.RetryBackoff<<(it.failures-1), maxStampBackoff), func() { w.enqueue(it) })
}

// requeue puts a retried document back in the queue. It bypasses the
// closed check: Close waits for pending retries before it stops feeding.
func (w *Writer) requeue(it item) {
	select {
	case w.queue <- it:
	default:
		w.o.Telemetry.Dropped(DropQueueFull)
	}
}

func errOr(err error, status int) error {
	if err != nil {
		return err
	}
	return errors.New(http.StatusText(status))
}

// Close stops taking decisions, waits for the retries in their backoff,
// writes what is queued and flushes, within ctx.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.cancel == nil {
		return nil
	}
	waited := make(chan struct{})
	go func() { w.pending.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	w.cancel()
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := w.bi.Close(ctx)
	w.drainDropped()
	return errors.Join(err, w.o.Client.Close(ctx))
}
