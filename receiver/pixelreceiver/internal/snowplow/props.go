package snowplow // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

const (
	schemaContexts = vendor + "contexts/jsonschema/1-"
	// propTruncated says that the event had more properties than
	// max_properties: what comes last (contexts first) was left out.
	propTruncated = "sp_truncated"
	// propContext prefixes a context's property: sp_ctx_<schema name>,
	// its data as JSON.
	propContext = "sp_ctx_"
)

// contexts are the entities attached to an event (co, cx).
type contexts struct {
	jb        webevent.JSONBody
	webPageID string
	others    []selfDescribing
}

// readContexts reads a contexts envelope: the web page's id, and the
// other entities, which become properties.
func readContexts(co []byte, body *webevent.JSONBody, cx string) (contexts, *webevent.Rejection) {
	jb, env, ok := document(co, body, cx)
	if !ok || !strings.HasPrefix(env.schema, schemaContexts) || env.data[0] != '[' {
		return contexts{}, webevent.Reject(webevent.ReasonInvalidField, "co/cx must be (base64url of) a self-describing JSON of schema "+schemaContexts+"x-x holding an array")
	}
	c := contexts{jb: jb}
	a := newArray(env.data)
	for el, ok := a.next(); ok; el, ok = a.next() {
		sd, ok := readSelfDescribing(jb, el)
		if !ok {
			return contexts{}, webevent.Reject(webevent.ReasonInvalidField, "every context must be {schema: iglu:..., data: ...}")
		}
		if name, standard := schemaName(sd.schema); standard && name == nameWebPage && sd.data[0] == '{' {
			m := jb.Members(sd.data)
			for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
				if key == "id" && webevent.ValidID(jb.Str(value)) {
					c.webPageID = jb.Str(value)
				}
			}
			continue
		}
		c.others = append(c.others, sd)
	}
	return c, nil
}

// props adds each context as one property, sp_ctx_<name>: its data as
// JSON. One property per entity keeps their number bounded by the
// number of entities, within max_properties.
func (c *contexts) props(p *props) {
	for _, sd := range c.others {
		name, _ := schemaName(sd.schema)
		p.raw(propContext+name, sd.data)
	}
}

// props collects an event's properties within max_properties: the
// event's own data first, then the device's facts, then contexts.
type props struct {
	b         *webevent.Builder
	list      []webevent.Prop
	max       int
	truncated bool
}

func (p *props) init(b *webevent.Builder, maxProps int) {
	p.b, p.max = b, maxProps
}

func (p *props) add(key string, v webevent.Value) {
	key = propertyKey(key)
	if key == "" {
		return
	}
	if len(p.list) >= p.max-1 {
		// The last slot is kept for the truncation flag.
		p.truncated = true
		return
	}
	if p.list == nil {
		p.list = make([]webevent.Prop, 0, min(p.max, 8))
	}
	p.list = append(p.list, webevent.Prop{Key: key, Value: v})
}

// str adds a non-empty string.
func (p *props) str(key, v string) {
	if v = p.b.Truncate(v); v != "" {
		p.add(key, webevent.StringValue(v))
	}
}

func (p *props) num(key string, v float64) {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		p.add(key, webevent.IntValue(int64(v)))
		return
	}
	p.add(key, webevent.FloatValue(v))
}

// raw adds a JSON value: scalars as themselves, objects and arrays as
// their JSON text (properties are scalars).
func (p *props) raw(key string, v []byte) {
	if len(v) == 0 {
		return
	}
	switch v[0] {
	case '"':
		p.str(key, p.b.Truncate(unquoted(v)))
	case 't', 'f':
		p.add(key, webevent.BoolValue(v[0] == 't'))
	case 'n':
	case '{', '[':
		p.str(key, string(v))
	default:
		if f, ok := number(string(v)); ok {
			p.num(key, f)
		}
	}
}

// unquoted is the Go string of a JSON string literal.
func unquoted(lit []byte) string {
	s, err := strconv.Unquote(string(lit))
	if err != nil {
		// JSON escapes Go does not know (\/) or a UTF-16 pair: the JSON
		// body reader handles them.
		return webevent.NewJSONBody(lit).Str(lit)
	}
	return s
}

// data adds the members of a self-describing event's data object.
func (p *props) data(jb webevent.JSONBody, obj []byte) {
	m := jb.Members(obj)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		if len(value) > 0 && value[0] == '"' {
			p.str(key, jb.Str(value))
			continue
		}
		p.raw(key, value)
	}
}

// currency adds an ISO 4217 currency code.
func (p *props) currency(v string) *webevent.Rejection {
	if v == "" {
		return nil
	}
	c := strings.ToUpper(strings.TrimSpace(v))
	if len(c) != 3 || strings.IndexFunc(c, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return webevent.Reject(webevent.ReasonInvalidField, "the currency must be an ISO 4217 code such as EUR")
	}
	p.add("currency", webevent.StringValue(c))
	return nil
}

// amount adds a number; "" is absent.
func (p *props) amount(key, v string) *webevent.Rejection {
	if v == "" {
		return nil
	}
	f, ok := number(v)
	if !ok {
		return webevent.Reject(webevent.ReasonInvalidField, key+" must be a number")
	}
	p.num(key, f)
	return nil
}

// device adds the tracker's fields that have no place in the event
// model: screen, viewport, time zone, language, visit count.
func (p *props) device(f *fields) {
	p.str("sp_res", f.res)
	p.str("sp_vp", f.vp)
	p.str("sp_tz", f.tz)
	p.str("sp_lang", f.lang)
	if v, ok := number(f.vid); ok && v >= 0 {
		p.num("sp_vid", v)
	}
}

// done returns the properties sorted by key, a later value of a key
// winning.
func (p *props) done() []webevent.Prop {
	if p.truncated {
		p.list = append(p.list, webevent.Prop{Key: propTruncated, Value: webevent.BoolValue(true)})
	}
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b webevent.Prop) int { return strings.Compare(a.Key, b.Key) })
	out := p.list[:0]
	for i, pr := range p.list {
		if i+1 < len(p.list) && p.list[i+1].Key == pr.Key {
			continue
		}
		out = append(out, pr)
	}
	return out
}

// propertyKey makes k a property key: [A-Za-z0-9_-], at most 64 bytes.
// Schema field names are camelCase and pass unchanged; anything else is
// replaced rather than lost.
func propertyKey(k string) string {
	if len(k) > 64 {
		k = k[:64]
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b := []byte(k)
			for j := i; j < len(b); j++ {
				if c := b[j]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return k
}

// number parses a decimal number; false when absent or not finite.
func number(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// ptr is &v when ok, else nil: how eventtime takes an optional reading.
func ptr(v *float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return v
}
