package urlquery

import (
	"slices"
	"strings"
	"testing"
)

func TestPartsIsSplit(t *testing.T) {
	for _, q := range []string{"", "a", "a=1", "a=1&b=2", "&", "a&&b", "a=1&", "&a", "=x&y=", "a=1&b=2&c"} {
		if got, want := slices.Collect(Parts(q)), strings.Split(q, "&"); !slices.Equal(got, want) {
			t.Errorf("Parts(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestParams(t *testing.T) {
	type kv struct{ k, v string }
	var got []kv
	for k, v := range Params("a=1&&b&c=x=y&=z&d%5F=%41&") {
		got = append(got, kv{k, v})
	}
	want := []kv{{"a", "1"}, {"b", ""}, {"c", "x=y"}, {"", "z"}, {"d%5F", "%41"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// Stopping early stops the walk.
	n := 0
	for range Params("a&b&c") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break: %d parameters visited", n)
	}
}

func TestValue(t *testing.T) {
	for _, tc := range []struct {
		query, name, want string
		ok                bool
	}{
		{"q=red+shoes", "q", "red shoes", true},
		{"q=&q=second", "q", "second", true},
		{"q", "q", "", false},
		{"Q=x", "q", "", false},
		{"q=%zz", "q", "%zz", true},
		{"a=1&q=caf%C3%A9", "q", "café", true},
		{"", "q", "", false},
	} {
		got, ok := Value(tc.query, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Value(%q, %q) = %q, %v; want %q, %v", tc.query, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestUnescapeDoesNotAllocateForPlainValues(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = Unescape("plain-value_1") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		for range Params("a=1&b=2&utm_source=x") {
		}
	}); n != 0 {
		t.Errorf("Params: %v allocations", n)
	}
}

func FuzzParts(f *testing.F) {
	f.Add("a=1&b=2")
	f.Add("&&=&")
	f.Fuzz(func(t *testing.T, q string) {
		if got := strings.Join(slices.Collect(Parts(q)), "&"); got != q {
			t.Fatalf("parts of %q join to %q", q, got)
		}
		for k, v := range Params(q) {
			if strings.Contains(k, "&") || strings.Contains(v, "&") || strings.Contains(k, "=") {
				t.Fatalf("%q: bad pair %q=%q", q, k, v)
			}
		}
	})
}
