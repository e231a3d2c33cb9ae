package journey

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

var t0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

func newTracker(t testing.TB, cfg Config) *Tracker {
	t.Helper()
	tr, err := New(cfg)
	require.NoError(t, err)
	return tr
}

// pv is a direct page view of visitor "v1" at t0+at.
func pv(id, path string, at time.Duration) Event {
	return Event{
		ID: id, Visitor: "v1", Site: "s1", Name: eventmodel.EventPageView,
		Time: t0.Add(at), Path: path,
		Medium: "direct", DeviceClass: "desktop", Country: "NZ",
	}
}

func camp(e Event, medium, source, campaign, partner string) Event {
	e.Medium, e.Source, e.Campaign, e.Partner = medium, source, campaign, partner
	return e
}

func eng(id string, at time.Duration, ms int64) Event {
	return Event{ID: id, Visitor: "v1", Site: "s1", Name: eventmodel.EventEngagement, Time: t0.Add(at), EngagedMs: ms}
}

type result struct {
	visit   Visit
	visitor Visitor
	applied bool
	reason  string
}

func feed(t testing.TB, tr *Tracker, evs ...Event) []result {
	t.Helper()
	out := make([]result, len(evs))
	for i, e := range evs {
		v, vr, ok, why := tr.Apply(e)
		out[i] = result{v, vr, ok, why}
	}
	return out
}

func last(rs []result) result { return rs[len(rs)-1] }

func TestSimpleThreePageVisit(t *testing.T) {
	tr := newTracker(t, Config{})
	rs := feed(t, tr,
		camp(pv("e1", "/", 0), "search", "google", "", ""),
		pv("e2", "/products", 40*time.Second),
		eng("e3", 50*time.Second, 7000),
		camp(pv("e4", "/checkout", 2*time.Minute), "internal", "example.com", "", ""),
	)
	for _, r := range rs {
		require.True(t, r.applied)
	}
	got := last(rs)
	id := goldenVisitID
	ver := t0.Add(2 * time.Minute).UnixNano() // the last event's time
	assert.Equal(t, Visit{
		ID: id, Visitor: "v1", Site: "s1", Version: ver, Number: 1,
		Start: t0, LastActivity: t0.Add(2 * time.Minute), IdleAt: t0.Add(32 * time.Minute),
		Duration: 2 * time.Minute, PagesViewed: 3, EngagedMs: 7000,
		Path:        []string{"/", "/products", "/checkout"},
		LandingPage: "/", SecondPage: "/products", ExitPage: "/checkout",
		Medium: "search", Source: "google",
		DeviceClass: "desktop", Country: "NZ",
	}, got.visit)
	tc := Touch{Time: t0, Medium: "search", Source: "google", VisitID: id}
	assert.Equal(t, Visitor{
		Visitor: "v1", Site: "s1", Version: ver,
		FirstSeen: t0, LastSeen: t0.Add(2 * time.Minute), VisitCount: 1,
		FirstTouch: tc, LastNonDirectTouch: tc,
	}, got.visitor)
	assert.Equal(t, []Touch{tc}, tr.Touches("v1"))
	for _, r := range rs {
		assert.Equal(t, id, r.visit.ID, "all events in one visit")
	}
}

func TestBounce(t *testing.T) {
	tests := []struct {
		name string
		evs  []Event
		want bool
	}{
		{"one page, no engagement", []Event{pv("a", "/", 0)}, true},
		{"one page, 9999ms", []Event{pv("a", "/", 0), eng("b", time.Second, 9999)}, true},
		{"one page, 10000ms", []Event{pv("a", "/", 0), eng("b", time.Second, 10000)}, false},
		{"two pages", []Event{pv("a", "/", 0), pv("b", "/x", time.Second)}, false},
		{"no page", []Event{eng("b", time.Second, 100)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(t, Config{})
			assert.Equal(t, tt.want, last(feed(t, tr, tt.evs...)).visit.Bounce)
		})
	}
}

func TestIdleSplit(t *testing.T) {
	tests := []struct {
		gap   time.Duration
		split bool
	}{
		{29*time.Minute + 59*time.Second, false},
		{30 * time.Minute, false}, // boundary: exactly IdleTimeout stays
		{30*time.Minute + time.Second, true},
		{30*time.Minute + time.Nanosecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.gap.String(), func(t *testing.T) {
			tr := newTracker(t, Config{})
			rs := feed(t, tr, pv("a", "/", 0), pv("b", "/x", time.Minute), eng("c", time.Minute+tt.gap, 5))
			assert.Equal(t, tt.split, rs[1].visit.ID != rs[2].visit.ID)
			if tt.split {
				assert.Equal(t, 2, rs[2].visitor.VisitCount)
				assert.Equal(t, 0, rs[2].visit.PagesViewed)
				assert.Equal(t, "direct", rs[2].visit.Medium)
				assert.Equal(t, 2, rs[1].visit.PagesViewed)
			} else {
				assert.Equal(t, 1, rs[2].visitor.VisitCount)
				assert.Equal(t, int64(5), rs[2].visit.EngagedMs)
				assert.Equal(t, 2, rs[2].visit.PagesViewed, "engagement is not a page")
			}
		})
	}
}

