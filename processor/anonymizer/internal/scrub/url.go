package scrub

import (
	"strings"

	"github.com/webjourney/webjourney/internal/urlquery"
)

const maxDepth = 2 // nested URLs in parameter values are scrubbed as URLs this deep

// url scrubs an absolute or relative URL. The scheme, host and port are
// kept as they are; userinfo is removed; the path is scrubbed segment by
// segment, the query parameter by parameter and the fragment as a query
// (#access_token=...), as a path plus query (#/route?x=1) or as text.
// Anything whose authority is not a plausible host is scrubbed as text.
func (s *Scrubber) url(raw string, c *Counts, depth int) string {
	return s.urlParts(raw, c, depth, nil)
}

// queryResult is the raw and the scrubbed query of a URL scrubbed part by
// part (not as text).
type queryResult struct {
	raw, scrubbed string
	ok            bool
}

func (s *Scrubber) urlParts(raw string, c *Counts, depth int, qr *queryResult) string {
	rest := raw
	frag, hasFrag := "", false
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, frag, hasFrag = rest[:i], rest[i+1:], true
	}
	q, hasQ := "", false
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, q, hasQ = rest[:i], rest[i+1:], true
	}
	head, pathPart := "", rest
	headChanged := false
	authStart := -1
	if n := schemeLen(rest); n > 0 {
		if strings.HasPrefix(rest[n+1:], "//") {
			authStart = n + 3
		} else {
			head, pathPart = rest[:n+1], rest[n+1:]
		}
	} else if strings.HasPrefix(rest, "//") {
		authStart = 2
	}
	if authStart >= 0 {
		end := len(rest)
		if i := strings.IndexByte(rest[authStart:], '/'); i >= 0 {
			end = authStart + i
		}
		auth := rest[authStart:end]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			auth = auth[at+1:]
			c[kUserInfo]++
			headChanged = true
		}
		if !plausibleHost(auth) {
			return s.text(raw, c)
		}
		if headChanged {
			head = rest[:authStart] + auth
		} else {
			head = rest[:end]
		}
		pathPart = rest[end:]
	}
	np := s.path(pathPart, c, depth, hostOf(head))
	nq := q
	if hasQ {
		nq = s.query(q, c, depth)
		if qr != nil {
			*qr = queryResult{raw: q, scrubbed: nq, ok: true}
		}
	}
	nf := frag
	if hasFrag {
		nf = s.fragment(frag, c, depth)
	}
	if !headChanged && np == pathPart && nq == q && nf == frag {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	b.WriteString(head)
	b.WriteString(np)
	if hasQ && (nq != "" || q == "") {
		b.WriteByte('?')
		b.WriteString(nq)
	}
	if hasFrag && (nf != "" || frag == "") {
		b.WriteByte('#')
		b.WriteString(nf)
	}
	return b.String()
}

// schemeLen returns the index of the ':' ending a scheme, or 0.
func schemeLen(s string) int {
	if s == "" || !isAlpha(s[0]) {
		return 0
	}
	for i := 1; i < len(s) && i < 32; i++ {
		c := s[i]
		switch {
		case isAlnum(c) || c == '+' || c == '-' || c == '.':
			continue
		case c == ':':
			return i
		default:
			return 0
		}
	}
	return 0
}

func plausibleHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(isAlnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_' || c == '%' || c == '~' || c >= 0x80) {
			return false
		}
	}
	return true
}

func (s *Scrubber) fragment(f string, c *Counts, depth int) string {
	if i := strings.IndexByte(f, '?'); i >= 0 {
		// A route before the "?" ("#/checkout?step=2"); but a head that
		// is itself parameters ("#sid=…?x") is scrubbed as parameters, as
		// it would be without what follows (else a second pass, seeing
		// it alone, would scrub what the first kept).
		var np string
		if strings.IndexByte(f[:i], '=') >= 0 {
			np = s.query(f[:i], c, depth)
		} else {
			np = s.path(f[:i], c, depth, "")
		}
		nq := s.query(f[i+1:], c, depth)
		if np == f[:i] && nq == f[i+1:] {
			return f
		}
		if nq == "" {
			return np
		}
		return np + "?" + nq
	}
	if strings.IndexByte(f, '=') >= 0 {
		return s.query(f, c, depth)
	}
	if strings.HasPrefix(f, "/") || strings.HasPrefix(f, "!/") {
		return s.path(f, c, depth, "")
	}
	return s.component(f, c, depth, false, "")
}

// hostOf returns the host of a URL head ("https://wa.me" -> "wa.me").
func hostOf(head string) string {
	if i := strings.Index(head, "//"); i >= 0 {
		return head[i+2:]
	}
	return ""
}

