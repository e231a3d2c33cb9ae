// Package tcf decides what an IAB Transparency and Consent Framework v2.2
// TC string allows a first-party analytics controller to do: store an
// identifier on the device (purpose 1) and measure (the configured
// purposes among 7, 8, 9 and 10), on the legal basis the string and its
// publisher restrictions allow.
//
// The core segment is parsed with github.com/prebid/go-gdpr; the
// publisher TC segment, which go-gdpr does not read, is parsed here.
package tcf

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/prebid/go-gdpr/api"
	"github.com/prebid/go-gdpr/consentconstants"
	vendorconsent "github.com/prebid/go-gdpr/vendorconsent/tcf2"
)

// StoragePurpose is TCF purpose 1, "store and/or access information on a
// device": a cookie or any other identifier kept on the device needs it.
const StoragePurpose = 1

// MeasurementPurposes are the purposes a site may require for measurement:
// 7 measure advertising performance, 8 measure content performance,
// 9 understand audiences through statistics, 10 develop and improve services.
var MeasurementPurposes = []uint8{7, 8, 9, 10}

// Publisher restriction types (TCF v2 core segment).
const (
	restrictionNotAllowed     = 0
	restrictionRequireConsent = 1
	restrictionRequireLI      = 2
)

// Rules say whose permission counts.
type Rules struct {
	// VendorID, when not 0, is the vendor id the site's analytics is
	// registered under: the vendor must have consent (or legitimate
	// interest) too, within the publisher restrictions for it.
	VendorID uint16
	// PublisherPurposes decides on the publisher TC segment (the
	// publisher's own purposes) instead of the core segment's purposes. A
	// string without that segment then allows nothing.
	PublisherPurposes bool
	// Purposes are the measurement purposes that must all be allowed.
	Purposes []uint8
	// MinPolicyVersion is the oldest TCF policy version accepted; strings
	// made under an older policy count as no consent. TCF v2.2 is 4.
	MinPolicyVersion uint8
}

// Basis values of Result.Basis.
const (
	BasisConsent            = "consent"
	BasisLegitimateInterest = "legitimate_interest"
)

// Invalid values of Result.Invalid.
const (
	InvalidMalformed     = "malformed"      // not a decodable TCF v2 string
	InvalidPolicyVersion = "policy_version" // made under a policy older than Rules.MinPolicyVersion
)

// Result is what a TC string allows under Rules.
type Result struct {
	// Invalid is "" for a string that was decoded and accepted, else why
	// not (Invalid* values). An invalid string allows nothing.
	Invalid string
	// Storage: purpose 1 has consent (the only basis TCF allows for it),
	// and purpose 1 was disclosed (no "purpose one treatment").
	Storage bool
	// Measurement: every one of Rules.Purposes is allowed.
	Measurement bool
	// Basis is BasisLegitimateInterest when any measurement purpose is
	// allowed only by legitimate interest, BasisConsent when all have
	// consent, "" when Measurement is false.
	Basis string
}

// Evaluate decides on one TC string. It never panics, whatever the input.
func Evaluate(s string, r Rules) (res Result) {
	defer func() {
		if recover() != nil { // a decoder bug must not take the pipeline down
			res = Result{Invalid: InvalidMalformed}
		}
	}()
	core, pub, err := parse(s, r.PublisherPurposes)
	if err != nil {
		return Result{Invalid: InvalidMalformed}
	}
	if core.Version() != 2 {
		return Result{Invalid: InvalidMalformed}
	}
	if core.TCFPolicyVersion() < r.MinPolicyVersion {
		return Result{Invalid: InvalidPolicyVersion}
	}
	p := permissions{core: core, pub: pub, rules: &r}
	res.Storage = !core.PurposeOneTreatment() && p.consent(StoragePurpose)
	res.Measurement, res.Basis = true, BasisConsent
	for _, purpose := range r.Purposes {
		switch {
		case p.consent(purpose):
		case p.legitimateInterest(purpose):
			res.Basis = BasisLegitimateInterest
		default:
			res.Measurement, res.Basis = false, ""
			return res
		}
	}
	return res
}

// permissions answers per purpose for one string and one set of rules.
type permissions struct {
	core  coreSegment
	pub   *publisherSegment // nil unless Rules.PublisherPurposes
	rules *Rules
}

