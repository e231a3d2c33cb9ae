package journey

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

const goldenKey = 0x0123456789abcdef

// goldenSnapshot is the snapshot of a tracker with key goldenKey after
// pv("a", "/", 0), MarkOutcome "purchase" and MarkSegment "b2b" on that
// visit, written by hand from the format in the package documentation
// (t0 = 1741597200000000000 ns; the CRC-32C and the seen hash computed
// independently).
var goldenSnapshot = []string{
	"574a4a5406",       // magic "WJJT", format version 6
	"efcdab8967452301", // dedupe key, little-endian
	"00",               // evictions
	"08" + "027331" + "06646972656374" + "00" + "087075726368617365" + "03623262" + "012f" + "076465736b746f70" + "024e5a", // 8 strings: s1 direct "" purchase b2b / desktop NZ
	"01" + "01020202" + "00" + "02" + "00",         // 1 entry: medium "direct", source, campaign, partner "", no partner window, no referrer, not referrer-only
	"01" + "0607",                                  // 1 dims: desktop, NZ
	"01",                                           // 1 visitor
	"027631" + "00" + "808085fda1dbb2ab30",         // key "v1", site s1, lastSeen t0 (varint)
	"04" + "00" + "01" + "00",                      // version t0+2, firstSeen t0 (diffs), 1 visit, no partner
	"01" + "00" + "00" + goldenVisitID,             // 1 touch: time t0, entry 0, visit id
	"01" + "00",                                    // first touch = touch 1, no last non-direct touch
	"01" + "1324b257",                              // 1 seen id: hash of "a", little-endian
	"01" + "03" + "01" + "04",                      // outcomes [purchase], segments [b2b]
	"01" + goldenVisitID + "01",                    // open visit: id, number 1
	"04" + "00" + "00" + "00" + "00" + "00",        // version t0+2, start, last, landingAt, secondAt (none: landingAt), exitAt t0
	"00" + "01" + "05" + "02" + "05" + "00" + "00", // 0 ms engaged, 1 page, landing /, no second page (""), exit /, entry 0, dims 0
	"01" + "03" + "01" + "04",                      // outcomes [purchase], segments [b2b]
	"00" + "00",                                    // no path views (one page: the landing is the path), created at t0
	"00",                                           // no previous visit
	"00",                                           // no funnels
	"60585cd5",                                     // CRC-32C of all the above, little-endian
}

// goldenSnapshotV5 is the same state in format version 5, written before
// visitors had funnels: no funnel count, and its own CRC.
var goldenSnapshotV5 = func() []string {
	p := append([]string(nil), goldenSnapshot[:19]...)
	p[0] = "574a4a5405"
	p[17] = "00" // no path views; no creation time
	return append(p, "7ddea729")
}()

// goldenSnapshotV4 is the same state in format version 4, written before
// visits had a path: no path views, and its own CRC.
var goldenSnapshotV4 = func() []string {
	p := append([]string(nil), goldenSnapshot[:17]...)
	p[0] = "574a4a5404"
	return append(p, "00", "35c95058")
}()

// goldenSnapshotV3 is the same state in format version 3, written before
// entries had a referrer: none in the entry table, and its own CRC.
var goldenSnapshotV3 = func() []string {
	p := append([]string(nil), goldenSnapshotV4...)
	p[0] = "574a4a5403"
	p[4] = "01" + "01020202" + "00"
	p[len(p)-1] = "1520f958"
	return p
}()

// goldenSnapshotV2 is the same state in format version 2, written before
// entries had a partner window: none in the entry table, and its own CRC.
var goldenSnapshotV2 = func() []string {
	p := append([]string(nil), goldenSnapshotV3...)
	p[0] = "574a4a5402"
	p[4] = "01" + "01020202"
	p[len(p)-1] = "315df5b4"
	return p
}()

