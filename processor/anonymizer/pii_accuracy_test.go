package anonymizer

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadata"
)

// piiRow is one row of testdata/pii_surfaces.tsv (its header says what
// the columns hold).
type piiRow struct {
	surface, label, core, value string
}

func readPIIRows(t *testing.T) []piiRow {
	t.Helper()
	f, err := os.Open("testdata/pii_surfaces.tsv")
	require.NoError(t, err)
	defer f.Close()
	var rows []piiRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, "\t")
		require.Len(t, fs, 4, line)
		rows = append(rows, piiRow{fs[0], fs[1], fs[2], fs[3]})
	}
	require.NoError(t, sc.Err())
	return rows
}

// putURL writes a URL and its parts the way the pixel receiver does.
func putURL(t *testing.T, a pcommon.Map, full, path, query, fragment, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err, raw)
	a.PutStr(full, raw)
	if path != "" {
		a.PutStr(path, u.Path)
	}
	if query != "" && u.RawQuery != "" {
		a.PutStr(query, u.RawQuery)
	}
	if fragment != "" && u.Fragment != "" {
		a.PutStr(fragment, u.Fragment)
	}
}

// piiEvent is a kept page view carrying the row's value in its surface.
func piiEvent(t *testing.T, r piiRow) pcommon.Map {
	t.Helper()
	a := pcommon.NewMap()
	a.PutStr(eventmodel.AttrSiteID, "shop")
	a.PutStr(eventmodel.AttrConsentDecision, eventmodel.DecisionKeep)
	switch r.surface {
	case "url_path", "query_value", "fragment", "query_key":
		putURL(t, a, eventmodel.AttrURLFull, eventmodel.AttrURLPath, eventmodel.AttrURLQuery, eventmodel.AttrURLFragment, r.value)
	default:
		putURL(t, a, eventmodel.AttrURLFull, eventmodel.AttrURLPath, "", "", "https://shop.example/")
	}
	key, value, _ := strings.Cut(r.value, "=")
	switch r.surface {
	case "referrer":
		putURL(t, a, eventmodel.AttrReferrerFull, eventmodel.AttrReferrerPath, eventmodel.AttrReferrerQuery, "", r.value)
	case "link_url":
		a.PutStr(eventmodel.AttrLinkURL, r.value)
	case "title":
		a.PutStr(eventmodel.AttrPageTitle, r.value)
	case "search_term":
		a.PutStr(eventmodel.AttrSearchTerm, r.value)
	case "custom_name":
		a.PutStr(eventmodel.AttrCustomName, r.value)
	case "campaign":
		a.PutStr(eventmodel.AttrCampaignName, r.value)
	case "form_id":
		a.PutStr(eventmodel.AttrFormID, r.value)
	case "form_name":
		a.PutStr(eventmodel.AttrFormName, r.value)
	case "property_value":
		a.PutEmptyMap(eventmodel.AttrProperties).PutStr("note", r.value)
	case "property_key":
		a.PutEmptyMap(eventmodel.AttrProperties).PutStr(key, value)
	case "otlp_attribute":
		a.PutStr(key, value)
	}
	return a
}

