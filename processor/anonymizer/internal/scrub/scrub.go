// Package scrub removes personal data and secrets from the strings a web
// analytics event carries: URLs (path, query, fragment), referrers, page
// titles, search terms and custom property values.
//
// Every detector is a hand-written, single-pass scanner (no regular
// expressions, no backtracking) whose work is bounded by a constant times
// the input length. When nothing is found the input string is returned as
// it is, without allocating.
package scrub

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Detector names (also telemetry attribute values and config values).
const (
	Email = "email"
	Phone = "phone"
	Card  = "card"
	IBAN  = "iban"
	JWT   = "jwt"
	Token = "token"
	// Param counts query (and path matrix) parameters removed because their
	// name is denied, or because DropUnknownParams is set and the name is
	// neither allowed nor denied.
	Param = "param"
	// UserInfo counts user:password@ parts removed from URL authorities.
	// It is always on and is not a configurable detector.
	UserInfo = "userinfo"
)

// AllDetectors lists every configurable detector.
var AllDetectors = []string{Email, Phone, Card, IBAN, JWT, Token}

type kind uint8

const (
	kEmail kind = iota
	kPhone
	kCard
	kIBAN
	kJWT
	kToken
	kParam
	kUserInfo
	numKinds
)

var kindNames = [numKinds]string{Email, Phone, Card, IBAN, JWT, Token, Param, UserInfo}

var markers = [kParam]string{"[email]", "[phone]", "[card]", "[iban]", "[jwt]", "[token]"}

// Counts says how many replacements each detector (and Param, UserInfo)
// made. It is a fixed-size array so that scrubbing never allocates for it.
type Counts [numKinds]int

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	for i := range c {
		c[i] += o[i]
	}
}

// Get returns the count for a detector name (Email ... Token, Param,
// UserInfo); unknown names return 0.
func (c Counts) Get(name string) int {
	for i, n := range kindNames {
		if n == name {
			return c[i]
		}
	}
	return 0
}

// Total is the sum of all counts.
func (c Counts) Total() int {
	t := 0
	for _, n := range c {
		t += n
	}
	return t
}

// Each calls fn for every non-zero count, in a fixed order.
func (c Counts) Each(fn func(name string, n int)) {
	for i, n := range c {
		if n != 0 {
			fn(kindNames[i], n)
		}
	}
}

// Map returns the non-zero counts as a map (allocates; for tests/logging).
func (c Counts) Map() map[string]int {
	m := map[string]int{}
	c.Each(func(name string, n int) { m[name] = n })
	return m
}

// Config configures a Scrubber.
type Config struct {
	// Detectors are the enabled detectors (a subset of AllDetectors);
	// empty means none.
	Detectors []string
	// AllowParams are query parameter names that always survive (their
	// values are still scrubbed by the detectors). Matching is
	// case-insensitive and ignores the separators - _ . and brackets, so
	// "search_term" also allows "searchTerm". utm_* and mtm_* campaign
	// parameters are always allowed. An allowed name wins over the built-in
	// deny list but not over DenyParams.
	AllowParams []string
	// DenyParams are extra parameter names that are always removed, in
	// addition to the built-in list (same matching as AllowParams).
	DenyParams []string
	// DropUnknownParams removes parameters that are neither allowed nor
	// denied; when false they are kept (values still scrubbed).
	DropUnknownParams bool
}

// Scrubber scrubs strings. It is immutable after New and safe for
// concurrent use.
type Scrubber struct {
	on          [kParam]bool
	allow       map[string]struct{}
	deny        map[string]struct{}
	dropUnknown bool
	verdicts    sync.Map // parameter name -> verdict (see decide)
	cached      atomic.Int64
}

// New validates cfg and returns a Scrubber.
func New(cfg Config) (*Scrubber, error) {
	s := &Scrubber{
		allow:       map[string]struct{}{},
		deny:        map[string]struct{}{},
		dropUnknown: cfg.DropUnknownParams,
	}
	for _, d := range cfg.Detectors {
		found := false
		for i := kEmail; i < kParam; i++ {
			if strings.EqualFold(strings.TrimSpace(d), kindNames[i]) {
				s.on[i] = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown detector %q; use email, phone, card, iban, jwt or token", d)
		}
	}
	for _, p := range cfg.AllowParams {
		if n := normalizeName(p); n != "" {
			s.allow[n] = struct{}{}
		}
	}
	for _, p := range cfg.DenyParams {
		if n := normalizeName(p); n != "" {
			s.deny[n] = struct{}{}
		}
	}
	return s, nil
}

// Text scrubs free text: a title, a search term, a property value. It
// also recognises URL-encoded e-mail addresses (%40, %2540).
func (s *Scrubber) Text(in string) (out string, c Counts) {
	out = s.text(in, &c)
	return out, c
}

// TextAfter scrubs free text that label names: a query parameter's or a
// property's value. The label says what a number at the very start of the
// value is ("ticket": 1234-5678-90 is a reference, "mobile": 0612345678 a
// phone number); the label itself is judged elsewhere (DeniedName).
func (s *Scrubber) TextAfter(label, in string) (out string, c Counts) {
	out = s.textAfter(in, &c, label)
	return out, c
}

// URL scrubs an absolute or relative URL: path segments, query (deny/allow
// lists and value detectors) and fragment; the scheme, host and port are
// kept, userinfo (user:pass@) is removed. Input that does not parse as a
// URL is scrubbed as text.
func (s *Scrubber) URL(raw string) (out string, c Counts) {
	out = s.url(raw, &c, 0)
	return out, c
}

// URLAndQuery is URL that also returns what Query would make of the URL's
// raw query (ok false when the URL has none, or was scrubbed as text), so
// that a caller holding a URL and its query (url.full and url.query)
// scrubs the query once. The redactions in it are counted in c once.
func (s *Scrubber) URLAndQuery(raw string) (out string, c Counts, rawQuery, scrubbedQuery string, ok bool) {
	var qr queryResult
	out = s.urlParts(raw, &c, 0, &qr)
	return out, c, qr.raw, qr.scrubbed, qr.ok
}

// Fragment scrubs a URL fragment (without the leading "#"): as a query
// when it has parameters ("access_token=…"), as a path plus query when
// it is a route ("/a/b?x=1"), as text otherwise ("Section 2").
func (s *Scrubber) Fragment(raw string) (out string, c Counts) {
	out = s.fragment(raw, &c, 0)
	return out, c
}

// Query scrubs a raw query string (without the leading "?").
func (s *Scrubber) Query(raw string) (out string, c Counts) {
	out = s.query(raw, &c, 0)
	return out, c
}

// Path scrubs a URL path (segment by segment, including ;matrix params).
func (s *Scrubber) Path(raw string) (out string, c Counts) {
	out = s.path(raw, &c, 0, "")
	return out, c
}
