package snowplow // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// elements returns the elements of arr, a JSON array that json.Valid
// accepted (as part of its document), as raw sub-slices.
func elements(arr []byte) [][]byte {
	i := skipSpace(arr, 1)
	if i >= len(arr) || arr[i] == ']' {
		return nil
	}
	var out [][]byte
	for i < len(arr) {
		end := skipValue(arr, i)
		out = append(out, arr[i:end])
		i = skipSpace(arr, end)
		if i >= len(arr) || arr[i] != ',' {
			break
		}
		i = skipSpace(arr, i+1)
	}
	return out
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
// senders use the standard alphabet). It returns the document's body and
// its self-describing envelope.
func document(plain, encoded string) (webevent.JSONBody, selfDescribing, bool) {
	raw := []byte(plain)
	if plain == "" {
		s := strings.TrimRight(encoded, "=")
		if strings.ContainsAny(s, "+/") {
			s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
		}
		var err error
		if raw, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			return webevent.JSONBody{}, selfDescribing{}, false
		}
	}
	if !json.Valid(raw) {
		return webevent.JSONBody{}, selfDescribing{}, false
	}
	// Trim, so that the envelope's first byte is its brace.
	start := skipSpace(raw, 0)
	jb := webevent.NewJSONBody(raw)
	sd, ok := readSelfDescribing(jb, raw[start:])
	return jb, sd, ok
}
