package botdetect

import "testing"

// FuzzIsBot checks that the literal prefilter never changes the answer:
// IsBot must agree with trying every pattern of the list.
func FuzzIsBot(f *testing.F) {
	for _, ua := range browsers[:3] {
		f.Add(ua)
	}
	for _, ua := range bots[:3] {
		f.Add(ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got, want := IsBot(ua), bruteForce(ua)
		if got != want {
			t.Fatalf("IsBot(%q) = %v, list says %v", ua, got, want)
		}
	})
}
