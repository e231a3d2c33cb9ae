package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// newTCF makes the TCF signals of a hit or beacon from what was sent.
// A TC string that cannot be one is never passed on (it could carry
// anything under the name of a consent string) and never costs the event
// either: it is marked with why, and the consent processor decides on the
// mark as on an undecodable string (no consent). When GDPR does not apply
// (gdpr=0), the string does not matter and is dropped whatever it is.
// appliesMacro is true when the gdpr flag itself was an unfilled macro.
func newTCF(applies *bool, appliesMacro bool, tcString string) *TCF {
	t := &TCF{GDPRApplies: applies}
	if applies != nil && !*applies {
		return t
	}
	switch {
	case tcString == "":
		if appliesMacro {
			t.StringError = eventmodel.TCFStringErrorMacro
		}
	case isMacro(tcString):
		t.StringError = eventmodel.TCFStringErrorMacro
	case validTCString(tcString):
		t.TCString = tcString
	case appliesMacro:
		// Neither parameter was filled in properly; the macro is the
		// site's mistake to fix.
		t.StringError = eventmodel.TCFStringErrorMacro
	default:
		t.StringError = eventmodel.TCFStringErrorMalformed
	}
	return t
}

// pixelGDPR reads the pixel's gdpr flag: "1", "0", an unfilled macro, or
// anything else (unknown: the string alone decides).
func pixelGDPR(v string) (applies *bool, macro bool) {
	switch v {
	case "1":
		return &[]bool{true}[0], false
	case "0":
		return &[]bool{false}[0], false
	}
	return nil, v != "" && isMacro(v)
}

// validTCString accepts what a TC string is made of (base64url segments
// separated by dots) and nothing else, so a free-text field cannot carry PII
// under the name of a consent string. Empty is allowed (gdpr_applies only).
func validTCString(s string) bool {
	if len(s) > 8192 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// maxMacro bounds what is examined as a macro: ad-server macros are
// short names.
const maxMacro = 96

// macroDelimiters are the ways ad servers and tag managers write a
// placeholder: ${NAME} (IAB, Xandr, Google Ad Manager), {NAME} and
// {{NAME}} (tag managers), [NAME] (several ad servers), %%NAME%% (Campaign
// Manager), __NAME__, ##NAME## and $NAME$.
var macroDelimiters = [...]struct{ open, close string }{
	{"${", "}"}, {"{{", "}}"}, {"{", "}"}, {"[", "]"}, {"%%", "%%"}, {"__", "__"}, {"##", "##"}, {"$", "$"},
}

// macroNames are what an ad server's TCF macros are called when the
// delimiters were lost on the way: GDPR, GDPR_CONSENT, GDPR_CONSENT_755.
var macroNames = [...]string{"gdpr", "gdpr_consent", "gdpr_applies", "consent", "consent_string", "tc_string", "tcstring", "tcf", "tcf_consent"}

// isMacro reports whether s is an unfilled ad-server macro rather than a
// value: a placeholder name in delimiters (URL-encoded or not), or one of
// the TCF macro names alone. A TC string is neither: version 2 strings
// start with "C" and carry no delimiter.
func isMacro(s string) bool {
	if len(s) > maxMacro || s == "" {
		return false
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.IndexByte(s, '%') >= 0 {
		// Encoded once more than the query: %24%7BGDPR%7D.
		s = macroUnescaper.Replace(s)
	}
	for _, d := range macroDelimiters {
		if inner, ok := strings.CutPrefix(s, d.open); ok {
			if inner, ok = strings.CutSuffix(inner, d.close); ok && macroName(inner) {
				return true
			}
		}
	}
	name := strings.TrimRightFunc(s, func(r rune) bool { return '0' <= r && r <= '9' })
	name = strings.TrimSuffix(name, "_")
	for _, n := range macroNames {
		if name == n {
			return true
		}
	}
	return false
}

var macroUnescaper = strings.NewReplacer("%24", "$", "%7b", "{", "%7d", "}", "%5b", "[", "%5d", "]", "%25", "%", "%23", "#")

// macroName reports whether s looks like the name inside a macro's
// delimiters: an identifier, possibly with dots, dashes or colons.
func macroName(s string) bool {
	if s == "" {
		return false
	}
	letters := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			letters++
		case '0' <= c && c <= '9', c == '_', c == '.', c == '-', c == ':':
		default:
			return false
		}
	}
	return letters > 0
}
