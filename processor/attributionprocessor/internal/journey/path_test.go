package journey

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

func TestPathCollapsesRepeatsAndTruncates(t *testing.T) {
	tr := newTracker(t, Config{PathLength: 4})
	var evs []Event
	for i, p := range []string{"/", "/", "/a", "/b", "/b", "/a", "/c", "/d", "/e"} {
		evs = append(evs, pv(fmt.Sprintf("e%d", i), p, time.Duration(i)*time.Minute))
	}
	rs := feed(t, tr, evs[:6]...)
	assert.Equal(t, []string{"/", "/a", "/b", "/a"}, last(rs).visit.Path)
	assert.False(t, last(rs).visit.PathTruncated, "exactly PathLength pages")

	rs = feed(t, tr, evs[6:]...)
	v := last(rs).visit
	assert.Equal(t, []string{"/", "/a", "/b", "/a"}, v.Path)
	assert.True(t, v.PathTruncated)
	assert.Equal(t, "/ → /a → /b → /a", JoinPath(v.Path))

	// The pages before an outcome come from the visit's tail, whatever
	// the head kept; the outcome's own page view is not before itself.
	assert.Equal(t, []string{"/c", "/d", "/e"}, tr.PagesBefore("v1", v.ID, t0.Add(9*time.Minute).UnixNano(), ""))
	assert.Equal(t, []string{"/a", "/c", "/d"}, tr.PagesBefore("v1", v.ID, t0.Add(8*time.Minute).UnixNano(), "/e"))
	assert.Nil(t, tr.PagesBefore("v1", "00000000000000000000000000000000", 0, ""))
}

func TestPathOnePageVisitHoldsNoPathState(t *testing.T) {
	tr := newTracker(t, Config{})
	r := last(feed(t, tr, pv("a", "/only", 0), eng("b", time.Second, 100)))
	assert.Equal(t, []string{"/only"}, r.visit.Path)
	assert.Equal(t, []string{"/only"}, tr.PagesBefore("v1", r.visit.ID, t0.Add(time.Second).UnixNano(), ""))
	assert.Empty(t, tr.PagesBefore("v1", r.visit.ID, t0.UnixNano(), "/only"))
	vs, _ := tr.visitors.Peek("v1")
	assert.Nil(t, vs.cur.path)
}

// visitEvents returns a random visit of visitor v1: page views over a few
// pages (many reloads and returns, some in the same nanosecond) and
// engagement events, in time order, gaps well inside the idle timeout.
func visitEvents(rng *rand.Rand) []Event {
	pages := []string{"/", "/a", "/b", "/c", "/d"}
	n := 1 + rng.IntN(40)
	var evs []Event
	at := time.Duration(0)
	for i := range n {
		if rng.IntN(5) > 0 { // some events share the time of the one before
			at += time.Duration(rng.Int64N(int64(90 * time.Second)))
		}
		if rng.IntN(6) == 0 && i > 0 {
			evs = append(evs, eng(fmt.Sprintf("e%d", i), at, 1000))
			continue
		}
		evs = append(evs, pv(fmt.Sprintf("e%d", i), pages[rng.IntN(len(pages))], at))
	}
	return evs
}

// delivered returns evs in an arrival order where every event (and some
// duplicates of them) arrives at most window after its time.
func delivered(rng *rand.Rand, evs []Event, window time.Duration) []Event {
	type arrival struct {
		at time.Time
		e  Event
	}
	var as []arrival
	for _, e := range evs {
		copies := 1
		if rng.IntN(4) == 0 {
			copies = 2 // a duplicate: the same id sent again
		}
		for range copies {
			as = append(as, arrival{e.Time.Add(time.Duration(rng.Int64N(int64(window) + 1))), e})
		}
	}
	slices.SortStableFunc(as, func(a, b arrival) int { return a.at.Compare(b.at) })
	out := make([]Event, len(as))
	for i, a := range as {
		out[i] = a.e
	}
	return out
}

// TestPathOutOfOrderProperty: events that arrive out of order and twice,
// each within the reorder window after its time, give the visit the path
// (and the pages before an outcome at its end) of in-order delivery.
func TestPathOutOfOrderProperty(t *testing.T) {
	for _, length := range []int{2, 4, 10} {
		for seed := range uint64(400) {
			rng := rand.New(rand.NewPCG(seed, uint64(length)))
			evs := visitEvents(rng)
			cfg := Config{PathLength: length}
			in := newTracker(t, cfg)
			want := last(feed(t, in, evs...)).visit
			end := evs[len(evs)-1].Time.UnixNano()

			out := newTracker(t, cfg)
			var got Visit
			for _, e := range delivered(rng, evs, DefaultReorderWindow) {
				v, _, _, _ := out.Apply(e)
				got = v
			}
			msg := fmt.Sprintf("length %d, seed %d", length, seed)
			require.Equal(t, want.ID != "", got.ID != "", msg)
			require.Equal(t, want.Path, got.Path, msg)
			require.Equal(t, want.PathTruncated, got.PathTruncated, msg)
			require.Equal(t, in.PagesBefore("v1", want.ID, end, ""), out.PagesBefore("v1", got.ID, end, ""), msg)
			// The reference: the pages in time order, repeats collapsed.
			ref, more := referencePath(evs, length)
			require.Equal(t, ref, want.Path, msg)
			require.Equal(t, more, want.PathTruncated, msg)
		}
	}
}

