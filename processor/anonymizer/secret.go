package anonymizer

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// minSecretBytes is the least a master secret may hold: HMAC-SHA256 keys
// shorter than the hash add no strength and weaken the per-site keys.
const minSecretBytes = 32

// parseSecret reads a master secret written as hex (what `webjourneyctl
// keygen` prints) or base64.
func parseSecret(text string) ([]byte, error) {
	if b, err := hex.DecodeString(text); err == nil {
		return checkSecretLen(b)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(text); err == nil {
			return checkSecretLen(b)
		}
	}
	return nil, fmt.Errorf("must be hex or base64 of at least %d random bytes (webjourneyctl keygen makes one)", minSecretBytes)
}

func checkSecretLen(b []byte) ([]byte, error) {
	if len(b) < minSecretBytes {
		return nil, fmt.Errorf("must be at least %d bytes, got %d (webjourneyctl keygen makes one)", minSecretBytes, len(b))
	}
	return b, nil
}
