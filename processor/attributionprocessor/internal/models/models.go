// Package models implements multi-touch attribution models: given the
// marketing touches of one visitor and an outcome (conversion time and
// value), it distributes one unit of credit, and the outcome value, over the
// touches that are eligible for that outcome.
//
// Eligibility. A touch is eligible for an outcome when all of the following
// hold:
//
//   - its Time is at or before the outcome time (a touch exactly at the
//     outcome time counts; later touches are ignored);
//   - it is inside the lookback window: Time >= outcomeTime - Lookback. The
//     boundary is INCLUSIVE: a touch exactly Lookback before the outcome is
//     eligible, one nanosecond older is not. Lookback <= 0 disables the
//     window (every earlier touch is eligible);
//   - its Medium is not "internal" (compared case-insensitively). Internal
//     touches (navigation inside the site, self-referrals) are not
//     acquisition touches, so they are excluded from EVERY model, including
//     first/last touch and the LastNonDirect fallback.
//
// Eligible touches are ordered by time; ties (identical timestamps) keep the
// caller's input order. The input slice is never modified.
//
// Exactness. For every model the returned credits, summed in the returned
// order starting from 0 with float64 addition, equal exactly 1.0, and the
// values equal exactly outcomeValue (for any finite outcomeValue). Rounding
// error is absorbed by the last touch that receives credit. All credits are
// >= 0, and values have the sign of outcomeValue.
package models

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Model names an attribution model.
type Model string

// The supported attribution models.
const (
	// FirstTouch gives all credit to the earliest eligible touch.
	FirstTouch Model = "first_touch"
	// LastTouch gives all credit to the latest eligible touch.
	LastTouch Model = "last_touch"
	// LastNonDirect gives all credit to the latest eligible touch whose
	// medium is not "direct"; when every eligible touch is direct it falls
	// back to the latest eligible touch.
	LastNonDirect Model = "last_non_direct"
	// Linear splits credit equally among eligible touches.
	Linear Model = "linear"
	// PositionBased gives Config.FirstWeight to the first touch,
	// Config.LastWeight to the last touch and splits the rest equally among
	// the middle touches (one touch: 1; two touches: 0.5 / 0.5).
	PositionBased Model = "position_based"
	// TimeDecay weights each touch by 2^(-(outcomeTime-touchTime)/HalfLife)
	// and normalises the weights to 1.
	TimeDecay Model = "time_decay"
)

// All lists every supported model in a stable order.
var All = []Model{FirstTouch, LastTouch, LastNonDirect, Linear, PositionBased, TimeDecay}

// Valid reports whether m is a supported model.
func (m Model) Valid() bool { return slices.Contains(All, m) }

