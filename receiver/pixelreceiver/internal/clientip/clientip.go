// Package clientip finds the address of the browser that sent a request
// when the receiver runs behind reverse proxies or load balancers.
//
// Forwarding headers (Forwarded, X-Forwarded-For, X-Forwarded-Proto) can be
// set by anyone, so they are only read when the TCP peer is one of the
// configured trusted proxies, and of those only the one header the proxies
// are known to set (WithHeader; X-Forwarded-For by default): a proxy
// passes on the other headers as the browser made them up (nginx forwards a
// browser's Forwarded header untouched), so reading whichever is present
// would let a visitor choose its own address. The header is read only as
// far as the chain of trusted proxies reaches: it is walked from right
// (nearest hop, appended by our own proxy) to left, trusted hops are skipped and the first untrusted
// address is the client. Everything to its left was written by the client
// itself and is ignored. Walking stops at the first element that is not an
// address ("unknown", an obfuscated identifier, garbage): a trusted proxy
// that did not know its peer cannot vouch for what that peer claimed, so the
// nearest address known so far is returned instead of a spoofable one.
package clientip // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/clientip"

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
)

// MaxHops is the largest number of forwarding elements examined, counted
// from the right. It bounds the work an attacker can cause with a huge
// header; real proxy chains are a handful of hops long.
const MaxHops = 32

// Resolver resolves the client address of a request. It is immutable after
// NewResolver and safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
	header  string // canonical
}

// DefaultHeader is the header trusted proxies are assumed to set: the one
// every common proxy and load balancer sets by default.
const DefaultHeader Header = "X-Forwarded-For"

// Header names the request header that trusted proxies set with the
// client address. Forwarded (RFC 7239) is read as such, with the scheme
// in its proto= parameter; any other header as a comma-separated list of
// addresses like X-Forwarded-For (a single-address header such as
// X-Real-IP is a list of one), with the scheme in X-Forwarded-Proto.
type Header string

