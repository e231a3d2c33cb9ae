package attributionprocessor

import (
	"context"
	"slices"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// outcome is one achieved outcome, the input of its credit records.
type outcome struct {
	name, currency   string
	value            float64
	eventID, visitID string
	time             time.Time
	disclosure       *disclosure // shared by the outcomes of one event
	// pagesBefore is the way to the outcome (journey.JoinPath of the
	// visit's pages before it).
	pagesBefore string
}

// outcomes evaluates the outcome rules on the event; for each outcome
// achieved it marks the visit and visitor, names it on the event and
// credits the visitor's touches under every model.
func (p *attributionProcessor) outcomes(ctx context.Context, tc *ottllog.TransformContext, st *siteState, s subject, ev journey.Event, ref *journey.Ref, b *batch) {
	var names, before []string
	var disc *disclosure // read once, when the event achieves an outcome
	for i := range p.rules.outcomes {
		o := &p.rules.outcomes[i]
		matched, err := matches(ctx, o.conditions, tc)
		p.ruleFailed(ctx, o.label, err)
		if !matched {
			continue
		}
		switch o.count {
		case CountOncePerVisit:
			if slices.Contains(ref.VisitOutcomes, o.name) {
				continue
			}
		case CountOncePerVisitor:
			if slices.Contains(ref.VisitorOutcomes, o.name) {
				continue
			}
		}
		if v, vr, ok := st.tracker.MarkOutcome(ev.Visitor, ref.VisitID, o.name); ok {
			ref.VisitOutcomes, ref.VisitorOutcomes, ref.VisitVersion = v.Outcomes, vr.Outcomes, v.Version
			ref.Touched = true // the visitor record is re-emitted
		}
		names = append(names, o.name)
		p.telemetry.ProcessorAttributionOutcomes.Add(ctx, 1)
		value, err := o.valueOf(ctx, tc)
		p.ruleFailed(ctx, o.label, err)
		if disc == nil {
			d := disclosureOf(tc.GetLogRecord().Attributes())
			disc = &d
		}
		if before == nil {
			self := ""
			if eventmodel.IsPageView(ev.Name) {
				self = ev.Path
			}
			before = st.tracker.PagesBefore(ev.Visitor, ref.VisitID, ev.Time.UnixNano(), self)
		}
		oc := outcome{
			name:        o.name,
			currency:    o.currency,
			value:       value,
			eventID:     ev.ID,
			visitID:     ref.VisitID,
			time:        ev.Time,
			disclosure:  disc,
			pagesBefore: journey.JoinPath(before),
		}
		p.credit(st, s, &oc, b)
	}
	if len(names) > 0 {
		putStrings(tc.GetLogRecord().Attributes(), eventmodel.AttrOutcomeName, names)
	}
}
