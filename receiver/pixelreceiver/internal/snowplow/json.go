package snowplow // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// array iterates over the elements of a JSON array that json.Valid
// accepted (as part of its document), as raw sub-slices. An iterator
// rather than a slice: a batch's members and a form's fields cost no
// allocation.
type array struct {
	b []byte
	i int
}

func newArray(arr []byte) array { return array{b: arr, i: skipSpace(arr, 1)} }

// next returns the next element; ok is false after the last.
func (a *array) next() (elem []byte, ok bool) {
	if a.i >= len(a.b) || a.b[a.i] == ']' {
		return nil, false
	}
	end := skipValue(a.b, a.i)
	if end <= a.i {
		a.i = len(a.b)
		return nil, false
	}
	elem = a.b[a.i:end]
	a.i = skipSpace(a.b, end)
	if a.i < len(a.b) && a.b[a.i] == ',' {
		a.i = skipSpace(a.b, a.i+1)
	} else {
		a.i = len(a.b)
	}
	return elem, true
}

// count is the number of elements.
func (a array) count() int {
	n := 0
	for _, ok := a.next(); ok; _, ok = a.next() {
		n++
	}
	return n
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value that starts at i.
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of a scalar before its container closes
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// selfDescribing is a self-describing JSON: {"schema": "iglu:...", "data": ...}.
type selfDescribing struct {
	schema string
	data   []byte // raw JSON; nil when absent
}

// readSelfDescribing reads the schema and data of obj, a JSON object
// within jb.
func readSelfDescribing(jb webevent.JSONBody, obj []byte) (selfDescribing, bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return selfDescribing{}, false
	}
	var sd selfDescribing
	m := jb.Members(obj)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		switch key {
		case "schema":
			sd.schema = jb.Str(value)
		case "data":
			sd.data = value
		}
	}
	return sd, strings.HasPrefix(sd.schema, "iglu:") && sd.data != nil
}

// document parses one JSON document a field carries: plain (ue_pr, co)
// or base64url-encoded (ue_px, cx; the trackers drop the padding, some
// senders use the standard alphabet). plain is read within body when body
// is not nil (a POST member's value without escapes: no copy). It returns
// the document's body and its self-describing envelope.
func document(plain []byte, body *webevent.JSONBody, encoded string) (webevent.JSONBody, selfDescribing, bool) {
	raw := plain
	if raw == nil {
		s := strings.TrimRight(encoded, "=")
		if strings.ContainsAny(s, "+/") {
			s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
		}
		var err error
		if raw, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			return webevent.JSONBody{}, selfDescribing{}, false
		}
		body = nil
	}
	// Also within a body: a member's string without escapes holds no
	// JSON that the body's validation vouched for.
	if !json.Valid(raw) {
		return webevent.JSONBody{}, selfDescribing{}, false
	}
	raw = raw[skipSpace(raw, 0):] // the envelope's first byte is its brace
	jb := body
	if jb == nil {
		b := webevent.NewJSONBody(raw)
		jb = &b
	}
	sd, ok := readSelfDescribing(*jb, raw)
	return *jb, sd, ok
}

// unescape returns the bytes of a JSON string literal (quotes included)
// that json.Valid accepted, its escapes resolved as encoding/json does
// (a lone surrogate becomes U+FFFD). One allocation, where decoding the
// literal through encoding/json costs several.
func unescape(lit []byte) []byte {
	in := lit[1 : len(lit)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch in[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(in[i+1 : i+5])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 < len(in) && in[i+1] == '\\' && in[i+2] == 'u' {
					r2 = hex4(in[i+3 : i+7])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, in[i])
		}
	}
	return out
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
