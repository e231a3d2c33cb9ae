package attributionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// Names of the transitions that are no page (docs/event-model.md,
// webjourney.visit.transitions): parenthesised, which no URL path is.
const (
	transitionExit = "(exit)"
)

// putPath writes the visit's page sequence in the forms Elasticsearch can
// aggregate in order (see eventmodel.AttrVisitPath): the whole path as one
// keyword, its first steps one keyword each, and its transitions.
func putPath(m pcommon.Map, v *journey.Visit) {
	if len(v.Path) == 0 {
		return
	}
	m.PutStr(eventmodel.AttrVisitPath, journey.JoinPath(v.Path))
	m.PutInt(eventmodel.AttrVisitPathLength, int64(len(v.Path)))
	m.PutBool(eventmodel.AttrVisitPathTruncated, v.PathTruncated)
	for i, p := range v.Path[:min(len(v.Path), len(eventmodel.AttrVisitSteps))] {
		m.PutStr(eventmodel.AttrVisitSteps[i], p)
	}
	ts := m.PutEmptySlice(eventmodel.AttrVisitTransitions)
	ts.EnsureCapacity(len(v.Path) + 1)
	medium := v.Medium
	if medium == "" {
		medium = eventmodel.MediumDirect
	}
	ts.AppendEmpty().SetStr("(" + medium + ")" + journey.PathSeparator + v.Path[0])
	for i := 1; i < len(v.Path); i++ {
		ts.AppendEmpty().SetStr(v.Path[i-1] + journey.PathSeparator + v.Path[i])
	}
	if !v.PathTruncated {
		ts.AppendEmpty().SetStr(v.Path[len(v.Path)-1] + journey.PathSeparator + transitionExit)
	}
}
