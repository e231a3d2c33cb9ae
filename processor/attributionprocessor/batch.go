package attributionprocessor

import "github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"

// batch collects, for one ConsumeLogs call, the newest snapshot of every
// visit and visitor touched and every credit made, so that a batch of
// events emits each entity once, at its latest version.
type batch struct {
	// dropped holds, in the emitter's pending set, the final state of
	// visits the tracker let go of while they were not pending: one may be
	// in a flush under way, which can no longer read it from the tracker.
	dropped  map[string]journey.Visit
	visits   []visitSnap
	visitIdx map[string]int
	visitors []visitorSnap
	vrIdx    map[[2]string]int // site, visitor key
	credits  []creditSnap
}

// visitSnap names a visit changed in the batch; its state is read from
// the tracker (journey.Tracker.State) when its record is built, so the
// request path never renders a whole Visit.
type visitSnap struct {
	st    *siteState
	subj  subject
	id    string
	visit journey.Visit // filled by emit, or by handle when final
	final bool          // the tracker dropped the visit; visit is its last state
	// touched: the visitor changed in substance (journey.Ref.Touched, an
	// outcome) with an event of this visit, so emit writes its record too.
	// Kept here rather than in visitors so the request path does one
	// lookup per event, not two.
	touched bool
	// rider is the visitor as of the visit's latest event in the batch.
	rider rider
	// funnels has bit f set when funnel f's record of the visitor may
	// have changed with an event of this visit (a visit carries them so
	// that the request path adds nothing per event for funnels).
	funnels uint64
}

// rider holds the visitor fields a visit record carries (for segment rules
// and dashboards): the visitor as of the visit's latest event, not as of
// when the record happens to be built. A visitor whose later visits arrive
// in the same emit interval (an import sends a visitor's history at once)
// thus gets the same visit records as one whose visits came weeks apart.
//
// version is the visit's version the rider goes with: emit writes the
// visit record only when the visit it reads from the tracker is at that
// version. A visit read at a newer version changed after this batch was
// taken (an event of the next batch, while this one is being flushed):
// the next batch writes it, with the rider that goes with it, and a record
// of that version with this batch's older rider would otherwise be the
// one stored (an external version is written once).
type rider struct {
	visits   int
	partner  string
	outcomes []string // shared with the tracker's copies: read only
	version  int64
	// The retention cohort: first seen (Unix ns) and the first touch.
	firstSeen                int64
	firstMedium, firstSource string
}

// visitorSnap is a visitor's newest state, collected by emit from its
// visits' records.
type visitorSnap struct {
	subj    subject
	emit    bool // changed in substance in this batch; else only read by visit records
	visitor journey.Visitor
}

type creditSnap struct {
	subj    subject
	outcome outcome
	credit  credit
}

// reset empties the batch and keeps its memory.
func (b *batch) reset() {
	clear(b.visits)
	clear(b.visitors)
	clear(b.credits)
	b.visits, b.visitors, b.credits = b.visits[:0], b.visitors[:0], b.credits[:0]
	clear(b.visitIdx)
	clear(b.vrIdx)
	clear(b.dropped)
}

// smallBatch is the size up to which the batch finds entities by a linear
// scan: a beacon carries a few events of one visitor, and making maps for
// it cost more than the journey update itself.
const smallBatch = 16

func (b *batch) findVisit(id string) (int, bool) {
	if b.visitIdx != nil {
		i, ok := b.visitIdx[id]
		return i, ok
	}
	for i := range b.visits {
		if b.visits[i].id == id {
			return i, true
		}
	}
	return 0, false
}

func (b *batch) visit(st *siteState, s subject, id string, touched bool, r rider, funnels uint64) {
	if i, ok := b.findVisit(id); ok {
		b.visits[i].touched = b.visits[i].touched || touched
		b.visits[i].rider = r
		b.visits[i].funnels |= funnels
		return
	}
	b.visits = append(b.visits, visitSnap{st: st, subj: s, id: id, touched: touched, rider: r, funnels: funnels})
	switch n := len(b.visits); {
	case n > smallBatch && b.visitIdx == nil:
		b.visitIdx = make(map[string]int, 2*n)
		for i := range b.visits {
			b.visitIdx[b.visits[i].id] = i
		}
	case b.visitIdx != nil:
		b.visitIdx[id] = n - 1
	}
}

// dropVisits keeps the final state of visits the tracker let go of while
// handling an event. A visit of this batch takes it at once; in the
// emitter's pending set (keep) it is noted for a flush under way.
func (b *batch) dropVisits(dropped []journey.Visit, keep bool) {
	for _, d := range dropped {
		if i, ok := b.findVisit(d.ID); ok {
			b.visits[i].visit, b.visits[i].final = d, true
		} else if keep {
			if b.dropped == nil {
				b.dropped = map[string]journey.Visit{}
			}
			b.dropped[d.ID] = d
		}
	}
}

func (b *batch) findVisitor(s subject) (int, bool) {
	if b.vrIdx != nil {
		i, ok := b.vrIdx[[2]string{s.site, s.key}]
		return i, ok
	}
	for i := range b.visitors {
		if b.visitors[i].subj.key == s.key && b.visitors[i].subj.site == s.site {
			return i, true
		}
	}
	return 0, false
}

// setVisitor records the visitor's newest state, read while building its
// visits' records; emit: see visitorSnap.
func (b *batch) setVisitor(s subject, v journey.Visitor, emit bool) {
	if i, ok := b.findVisitor(s); ok {
		vs := &b.visitors[i]
		vs.emit = vs.emit || emit
		if v.Version >= vs.visitor.Version {
			vs.visitor = v
		}
		return
	}
	b.visitors = append(b.visitors, visitorSnap{subj: s, emit: emit, visitor: v})
	switch n := len(b.visitors); {
	case n > smallBatch && b.vrIdx == nil:
		b.vrIdx = make(map[[2]string]int, 2*n)
		for i := range b.visitors {
			b.vrIdx[[2]string{b.visitors[i].subj.site, b.visitors[i].subj.key}] = i
		}
	case b.vrIdx != nil:
		b.vrIdx[[2]string{s.site, s.key}] = n - 1
	}
}