// ParseModel parses a model name. Surrounding space is ignored and the match
// is case-insensitive. The error for an unknown name lists the valid names.
func ParseModel(s string) (Model, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, m := range All {
		if string(m) == t {
			return m, nil
		}
	}
	names := make([]string, len(All))
	for i, m := range All {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown attribution model %q: valid models are %s", s, strings.Join(names, ", "))
}

// Media with special meaning.
const (
	MediumDirect   = "direct"
	MediumInternal = "internal"
)

// Touch is one marketing touch of a visitor.
type Touch struct {
	Time time.Time
	// Medium classifies the touch ("direct", "internal", "search", ...).
	// "internal" touches are never credited; "direct" matters for
	// LastNonDirect. Both comparisons are case-insensitive.
	Medium   string
	Source   string
	Campaign string
	Partner  string
	VisitID  string
}

// Config parameterises the models.
type Config struct {
	// Lookback: touches older than outcomeTime - Lookback are ignored
	// (boundary inclusive). Zero disables the window; negative is invalid.
	Lookback time.Duration
	// HalfLife is the TimeDecay half-life; must be positive.
	HalfLife time.Duration
	// FirstWeight and LastWeight are the PositionBased shares of the first
	// and last touch (for three or more touches). Each must be in [0, 1]
	// and their sum must not exceed 1.
	FirstWeight, LastWeight float64
}

// Defaults used by DefaultConfig and as fallbacks for invalid fields.
const (
	DefaultLookback    = 30 * 24 * time.Hour
	DefaultHalfLife    = 7 * 24 * time.Hour
	DefaultFirstWeight = 0.4
	DefaultLastWeight  = 0.4
)

// DefaultConfig returns a 30-day lookback, 7-day half-life and 40/20/40
// position-based weights.
func DefaultConfig() Config {
	return Config{
		Lookback:    DefaultLookback,
		HalfLife:    DefaultHalfLife,
		FirstWeight: DefaultFirstWeight,
		LastWeight:  DefaultLastWeight,
	}
}

// Validate checks every field and returns all problems joined, each naming
// its field (e.g. "half_life: must be positive").
func (c Config) Validate() error {
	var errs []error
	if c.Lookback < 0 {
		errs = append(errs, fmt.Errorf("lookback: must not be negative (got %s)", c.Lookback))
	}
	if c.HalfLife <= 0 {
		errs = append(errs, fmt.Errorf("half_life: must be positive (got %s)", c.HalfLife))
	}
	fwOK := inUnit(c.FirstWeight)
	lwOK := inUnit(c.LastWeight)
	if !fwOK {
		errs = append(errs, fmt.Errorf("first_weight: must be between 0 and 1 (got %v)", c.FirstWeight))
	}
	if !lwOK {
		errs = append(errs, fmt.Errorf("last_weight: must be between 0 and 1 (got %v)", c.LastWeight))
	}
	if fwOK && lwOK && c.FirstWeight+c.LastWeight > 1 {
		errs = append(errs, fmt.Errorf("first_weight + last_weight: must not exceed 1 (got %v)", c.FirstWeight+c.LastWeight))
	}
	return errors.Join(errs...)
}

func inUnit(f float64) bool { return f >= 0 && f <= 1 } // false for NaN

// Credit is the attribution of one touch.
type Credit struct {
	// TouchIndex is the index of the touch in the caller's slice.
	TouchIndex int
	// Credit is the touch's share of the outcome, in [0, 1].
	Credit float64
	// Value is the touch's share of the outcome value.
	Value float64
}

// Attribute returns, for model m, one Credit per eligible touch (see the
// package documentation for eligibility), in time order (ties in input
// order). Touches that get no credit under m (e.g. all but one for
// FirstTouch) are still returned, with Credit and Value 0, so callers see
// exactly which touches were considered.
//
// Credits sum to exactly 1.0 and values to exactly outcomeValue when summed
// in the returned order (outcomeValue NaN or ±Inf: values are simply
// credit*outcomeValue). It returns nil when no touch is eligible or m is
// unknown.
//
// Attribute does not fail on an invalid Config: an invalid HalfLife or
// invalid position weights fall back to the defaults (call Validate first),
// and a negative Lookback behaves like zero (no window).
func Attribute(m Model, cfg Config, touches []Touch, outcomeTime time.Time, outcomeValue float64) []Credit {
	if !m.Valid() {
		return nil
	}
	var cutoff time.Time
	useLookback := cfg.Lookback > 0
	if useLookback {
		cutoff = outcomeTime.Add(-cfg.Lookback)
	}
	eligible := func(t *Touch) bool {
		if t.Time.After(outcomeTime) || (useLookback && t.Time.Before(cutoff)) {
			return false
		}
		return !strings.EqualFold(t.Medium, MediumInternal)
	}
	n := 0
	for i := range touches {
		if eligible(&touches[i]) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	cr := make([]Credit, 0, n)
	sorted := true
	for i := range touches {
		if eligible(&touches[i]) {
			if len(cr) > 0 && touches[i].Time.Before(touches[cr[len(cr)-1].TouchIndex].Time) {
				sorted = false
			}
			cr = append(cr, Credit{TouchIndex: i})
		}
	}
	if !sorted {
		// Indices are unique, so (time, index) is a total order and the
		// result equals a stable sort by time.
		slices.SortFunc(cr, func(a, b Credit) int {
			if c := touches[a.TouchIndex].Time.Compare(touches[b.TouchIndex].Time); c != 0 {
				return c
			}
			return a.TouchIndex - b.TouchIndex
		})
	}

	switch m {
	case FirstTouch:
		cr[0].Credit = 1
	case LastTouch:
		cr[n-1].Credit = 1
	case LastNonDirect:
		k := n - 1
		for j := n - 1; j >= 0; j-- {
			if !strings.EqualFold(touches[cr[j].TouchIndex].Medium, MediumDirect) {
				k = j
				break
			}
		}
		cr[k].Credit = 1
	case Linear:
		share := 1 / float64(n)
		for j := range cr {
			cr[j].Credit = share
		}
	case PositionBased:
		positionBased(cr, cfg)
	case TimeDecay:
		timeDecay(cr, cfg, touches)
	}

	fixSum(cr, 1, false)
	if !math.IsNaN(outcomeValue) && !math.IsInf(outcomeValue, 0) {
		for j := range cr {
			cr[j].Value = cr[j].Credit * outcomeValue
		}
		fixSum(cr, outcomeValue, true)
	} else {
		for j := range cr {
			cr[j].Value = cr[j].Credit * outcomeValue
		}
	}
	return cr
}

func positionBased(cr []Credit, cfg Config) {
	n := len(cr)
	switch n {
	case 1:
		cr[0].Credit = 1
		return
	case 2:
		cr[0].Credit, cr[1].Credit = 0.5, 0.5
		return
	}
	fw, lw := cfg.FirstWeight, cfg.LastWeight
	if !inUnit(fw) || !inUnit(lw) || fw+lw > 1 {
		fw, lw = DefaultFirstWeight, DefaultLastWeight
	}
	mid := (1 - fw - lw) / float64(n-2)
	if mid < 0 {
		mid = 0
	}
	cr[0].Credit = fw
	for j := 1; j < n-1; j++ {
		cr[j].Credit = mid
	}
	cr[n-1].Credit = lw
}

func timeDecay(cr []Credit, cfg Config, touches []Touch) {
	hl := cfg.HalfLife
	if hl <= 0 {
		hl = DefaultHalfLife
	}
	// Weights are taken relative to the most recent touch (weight 1): the
	// ratio between weights is the same as with ages measured from the
	// outcome, but nothing underflows to an all-zero weight vector.
	latest := touches[cr[len(cr)-1].TouchIndex].Time
	total := 0.0
	for j := range cr {
		age := latest.Sub(touches[cr[j].TouchIndex].Time)
		w := math.Exp2(-float64(age) / float64(hl))
		cr[j].Credit = w
		total += w
	}
	for j := range cr {
		cr[j].Credit /= total
	}
}

// fixSum adjusts the field (Credit, or Value when value is true) of cr so
// that the sequential float64 sum in slice order equals target exactly,
// giving the rounding remainder to the last entry with a non-zero nominal
// share. Entries are assumed to have the sign of target (or be zero).
func fixSum(cr []Credit, target float64, value bool) {
	get := func(j int) float64 {
		if value {
			return cr[j].Value
		}
		return cr[j].Credit
	}
	set := func(j int, f float64) {
		if value {
			cr[j].Value = f
		} else {
			cr[j].Credit = f
		}
	}
	if target == 0 {
		for j := range cr {
			set(j, 0)
		}
		return
	}
	// Work with a positive target; negation is exact and symmetric under
	// round-to-nearest, so the sums of the negated values are exact too.
	neg := target < 0
	if neg {
		target = -target
		for j := range cr {
			set(j, -get(j))
		}
	}
	// The last credited touch (credit share > 0), which must absorb the
	// remainder; the credit field decides even for values so a value that
	// underflowed to zero still receives its share.
	k := -1
	for j := len(cr) - 1; j >= 0; j-- {
		if cr[j].Credit > 0 {
			k = j
			break
		}
	}
	if k < 0 {
		k = len(cr) - 1
	}
	// Walk back while the prefix already exceeds the target (only possible
	// when the later shares are below the rounding error).
	for ; k >= 0; k-- {
		if exactRemainder(k, target, get, set) {
			for j := k + 1; j < len(cr); j++ {
				set(j, 0)
			}
			break
		}
		set(k, 0)
	}
	if neg {
		for j := range cr {
			set(j, -get(j))
		}
	}
}

// exactRemainder sets entry k so that the sequential sum of entries 0..k is
// exactly target. It reports false when the prefix already exceeds target.
//
// target - prefix is rounded, so the remainder is first nudged by ulps. That
// can still be impossible: when the exact sum prefix+rem always falls on a
// rounding tie (e.g. prefix has half the ulp of target) round-half-even may
// never land on target. The prefix is then perturbed by one ulp of its last
// positive entry (a relative change of ~1e-16) and the remainder recomputed.
func exactRemainder(k int, target float64, get func(int) float64, set func(int, float64)) bool {
	for range 64 {
		prefix := 0.0
		for j := 0; j < k; j++ {
			prefix += get(j)
		}
		rem := target - prefix
		if rem < 0 {
			return false
		}
		for range 4 {
			s := prefix + rem
			if s == target {
				set(k, rem)
				return true
			}
			if s < target {
				rem = math.Nextafter(rem, math.Inf(1))
			} else {
				rem = math.Max(0, math.Nextafter(rem, math.Inf(-1)))
			}
		}
		j := k - 1
		for j >= 0 && get(j) <= 0 {
			j--
		}
		if j < 0 {
			// prefix is 0, so rem == target is exact; not reachable.
			set(k, target)
			return true
		}
		set(j, math.Nextafter(get(j), 0))
	}
	return false
}
