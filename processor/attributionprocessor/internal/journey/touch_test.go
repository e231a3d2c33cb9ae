package journey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Touch and State give what Apply gives, in two steps: a Ref per event,
// the full Visit and Visitor when asked.
func TestTouchAndStateMatchApply(t *testing.T) {
	cfg := Config{MaxVisitors: 3, SplitAtMidnight: true}
	a, err := New(cfg)
	require.NoError(t, err)
	b, err := New(cfg)
	require.NoError(t, err)
	b.key = a.key // same dedupe hashes

	t0 := time.Date(2026, 11, 23, 23, 40, 0, 0, time.UTC)
	events := []Event{
		{ID: "1", Visitor: "v1", Name: "webjourney.page_view", Time: t0, Path: "/a", Medium: "search", Source: "google"},
		{ID: "2", Visitor: "v1", Name: "webjourney.page_view", Time: t0.Add(time.Minute), Path: "/b"},
		{ID: "2", Visitor: "v1", Name: "webjourney.page_view", Time: t0.Add(time.Minute), Path: "/b"},
		{ID: "3", Visitor: "v2", Name: "webjourney.page_view", Time: t0, Path: "/x", Medium: "email", Source: "nl", Campaign: "c"},
		{ID: "4", Visitor: "v1", Name: "webjourney.engagement", Time: t0.Add(2 * time.Minute), EngagedMs: 5000},
		{ID: "5", Visitor: "v1", Name: "webjourney.page_view", Time: t0.Add(25 * time.Minute), Path: "/c"}, // after midnight
		{ID: "6", Visitor: "v1", Name: "webjourney.page_view", Time: t0.Add(-time.Hour), Path: "/late"},
		{ID: "7", Visitor: "", Name: "webjourney.page_view", Time: t0},
		{ID: "8", Visitor: "v3", Name: "webjourney.custom", Time: t0},
		{ID: "9", Visitor: "v4", Name: "webjourney.page_view", Time: t0, Medium: "social", Source: "x"},
	}
	for i, e := range events {
		visit, visitor, applied, reason := a.Apply(e)
		ref, applied2, reason2 := b.Touch(e)
		require.Equal(t, applied, applied2, "event %d", i)
		require.Equal(t, reason, reason2, "event %d", i)
		if !applied {
			assert.Equal(t, Ref{}, ref)
			continue
		}
		assert.Equal(t, Ref{
			VisitID: visit.ID, Medium: visit.Medium, Source: visit.Source, Campaign: visit.Campaign, Partner: visit.Partner,
			LandingPage: visit.LandingPage, VisitOutcomes: visit.Outcomes, VisitorOutcomes: visitor.Outcomes, Touched: visitor.Touched,
			VisitorVisits: visitor.VisitCount, VisitorPartner: visitor.Partner, VisitVersion: visit.Version,
			VisitorFirstSeen: visitor.FirstSeen.UnixNano(), VisitorFirstMedium: visitor.FirstTouch.Medium, VisitorFirstSource: visitor.FirstTouch.Source,
		}, ref, "event %d", i)
		if i == 1 {
			_, _, ok := a.MarkOutcome("v1", visit.ID, "signup")
			require.True(t, ok)
			_, _, ok = b.MarkOutcome("v1", ref.VisitID, "signup")
			require.True(t, ok)
		}
		v2, vr2, ok := b.State(e.Visitor, ref.VisitID)
		require.True(t, ok, "event %d", i)
		v1, vr1, ok := a.State(e.Visitor, visit.ID)
		require.True(t, ok)
		if i != 1 {
			assert.Equal(t, visit, v1, "State gives what Apply gave (event %d)", i)
		}
		assert.Equal(t, v1, v2, "event %d", i)
		vr1.Touched = false
		assert.Equal(t, vr1, vr2, "event %d", i)
	}
	_, _, ok := b.State("v1", "not a visit id")
	assert.False(t, ok)
	_, _, ok = b.State("nobody", "00000000000000000000000000000000")
	assert.False(t, ok)
}

// A visit the tracker stops holding comes back once, final, in Dropped.
func TestTouchReportsDroppedVisits(t *testing.T) {
	tr, err := New(Config{})
	require.NoError(t, err)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	touch := func(id string, at time.Duration, medium string) Ref {
		ref, ok, _ := tr.Touch(Event{ID: id, Visitor: "v", Name: "webjourney.page_view", Time: t0.Add(at), Path: "/" + id, Medium: medium, Source: medium})
		require.True(t, ok)
		return ref
	}
	first := touch("a", 0, "search")
	touch("b", time.Minute, "")
	second := touch("c", 2*time.Minute, "email")
	assert.Empty(t, second.Dropped, "two visits are held")
	third := touch("d", 3*time.Minute, "social")
	require.Len(t, third.Dropped, 1)
	d := third.Dropped[0]
	assert.Equal(t, first.VisitID, d.ID)
	assert.Equal(t, 2, d.PagesViewed)
	assert.Equal(t, "/b", d.ExitPage)
	_, _, held := tr.State("v", first.VisitID)
	assert.False(t, held)

	// After a long absence the previous visit is dropped too.
	later := touch("e", 10*time.Hour, "")
	assert.Len(t, later.Dropped, 2, "the old previous visit, and the old open one (now previous) as it is long idle")
}
