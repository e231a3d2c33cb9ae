package elasticsearchjourneyexporter

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// retentionLoop deletes expired event indices and entity documents now and
// then every check_interval, until the exporter shuts down.
func (e *eventsExporter) retentionLoop(ctx context.Context) {
	defer close(e.retentionDone)
	tick := time.NewTicker(e.cfg.Retention.CheckInterval)
	defer tick.Stop()
	for {
		now := time.Now()
		if deleted, err := e.applyRetention(ctx, now); err != nil {
			e.logger.Warn("Retention check failed; retrying at the next interval", zap.Error(err))
		} else if len(deleted) > 0 {
			e.logger.Info("Deleted expired event indices", zap.Strings("indices", deleted),
				zap.Int("retention_months", e.cfg.Retention.EventsMonths))
		}
		for _, f := range entityFamilies {
			deleted, err := e.expireEntities(ctx, f, now)
			if err != nil {
				e.logger.Warn("Retention check failed; retrying at the next interval", zap.String("index", f.index(e.cfg.IndexPrefix)), zap.Error(err))
			} else if deleted > 0 {
				months, _ := entityAge(e.cfg.Retention, f)
				e.logger.Info("Deleted expired entity documents", zap.String("index", f.index(e.cfg.IndexPrefix)),
					zap.Int64("documents", deleted), zap.Int("retention_months", months))
			}
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
			if _, err := answer("retention: deleting " + r.Index)(del([]string{r.Index}, del.WithContext(ctx))); err != nil {
				return deleted, err
			}
			deleted = append(deleted, r.Index)
		}
	}
	return deleted, nil
}

// entityAge returns the retention in months of an entity family, and the
// date field that ages its documents: a visit by its last activity, a
// visitor by when it was last seen, a credit by its outcome's time.
func entityAge(r RetentionConfig, f family) (months int, field string) {
	switch f {
	case familyVisits:
		return r.VisitsMonths, eventmodel.AttrVisitLastActivity
	case familyVisitors:
		return r.VisitorsMonths, eventmodel.AttrVisitorLastSeen
	case familyCredits:
		return r.CreditsMonths, fieldTimestamp
	}
	return 0, ""
}

// expireEntities deletes the documents of an entity family whose date is
// more than the family's retention before now, and returns how many. Entity
// indices are not time-based (see family.index), so this deletes documents
// by search and bulk delete, as erasure does. A document without the date
// field ages by its @timestamp (visit start, first seen).
func (e *eventsExporter) expireEntities(ctx context.Context, f family, now time.Time) (int64, error) {
	months, field := entityAge(e.cfg.Retention, f)
	if months <= 0 {
		return 0, nil
	}
	before := map[string]any{"lt": now.UTC().AddDate(0, -months, 0).Format(time.RFC3339Nano)}
	query := map[string]any{"range": map[string]any{field: before}}
	if field != fieldTimestamp {
		query = map[string]any{"bool": map[string]any{"minimum_should_match": 1, "should": []any{
			query,
			map[string]any{"bool": map[string]any{
				"must_not": map[string]any{"exists": map[string]any{"field": field}},
				"filter":   map[string]any{"range": map[string]any{fieldTimestamp: before}},
			}},
		}}}
	}
	deleted, _, err := e.deleteMatching(ctx, "retention", []string{f.index(e.cfg.IndexPrefix)}, query)
	// Not done after maxEraseRounds: the rest goes at the next check.
	return deleted, err
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
