package scrub

import (
	"strings"

	"github.com/webjourney/webjourney/internal/urlquery"
)

// Parameter names are compared after normalisation: ASCII lower case with
// the separators - _ . space and brackets removed, so "user_email",
// "userEmail", "user-email" and "user[email]" all become "useremail".
func normalizeName(name string) string {
	var buf [64]byte
	return string(normName(buf[:0], name))
}

func normName(dst []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '-', '_', '.', ' ', '[', ']', '+':
			continue
		}
		if isUpper(c) {
			c |= 0x20
		}
		dst = append(dst, c)
	}
	return dst
}

type verdict uint8

const (
	keep verdict = iota
	remove
)

// decide returns whether parameter rawName is removed. query is the full
// query the parameter belongs to (for the OAuth "code" rule), or "".
func (s *Scrubber) decide(name string, query string, dropUnknown bool) verdict {
	// Sites use a handful of parameter names over and over; remember the
	// verdicts that do not depend on the rest of the query.
	cacheable := !dropUnknown && len(name) <= maxCachedName
	if cacheable {
		if v, ok := s.verdicts.Load(name); ok {
			return v.(verdict)
		}
	}
	v := s.decideUncached(name, query, dropUnknown)
	if cacheable && !isCode(name) && s.cached.Add(1) <= maxCachedNames {
		s.verdicts.Store(strings.Clone(name), v)
	}
	return v
}

// maxCachedNames bounds the verdict cache: parameter names come from the
// internet, and a flood of invented ones must not grow memory.
const (
	maxCachedNames = 4096
	maxCachedName  = 64
)

// isCode reports whether name normalises to "code", whose verdict depends
// on the rest of the query (OAuth responses).
func isCode(name string) bool {
	var buf [64]byte
	return string(normName(buf[:0], name)) == "code"
}

func (s *Scrubber) decideUncached(name string, query string, dropUnknown bool) verdict {
	var buf [64]byte
	n := normName(buf[:0], name)
	if len(s.deny) > 0 {
		if _, ok := s.deny[string(n)]; ok {
			return remove
		}
	}
	if len(name) >= 4 && (strings.EqualFold(name[:4], "utm_") || strings.EqualFold(name[:4], "mtm_")) {
		return keep
	}
	if len(s.allow) > 0 {
		if _, ok := s.allow[string(n)]; ok {
			return keep
		}
	}
	if builtinDenied(name, n) {
		return remove
	}
	if string(n) == "code" && query != "" && oauthResponse(query) {
		return remove
	}
	if dropUnknown {
		return remove
	}
	return keep
}

func oauthResponse(q string) bool {
	for name := range urlquery.Params(q) {
		switch strings.ToLower(name) {
		case "state", "session_state", "scope":
			return true
		}
	}
	return false
}
