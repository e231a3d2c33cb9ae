package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// The types below hold beacon fields decoded from the raw JSON bytes that
// json.Valid has accepted, with few allocations: decoding costs are per
// event, and a collector may take thousands of events a second on two
// cores. Each decode method takes one raw JSON value and fails with
// errWrongType for a value of another JSON type; null means absent.

// number is an optional JSON number (null or absent = not set), without the
// allocation a *float64 field costs.
type number struct {
	v   float64
	set bool
}

func (n *number) decode(b []byte) error {
	if string(b) == "null" {
		*n = number{}
		return nil
	}
	if len(b) == 0 || b[0] == '"' || b[0] == '{' || b[0] == '[' || b[0] == 't' || b[0] == 'f' {
		return errWrongType
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return errWrongType
	}
	*n = number{v: v, set: true}
	return nil
}

// float returns a pointer to the value, nil when not set.
func (n *number) float() *float64 {
	if !n.set {
		return nil
	}
	return &n.v
}

// eventType is the beacon "type" field, resolved to an event name without
// allocating a string for it.
type eventType struct {
	name string // "" when unknown
	set  bool   // the field was present (and not null)
}

func (t *eventType) decode(b []byte) error {
	if string(b) == "null" {
		*t = eventType{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' {
		return errWrongType
	}
	raw := b[1 : len(b)-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		raw = []byte(s)
	}
	*t = eventType{name: beaconTypes[string(raw)], set: true} // no allocation for a map lookup
	return nil
}

// rawObject keeps the bytes of a JSON object (or null) as a sub-slice of the
// input, without the copy json.RawMessage makes. The input must stay
// unchanged while the value is used: DecodeBeacon holds the body until it
// returns, and everything it returns is copied out of it.
type rawObject []byte

func (r *rawObject) decode(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	if len(b) == 0 || b[0] != '{' {
		return errWrongType
	}
	*r = b
	return nil
}

// errWrongType rejects a JSON value of another type than the field's; the
// caller names the field in its message.
var errWrongType = errors.New("wrong JSON type")

// members iterates over the members of a JSON object that encoding/json
// has already validated: keys unquoted, values raw. An iterator rather than
// a callback, so that the caller's variables do not escape to the heap.
type members struct {
	t   text
	obj []byte
	i   int
}

func newMembers(t text, obj []byte) members {
	return members{t: t, obj: obj, i: skipSpace(obj, 1)} // after '{'
}

func (m *members) next() (key string, value []byte, ok bool) {
	obj, i := m.obj, m.i
	if i >= len(obj) || obj[i] == '}' {
		return "", nil, false
	}
	keyEnd := stringEnd(obj, i)
	key = m.t.str(obj[i:keyEnd])
	i = skipSpace(obj, keyEnd)
	i = skipSpace(obj, i+1) // ':'
	end := valueEnd(obj, i)
	value = obj[i:end]
	i = skipSpace(obj, end)
	if i < len(obj) && obj[i] == ',' {
		i = skipSpace(obj, i+1)
	}
	m.i = i
	return key, value, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string at i.
// It jumps from quote to quote (IndexByte is vectorised); a quote preceded
// by an odd number of backslashes is escaped.
func stringEnd(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		q := j + k
		backslashes := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// arrayElements returns the raw elements of a validated JSON array (nil for
// a nil array), at most limit of them: a caller that gets limit knows
// there were too many without the rest being split.
func arrayElements(arr []byte, limit int) [][]byte {
	if len(arr) == 0 {
		return nil
	}
	var out [][]byte
	i := skipSpace(arr, 1) // after '['
	for i < len(arr) && arr[i] != ']' && len(out) < limit {
		end := valueEnd(arr, i)
		if out == nil {
			out = make([][]byte, 0, 16)
		}
		out = append(out, arr[i:end])
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	return out
}

// valueEnd returns the index after the JSON value at i.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// unquote decodes a JSON string literal; only escapes need encoding/json.
func unquote(lit []byte) string {
	if len(lit) < 2 {
		return ""
	}
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(lit, &s) // already validated
	return s
}

// rawString is a JSON string field kept as its literal (quotes included),
// a sub-slice of the input; text turns it into a Go string.
type rawString []byte

func (r *rawString) decode(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	if len(b) < 2 || b[0] != '"' {
		return errWrongType
	}
	*r = b
	return nil
}

// text makes Go strings for the string fields of one decoded input without
// an allocation per field: src is one string copy of the input, and a field
// without escapes is a substring of it. The strings keep src alive, which
// is the size of the beacon that produced them.
type text struct {
	base []byte
	src  string
}

func newText(base []byte) text { return text{base: base, src: string(base)} }

func (t text) str(lit rawString) string {
	if len(lit) < 2 {
		return ""
	}
	inner := lit[1 : len(lit)-1]
	if len(inner) == 0 {
		return ""
	}
	if bytes.IndexByte(inner, '\\') >= 0 {
		return unquote(lit)
	}
	// inner is a sub-slice of base: its offset follows from the capacities.
	// The address check makes sure it is (else: an ordinary copy).
	off := cap(t.base) - cap(inner)
	if off < 0 || off+len(inner) > len(t.base) || &t.base[off] != &inner[0] {
		return string(inner)
	}
	return t.src[off : off+len(inner)]
}
