package scrub

import "strings"

type span struct{ start, end int }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isHex(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}
func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	default:
		return (c | 0x20) - 'a' + 10
	}
}

// isTokenChar: the characters of base64, base64url and most API keys.
func isTokenChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '+' || c == '/' || c == '='
}

// stats is a cheap pre-scan deciding which detectors can possibly match.
type stats struct {
	digits int
	maxRun int // longest run of token characters
	dots   int
	at     bool // '@', "%40" or "%2540"
}

func prescan(s string) (st stats) {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isTokenChar(c) {
			run++
			if run > st.maxRun {
				st.maxRun = run
			}
			if isDigit(c) {
				st.digits++
			}
			continue
		}
		run = 0
		switch c {
		case '.':
			st.dots++
		case '@':
			st.at = true
		case '%':
			if strings.HasPrefix(s[i+1:], "40") || strings.HasPrefix(s[i+1:], "2540") {
				st.at = true
			}
		}
	}
	return st
}

// text scrubs s until a pass finds nothing more (a replacement can create
// a new word boundary that lets a neighbour match), so the output is a
// fixed point: scrubbing it again changes nothing.
func (s *Scrubber) text(in string, c *Counts) string {
	return s.textAfter(in, c, "")
}

// textAfter is text for a value label stands before (a parameter's or
// property's name, the path segment before): what the label says about a
// number at the value's very start (see labelContext) is read only when
// the value has digits enough for the phone or card detector, since most
// values have none.
func (s *Scrubber) textAfter(in string, c *Counts, label string) string {
	out := in
	lead := ctxUnknown
	if label == "" {
		lead = ctxNone
	}
	for pass := 0; pass < 6; pass++ {
		next, n := s.textPass(out, c, label, &lead)
		if n == 0 {
			return out
		}
		out = next
	}
	return out
}

func (s *Scrubber) textPass(in string, c *Counts, label string, leadp *int) (string, int) {
	st := prescan(in)
	if !st.at && st.digits < 6 && st.maxRun < 16 {
		return in, 0
	}
	if *leadp == ctxUnknown && st.digits >= minPhoneDigits {
		*leadp = labelContext(label)
	}
	lead := *leadp
	var buf [8]span
	out, total := in, 0
	run := func(k kind, f func(string, []span) []span) {
		if !s.on[k] {
			return
		}
		sp := f(out, buf[:0])
		if len(sp) == 0 {
			return
		}
		out = replaceSpans(out, sp, markers[k])
		c[k] += len(sp)
		total += len(sp)
	}
	if st.dots >= 2 && st.maxRun >= 16 {
		run(kJWT, findJWTs)
	}
	if st.at {
		run(kEmail, findEmails)
	}
	if st.maxRun >= 20 {
		run(kToken, findKnownTokens)
	}
	if st.digits >= 6 {
		run(kIBAN, findIBANs)
	}
	if st.digits >= 13 {
		run(kCard, func(s string, sp []span) []span { return findCards(s, sp, lead) })
	}
	if st.digits >= minPhoneDigits {
		run(kPhone, func(s string, sp []span) []span { return findPhones(s, sp, lead) })
	}
	if st.maxRun >= 24 {
		run(kToken, findTokens)
	}
	return out, total
}

func replaceSpans(s string, sp []span, marker string) string {
	var b strings.Builder
	n := len(s)
	for _, x := range sp {
		n += len(marker) - (x.end - x.start)
	}
	if n < 0 {
		n = 0
	}
	b.Grow(n)
	last := 0
	for _, x := range sp {
		b.WriteString(s[last:x.start])
		b.WriteString(marker)
		last = x.end
	}
	b.WriteString(s[last:])
	return b.String()
}
