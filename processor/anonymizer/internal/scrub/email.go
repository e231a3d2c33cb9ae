package scrub

// E-mail addresses: local@domain.tld where the at-sign may also be written
// %40 (URL-encoded) or %2540 (double-encoded). The local part is expanded
// left over [A-Za-z0-9._%+-] and non-ASCII bytes (at most maxLocal bytes,
// which keeps the scan linear), and cut after any percent-encoded
// separator (%2F, %3D, %26, ... and their double-encoded %25XX forms) so
// that "next=%2Fp%3Femail%3Dalice%40example.com" only loses the address.

const (
	maxLocal  = 320 // RFC 5321 local part is 64 octets; encoded forms are longer
	maxDomain = 255
)

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c >= 0x80
}

func isLocalDecoded(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-' || c >= 0x80
}

// fileExtTLDs are "TLDs" that are really file extensions: logo@2x.png is
// a retina image, not an address.
var fileExtTLDs = map[string]bool{
	"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true, "webp": true,
	"avif": true, "ico": true, "bmp": true, "tif": true, "tiff": true, "js": true,
	"mjs": true, "css": true, "json": true, "html": true, "htm": true, "php": true,
	"pdf": true, "txt": true, "map": true, "woff": true, "woff2": true, "ttf": true,
	"webm": true, "mp4": true, "mp3": true,
}

func atLen(s string, i int) int {
	switch s[i] {
	case '@':
		return 1
	case '%':
		if len(s) >= i+3 && s[i+1] == '4' && s[i+2] == '0' {
			return 3
		}
		if len(s) >= i+5 && s[i+1] == '2' && s[i+2] == '5' && s[i+3] == '4' && s[i+4] == '0' {
			return 5
		}
	}
	return 0
}

func findEmails(s string, sp []span) []span {
	last := 0
	for i := 0; i < len(s); {
		al := atLen(s, i)
		if al == 0 {
			i++
			continue
		}
		lo := max(i-maxLocal, last)
		j := i
		for j > lo && isLocalChar(s[j-1]) {
			j--
		}
		start := localStart(s, j, i)
		if start < 0 {
			i += al
			continue
		}
		end := domainEnd(s, i+al)
		if end < 0 {
			i += al
			continue
		}
		sp = append(sp, span{start, end})
		last, i = end, end
	}
	return sp
}

// localStart returns where the local part in s[j:at] starts, or -1.
func localStart(s string, j, at int) int {
	start := j
	for k := j; k < at; k++ {
		if s[k] != '%' || k+2 >= at+1 || !isHex(s[k+1]) || k+2 >= len(s) || !isHex(s[k+2]) {
			continue
		}
		b := unhex(s[k+1])<<4 | unhex(s[k+2])
		n := 3
		if b == '%' && k+4 < at && isHex(s[k+3]) && isHex(s[k+4]) {
			b = unhex(s[k+3])<<4 | unhex(s[k+4])
			n = 5
		}
		if !isLocalDecoded(b) && k+n <= at {
			start = k + n
		}
	}
	for start < at && (s[start] == '.' || s[start] == '+' || s[start] == '-') {
		start++
	}
	for k := start; k < at; k++ {
		if isAlnum(s[k]) || s[k] >= 0x80 {
			return start
		}
	}
	return -1
}

// domainEnd returns the end of the domain starting at p, or -1.
func domainEnd(s string, p int) int {
	var starts, ends [64]int
	n := 0
	k := p
	limit := min(len(s), p+maxDomain)
	for n < len(starts) {
		ls := k
		for k < limit && (isAlnum(s[k]) || s[k] == '-' || s[k] >= 0x80) {
			k++
		}
		if k == ls {
			break
		}
		starts[n], ends[n] = ls, k
		n++
		if k+1 < limit && s[k] == '.' && (isAlnum(s[k+1]) || s[k+1] >= 0x80) {
			k++
			continue
		}
		break
	}
	for li := n - 1; li >= 1; li-- {
		label := s[starts[li]:ends[li]]
		l := 0
		for l < len(label) && isAlpha(label[l]) {
			l++
		}
		if l < 2 {
			continue
		}
		var tld [8]byte
		if l <= len(tld) {
			for x := 0; x < l; x++ {
				tld[x] = label[x] | 0x20
			}
			if fileExtTLDs[string(tld[:l])] {
				return -1
			}
		}
		return starts[li] + l
	}
	return -1
}
