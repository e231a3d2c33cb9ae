// Package eventtime decides an event's time from the readings of the
// client's clock and the time the collector received the event, and says
// how it decided: a time that is not the client's own, as sent, carries its
// source and the reason (webjourney.time.source, webjourney.time.correction),
// so that no event time is ever replaced or shifted silently.
package eventtime // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"

import (
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Rule is what an ingest channel trusts a client's clock for.
type Rule struct {
	// MaxDelay is the longest a client may hold an event before sending
	// it. A longer wait means a broken clock (or a time the client
	// invented), and the receive time is then the better guess.
	MaxDelay time.Duration
	// MaxSkew is how far the client's clock at sending may be from the
	// receive time and still count as right. The gap includes the request's
	// time on the network, so it is never zero.
	MaxSkew time.Duration
}

// Beacon is the rule of the JSON beacon. A tag sends its queue within
// seconds, or at the latest when the page is hidden; a day covers a laptop
// closed with the page open. Ten seconds of skew covers a slow mobile
// network; the visit and attribution rules work in minutes, so a clock
// within that is taken as it is.
var Beacon = Rule{MaxDelay: 24 * time.Hour, MaxSkew: 10 * time.Second}

// Time is an event's time and how it was decided.
type Time struct {
	At time.Time
	// Source is one of the eventmodel.TimeSource* values.
	Source string
	// Correction is one of the eventmodel.TimeCorrection* values, "" when
	// no client time was replaced or shifted.
	Correction string
	// SkewMs is, for eventmodel.TimeCorrectionSkew, how far the client's
	// time was shifted: the receive time minus the client's send time, in
	// milliseconds (clamped to the int64 range).
	SkewMs int64
}

// Received is the time of an event that happens when the collector receives
// it, such as a pixel hit: there is no client clock to read, so nothing is
// corrected.
func Received(received time.Time) Time {
	return Time{At: received, Source: eventmodel.TimeSourceReceiveTime}
}

// Decide applies the rule to two readings of the client's clock, in
// milliseconds since the epoch: sentAt when the request was sent and at
// when the event happened (nil when the client did not send them; NaN and
// infinities count as not sent).
//
// The wait between the two readings is trusted (the clock that measured
// it may be off, but it ticks), the clock itself only within MaxSkew. A
// clock further off is corrected as Snowplow derives its timestamp:
// received - (sentAt - at), the event's wait on the collector's clock.
func (r Rule) Decide(received time.Time, sentAt, at *float64) Time {
	if !reading(at) {
		return replaced(received, eventmodel.TimeCorrectionMissing)
	}
	if !reading(sentAt) {
		return replaced(received, eventmodel.TimeCorrectionMissingSendTime)
	}
	delayMs := *sentAt - *at
	switch {
	case delayMs < 0:
		return replaced(received, eventmodel.TimeCorrectionInFuture)
	case delayMs > milliseconds(r.MaxDelay):
		return replaced(received, eventmodel.TimeCorrectionTooOld)
	}
	skewMs := unixMs(received) - *sentAt
	if math.Abs(skewMs) <= milliseconds(r.MaxSkew) {
		// at is within MaxDelay + MaxSkew of received: no overflow.
		return clientTime(*at)
	}
	return Time{
		At:         received.Add(-time.Duration(delayMs * float64(time.Millisecond))),
		Source:     eventmodel.TimeSourceClientSkewCorrected,
		Correction: eventmodel.TimeCorrectionSkew,
		SkewMs:     clampInt64(math.Round(skewMs)),
	}
}

// Vouched is the rule for a time the sender states as the event's true
// time instead of two clock readings (Snowplow's ttm, which Snowplow takes
// as its derived timestamp unchecked): kept as sent when it lies within
// MaxDelay before and MaxSkew after the receive time; else the receive
// time replaces it (in_future, too_old), as for a beacon event whose
// wait is out of bounds. Both bounds are inclusive.
func (r Rule) Vouched(received time.Time, at *float64) Time {
	if !reading(at) {
		return replaced(received, eventmodel.TimeCorrectionMissing)
	}
	ageMs := unixMs(received) - *at
	switch {
	case ageMs < -milliseconds(r.MaxSkew):
		return replaced(received, eventmodel.TimeCorrectionInFuture)
	case ageMs > milliseconds(r.MaxDelay):
		return replaced(received, eventmodel.TimeCorrectionTooOld)
	}
	return clientTime(*at)
}

// Import is the rule of the import endpoint, which takes history from the
// site's owner (authenticated by the site's import key): an imported event
// keeps its own time exactly as sent, since there is no send time to
// check a clock against and the owner vouches for it. It is never
// corrected; an event whose time cannot be kept is refused instead, and
// refusal says why with the TimeCorrection* word a live event would carry:
// TimeCorrectionMissing (no time), TimeCorrectionInFuture (later than the
// receive time by more than MaxSkew) or TimeCorrectionTooOld (older than
// maxAge, or before 1970). maxAge 0 allows any age.
func Import(received time.Time, at *float64, maxAge time.Duration, maxSkew time.Duration) (Time, string) {
	if !reading(at) {
		return Time{}, eventmodel.TimeCorrectionMissing
	}
	ageMs := unixMs(received) - *at
	switch {
	case ageMs < -milliseconds(maxSkew):
		return Time{}, eventmodel.TimeCorrectionInFuture
	case *at < 0, maxAge > 0 && ageMs > milliseconds(maxAge):
		return Time{}, eventmodel.TimeCorrectionTooOld
	}
	// 0 <= at <= received + maxSkew: no overflow.
	return clientTime(*at), ""
}

// clientTime is the client's reading at (milliseconds since the epoch,
// within time.Time's range) kept as sent.
func clientTime(at float64) Time {
	whole := math.Floor(at)
	return Time{
		At:     time.UnixMilli(int64(whole)).Add(time.Duration((at - whole) * float64(time.Millisecond))),
		Source: eventmodel.TimeSourceClient,
	}
}

// unixMs is t in milliseconds since the epoch. UnixMilli is exact in a
// float64 (below 2^53); the sub-millisecond rest is added apart so that
// whole-millisecond times compare exactly.
func unixMs(t time.Time) float64 {
	return float64(t.UnixMilli()) + float64(t.Nanosecond()%int(time.Millisecond))/float64(time.Millisecond)
}

// reading reports whether v is a clock reading: set and finite (JSON has
// no NaN or infinity, but other wire formats may).
func reading(v *float64) bool { return v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) }

func replaced(received time.Time, correction string) Time {
	return Time{At: received, Source: eventmodel.TimeSourceReceiveTime, Correction: correction}
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// clampInt64 converts f to int64, saturating: a client may send any number
// as its clock, and Go's conversion of an out-of-range float is undefined.
func clampInt64(f float64) int64 {
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// CopyTo writes the time into lr: its Timestamp and the time attributes.
func (t *Time) CopyTo(lr plog.LogRecord) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(t.At))
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrTimeSource, t.Source)
	if t.Correction == "" {
		return
	}
	a.PutStr(eventmodel.AttrTimeCorrection, t.Correction)
	if t.Correction == eventmodel.TimeCorrectionSkew {
		a.PutInt(eventmodel.AttrTimeSkew, t.SkewMs)
	}
}