// goldenSnapshotV1 is the same state in format version 1, written before
// visits had a second page: no secondAt and no second, and its own CRC.
var goldenSnapshotV1 = func() []string {
	p := append([]string(nil), goldenSnapshotV2...)
	p[0] = "574a4a5401"
	p[14] = "04" + "00" + "00" + "00" + "00"        // version, start, last, landingAt, exitAt
	p[15] = "00" + "01" + "05" + "05" + "00" + "00" // engaged, pages, landing, exit, entry, dims
	p[len(p)-1] = "8db7645a"
	return p
}()

func golden(t testing.TB, parts []string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(parts, ""))
	require.NoError(t, err)
	return b
}

// withCRC returns body followed by its CRC-32C (replacing the last 4
// bytes of a snapshot).
func withCRC(snap []byte) []byte {
	body := snap[:len(snap)-4]
	return binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.Checksum(body, castagnoli))
}

func snapshot(t testing.TB, tr *Tracker) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, tr.Snapshot(&buf))
	return buf.Bytes()
}

func TestSeenHashGolden(t *testing.T) {
	// Computed independently from the description of seenHash.
	tests := []struct {
		key  uint64
		id   string
		want uint32
	}{
		{0, "a", 0xc5a2a7c9},
		{0, "e1", 0xa826e13a},
		{0, "12345678", 0x4e56bf0e},
		{0, "123456789", 0xc9425669},
		{0, "0000002a-0000-4000-8000-00000000000c", 0x09db9d84},
		{goldenKey, "", 0x3b954329},
		{goldenKey, "a", 0x57b22413},
		{goldenKey, "e1", 0x7261de7c},
		{goldenKey, "12345678", 0x54bbbf33},
		{goldenKey, "123456789", 0xdada2435},
		{goldenKey, "0000002a-0000-4000-8000-00000000000c", 0x97a98032},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, seenHash(tt.key, tt.id), "%x %q", tt.key, tt.id)
	}
	a, b := newTracker(t, Config{}), newTracker(t, Config{})
	assert.NotEqual(t, a.key, b.key, "random per tracker")
}

func TestSnapshotGolden(t *testing.T) {
	tr := newTracker(t, Config{})
	tr.key = goldenKey
	r := last(feed(t, tr, pv("a", "/", 0)))
	_, _, ok := tr.MarkOutcome("v1", r.visit.ID, "purchase")
	require.True(t, ok)
	_, _, ok = tr.MarkSegment("v1", r.visit.ID, "b2b")
	require.True(t, ok)
	want := golden(t, goldenSnapshot)
	got := snapshot(t, tr)
	assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got))

	// Restoring it and writing it again gives the same bytes.
	tr2 := newTracker(t, Config{})
	require.NoError(t, tr2.Restore(bytes.NewReader(want)))
	assert.Equal(t, want, snapshot(t, tr2))
	assert.Equal(t, uint64(goldenKey), tr2.key)

	// A version 5 snapshot (written before visitors had funnels) is still
	// read, and written again as version 6.
	tr5 := newTracker(t, Config{})
	require.NoError(t, tr5.Restore(bytes.NewReader(golden(t, goldenSnapshotV5))))
	assert.Equal(t, want, snapshot(t, tr5))

	// A version 4 snapshot (written before visits had a path) is still
	// read, and written again as version 6.
	tr4 := newTracker(t, Config{})
	require.NoError(t, tr4.Restore(bytes.NewReader(golden(t, goldenSnapshotV4))))
	assert.Equal(t, want, snapshot(t, tr4))

	// A version 3 snapshot (written before entries had a referrer) is
	// still read, and written again as version 6.
	tr3 := newTracker(t, Config{})
	require.NoError(t, tr3.Restore(bytes.NewReader(golden(t, goldenSnapshotV3))))
	assert.Equal(t, want, snapshot(t, tr3))

	// A version 2 snapshot (written before entries had a partner window)
	// is still read, and written again as version 6.
	tr2 = newTracker(t, Config{})
	require.NoError(t, tr2.Restore(bytes.NewReader(golden(t, goldenSnapshotV2))))
	assert.Equal(t, want, snapshot(t, tr2))

	// A version 1 snapshot (written before visits had a second page) is
	// still read, and written again as version 6.
	tr1 := newTracker(t, Config{})
	require.NoError(t, tr1.Restore(bytes.NewReader(golden(t, goldenSnapshotV1))))
	assert.Equal(t, want, snapshot(t, tr1))
	v1, _, ok := tr1.State("v1", r.visit.ID)
	require.True(t, ok)
	assert.Equal(t, r.visit.LandingPage, v1.LandingPage)
	assert.Empty(t, v1.SecondPage)

	// An empty tracker.
	empty := newTracker(t, Config{})
	empty.key = goldenKey
	assert.Equal(t, "574a4a5406"+"efcdab8967452301"+"00"+"00"+"00"+"00"+"00"+"6d23ad1c", hex.EncodeToString(snapshot(t, empty)))
}

