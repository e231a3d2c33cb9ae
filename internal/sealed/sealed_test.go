package sealed

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
	ad   = AssociatedData("site-a", "email")
)

func newS(t testing.TB, primary string, keys map[string][]byte) *Sealer {
	t.Helper()
	s, err := New(primary, keys)
	require.NoError(t, err)
	return s
}

func TestNewErrors(t *testing.T) {
	_, err := New("k1", map[string][]byte{"k1": make([]byte, 16)})
	assert.EqualError(t, err, `key "k1" must be 32 bytes (AES-256), got 16`)
	_, err = New("k2", map[string][]byte{"k1": key1})
	assert.ErrorContains(t, err, `primary key "k2" is not among the keys given`)
	_, err = New("k1", nil)
	assert.Error(t, err)
	for _, id := range []string{"", "K1", "k:1", "abcdefghijklmnopq"} {
		_, err = New(id, map[string][]byte{id: key1})
		assert.ErrorContains(t, err, "key id", id)
	}
}

func TestAssociatedData(t *testing.T) {
	assert.Equal(t, "site-a\x00email", AssociatedData("site-a", "email"))
}

func TestRoundTrip(t *testing.T) {
	s := newS(t, "k1", map[string][]byte{"k1": key1})
	for _, pt := range []string{"", "a", "jane@example.com", strings.Repeat("é", 1000), "line\nbreak\x00nul"} {
		sealed := s.Seal(pt, ad)
		assert.True(t, strings.HasPrefix(sealed, "enc:v1:k1:"), sealed)
		assert.True(t, IsSealed(sealed))
		id, ok := KeyIDOf(sealed)
		assert.True(t, ok)
		assert.Equal(t, "k1", id)
		got, err := s.Open(sealed, ad)
		require.NoError(t, err)
		assert.Equal(t, pt, got)
	}
}

func TestNoncesDiffer(t *testing.T) {
	s := newS(t, "k1", map[string][]byte{"k1": key1})
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for i := 0; i < 200; i++ {
		v := s.Seal("same", ad)
		assert.False(t, seen[v])
		seen[v] = true
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, "enc:v1:k1:"))
		require.NoError(t, err)
		assert.False(t, nonces[string(raw[:12])])
		nonces[string(raw[:12])] = true
	}
}

func TestWrongAssociatedDataOrKey(t *testing.T) {
	s := newS(t, "k1", map[string][]byte{"k1": key1})
	v := s.Seal("jane@example.com", ad)
	for _, other := range []string{AssociatedData("site-b", "email"), AssociatedData("site-a", "phone"), "", "site-a\x00email\x00"} {
		_, err := s.Open(v, other)
		assert.ErrorIs(t, err, ErrAuth)
	}
	wrong := newS(t, "k1", map[string][]byte{"k1": key2})
	_, err := wrong.Open(v, ad)
	assert.ErrorIs(t, err, ErrAuth)
	unknown := newS(t, "k2", map[string][]byte{"k2": key1})
	_, err = unknown.Open(v, ad)
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.ErrorContains(t, err, `"k1"`)
}

func TestTamperingFails(t *testing.T) {
	s := newS(t, "k1", map[string][]byte{"k1": key1, "k2": key2})
	v := s.Seal("jane@example.com", ad)
	// Every character of the text, changed to every other base64url character.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:"
	for i := 0; i < len(v); i++ {
		for _, c := range []byte(alphabet) {
			if c == v[i] {
				continue
			}
			bad := v[:i] + string(c) + v[i+1:]
			_, err := s.Open(bad, ad)
			require.Error(t, err, "position %d -> %q: %s", i, c, bad)
		}
	}
	// Every bit of the decoded payload.
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, "enc:v1:k1:"))
	require.NoError(t, err)
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			_, err := s.Open("enc:v1:k1:"+base64.RawURLEncoding.EncodeToString(b), ad)
			require.ErrorIs(t, err, ErrAuth)
		}
	}
	// Truncated or extended.
	for _, bad := range []string{v[:len(v)-1], v + "A", v + "AAAA", v[:20]} {
		_, err := s.Open(bad, ad)
		assert.Error(t, err)
	}
}

