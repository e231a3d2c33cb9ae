package scrub

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type labelled struct{ label, text string }

func loadLabelled(t testing.TB) []labelled {
	f, err := os.Open("testdata/labelled.tsv")
	require.NoError(t, err)
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, text, ok := strings.Cut(line, "\t")
		require.True(t, ok, "bad line %q", line)
		out = append(out, labelled{label, text})
	}
	require.NoError(t, sc.Err())
	return out
}

func allOn(t testing.TB) *Scrubber {
	s, err := New(Config{Detectors: AllDetectors})
	require.NoError(t, err)
	return s
}

// TestAccuracy measures precision and recall per class on the labelled set
// and fails if any PII class misses anything or overall precision < 95%.
func TestAccuracy(t *testing.T) {
	s := allOn(t)
	rows := loadLabelled(t)
	require.GreaterOrEqual(t, len(rows), 220)
	type pr struct{ tp, fp, fn int }
	res := map[string]*pr{}
	for _, k := range AllDetectors {
		res[k] = &pr{}
	}
	perClass := map[string]int{}
	for _, r := range rows {
		perClass[r.label]++
		out, c := s.Text(r.text)
		for _, k := range AllDetectors {
			got := c.Get(k) > 0
			want := r.label == k
			switch {
			case got && want:
				res[k].tp++
			case got && !want:
				res[k].fp++
				t.Logf("FP %-5s label=%-5s %q -> %q", k, r.label, r.text, out)
			case !got && want:
				res[k].fn++
				t.Logf("FN %-5s %q -> %q", k, r.text, out)
			}
		}
	}
	var tot pr
	report := func(name string, p pr) string {
		prec, rec := 1.0, 1.0
		if p.tp+p.fp > 0 {
			prec = float64(p.tp) / float64(p.tp+p.fp)
		}
		if p.tp+p.fn > 0 {
			rec = float64(p.tp) / float64(p.tp+p.fn)
		}
		return fmt.Sprintf("%-8s n=%-4d tp=%-3d fp=%-3d fn=%-3d precision=%6.2f%% recall=%6.2f%%",
			name, perClass[name], p.tp, p.fp, p.fn, 100*prec, 100*rec)
	}
	for _, k := range AllDetectors {
		p := *res[k]
		tot.tp, tot.fp, tot.fn = tot.tp+p.tp, tot.fp+p.fp, tot.fn+p.fn
		line := report(k, p)
		t.Log(line)
		if testing.Verbose() {
			fmt.Println(line)
		}
		require.Zerof(t, p.fn, "recall for %s must be 100%%", k)
		require.GreaterOrEqualf(t, perClass[k], 20, "at least 20 positives for %s", k)
	}
	perClass["overall"] = len(rows)
	line := report("overall", tot)
	t.Log(line)
	if testing.Verbose() {
		fmt.Println(line)
	}
	require.GreaterOrEqual(t, perClass["none"], 80)
	prec := float64(tot.tp) / float64(tot.tp+tot.fp)
	require.GreaterOrEqual(t, prec, 0.95, "overall precision")
}

// TestNoPIILeaks: no output of Text or URL contains the original PII of
// the positive set, in clear or URL-encoded form.
func TestNoPIILeaks(t *testing.T) {
	s := allOn(t)
	for _, r := range loadLabelled(t) {
		if r.label == "none" {
			continue
		}
		secret := coreOf(r.label, r.text)
		forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
		check := func(where, out string) {
			for _, f := range forms {
				require.NotContainsf(t, out, f, "%s leaked %q from %q: %q", where, f, r.text, out)
			}
			// digits-only form of numeric PII must not survive either
			if r.label == "card" || r.label == "phone" || r.label == "iban" {
				require.NotContainsf(t, digitsOnly(out), digitsOnly(secret)[2:], "%s leaked digits of %q: %q", where, r.text, out)
			}
		}
		out, _ := s.Text(r.text)
		check("Text", out)
		out, _ = s.URL("https://shop.example/p?q=" + url.QueryEscape(r.text) + "&x=1")
		check("URL query", out)
		out, _ = s.URL("https://shop.example/p?q=" + strings.ReplaceAll(r.text, " ", "+"))
		check("URL raw query", out)
		out, _ = s.URL("https://shop.example/s/" + url.PathEscape(r.text) + "/x")
		check("URL path", out)
		out, _ = s.URL("https://shop.example/p#" + url.PathEscape(r.text))
		check("URL fragment", out)
	}
}

func digitsOnly(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// coreOf returns the PII inside a labelled example (without the context
// words the set puts around some of them).
func coreOf(label, text string) string {
	prefixes := []string{"Contact: ", "Order confirmation sent to ", "send to ", "search: ", "mailto:",
		"newsletter signup ", "Thanks ", "Call us on ", "tel:", "Ruf an: ", "Card number: ", "IBAN: ",
		"Authorization: Bearer ", "id_token ", "session=", "#", "api key ", "reset/", "/users/", "<"}
	for _, p := range prefixes {
		text = strings.TrimPrefix(text, p)
	}
	for _, suf := range []string{" for details", " please", " today", " exp 12/28", " BIC: COBADEFFXXX", "/profile", "!", ">"} {
		text = strings.TrimSuffix(text, suf)
	}
	return text
}
