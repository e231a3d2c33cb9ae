package campaign

import (
	"testing"
	"unicode/utf8"
)

// FuzzFromQuery checks that any query is handled without panicking and
// yields valid, capped UTF-8 values, and that the fast path never skips a
// query that has campaign parameters.
func FuzzFromQuery(f *testing.F) {
	f.Add("utm_source=a&mtm_campaign=b&gclid=c")
	f.Add("%zz&=&&utm_source=%ff")
	f.Fuzz(func(t *testing.T, q string) {
		p := FromQuery(q)
		for _, v := range []string{p.Source, p.Medium, p.Name, p.Term, p.Content, p.ID, p.ClickIDType, p.ClickIDValue} {
			if len(v) > MaxValueLen || !utf8.ValidString(v) {
				t.Fatalf("bad value %q", v)
			}
		}
		if !p.IsZero() && !mayContainParams(q) {
			t.Fatalf("fast path would have skipped %q", q)
		}
	})
}