// journeyEvents is a mix of visitors: campaign and partner visits, a late
// event for a previous visit, engagement, several touches, evictions.
func journeyEvents() []Event {
	var evs []Event
	for n := range 6 {
		key := fmt.Sprintf("visitor-%d", n)
		for v := range n + 1 {
			at := time.Duration(v) * time.Hour
			en := entries[(n+v)%len(entries)]
			e := camp(pv(fmt.Sprintf("%d-%d-a", n, v), fmt.Sprintf("/p/%d", v), at), en[0], en[1], en[2], en[3])
			if en[3] != "" {
				e.PartnerWindow = 7 * 24 * time.Hour
			}
			e2 := eng(fmt.Sprintf("%d-%d-b", n, v), at+20*time.Second, int64(1000*v))
			e3 := pv(fmt.Sprintf("%d-%d-c", n, v), "/exit", at+time.Minute)
			e3.Country = "AU"
			for _, e := range []Event{e, e2, e3} {
				e.Visitor = key
				evs = append(evs, e)
			}
		}
		if n >= 2 { // late event for the previous visit
			e := pv(fmt.Sprintf("%d-late", n), "/late", time.Duration(n-1)*time.Hour-time.Minute)
			e.Visitor = key
			evs = append(evs, e)
		}
	}
	return evs
}

// state is a tracker's state with the seen rings linearized (oldest
// first), for comparison.
func state(t testing.TB, tr *Tracker) ([]string, []visitorState) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []visitorState
	for _, vs := range tr.visitors.Values() {
		c := *vs
		c.seen = append(append([]uint32(nil), vs.seen[vs.seenPos:]...), vs.seen[:vs.seenPos]...)
		c.seenPos = 0
		out = append(out, c)
	}
	return tr.visitors.Keys(), out
}

