// Package campaign extracts marketing campaign attribution from a landing
// page's query string: Google Analytics style utm_* parameters, Matomo
// mtm_* parameters, and the advertising click identifiers of
// eventmodel.ClickIDs (gclid, fbclid, ...).
//
// It runs for every page view, and most page URLs carry none of these
// parameters, so FromQuery first checks for the parameter-name markers and
// returns without allocating when none is present.
package campaign // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/campaign"

import (
	"strings"
	"unicode/utf8"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
)

// MaxValueLen caps every extracted value, in bytes. Campaign values are
// short labels; the cap stops a crafted URL from inflating every event.
const MaxValueLen = 256

// Params is the campaign attribution of a page view. Empty fields were not
// present in the query.
type Params struct {
	Source  string // utm_source, mtm_source
	Medium  string // utm_medium, mtm_medium
	Name    string // utm_campaign, mtm_campaign
	Term    string // utm_term, mtm_kwd
	Content string // utm_content, mtm_content
	ID      string // utm_id, mtm_cid
	// ClickIDType is the (lower-case) name of the click identifier
	// parameter, e.g. "gclid"; ClickIDValue its value.
	ClickIDType  string
	ClickIDValue string
}

// IsZero reports whether no campaign parameter was found.
func (p Params) IsZero() bool { return p == Params{} }

// Field indexes into the per-parameter value slots used while scanning.
const (
	fSource = iota
	fMedium
	fName
	fTerm
	fContent
	fID
	numFields
)

// utmNames and mtmNames map parameter names (without the "utm_"/"mtm_"
// prefix) to fields. utm_* takes precedence over mtm_* for the same field:
// the utm convention is the de facto standard and Matomo itself reads it.
var utmNames = [numFields]string{fSource: "source", fMedium: "medium", fName: "campaign", fTerm: "term", fContent: "content", fID: "id"}

var mtmNames = [numFields]string{fSource: "source", fMedium: "medium", fName: "campaign", fTerm: "kwd", fContent: "content", fID: "cid"}

// minNameLen is the length of the shortest name FromQuery recognises
// ("epik"); shorter parameters are skipped without a look.
const minNameLen = 4

// FromQuery extracts campaign parameters from a raw (still escaped) query
// string, without the leading '?'. Parameter names are matched
// case-insensitively and as written: a percent-encoded name ("utm%5Fsource")
// is not recognized, as no tagging tool produces one and decoding names
// would defeat the fast path. For each name the the first non-empty value wins. Values are
// unescaped, trimmed of white space, made valid UTF-8 and cut to at most
// MaxValueLen bytes on a character boundary. Malformed input never fails:
// a badly escaped value is used as it is.
func FromQuery(rawQuery string) Params {
	if !mayContainParams(rawQuery) {
		return Params{}
	}
	var utm, mtm [numFields]string
	clickPrio := len(eventmodel.ClickIDs)
	var clickVal string
	for key, value := range urlquery.Params(rawQuery) {
		if len(key) < minNameLen || len(key) > 64 {
			continue // not a name we know
		}
		switch {
		case hasPrefixFold(key, "utm_"):
			setField(&utm, utmNames[:], key[4:], value)
		case hasPrefixFold(key, "mtm_"):
			setField(&mtm, mtmNames[:], key[4:], value)
		default:
			for i, c := range eventmodel.ClickIDs[:clickPrio] {
				if strings.EqualFold(key, c.Param) {
					if v := cleanValue(value); v != "" {
						clickPrio, clickVal = i, v
					}
					break
				}
			}
		}
	}
	p := Params{
		Source:  firstOf(utm[fSource], mtm[fSource]),
		Medium:  firstOf(utm[fMedium], mtm[fMedium]),
		Name:    firstOf(utm[fName], mtm[fName]),
		Term:    firstOf(utm[fTerm], mtm[fTerm]),
		Content: firstOf(utm[fContent], mtm[fContent]),
		ID:      firstOf(utm[fID], mtm[fID]),
	}
	if clickPrio < len(eventmodel.ClickIDs) {
		p.ClickIDType, p.ClickIDValue = eventmodel.ClickIDs[clickPrio].Param, clickVal
	}
	return p
}

// setField stores value in the slot whose name matches suffix, unless the
// slot already has a (non-empty) value.
func setField(slots *[numFields]string, names []string, suffix, value string) {
	for f, name := range names {
		if strings.EqualFold(suffix, name) {
			if slots[f] == "" {
				slots[f] = cleanValue(value)
			}
			return
		}
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// cleanValue unescapes, trims and caps a raw query value.
func cleanValue(raw string) string {
	v := strings.TrimSpace(urlquery.Unescape(raw))
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	if len(v) > MaxValueLen {
		cut := MaxValueLen
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = strings.TrimSpace(v[:cut])
	}
	return v
}

// markers are, by their first letter, the lower-case markers of which
// every recognized parameter name contains one: "utm_", "mtm_", and for
// the click ids of eventmodel.ClickIDs "clid", "clkid", "braid", "fat_id",
// "epik", "sccid", "rdt_cid" (a test checks that each has one).
var markers = func() (m [26][]string) {
	for _, s := range []string{"utm_", "mtm_", "clid", "clkid", "braid", "fat_id", "epik", "sccid", "rdt_cid"} {
		m[s[0]-'a'] = append(m[s[0]-'a'], s)
	}
	return m
}()

// mayContainParams is the allocation-free fast path: it reports whether
// the query contains, case-insensitively, one of the markers.
func mayContainParams(q string) bool {
	for i := 0; i+4 <= len(q); i++ {
		c := q[i] | 0x20
		if c < 'a' || c > 'z' {
			continue
		}
		for _, m := range markers[c-'a'] {
			if hasPrefixFold(q[i:], m) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring ASCII case in s.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
