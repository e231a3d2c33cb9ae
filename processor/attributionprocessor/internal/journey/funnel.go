package journey

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"time"
	"unique"
)

// Funnels (see "Funnels" in the package documentation). The caller
// evaluates each funnel's step conditions on an applied event and reports
// the steps it matched (FunnelSteps); the tracker keeps, per visitor and
// funnel, the attempts and builds the record (Funnel).

// MaxFunnelSteps is the most steps a funnel may have (a step is a bit of a
// uint16 mask).
const MaxFunnelSteps = 10

// FunnelDef is one funnel as the tracker needs it; the caller keeps its
// names and conditions.
type FunnelDef struct {
	Name       string        // identifies the funnel's state in snapshots
	Steps      int           // 2 to MaxFunnelSteps
	Strict     bool          // another step of the funnel between two steps ends the attempt
	VisitScope bool          // every step in the visit of the first
	Window     time.Duration // the steps must come within this long after the first; 0: no bound
}

// FunnelRecord is one visitor's progress through one funnel: its best
// attempt (most steps reached, the earliest of those).
type FunnelRecord struct {
	Version   int64
	Steps     []time.Time // when each step reached was first reached, len = steps reached
	Completed bool
	Attempts  int
	// NextPage is, for an attempt not completed, the first page viewed
	// after its furthest step in that step's visit ("" when none).
	NextPage string
	// Of the attempt's first step: its visit, the visit's entry, device
	// and country, and the consent decision of the event.
	VisitID                           string
	Medium, Source, Campaign, Partner string
	Device, Country                   string
	Consent                           string
}

// funnelMatch is an event that matched steps of a funnel (bit k of mask:
// step k+1), not yet folded into the attempts because an event inside the
// reorder window may still come before it.
type funnelMatch struct {
	at      int64
	visit   int32 // the visit's number
	mask    uint16
	consent uint8 // Tracker.consents index
}

// before orders matches by time, then by mask and visit, so that matches
// in the same nanosecond fold in the same order whatever their arrival.
func (a funnelMatch) before(b funnelMatch) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.mask != b.mask {
		return a.mask < b.mask
	}
	return a.visit < b.visit
}

// attempt is one try at a funnel (80 bytes: TestStateSizes).
type attempt struct {
	times []int64 // the steps reached, first times
	visit int32   // number of the first step's visit
	last  int32   // number of the furthest step's visit
	first firstStep
	next  pageView // the first page view after the furthest step; zero: none yet
}

// firstStep is what a record says about the attempt's first step: its
// visit (by the time that created it, which gives the visit id), the
// visit's entry and dims, and the consent decision of the event.
type firstStep struct {
	created int64
	entry   unique.Handle[entry]
	dims    unique.Handle[dims]
	consent uint8
}

func (a *attempt) clone() *attempt {
	if a == nil {
		return nil
	}
	c := *a
	c.times = slices.Clone(a.times)
	return &c
}

// funnelState is a visitor's state of one funnel (48 bytes:
// TestStateSizes). Its record's version is the visitor's: every change
// comes with an event of the visitor, which raises it.
type funnelState struct {
	attempts int32
	// emitted is a hash of the last record Funnel reported as changed, so
	// that a match that changed nothing writes no record; 0: none yet.
	emitted uint32
	best    *attempt // most steps reached, the earliest of those
	cur     *attempt // the open attempt (may be best); nil when none
	pending []funnelMatch
}

// entered reports whether the state holds anything: an attempt, or
// matches that may still make one.
func (fs *funnelState) entered() bool { return fs.best != nil || len(fs.pending) > 0 }

// done reports whether an attempt completed: the record is final.
func (fs *funnelState) done(def *FunnelDef) bool {
	return fs.best != nil && len(fs.best.times) == def.Steps
}

// funnelsOf returns the visitor's funnel states, made on first use.
func (t *Tracker) funnelsOf(vs *visitorState) []funnelState {
	if vs.marks == nil {
		vs.marks = new(marks)
	}
	if vs.marks.funnels == nil {
		vs.marks.funnels = make([]funnelState, len(t.cfg.Funnels))
	}
	return vs.marks.funnels
}

// funnels returns the visitor's funnel states; nil when it entered none.
func (vs *visitorState) funnels() []funnelState {
	if vs.marks == nil {
		return nil
	}
	return vs.marks.funnels
}

// consentIndex interns a consent decision (a closed set: a handful of
// values) as a byte. t.mu must be held.
func (t *Tracker) consentIndex(s string) uint8 { return internConsent(&t.consents, s) }

