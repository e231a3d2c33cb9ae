package journeystore

import (
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Events stamped with webjourney.retention.max_months (the consent
// processor's CNIL-exemption preset stamps them) go to monthly indices of
// their own, "<prefix>-events-max<M>m-YYYY.MM", that retention deletes M
// months after the month ended, whatever retention::events_months says
// (and with events_months shorter, at that). The promise rides with the
// index name, not with a configuration that the exporter cannot see (the
// consent processor's) or that may later change: an event is never kept
// longer than its stamp. The events template ("<prefix>-events-*") maps
// them, and every search over the events family (erasure, export, the
// Kibana data views) finds them.

// Stamps the months are rounded down to, so that stamps from an OTLP
// client cannot make an index per value: every month up to 25 (the CNIL's
// ceiling, what the consent processor can stamp), then whole years up to
// ten.
const (
	maxExactStampMonths = 25
	maxStampMonths      = 120
)

// StampedMonths is the retention in months of an event stamped with v, as
// its index is named: a stamp that is not a positive whole number keeps
// the event one month (the strictest reading of a broken promise), a
// stamp over 25 months is rounded down to whole years, at most ten.
func StampedMonths(v pcommon.Value) int {
	var m int64
	switch v.Type() {
	case pcommon.ValueTypeInt:
		m = v.Int()
	case pcommon.ValueTypeDouble:
		if f := v.Double(); f >= 1 && f <= math.MaxInt32 && f == math.Trunc(f) {
			m = int64(f)
		}
	case pcommon.ValueTypeStr:
		m, _ = strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 32)
	}
	switch {
	case m < 1:
		return 1
	case m <= maxExactStampMonths:
		return int(m)
	case m >= maxStampMonths:
		return maxStampMonths
	}
	return max(maxExactStampMonths, int(m-m%12))
}

// StampedEventsIndex returns "<prefix>-events-max<M>m-YYYY.MM", the index
// of events stamped to be kept at most months months, of the UTC month of t.
func (l Layout) StampedEventsIndex(t time.Time, months int) string {
	return string(appendStampedEventsIndex(nil, l.Prefix, t, months))
}

func appendStampedEventsIndex(b []byte, prefix string, t time.Time, months int) []byte {
	b = append(b, prefix...)
	b = append(b, "-"+familyEventsName+"-max"...)
	b = strconv.AppendInt(b, int64(months), 10)
	b = append(b, "m-"...)
	return t.UTC().AppendFormat(b, monthFormat)
}

// stampedEventsIndex returns the month and the stamped months of an index
// of stamped events of the layout, and whether index is one.
func (l Layout) stampedEventsIndex(index string) (month time.Time, months int, ok bool) {
	rest, ok := strings.CutPrefix(index, l.eventsFamily()+"max")
	if !ok {
		return time.Time{}, 0, false
	}
	num, monthText, ok := strings.Cut(rest, "m-")
	if !ok {
		return time.Time{}, 0, false
	}
	months, err := strconv.Atoi(num)
	if err != nil || months < 1 || strconv.Itoa(months) != num {
		return time.Time{}, 0, false
	}
	t, err := time.Parse(monthFormat, monthText)
	if err != nil {
		return time.Time{}, 0, false
	}
	return t, months, true
}
