package macro

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func values(click string) Values {
	return Values{ClickID: click, Outcome: "purchase", Value: "49.9", Currency: "EUR", Credit: "1", SiteID: "shop"}
}

func TestURLEncodesPerPosition(t *testing.T) {
	u, err := CompileURL("https://partner.example/pb/{click_id}/x?o={outcome}&v={value}#frag")
	require.NoError(t, err)
	assert.Equal(t, "/pb/", u.PathPrefix)
	got := u.Expand(values("a/../b?c=d&e#f"))
	assert.Equal(t, "https://partner.example/pb/a%2F%2E%2E%2Fb%3Fc=d&e%23f/x?o=purchase&v=49.9#frag", got)
	pu, err := url.Parse(got)
	require.NoError(t, err)
	assert.Equal(t, []string{"o", "v"}, sortedKeys(pu.Query()))

	q, err := CompileURL("https://partner.example/pb?click={click_id}")
	require.NoError(t, err)
	assert.Equal(t, "https://partner.example/pb?click=a%26admin%3D1+x", q.Expand(values("a&admin=1 x")))
	assert.Equal(t, "/pb", q.PathPrefix)
}

func TestURLRefusals(t *testing.T) {
	for tmpl, want := range map[string]string{
		"https://{site_id}.partner.example/":   "host",
		"https://partner.example:{value}/":     "host or port",
		"{click_id}":                           "must start",
		"ftp://partner.example/{click_id}":     "scheme",
		"https://partner.example/{clickid}":    "unknown macro",
		"https://partner.example/{click_id":    "unclosed",
		"https://partner.example/x#{click_id}": "fragment",
		"partner.example/{click_id}":           "absolute",
	} {
		_, err := CompileURL(tmpl)
		if assert.Error(t, err, tmpl) {
			assert.Contains(t, err.Error(), want, tmpl)
		}
	}
}

func TestHeaderRefusesControlCharacters(t *testing.T) {
	h, err := CompileHeader("Bearer {click_id}")
	require.NoError(t, err)
	s, err := h.Expand(values("abc"))
	require.NoError(t, err)
	assert.Equal(t, "Bearer abc", s)
	for _, bad := range []string{"a\r\nX-Admin: 1", "a\nb", "a\x00", "\x7f"} {
		_, err := h.Expand(values(bad))
		assert.ErrorIs(t, err, ErrUnsafeHeader, "%q", bad)
	}
	_, err = CompileHeader("a\nb")
	assert.Error(t, err)
}

func TestJSONKeepsStructure(t *testing.T) {
	j, err := CompileJSON(`{"click": "{click_id}", "value": "{value}", "label": "{outcome} in {currency}", "n": [1, true, null], "o": {"{{x}": "{site_id}"}}`)
	require.NoError(t, err)
	body := j.Expand(values(`"},"admin":true,"x":{"`))
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	assert.Equal(t, `"},"admin":true,"x":{"`, m["click"])
	assert.Equal(t, 49.9, m["value"]) // exactly a numeric macro: a number
	assert.Equal(t, "purchase in EUR", m["label"])
	assert.Equal(t, map[string]any{"{x}": "shop"}, m["o"])
	assert.Equal(t, []any{1.0, true, nil}, m["n"])

	v := values("c")
	v[Value] = "NaN" // not a JSON number: stays a string
	require.NoError(t, json.Unmarshal(j.Expand(v), &m))
	assert.Equal(t, "NaN", m["value"])

	_, err = CompileJSON(`{"{click_id}": 1}`)
	assert.ErrorContains(t, err, "key")
	_, err = CompileJSON(`{"a": 1} {"b": 2}`)
	assert.Error(t, err)
	_, err = CompileJSON(`{"a": `)
	assert.Error(t, err)
}

