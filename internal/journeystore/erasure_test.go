package journeystore

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestErasureReportFamilies(t *testing.T) {
	o := &Store{layout: Layout{Prefix: "wj", DeadLetterIndex: "wj-dead"}}
	rep := o.erasureReport(map[string]int64{
		"wj-events-2026.11": 2, "wj-events-2024.01": 1, "wj-visits": 1, "wj-credits": 4, "wj-dead": 1, "wj-events-x": 5,
	})
	assert.Equal(t, []FamilyCount{
		{FamilyEvents, "wj-events-*", 3}, {FamilyVisits, "wj-visits", 1}, {FamilyVisitors, "wj-visitors", 0},
		{FamilyCredits, "wj-credits", 4}, {FamilyFunnels, "wj-funnels", 0}, {FamilyDeadLetter, "wj-dead", 1}, {FamilyOther, "wj-*", 5},
	}, rep.Families)
	assert.EqualValues(t, 14, rep.Total)
	// No dead-letter index, nothing else: neither row.
	rep = (&Store{layout: Layout{Prefix: "wj"}}).erasureReport(nil)
	assert.Len(t, rep.Families, 5)
}
