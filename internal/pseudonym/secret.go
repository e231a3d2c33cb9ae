package pseudonym

import (
	"fmt"

	"github.com/webjourney/webjourney/internal/sealed"
)

// Defaults of the anonymizer's key_id and pseudonym_bytes: webjourneyctl
// assumes them for a configuration that does not set them.
const (
	DefaultKeyID  = "k1"
	DefaultLength = 16
)

// ParseSecret reads a master secret written as hex (what `webjourneyctl
// keygen` prints) or base64, of at least MinSecretBytes bytes: HMAC-SHA256
// keys shorter than the hash add no strength and weaken the per-site keys.
// Its errors hold no part of text.
func ParseSecret(text string) ([]byte, error) {
	// An even number of hex digits of any length is hex; keygen prints 64.
	hexLen := -1
	if len(text)%2 == 0 {
		hexLen = len(text)
	}
	b, ok := sealed.DecodeKeyText(text, hexLen)
	if !ok {
		return nil, fmt.Errorf("must be hex or base64 of at least %d random bytes (webjourneyctl keygen makes one)", MinSecretBytes)
	}
	if len(b) < MinSecretBytes {
		return nil, fmt.Errorf("must be at least %d bytes, got %d (webjourneyctl keygen makes one)", MinSecretBytes, len(b))
	}
	return b, nil
}
