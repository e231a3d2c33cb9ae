// Package sealed encrypts the attributes an owner marks as recoverable, with
// AES-256-GCM, so that they can be read back with `webjourneyctl decrypt`
// by whoever holds the key, and by no one else.
//
// A sealed value is
//
//	"enc:v1:" keyID ":" base64url(nonce || ciphertext || tag)
//
// with a random 12-byte nonce per value. The associated data (see
// AssociatedData: the site id and the attribute name) is authenticated but
// not stored, so a sealed value copied to another site or attribute does
// not open. Keys rotate: the primary key seals, every listed key opens.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

const (
	// Prefix starts every sealed value.
	Prefix = "enc:v1:"
	// KeyBytes is the size of a key (AES-256).
	KeyBytes = 32
	// MaxKeyIDLen is the longest key id.
	MaxKeyIDLen = 16

	nonceBytes = 12
	tagBytes   = 16
)

var b64 = base64.RawURLEncoding.Strict()

var (
	// ErrNotSealed: the value does not have the shape of a sealed value.
	ErrNotSealed = errors.New("not a sealed value (enc:v1:KEYID:DATA)")
	// ErrUnknownKey: the value names a key that is not listed.
	ErrUnknownKey = errors.New("sealed with a key that is not given")
	// ErrAuth: the key, the associated data (site or attribute) or the value
	// is wrong. GCM cannot tell which.
	ErrAuth = errors.New("authentication failed: wrong key, wrong site or attribute, or tampered value")
)

// AssociatedData returns the associated data sealing binds a value to:
// site + "\x00" + attribute. The processor seals and webjourneyctl opens
// with exactly this.
func AssociatedData(site, attribute string) string {
	return site + "\x00" + attribute
}

// Sealer seals with its primary key and opens with any of its keys. It is
// safe for concurrent use.
type Sealer struct {
	primaryID string
	primary   cipher.AEAD
	keys      map[string]cipher.AEAD
}

// New returns a Sealer holding keys (key id -> 32-byte key) that seals with
// keys[primaryID]. Key ids are 1 to 16 characters of [a-z0-9].
func New(primaryID string, keys map[string][]byte) (*Sealer, error) {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Strings(ids) // deterministic error order
	s := &Sealer{primaryID: primaryID, keys: make(map[string]cipher.AEAD, len(keys))}
	for _, id := range ids {
		if !ValidKeyID(id) {
			return nil, fmt.Errorf("key id %q must be 1 to %d characters of a-z and 0-9", id, MaxKeyIDLen)
		}
		key := keys[id]
		if len(key) != KeyBytes {
			return nil, fmt.Errorf("key %q must be %d bytes (AES-256), got %d", id, KeyBytes, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		s.keys[id] = aead
	}
	s.primary = s.keys[primaryID]
	if s.primary == nil {
		return nil, fmt.Errorf("primary key %q is not among the keys given", primaryID)
	}
	return s, nil
}

// ValidKeyID reports whether id is 1 to 16 characters of [a-z0-9].
func ValidKeyID(id string) bool {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// PrimaryID returns the id of the key that seals.
func (s *Sealer) PrimaryID() string { return s.primaryID }

// Seal encrypts plaintext with the primary key, binding it to
// associatedData (use AssociatedData(site, attribute)).
func (s *Sealer) Seal(plaintext, associatedData string) string {
	buf := make([]byte, nonceBytes, nonceBytes+len(plaintext)+tagBytes)
	_, _ = rand.Read(buf) // never fails (crypto/rand crashes the program instead)
	buf = s.primary.Seal(buf, buf[:nonceBytes], []byte(plaintext), []byte(associatedData))

	var b strings.Builder
	b.Grow(len(Prefix) + len(s.primaryID) + 1 + b64.EncodedLen(len(buf)))
	b.WriteString(Prefix)
	b.WriteString(s.primaryID)
	b.WriteByte(':')
	enc := make([]byte, b64.EncodedLen(len(buf)))
	b64.Encode(enc, buf)
	b.Write(enc)
	return b.String()
}

// Open decrypts a sealed value. The error wraps ErrNotSealed, ErrUnknownKey
// or ErrAuth.
func (s *Sealer) Open(sealed, associatedData string) (string, error) {
	id, data, ok := split(sealed)
	if !ok {
		return "", ErrNotSealed
	}
	aead := s.keys[id]
	if aead == nil {
		return "", fmt.Errorf("%w: %q", ErrUnknownKey, id)
	}
	buf, err := b64.DecodeString(data)
	if err != nil || len(buf) < nonceBytes+tagBytes {
		return "", ErrNotSealed
	}
	plain, err := aead.Open(buf[nonceBytes:nonceBytes], buf[:nonceBytes], buf[nonceBytes:], []byte(associatedData))
	if err != nil {
		return "", ErrAuth
	}
	return string(plain), nil
}

// KeyIDOf returns the key id a sealed value names.
func KeyIDOf(sealed string) (string, bool) {
	id, _, ok := split(sealed)
	return id, ok
}

// IsSealed reports whether s has the shape of a sealed value: the prefix, a
// valid key id, and base64url long enough for a nonce and a tag. It does not
// check that s opens.
func IsSealed(s string) bool {
	_, data, ok := split(s)
	if !ok || b64.DecodedLen(len(data)) < nonceBytes+tagBytes {
		return false
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func split(s string) (id, data string, ok bool) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return "", "", false
	}
	id, data, ok = strings.Cut(rest, ":")
	if !ok || !ValidKeyID(id) || data == "" {
		return "", "", false
	}
	return id, data, true
}

// ParseKey reads a key as written in a key file: 64 hex characters (what
// `webjourneyctl keygen` prints) or base64 (standard or URL alphabet, padded
// or not) of exactly 32 bytes. Surrounding whitespace is ignored. Errors
// never quote the text, which is secret.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	b, ok := DecodeKeyText(text, 2*KeyBytes)
	if !ok {
		return nil, fmt.Errorf("key must be 64 hex characters or base64 of %d bytes (%d characters read; webjourneyctl keygen makes one)", KeyBytes, len(text))
	}
	if len(b) != KeyBytes {
		return nil, fmt.Errorf("key must be %d bytes (AES-256), got %d", KeyBytes, len(b))
	}
	return b, nil
}

// DecodeKeyText decodes key material written as text, the way keys and
// secrets come from files and environment variables: hex when the text has
// hexLen characters (what `webjourneyctl keygen` prints), else base64 in
// any of its four alphabets. The caller checks the length.
func DecodeKeyText(text string, hexLen int) ([]byte, bool) {
	if len(text) == hexLen {
		if b, err := hex.DecodeString(text); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(text); err == nil {
			return b, true
		}
	}
	return nil, false
}