func journeyTracker(t testing.TB, cfg Config) (*Tracker, []Event) {
	t.Helper()
	tr := newTracker(t, cfg)
	evs := journeyEvents()
	for i, r := range feed(t, tr, evs...) {
		require.True(t, r.applied, "%d %s", i, r.reason)
	}
	return tr, evs
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, cfg := range []Config{
		{MaxVisitors: 4, MaxSeenIDs: 5, MaxTouches: 4},
		{MaxVisitors: 4, SplitAtMidnight: true, Location: time.FixedZone("+1430", 14*3600+30*60)}, // t0 is 23:30
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			tr, evs := journeyTracker(t, cfg)
			require.Equal(t, int64(2), tr.Evictions())
			held := tr.visitors.Keys()
			// Marks on the open and the previous visit of the newest visitor.
			vs, _ := tr.visitors.Peek("visitor-5")
			_, _, ok := tr.MarkOutcome("visitor-5", hex.EncodeToString(vs.prev.id[:]), "lead")
			require.True(t, ok)
			_, _, ok = tr.MarkSegment("visitor-5", hex.EncodeToString(vs.cur.id[:]), "b2b")
			require.True(t, ok)

			snap := snapshot(t, tr)
			re := newTracker(t, cfg)
			require.NoError(t, re.Restore(bytes.NewReader(snap)))
			k1, s1 := state(t, tr)
			k2, s2 := state(t, re)
			assert.Equal(t, k1, k2, "LRU order")
			assert.Equal(t, s1, s2)
			assert.Equal(t, tr.Evictions(), re.Evictions())
			assert.Equal(t, tr.key, re.key)
			for _, key := range held {
				assert.Equal(t, tr.Touches(key), re.Touches(key), key)
			}
			assert.Equal(t, snap, snapshot(t, re), "a restored tracker writes the same snapshot")
			v, vr, ok := re.MarkOutcome("visitor-5", hex.EncodeToString(vs.prev.id[:]), "lead")
			require.True(t, ok, "the previous visit is held")
			assert.Equal(t, []string{"lead"}, v.Outcomes)
			assert.Equal(t, []string{"lead"}, vr.Outcomes)
			assert.Equal(t, []string{"b2b"}, vr.Segments)
			assert.Equal(t, snap, snapshot(t, re), "marking a known outcome changes nothing")

			// The journey continues in both trackers alike.
			for _, key := range held {
				dup := Event{Visitor: key, Site: "s1", ID: "", Name: eventmodel.EventPageView, Time: t0}
				for _, e := range evs {
					if e.Visitor == key {
						dup.ID = e.ID // seen before the snapshot
					}
				}
				a1, b1, ok1, why1 := tr.Apply(dup)
				a2, b2, ok2, why2 := re.Apply(dup)
				assert.False(t, ok2, key)
				assert.Equal(t, ReasonDuplicate, why2, key)
				assert.Equal(t, []any{a1, b1, ok1, why1}, []any{a2, b2, ok2, why2}, key)

				last := b1.LastSeen
				next := pv("next-"+key, "/next", 0)
				next.Visitor, next.Time = key, last.Add(10*time.Minute)
				a3, b3, ok3, _ := re.Apply(next)
				require.True(t, ok3)
				assert.Equal(t, a1.ID, a3.ID, "%s: within the idle timeout: the same visit", key)
				assert.Greater(t, a3.Version, a1.Version, key)
				assert.Greater(t, b3.Version, b1.Version, key)
				assert.Equal(t, b1.FirstTouch, b3.FirstTouch, key)
				assert.Equal(t, b1.LastNonDirectTouch, b3.LastNonDirectTouch, key)
				assert.Equal(t, b1.Outcomes, b3.Outcomes, key)
				assert.Equal(t, b1.Segments, b3.Segments, key)
				assert.Equal(t, a1.Outcomes, a3.Outcomes, key)
				assert.Equal(t, a1.Segments, a3.Segments, key)
				assert.Equal(t, a1.Number, a3.Number, key)
				a4, b4, ok4, _ := tr.Apply(next)
				require.True(t, ok4)
				assert.Equal(t, a4, a3, key)
				assert.Equal(t, b4, b3, key)
			}
		})
	}
}

func TestRestoreReplacesState(t *testing.T) {
	tr, _ := journeyTracker(t, Config{MaxVisitors: 4})
	empty := snapshot(t, newTracker(t, Config{}))
	require.NoError(t, tr.Restore(bytes.NewReader(empty)))
	assert.Equal(t, 0, tr.Len())
	assert.Equal(t, int64(0), tr.Evictions())
	assert.Nil(t, tr.Touches("visitor-5"))
}