func TestForm(t *testing.T) {
	f, err := CompileForm("click={click_id}&v={value}")
	require.NoError(t, err)
	vals, err := url.ParseQuery(string(f.Expand(values("x&admin=1"))))
	require.NoError(t, err)
	assert.Equal(t, "x&admin=1", vals.Get("click"))
	assert.Equal(t, []string{"click", "v"}, sortedKeys(vals))
	assert.True(t, f.Uses(ClickID))
	assert.False(t, f.Uses(Currency))
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FuzzExpand checks the encoding properties for any macro value: the URL
// parses with the template's scheme, host, path prefix and query keys; a
// header never carries a control character; a JSON body stays valid JSON
// with the template's keys; a form body keeps its fields.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"abc", "a/../../admin", "x?y=1#z", "a\r\nX: 1", `"}`, "%2F", "..", "é\x00\xff", "{click_id}"} {
		f.Add(s, "49.90")
	}
	urls := []*URL{}
	for _, tmpl := range []string{
		"https://partner.example/pb/{click_id}/{outcome}?v={value}&c={currency}",
		"http://partner.example:8080/a{click_id}b?x=1&id={click_id}{value}",
		"https://partner.example/pb?click={click_id}#top",
	} {
		u, err := CompileURL(tmpl)
		require.NoError(f, err)
		urls = append(urls, u)
	}
	hdr, err := CompileHeader("{click_id}; {value}")
	require.NoError(f, err)
	body, err := CompileJSON(`{"click":"{click_id}","value":"{value}","nested":{"a":["{outcome}", 2]}}`)
	require.NoError(f, err)
	form, err := CompileForm("click={click_id}&value={value}")
	require.NoError(f, err)

	f.Fuzz(func(t *testing.T, s, num string) {
		v := Values{ClickID: s, Outcome: s, Value: num, Currency: s}
		for _, u := range urls {
			got := u.Expand(v)
			pu, err := url.Parse(got)
			require.NoError(t, err, got)
			assert.Equal(t, u.Scheme, pu.Scheme)
			assert.Equal(t, u.Host, pu.Host)
			assert.True(t, strings.HasPrefix(pu.EscapedPath(), u.PathPrefix), "%s lost path prefix %s", got, u.PathPrefix)
			for _, seg := range strings.Split(pu.EscapedPath(), "/") {
				assert.NotContains(t, []string{".", ".."}, seg)
			}
			want, _ := url.Parse(u.Expand(Values{ClickID: "x", Outcome: "x", Value: "1", Currency: "x"}))
			assert.Equal(t, sortedKeys(want.Query()), sortedKeys(pu.Query()), got)
		}
		if h, err := hdr.Expand(v); err == nil {
			assert.False(t, hasControl(h), "%q", h)
		} else {
			assert.ErrorIs(t, err, ErrUnsafeHeader)
		}
		var m map[string]any
		out := body.Expand(v)
		require.NoError(t, json.Unmarshal(out, &m), string(out))
		assert.Len(t, m, 3)
		assert.Contains(t, m, "click")
		assert.Contains(t, m, "value")
		assert.Contains(t, m["nested"], "a")
		fv, err := url.ParseQuery(string(form.Expand(v)))
		require.NoError(t, err)
		assert.Equal(t, []string{"click", "value"}, sortedKeys(fv))
	})
}

// FuzzCompile compiles any template: it never panics, and a URL template
// that compiles keeps its scheme, host and path prefix whatever the
// values; a JSON template that compiles always expands to valid JSON.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"https://p.example/a/{click_id}?x={value}#f", "https://p.example?{outcome}={value}", "https://p.example/{{x}/{site_id}",
		"http://u:p@p.example:81/{model}", `{"a":"{click_id}","b":[1,"{value}"]}`, `"{value}"`, "https://p.example/a?b#c{d}",
	} {
		f.Add(s, "v/../?#&=\"\r\n")
	}
	f.Fuzz(func(t *testing.T, tmpl, val string) {
		v := Values{}
		for n := range Names {
			v[n] = val
		}
		if u, err := CompileURL(tmpl); err == nil {
			got := u.Expand(v)
			pu, err := url.Parse(got)
			require.NoError(t, err, "%q -> %q", tmpl, got)
			assert.Equal(t, u.Scheme, pu.Scheme, got)
			assert.Equal(t, u.Host, pu.Host, got)
			assert.True(t, strings.HasPrefix(pu.EscapedPath(), u.PathPrefix), "%q -> %q lost %q", tmpl, got, u.PathPrefix)
		}
		if j, err := CompileJSON(tmpl); err == nil {
			assert.True(t, json.Valid(j.Expand(v)), "%q -> %q", tmpl, j.Expand(v))
		}
		if h, err := CompileHeader(tmpl); err == nil {
			if s, err := h.Expand(v); err == nil {
				assert.False(t, hasControl(s))
			}
		}
		if fm, err := CompileForm(tmpl); err == nil {
			_ = fm.Expand(v)
		}
	})
}
