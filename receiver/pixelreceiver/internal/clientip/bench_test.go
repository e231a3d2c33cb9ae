package clientip

import (
	"net/http"
	"testing"
)

func BenchmarkResolve(b *testing.B) {
	r := mustResolver(b, "10.0.0.0/8", "2001:db8:ffff::/48")
	rf := mustResolverFor(b, "Forwarded", "10.0.0.0/8", "2001:db8:ffff::/48")
	cases := []struct {
		name   string
		r      *Resolver
		remote string
		h      http.Header
	}{
		{"direct", r, "203.0.113.9:4321", http.Header{}},
		{"xff", r, "10.1.1.1:80", http.Header{"X-Forwarded-For": {"198.51.100.7, 10.2.2.2"}, "X-Forwarded-Proto": {"https"}}},
		{"forwarded", rf, "10.1.1.1:80", http.Header{"Forwarded": {`for="[2001:db8:cafe::17]:4711";proto=https, for=10.2.2.2`}}},
	}
	for _, c := range cases {
		r := c.r
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Resolve(c.remote, c.h)
			}
		})
	}
}
