package channel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty internal", Config{InternalDomains: []string{"shop.example", " "}}, "internal_domains[1]: domain is empty"},
		{"bad internal", Config{InternalDomains: []string{"shop example"}}, `internal_domains[0]: "shop example" is not a valid domain`},
		{"empty name", Config{Partners: []Partner{{Name: "a", Param: "a"}, {Name: " ", Param: "b"}}}, "partners[1]: name is empty"},
		{"dup name", Config{Partners: []Partner{{Name: "A", Param: "a"}, {Name: "a", Param: "b"}}}, `partners[1]: name "a" duplicates partners[0]`},
		{"nothing to match", Config{Partners: []Partner{{Name: "a"}}}, "partners[0] (a): needs a param or at least one domain"},
		{"bad param", Config{Partners: []Partner{{Name: "a", Param: "a b"}}}, `partners[0] (a): param "a b" is not a valid query parameter name`},
		{"dup param", Config{Partners: []Partner{{Name: "a", Param: "p"}, {Name: "b", Param: "p"}}}, `partners[1] (b): param "p" is already used by partners[0]`},
		{"empty domain", Config{Partners: []Partner{{Name: "a", Domains: []string{""}}}}, "partners[0].domains[0] (a): domain is empty"},
		{"public suffix", Config{Partners: []Partner{{Name: "a", Domains: []string{"co.nz"}}}}, `partners[0].domains[0] (a): "co.nz" is a public suffix, not a site`},
		{"dup domain", Config{Partners: []Partner{{Name: "a", Domains: []string{"x.com"}}, {Name: "b", Domains: []string{"X.com."}}}}, `partners[1].domains[0] (b): "X.com." is already listed by partners[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			require.EqualError(t, err, tt.want)
		})
	}
	c, err := New(Config{InternalDomains: []string{"https://Shop.Example/", "*.cdn.example"}})
	require.NoError(t, err)
	assert.Equal(t, Internal, c.Classify(Input{Referrer: "https://a.shop.example/"}).Medium)
	assert.Equal(t, Internal, c.Classify(Input{Referrer: "https://x.cdn.example/"}).Medium)
	_, err = New(Config{})
	require.NoError(t, err)
}

func TestPrecedence(t *testing.T) {
	c, err := New(testConfig)
	require.NoError(t, err)
	const land = "https://shop.example/"
	tests := []struct {
		name string
		in   Input
		want Result
	}{
		{"partner param beats click id and campaign",
			Input{LandingURL: land + "?__apid=1&gclid=2", ClickIDType: "gclid", UTMSource: "google", UTMMedium: "cpc"},
			Result{Medium: PartnerMedium, Source: "archipro", Partner: "ArchiPro"}},
		{"empty partner param value does not count",
			Input{LandingURL: land + "?__apid=", Referrer: "https://www.bing.com/"},
			Result{Medium: Search, Source: "bing"}},
		{"partner param name is case-sensitive",
			Input{LandingURL: land + "?__APID=1"},
			Result{Medium: Direct}},
		{"partner referrer subdomain beats click id",
			Input{LandingURL: land, Referrer: "https://blog.archipro.com.au/x", ClickIDType: "msclkid"},
			Result{Medium: PartnerMedium, Source: "archipro", Partner: "ArchiPro"}},
		{"click id beats campaign",
			Input{LandingURL: land, ClickIDType: "GCLID", UTMSource: "newsletter", UTMMedium: "email"},
			Result{Medium: Paid, Source: "google"}},
		{"unknown click id type ignored",
			Input{LandingURL: land, ClickIDType: "zzclid"},
			Result{Medium: Direct}},
		{"fbclid defers to campaign",
			Input{LandingURL: land, ClickIDType: "fbclid", UTMSource: "facebook", UTMMedium: "cpc"},
			Result{Medium: Paid, Source: "facebook"}},
		{"fbclid alone is social facebook",
			Input{LandingURL: land, ClickIDType: "fbclid", Referrer: "https://www.nytimes.com/"},
			Result{Medium: Social, Source: "facebook"}},
		{"fbclid with instagram referrer",
			Input{LandingURL: land, ClickIDType: "fbclid", Referrer: "https://l.instagram.com/"},
			Result{Medium: Social, Source: "instagram"}},
		{"campaign beats referrer",
			Input{LandingURL: land, Referrer: "https://www.google.com/", UTMSource: "newsletter", UTMMedium: "email"},
			Result{Medium: Email, Source: "newsletter"}},
		{"campaign beats internal referrer",
			Input{LandingURL: land, Referrer: "https://shop.example/a", UTMSource: "banner", UTMMedium: "display"},
			Result{Medium: Paid, Source: "banner"}},
		{"medium without source takes referrer source",
			Input{LandingURL: land, Referrer: "https://www.google.de/", UTMMedium: "cpc"},
			Result{Medium: Paid, Source: "google"}},
		{"medium without source, internal referrer",
			Input{LandingURL: land, Referrer: "https://shop.example/", UTMMedium: "email"},
			Result{Medium: Email}},
		{"unknown medium is referral",
			Input{LandingURL: land, UTMSource: "Radio NZ", UTMMedium: "audio"},
			Result{Medium: Referral, Source: "radio nz"}},
		{"medium none ignored",
			Input{LandingURL: land, Referrer: "https://duckduckgo.com/", UTMMedium: "(none)"},
			Result{Medium: Search, Source: "duckduckgo"}},
		{"medium rule: contains paid",
			Input{LandingURL: land, UTMSource: "meta", UTMMedium: "Social_Paid"},
			Result{Medium: Paid, Source: "meta"}},
		{"campaign alone ignored",
			Input{LandingURL: land, UTMCampaign: "summer"},
			Result{Medium: Direct}},
		{"source-only domain is looked up",
			Input{LandingURL: land, UTMSource: "L.Facebook.com"},
			Result{Medium: Social, Source: "facebook"}},
		{"source-only unknown domain is referral as given",
			Input{LandingURL: land, UTMSource: "blog.example.net"},
			Result{Medium: Referral, Source: "blog.example.net"}},
		{"google term",
			Input{LandingURL: land, Referrer: "https://www.google.co.uk/search?q=grey+sofa&hl=en"},
			Result{Medium: Search, Source: "google", SearchTerm: "grey sofa"}},
		{"google /url q is not a term",
			Input{LandingURL: land, Referrer: "https://www.google.com/url?q=https://shop.example/"},
			Result{Medium: Search, Source: "google"}},
		{"duckduckgo without term",
			Input{LandingURL: land, Referrer: "https://duckduckgo.com/"},
			Result{Medium: Search, Source: "duckduckgo"}},
		{"duckduckgo term",
			Input{LandingURL: land, Referrer: "https://duckduckgo.com/?t=h_&q=linen%20curtains"},
			Result{Medium: Search, Source: "duckduckgo", SearchTerm: "linen curtains"}},
		{"yahoo p", Input{Referrer: "https://uk.search.yahoo.com/search?p=bar+stools"},
			Result{Medium: Search, Source: "yahoo", SearchTerm: "bar stools"}},
		{"yandex text", Input{Referrer: "https://yandex.ru/search/?text=%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD"},
			Result{Medium: Search, Source: "yandex", SearchTerm: "диван"}},
		{"baidu word fallback", Input{Referrer: "https://m.baidu.com/s?word=sofa"},
			Result{Medium: Search, Source: "baidu", SearchTerm: "sofa"}},
		{"naver query", Input{Referrer: "https://search.naver.com/search.naver?query=x"},
			Result{Medium: Search, Source: "naver", SearchTerm: "x"}},
		{"bad escape in term kept raw", Input{Referrer: "https://www.bing.com/search?q=100%"},
			Result{Medium: Search, Source: "bing", SearchTerm: "100%"}},
		{"mail.google is email", Input{Referrer: "https://mail.google.co.uk/"}, Result{Medium: Email, Source: "gmail"}},
		{"gemini is AI", Input{Referrer: "https://gemini.google.com/app"}, Result{Medium: AI, Source: "gemini"}},
		{"news.google is referral", Input{Referrer: "https://news.google.co.nz/"}, Result{Medium: Referral, Source: "google.co.nz"}},
		{"unknown google subdomain is referral", Input{Referrer: "https://accounts.google.com/"}, Result{Medium: Referral, Source: "google.com"}},
		{"google on private suffix is not google", Input{Referrer: "https://google.blogspot.com/"}, Result{Medium: Referral, Source: "google.blogspot.com"}},
		{"yahoo portal is referral", Input{Referrer: "https://www.yahoo.co.jp/"}, Result{Medium: Referral, Source: "yahoo.co.jp"}},
		{"generic webmail", Input{Referrer: "https://webmail.example-isp.net/"}, Result{Medium: Email, Source: "example-isp.net"}},
		{"mail.ru portal is not webmail", Input{Referrer: "https://mail.ru/"}, Result{Medium: Referral, Source: "mail.ru"}},
		{"internal: same host as landing", Input{LandingURL: "https://a.github.io/x", Referrer: "https://a.github.io/y"},
			Result{Medium: Internal, Source: "a.github.io"}},
		{"not internal: other site on the same private suffix", Input{LandingURL: "https://a.github.io/x", Referrer: "https://b.github.io/y"},
			Result{Medium: Referral, Source: "b.github.io"}},
		{"internal: same registrable domain", Input{LandingURL: "https://www.other.co.uk/", Referrer: "https://blog.other.co.uk/"},
			Result{Medium: Internal, Source: "other.co.uk"}},
		{"userinfo and port", Input{Referrer: "https://user:pw@www.bing.com:8443/search?q=a#frag"},
			Result{Medium: Search, Source: "bing", SearchTerm: "a"}},
		{"IPv6 referrer", Input{Referrer: "http://[2001:db8::1]:8080/"}, Result{Medium: Referral, Source: "2001:db8::1"}},
		{"bad IPv6 referrer", Input{Referrer: "http://[2001:db8::1/"}, Result{Medium: Direct}},
		{"ftp referrer", Input{Referrer: "ftp://example.com/"}, Result{Medium: Direct}},
		{"chrome-extension referrer", Input{Referrer: "chrome-extension://abcdef/"}, Result{Medium: Direct}},
		{"scheme-less host with port", Input{Referrer: "duckduckgo.com:443/?q=x"}, Result{Medium: Search, Source: "duckduckgo", SearchTerm: "x"}},
		{"android-app landing is ignored", Input{LandingURL: "android-app://com.example/?__apid=1"}, Result{Medium: Direct}},
		{"unknown android app", Input{Referrer: "android-app://com.example.reader/"}, Result{Medium: Referral, Source: "com.example.reader"}},
		{"uppercase IDN", Input{Referrer: "https://BÜCHER.de/"}, Result{Medium: Referral, Source: "bücher.de"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, c.Classify(tt.in))
		})
	}
}

func TestListsAreNormalised(t *testing.T) {
	valid := func(m string) bool {
		switch m {
		case Search, Social, Email, AI, Referral:
			return true
		}
		return false
	}
	for h, e := range hosts {
		got, ok := hostOf(h)
		assert.True(t, ok && got == h, "hosts key %q is not a normalised host", h)
		assert.True(t, valid(e.medium), "hosts[%q]", h)
		assert.NotEqual(t, "www", h[:min(3, len(h))], "hosts key %q has www.", h)
		rd, icann := registrable(h)
		if icann {
			if _, fam := families[rd[:len(rd)-len(parent(rd))-1]]; fam {
				t.Errorf("hosts key %q is shadowed by its family", h)
			}
		}
	}
	for f, fam := range families {
		assert.True(t, valid(fam.other.medium), "families[%q]", f)
		for p, e := range fam.subs {
			assert.True(t, valid(e.medium), "families[%q].subs[%q]", f, p)
		}
	}
	for k, e := range sourceNames {
		assert.True(t, valid(e.medium) && e.source != "", "sourceNames[%q]", k)
	}
	for k, e := range apps {
		assert.True(t, valid(e.medium) && e.source != "", "apps[%q]", k)
	}
	for k, m := range mediums {
		m2, ok := campaignMedium(k)
		assert.True(t, ok && m2 == m, "mediums[%q] not canonical", k)
	}
}

func validMedium(m string) bool {
	switch m {
	case Direct, Internal, Search, Social, Email, Paid, Referral, AI, PartnerMedium:
		return true
	}
	return false
}

func FuzzClassify(f *testing.F) {
	c, err := New(testConfig)
	require.NoError(f, err)
	for _, r := range readLabelled(f) {
		in := inputFor(r.landing, r.referrer)
		f.Add(in.LandingURL, in.Referrer, in.UTMSource, in.UTMMedium, in.UTMCampaign, in.ClickIDType)
	}
	f.Add("http://[::1", "http://a..b/", "", "\xff", "", "fbclid")
	f.Add("", "android-app://", "x.", "(none)", "", "")
	f.Fuzz(func(t *testing.T, landing, referrer, src, med, camp, click string) {
		r := c.Classify(Input{LandingURL: landing, Referrer: referrer, UTMSource: src, UTMMedium: med, UTMCampaign: camp, ClickIDType: click})
		if !validMedium(r.Medium) {
			t.Fatalf("invalid medium %q", r.Medium)
		}
		if r.Medium == Direct && r.Source != "" {
			t.Fatalf("direct with source %q", r.Source)
		}
		if (r.Medium == PartnerMedium) != (r.Partner != "") {
			t.Fatalf("partner %q with medium %q", r.Partner, r.Medium)
		}
		if r.SearchTerm != "" && r.Medium != Search {
			t.Fatalf("search term %q with medium %q", r.SearchTerm, r.Medium)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	c, err := New(testConfig)
	require.NoError(b, err)
	cases := []struct {
		name string
		in   Input
	}{
		{"google_search", Input{LandingURL: "https://shop.example/products/sofa?color=grey", Referrer: "https://www.google.co.uk/search?q=grey+sofa&hl=en"}},
		{"google_no_term", Input{LandingURL: "https://shop.example/products/sofa", Referrer: "https://www.google.com/"}},
		{"direct", Input{LandingURL: "https://shop.example/products/sofa?color=grey"}},
		{"referral", Input{LandingURL: "https://shop.example/", Referrer: "https://www.nytimes.com/wirecutter/reviews/best-sofas/"}},
		{"campaign", Input{LandingURL: "https://shop.example/?utm_source=newsletter&utm_medium=email", UTMSource: "newsletter", UTMMedium: "Email"}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Classify(bc.in)
			}
		})
	}
}
