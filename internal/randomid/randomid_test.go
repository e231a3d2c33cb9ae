package randomid

import (
	"regexp"
	"testing"
)

func TestNew(t *testing.T) {
	format := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if !format.MatchString(id) {
			t.Fatalf("%q is not 32 lower-case hex digits", id)
		}
		if seen[id] {
			t.Fatalf("%q made twice", id)
		}
		seen[id] = true
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = New()
	}
}