func TestRotation(t *testing.T) {
	old := newS(t, "k1", map[string][]byte{"k1": key1})
	oldValue := old.Seal("old secret", ad)
	rotated := newS(t, "k2", map[string][]byte{"k1": key1, "k2": key2})
	newValue := rotated.Seal("new secret", ad)
	assert.True(t, strings.HasPrefix(newValue, "enc:v1:k2:"))
	got, err := rotated.Open(oldValue, ad)
	require.NoError(t, err)
	assert.Equal(t, "old secret", got)
	got, err = rotated.Open(newValue, ad)
	require.NoError(t, err)
	assert.Equal(t, "new secret", got)
	_, err = old.Open(newValue, ad)
	assert.ErrorIs(t, err, ErrUnknownKey)
	// Once k1 is dropped, the old values no longer open.
	dropped := newS(t, "k2", map[string][]byte{"k2": key2})
	_, err = dropped.Open(oldValue, ad)
	assert.ErrorIs(t, err, ErrUnknownKey)
}

func TestIsSealed(t *testing.T) {
	s := newS(t, "k1", map[string][]byte{"k1": key1})
	assert.True(t, IsSealed(s.Seal("", ad)))
	for _, v := range []string{"", "enc:v1:", "enc:v1:k1", "enc:v1:k1:", "enc:v1:K1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "enc:v2:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "enc:v1:k1:AAAA", "enc:v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", "jane@example.com"} {
		assert.False(t, IsSealed(v), v)
		_, err := s.Open(v, ad)
		assert.Error(t, err, v)
	}
	_, err := s.Open("jane@example.com", ad)
	assert.ErrorIs(t, err, ErrNotSealed)
}

func TestParseKey(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	for _, text := range []string{
		hex.EncodeToString(key),
		strings.ToUpper(hex.EncodeToString(key)),
		"  " + hex.EncodeToString(key) + "\n",
		base64.StdEncoding.EncodeToString(key) + "\r\n",
		base64.RawStdEncoding.EncodeToString(key),
		base64.URLEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
	} {
		got, err := ParseKey(text)
		require.NoError(t, err, text)
		assert.Equal(t, key, got)
	}
	_, err := ParseKey(hex.EncodeToString(key[:31]))
	assert.Error(t, err)
	_, err = ParseKey(base64.StdEncoding.EncodeToString(key[:16]))
	assert.ErrorContains(t, err, "must be 32 bytes (AES-256), got 16")
	_, err = ParseKey("not a key at all!")
	assert.ErrorContains(t, err, "64 hex characters or base64")
	assert.NotContains(t, err.Error(), "not a key")
	_, err = ParseKey("")
	assert.Error(t, err)
}

func FuzzOpen(f *testing.F) {
	s := newS(f, "k1", map[string][]byte{"k1": key1, "k2": key2})
	f.Add(s.Seal("jane@example.com", ad), ad)
	f.Add(s.Seal("", ""), "")
	f.Add("enc:v1:k1:", "x")
	f.Add("enc:v1:k2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("enc:v1::::", "\x00")
	f.Fuzz(func(t *testing.T, sealed, associatedData string) {
		pt, err := s.Open(sealed, associatedData)
		if err != nil {
			if !errors.Is(err, ErrNotSealed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrAuth) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !IsSealed(sealed) {
			t.Fatalf("%q opened but is not IsSealed", sealed)
		}
		if resealed, err := s.Open(s.Seal(pt, associatedData), associatedData); err != nil || resealed != pt {
			t.Fatalf("round trip of %q failed: %v", pt, err)
		}
		_ = IsSealed(sealed)
		_, _ = KeyIDOf(sealed)
	})
}

func BenchmarkSeal(b *testing.B) {
	s := newS(b, "k1", map[string][]byte{"k1": key1})
	b.ReportAllocs()
	for b.Loop() {
		s.Seal("jane@example.com", ad)
	}
}

func BenchmarkOpen(b *testing.B) {
	s := newS(b, "k1", map[string][]byte{"k1": key1})
	v := s.Seal("jane@example.com", ad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(v, ad); err != nil {
			b.Fatal(err)
		}
	}
}
