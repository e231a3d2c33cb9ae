package eventtime

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"

	em "github.com/webjourney/webjourney/internal/eventmodel"
)

func ptr(f float64) *float64 { return &f }

// TestBeaconRule walks the beacon rule's boundaries: each limit exactly,
// one millisecond either side, the missing readings, and clocks that are
// absurd rather than merely wrong.
func TestBeaconRule(t *testing.T) {
	received := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	r := float64(received.UnixMilli())
	day := float64(24 * time.Hour / time.Millisecond)
	skew := float64(10 * time.Second / time.Millisecond)
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	client := func(at float64) Time {
		return Time{At: received.Add(ms(at - r)), Source: em.TimeSourceClient}
	}
	corrected := func(delay, skewMs float64) Time {
		return Time{At: received.Add(-ms(delay)), Source: em.TimeSourceClientSkewCorrected,
			Correction: em.TimeCorrectionSkew, SkewMs: int64(skewMs)}
	}
	replaced := func(correction string) Time {
		return Time{At: received, Source: em.TimeSourceReceiveTime, Correction: correction}
	}
	tests := []struct {
		name       string
		sentAt, at *float64
		want       Time
	}{
		{"both missing", nil, nil, replaced(em.TimeCorrectionMissing)},
		{"no ts", ptr(r), nil, replaced(em.TimeCorrectionMissing)},
		{"no sent_at", nil, ptr(r), replaced(em.TimeCorrectionMissingSendTime)},

		{"same instant", ptr(r), ptr(r), client(r)},
		{"one ms after sending", ptr(r), ptr(r + 1), replaced(em.TimeCorrectionInFuture)},
		{"sent a day later", ptr(r), ptr(r - day), client(r - day)},
		{"sent a day and one ms later", ptr(r), ptr(r - day - 1), replaced(em.TimeCorrectionTooOld)},
		{"sent a day less one ms later", ptr(r), ptr(r - day + 1), client(r - day + 1)},

		{"clock behind by the tolerance", ptr(r - skew), ptr(r - skew - 1500), client(r - skew - 1500)},
		{"clock behind by one ms more", ptr(r - skew - 1), ptr(r - skew - 1 - 1500), corrected(1500, skew+1)},
		{"clock behind by one ms less", ptr(r - skew + 1), ptr(r - skew + 1 - 1500), client(r - skew + 1 - 1500)},
		{"clock ahead by the tolerance", ptr(r + skew), ptr(r + skew - 1500), client(r + skew - 1500)},
		{"clock ahead by one ms more", ptr(r + skew + 1), ptr(r + skew + 1 - 1500), corrected(1500, -skew-1)},
		{"clock ahead by one ms less", ptr(r + skew - 1), ptr(r + skew - 1 - 1500), client(r + skew - 1 - 1500)},

		// The client clock is a year off; only the 1.5 s gap is used.
		{"a year off", ptr(r - 365*day + 1500), ptr(r - 365*day), corrected(1500, 365*day-1500)},
		{"a year off, sent at once", ptr(r + 365*day), ptr(r + 365*day), corrected(0, -365*day)},
		{"a year off, sent a day later", ptr(r - 365*day), ptr(r - 366*day), corrected(day, 365*day)},
		{"a year off, too old", ptr(r - 365*day), ptr(r - 366*day - 1), replaced(em.TimeCorrectionTooOld)},
		{"a year off, after sending", ptr(r - 365*day), ptr(r - 365*day + 1), replaced(em.TimeCorrectionInFuture)},
		{"sub-millisecond ts", ptr(r), ptr(r - 0.5), Time{At: received.Add(-500 * time.Microsecond), Source: em.TimeSourceClient}},

		{"ts not a number", ptr(r), ptr(math.NaN()), replaced(em.TimeCorrectionMissing)},
		{"sent_at infinite", ptr(math.Inf(1)), ptr(r), replaced(em.TimeCorrectionMissingSendTime)},
		{"huge gap", ptr(1e308), ptr(-1e308), replaced(em.TimeCorrectionTooOld)},
		{"huge negative gap", ptr(-1e308), ptr(1e308), replaced(em.TimeCorrectionInFuture)},
		{"huge clock, sent at once", ptr(1e308), ptr(1e308), Time{At: received, Source: em.TimeSourceClientSkewCorrected,
			Correction: em.TimeCorrectionSkew, SkewMs: math.MinInt64}},
		{"huge negative clock, sent at once", ptr(-1e308), ptr(-1e308), Time{At: received, Source: em.TimeSourceClientSkewCorrected,
			Correction: em.TimeCorrectionSkew, SkewMs: math.MaxInt64}},
	}
	produced := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Beacon.Decide(received, tt.sentAt, tt.at)
			assert.True(t, tt.want.At.Equal(got.At), "time %s, want %s", got.At, tt.want.At)
			got.At = tt.want.At
			assert.Equal(t, tt.want, got)
			if (got.Source == em.TimeSourceClient) != (got.Correction == "") {
				t.Errorf("source %s with correction %q: every time but the client's own carries its reason", got.Source, got.Correction)
			}
		})
		produced[tt.want.Correction] = true
	}
	for _, c := range em.TimeCorrections {
		assert.True(t, produced[c], "no case produces correction %s", c)
	}
}

