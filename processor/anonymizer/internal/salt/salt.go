// Package salt keeps the rotating salts behind the cookieless visitor key.
//
// An anonymous event (no consent for a visitor id) gets a cookieless key
//
//	"c-" + base64url(HMAC-SHA256(salt, clientAddress "\x00" userAgent "\x00" site)[:16])
//
// computed before the address is reduced. The salt is random and rotates
// every period (a UTC day, an ISO week starting Monday 00:00 UTC, or a UTC
// month), so the same browser cannot be followed from one period to the
// next. The previous period's salt is kept so that a visit crossing the
// boundary can still be matched (PreviousKey); older salts are destroyed:
// zeroed, forgotten and deleted from the store.
//
// With a Store the salts survive a restart; without one a restart starts a
// new salt, which only splits the visits in progress.
package salt // import "github.com/webjourney/webjourney/processor/anonymizer/internal/salt"

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Period is how often the salt rotates.
type Period string

const (
	Day   Period = "day"
	Week  Period = "week" // ISO week, from Monday 00:00 UTC
	Month Period = "month"
)

// ParsePeriod reads "day", "week" or "month".
func ParsePeriod(s string) (Period, error) {
	switch p := Period(s); p {
	case Day, Week, Month:
		return p, nil
	}
	return "", fmt.Errorf("must be day, week or month, not %q", s)
}

// Store persists salts; the processor adapts the collector storage extension
// client to it. Get returns (nil, nil) when the key is absent.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

const (
	// SaltBytes is the size of a salt.
	SaltBytes = 32
	// KeyPrefix starts every cookieless key, so one never looks like a
	// visitor id.
	KeyPrefix = "c-"
	// keyBytes is the number of HMAC bytes kept in a key.
	keyBytes = 16
	// IndexKey is the store key of the list of stored salt keys (one per line).
	IndexKey = "salt/index"

	maxPooledInput = 4096
)

// keyLen is the length of a cookieless key.
var keyLen = len(KeyPrefix) + base64.RawURLEncoding.EncodedLen(keyBytes)

// Salts holds the current and previous period's salts. It is safe for
// concurrent use.
type Salts struct {
	period Period
	store  Store
	now    func() time.Time

	state atomic.Pointer[state] // read without locking on the fast path

	mu    sync.Mutex // serialises rotation and store writes
	index []string   // store keys of the salts listed in IndexKey; under mu

	past pastSalts // salts of periods older than the previous one (past.go)
}

// state is immutable once published.
type state struct {
	start, end time.Time // the current period: [start, end)
	cur, prev  *entry    // prev may be nil
	prevStart  time.Time // the previous period's start: older events are PastKey's
}

// entry is one period's salt. raw is read and zeroed only under Salts.mu;
// readers use clones of the keyed HMAC template, never raw, so destroying a
// salt cannot race with a reader still holding an older state.
type entry struct {
	label    string // e.g. "2026-11-23", "2026-W48", "2026-11"
	storeKey string // "salt/" + period + "/" + label
	raw      []byte
	tmpl     hash.Hash // keyed HMAC-SHA256, only cloned
	pool     sync.Pool // of *hasher
}

type hasher struct {
	mac hash.Hash
	in  []byte
	sum [sha256.Size]byte
	enc [24]byte
}

// New returns the salts for period. It loads the current and previous
// period's salts from store (which may be nil), creates and saves a missing
// current salt, and deletes any other salt it has stored before. Any store
// error fails New. now may be nil (time.Now).
func New(ctx context.Context, period Period, store Store, now func() time.Time) (*Salts, error) {
	if _, err := ParsePeriod(string(period)); err != nil {
		return nil, fmt.Errorf("salt period %w", err)
	}
	if now == nil {
		now = time.Now
	}
	s := &Salts{period: period, store: store, now: now}
	if store != nil {
		raw, err := store.Get(ctx, IndexKey)
		if err != nil {
			return nil, fmt.Errorf("reading salt index: %w", err)
		}
		s.index = parseIndex(raw)
	}
	st, err := s.build(ctx, nil, now())
	if err != nil {
		return nil, err
	}
	s.state.Store(st)
	return s, nil
}

