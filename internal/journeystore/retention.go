package journeystore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Retention is how long each family is kept, in months; 0 keeps it for
// ever. Dead letters are not covered.
type Retention struct {
	// EventsMonths deletes the index of a month once that month ended more
	// than this many months ago.
	EventsMonths int
	// VisitsMonths deletes a visit whose last activity is older.
	VisitsMonths int
	// VisitorsMonths deletes a visitor last seen longer ago.
	VisitorsMonths int
	// CreditsMonths deletes an attribution credit whose outcome is older.
	CreditsMonths int
}

// MaxRetentionMonths is the longest retention of any family, in months.
const MaxRetentionMonths = 1200

// CheckRetentionMonths checks the retention of one family.
func CheckRetentionMonths(months int) error {
	if months < 0 || months > MaxRetentionMonths {
		return fmt.Errorf("must be 0 (keep for ever) to %d, not %d", MaxRetentionMonths, months)
	}
	return nil
}

// Enabled reports whether any family has a retention.
func (r Retention) Enabled() bool {
	return r.EventsMonths > 0 || r.VisitsMonths > 0 || r.VisitorsMonths > 0 || r.CreditsMonths > 0
}

// months returns the retention of a family.
func (r Retention) months(f Family) int {
	switch f {
	case FamilyEvents:
		return r.EventsMonths
	case FamilyVisits:
		return r.VisitsMonths
	case FamilyVisitors:
		return r.VisitorsMonths
	case FamilyCredits:
		return r.CreditsMonths
	}
	return 0
}

// RetentionReport is what ApplyRetention did (or, in a dry run, would do).
type RetentionReport struct {
	DryRun   bool
	Now      time.Time
	Families []RetentionFamily // events, visits, visitors, credits
}

// RetentionFamily is the retention of one family.
type RetentionFamily struct {
	Family Family
	Index  string // the index, or the pattern of the event indices
	Months int    // 0: kept for ever, not checked
	// Field is the date that ages an entity document ("@timestamp" when it
	// has none of its own); empty for events.
	Field string
	// Before: the event indices of months that began before it, or the
	// entities dated before it, are expired.
	Before time.Time
	// Indices lists the expired monthly event indices, in name order.
	Indices []string
	// Documents counts the expired documents (for event indices as far as
	// the index statistics know).
	Documents int64
	Err       error // this family failed; the others were still applied
}

