package scrub

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewUnknownDetector(t *testing.T) {
	_, err := New(Config{Detectors: []string{"email", "x"}})
	require.EqualError(t, err, `unknown detector "x"; use email, phone, card, iban, jwt or token`)
	s, err := New(Config{})
	require.NoError(t, err)
	out, c := s.Text("alice@example.com")
	assert.Equal(t, "alice@example.com", out, "no detectors enabled")
	assert.Zero(t, c.Total())
}

func TestOnlyEnabledDetectors(t *testing.T) {
	s, err := New(Config{Detectors: []string{Email}})
	require.NoError(t, err)
	out, c := s.Text("alice@example.com 4111 1111 1111 1111")
	assert.Equal(t, "[email] 4111 1111 1111 1111", out)
	assert.Equal(t, 1, c.Get(Email))
	assert.Equal(t, map[string]int{"email": 1}, c.Map())
}

type tcase struct{ in, want string }

func runText(t *testing.T, cases []tcase) {
	t.Helper()
	s := allOn(t)
	for _, tc := range cases {
		out, _ := s.Text(tc.in)
		assert.Equal(t, tc.want, out, "input %q", tc.in)
	}
}

func TestEmail(t *testing.T) {
	runText(t, []tcase{
		{"mail alice@example.com now", "mail [email] now"},
		{"alice+tag@example.co.uk", "[email]"},
		{"alice%40example.com", "[email]"},
		{"alice%2540example.com", "[email]"},
		{"next=%2Fp%3Femail%3Dalice%40example.com", "next=%2Fp%3Femail%3D[email]"},
		{"/users/alice@example.com/profile", "/users/[email]/profile"},
		{"a@b.c", "a@b.c"},
		{"user@localhost", "user@localhost"},
		{"logo@2x.png", "logo@2x.png"},
		{"npm i @babel/core@7.24.0", "npm i @babel/core@7.24.0"},
		{"@@@@", "@@@@"},
		{"alice@example.com.", "[email]."},
		{"hans.müller@example.de", "[email]"},
	})
}

func TestPhone(t *testing.T) {
	runText(t, []tcase{
		{"+44 7700 900123", "[phone]"},
		{"+1-202-555-0143", "[phone]"},
		{"call (202) 555-0143.", "call [phone]."},
		{"020 7946 0958", "[phone]"},
		{"0044 20 7946 0958", "[phone]"},
		{"call+020+7946+0958", "call+[phone]"},
		{"2026-11-23 020 7946 0958", "2026-11-23 [phone]"},
		{"+447700900123", "[phone]"},
		// negatives
		{"2026-11-23", "2026-11-23"},
		{"2026-11-23 14:30", "2026-11-23 14:30"},
		{"1,299.00", "1,299.00"},
		{"ORD-2026-000123", "ORD-2026-000123"},
		{"1.2.3.4", "1.2.3.4"},
		{"192.168.100.200", "192.168.100.200"},
		{"12345678901", "12345678901"},
		{"1732300000", "1732300000"},
		{"2019-2026", "2019-2026"},
		{"90210-1234", "90210-1234"},
		{"10 000 000", "10 000 000"},
		{"12.345.678", "12.345.678"},
		{"23.11.2026", "23.11.2026"},
		{"11/23/2026", "11/23/2026"},
		{"48.856614 2.352222", "48.856614 2.352222"},
	})
}

func TestCard(t *testing.T) {
	runText(t, []tcase{
		{"4111 1111 1111 1111", "[card]"},
		{"4111-1111-1111-1111", "[card]"},
		{"4111111111111111", "[card]"},
		{"3782 822463 10005", "[card]"},
		{"pay 5555555555554444 now", "pay [card] now"},
		{"4111+1111+1111+1111", "[card]"},
		{"12 4111 1111 1111 1111", "12 [card]"},
		// negatives
		{"4111111111111112", "4111111111111112"},         // Luhn
		{"1234567812345670", "1234567812345670"},         // Luhn-valid, no IIN
		{"41111111111111110000", "41111111111111110000"}, // 20 digits: an id
		{"36 38 40 42 44 46 48 50", "36 38 40 42 44 46 48 50"},
	})
}

