package elasticsearchjourneyexporter

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"go.uber.org/zap"
)

// retentionLoop deletes expired event indices now and then every
// check_interval, until the exporter shuts down.
func (e *eventsExporter) retentionLoop(ctx context.Context) {
	defer close(e.retentionDone)
	tick := time.NewTicker(e.cfg.Retention.CheckInterval)
	defer tick.Stop()
	for {
		if deleted, err := e.applyRetention(ctx, time.Now()); err != nil {
			e.logger.Warn("Retention check failed; retrying at the next interval", zap.Error(err))
		} else if len(deleted) > 0 {
			e.logger.Info("Deleted expired event indices", zap.Strings("indices", deleted),
				zap.Int("retention_months", e.cfg.Retention.EventsMonths))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// applyRetention deletes every "<prefix>-events-YYYY.MM" index whose month
// ended more than retention::events_months months before now, and returns
// their names. Indices are named by event time, so this removes exactly
// the events older than the retention (to the month).
func (e *eventsExporter) applyRetention(ctx context.Context, now time.Time) ([]string, error) {
	months := e.cfg.Retention.EventsMonths
	if months <= 0 {
		return nil, nil
	}
	family := e.cfg.IndexPrefix + "-events-"
	cat := e.es.Cat.Indices
	raw, err := answer("retention: listing indices")(cat(cat.WithContext(ctx), cat.WithIndex(family+"*"),
		cat.WithFormat("json"), cat.WithH("index"), cat.WithExpandWildcards("open,closed")))
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, err
	}
	var deleted []string
	for _, r := range rows {
		if expired(r.Index, family, months, now) {
			del := e.es.Indices.Delete
			if _, err := answer("retention: deleting "+r.Index)(del([]string{r.Index}, del.WithContext(ctx))); err != nil {
				return deleted, err
			}
			deleted = append(deleted, r.Index)
		}
	}
	return deleted, nil
}

// expired reports whether index is a monthly event index of family whose
// month ended at least months months before now.
func expired(index, family string, months int, now time.Time) bool {
	month, ok := strings.CutPrefix(index, family)
	if !ok {
		return false
	}
	t, err := time.Parse("2006.01", month)
	if err != nil {
		return false // not ours (e.g. another prefix that starts the same)
	}
	end := t.AddDate(0, 1, 0) // the first instant after the month
	return !now.Before(end.AddDate(0, months, 0))
}
