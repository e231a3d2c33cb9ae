package journey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultReorderWindow = 2 * time.Minute
	DefaultMaxVisitors   = 100_000
	DefaultMaxSeenIDs    = 64
	DefaultMaxTouches    = 10
	// BounceEngagedMs is the engaged time below which a one-page visit is a bounce.
	BounceEngagedMs = 10_000
)

// Reasons returned by Apply for events that were not applied.
const (
	ReasonDuplicate = "duplicate"
	ReasonLate      = "late"
	ReasonInvalid   = "invalid"
	// ReasonHistoryBehind: a history event (Event.History) older than
	// the visitor's open visit's last activity and outside the visits
	// held: the caller may attribute it in a tracker of its own.
	ReasonHistoryBehind = "history_behind_live"
	// ReasonHistoryInVisit: a history event older than the open visit's
	// last activity that falls into a visit the tracker holds (the open
	// or the previous one): that visit already covers its time.
	ReasonHistoryInVisit = "history_in_live_visit"
)

const (
	mediumDirect   = "direct"
	mediumInternal = "internal"
	mediumPartner  = "partner"
)

// Event is one page event of a visitor.
type Event struct {
	ID        string // event id; duplicates (same ID seen for this visitor) are ignored
	Visitor   string // pseudonymous visitor key (visitor id, or cookieless key)
	Site      string
	Name      string // e.g. eventmodel.EventPageView
	Time      time.Time
	Path      string
	EngagedMs int64 // engagement events add to the visit's engaged time
	// Entry attribution of this event's landing (only meaningful on page views).
	Medium, Source, Campaign, Partner string
	// PartnerWindow is the partner's attribution window: a touch of the
	// partner older than this at an outcome gets no credit (0: no limit
	// beyond the lookback).
	PartnerWindow time.Duration
	// Referrer is the domain of a page view's referrer
	// (webjourney.referrer.domain), "" for none. ReferrerOnly is set when
	// its entry attribution rests on that referrer alone: it has no
	// campaign parameters, ad click id or partner landing of its own.
	// Trackers of single-page apps resend the document's original
	// referrer with every in-app page view; such a page view continues a
	// visit that entered through the same referrer (see rule 3 in the
	// package documentation).
	Referrer             string
	ReferrerOnly         bool
	DeviceClass, Country string
	// History marks an event of imported history (channel import): it
	// never changes a visitor's state backwards in time (see "History
	// behind the state" in the package documentation).
	History bool
}

// Config configures a Tracker. Zero fields get the defaults above.
type Config struct {
	IdleTimeout     time.Duration  // default 30m; an event more than this after the last activity starts a new visit
	SplitAtMidnight bool           // start a new visit when the local date changes
	Location        *time.Location // site time zone for midnight splits; default UTC
	ReorderWindow   time.Duration  // default 2m; must be less than IdleTimeout
	MaxVisitors     int            // LRU bound on visitors held; default 100 000
	MaxSeenIDs      int            // per visitor, recent event ids kept for dedupe; default 64
	MaxTouches      int            // per visitor, touches kept; default 10
	PathLength      int            // pages of a visit's path (Visit.Path); default 10, at most MaxPathLength
	// Funnels are the funnels followed for every visitor (FunnelSteps).
	Funnels []FunnelDef
}

// Visit is the state of one visit after an event.
type Visit struct {
	ID                  string
	Visitor, Site       string
	Version             int64 // see the package documentation, "Versions"
	Number              int   // the visitor's VisitCount when this visit was created
	Start, LastActivity time.Time
	IdleAt              time.Time // LastActivity + IdleTimeout
	Duration            time.Duration
	PagesViewed         int
	EngagedMs           int64
	LandingPage         string
	SecondPage          string // the page view after the landing page; "" for a single-page visit
	ExitPage            string
	Medium, Source      string // entry attribution
	Campaign, Partner   string
	DeviceClass         string
	Country             string
	Bounce              bool // exactly one page view and EngagedMs < 10 000
	// Path is the visit's first Config.PathLength pages in time order,
	// consecutive repeats (reloads) collapsed; PathTruncated is set when
	// the visit viewed more pages after them.
	Path          []string
	PathTruncated bool
	Outcomes      []string // set by the caller via MarkOutcome, in marking order
	Segments      []string // set by the caller via MarkSegment, in marking order
}

// Touch is the entry attribution of one visit.
type Touch struct {
	Time                              time.Time
	Medium, Source, Campaign, Partner string
	PartnerWindow                     time.Duration // see Event.PartnerWindow
	VisitID                           string
}

