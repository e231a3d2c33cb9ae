package models

import (
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func tc(offset time.Duration, medium string) Touch {
	return Touch{Time: t0.Add(offset), Medium: medium, Source: medium + "-src", VisitID: "v"}
}

// sums adds credits and values sequentially in returned order, exactly as a
// caller would.
func sums(cr []Credit) (c, v float64) {
	for _, x := range cr {
		c += x.Credit
		v += x.Value
	}
	return c, v
}

type want struct {
	idx    int
	credit float64
}

func TestParseModel(t *testing.T) {
	for _, m := range All {
		got, err := ParseModel(string(m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
		assert.True(t, m.Valid())
	}
	got, err := ParseModel("  Time_Decay ")
	require.NoError(t, err)
	assert.Equal(t, TimeDecay, got)

	_, err = ParseModel("u_shaped")
	require.Error(t, err)
	for _, m := range All {
		assert.Contains(t, err.Error(), string(m))
	}
	assert.Contains(t, err.Error(), `"u_shaped"`)
	assert.Len(t, All, 6)
	assert.False(t, Model("nope").Valid())
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	ok := DefaultConfig()
	ok.Lookback = 0
	ok.FirstWeight, ok.LastWeight = 1, 0
	require.NoError(t, ok.Validate())

	cases := []struct {
		name string
		mod  func(*Config)
		msgs []string
	}{
		{"negative lookback", func(c *Config) { c.Lookback = -time.Hour }, []string{"lookback: must not be negative"}},
		{"zero half life", func(c *Config) { c.HalfLife = 0 }, []string{"half_life: must be positive"}},
		{"negative half life", func(c *Config) { c.HalfLife = -time.Hour }, []string{"half_life: must be positive"}},
		{"first weight > 1", func(c *Config) { c.FirstWeight = 1.5 }, []string{"first_weight: must be between 0 and 1"}},
		{"last weight < 0", func(c *Config) { c.LastWeight = -0.1 }, []string{"last_weight: must be between 0 and 1"}},
		{"first weight NaN", func(c *Config) { c.FirstWeight = math.NaN() }, []string{"first_weight"}},
		{"sum > 1", func(c *Config) { c.FirstWeight, c.LastWeight = 0.6, 0.5 }, []string{"first_weight + last_weight: must not exceed 1"}},
		{"several", func(c *Config) { c.HalfLife = 0; c.Lookback = -1 }, []string{"half_life", "lookback"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mod(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			for _, m := range c.msgs {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestAttribute(t *testing.T) {
	cfg := DefaultConfig()
	outcome := t0
	hl := cfg.HalfLife

	three := []Touch{tc(-10*day, "search"), tc(-5*day, "email"), tc(-1*day, "direct")}
	five := []Touch{tc(-20*day, "search"), tc(-15*day, "social"), tc(-10*day, "email"), tc(-5*day, "display"), tc(-1*day, "referral")}
	allDirect := []Touch{tc(-3*day, "direct"), tc(-2*day, "DIRECT"), tc(-1*day, "direct")}
	// Unordered input: indices 0..3 with times 3d, 1d, 4d, 2d before the outcome.
	unordered := []Touch{tc(-3*day, "email"), tc(-1*day, "direct"), tc(-4*day, "search"), tc(-2*day, "social")}
	// Identical timestamps: input order decides.
	same := []Touch{tc(-2*day, "search"), tc(-2*day, "email"), tc(-2*day, "social")}
	withInternal := []Touch{tc(-3*day, "internal"), tc(-2*day, "search"), tc(-1*day, "Internal")}
	boundary := []Touch{
		tc(-cfg.Lookback-time.Nanosecond, "search"), // just outside: excluded
		tc(-cfg.Lookback, "email"),                  // exactly at the boundary: included
		tc(0, "social"),                             // exactly at the outcome: included
		tc(time.Nanosecond, "display"),              // after the outcome: excluded
	}
	after := []Touch{tc(time.Hour, "search"), tc(day, "email")}
	onlyInternal := []Touch{tc(-time.Hour, "internal")}

	decay := func(ages ...time.Duration) []float64 {
		w := make([]float64, len(ages))
		tot := 0.0
		for i, a := range ages {
			w[i] = math.Exp2(-float64(a) / float64(hl))
			tot += w[i]
		}
		for i := range w {
			w[i] /= tot
		}
		return w
	}
	d3 := decay(10*day, 5*day, 1*day)
	dSame := decay(0, 0, 0)

	cases := []struct {
		name    string
		model   Model
		cfg     Config
		touches []Touch
		want    []want // nil => expect nil result
	}{
		// zero touches / nothing eligible
		{"first no touches", FirstTouch, cfg, nil, nil},
		{"linear empty", Linear, cfg, []Touch{}, nil},
		{"time decay all after outcome", TimeDecay, cfg, after, nil},
		{"last only internal", LastTouch, cfg, onlyInternal, nil},
		{"unknown model", Model("u_shaped"), cfg, three, nil},

		// one touch: every model gives it everything
		{"first one", FirstTouch, cfg, three[:1], []want{{0, 1}}},
		{"last one", LastTouch, cfg, three[:1], []want{{0, 1}}},
		{"lnd one direct", LastNonDirect, cfg, three[2:], []want{{0, 1}}},
		{"linear one", Linear, cfg, three[:1], []want{{0, 1}}},
		{"position one", PositionBased, cfg, three[:1], []want{{0, 1}}},
		{"decay one", TimeDecay, cfg, three[:1], []want{{0, 1}}},

		// two touches
		{"first two", FirstTouch, cfg, three[:2], []want{{0, 1}, {1, 0}}},
		{"last two", LastTouch, cfg, three[:2], []want{{0, 0}, {1, 1}}},
		{"linear two", Linear, cfg, three[:2], []want{{0, 0.5}, {1, 0.5}}},
		{"position two", PositionBased, cfg, three[:2], []want{{0, 0.5}, {1, 0.5}}},
		{"decay two", TimeDecay, cfg, three[:2], func() []want {
			w := decay(10*day, 5*day)
			return []want{{0, w[0]}, {1, w[1]}}
		}()},

		// three and more
		{"first three", FirstTouch, cfg, three, []want{{0, 1}, {1, 0}, {2, 0}}},
		{"last three", LastTouch, cfg, three, []want{{0, 0}, {1, 0}, {2, 1}}},
		{"lnd skips direct", LastNonDirect, cfg, three, []want{{0, 0}, {1, 1}, {2, 0}}},
		{"lnd all direct falls back to last", LastNonDirect, cfg, allDirect, []want{{0, 0}, {1, 0}, {2, 1}}},
		{"linear three", Linear, cfg, three, []want{{0, 1.0 / 3}, {1, 1.0 / 3}, {2, 1.0 / 3}}},
		{"position three", PositionBased, cfg, three, []want{{0, 0.4}, {1, 0.2}, {2, 0.4}}},
		{"position five", PositionBased, cfg, five, []want{{0, 0.4}, {1, 0.2 / 3}, {2, 0.2 / 3}, {3, 0.2 / 3}, {4, 0.4}}},
		{"position custom weights", PositionBased, Config{FirstWeight: 0.3, LastWeight: 0.5}, three, []want{{0, 0.3}, {1, 0.2}, {2, 0.5}}},
		{"position first only", PositionBased, Config{FirstWeight: 1, LastWeight: 0}, three, []want{{0, 1}, {1, 0}, {2, 0}}},
		{"position invalid weights fall back", PositionBased, Config{FirstWeight: 0.9, LastWeight: 0.9}, three, []want{{0, 0.4}, {1, 0.2}, {2, 0.4}}},
		{"decay three", TimeDecay, cfg, three, []want{{0, d3[0]}, {1, d3[1]}, {2, d3[2]}}},
		{"decay half life doubling", TimeDecay, Config{HalfLife: day}, []Touch{tc(-2*day, "a"), tc(-day, "b")}, []want{{0, 1.0 / 3}, {1, 2.0 / 3}}},

		// unordered input: returned in time order, indices of the original slice
		{"first unordered", FirstTouch, cfg, unordered, []want{{2, 1}, {0, 0}, {3, 0}, {1, 0}}},
		{"last unordered", LastTouch, cfg, unordered, []want{{2, 0}, {0, 0}, {3, 0}, {1, 1}}},
		{"lnd unordered", LastNonDirect, cfg, unordered, []want{{2, 0}, {0, 0}, {3, 1}, {1, 0}}},
		{"position unordered", PositionBased, cfg, unordered, []want{{2, 0.4}, {0, 0.1}, {3, 0.1}, {1, 0.4}}},

		// identical timestamps: input order
		{"first same time", FirstTouch, cfg, same, []want{{0, 1}, {1, 0}, {2, 0}}},
		{"last same time", LastTouch, cfg, same, []want{{0, 0}, {1, 0}, {2, 1}}},
		{"decay same time", TimeDecay, cfg, same, []want{{0, dSame[0]}, {1, dSame[1]}, {2, dSame[2]}}},

		// internal touches are excluded from all models
		{"first skips internal", FirstTouch, cfg, withInternal, []want{{1, 1}}},
		{"last skips internal", LastTouch, cfg, withInternal, []want{{1, 1}}},
		{"lnd skips internal", LastNonDirect, cfg, withInternal, []want{{1, 1}}},
		{"linear skips internal", Linear, cfg, withInternal, []want{{1, 1}}},

		// lookback boundary inclusive, outcome time inclusive, later excluded
		{"first lookback boundary", FirstTouch, cfg, boundary, []want{{1, 1}, {2, 0}}},
		{"last at outcome time", LastTouch, cfg, boundary, []want{{1, 0}, {2, 1}}},
		{"linear boundary", Linear, cfg, boundary, []want{{1, 0.5}, {2, 0.5}}},
		{"no lookback when zero", FirstTouch, Config{}, boundary, []want{{0, 1}, {1, 0}, {2, 0}}},
		{"no lookback when negative", FirstTouch, Config{Lookback: -day}, boundary, []want{{0, 1}, {1, 0}, {2, 0}}},
	}

	const value = 123.45
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.touches)
			got := Attribute(c.model, c.cfg, in, outcome, value)
			assert.Equal(t, c.touches, in, "input must not be modified")
			if c.want == nil {
				assert.Nil(t, got)
				return
			}
			require.Len(t, got, len(c.want))
			for i, w := range c.want {
				assert.Equal(t, w.idx, got[i].TouchIndex, "touch index at %d", i)
				assert.InDelta(t, w.credit, got[i].Credit, 1e-12, "credit at %d", i)
				assert.InDelta(t, w.credit*value, got[i].Value, 1e-9, "value at %d", i)
				assert.GreaterOrEqual(t, got[i].Credit, 0.0)
			}
			cs, vs := sums(got)
			assert.True(t, cs == 1.0, "credits sum to %v", cs)
			assert.True(t, vs == value, "values sum to %v", vs)
		})
	}
}

func TestAttributeValueEdgeCases(t *testing.T) {
	touches := []Touch{tc(-3*day, "search"), tc(-2*day, "email"), tc(-day, "social")}
	for _, m := range All {
		for _, v := range []float64{0, -99.99, 1e-320, 1e300, 0.1, 7} {
			got := Attribute(m, DefaultConfig(), touches, t0, v)
			cs, vs := sums(got)
			assert.True(t, cs == 1.0, "%s %v: credits %v", m, v, cs)
			assert.True(t, vs == v, "%s %v: values %v", m, v, vs)
			for _, c := range got {
				if v >= 0 {
					assert.GreaterOrEqual(t, c.Value, 0.0)
				} else {
					assert.LessOrEqual(t, c.Value, 0.0)
				}
			}
		}
		got := Attribute(m, DefaultConfig(), touches, t0, math.NaN())
		require.Len(t, got, 3)
		cs, _ := sums(got)
		assert.True(t, cs == 1.0)
	}
}

func TestTimeDecayNoUnderflow(t *testing.T) {
	// Ages of thousands of half-lives would underflow 2^-age to 0; weights
	// relative to the latest touch keep the result well defined.
	cfg := Config{HalfLife: time.Second}
	touches := []Touch{tc(-2*time.Hour, "a"), tc(-time.Hour, "b")}
	got := Attribute(TimeDecay, cfg, touches, t0, 10)
	require.Len(t, got, 2)
	assert.Equal(t, 0.0, got[0].Credit)
	assert.Equal(t, 1.0, got[1].Credit)
	assert.Equal(t, 10.0, got[1].Value)
}

func TestPositionBasedTinyLastWeight(t *testing.T) {
	// A last weight below the rounding error must not become negative.
	cfg := Config{FirstWeight: 0.3, LastWeight: 1e-300}
	touches := make([]Touch, 7)
	for i := range touches {
		touches[i] = tc(-time.Duration(7-i)*time.Hour, "search")
	}
	got := Attribute(PositionBased, cfg, touches, t0, 1)
	cs, vs := sums(got)
	assert.True(t, cs == 1.0)
	assert.True(t, vs == 1.0)
	for _, c := range got {
		assert.GreaterOrEqual(t, c.Credit, 0.0)
	}
}

func TestAttributeProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20250301))
	media := []string{"direct", "internal", "search", "email", "social", "display", "Direct", "referral"}
	for iter := 0; iter < 3000; iter++ {
		n := rng.Intn(25)
		touches := make([]Touch, n)
		for i := range touches {
			// Spread over ±45 days with coarse granularity so identical
			// timestamps occur.
			off := time.Duration(rng.Intn(90*24)-80*24) * time.Hour / time.Duration(1+rng.Intn(3))
			touches[i] = Touch{Time: t0.Add(off), Medium: media[rng.Intn(len(media))]}
		}
		fw := rng.Float64()
		cfg := Config{
			Lookback:    time.Duration(rng.Intn(60)) * day,
			HalfLife:    time.Duration(1+rng.Intn(14*24)) * time.Hour,
			FirstWeight: fw,
			LastWeight:  rng.Float64() * (1 - fw),
		}
		require.NoError(t, cfg.Validate())
		value := []float64{rng.Float64() * 1000, float64(rng.Intn(100000)) / 100, -rng.Float64() * 50, 0, rng.ExpFloat64() * 1e6}[rng.Intn(5)]

		nEligible := 0
		for _, tt := range touches {
			if !tt.Time.After(t0) && (cfg.Lookback == 0 || !tt.Time.Before(t0.Add(-cfg.Lookback))) && !strings.EqualFold(tt.Medium, "internal") {
				nEligible++
			}
		}
		for _, m := range All {
			got := Attribute(m, cfg, touches, t0, value)
			if nEligible == 0 {
				require.Nil(t, got, "%s iter %d", m, iter)
				continue
			}
			require.Len(t, got, nEligible)
			cs, vs := sums(got)
			require.True(t, cs == 1.0, "%s iter %d: credits sum %v", m, iter, cs)
			require.True(t, vs == value, "%s iter %d: values sum %v want %v", m, iter, vs, value)
			seen := map[int]bool{}
			for i, c := range got {
				require.GreaterOrEqual(t, c.Credit, 0.0)
				require.LessOrEqual(t, c.Credit, 1.0)
				require.False(t, seen[c.TouchIndex])
				seen[c.TouchIndex] = true
				if i > 0 {
					prev, cur := touches[got[i-1].TouchIndex].Time, touches[c.TouchIndex].Time
					require.False(t, cur.Before(prev), "time order")
					if cur.Equal(prev) {
						require.Less(t, got[i-1].TouchIndex, c.TouchIndex, "stable order")
					}
				}
			}
		}
	}
}

func BenchmarkAttribute(b *testing.B) {
	media := []string{"search", "direct", "email", "social", "internal", "display", "direct", "referral", "search", "email"}
	touches := make([]Touch, 10)
	for i := range touches {
		// Deliberately unordered.
		off := time.Duration((i*7)%10+1) * day
		touches[i] = Touch{Time: t0.Add(-off), Medium: media[i], Source: "s", VisitID: "v"}
	}
	cfg := DefaultConfig()
	for _, m := range All {
		b.Run(string(m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if Attribute(m, cfg, touches, t0, 99.5) == nil {
					b.Fatal("nil")
				}
			}
		})
	}
}
