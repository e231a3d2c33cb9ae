package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// retentionLoop deletes expired event indices and entity documents now and
// then every check_interval, until the exporter shuts down.
func (e *eventsExporter) retentionLoop(ctx context.Context) {
	defer close(e.retentionDone)
	// The store exists once the exporter is connected.
	select {
	case <-ctx.Done():
		return
	case <-e.ready:
	}
	tick := time.NewTicker(e.cfg.Retention.CheckInterval)
	defer tick.Stop()
	for {
		e.applyRetention(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// applyRetention applies the retention once at now and logs what it
// deleted. A family that failed is retried at the next check.
func (e *eventsExporter) applyRetention(ctx context.Context, now time.Time) {
	ctx, rec := esclient.WithRecorder(ctx)
	rep, err := e.store.ApplyRetention(ctx, e.cfg.retention(), now, false)
	// A refusal (e.g. a missing delete_index privilege) names the node,
	// whom the request authenticated as and what to do.
	var refusal []zap.Field
	if r := rec.Refusal(); r != nil {
		refusal = append(refusal, zap.NamedError("refusal", r))
	}
	if rep == nil {
		e.logger.Warn("Retention check failed; retrying at the next interval", append(refusal, zap.Error(err))...)
		return
	}
	for _, f := range rep.Families {
		switch {
		case f.Err != nil:
			e.logger.Warn("Retention check failed; retrying at the next interval", append(refusal, zap.String("index", f.Index), zap.Error(f.Err))...)
		case f.Family == journeystore.FamilyEvents && len(f.Indices) > 0 && f.Stamp > 0:
			e.logger.Info("Deleted expired event indices of stamped events", zap.Strings("indices", f.Indices),
				zap.Int("stamp_months", f.Stamp), zap.Int("retention_months", f.Months))
		case f.Family == journeystore.FamilyEvents && len(f.Indices) > 0:
			e.logger.Info("Deleted expired event indices", zap.Strings("indices", f.Indices), zap.Int("retention_months", f.Months))
		case f.Family == journeystore.FamilyDeadLetter && f.Documents > 0:
			e.logger.Info("Deleted expired dead letters", zap.String("index", f.Index),
				zap.Int64("documents", f.Documents), zap.Int("retention_days", f.Days))
		case f.Documents > 0:
			e.logger.Info("Deleted expired entity documents", zap.String("index", f.Index),
				zap.Int64("documents", f.Documents), zap.Int("retention_months", f.Months))
		}
	}
	before := now.Add(-e.guard.ttl)
	if n, err := e.store.ExpireTombstones(ctx, before); err != nil {
		e.logger.Warn("Expiring erasure tombstones failed; retrying at the next interval", append(refusal, zap.Error(err))...)
	} else if n > 0 {
		e.logger.Info("Deleted expired erasure tombstones", zap.Int64("tombstones", n), zap.Int("tombstone_days", e.cfg.Erasure.TombstoneDays))
	}
}
