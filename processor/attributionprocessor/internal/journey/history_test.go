package journey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Imported history never changes a visitor's state backwards in time:
// older than the open visit's last activity it is refused with the reason
// that says where it fell; newer, it extends the state like any event;
// a repeated event stays a duplicate.
func TestHistoryBehindTheState(t *testing.T) {
	tr, err := New(Config{})
	require.NoError(t, err)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	live := func(id string, at time.Duration, path string) Event {
		return Event{ID: id, Visitor: "v", Site: "s", Name: "webjourney.page_view", Time: day.Add(at), Path: path, Medium: "search", Source: "google"}
	}
	hist := func(id string, at time.Duration) Event {
		e := live(id, at, "/h-"+id)
		e.History, e.Medium, e.Source = true, "email", "nl"
		return e
	}
	// Live: visit A 10:00-10:05, visit B 10:50-10:55 (B open, A previous
	// and still held: B's last activity is within A's idle time plus the
	// idle timeout).
	at := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	for _, e := range []Event{live("a1", at(10, 0), "/a"), live("a2", at(10, 5), "/a2"),
		live("b1", at(10, 50), "/b"), live("b2", at(10, 55), "/b2")} {
		_, _, applied, reason := tr.Apply(e)
		require.True(t, applied, reason)
	}
	before, ok := tr.Visitor("v")
	require.True(t, ok)
	touches := tr.Touches("v")
	open, _, ok := tr.State("v", touches[1].VisitID)
	require.True(t, ok)
	for _, c := range []struct {
		name   string
		e      Event
		reason string
	}{
		{"entirely before the live state", hist("h1", -3*24*time.Hour), ReasonHistoryBehind},
		{"in the open live visit", hist("h2", at(10, 52)), ReasonHistoryInVisit},
		{"just before the open visit, inside the reorder window", hist("h3", at(10, 49)), ReasonHistoryInVisit},
		{"in the previous live visit", hist("h4", at(10, 3)), ReasonHistoryInVisit},
		{"in the previous visit's idle time", hist("h5", at(10, 20)), ReasonHistoryInVisit},
		{"in the gap between the live visits", hist("h6", at(10, 40)), ReasonHistoryBehind},
		{"before the previous visit", hist("h8", at(9, 0)), ReasonHistoryBehind},
		{"a live event imported again", func() Event { e := live("b1", at(10, 50), "/b"); e.History = true; return e }(), ReasonDuplicate},
	} {
		_, _, applied, reason := tr.Apply(c.e)
		assert.False(t, applied, c.name)
		assert.Equal(t, c.reason, reason, c.name)
	}
	after, ok := tr.Visitor("v")
	require.True(t, ok)
	assert.Equal(t, before, after, "the visitor's state did not change")
	assert.Equal(t, touches, tr.Touches("v"))
	stillOpen, _, _ := tr.State("v", touches[1].VisitID)
	assert.Equal(t, open, stillOpen, "the live visit did not change")

	// Newer than the state: applied (a replayed queue continues the journey).
	h7 := hist("h7", at(11, 0))
	h7.Medium, h7.Source = "", "" // an inner page: no new arrival
	v, vr, applied, reason := tr.Apply(h7)
	require.True(t, applied, reason)
	assert.Equal(t, 3, v.PagesViewed)
	assert.Equal(t, 2, vr.VisitCount)

	// A visitor without state: history builds it in order, with the
	// usual out-of-order placement inside it.
	for _, e := range []Event{hist("n1", time.Hour), hist("n2", time.Hour+2*time.Minute)} {
		e.Visitor = "new"
		_, _, applied, reason := tr.Apply(e)
		require.True(t, applied, reason)
	}
	e := hist("n3", time.Hour+time.Minute)
	e.Visitor = "new"
	_, _, applied, reason = tr.Apply(e)
	assert.False(t, applied)
	assert.Equal(t, ReasonHistoryInVisit, reason, "history never goes back into a state, an imported one included")
}
