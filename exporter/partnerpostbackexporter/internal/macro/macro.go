// Package macro compiles postback templates and expands them with values
// that come from events, encoding every value for the position it lands in:
// a URL path segment, a URL query, a JSON string, a form value or a header
// value. Templates are written by the collector's owner and trusted; macro
// values come from visitors and are not, so no value can change a URL's
// scheme, host or path prefix, add a query parameter or a header, or change
// the structure of a JSON body.
//
// A macro is written {name}; {{ is a literal {. Every name must be one of
// Names: a typo fails at start-up instead of sending a literal "{clickid}".
package macro // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/macro"

import (
	"errors"
	"fmt"
	"strings"
)

// The macro names a template may use.
const (
	ClickID       = "click_id"       // the partner's own click id, as it arrived on the landing URL
	Outcome       = "outcome"        // the outcome's name
	Value         = "value"          // the outcome's value (number)
	Currency      = "currency"       // the outcome's currency (ISO 4217)
	Credit        = "credit"         // the partner's share of the outcome, 0 to 1 (number)
	CreditedValue = "credited_value" // value × credit (number)
	Model         = "model"          // the attribution model
	EventTime     = "event_time"     // when the outcome happened, RFC 3339 UTC
	EventTimeUnix = "event_time_unix"
	OutcomeID     = "outcome_id" // the outcome event's id
	SiteID        = "site_id"
	Partner       = "partner"
	PostbackID    = "postback_id" // the idempotency key: stable per outcome, partner and model
)

// Names lists every macro; numeric ones are always formatted as JSON
// numbers by the caller and become numbers when a JSON string is exactly
// that macro.
var Names = map[string]bool{
	ClickID: false, Outcome: false, Value: true, Currency: false, Credit: true,
	CreditedValue: true, Model: false, EventTime: false, EventTimeUnix: true,
	OutcomeID: false, SiteID: false, Partner: false, PostbackID: false,
}

// Values maps macro names to their raw (unencoded) values.
type Values map[string]string

// part is a literal or a macro.
type part struct {
	lit   string
	macro string // "" for a literal
}

// parse splits a template into literals and macros.
func parse(tmpl string) ([]part, error) {
	var parts []part
	var lit strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '{' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(tmpl) && tmpl[i+1] == '{' {
			lit.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed { at offset %d (write {{ for a literal {)", i)
		}
		name := tmpl[i+1 : i+end]
		if _, ok := Names[name]; !ok {
			return nil, fmt.Errorf("unknown macro {%s} (known: %s)", name, knownList())
		}
		if lit.Len() > 0 {
			parts = append(parts, part{lit: lit.String()})
			lit.Reset()
		}
		parts = append(parts, part{macro: name})
		i += end
	}
	if lit.Len() > 0 {
		parts = append(parts, part{lit: lit.String()})
	}
	return parts, nil
}

func knownList() string {
	names := []string{ClickID, Outcome, Value, Currency, Credit, CreditedValue, Model, EventTime, EventTimeUnix, OutcomeID, SiteID, Partner, PostbackID}
	return strings.Join(names, ", ")
}

// Uses reports whether any of the parts names macro.
func uses(parts []part, name string) bool {
	for _, p := range parts {
		if p.macro == name {
			return true
		}
	}
	return false
}

// ErrUnsafeHeader: a value would put a control character (CR, LF, NUL...)
// into a header.
var ErrUnsafeHeader = errors.New("macro value holds a control character, refused in a header")

// Header is a header value template.
type Header struct{ parts []part }

// CompileHeader compiles a header value template.
func CompileHeader(tmpl string) (*Header, error) {
	parts, err := parse(tmpl)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.macro == "" && hasControl(p.lit) {
			return nil, errors.New("header value holds a control character")
		}
	}
	return &Header{parts: parts}, nil
}

// Uses reports whether the template names macro.
func (h *Header) Uses(name string) bool { return uses(h.parts, name) }

// Expand returns the header value, or ErrUnsafeHeader. Header values have
// no encoding that both ends agree on, so a value that cannot be sent as
// it is is refused rather than altered.
func (h *Header) Expand(v Values) (string, error) {
	var b strings.Builder
	for _, p := range h.parts {
		if p.macro == "" {
			b.WriteString(p.lit)
			continue
		}
		s := v[p.macro]
		if hasControl(s) {
			return "", fmt.Errorf("{%s}: %w", p.macro, ErrUnsafeHeader)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// hasControl reports ASCII control characters (CR and LF among them) and
// DEL: what net/http refuses in a header value, except horizontal tab.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}
