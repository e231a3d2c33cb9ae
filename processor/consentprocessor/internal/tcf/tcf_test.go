package tcf

import (
	"strings"
	"testing"

	vendorconsent "github.com/prebid/go-gdpr/vendorconsent/tcf2"
)

// TC strings encoded by @iabtcf/core 1.5.6 with the synthetic GVL of
// testdata/vectors.mjs (the scenario names there); TestIABVectors checks
// them against the encoder's inputs.
const (
	// consent-all: consent for purposes 1-11, vendors 10, 20, 30, 45 and
	// 777 (range-encoded), publisher TC segment with nothing set.
	tcConsentAll = "CP4bJcAP4bJcAEsACBENBoEgAP_gAAAAAAYgGEwBQAFAAUAA8AC0BhIAAAAA.YAAAAAAAAAAA"
	// publisher-segment-mixed: no core purposes; publisher consent for 1,
	// 7, 8 and LI for 9, 10; vendor consent 10 and 20, vendor LI 20.
	tcPublisherMixed = "CP4bJcAP4bJcAEsACBENBoEgAAAAAAAAAAYgAKABAEAFAAACAAAA.cGAAABgAAAAA"
	// restrictions-for-other-vendors-only: consent 1-11, LI 2 and 7-10,
	// vendor consent 10, 20, 30, 777 and LI 20, 30, 777, four publisher
	// restrictions (none for vendor 10).
	tcRestrictions = "CP4bJcAP4bJcAEsACBENBoEgAP_gAEPAAAYgGEwBAAFAAUAA8AwkDCYAYAFAAPAMJAEIAAgAKAMJJgAgAPAMJKQAQAKAgAIAHgAA.YAAAAAAAAAAA"
	// global-for-vendors-all-segments: core, vendors disclosed, vendors
	// allowed and publisher TC segments.
	tcAllSegments = "CP4bJcAP4bJcAEsACBENBoEAAIEAAAAAAAYgAFABAAAAAAAA.IGEwBwAFQAUABUADwAKAAWgA8AYS.QAKABAEA.cBgAACAAAAAA"
	// tcfV1 is a TCF v1.1 consent string (version 1, starts with "B").
	tcfV1 = "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"
)

var measurementAll = []uint8{7, 8, 9, 10}

func TestEvaluateMalformed(t *testing.T) {
	core := strings.SplitN(tcConsentAll, ".", 2)[0]
	// version 3: the first 6 bits 000011 ("D") instead of 000010 ("C").
	version3 := "D" + core[1:]
	consentAll := Result{Storage: true, Measurement: true, Basis: BasisConsent}
	malformed := Result{Invalid: InvalidMalformed}
	nothing := Result{}

	tests := []struct {
		name string
		s    string
		pub  bool
		want Result
	}{
		{"empty", "", false, malformed},
		{"empty publisher rules", "", true, malformed},
		{"garbage", "not a tc string", false, malformed},
		{"bad base64", "CP4b$cAP4bJcAEsACBENBoEgAP_gAAAAAAYgGEwBQAFAAUAA8AC0BhIAAAAA", false, malformed},
		{"standard base64 alphabet", strings.ReplaceAll(core, "_", "/"), false, malformed},
		{"padded base64", core + "==", false, malformed},
		{"only a separator", ".", false, malformed},
		{"only a publisher segment", ".YAAAAAAAAAAA", true, malformed},
		{"truncated metadata", core[:20], false, malformed},
		{"truncated before vendor section", core[:38], false, malformed},
		{"truncated vendor section", core[:len(core)-12], false, malformed},
		{"truncated restriction count", core[:len(core)-4], false, malformed},
		{"tcf v1 string", tcfV1, false, malformed},
		{"version 3", version3, false, malformed},
		{"vendor list version 0", core[:20] + "AA" + core[22:], false, malformed},
		// go-gdpr panics on this one (prebid/go-gdpr#40); found by FuzzEvaluate.
		{"go-gdpr panic", "00000000000000000000000000000000000AANA0000000", false, malformed},

		{"broken publisher segment, publisher rules", core + ".!!!!", true, malformed},
		{"broken publisher segment, core rules", core + ".!!!!", false, consentAll},
		{"short publisher segment, publisher rules", core + ".YAAA", true, malformed},
		{"short publisher segment, core rules", core + ".YAAA", false, consentAll},
		{"empty segment, publisher rules", core + ".", true, malformed},
		{"empty segment, core rules", core + ".", false, consentAll},
		{"valid publisher segment, publisher rules", tcConsentAll, true, nothing},
		{"no publisher segment, publisher rules", core, true, nothing},
		{"other segments only, publisher rules", core + ".IGEwBwAFQAUABUADwAKAAWgA8AYS", true, nothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rules{PublisherPurposes: tt.pub, Purposes: measurementAll}
			if got := Evaluate(tt.s, r); got != tt.want {
				t.Errorf("Evaluate(%q, %+v) = %+v, want %+v", tt.s, r, got, tt.want)
			}
		})
	}
}