// Visitor is the state of one visitor after an event.
type Visitor struct {
	Visitor, Site       string
	Version             int64
	FirstSeen, LastSeen time.Time
	VisitCount          int
	FirstTouch          Touch
	LastNonDirectTouch  Touch
	Partner             string   // partner of the last partner touch
	Outcomes            []string // every outcome marked on any of its visits, in marking order
	Segments            []string // every segment marked on any of its visits, in marking order
	// Touched is set only on Apply's result, when the event created a
	// visit or changed a visit's entry: VisitCount, the touches, FirstTouch,
	// LastNonDirectTouch or Partner may have changed. Events that only
	// extend a visit leave it false.
	Touched bool
	// The touch history (newest MaxTouches visit entries) is not part of
	// every result: copying it on each event would cost more than the rest
	// of Apply. Tracker.Touches returns it when an outcome needs credit.
}

type entry struct {
	medium, source, campaign, partner string
	window                            time.Duration // the partner's attribution window
	// The referrer domain of the page view the entry came from, and
	// whether the entry rests on it alone (Event.ReferrerOnly); kept for
	// real sources only. Part of the interned entry rather than of
	// visitState, which fills its size class (TestStateSizes): the
	// distinct entries grow by a few referrer hosts, not per visit.
	referrer     string
	referrerOnly bool
}

// entryOf is the entry attribution of a page view.
func entryOf(e *Event) entry {
	en := entry{medium: e.Medium, source: e.Source, campaign: e.Campaign, partner: e.Partner, window: e.PartnerWindow}
	if !isDirect(e.Medium) && e.Referrer != "" {
		en.referrer, en.referrerOnly = e.Referrer, e.ReferrerOnly
	}
	return en
}

// resentReferrer reports whether page view e shows nothing but the
// referrer that the visit with entry en came through: what the tracker of
// a single-page app sends with every in-app page view after the landing.
// Such a page view is no new arrival (rule 3 does not apply).
func resentReferrer(en *entry, e *Event) bool {
	return e.ReferrerOnly && e.Referrer != "" && e.Referrer == en.referrer
}

type dims struct{ device, country string }

var (
	directEntry = unique.Make(entry{medium: mediumDirect})
	noDims      = unique.Make(dims{})
)

func isDirect(medium string) bool {
	return medium == "" || medium == mediumDirect || medium == mediumInternal
}

// touch is the compact form of Touch.
type touch struct {
	time  int64
	entry unique.Handle[entry] // zero when the touch is unset
	id    [16]byte
}

func (tc touch) set() bool { return tc.entry != unique.Handle[entry]{} }

type visitState struct {
	id        [16]byte
	start     int64
	last      int64
	landingAt int64 // times of the landing, second and exit page views
	secondAt  int64
	exitAt    int64
	dayStart  int64 // local day of start, for SplitAtMidnight
	dayEnd    int64
	engagedMs int64
	version   int64
	created   int64 // time of the event that created it, which gave its id
	pages     int32
	number    int32 // visitor's visit count at creation
	// Page paths are interned: a site has far fewer pages than visits,
	// and a handle is half a string header (TestMemoryPerVisitor).
	landing, second, exit unique.Handle[string]
	entry                 unique.Handle[entry]
	dims                  unique.Handle[dims]
	marks                 *marks     // rare: nil until MarkOutcome or MarkSegment
	path                  *pathState // nil until the second page view
}

// page interns a page path; "" is the zero handle.
func page(path string) unique.Handle[string] {
	if path == "" {
		return unique.Handle[string]{}
	}
	return unique.Make(path)
}

// path is the page path of a handle made by page.
func path(h unique.Handle[string]) string {
	if h == (unique.Handle[string]{}) {
		return ""
	}
	return h.Value()
}

// marks are the outcomes and segments of a visit or visitor, and the
// funnels of a visitor, kept behind one pointer because few visits and
// visitors have any (and visitorState fills its size class).
type marks struct {
	outcomes, segments []string
	// funnels holds the visitor's state of each funnel of Config.Funnels
	// it entered (nil entries for the others); nil until the first.
	funnels []funnelState
}

// add adds s to the set of the given kind and reports whether it was new.
func (m *marks) add(kind markKind, s string) bool {
	set := &m.outcomes
	if kind == markSegment {
		set = &m.segments
	}
	if slices.Contains(*set, s) {
		return false
	}
	// Copy on write: a new array every time, so that the slices handed
	// out by copies are never changed under their holders.
	*set = append((*set)[:len(*set):len(*set)], s)
	return true
}

