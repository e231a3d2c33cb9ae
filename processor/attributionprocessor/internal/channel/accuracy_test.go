package channel

import (
	"bufio"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// testConfig is the fixed configuration testdata/labelled.tsv is labelled for.
var testConfig = Config{InternalDomains: []string{"shop.example"}}

// inputFor builds an Input the way the receiver does: the URLs' parts,
// campaign fields from utm_* (falling back to mtm_*) and the first known
// click id parameter of the landing URL.
func inputFor(landing, referrer string) Input {
	in := at(landing, referrer, Input{})
	u, err := url.Parse(landing)
	if err != nil {
		return in
	}
	q, _ := url.ParseQuery(u.RawQuery)
	field := func(name string) string {
		if v := q.Get("utm_" + name); v != "" {
			return v
		}
		return q.Get("mtm_" + name)
	}
	in.UTMSource, in.UTMMedium, in.UTMCampaign = field("source"), field("medium"), field("campaign")
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if _, known := eventmodel.LookupClickID(k); known && v != "" {
			in.ClickIDType = k
			break
		}
	}
	return in
}

type labelled struct {
	line                              int
	medium, source, landing, referrer string
}

func readLabelled(t testing.TB) []labelled {
	t.Helper()
	f, err := os.Open("testdata/labelled.tsv")
	require.NoError(t, err)
	defer f.Close()
	dash := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	var rows []labelled
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		require.Len(t, f, 4, "line %d: %q", n, line)
		rows = append(rows, labelled{n, f[0], dash(f[1]), dash(f[2]), dash(f[3])})
	}
	require.NoError(t, sc.Err())
	return rows
}

func TestAccuracy(t *testing.T) {
	c, err := New(testConfig)
	require.NoError(t, err)
	rows := readLabelled(t)
	require.GreaterOrEqual(t, len(rows), 300)

	type tally struct{ n, medium, source int }
	per := map[string]*tally{}
	var all tally
	for _, r := range rows {
		got := c.Classify(inputFor(r.landing, r.referrer))
		tl := per[r.medium]
		if tl == nil {
			tl = &tally{}
			per[r.medium] = tl
		}
		tl.n++
		all.n++
		if got.Medium == r.medium {
			tl.medium++
			all.medium++
		}
		if got.Source == r.source {
			tl.source++
			all.source++
		}
		if got.Medium != r.medium || got.Source != r.source {
			t.Logf("line %d: want %s/%q, got %s/%q  (landing %q, referrer %q)",
				r.line, r.medium, r.source, got.Medium, got.Source, r.landing, r.referrer)
		}
	}
	keys := make([]string, 0, len(per))
	for k := range per {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(b) }
	t.Logf("%-13s %5s %9s %9s", "medium", "rows", "medium%", "source%")
	for _, k := range keys {
		tl := per[k]
		t.Logf("%-13s %5d %8.1f%% %8.1f%%", k, tl.n, pct(tl.medium, tl.n), pct(tl.source, tl.n))
	}
	t.Logf("%-13s %5d %8.1f%% %8.1f%%", "overall", all.n, pct(all.medium, all.n), pct(all.source, all.n))
	if m := pct(all.medium, all.n); m < 97 {
		t.Errorf("overall medium accuracy %.1f%% < 97%%", m)
	}
	if s := pct(all.source, all.n); s < 95 {
		t.Errorf("overall source accuracy %.1f%% < 95%%", s)
	}
	// The set is classified entirely right; a change that gets a row
	// wrong must fix the row's rule or say why the label changed.
	if all.medium != all.n || all.source != all.n {
		t.Errorf("%d of %d rows with the wrong medium, %d with the wrong source", all.n-all.medium, all.n, all.n-all.source)
	}
}
