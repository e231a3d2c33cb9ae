package journey

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

var entries = [...][4]string{
	{"paid", "google", "spring-sale", ""},
	{"search", "google", "", ""},
	{"social", "instagram", "", ""},
	{"partner", "archipro", "", "ArchiPro"},
	{"email", "newsletter", "may-2025", ""},
}

// historyEvents returns the events that give visitor n a 10-visit history:
// per visit (one day apart) a campaign page view and an engagement event.
// Strings are cloned per event, as they would be when decoded from pdata.
func historyEvents(n, visits int) []Event {
	key := fmt.Sprintf("k1:%022d", n)
	var evs []Event
	for v := range visits {
		at := t0.Add(time.Duration(v) * 24 * time.Hour)
		en := entries[(n+v)%len(entries)]
		path := fmt.Sprintf("/products/item-%d", v)
		evs = append(evs,
			Event{
				ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", n, 2*v), Visitor: strings.Clone(key), Site: strings.Clone("site-1"),
				Name: eventmodel.EventPageView, Time: at, Path: path,
				Medium: strings.Clone(en[0]), Source: strings.Clone(en[1]), Campaign: strings.Clone(en[2]), Partner: strings.Clone(en[3]),
				DeviceClass: strings.Clone("mobile"), Country: strings.Clone("NZ"),
			},
			Event{
				ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", n, 2*v+1), Visitor: strings.Clone(key), Site: strings.Clone("site-1"),
				Name: eventmodel.EventEngagement, Time: at.Add(20 * time.Second), Path: path, EngagedMs: 15000,
			},
		)
	}
	return evs
}