// internConsent returns the index of s in *table plus one, adding it;
// 0 for "" and, beyond 255 distinct values, for the rest.
func internConsent(table *[]string, s string) uint8 {
	if s == "" {
		return 0
	}
	if i := slices.Index(*table, s); i >= 0 {
		return uint8(i + 1)
	}
	if len(*table) == 255 {
		return 0
	}
	*table = append(*table, s)
	return uint8(len(*table))
}

func (t *Tracker) consent(i uint8) string {
	if i == 0 || int(i) > len(t.consents) {
		return ""
	}
	return t.consents[i-1]
}

// FunnelSteps records that an event of visitor at time at, applied by
// Touch to the visit visitID, matched steps of funnels: masks[f] has bit k
// set when it matched step k+1 of funnel f (Config.Funnels). consent is
// the event's consent decision. It returns the funnels whose record may
// have changed (bit f), for Funnel to build.
func (t *Tracker) FunnelSteps(visitor, visitID string, at time.Time, consent string, masks []uint16) (changed uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, v := t.held(visitor, visitID, false)
	if v == nil {
		return 0
	}
	ts := at.UnixNano()
	ci := t.consentIndex(consent)
	for f, mask := range masks {
		if f >= len(t.cfg.Funnels) {
			break
		}
		if mask &= 1<<t.cfg.Funnels[f].Steps - 1; mask == 0 {
			continue
		}
		// Even a later step without the first is kept until it settles:
		// the first step may still arrive before it.
		fs := &t.funnelsOf(vs)[f]
		if fs.done(&t.cfg.Funnels[f]) {
			continue
		}
		m := funnelMatch{at: ts, mask: mask, visit: v.number, consent: ci}
		i := len(fs.pending)
		for i > 0 && m.before(fs.pending[i-1]) {
			i--
		}
		fs.pending = slices.Insert(fs.pending, i, m)
		t.settle(vs, fs, f, vs.lastSeen-t.window)
		if fs.entered() {
			changed |= 1 << f
		}
	}
	return changed
}

// settle folds the pending matches before horizon (that no event inside
// the reorder window can precede any more) into the attempts. t.mu must be
// held.
func (t *Tracker) settle(vs *visitorState, fs *funnelState, f int, horizon int64) {
	n := 0
	for n < len(fs.pending) && fs.pending[n].at < horizon {
		t.fold(vs, fs, &t.cfg.Funnels[f], fs.pending[n])
		n++
	}
	if n > 0 {
		fs.pending = slices.Delete(fs.pending, 0, n)
		if len(fs.pending) == 0 {
			fs.pending = nil
		}
	}
}

// fold applies one match, in time order, to the attempts (the rules of
// "Funnels" in the package documentation).
func (t *Tracker) fold(vs *visitorState, fs *funnelState, def *FunnelDef, m funnelMatch) {
	if fs.done(def) {
		return
	}
	if c := fs.cur; c != nil {
		closed := (def.VisitScope && m.visit != c.visit) || (def.Window > 0 && m.at > c.times[0]+int64(def.Window))
		k := len(c.times) // steps reached; bit k is the next step
		switch {
		case closed:
			fs.cur = nil
		case m.mask&(1<<k) != 0:
			c.times = append(c.times, m.at)
			c.last = m.visit
			c.next = t.pageAfter(vs, m.visit, m.at)
			if len(c.times) > len(fs.best.times) {
				fs.best = c
			}
			if len(c.times) == def.Steps {
				fs.cur = nil
				fs.best.next = pageView{}
			}
			return
		case def.Strict && m.mask&^(1<<(k-1)) != 0:
			fs.cur = nil // another step in between
		default:
			return
		}
	}
	if m.mask&1 == 0 {
		return
	}
	// times grows with the steps reached: most attempts stop early.
	a := &attempt{times: []int64{m.at}, visit: m.visit, last: m.visit}
	a.first = firstStep{consent: m.consent, entry: directEntry, dims: noDims}
	if v := visitNumbered(vs, m.visit); v != nil {
		a.first.created, a.first.entry, a.first.dims = v.created, v.entry, v.dims
	}
	a.next = t.pageAfter(vs, m.visit, m.at)
	fs.attempts++
	fs.cur = a
	if fs.best == nil {
		fs.best = a
	}
}

// visitNumbered returns the visitor's held visit with that number, or nil.
func visitNumbered(vs *visitorState, n int32) *visitState {
	for _, v := range [...]*visitState{vs.cur, vs.prev} {
		if v != nil && v.number == n {
			return v
		}
	}
	return nil
}