func TestIBAN(t *testing.T) {
	runText(t, []tcase{
		{"DE89370400440532013000", "[iban]"},
		{"IBAN DE89 3704 0044 0532 0130 00.", "IBAN [iban]."},
		{"gb82west12345698765432", "[iban]"},
		{"GB82WEST12345698765432", "[iban]"},
		{"DE89370400440532013001", "DE89370400440532013001"},
		{"DE8937040044053201300", "DE8937040044053201300"},
		{"XX89370400440532013000", "XX89370400440532013000"},
	})
}

const testJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

func TestJWT(t *testing.T) {
	runText(t, []tcase{
		{testJWT, "[jwt]"},
		{"Bearer " + testJWT + ".", "Bearer [jwt]."},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "[jwt]"},
		{"www.example.com.au", "www.example.com.au"},
		{"eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9"},
	})
}

func TestToken(t *testing.T) {
	runText(t, []tcase{
		{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "[token]"},
		{"key=AKIAIOSFODNN7EXAMPLE", "key=[token]"},
		{"AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "[token]"},
		{"ghp_16C7e42F292c6912E7710c838347Ae178B4a", "[token]"},
		{"xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", "[token]"},
		{"glpat-xxxxxxxxxxxxxxxxxxxx", "[token]"},
		{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "[token]"},
		{"sess Xk9mP2qR7sT4vW8yZ1aB3cD5eF", "sess [token]"},
		{strings.Repeat("a1b2c3d4", 8), "[token]"}, // 64 hex
		// negatives
		{"550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"},
		{"a3f1c9e2b7d84f6a9c0e1b2d3f4a5b6c", "a3f1c9e2b7d84f6a9c0e1b2d3f4a5b6c"},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"how-to-choose-the-best-running-shoes-2026", "how-to-choose-the-best-running-shoes-2026"},
		{"ProductDetailPageV2Experiment2026", "ProductDetailPageV2Experiment2026"},
		{"bestrunningshoes2026forwomen", "bestrunningshoes2026forwomen"},
		{"/_next/static/chunks/pages/_app-a1b2c3d4e5f6a7b8", "/_next/static/chunks/pages/_app-a1b2c3d4e5f6a7b8"},
		{"aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGQ="},
		{"Donaudampfschifffahrtsgesellschaftskapitaen", "Donaudampfschifffahrtsgesellschaftskapitaen"},
		{"summer-sale-2026-womens-running-shoes-size-42", "summer-sale-2026-womens-running-shoes-size-42"},
		{"AbandonedCartReminderEmailVariantB2", "AbandonedCartReminderEmailVariantB2"},
	})
}

