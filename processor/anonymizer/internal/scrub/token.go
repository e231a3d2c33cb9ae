package scrub

import (
	"math"
	"strings"
)

// Secret tokens. Two detectors share the Token name:
//
// findKnownTokens matches vendor prefixes (Stripe, GitHub, GitLab, Slack,
// AWS access key ids, Google API keys and OAuth access tokens, Shopify,
// npm, Hugging Face, SendGrid, Square).
//
// findTokens flags long random-looking strings: at least 24 characters of
// [A-Za-z0-9_+/=-] containing letters and digits whose character
// distribution is close to random (Shannon entropy, calibrated in
// TestTokenCalibration). It deliberately leaves alone:
//   - UUIDs and other dash-grouped hex (common page/order ids),
//   - pure hex up to 40 digits (our 32-hex event ids, MD5, git SHA-1);
//     longer hex (SHA-256-sized, 64 hex) is treated as a secret,
//   - slugs and identifiers made of words and numbers
//     (how-to-choose-the-best-running-shoes-2026, ProductDetailPageV2),
//   - anything shorter than 24 characters (base64 of short data).

type knownPrefix struct {
	p        string
	min, max int // length of the body after the prefix
	body     func(byte) bool
}

func upperDigit(c byte) bool { return isUpper(c) || isDigit(c) }
func alnumOnly(c byte) bool  { return isAlnum(c) }
func b64urlDot(c byte) bool  { return isB64URL(c) || c == '.' }

var knownPrefixes = []knownPrefix{
	{"sk_live_", 8, 256, isB64URL}, {"sk_test_", 8, 256, isB64URL},
	{"pk_live_", 8, 256, isB64URL}, {"pk_test_", 8, 256, isB64URL},
	{"rk_live_", 8, 256, isB64URL}, {"rk_test_", 8, 256, isB64URL},
	{"whsec_", 16, 256, alnumOnly},
	{"ghp_", 20, 255, alnumOnly}, {"gho_", 20, 255, alnumOnly}, {"ghu_", 20, 255, alnumOnly},
	{"ghs_", 20, 255, alnumOnly}, {"ghr_", 20, 255, alnumOnly}, {"github_pat_", 20, 255, isB64URL},
	{"glpat-", 20, 255, isB64URL}, {"glrt-", 20, 255, isB64URL},
	{"xoxb-", 10, 255, isB64URL}, {"xoxp-", 10, 255, isB64URL}, {"xoxa-", 10, 255, isB64URL},
	{"xoxr-", 10, 255, isB64URL}, {"xoxs-", 10, 255, isB64URL}, {"xapp-", 10, 255, isB64URL},
	{"AKIA", 16, 16, upperDigit}, {"ASIA", 16, 16, upperDigit},
	{"AIza", 35, 35, isB64URL},
	{"ya29.", 20, 2048, b64urlDot},
	{"shpat_", 32, 32, alnumOnly}, {"shpss_", 32, 32, alnumOnly}, {"shpca_", 32, 32, alnumOnly},
	{"npm_", 36, 36, alnumOnly}, {"hf_", 30, 40, alnumOnly},
	{"SG.", 40, 80, b64urlDot},
	{"sq0atp-", 20, 64, isB64URL}, {"sq0csp-", 20, 64, isB64URL},
}

func findKnownTokens(s string, sp []span) []span {
	var found []span
	for _, kp := range knownPrefixes {
		from := 0
		for from < len(s) {
			k := strings.Index(s[from:], kp.p)
			if k < 0 {
				break
			}
			st := from + k
			from = st + len(kp.p)
			if st > 0 && (isAlnum(s[st-1]) || s[st-1] == '_') {
				continue
			}
			j := from
			for j < len(s) && j-from < kp.max && kp.body(s[j]) {
				j++
			}
			if j-from < kp.min {
				continue
			}
			// take the rest of an attached token run too
			for j < len(s) && isB64URL(s[j]) && j-st < 4096 {
				j++
			}
			found = append(found, span{st, j})
			from = j
		}
	}
	if len(found) == 0 {
		return sp
	}
	// sort by start and merge overlaps
	for a := 1; a < len(found); a++ {
		for b := a; b > 0 && found[b].start < found[b-1].start; b-- {
			found[b], found[b-1] = found[b-1], found[b]
		}
	}
	for _, f := range found {
		if n := len(sp); n > 0 && f.start <= sp[n-1].end {
			sp[n-1].end = max(sp[n-1].end, f.end)
			continue
		}
		sp = append(sp, f)
	}
	return sp
}

func findTokens(s string, sp []span) []span {
	for i := 0; i < len(s); {
		if !isTokenChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isTokenChar(s[j]) {
			j++
		}
		if j-i >= 24 {
			sp = tokensInRun(s, i, j, sp)
		}
		i = j
	}
	return sp
}

// tokensInRun splits a run at inner '=' (key=value) and judges each piece;
// a piece that fails as a whole is split at '/' and '+' (paths, encoded
// spaces) and the parts are judged on their own.
func tokensInRun(s string, a, b int, sp []span) []span {
	for p := a; p < b; {
		q := p
		for q < b && !(s[q] == '=' && q+1 < b && s[q+1] != '=') {
			q++
		}
		if q < b { // q is an inner '='
			sp = tokenPiece(s, p, q, sp)
			p = q + 1
			continue
		}
		sp = tokenPiece(s, p, b, sp)
		break
	}
	return sp
}

