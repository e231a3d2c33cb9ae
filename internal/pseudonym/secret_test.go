package pseudonym

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSecret(t *testing.T) {
	key := []byte(strings.Repeat("k", MinSecretBytes))
	for _, text := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
		b, err := ParseSecret(text)
		require.NoError(t, err, text)
		assert.Equal(t, key, b, text)
	}
	for _, text := range []string{"", "short", hex.EncodeToString(key[:MinSecretBytes-1]), strings.Repeat("!", 64)} {
		_, err := ParseSecret(text)
		assert.Error(t, err, text)
	}
}

// secretError is every error ParseSecret may return: none holds any of
// the text.
var secretError = regexp.MustCompile(`^must be (hex or base64 of at least \d+ random bytes|at least \d+ bytes, got \d+) \(webjourneyctl keygen makes one\)$`)

// ParseSecret reads what an operator wrote in a file: whatever it is, it
// returns a secret of at least MinSecretBytes or an error without the text.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{strings.Repeat("ab", 32), strings.Repeat("QUJD", 11), "", "zz", "secret-in-the-clear-0123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		b, err := ParseSecret(text)
		if err != nil {
			assert.Regexp(t, secretError, err.Error())
			return
		}
		assert.GreaterOrEqual(t, len(b), MinSecretBytes)
	})
}
