package attributionprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// emitter coalesces entity snapshots over emit_interval and sends them
// down the pipeline off the request path. Building a visit record costs
// more than updating the journey, and a visitor's burst of events (a page
// view, its engagement, a click) then writes the visit once, not three
// times. With emit_interval 0 there is no emitter: each batch carries its
// own entity records.
type emitter struct {
	p        *attributionProcessor
	next     consumer.Logs
	interval time.Duration

	mu      sync.Mutex
	pending batch
	spare   batch // the previous pending batch, emptied, to reuse its memory

	stop chan struct{}
	done chan struct{}
}

func newEmitter(p *attributionProcessor, next consumer.Logs, interval time.Duration) *emitter {
	return &emitter{p: p, next: next, interval: interval}
}

// lock returns the pending set, locked: a request's events write their
// snapshots straight into it (no per-request batch to allocate and
// merge). unlock must follow.
func (e *emitter) lock() *batch {
	e.mu.Lock()
	return &e.pending
}

func (e *emitter) unlock() { e.mu.Unlock() }

func (e *emitter) start() {
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(e.done)
		t := time.NewTicker(e.interval)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
				e.flush(context.Background())
			}
		}
	}()
}

// shutdown stops the ticker and sends what is pending.
func (e *emitter) shutdown(ctx context.Context) {
	if e.stop != nil {
		close(e.stop)
		<-e.done
		e.stop = nil
	}
	e.flush(ctx)
}

// droppedVisit finds a visit the tracker let go of while a flush was
// under way (handle noted it in the pending set).
func (e *emitter) droppedVisit(id string) (journey.Visit, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.pending.dropped[id]
	return v, ok
}

// flush sends the pending snapshots. A refused send (e.g. the exporter's
// queue is full) loses those snapshots, not the journey: the next change
// of each entity emits it again, and the count says how many were lost.
func (e *emitter) flush(ctx context.Context) {
	e.mu.Lock()
	b := e.pending
	e.pending, e.spare = e.spare, batch{}
	e.mu.Unlock()
	defer func() {
		b.reset()
		e.mu.Lock()
		e.spare = b
		e.mu.Unlock()
	}()
	if len(b.visits) == 0 && len(b.credits) == 0 {
		return
	}
	ld := plog.NewLogs()
	e.p.emit(ctx, ld, &b, e.droppedVisit)
	n := int64(ld.LogRecordCount())
	if err := e.next.ConsumeLogs(ctx, ld); err != nil {
		e.p.telemetry.ProcessorAttributionRecordsDropped.Add(ctx, n)
		e.p.logger.Warn("entity records refused downstream; they are sent again when the entities change next",
			zap.Int64("records", n), zap.Error(err))
	}
}