func tokenPiece(s string, a, b int, sp []span) []span {
	if b-a < 24 {
		return sp
	}
	piece := s[a:b]
	if piece[0] != '/' && !strings.Contains(piece, "//") {
		if st, en, ok := judge(s, a, b); ok {
			return append(sp, span{st, en})
		}
	}
	for p := a; p < b; {
		q := p
		for q < b && s[q] != '/' && s[q] != '+' {
			q++
		}
		if q-p >= 24 {
			if st, en, ok := judge(s, p, q); ok {
				sp = append(sp, span{st, en})
			}
		}
		p = q + 1
	}
	return sp
}

// judge trims structural separators and padding off s[a:b] and decides.
func judge(s string, a, b int) (int, int, bool) {
	for a < b && (s[a] == '+' || s[a] == '/' || s[a] == '=') {
		a++
	}
	for b > a && (s[b-1] == '+' || s[b-1] == '/') {
		b--
	}
	e := b
	for e > a && s[e-1] == '=' {
		e--
	}
	if e-a < 24 || !isRandomToken(s[a:e]) {
		return 0, 0, false
	}
	return a, b, true
}

// isRandomToken decides whether t looks like a machine-generated secret.
func isRandomToken(t string) bool {
	n := len(t)
	var up, lo, dig, sep, hexOnly int
	var hist [128]uint16
	for i := 0; i < n; i++ {
		c := t[i]
		hist[c&127]++
		switch {
		case isUpper(c):
			up++
		case isLower(c):
			lo++
		case isDigit(c):
			dig++
		default:
			sep++
		}
		if isHex(c) {
			hexOnly++
		}
	}
	if dig == 0 || up+lo == 0 {
		return false
	}
	if hexOnly+sep == n && (up == 0 || lo == 0) {
		// hex: UUIDs / dash-grouped ids and anything up to 40 digits are ids
		if sep > 0 || hexOnly <= 40 {
			return false
		}
		return true
	}
	if wordy(t) {
		return false
	}
	h := 0.0
	for _, k := range hist {
		if k != 0 {
			p := float64(k) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h >= entropyThreshold(n, up > 0 && lo > 0)
}

// entropyThreshold is the minimum Shannon entropy (bits per character) for
// a string of n characters to count as random: the expected entropy of n
// uniform draws from the alphabet the string seems to use (62 symbols when
// it mixes case, 36 otherwise), with the Miller-Madow small-sample bias
// subtracted, minus a margin. Identifiers made of words stay well below;
// those that do not are caught by wordy.
func entropyThreshold(n int, mixedCase bool) float64 {
	k := 36.0
	if mixedCase {
		k = 62
	}
	expected := math.Log2(k) - (k-1)/(2*float64(n)*math.Ln2)
	if nMax := math.Log2(float64(n)); expected > nMax {
		expected = nMax
	}
	return expected - tokenEntropyMargin
}

// tokenEntropyMargin is calibrated in TestTokenCalibration: random tokens
// of 24-64 characters from base62, base36 and base64url pass >= 99.5%.
const tokenEntropyMargin = 0.7

// wordy reports whether t is made of words and numbers: split at
// separators and case changes (camelCase), the parts are on average at
// least 4 characters long and at least 70% of the letters are in
// pronounceable parts (3+ letters, a quarter vowels, no run of more
// than 4 consonants). Random strings switch class every ~2 characters and their
// letter runs are rarely pronounceable.
func wordy(t string) bool {
	parts, inWords, letters, digitRuns, seps := 0, 0, 0, 0, 0
	upper, lower := false, false
	i := 0
	for i < len(t) {
		c := t[i]
		j := i
		switch {
		case isDigit(c):
			for j < len(t) && isDigit(t[j]) {
				j++
			}
		case isUpper(c):
			j++
			if j < len(t) && isLower(t[j]) {
				for j < len(t) && isLower(t[j]) {
					j++
				}
			} else {
				for j < len(t) && isUpper(t[j]) && !(j+1 < len(t) && isLower(t[j+1])) {
					j++
				}
			}
		case isLower(c):
			for j < len(t) && isLower(t[j]) {
				j++
			}
		default:
			seps++
			i++
			continue
		}
		parts++
		if isDigit(c) {
			digitRuns++
		} else {
			upper = upper || isUpper(c)
			lower = lower || isLower(t[j-1])
			letters += j - i
			if pronounceable(t[i:j]) {
				inWords += j - i
			}
		}
		i = j
	}
	if seps == 0 && !(upper && lower) && digitRuns > 2 {
		// one case, no separators: words glued together carry few numbers
		return false
	}
	return letters > 0 && inWords*10 >= letters*7 && parts*4 <= len(t)
}

func pronounceable(w string) bool {
	if len(w) < 3 {
		return false
	}
	vowels, run := 0, 0
	// at most 4 consonants in a row and a quarter vowels
	for i := 0; i < len(w); i++ {
		switch w[i] | 0x20 {
		case 'a', 'e', 'i', 'o', 'u', 'y':
			vowels++
			run = 0
		default:
			run++
			if run > 4 {
				return false
			}
		}
	}
	return vowels*4 >= len(w)
}
