package framing

import (
	"testing"
)

// FuzzParser: on any byte stream, cut anywhere, the parser neither panics
// nor changes its verdict, and every request it passes ends where Go's
// own parser ends it.
func FuzzParser(f *testing.F) {
	for _, tc := range framingCases {
		f.Add([]byte(tc.raw+smuggled), uint16(7))
	}
	f.Fuzz(func(t *testing.T, raw []byte, step uint16) {
		if len(raw) > 4096 {
			return
		}
		_, want := feedAll(string(raw), nil)
		var cuts []int
		for i := int(step%64) + 1; i < len(raw); i += int(step%64) + 1 {
			cuts = append(cuts, i)
		}
		if _, got := feedAll(string(raw), cuts); got != want {
			t.Fatalf("verdict %q whole, %q cut every %d bytes", want, got, step%64+1)
		}
		checkAgreesWithGo(t, raw)
	})
}
