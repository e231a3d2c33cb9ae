package anonymizer

import (
	"fmt"

	"github.com/webjourney/webjourney/internal/sealed"
)

// minSecretBytes is the least a master secret may hold: HMAC-SHA256 keys
// shorter than the hash add no strength and weaken the per-site keys.
const minSecretBytes = 32

// parseSecret reads a master secret written as hex (what `webjourneyctl
// keygen` prints) or base64.
func parseSecret(text string) ([]byte, error) {
	// An even number of hex digits of any length is hex; keygen prints 64.
	hexLen := -1
	if len(text)%2 == 0 {
		hexLen = len(text)
	}
	b, ok := sealed.DecodeKeyText(text, hexLen)
	if !ok {
		return nil, fmt.Errorf("must be hex or base64 of at least %d random bytes (webjourneyctl keygen makes one)", minSecretBytes)
	}
	if len(b) < minSecretBytes {
		return nil, fmt.Errorf("must be at least %d bytes, got %d (webjourneyctl keygen makes one)", minSecretBytes, len(b))
	}
	return b, nil
}
