package scrub

import "strings"

// JWTs (JWS and JWE compact serialisation): three to five base64url
// segments joined by dots, the first of which decodes to a JSON object
// ('{', optional white space, '"'). The signature segment may be empty
// (alg "none").

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func b64val(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-' || c == '+':
		return 62
	default:
		return 63
	}
}

// jsonHeader reports whether seg decodes to '{' [ws]* '"'.
func jsonHeader(seg string) bool {
	if len(seg) < 8 {
		return false
	}
	var out [6]byte
	for q := 0; q < 2; q++ {
		v := b64val(seg[q*4])<<18 | b64val(seg[q*4+1])<<12 | b64val(seg[q*4+2])<<6 | b64val(seg[q*4+3])
		out[q*3], out[q*3+1], out[q*3+2] = byte(v>>16), byte(v>>8), byte(v)
	}
	if out[0] != '{' {
		return false
	}
	for _, c := range out[1:] {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			return true
		default:
			return false
		}
	}
	return false
}

func findJWTs(s string, sp []span) []span {
	for i := 0; i < len(s); {
		if !isB64URL(s[i]) || (i > 0 && (isB64URL(s[i-1]) || s[i-1] == '.') && !gluedJWT(s, i)) {
			i++
			continue
		}
		// segments
		j := i
		for j < len(s) && isB64URL(s[j]) {
			j++
		}
		if s[i] != 'e' || !jsonHeader(s[i:j]) {
			// A header glued to a word: "id_token-eyJ…" is one run.
			if k := strings.Index(s[i+1:j], "eyJ"); k >= 0 && gluedJWT(s, i+1+k) {
				i += 1 + k
				continue
			}
			i = j
			continue
		}
		segs, end := 1, j
		for segs < 5 && end < len(s) && s[end] == '.' {
			k := end + 1
			for k < len(s) && isB64URL(s[k]) {
				k++
			}
			if k == end+1 && segs != 2 { // only the signature (3rd) may be empty
				break
			}
			segs++
			end = k
		}
		if segs < 3 || end-i < 20 {
			i = j
			continue
		}
		sp = append(sp, span{i, end})
		i = end
	}
	return sp
}

// gluedJWT reports whether a JWT header starts at i right after a word and
// a '-' or '_' ("id_token-eyJhbGci…"): both are base64url characters, but
// a header's JSON always encodes to "eyJ", which no word ends in.
func gluedJWT(s string, i int) bool {
	return (s[i-1] == '-' || s[i-1] == '_') && strings.HasPrefix(s[i:], "eyJ")
}