// addMark adds s to *m, making the marks on first use, and reports
// whether it was new.
func addMark(m **marks, kind markKind, s string) bool {
	if *m == nil {
		*m = new(marks)
	}
	return (*m).add(kind, s)
}

// copies returns the outcomes and segments, nil when empty, without
// copying them: add never writes into an array it handed out, and the
// capacity is capped so that a caller's append copies too. Callers must
// not assign to the elements.
func (m *marks) copies() (outcomes, segments []string) {
	if m == nil {
		return nil, nil
	}
	return view(m.outcomes), view(m.segments)
}

func view(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s[:len(s):len(s)]
}

type markKind uint8

const (
	markOutcome markKind = iota
	markSegment
)

type visitorState struct {
	key        string
	site       string
	version    int64
	firstSeen  int64
	lastSeen   int64
	visitCount int32
	seenPos    int32
	firstTouch touch
	lastNonDir touch
	partner    unique.Handle[string] // zero when no partner touch
	touches    []touch
	seen       []uint32 // ring of truncated id hashes
	cur, prev  *visitState
	marks      *marks // rare: nil until MarkOutcome, MarkSegment or a funnel entered
}

// Tracker is the visit/visitor state machine.
type Tracker struct {
	mu        sync.Mutex
	cfg       Config
	idle      int64
	window    int64
	key       uint64 // dedupe hash key, random per Tracker, kept in snapshots
	visitors  *simplelru.LRU[string, *visitorState]
	evictions int64
	dropped   [2]*visitState // scratch of apply: visits no longer held
	consents  []string       // the consent decisions funnels met (consentIndex)
	ndropped  int
}

// New validates cfg, applies defaults and returns a Tracker.
func New(cfg Config) (*Tracker, error) {
	switch {
	case cfg.IdleTimeout < 0:
		return nil, fmt.Errorf("journey: IdleTimeout must not be negative, got %v", cfg.IdleTimeout)
	case cfg.ReorderWindow < 0:
		return nil, fmt.Errorf("journey: ReorderWindow must not be negative, got %v", cfg.ReorderWindow)
	case cfg.MaxVisitors < 0:
		return nil, fmt.Errorf("journey: MaxVisitors must not be negative, got %d", cfg.MaxVisitors)
	case cfg.MaxSeenIDs < 0:
		return nil, fmt.Errorf("journey: MaxSeenIDs must not be negative, got %d", cfg.MaxSeenIDs)
	case cfg.MaxTouches < 0:
		return nil, fmt.Errorf("journey: MaxTouches must not be negative, got %d", cfg.MaxTouches)
	case cfg.PathLength < 0 || cfg.PathLength > MaxPathLength:
		return nil, fmt.Errorf("journey: PathLength must be 0-%d, got %d", MaxPathLength, cfg.PathLength)
	}
	if len(cfg.Funnels) > 64 {
		return nil, fmt.Errorf("journey: at most 64 funnels, got %d", len(cfg.Funnels))
	}
	for i, f := range cfg.Funnels {
		if f.Steps < 2 || f.Steps > MaxFunnelSteps || f.Window < 0 {
			return nil, fmt.Errorf("journey: funnel %d: Steps must be 2-%d and Window not negative, got %d and %v", i, MaxFunnelSteps, f.Steps, f.Window)
		}
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ReorderWindow == 0 {
		cfg.ReorderWindow = DefaultReorderWindow
	}
	if cfg.ReorderWindow >= cfg.IdleTimeout {
		return nil, fmt.Errorf("journey: ReorderWindow (%v) must be less than IdleTimeout (%v)", cfg.ReorderWindow, cfg.IdleTimeout)
	}
	if cfg.MaxVisitors == 0 {
		cfg.MaxVisitors = DefaultMaxVisitors
	}
	if cfg.MaxSeenIDs == 0 {
		cfg.MaxSeenIDs = DefaultMaxSeenIDs
	}
	if cfg.MaxTouches == 0 {
		cfg.MaxTouches = DefaultMaxTouches
	}
	if cfg.PathLength == 0 {
		cfg.PathLength = DefaultPathLength
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	t := &Tracker{
		cfg:    cfg,
		idle:   int64(cfg.IdleTimeout),
		window: int64(cfg.ReorderWindow),
		key:    newKey(),
	}
	lru, err := simplelru.NewLRU[string, *visitorState](cfg.MaxVisitors, nil)
	if err != nil {
		return nil, fmt.Errorf("journey: MaxVisitors: %w", err)
	}
	t.visitors = lru
	return t, nil
}

// Evictions returns how many visitors were evicted from the LRU so far.
func (t *Tracker) Evictions() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.evictions
}

// Len returns the number of visitors held.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.visitors.Len()
}