func TestURL(t *testing.T) {
	s, err := New(Config{Detectors: AllDetectors, AllowParams: []string{"q", "email_opt_in"}, DenyParams: []string{"Customer-Name"}})
	require.NoError(t, err)
	cases := []struct {
		in, want string
		counts   map[string]int
	}{
		{"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&color=red&size=42#reviews",
			"https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&color=red&size=42#reviews", map[string]int{}},
		{"https://bob:hunter2@shop.example:8443/a", "https://shop.example:8443/a", map[string]int{"userinfo": 1}},
		{"https://shop.example/p?email=alice@example.com&x=1", "https://shop.example/p?x=1", map[string]int{"param": 1}},
		{"https://shop.example/p?User_Email=a&access_token=b&id_token=c&api_key=d&sessionid=e&password=f&x=1",
			"https://shop.example/p?x=1", map[string]int{"param": 6}},
		{"https://shop.example/p?customer_name=Bob&x=1", "https://shop.example/p?x=1", map[string]int{"param": 1}},
		{"https://shop.example/p?email_opt_in=yes", "https://shop.example/p?email_opt_in=yes", map[string]int{}},
		{"https://shop.example/p?utm_content=alice@example.com", "https://shop.example/p?utm_content=[email]", map[string]int{"email": 1}},
		{"/search?q=alice%40example.com&page=2", "/search?q=[email]&page=2", map[string]int{"email": 1}},
		{"/search?q=call%20%2B44%207700%20900123", "/search?q=call%20[phone]", map[string]int{"phone": 1}},
		{"/users/alice%40example.com/orders", "/users/[email]/orders", map[string]int{"email": 1}},
		{"https://app.example/cb#access_token=ya29.a0AfH6SMBx&token_type=Bearer&expires_in=3600&state=xyz",
			"https://app.example/cb#expires_in=3600&state=xyz", map[string]int{"param": 2}},
		{"https://app.example/cb?code=4/0AX4XfWh&state=abc", "https://app.example/cb?state=abc", map[string]int{"param": 1}},
		{"https://shop.example/cart?code=SUMMER20", "https://shop.example/cart?code=SUMMER20", map[string]int{}},
		{"https://shop.example/p;jsessionid=0123456789ABCDEF?x=1", "https://shop.example/p?x=1", map[string]int{"param": 1}},
		{"https://shop.example/reset/" + testJWT, "https://shop.example/reset/[jwt]", map[string]int{"jwt": 1}},
		{"https://shop.example/login?next=https%3A%2F%2Fshop.example%2Fcb%3Ftoken%3Dabc%26x%3D1", "https://shop.example/login?next=https://shop.example/cb?x=1", map[string]int{"param": 1}},
		{"https://shop.example/p?token=abc", "https://shop.example/p", map[string]int{"param": 1}},
		{"https://shop.example/#/checkout?email=a@b.co&step=2", "https://shop.example/#/checkout?step=2", map[string]int{"param": 1}},
		{"mailto:alice@example.com", "mailto:[email]", map[string]int{"email": 1}},
		{"tel:+442079460958", "tel:[phone]", map[string]int{"phone": 1}},
		{"relative/path?phone=123", "relative/path", map[string]int{"param": 1}},
		{"?sid=42&key=color", "?sid=42&key=color", map[string]int{}},
		{"https://www.google.com/", "https://www.google.com/", map[string]int{}},
		// malformed: scrubbed as text
		{"http://bad host/x alice@example.com", "http://bad host/x [email]", map[string]int{"email": 1}},
		{"%%%@@@??##&&==;;", "%%%@@@??##&&==;;", map[string]int{}},
	}
	for _, tc := range cases {
		out, c := s.URL(tc.in)
		assert.Equal(t, tc.want, out, "input %q", tc.in)
		assert.Equal(t, tc.counts, c.Map(), "counts for %q", tc.in)
	}
}

func TestDropUnknown(t *testing.T) {
	s, err := New(Config{Detectors: AllDetectors, AllowParams: []string{"q"}, DropUnknownParams: true})
	require.NoError(t, err)
	out, c := s.Query("q=shoes&utm_campaign=x&mtm_kwd=y&fbclid=abc&color=red")
	assert.Equal(t, "q=shoes&utm_campaign=x&mtm_kwd=y", out)
	assert.Equal(t, 2, c.Get(Param))
	out, _ = s.Path("/a/b;foo=bar/c")
	assert.Equal(t, "/a/b;foo=bar/c", out, "matrix params only obey the deny list")
}

func TestNoAllocWhenClean(t *testing.T) {
	s := allOn(t)
	u := "https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&color=red&size=42#reviews"
	n := testing.AllocsPerRun(100, func() {
		s.URL(u)
		s.Text("Red running shoes — Shop")
		s.URL("https://www.google.com/")
	})
	assert.Zero(t, n)
}