// Validate checks that h is a header field name.
func (h Header) Validate() error {
	if h == "" {
		return errors.New(`must name the header the trusted proxies set, e.g. "X-Forwarded-For" or "Forwarded"`)
	}
	for _, c := range []byte(h) {
		if !isTokenChar(c) {
			return fmt.Errorf("%q is not a header name", string(h))
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Option configures a Resolver.
type Option func(*Resolver) error

// WithHeader names the header the trusted proxies set with the client
// address; only it is read. Without this option it is DefaultHeader.
func WithHeader(h Header) Option {
	return func(r *Resolver) error {
		if err := h.Validate(); err != nil {
			return err
		}
		r.header = textproto.CanonicalMIMEHeaderKey(string(h))
		return nil
	}
}

// NewResolver returns a Resolver trusting the given proxies, each an IP
// address ("10.0.0.1", "::1") or a CIDR prefix ("10.0.0.0/8", "fd00::/8").
// An empty list trusts nobody: the peer address is always the client.
func NewResolver(trustedProxies []string, opts ...Option) (*Resolver, error) {
	r := &Resolver{trusted: make([]netip.Prefix, 0, len(trustedProxies)), header: string(DefaultHeader)}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	for _, s := range trustedProxies {
		entry := strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(entry, "/") {
			var err error
			if p, err = netip.ParsePrefix(entry); err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix: %w", s, err)
			}
			// Unmap ::ffff:a.b.c.d/n so it matches the unmapped peer
			// addresses we compare against.
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
		} else {
			a, err := netip.ParseAddr(entry)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix: %w", s, err)
			}
			if a.Zone() != "" {
				// Peers are compared without zones; a zoned entry would
				// silently trust the address on every interface.
				return nil, fmt.Errorf("trusted proxy %q: zones are not supported", s)
			}
			a = normalize(a)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

// isTrusted reports whether a (normalized) address belongs to a trusted proxy.
// A linear scan is fine: deployments list a few proxies or ranges.
func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address for a request whose TCP peer is
// remoteAddr (http.Request.RemoteAddr, "ip:port" or a bare IP) and whose
// headers are h, and whether a trusted proxy reported that the client used
// HTTPS. The returned address is unmapped (IPv4-in-IPv6 becomes IPv4) and has
// no zone. When remoteAddr is not an IP address (e.g. a Unix socket) the
// returned address is invalid (!client.IsValid()).
//
// If the peer is a trusted proxy, the resolver's header is read: Forwarded
// (RFC 7239) with its proto= parameters, any other header as an
// X-Forwarded-For list with X-Forwarded-Proto. Every other forwarding
// header is ignored, whatever it says. Headers sent as several lines are
// read as one list, in order.
func (r *Resolver) Resolve(remoteAddr string, h http.Header) (client netip.Addr, https bool) {
	peer, ok := parseNode(remoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if len(r.trusted) == 0 || !r.isTrusted(peer) {
		return peer, false
	}
	if r.header == "Forwarded" {
		// X-Forwarded-Proto is not read: proxies that set Forwarded put
		// the scheme in it, so the other header is the browser's.
		return r.walkForwarded(peer, h["Forwarded"])
	}
	if list := h[r.header]; len(list) > 0 {
		return r.walkXFF(peer, list, h["X-Forwarded-Proto"])
	}
	// A trusted proxy without forwarding headers: it is the client as far as
	// we can tell, but it may still say which scheme it was reached with.
	return peer, protoIsHTTPS(lastElement(h["X-Forwarded-Proto"]))
}

// HTTPS reports whether the client reached us over HTTPS: either the
// connection itself is TLS, or a trusted proxy says so.
func (r *Resolver) HTTPS(req *http.Request) bool {
	if req.TLS != nil {
		return true
	}
	_, https := r.Resolve(req.RemoteAddr, req.Header)
	return https
}

// ring keeps the last MaxHops list elements of a header without
// allocating, however long the header is.
type ring struct {
	buf [MaxHops]string
	n   int // total elements pushed
}

func (g *ring) push(s string) {
	g.buf[g.n%MaxHops] = s
	g.n++
}

// pushList pushes the non-empty elements of comma-separated header lines.
func (g *ring) pushList(lines []string) {
	for _, line := range lines {
		for line != "" {
			var elem string
			elem, line, _ = strings.Cut(line, ",")
			if elem = strings.TrimSpace(elem); elem != "" {
				g.push(elem)
			}
		}
	}
}

// len is the number of elements kept (at most MaxHops).
func (g *ring) len() int { return min(g.n, MaxHops) }

// fromRight returns the i-th kept element counting from the right (0 = last).
func (g *ring) fromRight(i int) string { return g.buf[(g.n-1-i)%MaxHops] }

// walkXFF walks an X-Forwarded-For list from the right.
func (r *Resolver) walkXFF(peer netip.Addr, xff, xfp []string) (netip.Addr, bool) {
	var hops ring
	hops.pushList(xff)
	client, idx := peer, -1
	for i := range hops.len() {
		a, ok := parseNode(hops.fromRight(i))
		if !ok {
			break
		}
		client, idx = a, i
		if !r.isTrusted(a) {
			break
		}
	}
	if idx < 0 {
		return client, protoIsHTTPS(lastElement(xfp))
	}
	// X-Forwarded-Proto is usually set (overwritten) by the nearest proxy,
	// sometimes appended per hop. When it lists exactly one scheme per hop,
	// use the scheme recorded for the client's hop; otherwise the
	// rightmost, written by our own trusted proxy.
	var protos ring
	protos.pushList(xfp)
	if protos.n == 0 {
		return client, false
	}
	if protos.n == hops.n {
		return client, protoIsHTTPS(protos.fromRight(idx))
	}
	return client, protoIsHTTPS(protos.fromRight(0))
}

// walkForwarded walks RFC 7239 Forwarded elements from the right.
func (r *Resolver) walkForwarded(peer netip.Addr, lines []string) (netip.Addr, bool) {
	var elems ring
	for _, line := range lines {
		for line != "" {
			var elem string
			elem, line = cutElement(line)
			if elem = strings.TrimSpace(elem); elem != "" {
				elems.push(elem)
			}
		}
	}
	client, https := peer, false
	for i := range elems.len() {
		forNode, proto, ok := parseForwardedElement(elems.fromRight(i))
		if !ok {
			break
		}
		a, ok := parseNode(forNode)
		if !ok {
			// "unknown", "_obfuscated", missing for= or garbage.
			break
		}
		// proto= in an element is the scheme the hop named in for= used to
		// reach the proxy that wrote the element.
		client, https = a, protoIsHTTPS(proto)
		if !r.isTrusted(a) {
			break
		}
	}
	return client, https
}

// cutElement splits off the first comma-separated element of a Forwarded
// header line, not splitting inside quoted strings.
func cutElement(s string) (elem, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++ // skip escaped character
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// parseForwardedElement extracts the for= and proto= values of one
// Forwarded element ("for=192.0.2.60;proto=http;by=203.0.113.43").
// Parameter names are case-insensitive; values may be quoted.
func parseForwardedElement(elem string) (forNode, proto string, ok bool) {
	for elem != "" {
		var pair string
		pair, elem = cutPair(elem)
		name, value, found := strings.Cut(pair, "=")
		if !found {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			return "", "", false
		}
		value = unquote(strings.TrimSpace(value))
		switch name = strings.TrimSpace(name); {
		case strings.EqualFold(name, "for"):
			forNode = value
		case strings.EqualFold(name, "proto"):
			proto = value
		}
	}
	return forNode, proto, true
}

// cutPair splits off the first ';'-separated pair, respecting quotes.
func cutPair(s string) (pair, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// unquote strips the quotes of an RFC 7230 quoted-string. Escapes are not
// decoded: no valid node or scheme contains a backslash, so a value that
// has one simply fails to parse later.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// parseNode parses an address as found in RemoteAddr, X-Forwarded-For or a
// Forwarded for= node: "192.0.2.1", "192.0.2.1:8080", "[2001:db8::1]",
// "[2001:db8::1]:8080", or a bare "2001:db8::1". The result is normalized.
func parseNode(s string) (netip.Addr, bool) {
	if len(s) > 64 { // longer than any address with port and zone
		return netip.Addr{}, false
	}
	// Pick the parser by shape first: a failed parse allocates its error,
	// and "ip:port" is the common RemoteAddr form.
	switch {
	case s == "":
		return netip.Addr{}, false
	case s[0] == '[':
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return normalize(ap.Addr()), true
		}
		// Bracketed IPv6 without port, or with an obfuscated port
		// ("[2001:db8::1]:_abc", which RFC 7239 allows).
		if end := strings.IndexByte(s, ']'); end > 0 {
			if rest := s[end+1:]; rest == "" || rest[0] == ':' {
				if a, err := netip.ParseAddr(s[1:end]); err == nil && a.Is6() {
					return normalize(a), true
				}
			}
		}
	case strings.Count(s, ":") == 1: // IPv4 with port
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return normalize(ap.Addr()), true
		}
	default: // IPv4 or unbracketed IPv6, no port
		if a, err := netip.ParseAddr(s); err == nil {
			return normalize(a), true
		}
	}
	return netip.Addr{}, false
}

// normalize unmaps IPv4-mapped IPv6 addresses and drops zones, so one host
// always has one representation (for trust checks, rate limiting, geo).
func normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// lastElement returns the rightmost comma-separated element of a list
// header given as several lines.
func lastElement(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for line != "" {
			j := strings.LastIndexByte(line, ',')
			if e := strings.TrimSpace(line[j+1:]); e != "" {
				return e
			}
			if j < 0 {
				break
			}
			line = line[:j]
		}
	}
	return ""
}

func protoIsHTTPS(p string) bool { return strings.EqualFold(p, "https") }
