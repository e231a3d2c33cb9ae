package scrub

// IBANs (ISO 13616): country code, two check digits and the BBAN, with
// the exact length registered for the country, optional single spaces
// (usually every four characters), and a valid mod-97 checksum. Lower
// case is accepted. A string with a wrong checksum or length is not an
// IBAN.

var ibanLen = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
	"DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
	"FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
	"GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
	"MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
	"SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
	"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
	"YE": 30,
}

func findIBANs(s string, sp []span) []span {
	for i := 0; i+15 <= len(s); i++ {
		if !isAlpha(s[i]) || !isAlpha(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
			continue
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '_') {
			continue
		}
		cc := [2]byte{s[i] &^ 0x20, s[i+1] &^ 0x20}
		L := ibanLen[string(cc[:])]
		if L == 0 {
			continue
		}
		var buf [34]byte
		n, j := 0, i
		for j < len(s) && n < L {
			c := s[j]
			if isAlnum(c) {
				buf[n] = c
				n++
				j++
				continue
			}
			if (c == ' ' || c == '+') && n >= 4 && j+1 < len(s) && isAlnum(s[j+1]) {
				j++
				continue
			}
			break
		}
		if n != L || (j < len(s) && (isAlnum(s[j]) || s[j] == '_')) {
			continue
		}
		if mod97(buf[:n]) == 1 {
			sp = append(sp, span{i, j})
			i = j - 1
		}
	}
	return sp
}

func mod97(b []byte) int {
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			v := int((c &^ 0x20) - 'A' + 10)
			r = (r*100 + v) % 97
		}
	}
	for _, c := range b[4:] {
		add(c)
	}
	for _, c := range b[:4] {
		add(c)
	}
	return r
}