// Apply feeds one event and returns the visit and visitor after it. When
// the event is not applied (reason "duplicate", "late" or "invalid") the
// returned visit and visitor are zero when the visitor is unknown, else
// the visitor's current state and open visit, unchanged.
func (t *Tracker) Apply(e Event) (visit Visit, visitor Visitor, applied bool, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, v, touched, reason := t.apply(e)
	if vs == nil {
		return Visit{}, Visitor{}, false, reason
	}
	visit, visitor, applied, reason = t.result(vs, v, reason == "", reason)
	visitor.Touched = touched
	return visit, visitor, applied, reason
}

// Ref is the light result of Touch: what the caller needs per event to
// annotate it and to evaluate outcome rules, without rendering the whole
// Visit and Visitor (State does that when their records are built).
type Ref struct {
	VisitID                           string
	Medium, Source, Campaign, Partner string // the visit's entry
	LandingPage                       string
	VisitOutcomes, VisitorOutcomes    []string // shared: do not assign to elements
	// VisitorVisits and VisitorPartner are the visitor's VisitCount and
	// Partner right after the event: the visitor as of this visit, which
	// the visit record carries whatever the visitor did since.
	VisitorVisits  int
	VisitorPartner string
	// VisitorFirstSeen (Unix nanoseconds) and VisitorFirstMedium and
	// VisitorFirstSource (the first touch's entry) are the visitor's
	// retention cohort as of this event.
	VisitorFirstSeen                       int64
	VisitorFirstMedium, VisitorFirstSource string
	// VisitVersion is the visit's version after the event: what State
	// gives until the visit changes again.
	VisitVersion int64
	// Touched: see Visitor.Touched.
	Touched bool
	// Funnels has bit f set when the event, a page view, may have changed
	// the record of funnel f (the page after an abandoned step): see
	// Funnel.
	Funnels uint64
	// Dropped are the final states of visits this event made the tracker
	// stop holding (it holds a visitor's open and previous visit): State
	// cannot return them any more. Rare: only when a visit starts.
	Dropped []Visit
}

// Touch applies e like Apply and returns a Ref to the visit it landed in
// instead of full copies. When the event is not applied the Ref is zero.
func (t *Tracker) Touch(e Event) (ref Ref, applied bool, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, v, touched, reason := t.apply(e)
	if vs == nil || reason != "" {
		return Ref{}, false, reason
	}
	en := v.entry.Value()
	ref = Ref{
		VisitID:     hex.EncodeToString(v.id[:]),
		Medium:      en.medium,
		Source:      en.source,
		Campaign:    en.campaign,
		Partner:     en.partner,
		LandingPage: path(v.landing),
		Touched:     touched,
		// The visitor as of this event (see Ref).
		VisitorVisits:    int(vs.visitCount),
		VisitorFirstSeen: vs.firstSeen,
		VisitVersion:     v.version,
	}
	if vs.firstTouch.set() {
		first := vs.firstTouch.entry.Value()
		ref.VisitorFirstMedium, ref.VisitorFirstSource = first.medium, first.source
	}
	if vs.partner != (unique.Handle[string]{}) {
		ref.VisitorPartner = vs.partner.Value()
	}
	if vs.marks != nil && vs.marks.funnels != nil && eventmodel.IsPageView(e.Name) {
		ref.Funnels = t.funnelPage(vs, v, pageView{at: e.Time.UnixNano(), page: page(e.Path)})
	}
	ref.VisitOutcomes, _ = v.marks.copies()
	ref.VisitorOutcomes, _ = vs.marks.copies()
	if t.ndropped > 0 {
		c := newIDs(vs)
		for _, d := range t.dropped[:t.ndropped] {
			ref.Dropped = append(ref.Dropped, t.out(vs, d, &c))
		}
	}
	return ref, true, ""
}

// Visitor returns the visitor's current state, as Apply would.
func (t *Tracker) Visitor(visitor string) (Visitor, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, ok := t.visitors.Peek(visitor)
	if !ok {
		return Visitor{}, false
	}
	c := newIDs(vs)
	return t.visitorOut(vs, &c), true
}