// leaks reports whether s still holds the core, in clear, encoded or, for
// numbers, as its digits.
func leaks(label, core, s string) bool {
	for _, f := range []string{core, url.QueryEscape(core), url.PathEscape(core), strings.ReplaceAll(core, " ", "+")} {
		if strings.Contains(s, f) {
			return true
		}
	}
	switch label {
	case "phone", "card", "iban":
		d := digitsOf(core)
		return len(d) >= 7 && strings.Contains(digitsOf(s), d[1:])
	}
	return false
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// tally counts, for one surface or detector, the canaries found and
// missed and the look-alikes changed.
type tally struct {
	canaries, found   int
	lookalikes, false int
}

func (t *tally) recall() float64    { return pct(t.found, t.canaries) }
func (t *tally) fpRate() float64    { return pct(t.false, t.lookalikes) }
func (t *tally) precision() float64 { return pct(t.found, t.found+t.false) }

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// detectorOf names what the built-in lists call each label's detector.
var detectorOf = map[string][]string{
	"email": {"email"}, "phone": {"phone"}, "card": {"card"}, "iban": {"iban"}, "jwt": {"jwt"}, "token": {"token"},
	"name_key": {"param", "form_value"},
}

// TestPIIAccuracy runs every row of the labelled set through the
// anonymizer and measures, per surface and per detector, how many
// canaries are removed (recall) and how many look-alikes are changed
// (false positives). Recall must be 100 % everywhere and the false
// positive rate at most 1 %; the table must match docs/benchmarks.md
// (regenerate it with WEBJOURNEY_UPDATE_DOCS=1).
func TestPIIAccuracy(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	p, err := newAnonymizer(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.shutdown(context.Background())) })

	rows := readPIIRows(t)
	require.GreaterOrEqual(t, len(rows), 1000)
	surfaces, detectors := map[string]*tally{}, map[string]*tally{}
	get := func(m map[string]*tally, k string) *tally {
		if m[k] == nil {
			m[k] = &tally{}
		}
		return m[k]
	}
	var all tally
	for _, r := range rows {
		in := piiEvent(t, r)
		before := in.AsRaw()
		out := pcommon.NewMap()
		in.CopyTo(out)
		var counts counter
		require.NoError(t, p.processRecord(context.Background(), out, 0, &counts))
		after := out.AsRaw()
		st := get(surfaces, r.surface)
		if r.label == "none" {
			st.lookalikes++
			all.lookalikes++
			changed := fmt.Sprint(before) != fmt.Sprint(after)
			for d := range counts {
				get(detectors, labelOf(d)).false++
				changed = true
			}
			if changed {
				st.false++
				all.false++
				t.Logf("false positive %-14s %q: %v -> %v (%v)", r.surface, r.core, before, after, counts)
			}
			continue
		}
		st.canaries++
		all.canaries++
		leaked := leaks(r.label, r.core, fmt.Sprint(after))
		// Removed by its detector, or with the field whose name says what
		// it holds (a fragment "phone=…" goes as a parameter).
		hit := counts["param"] > 0 || counts["form_value"] > 0
		for _, d := range detectorOf[r.label] {
			hit = hit || counts[d] > 0
		}
		dt := get(detectors, r.label)
		dt.canaries++
		if !leaked {
			st.found++
			all.found++
		}
		if !leaked && hit {
			dt.found++
		}
		if leaked || !hit {
			t.Logf("missed %-14s %-8s %q: %v (redactions %v)", r.surface, r.label, r.core, after, counts)
		}
	}

	table := accuracyTable(surfaces, detectors, &all)
	t.Log("\n" + table)
	for name, s := range surfaces {
		require.Equalf(t, 100.0, s.recall(), "recall in %s", name)
	}
	for _, d := range []string{"email", "phone", "card", "iban", "jwt", "token", "name_key"} {
		require.Equalf(t, 100.0, detectors[d].recall(), "recall of %s", d)
	}
	require.LessOrEqual(t, all.fpRate(), 1.0, "false positives on look-alikes")
	checkDocTable(t, "pii-accuracy", table)
}

// labelOf is the label a redaction counter's detector finds.
func labelOf(detector string) string {
	for label, ds := range detectorOf {
		if slices.Contains(ds, detector) {
			return label
		}
	}
	return detector
}

// accuracyTable renders the measurements as the Markdown tables of
// docs/benchmarks.md.
func accuracyTable(surfaces, detectors map[string]*tally, all *tally) string {
	var b strings.Builder
	b.WriteString("| Surface | Canaries | Removed | Recall | Look-alikes | Changed | False positives |\n")
	b.WriteString("| ------- | -------: | ------: | -----: | ----------: | ------: | --------------: |\n")
	names := make([]string, 0, len(surfaces))
	for n := range surfaces {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := surfaces[n]
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f %% | %d | %d | %.1f %% |\n", n, s.canaries, s.found, s.recall(), s.lookalikes, s.false, s.fpRate())
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | %.1f %% | %d | %d | %.1f %% |\n\n", all.canaries, all.found, all.recall(), all.lookalikes, all.false, all.fpRate())
	b.WriteString("| Detector | Canaries | Removed by it (or by the field's name) | Recall | False positives (look-alikes it changed) | Precision |\n")
	b.WriteString("| -------- | -------: | -------------------------------------: | -----: | ---------------------------------------: | --------: |\n")
	for _, d := range []string{"email", "phone", "card", "iban", "jwt", "token", "name_key"} {
		dt := detectors[d]
		if dt == nil {
			dt = &tally{}
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f %% | %d | %.1f %% |\n", d, dt.canaries, dt.found, dt.recall(), dt.false, dt.precision())
	}
	return b.String()
}

// checkDocTable compares a generated table with the block between
// "<!-- name -->" and "<!-- end name -->" in docs/benchmarks.md, or
// rewrites the block with WEBJOURNEY_UPDATE_DOCS=1.
func checkDocTable(t *testing.T, name, table string) {
	t.Helper()
	const path = "../../docs/benchmarks.md"
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(raw)
	open, end := "<!-- "+name+" -->\n", "<!-- end "+name+" -->"
	i, j := strings.Index(doc, open), strings.Index(doc, end)
	require.True(t, i >= 0 && j > i, "docs/benchmarks.md has no %q block", name)
	if os.Getenv("WEBJOURNEY_UPDATE_DOCS") == "1" {
		doc = doc[:i+len(open)] + table + doc[j:]
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
		return
	}
	require.Equal(t, table, doc[i+len(open):j],
		"docs/benchmarks.md is not what the labelled set measures; a change in detection must show there (WEBJOURNEY_UPDATE_DOCS=1 go test -run TestPIIAccuracy)")
}
