package attributionprocessor

import (
	"strings"

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
	// The transitions are cut from one string: one allocation for all.
	medium := v.Medium
	if medium == "" {
		medium = eventmodel.MediumDirect
	}
	entrance := "(" + medium + ")"
	n := len(v.Path) + 1
	size := len(entrance) + len(v.Path[0])
	for i := 1; i < len(v.Path); i++ {
		size += len(v.Path[i-1]) + len(v.Path[i])
	}
	if v.PathTruncated {
		n--
	} else {
		size += len(v.Path[len(v.Path)-1]) + len(transitionExit)
	}
	var sb strings.Builder
	sb.Grow(size + n*len(journey.PathSeparator))
	ends := make([]int, 0, n)
	move := func(from, to string) {
		sb.WriteString(from)
		sb.WriteString(journey.PathSeparator)
		sb.WriteString(to)
		ends = append(ends, sb.Len())
	}
	move(entrance, v.Path[0])
	for i := 1; i < len(v.Path); i++ {
		move(v.Path[i-1], v.Path[i])
	}
	if !v.PathTruncated {
		move(v.Path[len(v.Path)-1], transitionExit)
	}
	all := sb.String()
	ts := m.PutEmptySlice(eventmodel.AttrVisitTransitions)
	ts.EnsureCapacity(len(ends))
	start := 0
	for _, end := range ends {
		ts.AppendEmpty().SetStr(all[start:end])
		start = end
	}
}
