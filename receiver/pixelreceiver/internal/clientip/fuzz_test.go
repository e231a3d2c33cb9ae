package clientip

import (
	"net/http"
	"testing"
)

// FuzzResolve checks that arbitrary peer addresses and forwarding headers
// never panic and always yield a normalized address (no zone, unmapped).
func FuzzResolve(f *testing.F) {
	f.Add("10.1.1.1:80", "198.51.100.7, 10.2.2.2", "https", `for="[2001:db8::1]:80";proto=https`)
	f.Add("[::1]:80", "unknown, _x", "", "for=unknown, for=_hidden")
	f.Add("@", "", "", "")
	r, err := NewResolver([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		f.Fatal(err)
	}
	rf, err := NewResolver([]string{"10.0.0.0/8", "::1"}, WithHeader("Forwarded"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff, xfp, fwd string) {
		h := http.Header{}
		if xff != "" {
			h["X-Forwarded-For"] = []string{xff, xff}
		}
		if xfp != "" {
			h["X-Forwarded-Proto"] = []string{xfp}
		}
		if fwd != "" {
			h["Forwarded"] = []string{fwd}
		}
		got, _ := r.Resolve(remote, h)
		if got.IsValid() && (got.Zone() != "" || got.Is4In6()) {
			t.Fatalf("not normalized: %v", got)
		}
		got, _ = rf.Resolve(remote, h)
		if got.IsValid() && (got.Zone() != "" || got.Is4In6()) {
			t.Fatalf("not normalized: %v", got)
		}
		delete(h, "Forwarded")
		got, _ = r.Resolve(remote, h)
		if got.IsValid() && (got.Zone() != "" || got.Is4In6()) {
			t.Fatalf("not normalized: %v", got)
		}
	})
}
