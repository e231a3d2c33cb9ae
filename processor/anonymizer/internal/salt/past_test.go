package salt

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Events older than the previous period get a salt of their own period:
// the same browser links within one past period, not across two, nor with
// the current or previous period; within those two PastKey declines.
func TestPastKeyPerPeriod(t *testing.T) {
	for _, p := range []Period{Day, Week, Month} {
		t.Run(string(p), func(t *testing.T) {
			c := newClock("2026-11-23T10:00:00Z")
			s, err := New(ctx, p, nil, c.now)
			require.NoError(t, err)
			past := func(when string) string {
				k, ok := s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", at(when))
				require.True(t, ok, when)
				return k
			}
			// The current and the previous period are the live salts'.
			for _, when := range []string{"2026-11-23T09:00:00Z", time.Unix(0, c.ns.Load()).UTC().Format(time.RFC3339)} {
				_, ok := s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", at(when))
				assert.False(t, ok, when)
			}
			prevStart := prev(p, periodStart(p, c.now()))
			_, ok := s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", prevStart)
			assert.False(t, ok, "the previous period's first instant")
			_, ok = s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", prevStart.Add(-time.Nanosecond))
			assert.True(t, ok, "the instant before it")

			a1, a2 := past("2026-06-03T08:00:00Z"), past("2026-06-03T08:40:00Z")
			assert.Equal(t, a1, a2, "one past period: one key, as a live visit")
			b := past("2025-01-15T08:00:00Z")
			assert.NotEqual(t, a1, b, "two past periods: not linked")
			live := key(t, s)
			assert.NotEqual(t, a1, live)
			assert.NotEqual(t, b, live)
			other, _ := s.PastKey("site-a", "203.0.113.8", "Mozilla/5.0", at("2026-06-03T08:00:00Z"))
			assert.NotEqual(t, a1, other, "another browser")
			assert.Len(t, a1, keyLen)
		})
	}
}

// Past salts are forgotten (destroyed) a day after their last use, and the
// least recently used beyond maxPast: the same history keyed again then
// gets new keys.
func TestPastSaltsForgotten(t *testing.T) {
	c := newClock("2026-11-23T10:00:00Z")
	s, err := New(ctx, Day, nil, c.now)
	require.NoError(t, err)
	k1, _ := s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", at("2026-06-03T08:00:00Z"))
	e := s.past.byLabel["2026-06-03"].e
	c.set("2026-11-23T20:00:00Z")
	k2, _ := s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", at("2026-06-03T09:00:00Z"))
	assert.Equal(t, k1, k2, "used again within a day")
	c.set("2026-11-24T20:00:01Z")
	_, _ = s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", at("2026-06-04T09:00:00Z"))
	assert.NotContains(t, s.past.byLabel, "2026-06-03")
	assert.Nil(t, e.raw, "destroyed")
	k3, _ := s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", at("2026-06-03T09:00:00Z"))
	assert.NotEqual(t, k1, k3)

	for i := range maxPast + 10 {
		_, _ = s.PastKey("site-a", "203.0.113.7", "Mozilla/5.0", at("2020-01-01T00:00:00Z").AddDate(0, 0, i))
	}
	assert.LessOrEqual(t, len(s.past.byLabel), maxPast)
	assert.Contains(t, s.past.byLabel, fmt.Sprint(at("2020-01-01T00:00:00Z").AddDate(0, 0, maxPast+9).Format("2006-01-02")))
}
