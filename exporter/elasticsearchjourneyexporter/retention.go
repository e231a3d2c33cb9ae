package elasticsearchjourneyexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
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
// their names.
func (e *eventsExporter) applyRetention(ctx context.Context, now time.Time) ([]string, error) {
	gone, err := e.ops.expireEventIndices(ctx, e.cfg.Retention.EventsMonths, now, false)
	var names []string
	for _, g := range gone {
		names = append(names, g.name)
	}
	return names, err
}

// expiredIndex is a monthly event index past its retention.
type expiredIndex struct {
	name string
	docs int64 // documents in it, as far as the index statistics know
}

// expireEventIndices deletes (with dryRun only lists) every
// "<prefix>-events-YYYY.MM" index whose month ended more than months months
// before now, in name order. Indices are named by event time, so this
// removes exactly the events older than the retention (to the month).
func (o *Ops) expireEventIndices(ctx context.Context, months int, now time.Time, dryRun bool) ([]expiredIndex, error) {
	if months <= 0 {
		return nil, nil
	}
	family := o.prefix + "-events-"
	cat := o.es.Cat.Indices
	raw, err := answer("retention: listing indices")(cat(cat.WithContext(ctx), cat.WithIndex(family+"*"),
		cat.WithFormat("json"), cat.WithH("index", "docs.count"), cat.WithExpandWildcards("open,closed")))
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Index string `json:"index"`
		Docs  string `json:"docs.count"` // empty for a closed index
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Index < rows[j].Index })
	var gone []expiredIndex
	for _, r := range rows {
		if !expired(r.Index, family, months, now) {
			continue
		}
		if !dryRun {
			del := o.es.Indices.Delete
			if _, err := answer("retention: deleting " + r.Index)(del([]string{r.Index}, del.WithContext(ctx))); err != nil {
				return gone, err
			}
		}
		docs, _ := strconv.ParseInt(r.Docs, 10, 64)
		gone = append(gone, expiredIndex{name: r.Index, docs: docs})
	}
	return gone, nil
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
// more than the family's retention before now, and returns how many.
func (e *eventsExporter) expireEntities(ctx context.Context, f family, now time.Time) (int64, error) {
	return e.ops.expireEntities(ctx, f, e.cfg.Retention, now, false)
}

// expireEntities deletes (with dryRun only counts) the documents of an
// entity family whose date is more than the family's retention in r before
// now, and returns how many. Entity indices are not time-based (see
// family.index), so this deletes documents by search and bulk delete, as
// erasure does. A document without the date field ages by its @timestamp
// (visit start, first seen).
func (o *Ops) expireEntities(ctx context.Context, f family, r RetentionConfig, now time.Time, dryRun bool) (int64, error) {
	months, field := entityAge(r, f)
	if months <= 0 {
		return 0, nil
	}
	before := map[string]any{"lt": entityCutoff(months, now).Format(time.RFC3339Nano)}
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
	index := f.index(o.prefix)
	if dryRun {
		return o.countMatching(ctx, "retention", index, query)
	}
	deleted, _, err := o.deleteMatching(ctx, "retention", []string{index}, query)
	// Not done after maxEraseRounds: the rest goes at the next check.
	return sumCounts(deleted), err
}

// entityCutoff is the date before which an entity of a family with a
// retention of months is expired.
func entityCutoff(months int, now time.Time) time.Time { return now.UTC().AddDate(0, -months, 0) }

// countMatching returns how many documents of index query matches (none
// when the index does not exist).
func (o *Ops) countMatching(ctx context.Context, what, index string, query map[string]any) (int64, error) {
	refresh := o.es.Indices.Refresh
	if _, err := answer(what + " refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(index),
		refresh.WithIgnoreUnavailable(true), refresh.WithAllowNoIndices(true))); err != nil {
		return 0, err
	}
	body, err := json.Marshal(map[string]any{"query": query})
	if err != nil {
		return 0, err
	}
	count := o.es.Count
	raw, err := answer(what + " count")(count(count.WithContext(ctx), count.WithIndex(index), count.WithBody(bytes.NewReader(body)),
		count.WithIgnoreUnavailable(true), count.WithAllowNoIndices(true)))
	if err != nil {
		return 0, err
	}
	var res struct {
		Count int64 `json:"count"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return 0, fmt.Errorf("%s count answer: %w", what, err)
	}
	return res.Count, nil
}

// expired reports whether index is a monthly event index of family whose
// month ended at least months months before now.
func expired(index, family string, months int, now time.Time) bool {
	t, ok := eventIndexMonth(index, family)
	if !ok {
		return false // not ours (e.g. another prefix that starts the same)
	}
	end := t.AddDate(0, 1, 0) // the first instant after the month
	return !now.Before(end.AddDate(0, months, 0))
}

// eventIndexMonth returns the month of a monthly event index of family
// ("<prefix>-events-"), and whether index is one.
func eventIndexMonth(index, family string) (time.Time, bool) {
	month, ok := strings.CutPrefix(index, family)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse("2006.01", month)
	return t, err == nil
}
