package eventmodel

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// An attribute added to the model without a row in the table, or with a
// row that leaves out its type, class or writer, fails here: every stage
// derives its treatment of an attribute from that row.
func TestEveryAttributeHasARow(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "names.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "Attr") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				name, _ := strconv.Unquote(lit.Value)
				declared++
				a, ok := Lookup(name)
				if !ok {
					t.Errorf("%s (%q) has no row in Attributes: give it a type, class, stage and mapping", id.Name, name)
					continue
				}
				if a.Type == 0 || a.Class == 0 || a.SetBy == 0 {
					t.Errorf("%s (%q): type, class and stage are all required", id.Name, name)
				}
			}
		}
	}
	// The per-step funnel names are arrays, not constants.
	for _, name := range append(AttrFunnelStepAt[:], AttrFunnelStepAfter[1:]...) {
		declared++
		if _, ok := Lookup(name); !ok {
			t.Errorf("%q has no row in Attributes", name)
		}
	}
	if declared != len(Attributes) {
		t.Errorf("names.go declares %d attribute names, the table has %d rows", declared, len(Attributes))
	}
}

func TestTableRowsAreConsistent(t *testing.T) {
	for i := range Attributes {
		a := &Attributes[i]
		switch {
		case a.Class == ClassTime && a.Mapping != MapDate:
			t.Errorf("%s: a time is mapped as a date", a.Name)
		case a.Type == TypeBool && a.Stored() && a.Mapping != MapBoolean:
			t.Errorf("%s: a bool is mapped as a boolean", a.Name)
		case (a.Type == TypeInt || a.Type == TypeDouble) && a.Class != ClassNumber && a.Class != ClassPreciseGeo:
			t.Errorf("%s: a number has class number", a.Name)
		case a.Class == ClassTransport && a.Stored():
			t.Errorf("%s: a transport attribute is never stored", a.Name)
		case a.Class == ClassPreciseGeo && a.Stored():
			t.Errorf("%s: a precise location is never stored", a.Name)
		}
	}
}

// The treatment under each consent decision, spelled out for the
// attributes whose loss or leak matters most.
func TestConsentTreatments(t *testing.T) {
	anonymous := NameSet((*Attribute).RemovedWhenAnonymous)
	for _, n := range []string{AttrVisitorID, AttrSessionID, AttrUserID, AttrReferralClickID, AttrClickIDValue,
		AttrTCFString, AttrReferrerFull, AttrClientAddress, AttrUserAgent, AttrGeoLatitude, AttrGeoLongitude, AttrGeoPostalCode,
		AttrTimeSkew} {
		if !anonymous[n] {
			t.Errorf("an anonymous event must not keep %s", n)
		}
	}
	for _, n := range []string{AttrURLFull, AttrReferrerDomain, AttrGeoCountry, AttrSiteID, AttrEventID, AttrCookielessKey,
		AttrTimeSource, AttrTimeCorrection} {
		if anonymous[n] {
			t.Errorf("an anonymous event keeps %s", n)
		}
	}
	exempt := NameSet((*Attribute).RemovedUnderCNILExemption)
	for _, n := range []string{AttrUserID, AttrReferralClickID, AttrClickIDValue, AttrGeoLatitude, AttrGeoLongitude, AttrGeoPostalCode} {
		if !exempt[n] {
			t.Errorf("the CNIL exemption does not allow %s", n)
		}
	}
	if exempt[AttrVisitorID] || exempt[AttrSessionID] {
		t.Error("the CNIL exemption allows the first-party visitor and session ids")
	}
	marketing := Names((*Attribute).RemovedWithoutMarketing)
	// The ad click id and the partner's click id, pseudonymised and sealed.
	if want := []string{AttrClickIDValue, AttrReferralClickID, AttrReferralClickIDSealed}; !slices.Equal(marketing, want) {
		t.Errorf("without marketing consent exactly the click ids go (%v), got %v", want, marketing)
	}
}

// docType is how docs/event-model.md writes a type.
func docType(a *Attribute) string {
	switch a.Type {
	case TypeString:
		if a.Class == ClassTime {
			return "string (date)"
		}
		return "string"
	case TypeInt:
		return "int"
	case TypeDouble:
		return "double"
	case TypeBool:
		return "bool"
	case TypeStringSlice:
		return "string array"
	case TypeStrings:
		return "string or string array"
	case TypeMap:
		return "map of string, int, double or bool"
	}
	return "?"
}

var docClass = map[Class]string{
	ClassCode: "code", ClassNumber: "number", ClassTime: "time", ClassGeo: "geo", ClassPreciseGeo: "precise geo",
	ClassVisitorID: "visitor id", ClassUserID: "user id", ClassMarketingID: "marketing id", ClassNetwork: "network",
	ClassURL: "URL", ClassURLPath: "URL path", ClassURLQuery: "URL query", ClassText: "text",
	ClassProperties: "properties", ClassTransport: "transport",
}

// docs/event-model.md gives each attribute the type and class of its row.
func TestDocumentationMatchesTable(t *testing.T) {
	raw, err := os.ReadFile("../../docs/event-model.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| ([^|]+) \\| ([^|]+) \\|")
	seen := 0
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		a, ok := Lookup(m[1])
		if !ok {
			continue // event names and document fields; TestDocumentationMatchesNames checks them
		}
		seen++
		if got, want := strings.TrimSpace(m[2]), docType(a); got != want {
			t.Errorf("docs/event-model.md: %s has type %q, the table says %q", a.Name, got, want)
		}
		if got, want := strings.TrimSpace(m[3]), docClass[a.Class]; got != want {
			t.Errorf("docs/event-model.md: %s has class %q, the table says %q", a.Name, got, want)
		}
	}
	if seen != len(Attributes) {
		t.Errorf("docs/event-model.md documents %d of %d attributes", seen, len(Attributes))
	}
}
