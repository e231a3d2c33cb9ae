// Package eventrecord reads and writes the event model (internal/eventmodel)
// on OpenTelemetry log records, the same way in every component: where an
// event's time is, how an optional string attribute is read and written.
package eventrecord // import "github.com/webjourney/webjourney/internal/eventrecord"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Time is when the record's event happened: its Timestamp, else its
// ObservedTimestamp (records from other senders may carry only that);
// zero when neither is set.
func Time(lr plog.LogRecord) time.Time {
	if ts := lr.Timestamp(); ts != 0 {
		return ts.AsTime()
	}
	if ts := lr.ObservedTimestamp(); ts != 0 {
		return ts.AsTime()
	}
	return time.Time{}
}

// Str is the string attribute k of m; "" when m has no k or k is not a
// string (a sender outside the pipeline may write another type).
func Str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// PutNonEmpty sets the string attribute k to v unless v is empty: the
// event model leaves an unknown value out rather than writing "".
func PutNonEmpty(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}