// referencePath computes a path from the events directly.
func referencePath(evs []Event, length int) ([]string, bool) {
	var views []Event
	for _, e := range evs {
		if e.Name == eventmodel.EventPageView {
			views = append(views, e)
		}
	}
	slices.SortStableFunc(views, func(a, b Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	var out []string
	for _, e := range views {
		if len(out) > 0 && out[len(out)-1] == e.Path {
			continue
		}
		if len(out) == length {
			return out, true
		}
		out = append(out, e.Path)
	}
	return out, false
}

func TestPathSnapshotRoundTrip(t *testing.T) {
	tr := newTracker(t, Config{PathLength: 3})
	var evs []Event
	for i := range 30 {
		evs = append(evs, pv(fmt.Sprintf("e%d", i), fmt.Sprintf("/p%d", i%7), time.Duration(i)*time.Minute))
	}
	v := last(feed(t, tr, evs...)).visit
	require.True(t, v.PathTruncated)
	snap := snapshot(t, tr)
	re := newTracker(t, Config{PathLength: 3})
	require.NoError(t, re.Restore(bytes.NewReader(snap)))
	got, _, ok := re.State("v1", v.ID)
	require.True(t, ok)
	assert.Equal(t, v.Path, got.Path)
	assert.True(t, got.PathTruncated)
	at := t0.Add(29 * time.Minute).UnixNano()
	assert.Equal(t, tr.PagesBefore("v1", v.ID, at, ""), re.PagesBefore("v1", v.ID, at, ""))
	assert.Equal(t, snap, snapshot(t, re))
}

// TestMemoryPerVisitorLongVisits is TestMemoryPerVisitor with an open
// visit of 40 page views over 12 pages: the most a path holds
// (PathLength + OutcomePages + the views inside the reorder window).
func TestMemoryPerVisitorLongVisits(t *testing.T) {
	const visitors = 5_000
	tr := newTracker(t, Config{MaxVisitors: 2 * visitors})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for n := range visitors {
		evs := historyEvents(n, 10)
		last := evs[len(evs)-1]
		for i := range 40 {
			e := last
			e.Name, e.EngagedMs = eventmodel.EventPageView, 0
			e.ID = "" // no seen ids beyond TestMemoryPerVisitor's: the difference is the path
			e.Path = fmt.Sprintf("/products/item-%d", i%12)
			e.Time = last.Time.Add(time.Duration(i+1) * 20 * time.Second)
			evs = append(evs, e)
		}
		for _, e := range evs {
			if _, _, ok, why := tr.Apply(e); !ok {
				t.Fatalf("visitor %d: %s", n, why)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / visitors
	t.Logf("approx. %.0f bytes per visitor (10 touches, open visit of 41 page views, 20 seen ids, LRU entry, cloned strings)", per)
	assert.LessOrEqual(t, per, 1024.0+512, "target: <= 1 KiB per visitor plus the path's bound")
	runtime.KeepAlive(tr)
}

// TestPathAtTheEndOfTime: page views at the greatest time stay bounded (a
// horizon of last+1 would wrap around and settle nothing; found by
// FuzzProcess).
func TestPathAtTheEndOfTime(t *testing.T) {
	tr := newTracker(t, Config{PathLength: 3})
	end := time.Unix(0, math.MaxInt64)
	first := pv("first", "/end", 0)
	first.Time = end
	feed(t, tr, first)
	var v Visit
	for i := range 40 { // late page views, inside the visit's span
		e := pv(fmt.Sprintf("e%d", i), fmt.Sprintf("/p%d", i%4), 0)
		e.Time = end.Add(-time.Second)
		var ok bool
		var why string
		v, _, ok, why = tr.Apply(e)
		require.True(t, ok, why)
	}
	// Page views in the same nanosecond are in path order.
	assert.Equal(t, []string{"/p0", "/p1", "/p2"}, v.Path)
	assert.True(t, v.PathTruncated)
	vs, _ := tr.visitors.Peek("v1")
	assert.LessOrEqual(t, len(vs.cur.path.views), 3+OutcomePages+pathSlack)
}
