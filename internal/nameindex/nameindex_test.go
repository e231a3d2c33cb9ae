package nameindex

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

func modelMap() map[string]int {
	m := map[string]int{"custom.id": -1, "": -2}
	for i := range eventmodel.Attributes {
		m[eventmodel.Attributes[i].Name] = i
	}
	return m
}

// The index answers as the map for every name: the map's own strings
// (found by address), copies of them and prefixes sharing their address
// (found by the map), foreign names and the empty name.
func TestAnswersAsMap(t *testing.T) {
	m := modelMap()
	x := New(m)
	probe := []string{"", "x", "url", "webjourney.", "custom.attribute.from.otlp"}
	for name := range m {
		if name != "" {
			probe = append(probe, name, strings.Clone(name), name[:len(name)-1], strings.Clone(name[:len(name)-1]), name+"x")
		}
	}
	for _, name := range probe {
		want, wantOK := m[name]
		got, ok := x.Get(name)
		assert.Equal(t, wantOK, ok, name)
		assert.Equal(t, want, got, name)
		assert.Equal(t, wantOK, x.Has(name), name)
	}
	assert.False(t, New(map[string]int{}).Has("url.full"))
}

// The receivers' names are the event model's constants, found by address
// (not by the map's fallback).
func TestModelNamesFoundByAddress(t *testing.T) {
	x := New(modelMap())
	for i := range eventmodel.Attributes {
		n := eventmodel.Attributes[i].Name
		found := false
		for _, s := range x.slots {
			found = found || s.data == unsafe.StringData(n) && s.n == len(n)
		}
		assert.True(t, found, n)
	}
}

func FuzzGet(f *testing.F) {
	m := modelMap()
	x := New(m)
	for name := range m {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want, wantOK := m[name]
		if got, ok := x.Get(name); got != want || ok != wantOK {
			t.Fatalf("%q: index %v %v, map %v %v", name, got, ok, want, wantOK)
		}
	})
}

// BenchmarkLookup: 30 event-model names, as a processor looks up an
// event's keys, by the map and by the index.
func BenchmarkLookup(b *testing.B) {
	m := modelMap()
	x := New(m)
	names := eventmodel.Names(func(*eventmodel.Attribute) bool { return true })[:30]
	var sum int
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
				v, _ := x.Get(n)
				sum += v
			}
		}
	})
	sink = sum
}

var sink int
