package salt

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type clock struct{ ns atomic.Int64 }

func newClock(s string) *clock {
	c := &clock{}
	c.set(s)
	return c
}
func (c *clock) set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.ns.Store(t.UnixNano())
}
func (c *clock) now() time.Time { return time.Unix(0, c.ns.Load()) }

type memStore struct {
	mu      sync.Mutex
	m       map[string][]byte
	failSet error
	failDel error
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Get(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}
func (s *memStore) Set(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSet != nil {
		return s.failSet
	}
	s.m[k] = append([]byte(nil), v...)
	return nil
}
func (s *memStore) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failDel != nil {
		return s.failDel
	}
	delete(s.m, k)
	return nil
}
func (s *memStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ks []string
	for k := range s.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var ctx = context.Background()

func key(t *testing.T, s *Salts) string {
	t.Helper()
	k, err := s.Key(ctx, "site-a", "203.0.113.7", "Mozilla/5.0")
	require.NoError(t, err)
	return k
}

func prevKey(s *Salts) (string, bool) { return s.PreviousKey("site-a", "203.0.113.7", "Mozilla/5.0") }

func TestParsePeriod(t *testing.T) {
	for _, p := range []string{"day", "week", "month"} {
		got, err := ParsePeriod(p)
		require.NoError(t, err)
		assert.Equal(t, Period(p), got)
	}
	_, err := ParsePeriod("x")
	assert.EqualError(t, err, `must be day, week or month, not "x"`)
	_, err = New(ctx, "year", nil, nil)
	assert.ErrorContains(t, err, `must be day, week or month, not "year"`)
}

func TestKeyShapeAndFormula(t *testing.T) {
	c := newClock("2026-11-23T10:00:00Z")
	s, err := New(ctx, Day, nil, c.now)
	require.NoError(t, err)
	k := key(t, s)
	assert.True(t, strings.HasPrefix(k, "c-"))
	assert.Len(t, k, 24)
	m := hmac.New(sha256.New, s.state.Load().cur.raw)
	m.Write([]byte("203.0.113.7\x00Mozilla/5.0\x00site-a"))
	assert.Equal(t, "c-"+base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16]), k)
	// Deterministic within the period, different per input.
	c.set("2026-11-23T23:59:59Z")
	assert.Equal(t, k, key(t, s))
	other, _ := s.Key(ctx, "site-b", "203.0.113.7", "Mozilla/5.0")
	assert.NotEqual(t, k, other)
	other, _ = s.Key(ctx, "site-a", "203.0.113.8", "Mozilla/5.0")
	assert.NotEqual(t, k, other)
	other, _ = s.Key(ctx, "site-a", "203.0.113.7", "curl/8")
	assert.NotEqual(t, k, other)
	// No previous salt on a fresh start without store.
	_, ok := prevKey(s)
	assert.False(t, ok)
}

func TestDailyRotation(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	st := newMemStore()
	s, err := New(ctx, Day, st, c.now)
	require.NoError(t, err)
	k1 := key(t, s)
	day1 := s.state.Load().cur

	c.set("2026-11-24T00:00:00Z")
	// Before rotation, PreviousKey already judges against now.
	p, ok := prevKey(s)
	require.True(t, ok)
	assert.Equal(t, k1, p)
	k2 := key(t, s)
	assert.NotEqual(t, k1, k2)
	p, ok = prevKey(s)
	require.True(t, ok)
	assert.Equal(t, k1, p)
	assert.ElementsMatch(t, []string{IndexKey, "salt/day/2026-11-23", "salt/day/2026-11-24"}, st.keys())

	c.set("2026-11-25T08:00:00Z")
	k3 := key(t, s)
	assert.NotEqual(t, k2, k3)
	assert.NotEqual(t, k1, k3)
	p, ok = prevKey(s)
	require.True(t, ok)
	assert.Equal(t, k2, p)
	// The salt of the 23rd is gone from memory and from the store.
	assert.Nil(t, day1.raw)
	cur := s.state.Load()
	assert.Equal(t, "2026-11-25", cur.cur.label)
	assert.Equal(t, "2026-11-24", cur.prev.label)
	assert.ElementsMatch(t, []string{IndexKey, "salt/day/2026-11-24", "salt/day/2026-11-25"}, st.keys())
	idx, _ := st.Get(ctx, IndexKey)
	assert.ElementsMatch(t, []string{"salt/day/2026-11-24", "salt/day/2026-11-25"}, strings.Split(string(idx), "\n"))
}

