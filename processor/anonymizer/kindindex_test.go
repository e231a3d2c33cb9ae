package anonymizer

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

func testKinds() map[string]attrKind {
	return attrKinds(
		map[string]bool{eventmodel.AttrVisitorID: true, eventmodel.AttrUserID: true, "custom.id": true},
		map[string]bool{eventmodel.AttrProperties + ".email": true})
}

// The index answers as the map for every name: the map's own strings
// (found by address), copies of them and prefixes sharing their address
// (found by the map), foreign names and the empty name.
func TestKindIndexAnswersAsMap(t *testing.T) {
	m := testKinds()
	x := newKindIndex(m)
	probe := []string{"", "x", "url", "webjourney.", "custom.attribute.from.otlp"}
	for name := range m {
		probe = append(probe, name, strings.Clone(name), name[:len(name)-1], strings.Clone(name[:len(name)-1]), name+"x")
	}
	for i := range eventmodel.Attributes {
		probe = append(probe, eventmodel.Attributes[i].Name)
	}
	for _, name := range probe {
		want, wantOK := m[name]
		got, ok := x.get(name)
		assert.Equal(t, wantOK, ok, name)
		assert.Equal(t, want, got, name)
	}
	// The receivers' names are the event model's constants: found by address.
	hits := 0
	for i := range eventmodel.Attributes {
		n := eventmodel.Attributes[i].Name
		for _, s := range x.slots {
			if s.data != nil && s.n == len(n) && s.data == unsafe.StringData(n) {
				hits++
			}
		}
	}
	assert.Equal(t, len(eventmodel.Attributes), hits)
}

func FuzzKindIndex(f *testing.F) {
	m := testKinds()
	x := newKindIndex(m)
	for name := range m {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want, wantOK := m[name]
		if got, ok := x.get(name); got != want || ok != wantOK {
			t.Fatalf("%q: index %v %v, map %v %v", name, got, ok, want, wantOK)
		}
	})
}

// BenchmarkKindLookup: the per-attribute lookup of processRecord, for a
// typical event's names, by the map and by the index.
func BenchmarkKindLookup(b *testing.B) {
	m := testKinds()
	x := newKindIndex(m)
	names := eventmodel.Names(func(*eventmodel.Attribute) bool { return true })[:30]
	var sum attrKind
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names {
				sum += m[n]
			}
		}
	})
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names {
				k, _ := x.get(n)
				sum += k
			}
		}
	})
	kindSink = sum
}

var kindSink attrKind
