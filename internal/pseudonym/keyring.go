package pseudonym

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/webjourney/webjourney/internal/sealed"
)

// Keyring holds the secrets of every key id whose pseudonyms may still be
// stored: the anonymizer's current secret and the secrets it was rotated
// away from (pseudonyms carry their key id, so documents written before a
// rotation keep the old one until retention deletes them). It finds a
// subject's stored pseudonyms from a raw identifier; the anonymizer itself
// only ever pseudonymises with its current key.
type Keyring struct {
	ps []*Pseudonymizer // by key id
}

// NewKeyring returns a keyring of secrets by key id, each kept at length
// bytes of the HMAC (the anonymizer's pseudonym_bytes).
func NewKeyring(secrets map[string][]byte, length int) (*Keyring, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no pseudonymisation secret given")
	}
	k := &Keyring{}
	for id, secret := range secrets {
		p, err := New(secret, id, length)
		if err != nil {
			return nil, fmt.Errorf("key id %q: %w", id, err)
		}
		k.ps = append(k.ps, p)
	}
	slices.SortFunc(k.ps, func(a, b *Pseudonymizer) int { return strings.Compare(a.keyID, b.keyID) })
	return k, nil
}

// KeyIDs lists the key ids of the keyring, sorted.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, len(k.ps))
	for i, p := range k.ps {
		ids[i] = p.keyID
	}
	return ids
}

// EncodedLen is the length of the base64url part of the keyring's
// pseudonyms (after "<key id>:").
func (k *Keyring) EncodedLen() int { return k.ps[0].encLen }

// Pseudonyms returns the pseudonym of value on site under every key id,
// in key id order: all the forms in which the anonymizer can have stored
// it.
func (k *Keyring) Pseudonyms(site, value string) []string {
	out := make([]string, len(k.ps))
	for i, p := range k.ps {
		out[i] = p.Pseudonymize(site, value)
	}
	return out
}

// KeyIDOf returns the key id of a stored pseudonym ("k1" of
// "k1:3q2-7w..."), and whether s has the shape of a pseudonym of some key
// id at length bytes (which keyring made it is not checked).
func KeyIDOf(s string, length int) (string, bool) {
	id, enc, ok := strings.Cut(s, ":")
	if !ok || id == "" || len(id) > MaxKeyIDLen {
		return "", false
	}
	if !sealed.ValidKeyID(id) || length < MinLength || length > MaxLength {
		return "", false
	}
	p := Pseudonymizer{keyID: id, length: length, encLen: base64.RawURLEncoding.EncodedLen(length)}
	if len(enc) != p.encLen || !p.IsPseudonym(s) {
		return "", false
	}
	return id, true
}
