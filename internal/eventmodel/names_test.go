package eventmodel

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The doc and the Go names are the same contract: neither may name something
// the other does not.
func TestDocumentationMatchesNames(t *testing.T) {
	raw, err := os.ReadFile("../../docs/event-model.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)

	row := regexp.MustCompile("(?m)^\\| `([^`]+)` +\\|")
	section := func(title string) []string {
		start := strings.Index(doc, "\n## "+title+"\n")
		if start < 0 {
			t.Fatalf("docs/event-model.md has no section %q", title)
		}
		rest := doc[start+len(title)+5:]
		if end := strings.Index(rest, "\n## "); end >= 0 {
			rest = rest[:end]
		}
		var names []string
		for _, m := range row.FindAllStringSubmatch(rest, -1) {
			names = append(names, m[1])
		}
		return names
	}

	check := func(kind string, documented, declared []string) {
		for _, n := range declared {
			if !slices.Contains(documented, n) {
				t.Errorf("%s %q is declared in eventmodel but not documented in docs/event-model.md", kind, n)
			}
		}
		for _, n := range documented {
			if !slices.Contains(declared, n) {
				t.Errorf("%s %q is documented in docs/event-model.md but not declared in eventmodel", kind, n)
			}
		}
	}
	check("event name", section("Event names"), EventNames)
	check("attribute", section("Attributes"), AttributeNames)
	check("postback ledger field", section("Postback ledger"), PostbackFields)

	if !strings.Contains(doc, "# The webjourney event model — version 1\n") {
		t.Errorf("docs/event-model.md title must carry version %d", SchemaVersion)
	}
}

func TestNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range append(slices.Clone(AttributeNames), EventNames...) {
		if seen[n] {
			t.Errorf("%q declared twice", n)
		}
		seen[n] = true
	}
}

// Elasticsearch maps dotted names to objects, so no attribute may be a
// prefix (at a dot) of another: "a.b" as a value and "a.b.c" cannot coexist.
func TestNoNameIsAnObjectOfAnother(t *testing.T) {
	for _, a := range AttributeNames {
		for _, b := range AttributeNames {
			if strings.HasPrefix(b, a+".") {
				t.Errorf("%q is a prefix of %q; Elasticsearch cannot map both", a, b)
			}
		}
	}
}

func TestClickIDs(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range ClickIDs {
		if c.Param == "" || c.Param != strings.ToLower(c.Param) || c.Source == "" {
			t.Errorf("%+v: a click id needs a lower-case parameter and a source", c)
		}
		if c.Medium != MediumPaid && c.Medium != MediumSocial {
			t.Errorf("%+v: medium must be paid or social", c)
		}
		if seen[c.Param] {
			t.Errorf("%q listed twice", c.Param)
		}
		seen[c.Param] = true
		if got, ok := LookupClickID(strings.ToUpper(c.Param)); !ok || got != c {
			t.Errorf("LookupClickID(%q) = %+v, %v", strings.ToUpper(c.Param), got, ok)
		}
	}
	if _, ok := LookupClickID("utm_source"); ok {
		t.Error("utm_source is not a click id")
	}
}

func TestIsPageView(t *testing.T) {
	pages := map[string]bool{EventPageView: true, EventSiteSearch: true}
	for _, name := range EventNames {
		if got, want := IsPageView(name), pages[name]; got != want {
			t.Errorf("IsPageView(%q) = %v, want %v", name, got, want)
		}
	}
}