func TestCampaignChangeSplits(t *testing.T) {
	tr := newTracker(t, Config{})
	rs := feed(t, tr,
		camp(pv("a", "/", 0), "paid", "google", "spring", ""),
		camp(pv("b", "/x", time.Minute), "paid", "google", "spring", ""), // same entry: same visit
		camp(pv("c", "/y", 2*time.Minute), "paid", "google", "summer", ""),
		camp(pv("d", "/z", 3*time.Minute), "partner", "archipro", "", "ArchiPro"),
		camp(pv("e", "/w", 4*time.Minute), "referral", "news.example", "", ""),
		camp(eng("f", 5*time.Minute, 1), "paid", "bing", "x", ""), // not a page view: no split
	)
	ids := []string{}
	for _, r := range rs {
		require.True(t, r.applied)
		ids = append(ids, r.visit.ID)
	}
	assert.Equal(t, ids[0], ids[1])
	assert.NotEqual(t, ids[1], ids[2])
	assert.NotEqual(t, ids[2], ids[3])
	assert.NotEqual(t, ids[3], ids[4])
	assert.Equal(t, ids[4], ids[5])
	assert.Equal(t, 2, rs[1].visit.PagesViewed)
	assert.Equal(t, "summer", rs[2].visit.Campaign)
	assert.Equal(t, "/y", rs[2].visit.LandingPage)
	assert.Equal(t, "ArchiPro", rs[3].visit.Partner)
	v := last(rs).visitor
	assert.Equal(t, 4, v.VisitCount)
	touches := tr.Touches("v1")
	require.Len(t, touches, 4)
	assert.Equal(t, []string{"spring", "summer", "", ""}, []string{touches[0].Campaign, touches[1].Campaign, touches[2].Campaign, touches[3].Campaign})
	assert.Equal(t, "ArchiPro", v.Partner, "last partner touch survives a later referral")
	assert.Equal(t, "referral", v.LastNonDirectTouch.Medium)
	assert.Equal(t, "spring", v.FirstTouch.Campaign)
}

// A partner touch keeps the partner's attribution window it landed
// with; the window is no part of what makes a campaign change.
func TestPartnerTouchKeepsItsWindow(t *testing.T) {
	tr := newTracker(t, Config{})
	landing := camp(pv("a", "/", 0), "partner", "archipro", "", "ArchiPro")
	landing.PartnerWindow = 48 * time.Hour
	again := camp(pv("b", "/x", time.Minute), "partner", "archipro", "", "ArchiPro")
	again.PartnerWindow = 72 * time.Hour
	rs := feed(t, tr, landing, again)
	assert.Equal(t, rs[0].visit.ID, rs[1].visit.ID, "the same partner again: the same visit")
	touches := tr.Touches("v1")
	require.Len(t, touches, 1)
	assert.Equal(t, "ArchiPro", touches[0].Partner)
	assert.Equal(t, 48*time.Hour, touches[0].PartnerWindow)
	assert.Equal(t, 48*time.Hour, last(rs).visitor.FirstTouch.PartnerWindow)
}

func TestDirectAfterCampaignDoesNotOverwrite(t *testing.T) {
	tr := newTracker(t, Config{})
	rs := feed(t, tr,
		camp(pv("a", "/", 0), "email", "newsletter", "may", ""),
		pv("b", "/x", time.Minute), // direct
		camp(pv("c", "/y", 2*time.Minute), "internal", "example.com", "", ""),
		camp(pv("d", "/z", 3*time.Minute), "", "", "", ""), // unclassified
	)
	for _, r := range rs[1:] {
		assert.Equal(t, rs[0].visit.ID, r.visit.ID)
		assert.Equal(t, "email", r.visit.Medium)
		assert.Equal(t, "may", r.visit.Campaign)
	}
	assert.Equal(t, 4, last(rs).visit.PagesViewed)

	// After the idle timeout a direct arrival is a new direct visit, but
	// the visitor's last non-direct touch stays the email.
	r := last(feed(t, tr, pv("e", "/", 2*time.Hour)))
	assert.Equal(t, "direct", r.visit.Medium)
	assert.Equal(t, 2, r.visitor.VisitCount)
	assert.Equal(t, "email", r.visitor.LastNonDirectTouch.Medium)
	assert.Equal(t, rs[0].visit.ID, r.visitor.LastNonDirectTouch.VisitID)
	assert.Equal(t, "direct", tr.Touches("v1")[1].Medium)
}