// path scrubs a path segment by segment. host labels the first segment
// (https://wa.me/<number>).
func (s *Scrubber) path(raw string, c *Counts, depth int, host string) string {
	var b []byte
	changed := false
	prev := host // the segment before: "/tickets/1234-5678-90", "/call/0612345678"
	for start := 0; start <= len(raw); {
		end := len(raw)
		if i := strings.IndexByte(raw[start:], '/'); i >= 0 {
			end = start + i
		}
		seg := raw[start:end]
		ns := s.segment(seg, c, depth, prev)
		if seg != "" {
			prev = seg
		}
		if ns != seg && !changed {
			changed = true
			b = make([]byte, 0, len(raw)+16)
			b = append(b, raw[:start]...)
		}
		if changed {
			b = append(b, ns...)
			if end < len(raw) {
				b = append(b, '/')
			}
		}
		start = end + 1
	}
	if !changed {
		return raw
	}
	return string(b)
}

// segment scrubs one path segment, including ;name=value matrix params
// (;jsessionid=...), to which the deny list applies.
func (s *Scrubber) segment(seg string, c *Counts, depth int, prev string) string {
	i := strings.IndexByte(seg, ';')
	if i < 0 {
		return s.component(seg, c, depth, true, prev)
	}
	first := s.component(seg[:i], c, depth, true, prev)
	changed := first != seg[:i]
	var b strings.Builder
	b.WriteString(first)
	for rest := seg[i+1:]; ; {
		part := rest
		j := strings.IndexByte(rest, ';')
		if j >= 0 {
			part = rest[:j]
		}
		name, val, hasVal := strings.Cut(part, "=")
		var nc Counts
		nn := s.component(name, &nc, depth, true, "")
		if s.decide(pctDecode(nn), "", false) == remove {
			c[kParam]++
			changed = true
		} else {
			c.Add(nc)
			b.WriteByte(';')
			b.WriteString(nn)
			if nn != name {
				changed = true
			}
			if hasVal {
				nv := s.component(val, c, depth, true, name)
				b.WriteByte('=')
				b.WriteString(nv)
				if nv != val {
					changed = true
				}
			}
		}
		if j < 0 {
			break
		}
		rest = rest[j+1:]
	}
	if !changed {
		return seg
	}
	return b.String()
}

// query scrubs a raw query string parameter by parameter.
func (s *Scrubber) query(raw string, c *Counts, depth int) string {
	var b []byte
	changed := false
	start := 0 // of part in raw
	for part := range urlquery.Parts(raw) {
		np, kept := s.param(part, raw, c, depth)
		if (!kept || np != part) && !changed {
			changed = true
			b = make([]byte, 0, len(raw))
			b = append(b, raw[:start]...)
			for len(b) > 0 && b[len(b)-1] == '&' {
				b = b[:len(b)-1]
			}
		}
		if changed && kept && np != "" {
			if len(b) > 0 {
				b = append(b, '&')
			}
			b = append(b, np...)
		}
		start += len(part) + 1
	}
	if !changed {
		return raw
	}
	return string(b)
}

func (s *Scrubber) param(part, query string, c *Counts, depth int) (string, bool) {
	if part == "" {
		return part, true
	}
	name, val, hasVal := strings.Cut(part, "=")
	// The name is scrubbed first and judged as scrubbed ("[email]" is
	// denied like "email"), so that a second pass decides the same way.
	var nc Counts
	nn := s.component(name, &nc, depth, false, "")
	dn := nn
	if strings.IndexByte(dn, '%') >= 0 {
		dn = pctDecode(dn)
	}
	if s.decide(dn, query, s.dropUnknown) == remove {
		c[kParam]++
		return "", false
	}
	c.Add(nc)
	if !hasVal {
		return nn, true
	}
	nv := s.component(val, c, depth, false, dn)
	if nn == name && nv == val {
		return part, true
	}
	return nn + "=" + nv, true
}

// component scrubs one raw (percent-encoded) URL component: it is
// decoded, scrubbed (as a URL when it is a nested URL, as text
// otherwise) and, only if something was found, re-encoded. label is what
// stands before it (the parameter name, the previous path segment),
// which says what a number at its start is.
func (s *Scrubber) component(raw string, c *Counts, depth int, pathSeg bool, label string) string {
	if raw == "" {
		return raw
	}
	dec := raw
	if strings.IndexByte(raw, '%') >= 0 {
		dec = pctDecode(raw)
	}
	var out string
	if depth < maxDepth && looksLikeURL(dec) {
		out = s.url(dec, c, depth+1)
	} else {
		out = s.textAfter(dec, c, label)
	}
	if out == dec {
		return raw
	}
	return escape(out, pathSeg)
}

func looksLikeURL(v string) bool {
	if len(v) > 8 && (strings.EqualFold(v[:7], "http://") || strings.EqualFold(v[:8], "https://")) {
		return true
	}
	if strings.HasPrefix(v, "/") && strings.ContainsAny(v, "?#;") {
		return true
	}
	return false
}

// pctDecode decodes valid %XX escapes; '+' and invalid escapes are kept.
func pctDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// escape percent-encodes what a query value (or path segment) must not
// contain literally. Markers like [email] stay readable.
func escape(s string, pathSeg bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		esc := c < 0x21 || c >= 0x7f
		switch c {
		case '%', '&', '#', '"', '<', '>', '\\', '^', '`', '{', '|', '}':
			esc = true
		case '/', '?', ';':
			esc = esc || pathSeg
		case '=':
			esc = pathSeg
		}
		if esc {
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