// Adversarial 1 MB inputs: a quadratic scanner would take minutes here.
func TestLinearTime(t *testing.T) {
	s := allOn(t)
	const mb = 1 << 20
	inputs := map[string]string{
		"digits":        strings.Repeat("1", mb),
		"digit groups":  strings.Repeat("12 ", mb/3),
		"dashed digits": strings.Repeat("4-", mb/2),
		"at signs":      strings.Repeat("@", mb),
		"local@":        strings.Repeat("a@", mb/2),
		"enc at":        strings.Repeat("a%40", mb/4),
		"dots":          strings.Repeat(".", mb),
		"labels":        strings.Repeat("a.", mb/2),
		"email-ish":     "x@" + strings.Repeat("a.", mb/2) + "com",
		"base64":        strings.Repeat("aB3+/x9Z", mb/8),
		"jwt-ish":       strings.Repeat("eyJhbGciOiJIUzI1NiJ9.", mb/21),
		"iban-ish":      strings.Repeat("DE89 ", mb/5),
		"plus digits":   strings.Repeat("+1", mb/2),
		"parens":        strings.Repeat("(1) ", mb/4),
		"prefixes":      strings.Repeat("sk_live_ghp_AKIA", mb/16),
		"percent":       strings.Repeat("%25", mb/3),
		"query":         strings.Repeat("a=b&", mb/4),
		"slashes":       strings.Repeat("/a;b=c", mb/6),
	}
	for name, in := range inputs {
		out, _ := s.Text(in)
		require.LessOrEqual(t, len(out), 2*len(in)+16, name)
		out, _ = s.URL("https://x.example/" + in + "?q=" + in + "#" + in)
		require.NotEmpty(t, out, name)
	}
}

func checkInvariants(t *testing.T, s *Scrubber, in string, f func(string) (string, Counts)) {
	// a hang or super-linear blow-up crashes the worker, so that the
	// fuzzer records the input
	watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("scrubbing took > 10s: %q", in)) })
	defer watchdog.Stop()
	out, _ := f(in)
	if len(out) > 3*len(in)+64 {
		t.Fatalf("output too long: %d for input %d", len(out), len(in))
	}
	again, c := f(out)
	if again != out {
		t.Fatalf("not idempotent:\n in:    %q\n out:   %q\n again: %q (%v)", in, out, again, c.Map())
	}
	if utf8.ValidString(in) && !utf8.ValidString(out) {
		t.Fatalf("broke UTF-8: %q -> %q", in, out)
	}
}

func fuzzSeeds(f *testing.F) {
	for _, r := range loadLabelled(f) {
		f.Add(r.text)
	}
	f.Add("https://bob:pw@shop.example/p?email=alice%40example.com&q=call+020+7946+0958#access_token=abc")
	f.Add("/users/alice@example.com/profile;jsessionid=ABC?next=%2Fx%3Ftoken%3D1")
	for _, s := range []string{"call-+44 20 7946 0958", "/contact/call-0612345678", "Ticket #123-456-7890",
		"https://shop.example/tickets/1234-5678-90?order_id=0612345678&mobile=0612345678#call-0612345678",
		"https://wa.me/4915112345678", "id_token-eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
		"?first_name=Jane&customer%5Bfirst_name%5D=Jane&billingName=Jane&nom=Dupont&page=2",
		"Handy 0664/1234567", "Card+number:+3852+0000+0232+37", "fax+555-0143", "#ZIP 90210-1234"} {
		f.Add(s)
	}
}

func FuzzText(f *testing.F) {
	fuzzSeeds(f)
	s, _ := New(Config{Detectors: AllDetectors})
	f.Fuzz(func(t *testing.T, in string) { checkInvariants(t, s, in, s.Text) })
}

// FuzzTextAfter: a label changes what a leading number is, never the
// invariants; the name decision for the label never panics and ignores
// case.
func FuzzTextAfter(f *testing.F) {
	for _, l := range []string{"ticket", "order_id", "mobile", "phone_number", "wa.me", "q", "first_name", "Prénom"} {
		f.Add(l, "0612345678")
		f.Add(l, "1234-5678-90 call-+44 20 7946 0958")
	}
	s, _ := New(Config{Detectors: AllDetectors})
	f.Fuzz(func(t *testing.T, label, in string) {
		checkInvariants(t, s, in, func(v string) (string, Counts) { return s.TextAfter(label, v) })
		if utf8.ValidString(label) && s.DeniedName(label) != s.DeniedName(strings.ToUpper(label)) && strings.ToLower(strings.ToUpper(label)) == strings.ToLower(label) {
			t.Fatalf("DeniedName(%q) depends on case", label)
		}
	})
}

