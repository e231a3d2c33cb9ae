// Package pseudonym turns identifiers into keyed pseudonyms, one
// pseudonymisation domain per site.
//
// A master secret is expanded with HKDF-SHA256 into one key per site
// (info = "webjourney pseudonym v1\x00" + site), and a value's pseudonym is
// the truncated HMAC-SHA256 of the value under its site's key, written as
//
//	keyID ":" base64url(HMAC-SHA256(siteKey, value)[:length])
//
// The same secret, site and value always give the same pseudonym, so
// pseudonyms can still be counted and joined within a site; the same value
// on two sites gives unrelated pseudonyms; without the secret a pseudonym
// cannot be reversed, nor recomputed from a guessed value. The key id in
// every output names the secret, so that the secret can rotate and the two
// generations never collide.
package pseudonym // import "github.com/webjourney/webjourney/internal/pseudonym"

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/webjourney/webjourney/internal/sealed"
)

const (
	// MinSecretBytes is the shortest master secret New accepts.
	MinSecretBytes = 32
	// MinLength and MaxLength bound the HMAC bytes kept in a pseudonym.
	MinLength = 8
	MaxLength = sha256.Size
	// MaxKeyIDLen is the longest key id.
	MaxKeyIDLen = 16

	// infoPrefix is the HKDF info prefix; the site follows it.
	infoPrefix = "webjourney pseudonym v1\x00"
	// maxCachedSites bounds the per-site key cache. Sites are few; past the
	// bound the key of an unknown site is derived on every call (slower, but
	// memory cannot be made to grow by inventing site ids).
	maxCachedSites = 4096
	// maxPooledInput is the largest input buffer returned to the pool.
	maxPooledInput = 4096
)

// hkdfSalt separates this HKDF use from any other use of the same secret.
var hkdfSalt = []byte("webjourney/pseudonym/hkdf-salt/v1")

// Pseudonymizer computes pseudonyms. It is safe for concurrent use.
type Pseudonymizer struct {
	secret []byte
	keyID  string
	length int
	encLen int // length of the base64url part

	mu    sync.Mutex                          // serialises writers of sites
	sites atomic.Pointer[map[string]*siteKey] // copy-on-write; read without locking
}

// siteKey holds one site's key and a pool of HMACs keyed with it.
type siteKey struct {
	key  []byte
	pool sync.Pool // of *hasher
}

type hasher struct {
	mac hash.Hash
	in  []byte
	sum [sha256.Size]byte
	enc [44]byte // base64url of up to 32 bytes is at most 43 characters
}

// New returns a Pseudonymizer for secret (at least 32 bytes), whose outputs
// are prefixed by keyID (1 to 16 characters of [a-z0-9]) and keep length
// bytes (8 to 32) of the HMAC. The secret is copied.
func New(secret []byte, keyID string, length int) (*Pseudonymizer, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("pseudonymisation secret must be at least %d bytes, got %d", MinSecretBytes, len(secret))
	}
	if !sealed.ValidKeyID(keyID) { // the same key id rules as for encryption keys
		return nil, fmt.Errorf("key id %q must be 1 to %d characters of a-z and 0-9", keyID, MaxKeyIDLen)
	}
	if length < MinLength || length > MaxLength {
		return nil, fmt.Errorf("pseudonym length must be between %d and %d bytes, got %d", MinLength, MaxLength, length)
	}
	p := &Pseudonymizer{
		secret: append([]byte(nil), secret...),
		keyID:  keyID,
		length: length,
		encLen: base64.RawURLEncoding.EncodedLen(length),
	}
	empty := map[string]*siteKey{}
	p.sites.Store(&empty)
	return p, nil
}

// KeyID returns the key id that prefixes every pseudonym.
func (p *Pseudonymizer) KeyID() string { return p.keyID }

// Pseudonymize returns the pseudonym of value on site. The empty value gets a
// pseudonym too; whether to pseudonymise it is the caller's choice.
func (p *Pseudonymizer) Pseudonymize(site, value string) string {
	sk := p.siteKey(site)
	h, _ := sk.pool.Get().(*hasher)
	if h == nil {
		h = &hasher{mac: hmac.New(sha256.New, sk.key)}
	}
	h.mac.Reset()
	h.in = append(h.in[:0], value...)
	h.mac.Write(h.in)
	sum := h.mac.Sum(h.sum[:0])
	enc := h.enc[:p.encLen]
	base64.RawURLEncoding.Encode(enc, sum[:p.length])

	var b strings.Builder
	b.Grow(len(p.keyID) + 1 + p.encLen)
	b.WriteString(p.keyID)
	b.WriteByte(':')
	b.Write(enc)

	if cap(h.in) > maxPooledInput {
		h.in = nil
	}
	sk.pool.Put(h)
	return b.String()
}

// IsPseudonym reports whether s has the shape of a pseudonym made by p: its
// key id, ':', and base64url of the configured length. It does not (and
// cannot) check that s is the pseudonym of anything.
func (p *Pseudonymizer) IsPseudonym(s string) bool {
	if len(s) != len(p.keyID)+1+p.encLen || !strings.HasPrefix(s, p.keyID) || s[len(p.keyID)] != ':' {
		return false
	}
	enc := s[len(p.keyID)+1:]
	for i := 0; i < len(enc); i++ {
		if !isBase64URL(enc[i]) {
			return false
		}
	}
	// The last character must not carry bits past the end of the bytes.
	if rem := p.length % 3; rem != 0 {
		last := strings.IndexByte(base64URLAlphabet, enc[len(enc)-1])
		mask := 0x0f // 1 byte in the last group: 2 bits used, 4 unused
		if rem == 2 {
			mask = 0x03 // 2 bytes: 4 bits used, 2 unused
		}
		if last&mask != 0 {
			return false
		}
	}
	return true
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func isBase64URL(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
}

// siteKey returns the cached key of site, deriving it on first use.
func (p *Pseudonymizer) siteKey(site string) *siteKey {
	if sk, ok := (*p.sites.Load())[site]; ok {
		return sk
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.sites.Load()
	if sk, ok := old[site]; ok {
		return sk
	}
	sk := &siteKey{key: deriveSiteKey(p.secret, site)}
	if len(old) >= maxCachedSites {
		return sk
	}
	next := make(map[string]*siteKey, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[site] = sk
	p.sites.Store(&next)
	return sk
}

func deriveSiteKey(secret []byte, site string) []byte {
	key, err := hkdf.Key(sha256.New, secret, hkdfSalt, infoPrefix+site, sha256.Size)
	if err != nil {
		// hkdf.Key fails only for lengths beyond 255*32 bytes.
		panic("pseudonym: " + err.Error())
	}
	return key
}