// Key returns the cookieless key of (site, clientAddress, userAgent) under
// the current period's salt, rotating first if the clock has entered a new
// period.
//
// Rotation happens in memory even when the store fails: the error is then
// returned together with a valid key (the new salt just will not survive a
// restart). So a non-empty key is always usable; err reports persistence.
func (s *Salts) Key(ctx context.Context, site, clientAddress, userAgent string) (current string, err error) {
	st := s.state.Load()
	if t := s.now(); !t.Before(st.end) {
		st, err = s.rotate(ctx, t)
	}
	return st.cur.key(site, clientAddress, userAgent), err
}

// PreviousKey returns the key under the previous period's salt, and false if
// that salt is not held (first period after a start without a store, or the
// clock jumped). It does not rotate; it judges "previous" against now().
func (s *Salts) PreviousKey(site, clientAddress, userAgent string) (string, bool) {
	st := s.state.Load()
	prev := st.prev
	if t := s.now(); !t.Before(st.end) {
		// Not rotated yet: the held current salt is the previous one if now
		// is in the period right after it, and nothing is otherwise.
		prev = nil
		if t.Before(next(s.period, st.end)) {
			prev = st.cur
		}
	}
	if prev == nil {
		return "", false
	}
	return prev.key(site, clientAddress, userAgent), true
}

// Keys returns what Key returns and, when the current period began less
// than overlap ago and the previous period's salt is held, the key under
// that salt (PreviousKey), else "". It reads the clock once for both: the
// anonymizer asks for both on every anonymous event.
func (s *Salts) Keys(ctx context.Context, site, clientAddress, userAgent string, overlap time.Duration) (current, previous string, err error) {
	t := s.now()
	st := s.state.Load()
	if !t.Before(st.end) {
		st, err = s.rotate(ctx, t)
	}
	current = st.cur.key(site, clientAddress, userAgent)
	// t is in st's period now (rotate builds the period holding t), unless
	// another goroutine rotated further with a later clock reading.
	start := st.start
	if t.Before(start) {
		start = periodStart(s.period, t)
	}
	if st.prev != nil && t.Sub(start) < overlap {
		previous = st.prev.key(site, clientAddress, userAgent)
	}
	return current, previous, err
}

// SincePeriodStart is how long ago the current period began.
func (s *Salts) SincePeriodStart() time.Duration {
	t := s.now()
	return t.Sub(periodStart(s.period, t))
}

// Period returns the rotation period.
func (s *Salts) Period() Period { return s.period }

func (s *Salts) rotate(ctx context.Context, t time.Time) (*state, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	if t.Before(old.end) {
		return old, nil // another goroutine rotated
	}
	st, err := s.build(ctx, old, t)
	s.state.Store(st)
	return st, err
}

// build makes the state for the period holding t, reusing salts of old,
// loading salts from the store, creating the current salt if needed, then
// destroys every other salt. Called under mu (or before s is shared). The
// returned state is nil only if the store could not be read at startup.
func (s *Salts) build(ctx context.Context, old *state, t time.Time) (*state, error) {
	start := periodStart(s.period, t)
	st := &state{start: start, end: next(s.period, start), prevStart: prev(s.period, start)}
	curLabel := label(s.period, start)
	prevLabel := label(s.period, st.prevStart)

	held := func(l string) *entry {
		if old == nil {
			return nil
		}
		if old.cur.label == l {
			return old.cur
		}
		if old.prev != nil && old.prev.label == l {
			return old.prev
		}
		return nil
	}
	var errs []error
	var err error
	if st.cur = held(curLabel); st.cur == nil {
		if st.cur, err = s.load(ctx, curLabel); err != nil {
			if old == nil {
				return nil, err
			}
			errs = append(errs, err)
		}
	}
	if st.cur == nil {
		st.cur = s.newEntry(curLabel, randomSalt())
		if s.store != nil {
			if err := s.store.Set(ctx, st.cur.storeKey, st.cur.raw); err != nil {
				errs = append(errs, fmt.Errorf("saving salt %s: %w", st.cur.storeKey, err))
			}
		}
	}
	if st.prev = held(prevLabel); st.prev == nil {
		if st.prev, err = s.load(ctx, prevLabel); err != nil {
			if old == nil {
				return nil, err
			}
			errs = append(errs, err)
		}
	}

	// Destroy what is no longer needed, in memory and in the store.
	if old != nil {
		for _, e := range []*entry{old.cur, old.prev} {
			if e != nil && e != st.cur && e != st.prev {
				e.destroy()
			}
		}
	}
	if s.store != nil {
		errs = append(errs, s.prune(ctx, st))
	}
	return st, errors.Join(errs...)
}

