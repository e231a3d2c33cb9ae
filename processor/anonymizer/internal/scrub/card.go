package scrub

// Payment card numbers: 13-19 digits, as one run or in groups of at least
// three digits separated by single spaces or dashes ('+' is an encoded
// space), Luhn-valid and with a known IIN prefix. A digit run longer than
// 19 digits is an id, never searched inside.

// findCards finds card numbers in s; lead is the context of a number at
// its start (see findPhones).
func findCards(s string, sp []span, lead int) []span {
	var groups []grp
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		// After a '+' that starts a number rather than standing for a
		// space ("+4915112345678", "call-+49…", but not
		// "Card+number:+3852…"), up to 15 digits are an international
		// phone number, which E.164 caps at 15; a card number has 16 (15
		// for Amex, which then counts as a phone).
		plus := i > 0 && s[i-1] == '+' && leadingPlus(s, i-1) || contextBefore(s, i, lead) == ctxPhone
		groups = groups[:0]
		k := i
		for {
			ge := k
			for ge < len(s) && isDigit(s[ge]) {
				ge++
			}
			groups = append(groups, grp{s: k, e: ge})
			if ge+1 < len(s) && (s[ge] == ' ' || s[ge] == '-' || s[ge] == '+') && isDigit(s[ge+1]) {
				k = ge + 1
				continue
			}
			k = ge
			break
		}
		for g0 := 0; g0 < len(groups); g0++ {
			best := -1
			d := 0
			for e := g0; e < len(groups); e++ {
				gl := groups[e].e - groups[e].s
				if e > g0 && groups[e-1].e-groups[e-1].s < 3 {
					break
				}
				d += gl
				if d > 19 {
					break
				}
				if d >= 13 && !(plus && g0 == 0 && d <= 15) && cardValid(s, groups[g0:e+1], d) {
					best = e
				}
			}
			if best >= 0 {
				sp = append(sp, span{groups[g0].s, groups[best].e})
				g0 = best
			}
		}
		i = k
		if i < len(s) && !isDigit(s[i]) {
			i++
		}
	}
	return sp
}

func cardValid(s string, g []grp, d int) bool {
	var digits [19]byte
	n := 0
	for _, x := range g {
		for i := x.s; i < x.e; i++ {
			digits[n] = s[i] - '0'
			n++
		}
	}
	if !iinKnown(digits[:n]) {
		return false
	}
	sum := 0
	for i := 0; i < n; i++ {
		v := int(digits[n-1-i])
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// iinKnown: Visa 4; Mastercard 51-55 and 2221-2720; Amex 34, 37; Discover
// 6011, 644-649, 65; JCB 3528-3589; Diners 300-305, 36, 38; UnionPay 62;
// Maestro 50, 56-69. Amex must have 15 digits, Diners 14-19, Visa 13/16/19.
func iinKnown(d []byte) bool {
	n := len(d)
	p2 := int(d[0])*10 + int(d[1])
	p4 := p2*100 + int(d[2])*10 + int(d[3])
	switch d[0] {
	case 4:
		return n == 13 || n == 16 || n == 19
	case 5:
		return n >= 12
	case 6:
		return n >= 12
	case 2:
		return p4 >= 2221 && p4 <= 2720 && n == 16
	case 3:
		switch {
		case p2 == 34 || p2 == 37:
			return n == 15
		case p4 >= 3528 && p4 <= 3589:
			return n >= 16
		case p2 == 36 || p2 == 38 || (p4 >= 3000 && p4 <= 3059):
			return n >= 14
		}
	}
	return false
}

// leadingPlus reports whether the '+' at i leads an international number
// rather than standing for an encoded space.
func leadingPlus(s string, i int) bool {
	switch contextBefore(s, i, ctxNone) {
	case ctxPhone:
		return true
	case ctxNone:
		return i == 0 || s[i-1] == ' ' || s[i-1] == '-' || s[i-1] == '_' || s[i-1] == '(' || s[i-1] == '\t'
	}
	return false
}
