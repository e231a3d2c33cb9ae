// Package botdetect recognizes crawlers, bots and HTTP libraries by their
// User-Agent header, using the crawler-user-agents list (MIT licence,
// https://github.com/monperrus/crawler-user-agents) compiled into
// patterns_generated.go by ./gen.
//
// Matching ~1500 regular expressions one by one, or as one alternation, costs
// tens of microseconds per request in Go's regexp engine. Instead, the
// generator extracts from each pattern a few literals that every match must
// contain. At start-up those literals are indexed by their first three
// (ASCII-lower-cased) bytes; IsBot slides a three-byte window over the user
// agent, and only when a window starts one of the literals, and the whole
// literal is there, is that pattern's regexp run. A browser user agent
// thus costs one pass over its bytes plus a handful of literal comparisons,
// and no regexp at all. The prefilter is case-insensitive while the
// patterns are case-sensitive, so it only ever lets more candidates
// through, never fewer.
package botdetect // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/botdetect"

//go:generate go run ./gen -in ../../../../.cache/npm/node_modules/crawler-user-agents/crawler-user-agents.json -out patterns_generated.go

import (
	"regexp"
	"sync"
)

// MaxUserAgentLen bounds how much of a user agent is examined. Browser user
// agents are a few hundred bytes; the bound keeps the cost of a crafted
// multi-kilobyte header predictable. Only the first MaxUserAgentLen bytes
// of a longer user agent are matched.
const MaxUserAgentLen = 2048

// ListVersion is the version of the crawler-user-agents list compiled in.
const ListVersion = listVersion

// pattern is one entry of the generated list.
type pattern struct {
	re   string   // regular expression, as in the list
	lits []string // lower-case literals, one of which every match contains
}

// litRef is one indexed literal.
type litRef struct {
	lit string
	pat uint16 // index into patterns
}

var (
	// seen has a bit for every 16-bit hash of a literal's first three bytes:
	// most windows of a user agent are rejected with one bit test.
	seen [1 << 16 / 64]uint64
	// byPrefix lists the literals by their exact first three bytes.
	byPrefix map[uint32][]litRef
	// always lists patterns without a usable literal (none in the current
	// list; the generator reports them).
	always []uint16

	compiled [len(patterns)]struct {
		once sync.Once
		re   *regexp.Regexp
	}
)

func init() {
	byPrefix = make(map[uint32][]litRef)
	for i, p := range patterns {
		if len(p.lits) == 0 {
			always = append(always, uint16(i))
			continue
		}
		for _, l := range p.lits {
			if len(l) < 3 { // the generator never emits these
				always = append(always, uint16(i))
				break
			}
			k := key3(l[0], l[1], l[2])
			seen[hash16(k)/64] |= 1 << (hash16(k) % 64)
			byPrefix[k] = append(byPrefix[k], litRef{lit: l, pat: uint16(i)})
		}
	}
}

// lower folds ASCII upper case, the same folding the generator applied to
// the literals.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func key3(a, b, c byte) uint32 { return uint32(a)<<16 | uint32(b)<<8 | uint32(c) }

func hash16(k uint32) uint32 { return (k * 0x9E3779B1) >> 16 }

// regexpFor compiles pattern i on first use: most patterns are never
// candidates in a given process, and compiling all would slow start-up.
func regexpFor(i uint16) *regexp.Regexp {
	c := &compiled[i]
	c.once.Do(func() {
		// The generator checked that every pattern compiles.
		c.re = regexp.MustCompile(patterns[i].re)
	})
	return c.re
}

// IsBot reports whether userAgent matches the crawler-user-agents list.
//
// An empty user agent is not reported as a bot: the list has no pattern for
// it, and whether to count requests without a User-Agent (privacy tools,
// some in-app browsers, but also scripts) is the caller's policy, so
// callers should check for "" themselves.
func IsBot(userAgent string) bool {
	_, ok := Match(userAgent)
	return ok
}

// Match is IsBot that also returns the list pattern that matched, which
// identifies the bot for diagnostics.
func Match(userAgent string) (pattern string, ok bool) {
	ua := userAgent
	if len(ua) > MaxUserAgentLen {
		ua = ua[:MaxUserAgentLen]
	}
	// checked marks patterns already run, so that a literal occurring
	// many times costs one regexp run.
	var checked [(len(patterns) + 63) / 64]uint64
	for i := 0; i+3 <= len(ua); i++ {
		k := key3(lower[ua[i]], lower[ua[i+1]], lower[ua[i+2]])
		h := hash16(k)
		if seen[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for _, ref := range byPrefix[k] {
			if checked[ref.pat/64]&(1<<(ref.pat%64)) != 0 || !hasFoldPrefix(ua[i:], ref.lit) {
				continue
			}
			checked[ref.pat/64] |= 1 << (ref.pat % 64)
			if regexpFor(ref.pat).MatchString(ua) {
				return patterns[ref.pat].re, true
			}
		}
	}
	for _, p := range always {
		if regexpFor(p).MatchString(ua) {
			return patterns[p].re, true
		}
	}
	return "", false
}

// hasFoldPrefix reports whether s starts with lit (lower case) ignoring
// ASCII case in s.
func hasFoldPrefix(s, lit string) bool {
	if len(s) < len(lit) {
		return false
	}
	for j := range len(lit) {
		if lower[s[j]] != lit[j] {
			return false
		}
	}
	return true
}
