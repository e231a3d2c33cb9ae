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

// Retention is how long each family is kept, in months (dead letters in
// days); 0 keeps it for ever. Whatever it says, stamped events are never
// kept longer than their stamp (see stamped.go), and the partner-facing
// copies of visits and credits go with the visits and credits.
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
	// DeadLetterDays deletes a dead letter written longer ago (the layout's
	// dead-letter index; none without one).
	DeadLetterDays int
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

// MaxRetentionDays is the longest retention of dead letters, in days.
const MaxRetentionDays = 36500

// CheckRetentionDays checks the retention of dead letters.
func CheckRetentionDays(days int) error {
	if days < 0 || days > MaxRetentionDays {
		return fmt.Errorf("must be 0 (keep for ever) to %d, not %d", MaxRetentionDays, days)
	}
	return nil
}

// Enabled reports whether any family has a retention.
func (r Retention) Enabled() bool {
	return r.EventsMonths > 0 || r.VisitsMonths > 0 || r.VisitorsMonths > 0 || r.CreditsMonths > 0 || r.DeadLetterDays > 0
}

// months returns the retention of a family.
func (r Retention) months(f Family) int {
	switch f {
	case FamilyEvents:
		return r.EventsMonths
	case FamilyVisits, FamilyPartnerVisits:
		return r.VisitsMonths
	case FamilyVisitors, FamilyFunnels:
		// A funnel record is a part of its visitor.
		return r.VisitorsMonths
	case FamilyCredits, FamilyPartnerCredits, FamilyPostbacks:
		// The postback ledger reports on credits: it goes with them.
		return r.CreditsMonths
	}
	return 0
}

// RetentionReport is what ApplyRetention did (or, in a dry run, would do).
type RetentionReport struct {
	DryRun bool
	Now    time.Time
	// Families lists events, visits, visitors, credits; then the stamped
	// events of each stamp found (Stamp set), the partner-facing copies
	// (when visits or credits have a retention), the postback ledger (when
	// credits have one) and the dead letters (when the layout has a
	// dead-letter index).
	Families []RetentionFamily
}

