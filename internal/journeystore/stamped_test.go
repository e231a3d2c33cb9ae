package journeystore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

func TestStampedMonths(t *testing.T) {
	for _, tc := range []struct {
		v    pcommon.Value
		want int
	}{
		{pcommon.NewValueInt(25), 25},
		{pcommon.NewValueInt(13), 13},
		{pcommon.NewValueInt(1), 1},
		{pcommon.NewValueInt(26), 25}, // whole years above 25, never below 25
		{pcommon.NewValueInt(37), 36},
		{pcommon.NewValueInt(119), 108},
		{pcommon.NewValueInt(1200), 120},
		{pcommon.NewValueInt(0), 1}, // a broken promise: the strictest reading
		{pcommon.NewValueInt(-5), 1},
		{pcommon.NewValueDouble(13), 13}, // an OTLP client's number
		{pcommon.NewValueDouble(13.5), 1},
		{pcommon.NewValueStr(" 25 "), 25},
		{pcommon.NewValueStr("forever"), 1},
		{pcommon.NewValueBool(true), 1},
	} {
		assert.Equal(t, tc.want, StampedMonths(tc.v), tc.v.AsString())
	}
}

func TestStampedEventsIndex(t *testing.T) {
	l := Layout{Prefix: "wj"}
	nov := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, "wj-events-max25m-2026.11", l.StampedEventsIndex(nov, 25))
	month, months, ok := l.stampedEventsIndex("wj-events-max25m-2026.11")
	assert.True(t, ok)
	assert.Equal(t, 25, months)
	assert.Equal(t, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), month)
	for _, bad := range []string{"wj-events-2026.11", "wj-events-max25-2026.11", "wj-events-max025m-2026.11", "wj-events-max0m-2026.11",
		"wj-events-maxm-2026.11", "wj-events-max25m-2026.13", "other-events-max25m-2026.11", "wj-events-max-1m-2026.11"} {
		_, _, ok := l.stampedEventsIndex(bad)
		assert.False(t, ok, bad)
	}
	// Both kinds are events, for erasure reports and retention alike.
	assert.Equal(t, FamilyEvents, l.familyOfIndex("wj-events-max25m-2026.11"))
	assert.Equal(t, "wj-events-max25m-*", l.stampedEventsPattern(25))

	// A stamped index expires M months after its month ended, a regular
	// one by the retention given.
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	assert.True(t, l.expiredIndex("wj-events-max25m-2024.09", 25, now))
	assert.False(t, l.expiredIndex("wj-events-max25m-2024.10", 25, now))
	assert.True(t, l.expiredIndex("wj-events-max13m-2025.09", 13, now))
	assert.True(t, l.expiredIndex("wj-events-2024.09", 25, now))
	assert.False(t, l.expiredIndex("wj-visits", 1, now))
}

// A stamped event goes to the index of its stamp; an unstamped one (and an
// entity) does not.
func TestEncoderRoutesStampedEvents(t *testing.T) {
	enc := NewEncoder("wj", time.Now(), nil)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		stamp any
		index string
	}{
		{nil, "wj-events-2026.11"},
		{int64(25), "wj-events-max25m-2026.11"},
		{int64(13), "wj-events-max13m-2026.11"},
		{"garbage", "wj-events-max1m-2026.11"},
	} {
		lr := plog.NewLogRecord()
		storetest.PageView(lr, "e-1")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
		if tc.stamp != nil {
			_ = lr.Attributes().PutEmpty(eventmodel.AttrRetentionMonths).FromRaw(tc.stamp)
		}
		_, doc := enc.Append(nil, lr)
		assert.Equal(t, tc.index, doc.Index)
	}
	lr := plog.NewLogRecord()
	storetest.Visit("v1", 1, "shop", "k1:a")(lr)
	lr.Attributes().PutInt(eventmodel.AttrRetentionMonths, 13)
	_, doc := enc.Append(nil, lr)
	assert.Equal(t, "wj-visits", doc.Index)
}

// Index names come back from the server (retention lists them): a name
// read as a stamped-events index is exactly the one its month and months
// make, so that retention never deletes an index it did not name.
func FuzzStampedEventsIndex(f *testing.F) {
	for _, s := range []string{"wj-events-max25m-2026.11", "wj-events-2026.11", "wj-events-max025m-2026.11", "wj-events-max1m-0001.01", "wj-events-max99999999999m-2026.11"} {
		f.Add(s)
	}
	l := Layout{Prefix: "wj"}
	f.Fuzz(func(t *testing.T, index string) {
		month, months, ok := l.stampedEventsIndex(index)
		if !ok {
			return
		}
		assert.Positive(t, months)
		assert.Equal(t, index, l.StampedEventsIndex(month, months))
		assert.Equal(t, FamilyEvents, l.familyOfIndex(index))
	})
}

// A stamp from an OTLP client can be any string: it always names one of a
// few indices, never more months than the ceiling.
func FuzzStampedMonths(f *testing.F) {
	for _, s := range []string{"25", " 13 ", "0", "-1", "1200", "forever", "2147483648"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stamp string) {
		m := StampedMonths(pcommon.NewValueStr(stamp))
		assert.True(t, m >= 1 && m <= maxStampMonths, "%q: %d", stamp, m)
		assert.True(t, m <= maxExactStampMonths || m%12 == 0, "%q: %d", stamp, m)
	})
}