func TestZeroedOnDestroy(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	s, err := New(ctx, Day, nil, c.now)
	require.NoError(t, err)
	raw := s.state.Load().cur.raw
	require.NotEqual(t, make([]byte, SaltBytes), raw)
	c.set("2026-11-25T12:00:00Z") // two periods on: nothing kept
	key(t, s)
	assert.Equal(t, make([]byte, SaltBytes), raw)
	_, ok := prevKey(s)
	assert.False(t, ok)
}

func TestClockJumpsAndPreviousKeyWithoutRotation(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	s, err := New(ctx, Day, nil, c.now)
	require.NoError(t, err)
	key(t, s)
	c.set("2026-11-26T12:00:00Z") // not rotated yet, and far past
	_, ok := prevKey(s)
	assert.False(t, ok)
	// Clock stepping back keeps the current salt.
	c.set("2026-11-23T12:00:00Z")
	k := key(t, s)
	c.set("2026-11-22T12:00:00Z")
	assert.Equal(t, k, key(t, s))
}

func TestRestartWithStore(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	st := newMemStore()
	s, err := New(ctx, Day, st, c.now)
	require.NoError(t, err)
	k1 := key(t, s)
	c.set("2026-11-24T01:00:00Z")
	k2 := key(t, s)

	s2, err := New(ctx, Day, st, c.now)
	require.NoError(t, err)
	assert.Equal(t, k2, key(t, s2))
	p, ok := prevKey(s2)
	require.True(t, ok)
	assert.Equal(t, k1, p)

	// A restart two days later deletes both old salts.
	c.set("2026-11-26T01:00:00Z")
	s3, err := New(ctx, Day, st, c.now)
	require.NoError(t, err)
	assert.NotEqual(t, k2, key(t, s3))
	_, ok = prevKey(s3)
	assert.False(t, ok)
	assert.ElementsMatch(t, []string{IndexKey, "salt/day/2026-11-26"}, st.keys())

	// Changing the period deletes the other period's salts.
	s4, err := New(ctx, Week, st, c.now)
	require.NoError(t, err)
	key(t, s4)
	assert.ElementsMatch(t, []string{IndexKey, "salt/week/2026-W48"}, st.keys())
}

func TestRestartWithoutStore(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	s, err := New(ctx, Day, nil, c.now)
	require.NoError(t, err)
	s2, err := New(ctx, Day, nil, c.now)
	require.NoError(t, err)
	assert.NotEqual(t, key(t, s), key(t, s2))
}

func TestMalformedStoredSaltReplaced(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	st := newMemStore()
	st.m["salt/day/2026-11-23"] = []byte("short")
	s, err := New(ctx, Day, st, c.now)
	require.NoError(t, err)
	key(t, s)
	assert.Len(t, st.m["salt/day/2026-11-23"], SaltBytes)
}

func TestStoreErrors(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	st := newMemStore()
	st.failSet = errors.New("disk full")
	_, err := New(ctx, Day, st, c.now)
	assert.ErrorContains(t, err, "disk full")

	st.failSet = nil
	s, err := New(ctx, Day, st, c.now)
	require.NoError(t, err)
	k1 := key(t, s)
	// A failing store does not stop rotation: the key is valid, err says why
	// it will not survive a restart.
	st.failSet = errors.New("disk full")
	c.set("2026-11-24T12:00:00Z")
	k2, err := s.Key(ctx, "site-a", "203.0.113.7", "Mozilla/5.0")
	assert.ErrorContains(t, err, "disk full")
	assert.NotEqual(t, k1, k2)
	assert.Len(t, k2, 24)
	assert.Equal(t, k2, key(t, s))

	// A failed delete is retried at the next rotation.
	st.failSet = nil
	st.failDel = errors.New("locked")
	c.set("2026-11-26T12:00:00Z")
	_, err = s.Key(ctx, "site-a", "203.0.113.7", "Mozilla/5.0")
	assert.ErrorContains(t, err, "locked")
	assert.Contains(t, st.keys(), "salt/day/2026-11-23")
	st.failDel = nil
	c.set("2026-11-27T12:00:00Z")
	key(t, s)
	assert.ElementsMatch(t, []string{IndexKey, "salt/day/2026-11-26", "salt/day/2026-11-27"}, st.keys())
}

