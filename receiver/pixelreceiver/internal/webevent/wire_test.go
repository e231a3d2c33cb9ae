package webevent

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringEnd(t *testing.T) {
	for _, tt := range []struct {
		lit  string
		want int
	}{
		{`"abc",`, 5},
		{`"a\"b",`, 6},
		{`"a\\",`, 5},
		{`"a\\\"b",`, 8},
		{`"",`, 2},
		{`"unterminated`, 13},
	} {
		assert.Equal(t, tt.want, stringEnd([]byte(tt.lit), 0), tt.lit)
	}
}

func TestMembersAndElements(t *testing.T) {
	obj := []byte(` {"a" : 1 , "b\"c":"x\\\"y", "n":{"d":[1,{"e":"]"}]}, "s":"}" } `)
	obj = bytes.TrimSpace(obj)
	tx := newText(obj)
	m := newMembers(tx, obj)
	var keys, values []string
	for k, v, ok := m.next(); ok; k, v, ok = m.next() {
		keys = append(keys, k)
		values = append(values, string(v))
	}
	assert.Equal(t, []string{"a", `b"c`, "n", "s"}, keys)
	assert.Equal(t, []string{"1", `"x\\\"y"`, `{"d":[1,{"e":"]"}]}`, `"}"`}, values)

	arr := []byte(`[ {"a":1}, "x", null ,[2] ]`)
	got := arrayElements(arr, 10)
	require.Len(t, got, 4)
	assert.Equal(t, `{"a":1}`, string(got[0]))
	assert.Equal(t, `[2]`, string(got[3]))
	assert.Len(t, arrayElements(arr, 2), 2, "stops at the limit")
}

func TestTextSharesTheBody(t *testing.T) {
	body := []byte(`{"k":"value","e":"a\u0062c"}`)
	tx := newText(body)
	assert.Equal(t, "value", tx.str(body[5:12]))
	assert.Equal(t, "abc", tx.str(body[17:27]), "escapes are decoded")
	assert.Equal(t, "other", tx.str([]byte(`"other"`)), "a slice of another buffer is copied")
}

// FuzzMembers checks the object walker against encoding/json on every
// valid JSON object: same keys, same raw values (last duplicate wins).
func FuzzMembers(f *testing.F) {
	for _, seed := range []string{`{"a":1}`, `{"a":"x\"y","b":[1,{"c":"]}"}],"a":null}`, `{ }`, `{"\u00e9":"\\"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.TrimSpace(b)
		// Invalid UTF-8 is replaced by encoding/json and kept by the walker
		// (property keys must be ASCII anyway, and strings are repaired).
		if len(b) == 0 || b[0] != '{' || !json.Valid(b) || !utf8.Valid(b) {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			return // e.g. keys that are not valid UTF-8 after unescaping
		}
		got := map[string]string{}
		m := newMembers(newText(b), b)
		for k, v, ok := m.next(); ok; k, v, ok = m.next() {
			got[k] = string(v)
		}
		// encoding/json folds case when matching struct fields, not map
		// keys, so the key sets must agree exactly.
		if len(got) != len(want) {
			t.Fatalf("%d members, encoding/json found %d in %q", len(got), len(want), b)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(bytes.TrimSpace([]byte(g)), bytes.TrimSpace(v)) {
				t.Fatalf("member %q: got %q, want %q in %q", k, g, v, b)
			}
		}
	})
}