// ApplyRetention applies r once at now, as the exporter's retention check
// does: it deletes every monthly event index whose month ended more than
// r.EventsMonths months ago and every entity document older than its
// family's retention. With dryRun it deletes nothing and reports what it
// would delete. A family that fails does not stop the others; the error
// joins their errors.
func (s *Store) ApplyRetention(ctx context.Context, r Retention, now time.Time, dryRun bool) (*RetentionReport, error) {
	var errs []error
	for _, f := range storedFamilies {
		if err := CheckRetentionMonths(r.months(f)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rep := &RetentionReport{DryRun: dryRun, Now: now}
	ev := RetentionFamily{Family: FamilyEvents, Index: s.layout.Index(FamilyEvents), Months: r.EventsMonths}
	if ev.Months > 0 {
		y, m, _ := now.UTC().Date()
		// The months whose end plus the retention is not after now.
		ev.Before = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, -ev.Months, 0)
		var gone []expiredIndex
		gone, ev.Err = s.expireEventIndices(ctx, ev.Months, now, dryRun)
		for _, g := range gone {
			ev.Indices = append(ev.Indices, g.name)
			ev.Documents += g.docs
		}
	}
	rep.Families = append(rep.Families, ev)
	for _, f := range entityFamilies {
		rf := RetentionFamily{Family: f, Index: s.layout.Index(f), Months: r.months(f), Field: ageField(f)}
		if rf.Months > 0 {
			rf.Before = entityCutoff(rf.Months, now)
			rf.Documents, rf.Err = s.expireEntities(ctx, f, rf.Months, now, dryRun)
		}
		rep.Families = append(rep.Families, rf)
	}
	for _, f := range rep.Families {
		if f.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Family, f.Err))
		}
	}
	return rep, errors.Join(errs...)
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
func (s *Store) expireEventIndices(ctx context.Context, months int, now time.Time, dryRun bool) ([]expiredIndex, error) {
	cat := s.es.Cat.Indices
	raw, err := answer("retention: listing indices")(cat(cat.WithContext(ctx), cat.WithIndex(s.layout.Index(FamilyEvents)),
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
		if !s.layout.expired(r.Index, months, now) {
			continue
		}
		if !dryRun {
			del := s.es.Indices.Delete
			if _, err := answer("retention: deleting " + r.Index)(del([]string{r.Index}, del.WithContext(ctx))); err != nil {
				return gone, err
			}
		}
		docs, _ := strconv.ParseInt(r.Docs, 10, 64)
		gone = append(gone, expiredIndex{name: r.Index, docs: docs})
	}
	return gone, nil
}

// expired reports whether index is a monthly event index of the layout
// whose month ended at least months months before now.
func (l Layout) expired(index string, months int, now time.Time) bool {
	t, ok := l.eventsIndexMonth(index)
	if !ok {
		return false // not ours (e.g. another prefix that starts the same)
	}
	end := t.AddDate(0, 1, 0) // the first instant after the month
	return !now.Before(end.AddDate(0, months, 0))
}

// ageField returns the date field that ages a document of an entity
// family: a visit by its last activity, a visitor by when it was last
// seen, a credit by its outcome's time (its @timestamp).
func ageField(f Family) string {
	switch f {
	case FamilyVisits:
		return eventmodel.AttrVisitLastActivity
	case FamilyVisitors:
		return eventmodel.AttrVisitorLastSeen
	case FamilyCredits:
		return FieldTimestamp
	}
	return ""
}

// expireEntities deletes (with dryRun only counts) the documents of an
// entity family whose date is more than months before now, and returns
// how many. Entity indices are not time-based (see Layout.Index), so this
// deletes documents by search and bulk delete, as erasure does. A document
// without the date field ages by its @timestamp (visit start, first seen).
func (s *Store) expireEntities(ctx context.Context, f Family, months int, now time.Time, dryRun bool) (int64, error) {
	field := ageField(f)
	before := map[string]any{"lt": entityCutoff(months, now).Format(time.RFC3339Nano)}
	query := map[string]any{"range": map[string]any{field: before}}
	if field != FieldTimestamp {
		query = map[string]any{"bool": map[string]any{"minimum_should_match": 1, "should": []any{
			query,
			map[string]any{"bool": map[string]any{
				"must_not": map[string]any{"exists": map[string]any{"field": field}},
				"filter":   map[string]any{"range": map[string]any{FieldTimestamp: before}},
			}},
		}}}
	}
	index := s.layout.Index(f)
	if dryRun {
		return s.countMatching(ctx, "retention", index, query)
	}
	deleted, _, err := s.deleteMatching(ctx, "retention", []string{index}, query)
	// Not done after maxEraseRounds: the rest goes at the next check.
	return sumCounts(deleted), err
}

// entityCutoff is the date before which an entity of a family with a
// retention of months is expired.
func entityCutoff(months int, now time.Time) time.Time { return now.UTC().AddDate(0, -months, 0) }

// countMatching returns how many documents of index query matches (none
// when the index does not exist).
func (s *Store) countMatching(ctx context.Context, what, index string, query map[string]any) (int64, error) {
	refresh := s.es.Indices.Refresh
	if _, err := answer(what + " refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(index),
		refresh.WithIgnoreUnavailable(true), refresh.WithAllowNoIndices(true))); err != nil {
		return 0, err
	}
	body, err := json.Marshal(map[string]any{"query": query})
	if err != nil {
		return 0, err
	}
	count := s.es.Count
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