func TestMidnightSplit(t *testing.T) {
	akl, err := time.LoadLocation("Pacific/Auckland")
	require.NoError(t, err)
	// 2025-03-10 is NZDT (UTC+13): 10:50Z is 23:50 local, 11:10Z is 00:10 next day.
	aklPair := [2]time.Time{time.Date(2025, 3, 10, 10, 50, 0, 0, time.UTC), time.Date(2025, 3, 10, 11, 10, 0, 0, time.UTC)}
	utcPair := [2]time.Time{time.Date(2025, 3, 10, 23, 50, 0, 0, time.UTC), time.Date(2025, 3, 11, 0, 10, 0, 0, time.UTC)}
	tests := []struct {
		name  string
		cfg   Config
		pair  [2]time.Time
		split bool
	}{
		{"auckland midnight, auckland zone", Config{SplitAtMidnight: true, Location: akl}, aklPair, true},
		{"auckland midnight, utc zone", Config{SplitAtMidnight: true, Location: time.UTC}, aklPair, false},
		{"utc midnight, utc zone", Config{SplitAtMidnight: true, Location: time.UTC}, utcPair, true},
		{"utc midnight, default zone is utc", Config{SplitAtMidnight: true}, utcPair, true},
		{"utc midnight, auckland zone", Config{SplitAtMidnight: true, Location: akl}, utcPair, false},
		{"auckland midnight, split off", Config{Location: akl}, aklPair, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(t, tt.cfg)
			a, b := pv("a", "/", 0), pv("b", "/x", 0)
			a.Time, b.Time = tt.pair[0], tt.pair[1]
			rs := feed(t, tr, a, b)
			assert.Equal(t, tt.split, rs[0].visit.ID != rs[1].visit.ID)
			if tt.split {
				assert.Equal(t, tt.pair[1], rs[1].visit.Start)
			}
			// An out-of-order event from before midnight is not merged
			// into the after-midnight visit: it goes to the previous one.
			c := pv("c", "/y", 0)
			c.Time = tt.pair[1].Add(-21 * time.Minute)
			r := last(feed(t, tr, c))
			require.True(t, r.applied)
			assert.Equal(t, rs[0].visit.ID, r.visit.ID)
		})
	}
}

func TestDuplicatesIgnored(t *testing.T) {
	tr := newTracker(t, Config{MaxSeenIDs: 2})
	rs := feed(t, tr,
		pv("a", "/", 0),
		pv("a", "/", 0),
		pv("b", "/x", time.Minute),
		pv("", "/y", 2*time.Minute),
		pv("", "/y", 2*time.Minute), // no id: never a duplicate
		pv("b", "/x", time.Minute),
		pv("c", "/z", 3*time.Minute),
		pv("a", "/", 4*time.Minute), // forgotten: only the last 2 ids are kept
	)
	applied := []bool{}
	for _, r := range rs {
		applied = append(applied, r.applied)
	}
	assert.Equal(t, []bool{true, false, true, true, true, false, true, true}, applied)
	assert.Equal(t, ReasonDuplicate, rs[1].reason)
	assert.Equal(t, rs[0].visit, rs[1].visit, "a duplicate changes nothing")
	first := rs[0].visitor
	first.Touched = false // only the applied event made the visit
	assert.Equal(t, first, rs[1].visitor)
	assert.Equal(t, 6, last(rs).visit.PagesViewed)

	// Same id for another visitor is not a duplicate.
	o := pv("a", "/", 0)
	o.Visitor = "v2"
	assert.True(t, last(feed(t, tr, o)).applied)
}