func TestRestoreTrims(t *testing.T) {
	src, _ := journeyTracker(t, Config{MaxVisitors: 4})
	snap := snapshot(t, src)
	srcKeys, srcState := state(t, src)
	tests := []struct {
		name  string
		cfg   Config
		check func(t *testing.T, tr *Tracker)
	}{
		{"fewer visitors: the newest kept, the others count as evictions", Config{MaxVisitors: 2}, func(t *testing.T, tr *Tracker) {
			keys, _ := state(t, tr)
			assert.Equal(t, srcKeys[2:], keys)
			assert.Equal(t, src.Evictions()+2, tr.Evictions())
		}},
		{"fewer touches: the newest kept, first and last non-direct touch kept", Config{MaxTouches: 2}, func(t *testing.T, tr *Tracker) {
			_, got := state(t, tr)
			for i, vs := range got {
				want := srcState[i]
				assert.Equal(t, want.touches[max(0, len(want.touches)-2):], vs.touches, want.key)
				assert.Equal(t, want.firstTouch, vs.firstTouch, want.key)
				assert.Equal(t, want.lastNonDir, vs.lastNonDir, want.key)
				assert.Equal(t, want.visitCount, vs.visitCount, want.key)
			}
			// The journey goes on with the shorter history.
			e := camp(pv("new", "/", 9*time.Hour), "paid", "bing", "x", "")
			e.Visitor = "visitor-5"
			feed(t, tr, e)
			touches := tr.Touches("visitor-5")
			require.Len(t, touches, 2)
			assert.Equal(t, "x", touches[1].Campaign)
		}},
		{"fewer seen ids: the newest kept", Config{MaxSeenIDs: 2}, func(t *testing.T, tr *Tracker) {
			_, got := state(t, tr)
			for i, vs := range got {
				want := srcState[i]
				assert.Equal(t, want.seen[len(want.seen)-2:], vs.seen, want.key)
			}
			dup := func(id string) bool {
				_, _, ok, _ := tr.Apply(Event{ID: id, Visitor: "visitor-5", Time: t0.Add(5 * time.Hour)})
				return !ok
			}
			assert.True(t, dup("5-late"), "newest remembered")
			assert.True(t, dup("5-5-c"), "second newest remembered")
			assert.False(t, dup("5-5-b"), "older forgotten")
		}},
		{"config from the tracker, not the snapshot", Config{IdleTimeout: 2 * time.Hour}, func(t *testing.T, tr *Tracker) {
			e := pv("new", "/", 5*time.Hour+time.Minute+90*time.Minute)
			e.Visitor = "visitor-5"
			r := last(feed(t, tr, e))
			assert.Equal(t, 6, r.visitor.VisitCount, "90 minutes later is the same visit with a 2-hour idle timeout")
			assert.Equal(t, r.visit.LastActivity.Add(2*time.Hour), r.visit.IdleAt)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(t, tt.cfg)
			require.NoError(t, tr.Restore(bytes.NewReader(snap)))
			tt.check(t, tr)
		})
	}
}

func TestRestoreTruncated(t *testing.T) {
	src, _ := journeyTracker(t, Config{MaxVisitors: 4})
	tr, _ := journeyTracker(t, Config{MaxVisitors: 4})
	snap := snapshot(t, src)
	before := snapshot(t, tr)
	for n := range len(snap) {
		err := tr.Restore(bytes.NewReader(snap[:n]))
		require.Error(t, err, "%d of %d bytes", n, len(snap))
		// A prefix with a valid checksum still fails.
		if n >= 4 {
			require.Error(t, tr.Restore(bytes.NewReader(withCRC(snap[:n]))), "%d of %d bytes, checksum fixed", n, len(snap))
		}
	}
	assert.Equal(t, before, snapshot(t, tr), "a failed Restore changes nothing")
	err := tr.Restore(bytes.NewReader(snap[:len(snap)/2]))
	assert.ErrorContains(t, err, "truncated input at byte")

	// Readers that return little at a time are fine.
	require.NoError(t, tr.Restore(iotest.OneByteReader(bytes.NewReader(snap))))
	require.NoError(t, tr.Restore(iotest.DataErrReader(bytes.NewReader(snap))))
	assert.Equal(t, snap, snapshot(t, tr))
}

