package clientip

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"
)

func mustResolver(t testing.TB, trusted ...string) *Resolver {
	t.Helper()
	r, err := NewResolver(trusted)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustResolverFor(t testing.TB, header Header, trusted ...string) *Resolver {
	t.Helper()
	r, err := NewResolver(trusted, WithHeader(header))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewResolverErrors(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.300", "10.0.0.0/33", "proxy.example", "fe80::1%eth0", "::1/129"} {
		_, err := NewResolver([]string{"10.0.0.1", bad})
		if err == nil {
			t.Errorf("NewResolver(%q): no error", bad)
			continue
		}
		if !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("NewResolver(%q): error %q does not name the entry", bad, err)
		}
	}
	if _, err := NewResolver([]string{" 10.0.0.0/8 ", "::1", "::ffff:192.0.2.0/120", "2001:db8::/32"}); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	r := mustResolver(t, "10.0.0.0/8", "::1", "::ffff:192.168.0.1", "2001:db8:ffff::/48")
	type hdr = map[string][]string
	tests := []struct {
		name      string
		remote    string
		h         hdr
		want      string
		wantHTTPS bool
	}{
		{"untrusted peer ignores headers", "203.0.113.9:1234", hdr{"X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Proto": {"https"}}, "203.0.113.9", false},
		{"untrusted peer ignores Forwarded", "203.0.113.9:1234", hdr{"Forwarded": {"for=1.2.3.4;proto=https"}}, "203.0.113.9", false},
		{"bare remote addr", "203.0.113.9", nil, "203.0.113.9", false},
		{"ipv6 remote", "[2001:db8::5]:443", nil, "2001:db8::5", false},
		{"ipv6 remote with zone", "[fe80::1%eth0]:443", nil, "fe80::1", false},
		{"mapped remote", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9", false},
		{"unix socket remote", "@", nil, "invalid IP", false},
		{"empty remote", "", nil, "invalid IP", false},
		{"trusted no headers", "10.1.1.1:80", nil, "10.1.1.1", false},
		{"trusted proto only", "10.1.1.1:80", hdr{"X-Forwarded-Proto": {"HTTPS"}}, "10.1.1.1", true},
		{"xff single", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7", false},
		{"xff spoofed left part ignored", "10.1.1.1:80", hdr{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7, 10.2.2.2"}}, "198.51.100.7", false},
		{"xff multiple lines", "10.1.1.1:80", hdr{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7", "10.2.2.2 , 10.3.3.3"}}, "198.51.100.7", false},
		{"xff all trusted gives leftmost", "10.1.1.1:80", hdr{"X-Forwarded-For": {"10.9.9.9, 10.2.2.2"}}, "10.9.9.9", false},
		{"xff with ports", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7:5555, [2001:db8:ffff::1]:80"}}, "198.51.100.7", false},
		{"xff ipv6 client", "[::1]:80", hdr{"X-Forwarded-For": {"2001:db8:1::2"}}, "2001:db8:1::2", false},
		{"xff mapped client", "[::1]:80", hdr{"X-Forwarded-For": {"::ffff:198.51.100.7"}}, "198.51.100.7", false},
		{"xff zone dropped", "[::1]:80", hdr{"X-Forwarded-For": {"fe80::7%25eth0, fe80::7%eth0"}}, "fe80::7", false},
		{"mapped trusted proxy peer", "[::ffff:192.168.0.1]:80", hdr{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7", false},
		{"xff garbage stops walk", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7, <script>, 10.2.2.2"}}, "10.2.2.2", false},
		{"xff garbage first", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7, garbage"}}, "10.1.1.1", false},
		{"xff unknown stops walk", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7, unknown"}}, "10.1.1.1", false},
		{"xff empty elements", "10.1.1.1:80", hdr{"X-Forwarded-For": {",, 198.51.100.7 ,,", ""}}, "198.51.100.7", false},
		{"xff proto https", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7"}, "X-Forwarded-Proto": {"https"}}, "198.51.100.7", true},
		{"xff proto rightmost wins", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7"}, "X-Forwarded-Proto": {"https, http"}}, "198.51.100.7", false},
		{"xff proto aligned per hop", "10.1.1.1:80", hdr{"X-Forwarded-For": {"198.51.100.7, 10.2.2.2"}, "X-Forwarded-Proto": {"https", "http"}}, "198.51.100.7", true},
		{"forwarded simple", "10.1.1.1:80", hdr{"Forwarded": {"for=198.51.100.7;proto=https"}}, "198.51.100.7", true},
		{"forwarded preferred over xff", "10.1.1.1:80", hdr{"Forwarded": {"for=198.51.100.7"}, "X-Forwarded-For": {"198.51.100.8"}}, "198.51.100.7", false},
		{"forwarded case and spaces", "10.1.1.1:80", hdr{"Forwarded": {` For = "198.51.100.7:4711" ; PROTO=HTTPS ; by=10.1.1.1`}}, "198.51.100.7", true},
		{"forwarded quoted ipv6", "10.1.1.1:80", hdr{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17", false},
		{"forwarded quoted ipv6 no port", "10.1.1.1:80", hdr{"Forwarded": {`for="[2001:db8:cafe::17]"`}}, "2001:db8:cafe::17", false},
		{"forwarded obfuscated port", "10.1.1.1:80", hdr{"Forwarded": {`for="[2001:db8:cafe::17]:_p1"`}}, "2001:db8:cafe::17", false},
		{"forwarded chain", "10.1.1.1:80", hdr{"Forwarded": {"for=6.6.6.6, for=198.51.100.7;proto=https, for=10.2.2.2;proto=http"}}, "198.51.100.7", true},
		{"forwarded multiple lines", "10.1.1.1:80", hdr{"Forwarded": {"for=6.6.6.6, for=198.51.100.7;proto=https", "for=10.2.2.2;proto=http"}}, "198.51.100.7", true},
		{"forwarded unknown stops", "10.1.1.1:80", hdr{"Forwarded": {"for=198.51.100.7, for=unknown;proto=https"}}, "10.1.1.1", false},
		{"forwarded obfuscated stops", "10.1.1.1:80", hdr{"Forwarded": {"for=198.51.100.7, for=_hidden, for=10.2.2.2"}}, "10.2.2.2", false},
		{"forwarded quoted comma", "10.1.1.1:80", hdr{"Forwarded": {`for=6.6.6.6;ext="a,b", for=198.51.100.7`}}, "198.51.100.7", false},
		{"forwarded garbage", "10.1.1.1:80", hdr{"Forwarded": {"garbage"}}, "10.1.1.1", false},
		{"forwarded no for", "10.1.1.1:80", hdr{"Forwarded": {"proto=https"}}, "10.1.1.1", false},
		{"forwarded unterminated quote", "10.1.1.1:80", hdr{"Forwarded": {`for="198.51.100.7`}}, "10.1.1.1", false},
	}
	// The proxies in front set the header the cases named "forwarded" read.
	rf := mustResolverFor(t, "Forwarded", "10.0.0.0/8", "::1", "::ffff:192.168.0.1", "2001:db8:ffff::/48")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := r
			if strings.HasPrefix(tt.name, "forwarded") {
				r = rf
			}
			got, https := r.Resolve(tt.remote, http.Header(tt.h))
			if got.String() != tt.want || https != tt.wantHTTPS {
				t.Errorf("Resolve(%q, %v) = %v, %v; want %v, %v", tt.remote, tt.h, got, https, tt.want, tt.wantHTTPS)
			}
		})
	}
}

func TestResolveNoTrustedProxies(t *testing.T) {
	r := mustResolver(t)
	got, https := r.Resolve("10.1.1.1:80", http.Header{"X-Forwarded-For": {"198.51.100.7"}, "X-Forwarded-Proto": {"https"}})
	if got != netip.MustParseAddr("10.1.1.1") || https {
		t.Errorf("got %v %v", got, https)
	}
}

func TestResolveHopCap(t *testing.T) {
	r := mustResolver(t, "10.0.0.0/8")
	// A client hidden behind more than MaxHops trusted-looking entries is
	// not reached; the walk ends at the last examined hop.
	hops := make([]string, 0, 1000)
	hops = append(hops, "198.51.100.7")
	for range 999 {
		hops = append(hops, "10.2.2.2")
	}
	got, _ := r.Resolve("10.1.1.1:80", http.Header{"X-Forwarded-For": {strings.Join(hops, ", ")}})
	if got != netip.MustParseAddr("10.2.2.2") {
		t.Errorf("got %v", got)
	}
	// Within the cap, a huge spoofed prefix is irrelevant.
	h := http.Header{"X-Forwarded-For": {strings.Repeat("6.6.6.6, ", 10000) + "198.51.100.7, 10.2.2.2"}}
	if got, _ := r.Resolve("10.1.1.1:80", h); got != netip.MustParseAddr("198.51.100.7") {
		t.Errorf("got %v", got)
	}
	fh := http.Header{"Forwarded": {strings.Repeat("for=6.6.6.6, ", 10000) + "for=198.51.100.7"}}
	if got, _ := mustResolverFor(t, "Forwarded", "10.0.0.0/8").Resolve("10.1.1.1:80", fh); got != netip.MustParseAddr("198.51.100.7") {
		t.Errorf("got %v", got)
	}
}

func TestHTTPS(t *testing.T) {
	r := mustResolver(t, "10.0.0.0/8")
	req, _ := http.NewRequest(http.MethodGet, "/p.gif", nil)
	req.RemoteAddr = "203.0.113.9:1"
	req.Header.Set("X-Forwarded-Proto", "https")
	if r.HTTPS(req) {
		t.Error("untrusted peer's X-Forwarded-Proto honoured")
	}
	req.TLS = &tls.ConnectionState{}
	if !r.HTTPS(req) {
		t.Error("TLS connection not HTTPS")
	}
	req.TLS = nil
	req.RemoteAddr = "10.0.0.2:1"
	if !r.HTTPS(req) {
		t.Error("trusted proxy's X-Forwarded-Proto ignored")
	}
}

func TestHeaderValidate(t *testing.T) {
	for _, ok := range []Header{"X-Forwarded-For", "Forwarded", "x-real-ip", "CF-Connecting-IP", "True-Client-IP"} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []Header{"", "X Forwarded", "X-Forwarded-For:", "Forwarded\r\n"} {
		if bad.Validate() == nil {
			t.Errorf("%q accepted", bad)
		}
		if _, err := NewResolver(nil, WithHeader(bad)); err == nil {
			t.Errorf("NewResolver with %q: no error", bad)
		}
	}
}

// forgeries are the forwarding headers a browser can add to its request:
// a proxy passes on every one it does not set itself.
var forgeries = http.Header{
	"Forwarded":           {"for=198.51.100.66;proto=https", `for="[2001:db8::66]"`},
	"X-Forwarded-For":     {"198.51.100.77"},
	"X-Forwarded-Proto":   {"https"},
	"X-Real-Ip":           {"198.51.100.88"},
	"True-Client-Ip":      {"198.51.100.89"},
	"Cf-Connecting-Ip":    {"198.51.100.90"},
	"X-Client-Ip":         {"198.51.100.91"},
	"X-Cluster-Client-Ip": {"198.51.100.92"},
	"Fastly-Client-Ip":    {"198.51.100.93"},
	"Client-Ip":           {"198.51.100.94"},
	"X-Originating-Ip":    {"198.51.100.95"},
	"X-Remote-Addr":       {"198.51.100.96"},
}

// Whatever header the proxies set, a forged header of any kind never
// becomes the client address: only the configured header's rightmost
// untrusted hop does.
func TestForgedHeaders(t *testing.T) {
	const browser, proxy = "203.0.113.50", "10.1.1.1:80"
	for _, tc := range []struct {
		header Header
		// set adds what the trusted proxy itself writes, after the
		// browser's forgeries: appended to a list, or the header replaced.
		set func(h http.Header)
	}{
		{"X-Forwarded-For", func(h http.Header) { h["X-Forwarded-For"] = []string{h.Get("X-Forwarded-For") + ", " + browser} }},
		{"X-Forwarded-For", func(h http.Header) { h["X-Forwarded-For"] = append(h["X-Forwarded-For"], browser) }},
		{"Forwarded", func(h http.Header) { h["Forwarded"] = append(h["Forwarded"], "for="+browser) }},
		{"Forwarded", func(h http.Header) { h["Forwarded"] = []string{"for=" + browser} }},
		{"X-Real-IP", func(h http.Header) { h["X-Real-Ip"] = []string{browser} }},
		{"CF-Connecting-IP", func(h http.Header) { h["Cf-Connecting-Ip"] = []string{browser} }},
	} {
		r := mustResolverFor(t, tc.header, "10.0.0.0/8")
		// Each forged header alone, then all of them at once.
		for name := range forgeries {
			h := http.Header{name: forgeries[name]}
			tc.set(h)
			if got, _ := r.Resolve(proxy, h); got.String() != browser {
				t.Errorf("header %s, forged %s: client %v, want %s", tc.header, name, got, browser)
			}
		}
		h := http.Header{}
		for name, v := range forgeries {
			h[name] = append([]string(nil), v...)
		}
		tc.set(h)
		got, https := r.Resolve(proxy, h)
		if got.String() != browser {
			t.Errorf("header %s, all forged: client %v, want %s", tc.header, got, browser)
		}
		if tc.header == "Forwarded" && https {
			t.Errorf("header Forwarded: the browser's X-Forwarded-Proto was believed")
		}
		// The proxy set nothing: the proxy is the client, whatever the
		// browser sent.
		h = http.Header{}
		for name, v := range forgeries {
			if name != textproto.CanonicalMIMEHeaderKey(string(tc.header)) {
				h[name] = v
			}
		}
		if got, _ := r.Resolve(proxy, h); got.String() != "10.1.1.1" {
			t.Errorf("header %s absent: client %v, want the proxy", tc.header, got)
		}
		// An untrusted peer: its own address, whatever it sends.
		h = http.Header{}
		for name, v := range forgeries {
			h[name] = v
		}
		tc.set(h)
		if got, https := r.Resolve("203.0.113.7:4000", h); got.String() != "203.0.113.7" || https {
			t.Errorf("header %s, untrusted peer: %v %v", tc.header, got, https)
		}
	}
}