func TestOutOfOrder(t *testing.T) {
	t.Run("second page is the earliest after the landing", func(t *testing.T) {
		tr := newTracker(t, Config{})
		rs := feed(t, tr, pv("a", "/a", 0), pv("c", "/c", 2*time.Minute), pv("b", "/b", time.Minute))
		assert.Equal(t, []string{"", "/c", "/b"}, []string{rs[0].visit.SecondPage, rs[1].visit.SecondPage, rs[2].visit.SecondPage})
		assert.Equal(t, "/c", last(rs).visit.ExitPage)
	})
	t.Run("landing page and start corrected", func(t *testing.T) {
		tr := newTracker(t, Config{ReorderWindow: 2 * time.Minute})
		rs := feed(t, tr,
			pv("b", "/b", 90*time.Second),
			pv("c", "/c", 3*time.Minute),
			pv("a", "/a", 0),               // 90s before start: within the window
			eng("d", 2*time.Minute, 4000),  // inside the span
			pv("x", "/x", 150*time.Second), // inside the span, not the exit page
		)
		for _, r := range rs {
			require.True(t, r.applied, r.reason)
			assert.Equal(t, rs[0].visit.ID, r.visit.ID, "id fixed at creation")
		}
		v := last(rs).visit
		assert.Equal(t, t0, v.Start)
		assert.Equal(t, t0.Add(3*time.Minute), v.LastActivity)
		assert.Equal(t, 3*time.Minute, v.Duration)
		assert.Equal(t, "/a", v.LandingPage)
		assert.Equal(t, "/b", v.SecondPage, "the former landing page")
		assert.Equal(t, "/c", v.ExitPage)
		assert.Equal(t, 4, v.PagesViewed)
		assert.Equal(t, int64(4000), v.EngagedMs)
		assert.Equal(t, t0, last(rs).visitor.FirstSeen)
		assert.Equal(t, 1, last(rs).visitor.VisitCount)
	})
	t.Run("earlier campaign landing becomes the entry", func(t *testing.T) {
		tr := newTracker(t, Config{})
		rs := feed(t, tr,
			pv("b", "/b", time.Minute),
			camp(pv("a", "/a", 0), "paid", "google", "spring", ""),
		)
		v := last(rs)
		assert.Equal(t, "paid", v.visit.Medium)
		assert.Equal(t, "spring", v.visit.Campaign)
		assert.Equal(t, "spring", tr.Touches("v1")[0].Campaign)
		assert.Equal(t, "spring", v.visitor.FirstTouch.Campaign)
		assert.Equal(t, "spring", v.visitor.LastNonDirectTouch.Campaign)
		assert.Equal(t, v.visit.ID, v.visitor.LastNonDirectTouch.VisitID)
	})
	t.Run("too late without a held visit", func(t *testing.T) {
		tr := newTracker(t, Config{ReorderWindow: 2 * time.Minute})
		rs := feed(t, tr, pv("b", "/b", 10*time.Minute), pv("a", "/a", 7*time.Minute))
		assert.False(t, rs[1].applied)
		assert.Equal(t, ReasonLate, rs[1].reason)
		assert.Equal(t, rs[0].visit, rs[1].visit)
		// A late event is not remembered as seen.
		assert.False(t, last(feed(t, tr, pv("a", "/a", 7*time.Minute))).applied)
	})
	t.Run("late event applied to the previous visit", func(t *testing.T) {
		tr := newTracker(t, Config{})
		rs := feed(t, tr,
			pv("a", "/a", 0),
			pv("b", "/b", time.Hour),
			pv("c", "/c", 5*time.Minute), // falls into the first visit
		)
		require.True(t, rs[2].applied)
		assert.Equal(t, rs[0].visit.ID, rs[2].visit.ID)
		assert.Equal(t, 2, rs[2].visit.PagesViewed)
		assert.Equal(t, "/c", rs[2].visit.ExitPage)
		assert.Equal(t, t0.Add(5*time.Minute).UnixNano(), rs[2].visit.Version, "the late event's time")
		assert.Equal(t, 1, rs[2].visit.Number)
		assert.Equal(t, 2, rs[2].visitor.VisitCount)
		// Once the visitor is well past it, the previous visit is released.
		feed(t, tr, pv("d", "/d", 3*time.Hour))
		r := last(feed(t, tr, pv("e", "/e", 6*time.Minute)))
		assert.False(t, r.applied)
		assert.Equal(t, ReasonLate, r.reason)
	})
}

func TestVersions(t *testing.T) {
	ns := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	tr := newTracker(t, Config{})
	var visit1, visit2 string
	steps := []struct {
		name           string
		do             func() (Visit, Visitor, bool)
		visit          *string // which visit the step changes
		visitVer, ver  int64   // want
		wantNotApplied bool
	}{
		{"first event: its time", apply(tr, camp(pv("a", "/", 0), "search", "google", "", "")), &visit1, ns(0), ns(0), false},
		{"later event: its time", apply(tr, pv("b", "/x", time.Minute)), &visit1, ns(time.Minute), ns(time.Minute), false},
		{"duplicate: unchanged", apply(tr, pv("b", "/x", time.Minute)), &visit1, ns(time.Minute), ns(time.Minute), true},
		{"outcome: +1", stepOutcome(tr, &visit1, "signup"), &visit1, ns(time.Minute) + 1, ns(time.Minute) + 1, false},
		{"same outcome: unchanged", stepOutcome(tr, &visit1, "signup"), &visit1, ns(time.Minute) + 1, ns(time.Minute) + 1, false},
		{"segment: +1", stepSegment(tr, &visit1, "b2b"), &visit1, ns(time.Minute) + 2, ns(time.Minute) + 2, false},
		{"event in the same nanosecond: +1", apply(tr, eng("c", time.Minute, 100)), &visit1, ns(time.Minute) + 3, ns(time.Minute) + 3, false},
		{"new visit: its time", apply(tr, pv("d", "/y", time.Hour)), &visit2, ns(time.Hour), ns(time.Hour), false},
		{"late event, previous visit: before both versions, so +1", apply(tr, pv("e", "/z", 30*time.Second)), &visit1, ns(time.Minute) + 4, ns(time.Hour) + 1, false},
		{"outcome on the previous visit", stepOutcome(tr, &visit1, "lead"), &visit1, ns(time.Minute) + 5, ns(time.Hour) + 2, false},
		{"outcome known to the visitor: only the visit changes", stepOutcome(tr, &visit2, "lead"), &visit2, ns(time.Hour) + 1, ns(time.Hour) + 2, false},
		{"next event: its time", apply(tr, pv("f", "/w", time.Hour+time.Minute)), &visit2, ns(time.Hour + time.Minute), ns(time.Hour + time.Minute), false},
	}
	for i, st := range steps {
		v, vr, ok := st.do()
		assert.Equal(t, !st.wantNotApplied, ok, "%d %s", i, st.name)
		if *st.visit == "" {
			*st.visit = v.ID
		}
		assert.Equal(t, *st.visit, v.ID, "%d %s", i, st.name)
		assert.Equal(t, st.visitVer, v.Version, "%d %s: visit", i, st.name)
		assert.Equal(t, st.ver, vr.Version, "%d %s: visitor", i, st.name)
	}
	assert.NotEqual(t, visit1, visit2)
}