func TestRestoreReadError(t *testing.T) {
	src, _ := journeyTracker(t, Config{MaxVisitors: 4})
	snap := snapshot(t, src)
	boom := errors.New("boom")
	r := iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(snap)))
	tr := newTracker(t, Config{})
	err := tr.Restore(&errAfter{r: bytes.NewReader(snap), n: 100, err: boom})
	assert.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, "at byte 100")
	err = tr.Restore(r)
	assert.ErrorIs(t, err, iotest.ErrTimeout)
	assert.Equal(t, 0, tr.Len())
}

type errAfter struct {
	r   *bytes.Reader
	n   int
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, e.err
	}
	n, err := e.r.Read(p[:min(len(p), e.n)])
	e.n -= n
	return n, err
}

func (e *errAfter) Write(p []byte) (int, error) {
	if len(p) > e.n {
		e.n = 0
		return 0, e.err
	}
	e.n -= len(p)
	return len(p), nil
}

func TestSnapshotWriteError(t *testing.T) {
	boom := errors.New("boom")
	for _, visitors := range []int{1, 2000} { // one write, several writes
		tr := newTracker(t, Config{})
		for n := range visitors {
			feed(t, tr, historyEvents(n, 2)...)
		}
		err := tr.Snapshot(&errAfter{n: 10, err: boom})
		assert.ErrorIs(t, err, boom)
	}
}

