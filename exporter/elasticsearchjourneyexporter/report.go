package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/eventmodel"
)

// maxLoggedRefusals bounds the per-document warnings of one push; the rest
// are summed up in one line (and all are counted in telemetry).
const maxLoggedRefusals = 10

// count adds what became of a push's records to the telemetry.
// requestReason names the failed requests' reason (request_failed, or the
// cause of a refusal); itemRefusal, when set, the documents answered 401
// or 403.
func (e *eventsExporter) count(ctx context.Context, t *tally, requests int, requestReason string, itemRefusal *esclient.Error) {
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyBulkRequests, requests)
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsIndexed, t.count[outcomeIndexed])
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsDuplicate, t.count[outcomeDuplicate])
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsVersionConflict, t.count[outcomeVersionConflict])
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsErased, t.count[outcomeErased])
	e.countFailed(ctx, t.count[outcomeInvalidID], reasonInvalidEventID)
	e.countFailed(ctx, t.count[outcomeInvalidEntity], reasonInvalidEntity)
	e.countFailed(ctx, t.count[outcomeRejected], reasonRejected)
	e.countFailed(ctx, t.count[outcomeItemRetry], reasonItemRetryable)
	e.countFailed(ctx, t.count[outcomeRequestFailed], requestReason)
	if itemRefusal != nil {
		e.countFailed(ctx, t.count[outcomeItemRefused], itemRefusal.Cause.String())
	}
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDocsDeadLettered, t.deadLettered)
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyDeadLetterFailed, len(t.dlFailed))
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

// logRefusals warns about permanently refused records, naming index, id
// and the reason, never document content.
func (e *eventsExporter) logRefusals(invalid, rejected []refusal) {
	var events, entities []string
	for _, r := range invalid {
		if r.Type == reasonInvalidEventID {
			events = append(events, r.eventName)
		} else {
			entities = append(entities, r.eventName+" "+r.ID+": "+r.Reason)
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
			zap.String("index", r.Index),
			zap.String("id", r.ID),
			zap.Int("status", r.Status),
			zap.String("error.type", r.Type),
			zap.String("error.reason", r.Reason),
			zap.String("error.caused_by.type", r.CauseType),
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