// apply returns a step that applies e.
func apply(tr *Tracker, e Event) func() (Visit, Visitor, bool) {
	return func() (Visit, Visitor, bool) {
		v, vr, ok, _ := tr.Apply(e)
		return v, vr, ok
	}
}

func stepOutcome(tr *Tracker, id *string, outcome string) func() (Visit, Visitor, bool) {
	return func() (Visit, Visitor, bool) { return tr.MarkOutcome("v1", *id, outcome) }
}

func stepSegment(tr *Tracker, id *string, segment string) func() (Visit, Visitor, bool) {
	return func() (Visit, Visitor, bool) { return tr.MarkSegment("v1", *id, segment) }
}

// TestVersionsAfterRestart: a tracker started afresh (no persisted state)
// writes higher versions for the same visitor than the one before it, even
// after outcomes were marked.
func TestVersionsAfterRestart(t *testing.T) {
	before := newTracker(t, Config{})
	rs := feed(t, before, pv("a", "/", 0), pv("b", "/x", time.Minute))
	v, vr, ok := before.MarkOutcome("v1", rs[1].visit.ID, "purchase")
	require.True(t, ok)
	_, vr2, ok := before.MarkSegment("v1", rs[1].visit.ID, "b2b")
	require.True(t, ok)
	require.Greater(t, vr2.Version, vr.Version)

	after := newTracker(t, Config{})
	r := last(feed(t, after, pv("c", "/y", time.Minute+time.Millisecond)))
	require.True(t, r.applied)
	assert.Greater(t, r.visitor.Version, vr2.Version)
	assert.Greater(t, r.visit.Version, v.Version)
}

