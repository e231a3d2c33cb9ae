// Package consentgate decides whether a conversion may be disclosed to a
// referral partner, from the consent of the converting visitor as the
// credit record carries it (the consent processor's decision and the
// signals it decided on). A postback is a disclosure to a third party:
// it needs marketing consent, given by the visitor, and nothing less. So
// every rule here is stricter than measurement's: legitimate interest
// never counts, an anonymous, cookieless or CNIL-exempt event never
// qualifies, and a missing signal is a no.
package consentgate // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/consentgate"

import (
	"github.com/prebid/go-gdpr/consentconstants"
	vendorconsent "github.com/prebid/go-gdpr/vendorconsent/tcf2"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Reasons a postback is not allowed.
const (
	NoConsent          = "no_consent"           // no consent decision on the record: the consent processor did not run
	Anonymous          = "anonymous"            // decided anonymous (no consent, or cookieless)
	CNILExemption      = "cnil_exemption"       // kept only for audience measurement, never shared
	MarketingDenied    = "marketing_denied"     // the visitor denied marketing
	NoMarketingConsent = "no_marketing_consent" // no TCF and no marketing grant from the tag
	GPC                = "gpc"                  // Global Privacy Control, configured as a denial
	DNT                = "dnt"                  // Do-Not-Track, configured as a denial
	TCFMissing         = "tcf_missing"          // GDPR applies and there is no TC string
	TCFInvalid         = "tcf_invalid"          // the TC string does not decode, or is older than TCF v2.2
	TCFPurposes        = "tcf_purposes"         // a required purpose has no consent
	TCFVendor          = "tcf_vendor"           // the partner's IAB vendor has no consent
)

// Reasons lists every reason, for the telemetry enum and its test.
var Reasons = []string{NoConsent, Anonymous, CNILExemption, MarketingDenied, NoMarketingConsent, GPC, DNT, TCFMissing, TCFInvalid, TCFPurposes, TCFVendor}

// DefaultPurposes are TCF purposes 1 (store and access information on a
// device: the partner's click id lives in a cookie) and 7 (measure
// advertising performance: what a postback is for).
var DefaultPurposes = []uint8{1, 7}

// minPolicyVersion is TCF v2.2.
const minPolicyVersion = 4

// Rules are what one partner's postbacks require.
type Rules struct {
	Purposes  []uint8 // every one needs consent
	VendorID  uint16  // the partner's IAB vendor id; 0 if it has none
	DenyOnGPC bool
	DenyOnDNT bool
}

// Signals are what the credit record carries about the visitor's consent.
type Signals struct {
	Decision, Reason, Marketing string
	GPC, DNT                    bool
	// GDPRApplies is nil when the event did not say.
	GDPRApplies *bool
	TCString    string
}

// Decide returns "" when the postback is allowed, else the reason it is not.
func Decide(s Signals, r Rules) string {
	switch {
	case s.Decision == "":
		return NoConsent
	case s.Decision != eventmodel.DecisionKeep:
		return Anonymous
	case s.Reason == eventmodel.ConsentReasonCNILExemption:
		return CNILExemption
	case s.GPC && r.DenyOnGPC:
		return GPC
	case s.DNT && r.DenyOnDNT:
		return DNT
	case s.Marketing == eventmodel.ConsentDenied || s.Reason == eventmodel.ConsentReasonMarketingDenied:
		return MarketingDenied
	}
	tcfApplies := s.TCString != "" && (s.GDPRApplies == nil || *s.GDPRApplies) || s.GDPRApplies != nil && *s.GDPRApplies
	if tcfApplies {
		if s.TCString == "" {
			return TCFMissing
		}
		return tcf(s.TCString, r)
	}
	if s.Marketing != eventmodel.ConsentGranted {
		return NoMarketingConsent
	}
	return ""
}

// tcf checks a TC string: every purpose by consent (a disclosure never
// rests on legitimate interest), purpose 1 disclosed, and the vendor's
// consent within the publisher's restrictions for it.
func tcf(s string, r Rules) (reason string) {
	defer func() {
		if recover() != nil { // go-gdpr panics on some malformed strings (prebid/go-gdpr#40)
			reason = TCFInvalid
		}
	}()
	vc, err := vendorconsent.ParseString(s)
	if err != nil {
		return TCFInvalid
	}
	core, ok := vc.(interface {
		TCFPolicyVersion() uint8
		PurposeOneTreatment() bool
		CheckPubRestriction(purposeID uint8, restrictType uint8, vendor uint16) bool
	})
	if !ok || vc.Version() != 2 || core.TCFPolicyVersion() < minPolicyVersion {
		return TCFInvalid
	}
	for _, p := range r.Purposes {
		if p < 1 || p > 24 || !vc.PurposeAllowed(consentconstants.Purpose(p)) || p == 1 && core.PurposeOneTreatment() {
			return TCFPurposes
		}
	}
	if r.VendorID != 0 {
		if !vc.VendorConsent(r.VendorID) {
			return TCFVendor
		}
		for _, p := range r.Purposes {
			// Restriction types 0 (not allowed) and 2 (legitimate interest only).
			if core.CheckPubRestriction(p, 0, r.VendorID) || core.CheckPubRestriction(p, 2, r.VendorID) {
				return TCFVendor
			}
		}
	}
	return ""
}
