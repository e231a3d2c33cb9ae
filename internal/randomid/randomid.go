// Package randomid makes the random ids of the pipeline: event ids
// (log.record.uid) for events that arrive without one and for the records
// a processor makes, and the visitor and session ids the pixel receiver
// keeps in its cookies. One format everywhere, the one the browser tag uses
// too: 128 random bits as 32 lower-case hex digits.
package randomid // import "github.com/webjourney/webjourney/internal/randomid"

import (
	"crypto/rand"
	"encoding/hex"
)

// Len is the length of an id made by New.
const Len = 32

// New returns 128 bits from crypto/rand as 32 lower-case hex digits: ids
// of different collectors never collide and cannot be predicted.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	var s [Len]byte
	hex.Encode(s[:], b[:])
	return string(s[:])
}
