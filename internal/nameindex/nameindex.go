// Package nameindex looks up attribute names faster than a map for the
// names the pipeline itself writes, with the same answers.
//
// The receivers write attribute names from the event model's string
// constants, and the linker keeps one copy of each constant, so an event's
// keys are, byte for byte and by address, the strings an index is built
// from. An Index finds those by their address and length (a multiply and
// a compare, where a map hashes every name, ~25 per event and processor)
// and asks its map about any other name (an OTLP client's, or one built at
// run time).
//
// Same address and length means same string here: the index holds its
// names, so their memory cannot be reused for another string while it
// lives, and strings are immutable.
package nameindex // import "github.com/webjourney/webjourney/internal/nameindex"

import (
	"math/bits"
	"unsafe"
)

// Index is a read-only map from names to values of type V, safe for
// concurrent use.
type Index[V any] struct {
	byName map[string]V
	slots  []slot[V] // open addressing, at most a quarter full
	shift  uint      // 64 - log2(len(slots))
}

type slot[V any] struct {
	data *byte // nil: empty
	n    int
	v    V
}

// New returns an index of m, which it keeps: m must not change after.
func New[V any](m map[string]V) *Index[V] {
	size := 8
	for size < 4*len(m) {
		size *= 2
	}
	x := &Index[V]{byName: m, slots: make([]slot[V], size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for name, v := range m {
		if name == "" {
			continue // no address to index; the map answers
		}
		i := x.slot(unsafe.StringData(name))
		for x.slots[i].data != nil {
			i = (i + 1) & (len(x.slots) - 1)
		}
		x.slots[i] = slot[V]{data: unsafe.StringData(name), n: len(name), v: v}
	}
	return x
}

func (x *Index[V]) slot(p *byte) int {
	return int(uint64(uintptr(unsafe.Pointer(p))) * 0x9e3779b97f4a7c15 >> x.shift)
}

// Get is the map's m[name], with its ok.
func (x *Index[V]) Get(name string) (V, bool) {
	if p := unsafe.StringData(name); p != nil {
		// A probe ends at the first empty slot: at most the longest run of
		// the index's own names, whatever name is asked.
		for i := x.slot(p); x.slots[i].data != nil; i = (i + 1) & (len(x.slots) - 1) {
			if s := &x.slots[i]; s.data == p && s.n == len(name) {
				return s.v, true
			}
		}
	}
	v, ok := x.byName[name]
	return v, ok
}

// Has reports whether name is in the index.
func (x *Index[V]) Has(name string) bool {
	_, ok := x.Get(name)
	return ok
}
