package eventrecord

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestTime(t *testing.T) {
	event := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	observed := event.Add(time.Second)

	lr := plog.NewLogRecord()
	assert.True(t, Time(lr).IsZero(), "neither set")
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	assert.True(t, Time(lr).Equal(observed), "only the observed time")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(event))
	assert.True(t, Time(lr).Equal(event), "the event time first")
}

func TestStr(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("s", "shop")
	m.PutInt("n", 1)
	assert.Equal(t, "shop", Str(m, "s"))
	assert.Empty(t, Str(m, "n"), "not a string")
	assert.Empty(t, Str(m, "missing"))
}

func TestPutNonEmpty(t *testing.T) {
	m := pcommon.NewMap()
	PutNonEmpty(m, "empty", "")
	PutNonEmpty(m, "s", "shop")
	_, ok := m.Get("empty")
	assert.False(t, ok)
	assert.Equal(t, map[string]any{"s": "shop"}, m.AsRaw())
}