// coreSegment is the part of go-gdpr's tcf2 ConsentMetadata used here;
// its api.VendorConsents interface lacks the TCF v2 methods.
type coreSegment interface {
	api.VendorConsents
	PurposeOneTreatment() bool
	PurposeLITransparency(id consentconstants.Purpose) bool
	VendorLegitInterest(id uint16) bool
	CheckPubRestriction(purposeID uint8, restrictType uint8, vendor uint16) bool
}

func (p permissions) consent(purpose uint8) bool {
	if purpose < 1 || purpose > 24 {
		return false // go-gdpr reads other fields for ids outside 1-24
	}
	if p.rules.PublisherPurposes {
		if p.pub == nil || !p.pub.consent(purpose) {
			return false
		}
	} else if !p.core.PurposeAllowed(consentconstants.Purpose(purpose)) {
		return false
	}
	if v := p.rules.VendorID; v != 0 {
		c := p.core
		if c.CheckPubRestriction(purpose, restrictionNotAllowed, v) || c.CheckPubRestriction(purpose, restrictionRequireLI, v) {
			return false
		}
		return p.core.VendorConsent(v)
	}
	return true
}

func (p permissions) legitimateInterest(purpose uint8) bool {
	if !LegitimateInterestAllowed(purpose) || purpose > 24 {
		return false
	}
	c := p.core
	if p.rules.PublisherPurposes {
		if p.pub == nil || !p.pub.legitimateInterest(purpose) {
			return false
		}
	} else if !c.PurposeLITransparency(consentconstants.Purpose(purpose)) {
		return false
	}
	if v := p.rules.VendorID; v != 0 {
		if c.CheckPubRestriction(purpose, restrictionNotAllowed, v) || c.CheckPubRestriction(purpose, restrictionRequireConsent, v) {
			return false
		}
		return c.VendorLegitInterest(v)
	}
	return true
}

// LegitimateInterestAllowed reports whether TCF v2.2 lets a purpose rest on
// legitimate interest: never purpose 1, nor the personalisation purposes
// 3 to 6 (policy change of v2.2).
func LegitimateInterestAllowed(purpose uint8) bool {
	return purpose == 2 || purpose >= 7
}

var errSegment = errors.New("tcf: malformed segment")

// parse decodes the core segment and, when asked, the publisher TC segment.
func parse(s string, wantPublisher bool) (coreSegment, *publisherSegment, error) {
	vc, err := vendorconsent.ParseString(s)
	if err != nil {
		return nil, nil, err
	}
	core, ok := vc.(coreSegment)
	if !ok {
		return nil, nil, fmt.Errorf("tcf: unexpected core segment type %T", vc)
	}
	if !wantPublisher {
		return core, nil, nil
	}
	segs := strings.Split(s, ".")
	for _, seg := range segs[1:] {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
		if err != nil || len(b) == 0 {
			return nil, nil, errSegment
		}
		if b[0]>>5 == segmentPublisherTC {
			pub, err := parsePublisherSegment(b)
			if err != nil {
				return nil, nil, err
			}
			return core, pub, nil
		}
	}
	return core, nil, nil
}

const segmentPublisherTC = 3

// publisherSegment is the publisher TC segment: the publisher's own
// purposes, consent and legitimate-interest transparency, 24 bits each.
type publisherSegment struct {
	consents, interests uint32
}

// parsePublisherSegment reads SegmentType(3) PubPurposesConsent(24)
// PubPurposesLITransparency(24) NumCustomPurposes(6) and then custom
// purposes, which the checks here do not need.
func parsePublisherSegment(b []byte) (*publisherSegment, error) {
	const need = 3 + 24 + 24 + 6
	if len(b)*8 < need {
		return nil, fmt.Errorf("tcf: publisher segment has %d bits, needs %d", len(b)*8, need)
	}
	return &publisherSegment{consents: bits(b, 3, 24), interests: bits(b, 27, 24)}, nil
}

// bits reads n ≤ 32 bits, most significant first, from bit offset off.
func bits(b []byte, off, n int) uint32 {
	var v uint32
	for i := off; i < off+n; i++ {
		v = v<<1 | uint32(b[i/8]>>(7-i%8)&1)
	}
	return v
}

func (p *publisherSegment) consent(purpose uint8) bool { return bit24(p.consents, purpose) }
func (p *publisherSegment) legitimateInterest(purpose uint8) bool {
	return bit24(p.interests, purpose)
}

// bit24 reports purpose n (1-24) of a 24-bit field whose first bit is purpose 1.
func bit24(field uint32, purpose uint8) bool {
	return purpose >= 1 && purpose <= 24 && field>>(24-uint32(purpose))&1 == 1
}
