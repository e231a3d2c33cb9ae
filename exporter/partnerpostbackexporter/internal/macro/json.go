package macro

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// JSON is a JSON body template: a JSON document whose string values may
// hold macros. The structure is parsed once; an expansion only replaces
// string values, each encoded as a JSON string, so the document stays
// valid with the same keys whatever the values. A string that is exactly
// one numeric macro ("{value}") becomes a JSON number.
type JSON struct {
	segs []jsonSeg
}

type jsonSeg struct {
	raw   []byte // literal JSON text, or nil
	parts []part // a string value with macros
	num   string // the numeric macro the whole string is, or ""
}

// CompileJSON compiles a JSON body template. Macros in object keys are
// refused: keys are the template's.
func CompileJSON(tmpl string) (*JSON, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(tmpl)))
	dec.UseNumber()
	t := &JSON{}
	var lit bytes.Buffer
	flush := func() {
		if lit.Len() > 0 {
			t.segs = append(t.segs, jsonSeg{raw: bytes.Clone(lit.Bytes())})
			lit.Reset()
		}
	}
	// stack of containers: true for an object; keyNext says the next
	// string in the innermost object is a key.
	type frame struct {
		object, keyNext bool
		n               int
	}
	var stack []frame
	sep := func() {
		if len(stack) == 0 {
			return
		}
		f := &stack[len(stack)-1]
		if f.object && !f.keyNext {
			lit.WriteByte(':')
		} else if f.n > 0 {
			lit.WriteByte(',')
		}
	}
	after := func() {
		if len(stack) == 0 {
			return
		}
		f := &stack[len(stack)-1]
		if f.object {
			if f.keyNext {
				f.keyNext = false
				return
			}
			f.keyNext = true
		}
		f.n++
	}
	top := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(stack) == 0 {
			top++
			if top > 1 {
				return nil, errors.New("more than one JSON value")
			}
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{', '[':
				sep()
				lit.WriteByte(byte(x))
				stack = append(stack, frame{object: x == '{', keyNext: x == '{'})
			default:
				lit.WriteByte(byte(x))
				stack = stack[:len(stack)-1]
				after()
			}
			continue
		case string:
			isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].keyNext
			sep()
			parts, err := parse(x)
			if err != nil {
				return nil, fmt.Errorf("string %q: %w", x, err)
			}
			hasMacro := false
			for _, p := range parts {
				hasMacro = hasMacro || p.macro != ""
			}
			switch {
			case !hasMacro:
				lit.Write(marshalString(joinLit(parts)))
			case isKey:
				return nil, fmt.Errorf("key %q: macros may stand in string values only", x)
			default:
				flush()
				s := jsonSeg{parts: parts}
				if len(parts) == 1 && Names[parts[0].macro] {
					s.num = parts[0].macro
				}
				t.segs = append(t.segs, s)
			}
		default:
			sep()
			b, _ := json.Marshal(x)
			lit.Write(b)
		}
		after()
	}
	if top == 0 || len(stack) > 0 {
		return nil, errors.New("not a whole JSON document")
	}
	flush()
	return t, nil
}

func joinLit(parts []part) string {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString(p.lit)
	}
	return b.String()
}

func marshalString(s string) []byte {
	b, _ := json.Marshal(s) // a Go string always marshals; invalid UTF-8 becomes U+FFFD
	return b
}

// Uses reports whether the template names macro.
func (t *JSON) Uses(name string) bool {
	for _, s := range t.segs {
		if uses(s.parts, name) {
			return true
		}
	}
	return false
}

// Expand returns the body.
func (t *JSON) Expand(v Values) []byte {
	var b bytes.Buffer
	for _, s := range t.segs {
		if s.raw != nil {
			b.Write(s.raw)
			continue
		}
		if s.num != "" {
			if _, err := strconv.ParseFloat(v[s.num], 64); err == nil && json.Valid([]byte(v[s.num])) {
				b.WriteString(v[s.num])
				continue
			}
		}
		var str bytes.Buffer
		for _, p := range s.parts {
			if p.macro == "" {
				str.WriteString(p.lit)
			} else {
				str.WriteString(v[p.macro])
			}
		}
		b.Write(marshalString(str.String()))
	}
	return b.Bytes()
}