// The receive time has nanoseconds; the tolerance is still exact to them.
func TestSkewBoundaryBelowAMillisecond(t *testing.T) {
	received := time.Date(2026, 12, 2, 10, 0, 0, 400_000, time.UTC) // .0004 s
	sentAt := float64(received.UnixMilli()) - 10_000
	got := Beacon.Decide(received, &sentAt, &sentAt)
	assert.Equal(t, em.TimeSourceClientSkewCorrected, got.Source, "10000.4 ms is beyond 10 s")
	assert.Equal(t, int64(10_000), got.SkewMs)
	assert.True(t, got.At.Equal(received))

	received = received.Add(-400 * time.Microsecond)
	got = Beacon.Decide(received, &sentAt, &sentAt)
	assert.Equal(t, em.TimeSourceClient, got.Source)
	assert.True(t, got.At.Equal(received.Add(-10*time.Second)))
}

func TestReceived(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 123, time.UTC)
	assert.Equal(t, Time{At: now, Source: em.TimeSourceReceiveTime}, Received(now))
}

func TestCopyTo(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		time Time
		want map[string]any
	}{
		{"client", Time{At: at, Source: em.TimeSourceClient},
			map[string]any{em.AttrTimeSource: em.TimeSourceClient}},
		{"pixel", Received(at),
			map[string]any{em.AttrTimeSource: em.TimeSourceReceiveTime}},
		{"replaced", Time{At: at, Source: em.TimeSourceReceiveTime, Correction: em.TimeCorrectionTooOld},
			map[string]any{em.AttrTimeSource: em.TimeSourceReceiveTime, em.AttrTimeCorrection: em.TimeCorrectionTooOld}},
		{"skew", Time{At: at, Source: em.TimeSourceClientSkewCorrected, Correction: em.TimeCorrectionSkew, SkewMs: -3_600_000},
			map[string]any{em.AttrTimeSource: em.TimeSourceClientSkewCorrected, em.AttrTimeCorrection: em.TimeCorrectionSkew,
				em.AttrTimeSkew: int64(-3_600_000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			tt.time.CopyTo(lr)
			assert.Equal(t, at, lr.Timestamp().AsTime())
			assert.Equal(t, tt.want, lr.Attributes().AsRaw())
		})
	}
}

// Whatever the client's clock says, the time stays within the rule's
// bounds of the receive time and says how it was decided.
func FuzzDecide(f *testing.F) {
	f.Add(1.7e12, 1.7e12-1500, true, true)
	f.Add(1e308, -1e308, true, true)
	f.Add(-0.5, 0.0, false, true)
	f.Add(math.NaN(), math.Inf(-1), true, true)
	received := time.Date(2026, 12, 2, 10, 0, 0, 123_456, time.UTC)
	f.Fuzz(func(t *testing.T, sentAt, at float64, hasSentAt, hasAt bool) {
		var s, a *float64
		if hasSentAt {
			s = &sentAt
		}
		if hasAt {
			a = &at
		}
		got := Beacon.Decide(received, s, a)
		offset := got.At.Sub(received)
		switch got.Source {
		case em.TimeSourceClient:
			if got.Correction != "" || offset.Abs() > Beacon.MaxDelay+Beacon.MaxSkew {
				t.Fatalf("%+v", got)
			}
		case em.TimeSourceClientSkewCorrected:
			if got.Correction != em.TimeCorrectionSkew || offset > 0 || -offset > Beacon.MaxDelay {
				t.Fatalf("%+v", got)
			}
		case em.TimeSourceReceiveTime:
			if offset != 0 || !slices.Contains(em.TimeCorrections, got.Correction) {
				t.Fatalf("%+v", got)
			}
		default:
			t.Fatalf("%+v", got)
		}
	})
}

// TestVouchedRule walks the bounds of a time the sender vouches for
// (Snowplow's ttm): a day back and ten seconds ahead, inclusive.
func TestVouchedRule(t *testing.T) {
	received := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	r := float64(received.UnixMilli())
	day := float64(24 * time.Hour / time.Millisecond)
	skew := float64(10 * time.Second / time.Millisecond)
	client := func(at float64) Time {
		return Time{At: received.Add(time.Duration((at - r) * float64(time.Millisecond))), Source: em.TimeSourceClient}
	}
	replaced := func(correction string) Time {
		return Time{At: received, Source: em.TimeSourceReceiveTime, Correction: correction}
	}
	for _, tt := range []struct {
		name string
		at   *float64
		want Time
	}{
		{"missing", nil, replaced(em.TimeCorrectionMissing)},
		{"NaN", ptr(math.NaN()), replaced(em.TimeCorrectionMissing)},
		{"+Inf", ptr(math.Inf(1)), replaced(em.TimeCorrectionMissing)},
		{"now", ptr(r), client(r)},
		{"a day back", ptr(r - day), client(r - day)},
		{"a day and one ms back", ptr(r - day - 1), replaced(em.TimeCorrectionTooOld)},
		{"a day less one ms back", ptr(r - day + 1), client(r - day + 1)},
		{"the tolerance ahead", ptr(r + skew), client(r + skew)},
		{"one ms more ahead", ptr(r + skew + 1), replaced(em.TimeCorrectionInFuture)},
		{"one ms less ahead", ptr(r + skew - 1), client(r + skew - 1)},
		{"a fraction of a ms", ptr(r - 0.25), client(r - 0.25)},
		{"before 1970", ptr(-1), replaced(em.TimeCorrectionTooOld)},
		{"the largest float", ptr(math.MaxFloat64), replaced(em.TimeCorrectionInFuture)},
		{"the smallest float", ptr(-math.MaxFloat64), replaced(em.TimeCorrectionTooOld)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Beacon.Vouched(received, tt.at)
			if !got.At.Equal(tt.want.At) || got.Source != tt.want.Source || got.Correction != tt.want.Correction {
				t.Errorf("Vouched(%v) = %+v, want %+v", tt.at, got, tt.want)
			}
		})
	}
}