// pageAfter is the first page view of visit number n strictly after at,
// from the pages the visit holds (its path state, or its landing page).
func (t *Tracker) pageAfter(vs *visitorState, n int32, at int64) pageView {
	v := visitNumbered(vs, n)
	if v == nil {
		return pageView{}
	}
	if v.path != nil {
		for _, pv := range v.path.views {
			if pv.at > at {
				return pv
			}
		}
		return pageView{}
	}
	if v.pages > 0 && v.landingAt > at {
		return pageView{at: v.landingAt, page: v.landing}
	}
	return pageView{}
}

// funnelPage notes page view p of visit v for the funnels whose best
// attempt waits for the page after its furthest step; it returns the
// funnels whose record may have changed. t.mu must be held.
func (t *Tracker) funnelPage(vs *visitorState, v *visitState, p pageView) (changed uint64) {
	for f := range vs.funnels() {
		fs := &vs.marks.funnels[f]
		if !fs.entered() || fs.done(&t.cfg.Funnels[f]) {
			continue
		}
		// With pending matches the record folds them with the page
		// (pageAfter): it may change.
		ch := len(fs.pending) > 0
		if b := fs.best; b != nil && b.last == v.number && p.at > b.times[len(b.times)-1] && (b.next.at == 0 || p.before(b.next)) {
			b.next = p
			ch = true
		}
		if ch {
			changed |= 1 << f
		}
	}
	return changed
}

// settleFunnels folds every match of the visitor's funnels that an event
// at ts makes final, before the event is applied: applying it may let go
// of the visit a match was in, whose pages the fold reads. t.mu must be
// held.
func (t *Tracker) settleFunnels(vs *visitorState, ts int64) {
	horizon := max(vs.lastSeen, ts) - t.window
	for f := range vs.funnels() {
		if fs := &vs.marks.funnels[f]; len(fs.pending) > 0 && fs.pending[0].at < horizon {
			t.settle(vs, fs, f, horizon)
		}
	}
}

// Funnel returns the record of funnel f of visitor, and whether it
// differs from the last one Funnel returned as changed: ok is false when
// the visitor is not held, has not entered the funnel, or nothing changed
// since.
func (t *Tracker) Funnel(visitor string, f int) (rec FunnelRecord, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, held := t.visitors.Peek(visitor)
	if !held || f >= len(vs.funnels()) || !vs.marks.funnels[f].entered() {
		return FunnelRecord{}, false
	}
	fs, def := &vs.marks.funnels[f], &t.cfg.Funnels[f]
	t.settle(vs, fs, f, vs.lastSeen-t.window)
	view := fs
	if len(fs.pending) > 0 {
		// Fold the unsettled matches into a copy.
		c := *fs
		c.best, c.cur = fs.best.clone(), fs.cur.clone()
		if fs.cur != nil && fs.cur == fs.best {
			c.cur = c.best
		}
		c.pending = nil
		for _, m := range fs.pending {
			t.fold(vs, &c, def, m)
		}
		view = &c
	}
	b := view.best
	if b == nil {
		return FunnelRecord{}, false
	}
	rec = FunnelRecord{Version: vs.version, Completed: view.done(def), Attempts: int(view.attempts)}
	rec.Steps = make([]time.Time, len(b.times))
	for i, at := range b.times {
		rec.Steps[i] = tm(at)
	}
	if !rec.Completed {
		rec.NextPage = path(b.next.page)
	}
	fi := &b.first
	if fi.created != 0 {
		id := visitID(vs.site, vs.key, fi.created)
		rec.VisitID = hex.EncodeToString(id[:])
	}
	en := fi.entry.Value()
	rec.Medium, rec.Source, rec.Campaign, rec.Partner = en.medium, en.source, en.campaign, en.partner
	d := fi.dims.Value()
	rec.Device, rec.Country = d.device, d.country
	rec.Consent = t.consent(fi.consent)
	sum := rec.hash()
	if sum == fs.emitted {
		return rec, false
	}
	fs.emitted = sum
	return rec, true
}

// hash is a hash of the record's content (not its version); never 0, the
// value of "nothing emitted".
func (r *FunnelRecord) hash() uint32 {
	h := fnv.New32a()
	fmt.Fprintln(h, r.Completed, r.Attempts, r.NextPage, r.VisitID, r.Medium, r.Source, r.Campaign, r.Partner, r.Device, r.Country, r.Consent)
	for _, s := range r.Steps {
		fmt.Fprintln(h, s.UnixNano())
	}
	return h.Sum32() | 1
}