// FuzzDeniedName: the name decision never panics and is the same in any
// ASCII case and for any of the separators - _ . (snake, kebab, dotted).
func FuzzDeniedName(f *testing.F) {
	for _, n := range append(append([]string{}, PersonalNames...), harmlessNames...) {
		f.Add(n)
	}
	s, _ := New(Config{Detectors: AllDetectors})
	f.Fuzz(func(t *testing.T, name string) {
		got := s.DeniedName(name)
		if DeniedByDefault(name) && !got {
			t.Fatalf("DeniedByDefault(%q) but not DeniedName", name)
		}
		if asciiLower := strings.Map(func(r rune) rune {
			if 'A' <= r && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, name); !strings.ContainsAny(name, " ") && s.DeniedName(asciiLower) != got && !hasUpperAfterLower(name) {
			t.Fatalf("DeniedName(%q) = %v, of %q = %v", name, got, asciiLower, !got)
		}
		for _, sep := range []string{"-", "."} {
			if v := strings.ReplaceAll(name, "_", sep); !strings.Contains(name, sep) && s.DeniedName(v) != got {
				t.Fatalf("DeniedName(%q) = %v, of %q = %v", name, got, v, !got)
			}
		}
	})
}

// hasUpperAfterLower: a camelCase boundary, which separates words and so
// may decide differently from the same letters in one case.
func hasUpperAfterLower(s string) bool {
	for i := 1; i < len(s); i++ {
		if isUpper(s[i]) && !isUpper(s[i-1]) {
			return true
		}
	}
	return false
}

// FuzzFragment: a fragment is scrubbed as a query, a route or text; the
// invariants hold for each.
func FuzzFragment(f *testing.F) {
	for _, in := range []string{"access_token=abc.def", "/a/b?phone=0612345678", "!/users/jane@example.com",
		"call-0612345678", "Section 2", "#1234-5678-90", "tel=+44 20 7946 0958&x=1"} {
		f.Add(in)
	}
	s, _ := New(Config{Detectors: AllDetectors})
	f.Fuzz(func(t *testing.T, in string) { checkInvariants(t, s, in, s.Fragment) })
}

func FuzzURL(f *testing.F) {
	fuzzSeeds(f)
	s, _ := New(Config{Detectors: AllDetectors, AllowParams: []string{"q"}})
	f.Fuzz(func(t *testing.T, in string) {
		checkInvariants(t, s, in, s.URL)
		// URLAndQuery's query result is exactly what Query makes of it.
		out, _, rawQ, scrubbedQ, ok := s.URLAndQuery(in)
		if want, _ := s.URL(in); out != want {
			t.Fatalf("URLAndQuery(%q) = %q, URL = %q", in, out, want)
		}
		if ok {
			if want, _ := s.Query(rawQ); scrubbedQ != want {
				t.Fatalf("URLAndQuery(%q) query %q -> %q, Query -> %q", in, rawQ, scrubbedQ, want)
			}
		}
	})
}

func BenchmarkTypicalPageView(b *testing.B) {
	s, _ := New(Config{Detectors: AllDetectors, AllowParams: []string{"q"}})
	b.ReportAllocs()
	for b.Loop() {
		s.URL("https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&color=red&size=42#reviews")
		s.Text("Red running shoes — Shop")
		s.URL("https://www.google.com/")
	}
}

func BenchmarkDirtyURL(b *testing.B) {
	s, _ := New(Config{Detectors: AllDetectors})
	b.ReportAllocs()
	for b.Loop() {
		s.URL("https://shop.example/account/alice%40example.com?email=alice@example.com&phone=%2B447700900123&q=4111+1111+1111+1111#access_token=" + testJWT)
	}
}
