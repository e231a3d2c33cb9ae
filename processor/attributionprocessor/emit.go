package attributionprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// emit appends the batch's entity records to ld, in their own resource.
// Segment rules run here, on each visit record as built: a match marks
// the visit and visitor and the records are built again at the new version.
// dropped, when not nil, finds the final state of a visit the tracker let
// go of after b was taken for a flush.
func (p *attributionProcessor) emit(ctx context.Context, ld plog.Logs, b *batch, dropped func(id string) (journey.Visit, bool)) {
	if len(b.visits) == 0 && len(b.credits) == 0 {
		return
	}
	now := p.now()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	rl := ld.ResourceLogs().At(ld.ResourceLogs().Len() - 1)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(2*len(b.visits) + len(b.credits)) // a visitor per visit at most (and the rare funnel records)

	visits, funnels := 0, 0
	for i := range b.visits {
		vs := &b.visits[i]
		funnels += p.emitFunnels(lrs, vs, now)
		var vr journey.Visitor
		ok := false
		if !vs.final {
			vs.visit, vr, ok = vs.st.tracker.State(vs.subj.key, vs.id)
			if !ok && dropped != nil {
				vs.visit, vs.final = dropped(vs.id)
			}
		}
		if vs.final {
			vr, ok = vs.st.tracker.Visitor(vs.subj.key)
		}
		if !ok {
			continue // evicted or forgotten since: nothing to write
		}
		if !vs.final && vs.visit.Version != vs.rider.version {
			// Changed since this batch was taken: the batch holding
			// the change writes the record (see rider). The visitor
			// record is this batch's to write if it changed here.
			if !vs.st.isHistory {
				b.setVisitor(vs.subj, vr, vs.touched)
			}
			continue
		}
		lr := lrs.AppendEmpty()
		putVisit(lr, vs.subj, &vs.visit, &vs.rider, now)
		changed, vr2 := p.segments(ctx, rl, sl, lr, vs)
		if changed {
			vr = vr2
			lr.Attributes().Clear()
			putVisit(lr, vs.subj, &vs.visit, &vs.rider, now)
		}
		// The history tracker's visitor is not the visitor: the record
		// stays the main tracker's (siteState.history).
		if !vs.st.isHistory {
			b.setVisitor(vs.subj, vr, changed || vs.touched)
		}
		visits++
	}
	visitors := 0
	for i := range b.visitors {
		if b.visitors[i].emit {
			putVisitor(lrs.AppendEmpty(), b.visitors[i].subj, &b.visitors[i].visitor, now)
			visitors++
		}
	}
	for i := range b.credits {
		putCredit(lrs.AppendEmpty(), b.credits[i].subj, &b.credits[i].outcome, &b.credits[i].credit, now)
	}
	for i, n := range []int{visits, visitors, len(b.credits), funnels} {
		if n > 0 {
			p.telemetry.ProcessorAttributionRecords.Add(ctx, int64(n), p.kindOpts[i]...)
		}
	}
}

// emitFunnels appends the records of the funnels that may have changed
// with the visit's events; the tracker reports each change once, so a
// visitor's other visits in the batch add no copy. It returns how many.
func (p *attributionProcessor) emitFunnels(lrs plog.LogRecordSlice, vs *visitSnap, now time.Time) int {
	n := 0
	for f := 0; vs.funnels>>f != 0; f++ {
		if vs.funnels&(1<<f) == 0 {
			continue
		}
		r, ok := vs.st.tracker.Funnel(vs.subj.key, f)
		if !ok {
			continue
		}
		putFunnel(lrs.AppendEmpty(), vs.subj, &p.rules.funnels[f], &r, now)
		n++
	}
	return n
}
