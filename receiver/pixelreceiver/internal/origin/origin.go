// Package origin matches the origin of a page or request against a site's
// allowed origins. An entry is an origin ("https://shop.example"), a host
// that allows both schemes ("shop.example"), or either with a leading
// "*." wildcard label that matches any subdomain but not the domain itself
// ("https://*.shop.example").
package origin // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/origin"

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Set is a parsed list of allowed origins. The zero value (and nil) allows
// every origin: a site without a list is not restricted.
type Set struct {
	entries []entry
}

type entry struct {
	scheme string // "" = http or https
	host   string // lower case; for wildcards the suffix including the leading "."
	wild   bool
	port   int // 0 = the scheme's default port
}

// Parse parses the allowed-origin entries. The error starts with the bad
// entry's index, its key in the list ("1: ...").
func Parse(list []string) (*Set, error) {
	if len(list) == 0 {
		return nil, nil
	}
	s := &Set{entries: make([]entry, 0, len(list))}
	for i, raw := range list {
		e, err := parseEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("%d: %q %w", i, raw, err)
		}
		s.entries = append(s.entries, e)
	}
	return s, nil
}

func parseEntry(raw string) (entry, error) {
	var e entry
	rest := strings.ToLower(strings.TrimSpace(raw))
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return e, fmt.Errorf("must use http or https")
		}
		e.scheme, rest = scheme, after
	}
	if strings.ContainsAny(rest, "/?#@ ") {
		return e, fmt.Errorf("must be an origin (scheme://host[:port]) or a host name, without path")
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
	}
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return e, fmt.Errorf("has an invalid port")
		}
		e.port = p
	}
	if after, ok := strings.CutPrefix(host, "*."); ok {
		e.wild, host = true, "."+after
	}
	host = strings.Trim(host, "[]")
	if host == "" || host == "." || strings.Contains(host, "*") {
		return e, fmt.Errorf("needs a host name; only a leading \"*.\" wildcard is allowed")
	}
	e.host = host
	return e, nil
}

// Allows reports whether a page or request origin with this scheme, lower
// case host and port (0 = default) is allowed.
func (s *Set) Allows(scheme, host string, port int) bool {
	if s == nil {
		return true
	}
	port = effectivePort(scheme, port)
	for _, e := range s.entries {
		if e.scheme != "" && e.scheme != scheme {
			continue
		}
		if e.port != 0 && e.port != port || e.port == 0 && port != effectivePort(scheme, 0) {
			continue
		}
		if e.wild && strings.HasSuffix(host, e.host) || !e.wild && host == e.host {
			return true
		}
	}
	return false
}

// AllowsOrigin checks an Origin header value ("https://shop.example:8443").
// "null" and malformed values are not allowed by a non-empty set.
func (s *Set) AllowsOrigin(origin string) bool {
	if s == nil {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" {
		return false
	}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return false
		}
	}
	return s.Allows(strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), port)
}

func effectivePort(scheme string, port int) int {
	if port != 0 {
		return port
	}
	if scheme == "https" {
		return 443
	}
	return 80
}
