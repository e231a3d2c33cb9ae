package macro

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

type urlPos uint8

const (
	posPath urlPos = iota
	posQuery
	posFragment
)

// URL is a URL template. Macros may stand in the path and in the query;
// scheme, user info, host, port and fragment are the template's own.
type URL struct {
	parts []part
	pos   []urlPos // per part
	// Scheme, Host and PathPrefix are what every expansion keeps: the
	// fuzz test checks them.
	Scheme, Host, PathPrefix string
}

// CompileURL compiles a URL template.
func CompileURL(tmpl string) (*URL, error) {
	parts, err := parse(tmpl)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 || parts[0].macro != "" {
		return nil, errors.New("must start with scheme://host/, not with a macro")
	}
	// The authority ends at the first / ? or # after "://"; a macro must
	// come after it.
	head := parts[0].lit
	_, rest, ok := strings.Cut(head, "://")
	if !ok {
		return nil, errors.New("must be an absolute http:// or https:// URL")
	}
	if len(parts) > 1 && !strings.ContainsAny(rest, "/?#") {
		return nil, errors.New("a macro may not be part of the host or port: write scheme://host/ before the first macro")
	}
	var sample strings.Builder
	for _, p := range parts {
		if p.macro != "" {
			sample.WriteString("x")
		} else {
			sample.WriteString(p.lit)
		}
	}
	u, err := url.Parse(sample.String())
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q: only http and https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("has no host")
	}
	t := &URL{parts: parts, pos: make([]urlPos, len(parts)), Scheme: u.Scheme, Host: u.Host}
	pos := posPath
	for i, p := range parts {
		t.pos[i] = pos
		if p.macro != "" {
			if pos == posFragment {
				return nil, fmt.Errorf("{%s}: a macro may not stand in the fragment (#...), which is never sent", p.macro)
			}
			continue
		}
		lit := p.lit
		if i == 0 {
			lit = rest[strings.IndexAny(rest, "/?#"):] // path onwards
			if len(parts) == 1 {
				lit = ""
			}
		}
		if j := strings.IndexAny(lit, "?#"); j >= 0 && pos == posPath {
			if lit[j] == '?' {
				pos = posQuery
			} else {
				pos = posFragment
			}
			lit = lit[j+1:]
		}
		if pos == posQuery && strings.Contains(lit, "#") {
			pos = posFragment
		}
	}
	// The path before the first macro: every expansion starts with it.
	pu, err := url.Parse(head)
	if err != nil {
		return nil, err
	}
	t.PathPrefix = pu.EscapedPath()
	if len(parts) > 1 && t.pos[1] != posPath {
		t.PathPrefix = u.EscapedPath() // no macro in the path: the whole path
	}
	return t, nil
}

// Uses reports whether the template names macro.
func (t *URL) Uses(name string) bool { return uses(t.parts, name) }

// Expand returns the URL with every macro encoded for its position.
func (t *URL) Expand(v Values) string {
	var b strings.Builder
	for i, p := range t.parts {
		if p.macro == "" {
			b.WriteString(p.lit)
			continue
		}
		s := v[p.macro]
		if t.pos[i] == posPath {
			b.WriteString(PathSegment(s))
		} else {
			b.WriteString(url.QueryEscape(s))
		}
	}
	return b.String()
}

// PathSegment encodes s as (part of) one path segment: / ? # and % are
// escaped, and so are dots, so that no value can be a "." or ".." segment
// that a server or proxy would resolve to another path.
func PathSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ".", "%2E")
}

// Form is an application/x-www-form-urlencoded body template: every macro
// value is query-escaped, so it cannot add a field.
type Form struct{ parts []part }

// CompileForm compiles a form body template.
func CompileForm(tmpl string) (*Form, error) {
	parts, err := parse(tmpl)
	if err != nil {
		return nil, err
	}
	return &Form{parts: parts}, nil
}

// Uses reports whether the template names macro.
func (f *Form) Uses(name string) bool { return uses(f.parts, name) }

// Expand returns the body.
func (f *Form) Expand(v Values) []byte {
	var b strings.Builder
	for _, p := range f.parts {
		if p.macro == "" {
			b.WriteString(p.lit)
		} else {
			b.WriteString(url.QueryEscape(v[p.macro]))
		}
	}
	return []byte(b.String())
}