// TestMemoryPerVisitor measures the heap held per active visitor with a
// 10-touch history (and its open visit), target <= 1 KiB.
func TestMemoryPerVisitor(t *testing.T) {
	const visitors = 10_000
	tr := newTracker(t, Config{MaxVisitors: 2 * visitors})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for n := range visitors {
		for _, e := range historyEvents(n, 10) {
			_, _, ok, why := tr.Apply(e)
			if !ok {
				t.Fatalf("visitor %d: %s", n, why)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, visitors, tr.Len())
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / visitors
	t.Logf("approx. %.0f bytes per visitor (10 touches, open visit, 20 seen ids, LRU entry, cloned strings)", per)
	assert.LessOrEqual(t, per, 1024.0, "target: <= 1 KiB per visitor")
	_, vr, _, _ := tr.Apply(historyEvents(0, 11)[20])
	assert.Len(t, tr.Touches(vr.Visitor), 10)
	runtime.KeepAlive(tr)
}

// TestMemoryPerVisitorWithFunnels is TestMemoryPerVisitor with two
// funnels of five steps, in their costly state for every visitor: a
// visit-scope funnel entered in each visit and left at step 2 (a best
// attempt and an open one held), and a visitor-scope funnel at step 4 of
// 5, waiting; target <= 1.5 KiB.
func TestMemoryPerVisitorWithFunnels(t *testing.T) {
	const visitors = 10_000
	defs := []FunnelDef{{Name: "a", Steps: 5, VisitScope: true}, {Name: "b", Steps: 5, Window: 30 * 24 * time.Hour}}
	tr := newTracker(t, Config{MaxVisitors: 2 * visitors, Funnels: defs})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for n := range visitors {
		for i, e := range historyEvents(n, 10) {
			ref, ok, why := tr.Touch(e)
			if !ok {
				t.Fatalf("visitor %d: %s", n, why)
			}
			visit := i / 2
			masks := []uint16{1 << (i % 2), 0}
			if i%2 == 0 {
				masks[1] = 1 << (visit % 4)
			}
			tr.FunnelSteps(e.Visitor, ref.VisitID, e.Time, "granted", masks)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, visitors, tr.Len())
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / visitors
	t.Logf("approx. %.0f bytes per visitor (TestMemoryPerVisitor's and two funnels)", per)
	assert.LessOrEqual(t, per, 1536.0, "target: <= 1.5 KiB per visitor with funnels")
	r, ok := tr.Funnel(historyEvents(0, 1)[0].Visitor, 1)
	require.True(t, ok)
	assert.Len(t, r.Steps, 4)
	r, ok = tr.Funnel(historyEvents(0, 1)[0].Visitor, 0)
	require.True(t, ok)
	assert.Equal(t, 10, r.Attempts)
	runtime.KeepAlive(tr)
}

// TestMemoryPerVisitorRestored is TestMemoryPerVisitor for a tracker
// restored from a snapshot (strings shared through the snapshot's string
// table, slices of exact length).
func TestMemoryPerVisitorRestored(t *testing.T) {
	const visitors = 10_000
	src := newTracker(t, Config{MaxVisitors: 2 * visitors})
	for n := range visitors {
		feed(t, src, historyEvents(n, 10)...)
	}
	var buf bytes.Buffer
	require.NoError(t, src.Snapshot(&buf))
	snap := buf.Bytes()
	src = nil
	tr := newTracker(t, Config{MaxVisitors: 2 * visitors})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	require.NoError(t, tr.Restore(bytes.NewReader(snap)))
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(snap) // held before and after: not part of the difference
	require.Equal(t, visitors, tr.Len())
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / visitors
	t.Logf("approx. %.0f bytes per restored visitor (10 touches, open visit, 20 seen ids, LRU entry)", per)
	assert.LessOrEqual(t, per, 1024.0, "target: <= 1 KiB per visitor")
	runtime.KeepAlive(tr)
}

// TestStateSizes guards the sizes the memory budget relies on (64-bit):
// visitState fills the 160-byte size class (the path pointer moved it
// there from a full 144, the creation time a funnel record needs filled
// it), visitorState fills the
// 208-byte one (one more field and it moves to 224); marks (rare) holds a
// visitor's funnels too.
func TestStateSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit only")
	}
	assert.Equal(t, uintptr(160), unsafe.Sizeof(visitState{}))
	assert.Equal(t, uintptr(80), unsafe.Sizeof(attempt{}))
	assert.Equal(t, uintptr(48), unsafe.Sizeof(funnelState{}))
	assert.Equal(t, uintptr(208), unsafe.Sizeof(visitorState{}))
	assert.Equal(t, uintptr(72), unsafe.Sizeof(marks{}))
}

// BenchmarkApply is the hot path: a page view of an existing visitor inside
// its open visit, for visitors with 1 and with 10 touches (visits) of
// history. The touch history is not copied, so the cost does not depend on
// its length.
func BenchmarkApply(b *testing.B) {
	for _, history := range []int{1, 10} {
		b.Run(fmt.Sprintf("touches=%d", history), func(b *testing.B) {
			const visitors = 1000
			tr := newTracker(b, Config{MaxVisitors: 2 * visitors})
			for n := range visitors {
				for _, e := range historyEvents(n, history) {
					tr.Apply(e)
				}
			}
			keys := make([]string, visitors)
			for n := range keys {
				keys[n] = fmt.Sprintf("k1:%022d", n)
			}
			ids := make([]string, 4096)
			for i := range ids {
				ids[i] = fmt.Sprintf("ffffffff-0000-4000-8000-%012x", i)
			}
			base := t0.Add(time.Duration(history-1)*24*time.Hour + time.Minute)
			e := Event{Site: "site-1", Name: eventmodel.EventPageView, Path: "/p", Medium: "internal", Source: "example.com"}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e.Visitor = keys[i%visitors]
				e.ID = ids[i%len(ids)]
				e.Time = base.Add(time.Duration(i) * time.Millisecond)
				if _, _, ok, why := tr.Apply(e); !ok {
					b.Fatal(why)
				}
				i++
			}
		})
	}
}

// BenchmarkApplyNewVisit is a page view that starts a new campaign visit.
func BenchmarkApplyNewVisit(b *testing.B) {
	const visitors = 1000
	tr := newTracker(b, Config{MaxVisitors: 2 * visitors})
	keys := make([]string, visitors)
	for n := range keys {
		keys[n] = fmt.Sprintf("k1:%022d", n)
	}
	e := Event{Site: "site-1", Name: eventmodel.EventPageView, Path: "/p"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		en := entries[i%len(entries)]
		e.Medium, e.Source, e.Campaign, e.Partner = en[0], en[1], en[2], en[3]
		e.Visitor = keys[i%visitors]
		e.Time = t0.Add(time.Duration(i) * time.Second)
		tr.Apply(e)
		i++
	}
}