// RetentionFamily is the retention of one family.
type RetentionFamily struct {
	Family Family
	Index  string // the index, or the pattern of the event indices
	Months int    // 0: kept for ever, not checked
	// Stamp is, for stamped events, the months of their stamp (Months is
	// the retention applied: the stamp, or events_months when shorter).
	Stamp int
	// Days is the retention of dead letters (Months is 0).
	Days int
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
	if err := CheckRetentionDays(r.DeadLetterDays); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	rep := &RetentionReport{DryRun: dryRun, Now: now}
	ev := RetentionFamily{Family: FamilyEvents, Index: s.layout.Index(FamilyEvents), Months: r.EventsMonths}
	// Listed whatever events_months says: stamped events always expire.
	indices, listErr := s.eventIndices(ctx)
	if ev.Months > 0 {
		ev.Before = monthsBefore(ev.Months, now)
		ev.Err = listErr
	} else if listErr != nil {
		errs = append(errs, fmt.Errorf("stamped events: %w", listErr))
	}
	stamped := map[int]*RetentionFamily{}
	var stamps []int
	if listErr == nil {
		byFamily := map[*RetentionFamily][]eventIndex{}
		for _, ix := range indices {
			f := &ev
			months := r.EventsMonths
			if _, stamp, ok := s.layout.stampedEventsIndex(ix.name); ok {
				if stamped[stamp] == nil {
					m := stamp
					if r.EventsMonths > 0 {
						m = min(m, r.EventsMonths)
					}
					stamped[stamp] = &RetentionFamily{Family: FamilyEvents, Stamp: stamp, Months: m, Before: monthsBefore(m, now),
						Index: s.layout.stampedEventsPattern(stamp)}
					stamps = append(stamps, stamp)
				}
				f, months = stamped[stamp], stamped[stamp].Months
			}
			if months > 0 && s.layout.expiredIndex(ix.name, months, now) {
				byFamily[f] = append(byFamily[f], ix)
			}
		}
		for f, expired := range byFamily {
			gone, err := s.deleteIndices(ctx, expired, dryRun)
			f.Err = err
			for _, g := range gone {
				f.Indices = append(f.Indices, g.name)
				f.Documents += g.docs
			}
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
	sort.Ints(stamps)
	for _, m := range stamps {
		rep.Families = append(rep.Families, *stamped[m])
	}
	for _, f := range append(partnerFamilies[:], FamilyPostbacks) {
		if months := r.months(f); months > 0 {
			rf := RetentionFamily{Family: f, Index: s.layout.Index(f), Months: months, Field: ageField(f), Before: entityCutoff(months, now)}
			rf.Documents, rf.Err = s.expireEntities(ctx, f, months, now, dryRun)
			rep.Families = append(rep.Families, rf)
		}
	}
	if dl := s.layout.DeadLetterIndex; dl != "" {
		rf := RetentionFamily{Family: FamilyDeadLetter, Index: dl, Days: r.DeadLetterDays, Field: FieldTimestamp}
		if rf.Days > 0 {
			rf.Before = now.UTC().AddDate(0, 0, -rf.Days)
			rf.Documents, rf.Err = s.expireOlder(ctx, dl, FieldTimestamp, rf.Before, dryRun)
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

// monthsBefore is the start of the first month whose event index a
// retention of months keeps at now: the months that began before it ended
// months or more ago.
func monthsBefore(months int, now time.Time) time.Time {
	y, m, _ := now.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, -months, 0)
}

// eventIndex is a monthly event index (of stamped events or not).
type eventIndex struct {
	name string
	docs int64 // documents in it, as far as the index statistics know
}

// eventIndices lists the monthly event indices of the layout (stamped or
// not) with their document counts, in name order.
func (s *Store) eventIndices(ctx context.Context) ([]eventIndex, error) {
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
	out := make([]eventIndex, 0, len(rows))
	for _, r := range rows {
		docs, _ := strconv.ParseInt(r.Docs, 10, 64)
		out = append(out, eventIndex{name: r.Index, docs: docs})
	}
	return out, nil
}

// deleteIndices deletes (with dryRun does not) the indices in order, and
// returns those it deleted (would delete). Indices are named by event
// time, so this removes exactly the events older than the retention (to
// the month).
func (s *Store) deleteIndices(ctx context.Context, indices []eventIndex, dryRun bool) ([]eventIndex, error) {
	var gone []eventIndex
	for _, ix := range indices {
		if !dryRun {
			del := s.es.Indices.Delete
			if _, err := answer("retention: deleting " + ix.name)(del([]string{ix.name}, del.WithContext(ctx))); err != nil {
				return gone, err
			}
		}
		gone = append(gone, ix)
	}
	return gone, nil
}

// expiredIndex reports whether index is a monthly event index of the
// layout, of stamped events or not, whose month ended at least months
// months before now.
func (l Layout) expiredIndex(index string, months int, now time.Time) bool {
	if t, _, ok := l.stampedEventsIndex(index); ok {
		return !now.Before(t.AddDate(0, 1+months, 0))
	}
	return l.expired(index, months, now)
}

// stampedEventsPattern is the pattern of the indices of events stamped
// with months.
func (l Layout) stampedEventsPattern(months int) string {
	return l.eventsFamily() + "max" + strconv.Itoa(months) + "m-*"
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
// family: a visit (and its partner-facing copy) by its last activity, a
// visitor by when it was last seen, a credit (and its copy) by its
// outcome's time (its @timestamp).
func ageField(f Family) string {
	switch f {
	case FamilyVisits, FamilyPartnerVisits:
		return eventmodel.AttrVisitLastActivity
	case FamilyVisitors:
		return eventmodel.AttrVisitorLastSeen
	case FamilyFunnels:
		return eventmodel.AttrFunnelLastAt
	case FamilyCredits, FamilyPartnerCredits, FamilyPostbacks:
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
	return s.expire(ctx, s.layout.Index(f), query, dryRun)
}

// expireOlder deletes (with dryRun only counts) the documents of index
// whose field is before t, and returns how many.
func (s *Store) expireOlder(ctx context.Context, index, field string, t time.Time, dryRun bool) (int64, error) {
	return s.expire(ctx, index, map[string]any{"range": map[string]any{field: map[string]any{"lt": t.UTC().Format(time.RFC3339Nano)}}}, dryRun)
}

// expire deletes (with dryRun only counts) the documents of index that
// query matches, and returns how many.
func (s *Store) expire(ctx context.Context, index string, query map[string]any, dryRun bool) (int64, error) {
	if dryRun {
		return s.countMatching(ctx, "retention", index, query)
	}
	deleted, _, err := s.deleteMatching(ctx, "retention", []string{index}, query, nil)
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
