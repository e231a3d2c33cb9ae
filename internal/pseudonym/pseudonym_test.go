package pseudonym

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var secret = bytes.Repeat([]byte{0x42}, 32)

func newP(t testing.TB, length int) *Pseudonymizer {
	t.Helper()
	p, err := New(secret, "k1", length)
	require.NoError(t, err)
	return p
}

func TestNewErrors(t *testing.T) {
	_, err := New(make([]byte, 31), "k1", 16)
	assert.ErrorContains(t, err, "must be at least 32 bytes, got 31")
	for _, id := range []string{"", "K1", "k-1", "k 1", "abcdefghijklmnopq", "ké"} {
		_, err = New(secret, id, 16)
		assert.ErrorContains(t, err, "key id", id)
	}
	for _, l := range []int{0, 7, 33} {
		_, err = New(secret, "k1", l)
		assert.ErrorContains(t, err, "length must be between 8 and 32", l)
	}
	p, err := New(make([]byte, 64), "abcdefghijklmnop", 32)
	require.NoError(t, err)
	assert.Equal(t, "abcdefghijklmnop", p.KeyID())
}

func TestPseudonymizeMatchesSpec(t *testing.T) {
	p := newP(t, 16)
	siteKey, err := hkdf.Key(sha256.New, secret, hkdfSalt, "webjourney pseudonym v1\x00site-a", 32)
	require.NoError(t, err)
	m := hmac.New(sha256.New, siteKey)
	m.Write([]byte("user-123"))
	want := "k1:" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
	assert.Equal(t, want, p.Pseudonymize("site-a", "user-123"))
}

func TestDeterministicAndSeparated(t *testing.T) {
	p := newP(t, 16)
	a := p.Pseudonymize("site-a", "user-123")
	assert.Equal(t, a, p.Pseudonymize("site-a", "user-123"))
	// A second instance with the same secret agrees.
	assert.Equal(t, a, newP(t, 16).Pseudonymize("site-a", "user-123"))
	assert.NotEqual(t, a, p.Pseudonymize("site-b", "user-123"))
	assert.NotEqual(t, a, p.Pseudonymize("site-a", "user-124"))
	// A site/value boundary shift must not collide.
	assert.NotEqual(t, p.Pseudonymize("ab", "c"), p.Pseudonymize("a", "bc"))
	// Another secret gives another pseudonym.
	q, err := New(bytes.Repeat([]byte{0x43}, 32), "k1", 16)
	require.NoError(t, err)
	assert.NotEqual(t, a, q.Pseudonymize("site-a", "user-123"))
	// The empty value is pseudonymised too.
	e := p.Pseudonymize("site-a", "")
	assert.True(t, p.IsPseudonym(e))
	assert.NotEqual(t, e, p.Pseudonymize("site-b", ""))
	// Long values go through (and are not kept in the pool).
	long := strings.Repeat("x", 10000)
	assert.Equal(t, p.Pseudonymize("site-a", long), p.Pseudonymize("site-a", long))
}

func TestIsPseudonym(t *testing.T) {
	for _, l := range []int{8, 9, 10, 16, 32} {
		p := newP(t, l)
		for i := 0; i < 50; i++ {
			out := p.Pseudonymize("s", fmt.Sprint(i))
			require.Len(t, out, 3+base64.RawURLEncoding.EncodedLen(l))
			require.True(t, p.IsPseudonym(out), out)
		}
		out := p.Pseudonymize("s", "v")
		assert.False(t, p.IsPseudonym(out[:len(out)-1]))
		assert.False(t, p.IsPseudonym(out+"A"))
		assert.False(t, p.IsPseudonym("k2"+out[2:]))
		assert.False(t, p.IsPseudonym("k1;"+out[3:]))
		assert.False(t, p.IsPseudonym(out[:5]+"+"+out[6:]))
		assert.False(t, p.IsPseudonym(""))
		assert.False(t, p.IsPseudonym("user-123"))
	}
	// Non-canonical trailing bits are rejected (8 bytes -> 11 chars, 2 unused bits).
	p := newP(t, 8)
	out := p.Pseudonymize("s", "v")
	last := strings.IndexByte(base64URLAlphabet, out[len(out)-1])
	bad := out[:len(out)-1] + string(base64URLAlphabet[last|1])
	assert.False(t, p.IsPseudonym(bad))
}

func TestConcurrent(t *testing.T) {
	p := newP(t, 16)
	want := map[string]string{}
	for s := 0; s < 20; s++ {
		site := fmt.Sprint("site-", s)
		want[site] = newP(t, 16).Pseudonymize(site, "v")
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				site := fmt.Sprint("site-", i%20)
				if got := p.Pseudonymize(site, "v"); got != want[site] {
					t.Errorf("%s: got %s want %s", site, got, want[site])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSiteCacheBounded(t *testing.T) {
	p := newP(t, 16)
	for i := 0; i < maxCachedSites+10; i++ {
		p.Pseudonymize(fmt.Sprint("s", i), "v")
	}
	assert.Len(t, *p.sites.Load(), maxCachedSites)
	// Uncached sites still give the right answer.
	site := fmt.Sprint("s", maxCachedSites+5)
	assert.Equal(t, newP(t, 16).Pseudonymize(site, "v"), p.Pseudonymize(site, "v"))
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	p := newP(t, 16)
	p.Pseudonymize("site-a", "warm")
	allocs := testing.AllocsPerRun(1000, func() { p.Pseudonymize("site-a", "user-123@example.com") })
	assert.LessOrEqual(t, allocs, 1.0)
}

func BenchmarkPseudonymize(b *testing.B) {
	p := newP(b, 16)
	b.ReportAllocs()
	for b.Loop() {
		p.Pseudonymize("site-a", "user-123@example.com")
	}
}

func BenchmarkPseudonymizeParallel(b *testing.B) {
	p := newP(b, 16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Pseudonymize("site-a", "user-123@example.com")
		}
	})
}
