package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/esclient"
)

// refusalGate pauses pushes while Elasticsearch refuses the exporter (401
// wrong or revoked credentials, 403 a missing privilege) or the TLS
// handshake fails. Such a failure is the operator's to fix and does not go
// away by sending every batch again, so while the gate is closed a push
// fails at once, without a request, and keeps its records for retry; one
// trial push at a time goes through after a backoff (doubling from
// retryMin to retryMax), and its success opens the gate. That bounds the
// requests a wrong credential causes (each one a failed authentication in
// the cluster's security log) to one per backoff, whatever the queue
// holds, and the log and component status report the cause once, not per
// batch.
type refusalGate struct {
	mu     sync.Mutex
	cause  *esclient.Error // nil: open
	until  time.Time       // no trial before
	delay  time.Duration
	trying bool // a trial push is under way
}

// admit reports whether a push may send now (trial: it is the one trial
// push), or the refusal it must fail with.
func (g *refusalGate) admit(now time.Time) (trial bool, refused *esclient.Error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cause == nil {
		return false, nil
	}
	if g.trying || now.Before(g.until) {
		return false, g.cause
	}
	g.trying = true
	return true, nil
}

// done records the end of an admitted push: refused when Elasticsearch
// refused it again, answered when it got any other answer (the
// credentials were accepted), neither when it failed on the network. It
// returns whether the gate closed (opened is false) or opened.
func (g *refusalGate) done(now time.Time, trial, answered bool, refused *esclient.Error, minDelay, maxDelay time.Duration) (closed, opened bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if trial {
		g.trying = false
	}
	switch {
	case refused != nil:
		closed = g.cause == nil || g.cause.Error() != refused.Error()
		switch {
		case g.cause == nil:
			g.delay = minDelay
		case trial:
			g.delay = min(2*g.delay, maxDelay)
		}
		g.cause, g.until = refused, now.Add(g.delay)
	case answered && g.cause != nil:
		g.cause, opened = nil, true
	case trial:
		g.until = now.Add(g.delay)
	}
	return closed, opened
}

// afterPush updates the gate from what the push's requests met (and the
// refusal of a document, as a bulk answer gives a missing index privilege)
// and reports a change in the log and the component status.
func (e *eventsExporter) afterPush(rec *esclient.Recorder, trial bool, itemRefusal *esclient.Error) {
	last, sent := rec.Last()
	refusal := rec.Refusal()
	if refusal == nil {
		refusal = itemRefusal
	}
	answered := sent && last.Err == nil
	closed, opened := e.refusals.done(time.Now(), trial, answered, refusal, e.retryMin, e.retryMax)
	switch {
	case closed:
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(refusal))
		e.logger.Error("Elasticsearch refuses the exports; pausing them. Events are kept in the sending queue; "+
			"one export is tried again after a backoff, and all proceed once it is accepted",
			zap.String("reason", refusal.Cause.String()), zap.Error(refusal))
	case opened:
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
		e.logger.Info("Elasticsearch accepts the exports again; resuming", zap.String("endpoint", last.Endpoint))
	}
}

// countAttempt counts every round trip to a node by node and outcome, and
// the client's retries on the next node: how requests fail over shows
// there.
func (e *eventsExporter) countAttempt(ctx context.Context, a esclient.Attempt) {
	ep := attribute.String("endpoint", a.Endpoint)
	e.telemetry.ExporterElasticsearchJourneyRequests.Add(ctx, 1,
		metric.WithAttributeSet(attribute.NewSet(ep, attribute.String("outcome", a.Outcome()))))
	if a.Retry {
		e.telemetry.ExporterElasticsearchJourneyRequestRetries.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(ep)))
	}
}