// State returns the current visit (the visitor's open or previous visit
// with that id) and visitor, as Apply would; ok is false when the visitor
// or the visit is no longer held.
func (t *Tracker) State(visitor, visitID string) (visit Visit, vr Visitor, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, v := t.held(visitor, visitID, false)
	if v == nil {
		return Visit{}, Visitor{}, false
	}
	c := newIDs(vs)
	return t.out(vs, v, &c), t.visitorOut(vs, &c), true
}

// held finds a visitor's open or previous visit by its hex id; v is nil
// when either is not held. touch marks the visitor recently used (a
// change); a read leaves the LRU order alone. t.mu must be held.
func (t *Tracker) held(visitor, visitID string, touch bool) (vs *visitorState, v *visitState) {
	var id [16]byte
	if len(visitID) != 32 {
		return nil, nil
	}
	if _, err := hex.Decode(id[:], []byte(visitID)); err != nil {
		return nil, nil
	}
	var ok bool
	if touch {
		vs, ok = t.visitors.Get(visitor)
	} else {
		vs, ok = t.visitors.Peek(visitor)
	}
	if !ok {
		return nil, nil
	}
	for _, c := range [...]*visitState{vs.cur, vs.prev} {
		if c != nil && c.id == id {
			return vs, c
		}
	}
	return vs, nil
}

// apply updates the state for e. It returns the visitor (nil when e is
// invalid), the visit the event landed in, whether a visit was created or
// re-entered, and the reason when e was not applied (then v is the open
// visit, possibly nil). t.mu must be held.
func (t *Tracker) apply(e Event) (vs *visitorState, v *visitState, touched bool, reason string) {
	t.dropped, t.ndropped = [2]*visitState{}, 0
	if e.Visitor == "" || e.Time.IsZero() {
		return nil, nil, false, ReasonInvalid
	}
	ts := e.Time.UnixNano()

	vs, ok := t.visitors.Get(e.Visitor)
	if !ok {
		vs = &visitorState{key: e.Visitor, site: e.Site, firstSeen: ts, lastSeen: ts}
		if t.visitors.Add(e.Visitor, vs) {
			t.evictions++
		}
	}
	if vs.marks != nil && vs.marks.funnels != nil {
		t.settleFunnels(vs, ts)
	}
	var h uint32
	if e.ID != "" {
		h = seenHash(t.key, e.ID)
		for _, s := range vs.seen {
			if s == h {
				return vs, vs.cur, false, ReasonDuplicate
			}
		}
	}

	pv := eventmodel.IsPageView(e.Name)
	cur := vs.cur
	if e.History && cur != nil && ts < cur.last {
		if p := vs.prev; (p != nil && ts >= p.start-t.window && ts <= p.last+t.idle) || ts >= cur.start-t.window {
			return vs, cur, false, ReasonHistoryInVisit
		}
		return vs, cur, false, ReasonHistoryBehind
	}
	switch {
	case cur == nil:
		v, touched = t.newVisit(vs, e, ts, pv), true
	case ts >= cur.last:
		if t.splits(cur, e, ts, pv) {
			v, touched = t.newVisit(vs, e, ts, pv), true
		} else {
			v = cur
			t.addEvent(v, e, ts, pv)
		}
	case ts >= cur.start:
		v = cur
		t.addEvent(v, e, ts, pv)
	default: // before the open visit's start
		if p := vs.prev; p != nil && ts >= p.start-t.window && ts <= p.last+t.idle && t.sameDay(p, ts) {
			v = p
			t.addEvent(v, e, ts, pv)
		} else if ts >= cur.start-t.window && t.sameDay(cur, ts) {
			v = cur
			t.addEvent(v, e, ts, pv)
			// The late page view is the visit's landing now. Its entry
			// replaces a direct one, and one that rests on the same
			// referrer alone (a single-page app's in-app page view came
			// before the campaign landing it followed): in order, the
			// late page view would have started the visit with its entry.
			if en := v.entry.Value(); pv && !isDirect(e.Medium) &&
				(isDirect(en.medium) || en.referrerOnly && !e.ReferrerOnly && e.Referrer == en.referrer) {
				v.entry = unique.Make(entryOf(&e))
				t.retouch(vs, v)
				touched = true
			}
		} else {
			return vs, cur, false, ReasonLate
		}
	}

	if e.ID != "" {
		if n := len(vs.seen); n < t.cfg.MaxSeenIDs {
			if n == cap(vs.seen) {
				s := make([]uint32, n, min(max(2*n, 8), t.cfg.MaxSeenIDs))
				copy(s, vs.seen)
				vs.seen = s
			}
			vs.seen = append(vs.seen, h)
		} else {
			vs.seen[vs.seenPos] = h
			vs.seenPos = (vs.seenPos + 1) % int32(len(vs.seen))
		}
	}
	vs.version = nextVersion(vs.version, ts)
	if ts < vs.firstSeen {
		vs.firstSeen = ts
	}
	if ts > vs.lastSeen {
		vs.lastSeen = ts
	}
	if p := vs.prev; p != nil && vs.lastSeen > p.last+2*t.idle {
		t.drop(p)
		vs.prev = nil
	}
	return vs, v, touched, ""
}