func TestVisitNumber(t *testing.T) {
	tests := []struct {
		name string
		evs  []Event
		want []int // Visit.Number after each event
	}{
		{"one visit", []Event{pv("a", "/", 0), pv("b", "/x", time.Minute)}, []int{1, 1}},
		{"idle splits", []Event{pv("a", "/", 0), pv("b", "/x", time.Hour), pv("c", "/y", 2*time.Hour)}, []int{1, 2, 3}},
		{"late event keeps the previous visit's number", []Event{pv("a", "/", 0), pv("b", "/x", time.Hour), pv("c", "/y", time.Minute), pv("d", "/z", time.Hour+time.Minute)}, []int{1, 2, 1, 2}},
		{"campaign change", []Event{pv("a", "/", 0), camp(pv("b", "/x", time.Minute), "paid", "google", "c", "")}, []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(t, Config{})
			var got []int
			for _, r := range feed(t, tr, tt.evs...) {
				require.True(t, r.applied)
				got = append(got, r.visit.Number)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestVisitIDsDeterministic(t *testing.T) {
	evs := []Event{pv("a", "/", 0), pv("b", "/x", time.Hour), pv("c", "/y", 2*time.Hour)}
	ids := func() []string {
		tr := newTracker(t, Config{})
		var out []string
		for _, r := range feed(t, tr, evs...) {
			out = append(out, r.visit.ID)
		}
		return out
	}
	first, second := ids(), ids()
	assert.Equal(t, first, second)
	assert.Len(t, first, 3)
	assert.NotEqual(t, first[0], first[1])
	// Golden: hex of the first 16 bytes of SHA-256("s1\x00v1\x00" + big-endian start ns).
	assert.Equal(t, goldenVisitID, first[0])

	// Another visitor at the same time gets another id.
	o := evs[0]
	o.Visitor = "v2"
	tr := newTracker(t, Config{})
	assert.NotEqual(t, first[0], last(feed(t, tr, o)).visit.ID)
}

func TestLRUEviction(t *testing.T) {
	tr := newTracker(t, Config{MaxVisitors: 2})
	ev := func(visitor, id string, at time.Duration) Event {
		e := pv(id, "/", at)
		e.Visitor = visitor
		return e
	}
	feed(t, tr, ev("v1", "a", 0), ev("v2", "b", 0), ev("v1", "c", time.Minute))
	assert.Equal(t, int64(0), tr.Evictions())
	feed(t, tr, ev("v3", "d", 2*time.Minute)) // evicts v2, the least recently used
	assert.Equal(t, int64(1), tr.Evictions())
	assert.Equal(t, 2, tr.Len())
	r := last(feed(t, tr, ev("v1", "e", 3*time.Minute)))
	assert.Equal(t, 3, r.visit.PagesViewed, "v1 still held")
	r = last(feed(t, tr, ev("v2", "b", 4*time.Minute))) // back: fresh state, so "b" is not a duplicate
	assert.True(t, r.applied)
	assert.Equal(t, t0.Add(4*time.Minute).UnixNano(), r.visitor.Version)
	assert.Equal(t, 1, r.visitor.VisitCount)
	assert.Equal(t, 1, r.visit.Number)
	assert.Equal(t, 1, r.visit.PagesViewed)
	assert.Equal(t, int64(2), tr.Evictions())
}

func TestMarkOutcomeAndSegment(t *testing.T) {
	tr := newTracker(t, Config{})
	rs := feed(t, tr, pv("a", "/", 0), pv("b", "/x", time.Hour)) // two visits
	first, second := rs[0].visit.ID, rs[1].visit.ID
	base := t0.Add(time.Hour).UnixNano()
	type want struct {
		visitOutcomes, visitSegments     []string
		visitorOutcomes, visitorSegments []string
		visitVer, visitorVer             int64
	}
	tests := []struct {
		name    string
		segment bool
		visit   string
		value   string
		want    want
	}{
		{"outcome on the open visit", false, second, "purchase", want{[]string{"purchase"}, nil, []string{"purchase"}, nil, base + 1, base + 1}},
		{"same outcome again: a set", false, second, "purchase", want{[]string{"purchase"}, nil, []string{"purchase"}, nil, base + 1, base + 1}},
		{"second outcome", false, second, "signup", want{[]string{"purchase", "signup"}, nil, []string{"purchase", "signup"}, nil, base + 2, base + 2}},
		{"segment", true, second, "b2b", want{[]string{"purchase", "signup"}, []string{"b2b"}, []string{"purchase", "signup"}, []string{"b2b"}, base + 3, base + 3}},
		{"outcome name as segment is another set", true, second, "purchase", want{[]string{"purchase", "signup"}, []string{"b2b", "purchase"}, []string{"purchase", "signup"}, []string{"b2b", "purchase"}, base + 4, base + 4}},
		{"known outcome on the previous visit: only the visit changes", false, first, "purchase", want{[]string{"purchase"}, nil, []string{"purchase", "signup"}, []string{"b2b", "purchase"}, t0.UnixNano() + 1, base + 4}},
		{"new segment on the previous visit", true, first, "vip", want{[]string{"purchase"}, []string{"vip"}, []string{"purchase", "signup"}, []string{"b2b", "purchase", "vip"}, t0.UnixNano() + 2, base + 5}},
	}
	for _, tt := range tests {
		mark := tr.MarkOutcome
		if tt.segment {
			mark = tr.MarkSegment
		}
		v, vr, ok := mark("v1", tt.visit, tt.value)
		require.True(t, ok, tt.name)
		assert.Equal(t, tt.visit, v.ID, tt.name)
		got := want{v.Outcomes, v.Segments, vr.Outcomes, vr.Segments, v.Version, vr.Version}
		assert.Equal(t, tt.want, got, tt.name)
		assert.Equal(t, "v1", vr.Visitor, tt.name)
		assert.Equal(t, 2, vr.VisitCount, tt.name)
		assert.Equal(t, first, vr.FirstTouch.VisitID, tt.name)
	}
}

// Returned marks are shared, not copied, but never change under their
// holder: marking writes a new array, and appending to a returned slice
// cannot reach the tracker's (its capacity is capped).
func TestMarksNeverChangeUnderTheirHolder(t *testing.T) {
	tr := newTracker(t, Config{})
	r := last(feed(t, tr, pv("a", "/", 0)))
	assert.Nil(t, r.visit.Outcomes, "nothing marked: nil")
	assert.Nil(t, r.visitor.Segments)
	v, vr, ok := tr.MarkOutcome("v1", r.visit.ID, "purchase")
	require.True(t, ok)
	_, vr2, ok := tr.MarkOutcome("v1", r.visit.ID, "signup")
	require.True(t, ok)
	assert.Equal(t, []string{"purchase"}, v.Outcomes, "a held slice does not see later marks")
	assert.Equal(t, []string{"purchase"}, vr.Outcomes)
	assert.Equal(t, []string{"purchase", "signup"}, vr2.Outcomes)

	_ = append(vr2.Outcomes, "appended")
	v2, _, ok := tr.MarkSegment("v1", r.visit.ID, "b2b")
	require.True(t, ok)
	_ = append(v2.Segments, "appended")
	r = last(feed(t, tr, pv("b", "/x", time.Minute)))
	assert.Equal(t, []string{"purchase", "signup"}, r.visit.Outcomes)
	assert.Equal(t, []string{"b2b"}, r.visit.Segments)
	assert.Equal(t, []string{"purchase", "signup"}, r.visitor.Outcomes, "Apply returns the visitor's marks")
	assert.Equal(t, []string{"b2b"}, r.visitor.Segments)
}

func TestMarkNotHeld(t *testing.T) {
	tr := newTracker(t, Config{MaxVisitors: 2})
	rs := feed(t, tr, pv("a", "/", 0), pv("b", "/", time.Hour), pv("c", "/", 2*time.Hour)) // three visits
	other := pv("o", "/", 0)
	other.Visitor = "v2"
	feed(t, tr, other)
	tests := []struct {
		name, visitor, visit string
		ok                   bool
	}{
		{"open visit", "v1", rs[2].visit.ID, true},
		{"previous visit", "v1", rs[1].visit.ID, true},
		{"visit no longer held", "v1", rs[0].visit.ID, false},
		{"unknown visit", "v1", strings.Repeat("0", 32), false},
		{"not hex", "v1", strings.Repeat("x", 32), false},
		{"too short", "v1", rs[2].visit.ID[:30], false},
		{"upper-case hex of the open visit is the same id", "v1", strings.ToUpper(rs[2].visit.ID), true},
		{"another visitor's visit", "v2", rs[2].visit.ID, false},
		{"unknown visitor", "nobody", rs[2].visit.ID, false},
	}
	for _, tt := range tests {
		for _, mark := range []func(string, string, string) (Visit, Visitor, bool){tr.MarkOutcome, tr.MarkSegment} {
			v, vr, ok := mark(tt.visitor, tt.visit, "x")
			assert.Equal(t, tt.ok, ok, tt.name)
			if !ok {
				assert.Equal(t, Visit{}, v, tt.name)
				assert.Equal(t, Visitor{}, vr, tt.name)
			}
		}
	}
}

func TestReturnedTouchesAreACopy(t *testing.T) {
	tr := newTracker(t, Config{})
	feed(t, tr, camp(pv("a", "/", 0), "search", "google", "", ""))
	tr.Touches("v1")[0].Medium = "mutated"
	feed(t, tr, pv("b", "/x", time.Minute))
	assert.Equal(t, "search", tr.Touches("v1")[0].Medium)
	assert.Nil(t, tr.Touches("nobody"))
}

func TestTouchesBounded(t *testing.T) {
	tr := newTracker(t, Config{MaxTouches: 3})
	var rs []result
	for i := range 5 {
		e := camp(pv(fmt.Sprint(i), "/", time.Duration(i)*time.Hour), "paid", "google", fmt.Sprint("c", i), "")
		if i == 1 {
			e.Partner, e.Medium = "P1", "partner"
		}
		rs = append(rs, last(feed(t, tr, e)))
	}
	v := last(rs).visitor
	assert.Equal(t, 5, v.VisitCount)
	touches := tr.Touches("v1")
	require.Len(t, touches, 3)
	for i, tc := range touches {
		assert.Equal(t, fmt.Sprint("c", i+2), tc.Campaign)
		assert.Equal(t, rs[i+2].visit.ID, tc.VisitID)
		assert.Equal(t, t0.Add(time.Duration(i+2)*time.Hour), tc.Time)
	}
	assert.Equal(t, "c0", v.FirstTouch.Campaign)
	assert.Equal(t, "c4", v.LastNonDirectTouch.Campaign)
	assert.Equal(t, "P1", v.Partner)
}

func TestInvalid(t *testing.T) {
	tr := newTracker(t, Config{})
	e := pv("a", "/", 0)
	e.Visitor = ""
	_, _, ok, why := tr.Apply(e)
	assert.False(t, ok)
	assert.Equal(t, ReasonInvalid, why)
	e = pv("a", "/", 0)
	e.Time = time.Time{}
	_, _, ok, why = tr.Apply(e)
	assert.False(t, ok)
	assert.Equal(t, ReasonInvalid, why)
}

func TestNewValidation(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{IdleTimeout: -1}, "IdleTimeout"},
		{Config{ReorderWindow: -1}, "ReorderWindow"},
		{Config{ReorderWindow: time.Hour}, "ReorderWindow"},
		{Config{MaxVisitors: -1}, "MaxVisitors"},
		{Config{MaxSeenIDs: -1}, "MaxSeenIDs"},
		{Config{MaxTouches: -1}, "MaxTouches"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.field)
	}
	tr, err := New(Config{})
	require.NoError(t, err)
	assert.Equal(t, DefaultIdleTimeout, tr.cfg.IdleTimeout)
	assert.Equal(t, DefaultReorderWindow, tr.cfg.ReorderWindow)
	assert.Equal(t, DefaultMaxVisitors, tr.cfg.MaxVisitors)
	assert.Equal(t, DefaultMaxSeenIDs, tr.cfg.MaxSeenIDs)
	assert.Equal(t, DefaultMaxTouches, tr.cfg.MaxTouches)
}

func TestTouchedOnlyWhenAVisitIsCreatedOrReentered(t *testing.T) {
	tr, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	pv := func(id string, at time.Duration, medium string) bool {
		_, vr, ok, _ := tr.Apply(Event{ID: id, Visitor: "v", Name: "webjourney.page_view", Time: t0.Add(at), Medium: medium, Source: medium})
		if !ok {
			t.Fatalf("%s not applied", id)
		}
		return vr.Touched
	}
	for _, c := range []struct {
		id     string
		at     time.Duration
		medium string
		want   bool
	}{
		{"a", time.Minute, "", true},               // first visit
		{"b", 2 * time.Minute, "", false},          // extends it
		{"c", 30 * time.Second, "search", true},    // late landing with a real source re-enters it
		{"d", 3 * time.Minute, "email", true},      // campaign change: new visit
		{"e", 4 * time.Minute, "internal", false},  // internal page of that visit
		{"f", 4*time.Minute + time.Hour, "", true}, // after the idle timeout
	} {
		if got := pv(c.id, c.at, c.medium); got != c.want {
			t.Errorf("%s: Touched = %v, want %v", c.id, got, c.want)
		}
	}
}

// ref sets the referrer of page view e; only marks the entry as resting on
// the referrer alone.
func ref(e Event, domain string, only bool) Event {
	e.Referrer, e.ReferrerOnly = domain, only
	return e
}

// TestSinglePageAppReferrer covers trackers of single-page apps that
// resend the landing's external referrer (document.referrer) with every
// in-app page view: such a page view continues the visit; a new campaign,
// click id, partner or another referrer still starts a new one.
func TestSinglePageAppReferrer(t *testing.T) {
	// The landing: a newsletter link opened in webmail.
	landing := ref(camp(pv("a", "/", 0), "email", "newsletter", "may-2025", ""), "mail.example.net", false)
	tests := []struct {
		name  string
		next  Event // one minute after the landing
		split bool
	}{
		{"same referrer, no campaign", ref(camp(pv("b", "/app/2", time.Minute), "referral", "example.net", "", ""), "mail.example.net", true), false},
		{"same referrer, new utm", ref(camp(pv("b", "/app/2", time.Minute), "email", "newsletter", "june-2025", ""), "mail.example.net", false), true},
		{"different referrer", ref(camp(pv("b", "/app/2", time.Minute), "referral", "other.example", "", ""), "other.example", true), true},
		{"click id", ref(camp(pv("b", "/app/2", time.Minute), "paid", "google", "", ""), "mail.example.net", false), true},
		{"partner", ref(camp(pv("b", "/app/2", time.Minute), "partner", "archipro", "", "ArchiPro"), "mail.example.net", false), true},
		{"no referrer", camp(pv("b", "/app/2", time.Minute), "direct", "", "", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(t, Config{})
			rs := feed(t, tr, landing, tt.next)
			require.True(t, rs[1].applied, rs[1].reason)
			if tt.split {
				assert.NotEqual(t, rs[0].visit.ID, rs[1].visit.ID)
				assert.Equal(t, 2, rs[1].visitor.VisitCount)
				assert.Equal(t, tt.next.Medium, rs[1].visit.Medium)
				return
			}
			assert.Equal(t, rs[0].visit.ID, rs[1].visit.ID)
			assert.Equal(t, 1, rs[1].visitor.VisitCount)
			assert.Equal(t, 2, rs[1].visit.PagesViewed)
			assert.Equal(t, "email", rs[1].visit.Medium)
			assert.Equal(t, "may-2025", rs[1].visit.Campaign)
			assert.False(t, rs[1].visitor.Touched)
		})
	}

	// The same page views in the other order (the in-app page view
	// arrives first): one visit with the landing's campaign as entry, as
	// in order.
	t.Run("out of order", func(t *testing.T) {
		inApp := tests[0].next
		tr := newTracker(t, Config{})
		rs := feed(t, tr, inApp, landing)
		require.True(t, rs[1].applied, rs[1].reason)
		v := rs[1].visit
		assert.Equal(t, rs[0].visit.ID, v.ID)
		assert.Equal(t, 2, v.PagesViewed)
		assert.Equal(t, "/", v.LandingPage)
		assert.Equal(t, "email", v.Medium)
		assert.Equal(t, "may-2025", v.Campaign)
		assert.True(t, rs[1].visitor.Touched)
		assert.Equal(t, 1, rs[1].visitor.VisitCount)
		assert.Equal(t, "may-2025", rs[1].visitor.FirstTouch.Campaign)
		assert.Equal(t, "may-2025", rs[1].visitor.LastNonDirectTouch.Campaign)
		require.Len(t, tr.Touches("v1"), 1)
		assert.Equal(t, "may-2025", tr.Touches("v1")[0].Campaign)

		// In order, the same two page views give the same visit.
		tr2 := newTracker(t, Config{})
		in := last(feed(t, tr2, landing, inApp)).visit
		v.ID, v.Version, in.ID, in.Version = "", 0, "", 0 // the id is fixed at creation
		assert.Equal(t, in, v)
	})
	// A late page view from another referrer keeps a referrer-only entry.
	t.Run("out of order, different referrer", func(t *testing.T) {
		tr := newTracker(t, Config{})
		rs := feed(t, tr, tests[0].next, ref(landing, "other.example", false))
		assert.Equal(t, "referral", rs[1].visit.Medium)
		assert.False(t, rs[1].visitor.Touched)
	})
	// The referrer is kept in snapshots: after a restart the in-app page
	// view still continues the visit.
	t.Run("restored", func(t *testing.T) {
		tr := newTracker(t, Config{})
		first := last(feed(t, tr, landing))
		tr2 := newTracker(t, Config{})
		require.NoError(t, tr2.Restore(bytes.NewReader(snapshot(t, tr))))
		r := last(feed(t, tr2, tests[0].next))
		assert.Equal(t, first.visit.ID, r.visit.ID)
		assert.Equal(t, "may-2025", r.visit.Campaign)
	})
}
