package campaign

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

func TestFromQuery(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  Params
	}{
		{"empty", "", Params{}},
		{"no campaign", "page=2&sort=desc&q=hello+world", Params{}},
		{"utm full", "utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale&utm_term=shoes&utm_content=hero&utm_id=42",
			Params{Source: "newsletter", Medium: "email", Name: "spring_sale", Term: "shoes", Content: "hero", ID: "42"}},
		{"mtm full", "mtm_source=nl&mtm_medium=mail&mtm_campaign=c&mtm_kwd=k&mtm_content=x&mtm_cid=7",
			Params{Source: "nl", Medium: "mail", Name: "c", Term: "k", Content: "x", ID: "7"}},
		{"utm wins over mtm", "mtm_source=matomo&utm_source=ga&mtm_medium=m",
			Params{Source: "ga", Medium: "m"}},
		{"empty utm falls back to mtm", "utm_source=&mtm_source=matomo", Params{Source: "matomo"}},
		{"case-insensitive names", "UTM_Source=Google&Utm_MEDIUM=cpc&GCLID=abc",
			Params{Source: "Google", Medium: "cpc", ClickIDType: "gclid", ClickIDValue: "abc"}},
		{"first non-empty value", "utm_source=&utm_source=%20%20&utm_source=second&utm_source=third", Params{Source: "second"}},
		{"unescape and trim", "utm_campaign=+Black%20Friday+&utm_term=caf%C3%A9", Params{Name: "Black Friday", Term: "café"}},
		{"bad escape kept raw", "utm_source=50%zz", Params{Source: "50%zz"}},
		{"escaped key not recognized", "utm%5Fsource=x&%75tm_medium=y", Params{}},
		{"click id priority", "fbclid=fb&msclkid=ms&gbraid=gb", Params{ClickIDType: "gbraid", ClickIDValue: "gb"}},
		{"click id priority reverse order", "gclid=g&fbclid=fb", Params{ClickIDType: "gclid", ClickIDValue: "g"}},
		{"empty click id ignored", "gclid=&ttclid=tt", Params{ClickIDType: "ttclid", ClickIDValue: "tt"}},
		{"li_fat_id", "li_fat_id=li", Params{ClickIDType: "li_fat_id", ClickIDValue: "li"}},
		{"wbraid dclid", "dclid=d&wbraid=w", Params{ClickIDType: "wbraid", ClickIDValue: "w"}},
		{"yclid", "yclid=y", Params{ClickIDType: "yclid", ClickIDValue: "y"}},
		{"twclid", "TWCLID=x", Params{ClickIDType: "twclid", ClickIDValue: "x"}},
		{"epik sccid rdt_cid", "rdt_cid=r&sccid=s&epik=e", Params{ClickIDType: "epik", ClickIDValue: "e"}},
		{"known ids before the later ones", "rdt_cid=r&fbclid=f", Params{ClickIDType: "fbclid", ClickIDValue: "f"}},
		{"unknown utm ignored", "utm_foo=1&utm_sourcex=2&xutm_source=3", Params{}},
		{"no value", "utm_source&utm_medium=", Params{}},
		{"invalid utf8", "utm_source=%ff%fe", Params{Source: "\uFFFD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromQuery(tt.query); got != tt.want {
				t.Errorf("FromQuery(%q) =\n %+v, want\n %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestCap(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	p := FromQuery("utm_source=" + long + "&gclid=" + strings.Repeat("a", 1000))
	if len(p.Source) > MaxValueLen || !utf8.ValidString(p.Source) || len(p.Source) != 256 {
		t.Errorf("source len %d valid %v", len(p.Source), utf8.ValidString(p.Source))
	}
	p = FromQuery("utm_source=a" + strings.Repeat("é", 200))
	if len(p.Source) != 255 || !utf8.ValidString(p.Source) {
		t.Errorf("odd cut: len %d valid %v", len(p.Source), utf8.ValidString(p.Source))
	}
	if len(p.ClickIDValue) != 0 {
		t.Errorf("unexpected click id")
	}
	if p := FromQuery("gclid=" + strings.Repeat("a", 1000)); len(p.ClickIDValue) != MaxValueLen {
		t.Errorf("click id len %d", len(p.ClickIDValue))
	}
}

func TestFastPathNoAlloc(t *testing.T) {
	q := "page=2&sort=desc&q=hello+world&ref=home&lang=en-US&session=abcdef0123456789"
	if n := testing.AllocsPerRun(100, func() { FromQuery(q) }); n != 0 {
		t.Errorf("%v allocs on the fast path", n)
	}
	// Values that need no unescaping are substrings: no allocation either.
	q = "utm_source=google&utm_medium=cpc&gclid=abc123"
	if n := testing.AllocsPerRun(100, func() { FromQuery(q) }); n != 0 {
		t.Errorf("%v allocs for plain utm values", n)
	}
}

func TestMayContainParams(t *testing.T) {
	for _, q := range []string{"utm_", "MTM_", "x=1&GCLID=", "gbraid", "fbclid", "msclkid=", "li_fat_id"} {
		if !mayContainParams(q) {
			t.Errorf("%q: fast path misses it", q)
		}
	}
	for _, c := range eventmodel.ClickIDs {
		if !mayContainParams(c.Param + "=x") {
			t.Errorf("click id %q: fast path misses it", c.Param)
		}
		if len(c.Param) < minNameLen {
			t.Errorf("click id %q is shorter than minNameLen", c.Param)
		}
		if got := FromQuery("a=1&" + strings.ToUpper(c.Param) + "=v"); got.ClickIDType != c.Param || got.ClickIDValue != "v" {
			t.Errorf("click id %q not extracted: %+v", c.Param, got)
		}
	}
	for _, q := range []string{"", "a", "utm", "q=clip&b=brai", "utm%5Fsource"} {
		if mayContainParams(q) {
			t.Errorf("%q: fast path hit", q)
		}
	}
}