// TestEvaluateTruncations cuts real strings at every length: no cut may
// panic or give an inconsistent result.
func TestEvaluateTruncations(t *testing.T) {
	for _, s := range []string{tcConsentAll, tcPublisherMixed, tcRestrictions, tcAllSegments} {
		for n := 0; n < len(s); n++ {
			for _, r := range []Rules{
				{Purposes: measurementAll},
				{VendorID: 20, PublisherPurposes: true, Purposes: measurementAll, MinPolicyVersion: 4},
			} {
				checkResult(t, s[:n], r, Evaluate(s[:n], r))
			}
		}
	}
}

func TestEvaluateValid(t *testing.T) {
	tests := []struct {
		name string
		s    string
		r    Rules
		want Result
	}{
		{"all consent", tcConsentAll, Rules{Purposes: measurementAll, MinPolicyVersion: 4},
			Result{Storage: true, Measurement: true, Basis: BasisConsent}},
		{"policy version too old", tcConsentAll, Rules{Purposes: measurementAll, MinPolicyVersion: 5},
			Result{Invalid: InvalidPolicyVersion}},
		{"no purposes required", tcConsentAll, Rules{},
			Result{Storage: true, Measurement: true, Basis: BasisConsent}},
		{"vendor without consent", tcConsentAll, Rules{VendorID: 40, Purposes: []uint8{8}},
			Result{}},
		{"publisher purposes", tcPublisherMixed, Rules{PublisherPurposes: true, Purposes: measurementAll},
			Result{Storage: true, Measurement: true, Basis: BasisLegitimateInterest}},
		{"publisher purposes, core rules", tcPublisherMixed, Rules{Purposes: measurementAll},
			Result{}},
		{"restriction for another vendor", tcRestrictions, Rules{VendorID: 10, Purposes: measurementAll},
			Result{Storage: true, Measurement: true, Basis: BasisConsent}},
		{"not allowed for the vendor", tcRestrictions, Rules{VendorID: 20, Purposes: measurementAll},
			Result{Storage: true}},
		{"all segments", tcAllSegments, Rules{PublisherPurposes: true, Purposes: []uint8{8, 9, 10}},
			Result{Storage: true, Measurement: true, Basis: BasisLegitimateInterest}},
		{"purpose above 24", tcConsentAll, Rules{Purposes: []uint8{25}}, Result{Storage: true}},
		{"purpose 255", tcPublisherMixed, Rules{PublisherPurposes: true, Purposes: []uint8{255}}, Result{Storage: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.s, tt.r); got != tt.want {
				t.Errorf("Evaluate(%q, %+v) = %+v, want %+v", tt.s, tt.r, got, tt.want)
			}
		})
	}
}

func TestLegitimateInterestAllowed(t *testing.T) {
	for p := 0; p <= 255; p++ {
		want := p == 2 || p >= 7
		if got := LegitimateInterestAllowed(uint8(p)); got != want {
			t.Errorf("LegitimateInterestAllowed(%d) = %v, want %v", p, got, want)
		}
	}
}

