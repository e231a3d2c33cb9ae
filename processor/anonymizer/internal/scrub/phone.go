package scrub

// Phone numbers. A region is a run of digit groups joined by short
// separators (space, - . / parentheses, a '+' standing for an encoded
// space between digits), optionally led by '+' or '('. Every group that
// starts the region or follows a plain space may start a candidate; a
// candidate grows group by group while it has at most 15 digits, and the
// longest candidate that looks like a phone number wins. Candidates are
// then judged by rules (isPhone) tuned against dates, times, prices,
// versions, IPv4 addresses, coordinates, ZIP+4 codes, year ranges, order
// numbers and thousands-grouped amounts.

type grp struct {
	s, e    int  // digits s[s:e]
	sep     byte // separator kind before this group: 0 (none), ' ', '-', '.', '/', ')', '+'
	spaceOK bool // the separator before is whitespace only: a candidate may start here
}

func digitsIn(s string, g []grp) int {
	n := 0
	for _, x := range g {
		n += x.e - x.s
	}
	return n
}

// readSep parses a separator at k and returns its kind and end, or 0.
func readSep(s string, k int) (kind byte, end int) {
	spaces, open, closeP, punct := 0, 0, 0, byte(0)
	j := k
	for j < len(s) && j-k < 4 {
		c := s[j]
		switch {
		case c == ' ' || c == '+': // '+' is an encoded space in query strings
			spaces++
			j++
			continue
		case c == 0xC2 && j+1 < len(s) && s[j+1] == 0xA0: // no-break space
			spaces++
			j += 2
			continue
		case c == '(':
			open++
		case c == ')':
			closeP++
		case c == '-' || c == '.' || c == '/':
			if punct != 0 {
				return 0, k
			}
			punct = c
		default:
			goto done
		}
		j++
	}
done:
	if j == k || j >= len(s) || !isDigit(s[j]) || open > 1 || closeP > 1 {
		return 0, k
	}
	switch {
	case punct != 0:
		return punct, j
	case open+closeP > 0:
		return ')', j
	default:
		return ' ', j
	}
}

func findPhones(s string, sp []span) []span {
	var groups []grp
	for i := 0; i < len(s); {
		c := s[i]
		plus, paren := false, false
		k := i
		if c == '+' && i > 0 && isAlnum(s[i-1]) {
			i++ // "call+020+7946+0958": an encoded space, not a country code
			continue
		}
		if c == '+' && i+1 < len(s) && isDigit(s[i+1]) {
			plus, k = true, i+1
		} else if c == '(' && i+1 < len(s) && isDigit(s[i+1]) {
			paren, k = true, i+1
		} else if !isDigit(c) {
			i++
			continue
		}
		// attached to a preceding word or number?
		attached := false
		if i > 0 {
			p := s[i-1]
			switch {
			case isAlnum(p) || p == '_':
				attached = true
			case p == '-' || p == '.' || p == '/' || p == ',' || p == ':' || p == '+' || p == '#' || p == ' ':
				attached = i >= 2 && (isDigit(s[i-2]) || (p == '-' || p == '.') && isAlpha(s[i-2]))
			}
		}
		groups = groups[:0]
		sep, sok := byte(0), true
		for {
			ge := k
			for ge < len(s) && isDigit(s[ge]) {
				ge++
			}
			groups = append(groups, grp{s: k, e: ge, sep: sep, spaceOK: sok})
			kind, next := readSep(s, ge)
			if kind == 0 {
				k = ge
				break
			}
			sep, sok = kind, kind == ' '
			if paren && len(groups) == 1 && kind != ')' {
				sep, sok = 0, false // "(" needs its ")"
				k = ge
				break
			}
			k = next
		}
		regionEnd := k
		// attached to what follows? ("123abc", "12:30", "1.5")
		tailAttached := false
		if regionEnd < len(s) {
			n := s[regionEnd]
			if isAlnum(n) || n == '_' {
				tailAttached = true
			} else if (n == ':' || n == ',' || n == '.' || n == '-' || n == '/') && regionEnd+1 < len(s) && isAlnum(s[regionEnd+1]) {
				tailAttached = true
			}
		}
		cardLike := allFours(groups)
		for g0 := 0; g0 < len(groups); g0++ {
			if attached {
				break // glued to a word: AA1 01 2345 6784, ORD-2026-000123
			}
			if g0 > 0 && !groups[g0].spaceOK {
				continue
			}
			best := -1
			d := 0
			for e := g0; e < len(groups); e++ {
				d += groups[e].e - groups[e].s
				if d > 15 {
					break
				}
				if e == len(groups)-1 && tailAttached {
					break
				}
				if e+1 < len(groups) && !groups[e+1].spaceOK {
					continue // a phone is not the prefix of a longer dotted/dashed number
				}
				if cardLike && !(g0 == 0 && plus) {
					break
				}
				if isPhone(s, groups[g0:e+1], g0 == 0 && plus, g0 == 0 && paren, d) {
					best = e
				}
			}
			if best >= 0 {
				st := groups[g0].s
				if g0 == 0 && (plus || paren) {
					st = i
				}
				sp = append(sp, span{st, groups[best].e})
				g0 = best
			}
		}
		if regionEnd <= i {
			regionEnd = i + 1
		}
		i = regionEnd
	}
	return sp
}