// drop notes a visit that stops being held (Touch reports its final
// state). t.mu must be held.
func (t *Tracker) drop(v *visitState) {
	if t.ndropped < len(t.dropped) {
		t.dropped[t.ndropped] = v
		t.ndropped++
	}
}

func (t *Tracker) result(vs *visitorState, v *visitState, applied bool, reason string) (Visit, Visitor, bool, string) {
	c := ids{vs: vs} // ids are rendered on demand: no touch history is copied here
	return t.out(vs, v, &c), t.visitorOut(vs, &c), applied, reason
}

// splits reports whether an in-order event (ts >= cur.last) starts a new visit.
func (t *Tracker) splits(cur *visitState, e Event, ts int64, pv bool) bool {
	if ts > cur.last+t.idle {
		return true
	}
	if t.cfg.SplitAtMidnight && !t.sameDay(cur, ts) {
		return true
	}
	if pv && !isDirect(e.Medium) {
		en := cur.entry.Value()
		if resentReferrer(&en, &e) {
			return false
		}
		if en.medium != e.Medium || en.source != e.Source || en.campaign != e.Campaign || en.partner != e.Partner {
			return true
		}
	}
	return false
}

func (t *Tracker) sameDay(v *visitState, ts int64) bool {
	return !t.cfg.SplitAtMidnight || (ts >= v.dayStart && ts < v.dayEnd)
}

func (t *Tracker) newVisit(vs *visitorState, e Event, ts int64, pv bool) *visitState {
	v := &visitState{start: ts, last: ts, created: ts}
	v.id = visitID(vs.site, vs.key, ts)
	if pv && e.Medium != "" {
		v.entry = unique.Make(entryOf(&e))
	} else {
		v.entry = directEntry
	}
	v.dims = noDims
	if t.cfg.SplitAtMidnight {
		y, m, d := time.Unix(0, ts).In(t.cfg.Location).Date()
		v.dayStart = time.Date(y, m, d, 0, 0, 0, 0, t.cfg.Location).UnixNano()
		v.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, t.cfg.Location).UnixNano()
	}
	t.addEvent(v, e, ts, pv)
	if vs.prev != nil {
		t.drop(vs.prev)
	}
	vs.prev, vs.cur = vs.cur, v
	vs.visitCount++
	v.number = vs.visitCount

	tc := touch{time: ts, id: v.id, entry: v.entry}
	switch n := len(vs.touches); {
	case n >= t.cfg.MaxTouches:
		copy(vs.touches, vs.touches[1:])
		vs.touches[n-1] = tc
	case n == cap(vs.touches):
		// Grow by doubling but never beyond MaxTouches.
		ts := make([]touch, n+1, min(max(2*n, 1), t.cfg.MaxTouches))
		copy(ts, vs.touches)
		ts[n] = tc
		vs.touches = ts
	default:
		vs.touches = append(vs.touches, tc)
	}
	if !vs.firstTouch.set() {
		vs.firstTouch = tc
	}
	t.noteTouch(vs, tc)
	return v
}

// noteTouch updates LastNonDirectTouch and Partner for the touch of the
// newest visit.
func (t *Tracker) noteTouch(vs *visitorState, tc touch) {
	en := tc.entry.Value()
	if isDirect(en.medium) {
		return
	}
	vs.lastNonDir = tc
	if en.partner != "" {
		vs.partner = unique.Make(en.partner)
	}
}

// retouch updates the touches of the newest visit v after its entry changed.
func (t *Tracker) retouch(vs *visitorState, v *visitState) {
	for i := range vs.touches {
		if vs.touches[i].id == v.id {
			vs.touches[i].entry = v.entry
			t.noteTouch(vs, vs.touches[i])
		}
	}
	if vs.firstTouch.id == v.id {
		vs.firstTouch.entry = v.entry
	}
}

