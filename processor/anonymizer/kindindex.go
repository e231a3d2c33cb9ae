package anonymizer

import (
	"math/bits"
	"unsafe"
)

// kindIndex answers what the attrKinds map answers, faster for the names
// the pipeline itself writes. The receivers write attribute names from the
// event model's string constants, and the linker keeps one copy of each
// constant, so an event's keys are, byte for byte and by address, the
// strings the map was built from. The index finds those by their address
// and length (a multiply and a compare, where the map hashes every name,
// ~25 per event) and asks the map about any other name (an OTLP client's,
// or one built at run time).
//
// Same address and length means same string here: the index holds its
// names, so their memory cannot be reused for another string while it
// lives, and strings are immutable.
type kindIndex struct {
	byName map[string]attrKind
	slots  []kindSlot // open addressing, at most a quarter full
	shift  uint       // 64 - log2(len(slots))
}

type kindSlot struct {
	data *byte // nil: empty
	n    int
	kind attrKind
}

func newKindIndex(byName map[string]attrKind) *kindIndex {
	size := 8
	for size < 4*len(byName) {
		size *= 2
	}
	x := &kindIndex{byName: byName, slots: make([]kindSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for name, kind := range byName {
		if name == "" {
			continue // no address to index; the map answers
		}
		i := x.slot(unsafe.StringData(name))
		for x.slots[i].data != nil {
			i = (i + 1) & (len(x.slots) - 1)
		}
		x.slots[i] = kindSlot{data: unsafe.StringData(name), n: len(name), kind: kind}
	}
	return x
}

func (x *kindIndex) slot(p *byte) int {
	return int(uint64(uintptr(unsafe.Pointer(p))) * 0x9e3779b97f4a7c15 >> x.shift)
}

// get is byName[name], with its ok.
func (x *kindIndex) get(name string) (attrKind, bool) {
	if p := unsafe.StringData(name); p != nil {
		for i := x.slot(p); x.slots[i].data != nil; i = (i + 1) & (len(x.slots) - 1) {
			if s := &x.slots[i]; s.data == p && s.n == len(name) {
				return s.kind, true
			}
		}
	}
	k, ok := x.byName[name]
	return k, ok
}