func TestWeekBoundaries(t *testing.T) {
	// 2026-11-22 is a Sunday, 2026-11-23 a Monday (ISO week 48).
	c := newClock("2026-11-22T23:59:59Z")
	st := newMemStore()
	s, err := New(ctx, Week, st, c.now)
	require.NoError(t, err)
	k47 := key(t, s)
	assert.Equal(t, "2026-W47", s.state.Load().cur.label)
	c.set("2026-11-23T00:00:00Z")
	k48 := key(t, s)
	assert.NotEqual(t, k47, k48)
	assert.Equal(t, "2026-W48", s.state.Load().cur.label)
	c.set("2026-11-29T23:59:59Z") // Sunday, same week
	assert.Equal(t, k48, key(t, s))
	p, ok := prevKey(s)
	require.True(t, ok)
	assert.Equal(t, k47, p)
	// Year boundary: 2026-12-28 is Monday of 2026-W53; 2027-01-04 is 2027-W01.
	c.set("2027-01-03T12:00:00Z")
	key(t, s)
	assert.Equal(t, "2026-W53", s.state.Load().cur.label)
	c.set("2027-01-04T00:00:00Z")
	key(t, s)
	assert.Equal(t, "2027-W01", s.state.Load().cur.label)
	assert.Equal(t, "2026-W53", s.state.Load().prev.label)
	assert.ElementsMatch(t, []string{IndexKey, "salt/week/2026-W53", "salt/week/2027-W01"}, st.keys())
}

func TestMonthBoundaries(t *testing.T) {
	c := newClock("2026-12-31T23:59:59Z")
	s, err := New(ctx, Month, newMemStore(), c.now)
	require.NoError(t, err)
	dec := key(t, s)
	c.set("2027-01-01T00:00:00Z")
	jan := key(t, s)
	assert.NotEqual(t, dec, jan)
	assert.Equal(t, "2027-01", s.state.Load().cur.label)
	c.set("2027-01-31T23:00:00Z")
	assert.Equal(t, jan, key(t, s))
	p, ok := prevKey(s)
	require.True(t, ok)
	assert.Equal(t, dec, p)
	// Periods are UTC whatever the clock's zone.
	loc := time.FixedZone("UTC+10", 10*3600)
	c.ns.Store(time.Date(2027, 2, 1, 9, 0, 0, 0, loc).UnixNano()) // still January in UTC
	assert.Equal(t, jan, key(t, s))
}

func TestConcurrentRotation(t *testing.T) {
	c := newClock("2026-11-23T12:00:00Z")
	s, err := New(ctx, Day, newMemStore(), c.now)
	require.NoError(t, err)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, err := s.Key(ctx, "site-a", fmt.Sprint("198.51.100.", i%250), "UA")
				if err != nil || len(k) != 24 {
					t.Errorf("key %q err %v", k, err)
					return
				}
				s.PreviousKey("site-a", "198.51.100.1", "UA")
			}
		}()
	}
	start := c.now()
	for d := 1; d <= 20; d++ {
		c.ns.Store(start.Add(time.Duration(d) * 24 * time.Hour).UnixNano())
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	assert.Equal(t, "2026-12-13", s.state.Load().cur.label)
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	s, err := New(ctx, Day, nil, nil)
	require.NoError(t, err)
	key(t, s)
	allocs := testing.AllocsPerRun(1000, func() { _, _ = s.Key(ctx, "site-a", "203.0.113.7", "Mozilla/5.0") })
	assert.LessOrEqual(t, allocs, 1.0)
}

const benchUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"

func BenchmarkKey(b *testing.B) {
	s, err := New(ctx, Day, nil, nil)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Key(ctx, "site-a", "203.0.113.7", benchUA)
	}
}

func BenchmarkKeyParallel(b *testing.B) {
	s, err := New(ctx, Day, nil, nil)
	require.NoError(b, err)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.Key(ctx, "site-a", "203.0.113.7", benchUA)
		}
	})
}

// Keys gives what Key, SincePeriodStart and PreviousKey give together,
// at every step of a rotation: before it, just after the boundary (in the
// overlap), later in the period and two periods on.
func TestKeysIsKeyAndPreviousKey(t *testing.T) {
	const overlap = 30 * time.Minute
	c := newClock("2026-11-23T12:00:00Z")
	s, err := New(ctx, Day, newMemStore(), c.now)
	require.NoError(t, err)
	for _, at := range []string{
		"2026-11-23T12:00:00Z", "2026-11-24T00:00:00Z", "2026-11-24T00:29:59Z",
		"2026-11-24T00:30:00Z", "2026-11-24T13:00:00Z", "2026-11-26T00:10:00Z", "2026-11-27T00:10:00Z",
	} {
		c.set(at)
		cur, prev, err := s.Keys(ctx, "site-a", "203.0.113.7", "Mozilla/5.0", overlap)
		require.NoError(t, err, at)
		assert.Equal(t, key(t, s), cur, at)
		wantPrev := ""
		if s.SincePeriodStart() < overlap {
			wantPrev, _ = prevKey(s)
		}
		assert.Equal(t, wantPrev, prev, at)
	}
}
