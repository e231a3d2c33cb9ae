package channel

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"sync/atomic"

	"golang.org/x/net/publicsuffix"
)

// ref is the part of a URL the classifier needs. Strings are substrings of
// the input (host is lower-cased, which allocates only if it had capitals).
type ref struct {
	host  string // normalised host: lower-case, no port, no trailing dot, no brackets
	path  string
	query string // raw query, without '?' and fragment
	app   bool   // android-app:// referrer: host is an Android package name
}

// parseRef extracts host, path and query from an http(s) or android-app URL,
// or from a scheme-less "host/path" string: a configured domain written as
// a URL, or a campaign source written as a domain. (Events come with their
// URLs split into parts: see referrerOf.) It reports false for anything it
// cannot use: other schemes (about:, javascript:, file:, chrome-extension:),
// an empty or invalid host. It never panics and does not allocate unless the
// host needs lower-casing.
func parseRef(s string) (ref, bool) {
	var r ref
	s = strings.TrimSpace(s)
	if s == "" {
		return r, false
	}
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := s[:i]
		switch {
		case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "https"):
		case strings.EqualFold(scheme, "android-app"):
			r.app = true
		default:
			return r, false
		}
		s = s[i+3:]
	} else if strings.HasPrefix(s, "//") {
		s = s[2:]
	} else {
		// Scheme-less: accept "host[:port][/path]" when the host has a dot;
		// reject "about:blank", "javascript:...", "mailto:...", plain words.
		i := strings.IndexAny(s, ":/?#")
		if i < 0 {
			i = len(s)
		}
		if !strings.Contains(s[:i], ".") || (i < len(s) && s[i] == ':' && !looksLikePort(s[i+1:])) {
			return r, false
		}
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	end := strings.IndexAny(s, "/?")
	authority := s
	if end >= 0 {
		authority = s[:end]
		rest := s[end:]
		if q := strings.IndexByte(rest, '?'); q >= 0 {
			r.path, r.query = rest[:q], rest[q+1:]
		} else {
			r.path = rest
		}
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	host, ok := hostOf(authority)
	if !ok {
		return ref{}, false
	}
	r.host = host
	return r, true
}

// referrerOf checks and normalises the referrer parts of an Input. It
// reports false for a referrer it cannot use: none, another scheme than
// http(s) and android-app, an invalid host.
func referrerOf(in Referrer) (ref, bool) {
	r := ref{path: in.Path, query: in.Query}
	switch s := in.Scheme; {
	case s == "", strings.EqualFold(s, "http"), strings.EqualFold(s, "https"):
	case strings.EqualFold(s, "android-app"):
		r.app = true
	default:
		return ref{}, false
	}
	h, ok := hostOfPart(in.Host)
	if !ok {
		return ref{}, false
	}
	r.host = h
	return r, true
}

// hostOfPart normalises a host name as the receiver writes it (url.domain,
// webjourney.referrer.domain: lower case, IPv6 without brackets) or an
// OTLP client might: "" and invalid hosts report false.
func hostOfPart(h string) (string, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", false
	}
	if strings.IndexByte(h, ':') >= 0 && h[0] != '[' {
		if a, err := netip.ParseAddr(h); err == nil && a.Is6() { // a bare IPv6 address
			return strings.ToLower(h), true
		}
	}
	return hostOf(h)
}

// looksLikePort reports whether s starts with a port number followed by the
// end of the authority (so "example.com:8080/x" is a scheme-less host).
func looksLikePort(s string) bool {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n > 0 && (n == len(s) || s[n] == '/' || s[n] == '?' || s[n] == '#')
}

// hostOf normalises an authority without userinfo into a host.
func hostOf(a string) (string, bool) {
	if strings.HasPrefix(a, "[") { // IPv6 literal
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", false
		}
		h := a[1:end]
		if _, err := netip.ParseAddr(h); err != nil {
			return "", false
		}
		return strings.ToLower(h), true
	}
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		for _, c := range []byte(a[i+1:]) {
			if c < '0' || c > '9' {
				return "", false
			}
		}
		a = a[:i]
	}
	a = strings.TrimSuffix(a, ".")
	if a == "" || len(a) > 253 {
		return "", false
	}
	upper := false
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 0x80: // internationalised name in Unicode form
			upper = true
		default:
			return "", false
		}
	}
	if a[0] == '.' || strings.Contains(a, "..") {
		return "", false
	}
	if upper {
		a = strings.ToLower(a)
	}
	return a, true
}

// registrable returns the registrable domain (eTLD+1) of a host and whether
// its public suffix is an ICANN one. IP addresses and hosts that are
// themselves a public suffix (or a single label) are returned unchanged.
func registrable(host string) (rd string, icann bool) {
	if host == "" {
		return "", false
	}
	// Referrer hosts repeat (the site's own, the big search engines and
	// networks): remember recent answers in a small direct-mapped table,
	// bounded whatever hosts arrive, lock-free for concurrent callers.
	slot := &rdCache[maphash.String(rdSeed, host)&uint64(len(rdCache)-1)]
	if e := slot.Load(); e != nil && e.host == host {
		return e.rd, e.icann
	}
	rd, icann = lookupRegistrable(host)
	// Cloned: host is a substring of a URL the cache must not keep alive.
	h := strings.Clone(host)
	slot.Store(&rdEntry{host: h, rd: h[len(h)-len(rd):], icann: icann})
	return rd, icann
}

type rdEntry struct {
	host, rd string
	icann    bool
}

var (
	rdSeed  = maphash.MakeSeed()
	rdCache [1024]atomic.Pointer[rdEntry]
)

// lookupRegistrable is registrable without the cache.
func lookupRegistrable(host string) (rd string, icann bool) {
	if last := host[len(host)-1]; (last >= '0' && last <= '9') || strings.IndexByte(host, ':') >= 0 {
		if _, err := netip.ParseAddr(host); err == nil {
			return host, false
		}
	}
	suffix, icann := publicsuffix.PublicSuffix(host)
	if len(host) <= len(suffix) {
		return host, false
	}
	i := len(host) - len(suffix) - 1
	if host[i] != '.' {
		return host, false
	}
	return host[strings.LastIndexByte(host[:i], '.')+1:], icann
}

// parent strips the leftmost label of host ("" when there is none).
func parent(host string) string {
	if i := strings.IndexByte(host, '.'); i >= 0 {
		return host[i+1:]
	}
	return ""
}