func (t *Tracker) addEvent(v *visitState, e Event, ts int64, pv bool) {
	v.version = nextVersion(v.version, ts)
	if ts < v.start {
		v.start = ts
	}
	if ts > v.last {
		v.last = ts
	}
	if pv {
		p := page(e.Path)
		t.addPage(v, pageView{at: ts, page: p})
		switch {
		case v.pages == 0:
			v.landing, v.landingAt = p, ts
		case ts < v.landingAt: // a late event before the landing page
			v.second, v.secondAt = v.landing, v.landingAt
			v.landing, v.landingAt = p, ts
		case v.pages == 1 || ts < v.secondAt:
			v.second, v.secondAt = p, ts
		}
		if v.pages == 0 || ts >= v.exitAt {
			v.exit, v.exitAt = p, ts
		}
		v.pages++
	}
	if e.Name == eventmodel.EventEngagement && e.EngagedMs > 0 {
		v.engagedMs += e.EngagedMs
	}
	if e.DeviceClass != "" || e.Country != "" {
		d := v.dims.Value()
		if (d.device == "" && e.DeviceClass != "") || (d.country == "" && e.Country != "") {
			if d.device == "" {
				d.device = e.DeviceClass
			}
			if d.country == "" {
				d.country = e.Country
			}
			v.dims = unique.Make(d)
		}
	}
}

func visitID(site, visitor string, start int64) [16]byte {
	buf := make([]byte, 0, 128)
	buf = append(buf, site...)
	buf = append(buf, 0)
	buf = append(buf, visitor...)
	buf = append(buf, 0)
	buf = binary.BigEndian.AppendUint64(buf, uint64(start))
	sum := sha256.Sum256(buf)
	var id [16]byte
	copy(id[:], sum[:16])
	return id
}

func tm(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func (t *Tracker) out(vs *visitorState, v *visitState, c *ids) Visit {
	if v == nil {
		return Visit{}
	}
	en := v.entry.Value()
	d := v.dims.Value()
	out := Visit{
		ID:           c.get(&v.id),
		Visitor:      vs.key,
		Site:         vs.site,
		Version:      v.version,
		Number:       int(v.number),
		Start:        tm(v.start),
		LastActivity: tm(v.last),
		IdleAt:       tm(v.last + t.idle),
		Duration:     time.Duration(v.last - v.start),
		PagesViewed:  int(v.pages),
		EngagedMs:    v.engagedMs,
		LandingPage:  path(v.landing),
		SecondPage:   path(v.second),
		ExitPage:     path(v.exit),
		Medium:       en.medium,
		Source:       en.source,
		Campaign:     en.campaign,
		Partner:      en.partner,
		DeviceClass:  d.device,
		Country:      d.country,
		Bounce:       v.pages == 1 && v.engagedMs < BounceEngagedMs,
	}
	out.Outcomes, out.Segments = v.marks.copies()
	out.Path, out.PathTruncated = t.pathOf(v)
	return out
}

func touchOut(tc *touch, id string) Touch {
	en := tc.entry.Value()
	return Touch{Time: tm(tc.time), Medium: en.medium, Source: en.source, Campaign: en.campaign, Partner: en.partner, PartnerWindow: en.window, VisitID: id}
}

// ids renders visit ids as hex, sharing one string for all touches of a
// visitor (one allocation per Apply).
type ids struct {
	vs *visitorState
	s  string // hex ids of vs.touches, 32 characters each
}

func newIDs(vs *visitorState) ids {
	if len(vs.touches) == 0 {
		return ids{vs: vs}
	}
	var sb strings.Builder
	sb.Grow(len(vs.touches) * 32)
	var buf [32]byte
	for i := range vs.touches {
		hex.Encode(buf[:], vs.touches[i].id[:])
		sb.Write(buf[:])
	}
	return ids{vs: vs, s: sb.String()}
}

func (c *ids) get(id *[16]byte) string {
	if c.s != "" {
		for i := len(c.vs.touches) - 1; i >= 0; i-- {
			if c.vs.touches[i].id == *id {
				return c.s[i*32 : i*32+32]
			}
		}
	}
	return hex.EncodeToString(id[:])
}

func (t *Tracker) visitorOut(vs *visitorState, c *ids) Visitor {
	out := Visitor{
		Visitor:    vs.key,
		Site:       vs.site,
		Version:    vs.version,
		FirstSeen:  tm(vs.firstSeen),
		LastSeen:   tm(vs.lastSeen),
		VisitCount: int(vs.visitCount),
	}
	if vs.partner != (unique.Handle[string]{}) {
		out.Partner = vs.partner.Value()
	}
	if vs.firstTouch.set() {
		out.FirstTouch = touchOut(&vs.firstTouch, c.get(&vs.firstTouch.id))
	}
	if vs.lastNonDir.set() {
		out.LastNonDirectTouch = touchOut(&vs.lastNonDir, c.get(&vs.lastNonDir.id))
	}
	out.Outcomes, out.Segments = vs.marks.copies()
	return out
}

// Touches returns a copy of the visitor's touch history (the newest
// MaxTouches visit entries, oldest first), or nil when the visitor is not
// held.
func (t *Tracker) Touches(visitor string) []Touch {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, ok := t.visitors.Peek(visitor)
	if !ok || len(vs.touches) == 0 {
		return nil
	}
	c := newIDs(vs)
	out := make([]Touch, len(vs.touches))
	for i := range vs.touches {
		out[i] = touchOut(&vs.touches[i], c.s[i*32:i*32+32])
	}
	return out
}

// MarkOutcome records an outcome (e.g. a conversion name) on a held visit
// of the visitor, identified by its ID, and on the visitor. Outcomes are a
// set, on the visit and on the visitor: marking an outcome the visit (or
// visitor) already has does not change it and does not increase its
// Version. It returns the visit and visitor after the change (copies the
// caller may keep), or false when the visitor is not held or the visit is
// neither its open nor its previous visit.
func (t *Tracker) MarkOutcome(visitor, visitID, outcome string) (Visit, Visitor, bool) {
	return t.mark(visitor, visitID, markOutcome, outcome)
}

// MarkSegment records a segment (e.g. an audience name) on a held visit of
// the visitor and on the visitor, with the same set semantics, versions
// and results as MarkOutcome.
func (t *Tracker) MarkSegment(visitor, visitID, segment string) (Visit, Visitor, bool) {
	return t.mark(visitor, visitID, markSegment, segment)
}

func (t *Tracker) mark(visitor, visitID string, kind markKind, s string) (Visit, Visitor, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vs, v := t.held(visitor, visitID, true)
	if v == nil {
		return Visit{}, Visitor{}, false
	}
	if addMark(&v.marks, kind, s) {
		v.version++
	}
	if addMark(&vs.marks, kind, s) {
		vs.version++
	}
	c := newIDs(vs)
	return t.out(vs, v, &c), t.visitorOut(vs, &c), true
}

// nextVersion is the version after a change triggered by an event at ts
// (Unix nanoseconds): at least one more than before and at least ts, so
// that a tracker restarted without state still writes higher versions.
func nextVersion(version, ts int64) int64 {
	return max(version+1, ts)
}

// newKey returns a random dedupe hash key.
func newKey() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crashes the program instead)
	return binary.LittleEndian.Uint64(b[:])
}

