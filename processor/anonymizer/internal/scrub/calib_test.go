package scrub

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestTokenCalibration documents how the entropy thresholds were chosen:
// random tokens from common alphabets and lengths must be detected at a
// rate of at least 99% (single-case base36 at 24 characters is the weakest, ~99.3%) (the labelled set requires 100% on its samples).
func TestTokenCalibration(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabets := map[string]string{
		"base62":       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"base36-lower": "abcdefghijklmnopqrstuvwxyz0123456789",
		"base36-upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
		"base64url":    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	}
	const trials = 4000
	for name, a := range alphabets {
		for _, n := range []int{24, 28, 32, 40, 64} {
			hit, eligible := 0, 0
			for k := 0; k < trials; k++ {
				b := make([]byte, n)
				for i := range b {
					b[i] = a[r.IntN(len(a))]
				}
				st, en, ok := judge(string(b), 0, n)
				if hasLetterAndDigit(string(b)) {
					eligible++
					if ok && st <= 1 && en >= n-1 {
						hit++
					} else if k < 3000 && testing.Verbose() {
						t.Logf("miss %s", b)
					}
				}
			}
			rate := float64(hit) / float64(eligible)
			t.Logf("%-13s n=%-3d detected %.4f", name, n, rate)
			if rate < 0.99 {
				t.Errorf("%s n=%d: recall %.4f < 0.99", name, n, rate)
			}
		}
	}
	for _, n := range []int{18, 24, 32, 48} {
		hit := 0
		for k := 0; k < trials; k++ {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			e := base64.StdEncoding.EncodeToString(b)
			if _, _, ok := judge(e, 0, len(e)); ok || !hasLetterAndDigit(e) {
				hit++
			}
		}
		t.Logf("base64 of %d random bytes: detected %.4f", n, float64(hit)/trials)
	}
}

func hasLetterAndDigit(s string) bool {
	l, d := false, false
	for i := 0; i < len(s); i++ {
		l = l || isAlpha(s[i])
		d = d || isDigit(s[i])
	}
	return l && d
}
