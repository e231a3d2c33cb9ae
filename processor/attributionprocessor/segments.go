package attributionprocessor

import (
	"context"
	"slices"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// segments evaluates the segment rules the visit does not have yet on its
// record; when any matched it returns true and the visitor after the marks
// (vs.visit is updated).
func (p *attributionProcessor) segments(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, vs *visitSnap) (changed bool, visitor journey.Visitor) {
	if len(p.rules.segments) == 0 {
		return false, visitor
	}
	tc := ottllog.NewTransformContext(rl, sl, lr)
	defer tc.Close()
	for i := range p.rules.segments {
		sr := &p.rules.segments[i]
		if slices.Contains(vs.visit.Segments, sr.name) {
			continue
		}
		matched, err := matches(ctx, sr.conditions, tc)
		p.ruleFailed(ctx, sr.label, err)
		if !matched {
			continue
		}
		if v, vr, ok := vs.st.tracker.MarkSegment(vs.subj.key, vs.visit.ID, sr.name); ok {
			vs.visit, visitor = v, vr
			changed = true
		}
	}
	return changed, visitor
}