// Constants of seenHash: the 64-bit golden ratio and MurmurHash3's fmix64
// multiplier.
const (
	hashMul  = 0x9e3779b97f4a7c15
	hashFmix = 0xff51afd7ed558ccd
)

// seenHash is the keyed 32-bit hash of an event id kept in the seen ring.
// It is deterministic (it is persisted in snapshots) and processes eight
// bytes at a time (FNV-1a, one byte at a time, costs 18 ns more per id):
//
//	h = key XOR (len(id) * M)
//	for each full 8-byte word w of id (little-endian): h = (h XOR w) * M; h ^= h >> 32
//	w = the remaining 0-7 bytes, little-endian, zero-padded
//	h = (h XOR w) * M; h ^= h >> 33; h *= F; h ^= h >> 33
//	result = high 32 bits of h
//
// with M = 0x9e3779b97f4a7c15 and F = 0xff51afd7ed558ccd, all arithmetic
// modulo 2^64.
func seenHash(key uint64, id string) uint32 {
	h := key ^ uint64(len(id))*hashMul
	for len(id) >= 8 {
		w := uint64(id[0]) | uint64(id[1])<<8 | uint64(id[2])<<16 | uint64(id[3])<<24 |
			uint64(id[4])<<32 | uint64(id[5])<<40 | uint64(id[6])<<48 | uint64(id[7])<<56
		h = (h ^ w) * hashMul
		h ^= h >> 32
		id = id[8:]
	}
	var w uint64
	for i := 0; i < len(id); i++ {
		w |= uint64(id[i]) << (8 * i)
	}
	h = (h ^ w) * hashMul
	h ^= h >> 33
	h *= hashFmix
	h ^= h >> 33
	return uint32(h >> 32)
}