func TestRestoreCorrupt(t *testing.T) {
	parts := func(i int, hexs string) []string {
		p := append([]string(nil), goldenSnapshot...)
		p[i] = hexs
		return p
	}
	tests := []struct {
		name  string
		parts []string
		crc   bool // recompute the checksum
		err   string
	}{
		{"empty", []string{}, false, "truncated input at byte 0"},
		{"not a snapshot", []string{"7b226b6579223a317d"}, false, `not a journey snapshot (magic "{\"ke") at byte 4`},
		{"newer format", parts(0, "574a4a5407"), true, "unsupported snapshot format version 7 (want 1 to 6) at byte 5"},
		{"bit flip", parts(8, "06000100"), false, "checksum mismatch"},
		{"trailing data", append(append([]string(nil), goldenSnapshot...), "00"), false, "trailing data after the visitors"},
		{"varint overflow", parts(2, "ffffffffffffffffffff01"), false, "varint overflows 64 bits at byte 13"},
		{"string longer than the input", parts(3, "01ffffff7f"), false, "truncated input"},
		{"string longer than the limit", parts(3, "018180808001"), false, "string length 268435457 exceeds 268435456 at byte 20"},
		{"huge string count", parts(3, "ffffffff0f"), false, "string count 4294967295 too large"},
		{"string count beyond the input", parts(3, "ffffff0f"), false, "string length 3483194400000000000 exceeds 268435456 at byte 43"}, // the visitor's bytes read as strings
		{"string reference out of range", parts(4, "0108020202"), true, "string reference 8 out of range (8 strings)"},
		{"partner window beyond int64", parts(4, "01"+"01020202"+"80808080808080808001"), true, "partner window 9223372036854775808 too large"},
		{"referrer reference out of range", parts(4, "01"+"01020202"+"00"+"08"+"00"), true, "string reference 8 out of range (8 strings)"},
		{"referrer-only flag", parts(4, "01"+"01020202"+"00"+"02"+"02"), true, "referrer-only flag 2 is neither 0 nor 1 at byte 59"},
		{"entry reference out of range", parts(9, "01000100"+goldenVisitID), true, "entry reference 1 out of range (1 entries)"},
		{"dims reference out of range", parts(15, "00010502050001"), true, "dims reference 1 out of range (1 dims)"},
		{"partner reference out of range", parts(8, "04000109"), true, "partner reference 8 out of range"},
		{"touch reference out of range", parts(10, "0300"), true, "touch reference 3 out of range (1 touches)"},
		{"visit flag", parts(18, "02"), true, "visit flag 2 is neither 0 nor 1"},
		{"visit count beyond int32", parts(8, "0400808080800800"), true, "visit count 2147483648 too large"},
		{"empty visitor key", parts(7, "0000808085fda1dbb2ab30"), true, "empty visitor key"},
		{"first seen after last seen", parts(8, "04020100"), true, `visitor "v1": first seen after last seen at byte 150`},
		{"start after last activity", parts(14, "040200000000"), true, "visit " + goldenVisitID + ": start after last activity at byte 148"},
		{"previous visit without open visit", append(parts(13, "0001"+goldenVisitID+"01")[:18], goldenSnapshot[19:]...), true, `visitor "v1": previous visit without an open visit at byte 150`},
		{"visitor twice", append(parts(6, "02")[:20], goldenSnapshot[7:]...), true, `visitor "v1" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := golden(t, tt.parts)
			if tt.crc {
				b = withCRC(b)
			}
			tr := newTracker(t, Config{})
			err := tr.Restore(bytes.NewReader(b))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
			assert.True(t, strings.HasPrefix(err.Error(), "journey: restore: "), err.Error())
		})
	}
}

// TestRestoreAllocationBounded: lengths and counts that promise more than
// the input holds allocate no more than a small constant.
func TestRestoreAllocationBounded(t *testing.T) {
	head := "574a4a5401" + "efcdab8967452301" + "00"
	tables := "0100" + "0100000000" + "00"                               // strings [""], entries [("", "", "", "")], no dims
	visitor := "01" + "027631" + "00" + "00" + "00" + "00" + "00" + "00" // 1 visitor "v1", all zero, no partner
	zeros := strings.Repeat("00", 100)
	tests := []struct{ name, hex, err string }{
		{"string of 256 MiB", head + "01" + "ffffff7f" + zeros, "truncated input at byte 119"},
		{"2^31-1 strings", head + "ffffffff07" + zeros, "truncated input at byte 119"},
		{"2^31-1 entries", head + "0100" + "ffffffff07" + zeros, "truncated input at byte 121"},
		{"2^31-1 touches", head + tables + visitor + "ffffffff07" + zeros, "truncated input"},
		{"2^31-1 seen ids", head + tables + visitor + "00" + "0000" + "ffffffff07" + zeros, "truncated input"},
		{"2^31-1 outcomes", head + tables + visitor + "00" + "0000" + "00" + "ffffffff07" + zeros, "truncated input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			require.NoError(t, err)
			tr := newTracker(t, Config{})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err = tr.Restore(bytes.NewReader(b))
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.err)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(512<<10), "bytes allocated")
		})
	}
}

func FuzzRestore(f *testing.F) {
	f.Add(golden(f, goldenSnapshot))
	f.Add(golden(f, goldenSnapshotV4))
	f.Add(golden(f, goldenSnapshotV1))
	long := newTracker(f, Config{PathLength: 2})
	for i := range 20 { // a cut path: head, dropped middle, tail
		feed(f, long, pv(fmt.Sprintf("l%d", i), fmt.Sprintf("/l%d", i%5), time.Duration(i)*time.Minute))
	}
	f.Add(snapshot(f, long))
	src, _ := journeyTracker(f, Config{MaxVisitors: 4})
	snap := snapshot(f, src)
	f.Add(snap)
	f.Add(snap[:len(snap)/2])
	f.Add(snapshot(f, newTracker(f, Config{})))
	f.Add([]byte{})
	small := Config{MaxVisitors: 2, MaxTouches: 2, MaxSeenIDs: 2, SplitAtMidnight: true, Location: time.FixedZone("x", -5*3600)}
	// Funnels: a tracker whose visitors hold attempts and pending matches.
	withFunnels := Config{Funnels: []FunnelDef{{Name: "a", Steps: 4, VisitScope: true}, {Name: "b", Steps: 3, Strict: true, Window: time.Hour}}}
	ft := newTracker(f, withFunnels)
	for seed := range uint64(3) {
		evs := funnelEvents(rand.New(rand.NewPCG(seed, 3)))
		for i := range evs {
			evs[i].Visitor = fmt.Sprintf("f%d", seed)
		}
		feedFunnels(f, ft, evs...)
	}
	f.Add(snapshot(f, ft))
	f.Fuzz(func(t *testing.T, data []byte) {
		inputs := [][]byte{data}
		if len(data) >= 4 {
			inputs = append(inputs, withCRC(data)) // get past the checksum
		}
		for _, in := range inputs {
			for _, cfg := range []Config{{}, small, withFunnels} {
				tr := newTracker(t, cfg)
				if err := tr.Restore(bytes.NewReader(in)); err != nil {
					continue
				}
				// A restored tracker is usable, and writes a snapshot
				// that restores to the same state.
				out := snapshot(t, tr)
				tr2 := newTracker(t, cfg)
				require.NoError(t, tr2.Restore(bytes.NewReader(out)))
				require.Equal(t, out, snapshot(t, tr2))
				for _, key := range tr.visitors.Keys() {
					tr.Touches(key)
					e := camp(pv("fuzz", "/f", 0), "paid", "google", "c", "")
					e.Visitor = key
					v, _, _, _ := tr.Apply(e)
					tr.MarkOutcome(key, v.ID, "o")
					tr.MarkSegment(key, v.ID, "s")
					e.ID, e.Time = "fuzz2", e.Time.Add(time.Hour)
					tr.Apply(e)
					e.ID, e.Time = "fuzz3", e.Time.Add(-2*time.Hour)
					tr.Apply(e)
				}
				for _, key := range tr.visitors.Keys() {
					for _, path := range []string{"/s1", "/s2", "/s3", "/x"} {
						e := pv("fz"+path, path, 3*time.Hour)
						e.Visitor = key
						if ref, ok, _ := tr.Touch(e); ok {
							m := funnelMask(e)
							tr.FunnelSteps(key, ref.VisitID, e.Time, "granted", []uint16{m, m, 0xffff})
						}
					}
					for f := range cfg.Funnels {
						tr.Funnel(key, f)
					}
				}
				e := pv("x", "/", 0)
				e.Visitor = "\x00not-in-the-snapshot"
				_, _, ok, why := tr.Apply(e)
				require.True(t, ok, why)
				snapshot(t, tr)
			}
		}
	})
}

// bigTracker holds 100 000 visitors with the given history.
func bigTracker(b *testing.B, history int) *Tracker {
	const visitors = 100_000
	tr := newTracker(b, Config{MaxVisitors: visitors})
	for n := range visitors {
		for _, e := range historyEvents(n, history) {
			tr.Apply(e)
		}
	}
	return tr
}

func BenchmarkSnapshot(b *testing.B) {
	for _, history := range []int{1, 10} {
		b.Run(fmt.Sprintf("visitors=100k/touches=%d", history), func(b *testing.B) {
			tr := bigTracker(b, history)
			var buf bytes.Buffer
			require.NoError(b, tr.Snapshot(&buf)) // grow the buffer: measure the snapshot, not bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := tr.Snapshot(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
			b.ReportMetric(float64(buf.Len()), "snapshot-bytes")
		})
	}
}

func BenchmarkRestore(b *testing.B) {
	for _, history := range []int{1, 10} {
		b.Run(fmt.Sprintf("visitors=100k/touches=%d", history), func(b *testing.B) {
			snap := snapshot(b, bigTracker(b, history))
			tr := newTracker(b, Config{MaxVisitors: 100_000})
			b.SetBytes(int64(len(snap)))
			b.ReportAllocs()
			for b.Loop() {
				if err := tr.Restore(bytes.NewReader(snap)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