// prune deletes every listed salt but the held ones and rewrites the index.
func (s *Salts) prune(ctx context.Context, st *state) error {
	keep := []string{st.cur.storeKey}
	if st.prev != nil {
		keep = append(keep, st.prev.storeKey)
	}
	var errs []error
	next := slices.Clone(keep)
	for _, k := range s.index {
		if slices.Contains(next, k) {
			continue
		}
		if err := s.store.Delete(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("deleting old salt %s: %w", k, err))
			next = append(next, k) // retry at the next rotation
		}
	}
	if !slices.Equal(next, s.index) {
		if err := s.store.Set(ctx, IndexKey, []byte(strings.Join(next, "\n"))); err != nil {
			errs = append(errs, fmt.Errorf("saving salt index: %w", err))
		} else {
			s.index = next
		}
	}
	return errors.Join(errs...)
}

// load reads a salt from the store; a missing or malformed one is nil.
func (s *Salts) load(ctx context.Context, l string) (*entry, error) {
	if s.store == nil {
		return nil, nil
	}
	k := s.storeKeyOf(l)
	raw, err := s.store.Get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("reading salt %s: %w", k, err)
	}
	if len(raw) != SaltBytes {
		return nil, nil // absent, or not ours: a new salt replaces it
	}
	return s.newEntry(l, slices.Clone(raw)), nil
}

func (s *Salts) storeKeyOf(l string) string { return "salt/" + string(s.period) + "/" + l }

func (s *Salts) newEntry(l string, raw []byte) *entry {
	e := &entry{label: l, storeKey: s.storeKeyOf(l), raw: raw, tmpl: hmac.New(sha256.New, raw)}
	e.tmpl.Reset()
	tmpl := e.tmpl
	e.pool.New = func() any {
		c, err := tmpl.(hash.Cloner).Clone()
		if err != nil {
			panic("salt: HMAC-SHA256 cannot be cloned: " + err.Error())
		}
		return &hasher{mac: c.(hash.Hash)}
	}
	return e
}

// destroy zeroes the raw salt and drops the keyed HMACs. The HMAC states
// still referenced by the pool are freed by the garbage collector; Go offers
// no way to zero them.
func (e *entry) destroy() {
	clear(e.raw)
	e.raw = nil
	e.tmpl = nil
}

func (e *entry) key(site, clientAddress, userAgent string) string {
	h := e.pool.Get().(*hasher)
	h.mac.Reset()
	in := append(h.in[:0], clientAddress...)
	in = append(in, 0)
	in = append(in, userAgent...)
	in = append(in, 0)
	in = append(in, site...)
	h.in = in
	h.mac.Write(in)
	sum := h.mac.Sum(h.sum[:0])
	enc := h.enc[:keyLen-len(KeyPrefix)]
	base64.RawURLEncoding.Encode(enc, sum[:keyBytes])

	var b strings.Builder
	b.Grow(keyLen)
	b.WriteString(KeyPrefix)
	b.Write(enc)

	if cap(h.in) > maxPooledInput {
		h.in = nil
	}
	e.pool.Put(h)
	return b.String()
}

func randomSalt() []byte {
	b := make([]byte, SaltBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return b
}

func parseIndex(raw []byte) []string {
	var keys []string
	for _, k := range strings.Split(string(raw), "\n") {
		if k = strings.TrimSpace(k); strings.HasPrefix(k, "salt/") && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// periodStart returns the start of the period holding t, in UTC.
func periodStart(p Period, t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch p {
	case Week:
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)) // back to Monday
	case Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
}

// next returns the start of the period after the one starting at start.
func next(p Period, start time.Time) time.Time {
	switch p {
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	default:
		return start.AddDate(0, 0, 1)
	}
}

// prev returns the start of the period before the one starting at start.
func prev(p Period, start time.Time) time.Time {
	switch p {
	case Week:
		return start.AddDate(0, 0, -7)
	case Month:
		return start.AddDate(0, -1, 0)
	default:
		return start.AddDate(0, 0, -1)
	}
}

func label(p Period, start time.Time) string {
	switch p {
	case Week:
		y, w := start.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Month:
		return start.Format("2006-01")
	default:
		return start.Format("2006-01-02")
	}
}