// checkResult checks what holds for every result.
func checkResult(t *testing.T, s string, r Rules, res Result) {
	t.Helper()
	switch res.Invalid {
	case "":
	case InvalidMalformed, InvalidPolicyVersion:
		if res != (Result{Invalid: res.Invalid}) {
			t.Fatalf("Evaluate(%q, %+v) = %+v: an invalid string must allow nothing", s, r, res)
		}
	default:
		t.Fatalf("Evaluate(%q, %+v) = %+v: unknown Invalid", s, r, res)
	}
	switch {
	case !res.Measurement && res.Basis != "":
		t.Fatalf("Evaluate(%q, %+v) = %+v: basis without measurement", s, r, res)
	case res.Measurement && res.Basis != BasisConsent && res.Basis != BasisLegitimateInterest:
		t.Fatalf("Evaluate(%q, %+v) = %+v: measurement without a basis", s, r, res)
	}
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{
		tcConsentAll, tcPublisherMixed, tcRestrictions, tcAllSegments, tcfV1,
		"", ".", "..", "C", "CAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		strings.SplitN(tcRestrictions, ".", 2)[0] + ".YA", "garbage!", "\x00\xff",
	} {
		f.Add(s, uint16(0), false, []byte{7, 8, 9, 10}, uint8(0))
		f.Add(s, uint16(20), true, []byte{8}, uint8(4))
	}
	f.Add(tcRestrictions, uint16(777), false, []byte{9, 10}, uint8(2))
	f.Add(tcConsentAll, uint16(65535), true, []byte{0, 1, 24, 25, 255}, uint8(255))

	f.Fuzz(func(t *testing.T, s string, vendor uint16, pub bool, purposes []byte, minPolicy uint8) {
		if len(purposes) > 8 {
			purposes = purposes[:8]
		}
		r := Rules{VendorID: vendor, PublisherPurposes: pub, Purposes: purposes, MinPolicyVersion: minPolicy}
		res := Evaluate(s, r)
		checkResult(t, s, r, res)

		// Evaluate recovers from panics and calls the string malformed,
		// which would hide a bug: decode again without recover (a panic
		// fails the fuzz run) and check that Evaluate calls the string
		// malformed exactly when it cannot be decoded. The one tolerated
		// panic is go-gdpr's own on some truncated core segments
		// (prebid/go-gdpr#40, testdata/fuzz/FuzzEvaluate/6df89dbe28357032),
		// which Evaluate must turn into "malformed".
		if goGDPRPanics(s) {
			if res.Invalid != InvalidMalformed {
				t.Fatalf("Evaluate(%q, %+v) = %+v, but go-gdpr panics on it", s, r, res)
			}
			return
		}
		core, pubSeg, err := parse(s, pub)
		decoded := err == nil && core.Version() == 2
		if malformed := res.Invalid == InvalidMalformed; malformed == decoded {
			t.Fatalf("Evaluate(%q, %+v) = %+v, but decoded = %v (err %v)", s, r, res, decoded, err)
		}
		if !decoded {
			return
		}
		core.TCFPolicyVersion()
		core.PurposeOneTreatment()
		p := permissions{core: core, pub: pubSeg, rules: &r}
		for purpose := 0; purpose <= 25; purpose++ {
			p.consent(uint8(purpose))
			p.legitimateInterest(uint8(purpose))
		}
	})
}

// goGDPRPanics reports whether go-gdpr's parser panics on s.
func goGDPRPanics(s string) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	_, _ = vendorconsent.ParseString(s)
	return false
}

// BenchmarkEvaluate decides on a service-specific string with four vendors
// (range-encoded vendor sections up to vendor 777), four publisher
// restrictions and a publisher TC segment.
func BenchmarkEvaluate(b *testing.B) {
	for _, bc := range []struct {
		name string
		r    Rules
	}{
		{"core", Rules{Purposes: measurementAll, MinPolicyVersion: 4}},
		{"vendor", Rules{VendorID: 30, Purposes: measurementAll, MinPolicyVersion: 4}},
		{"vendor_publisher", Rules{VendorID: 30, PublisherPurposes: true, Purposes: measurementAll, MinPolicyVersion: 4}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(tcRestrictions, bc.r)
			}
		})
	}
}