// allFours: 1234 5678 9012 3456, 9400 1000 0000 0000 0000 00, 7489 4612
// 3456 8 (card-like and parcel tracking numbers) are not phones.
func allFours(g []grp) bool {
	if len(g) < 3 {
		return false
	}
	for _, x := range g[:len(g)-1] {
		if x.e-x.s != 4 {
			return false
		}
	}
	return g[len(g)-1].e-g[len(g)-1].s <= 4
}

func onlySep(g []grp, c byte) bool {
	for _, x := range g {
		if x.sep != c {
			return false
		}
	}
	return true
}

func isYear(s string, g grp) bool {
	if g.e-g.s != 4 {
		return false
	}
	return (s[g.s] == '1' && s[g.s+1] == '9') || (s[g.s] == '2' && s[g.s+1] == '0')
}

func num(s string, g grp) int {
	n := 0
	for i := g.s; i < g.e && i < g.s+6; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isPhone(s string, g []grp, plus, paren bool, d int) bool {
	first := g[0]
	fl := first.e - first.s
	if plus {
		return d >= 8 && d <= 15 && !(len(g) >= 4 && onlySep(g[1:], '.') && fl <= 3)
	}
	if len(g) == 1 {
		// no separators: only 00 + country code + national number
		return d >= 11 && d <= 15 && s[first.s] == '0' && s[first.s+1] == '0' && s[first.s+2] != '0'
	}
	if fl >= 3 && fl <= 5 && s[first.s] == '0' && s[first.s+1] == '0' {
		// 0044 20 7946 0958: international with 00
		if d >= 10 && d <= 15 && s[first.s+2] != '0' {
			return true
		}
	}
	if d < 8 || d > 13 {
		return false
	}
	if !paren && (isYear(s, first) && s[first.s] != '0') {
		return false // 2026-11-23, 2019-2026, 2026-000123
	}
	if fl > 5 && !paren {
		return false
	}
	last := g[len(g)-1]
	if last.e-last.s == 1 {
		return false // ISBN check digits, versions
	}
	// separator kinds: '.' does not mix with others (coordinates, decimals)
	dot, other := false, false
	for _, x := range g[1:] {
		if x.sep == '.' {
			dot = true
		} else {
			other = true
		}
		if x.e-x.s > 8 {
			return false
		}
	}
	if dot && other {
		return false
	}
	// dates: DD.MM.YYYY, MM/DD/YYYY inside the candidate
	for k := 0; k+2 < len(g); k++ {
		a, b, y := g[k], g[k+1], g[k+2]
		if a.e-a.s <= 2 && b.e-b.s <= 2 && isYear(s, y) && num(s, a) <= 31 && num(s, b) <= 31 {
			return false
		}
	}
	if dot {
		if len(g) < 3 {
			return false // decimals: 52.520008, 48.856614
		}
		for _, x := range g {
			if x.e-x.s > 4 {
				return false
			}
		}
	}
	if dot && !other {
		all2 := true
		for _, x := range g {
			if x.e-x.s != 2 {
				all2 = false
			}
		}
		if len(g) >= 4 && !(all2 && d == 10 && s[first.s] == '0') {
			return false // IPv4 addresses, version strings
		}
	}
	if len(g) >= 4 && s[first.s] != '0' {
		all2 := true
		for _, x := range g {
			if x.e-x.s > 2 {
				all2 = false
			}
		}
		if all2 {
			return false // lists of small numbers: sizes 36 38 40 42
		}
	}
	// thousands grouping: 12.345.678, 10 000 000, 100 000 000 000
	rest3 := true
	for _, x := range g[1:] {
		if x.e-x.s != 3 {
			rest3 = false
		}
	}
	if rest3 && s[first.s] != '0' && fl <= 3 && (dot || fl <= 2 || s[last.s:last.e] == "000") {
		return false
	}
	// ZIP+4
	if len(g) == 2 && fl == 5 && last.e-last.s == 4 && last.sep == '-' {
		return false
	}
	// 4-4-4(-4): tracking and card-like numbers
	if len(g) >= 3 {
		all4 := true
		for _, x := range g {
			if x.e-x.s != 4 {
				all4 = false
			}
		}
		if all4 {
			return false
		}
	}
	// time after the candidate: "2026 11 23 14:30"
	if last.e < len(s) && s[last.e] == ':' {
		return false
	}
	return true
}
