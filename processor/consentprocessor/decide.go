package consentprocessor

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/tcf"
)

// Reason codes (webjourney.consent.reason and the telemetry's reason).
const (
	reasonTagGranted        = "tag_granted"
	reasonTagDenied         = "tag_denied"
	reasonTCFConsent        = "tcf_consent"
	reasonTCFLegitInterest  = "tcf_legitimate_interest"
	reasonTCFNoMeasurement  = "tcf_no_measurement"
	reasonTCFNoStorage      = "tcf_no_storage"
	reasonTCFMissing        = "tcf_missing"
	reasonTCFMalformed      = "tcf_malformed"
	reasonTCFMacro          = "tcf_unexpanded_macro"
	reasonTCFPolicyVersion  = "tcf_policy_version"
	reasonGPC               = "gpc"
	reasonDNT               = "dnt"
	reasonCookieless        = "cookieless"
	reasonMarketingDenied   = "marketing_denied"
	reasonPolicyOptIn       = "policy_opt_in"
	reasonPolicyOptOut      = "policy_opt_out"
	reasonRegionOptIn       = "region_opt_in"
	reasonRegionOptOut      = "region_opt_out"
	reasonCNILExemption     = "cnil_exemption"
	reasonIdentifyAnonymous = "identify_without_consent"
	reasonConsentWithdrawn  = "consent_withdrawn"
)

// reasons lists every reason code, for the telemetry's attribute sets
// (made once, not per batch).
var reasons = [...]string{
	reasonTagGranted, reasonTagDenied, reasonTCFConsent, reasonTCFLegitInterest,
	reasonTCFNoMeasurement, reasonTCFNoStorage, reasonTCFMissing, reasonTCFMalformed,
	reasonTCFMacro, reasonTCFPolicyVersion, reasonGPC, reasonDNT, reasonCookieless,
	reasonMarketingDenied, reasonPolicyOptIn, reasonPolicyOptOut, reasonRegionOptIn,
	reasonRegionOptOut, reasonCNILExemption, reasonIdentifyAnonymous, reasonConsentWithdrawn,
}

// Sources (webjourney.consent.source).
const (
	sourceTCF    = "tcf"
	sourceTag    = "tag"
	sourceGPC    = "gpc"
	sourceDNT    = "dnt"
	sourcePolicy = "policy"
	sourceRegion = "region"
)

// signals are the consent-relevant attributes of one event, read in one
// pass over its attributes.
type signals struct {
	event                string
	site                 string
	analytics, marketing string
	cookieless, gpc, dnt bool
	tcfApplies           int8 // -1 false, 0 absent, 1 true
	tcfString            string
	tcfStringError       string // the receiver's eventmodel.TCFStringError*
	country, region      string
	hasIDs               bool // visitor or user id present
}

func readSignals(event string, attrs pcommon.Map) signals {
	s := signals{event: event}
	for k, v := range attrs.All() {
		if !strings.HasPrefix(k, "webjourney.") {
			switch k {
			case eventmodel.AttrUserID:
				s.hasIDs = s.hasIDs || v.Str() != ""
			case eventmodel.AttrGeoCountry:
				s.country = v.Str()
			case eventmodel.AttrGeoRegion:
				s.region = v.Str()
			}
			continue
		}
		switch k {
		case eventmodel.AttrSiteID:
			s.site = v.Str()
		case eventmodel.AttrVisitorID:
			s.hasIDs = s.hasIDs || v.Str() != ""
		case eventmodel.AttrConsentAnalytics:
			s.analytics = v.Str()
		case eventmodel.AttrConsentMarketing:
			s.marketing = v.Str()
		case eventmodel.AttrCookieless:
			s.cookieless = v.Bool()
		case eventmodel.AttrGPC:
			s.gpc = v.Bool()
		case eventmodel.AttrDNT:
			s.dnt = v.Bool()
		case eventmodel.AttrTCFGDPRApplies:
			if v.Type() == pcommon.ValueTypeBool {
				s.tcfApplies = -1
				if v.Bool() {
					s.tcfApplies = 1
				}
			}
		case eventmodel.AttrTCFString:
			s.tcfString = v.Str()
		case eventmodel.AttrTCFStringError:
			s.tcfStringError = v.Str()
		}
	}
	return s
}

// decision is what happens to one event.
type decision struct {
	action         string // eventmodel.Decision*
	reason, source string
	// stripMarketing removes ad and partner click ids from a kept event.
	stripMarketing bool
	// exempt keeps the event under the CNIL exemption.
	exempt bool
}

// resolvedPolicy is a Policy with its regions expanded for lookup.
type resolvedPolicy struct {
	Policy
	regions map[string]string // region or country code -> opt_in / opt_out
}

func resolvePolicy(p Policy) *resolvedPolicy {
	rp := &resolvedPolicy{Policy: p, regions: map[string]string{}}
	in, _ := expandRegions(p.OptInRegions) // validated
	out, _ := expandRegions(p.OptOutRegions)
	for _, r := range in {
		rp.regions[r] = PolicyOptIn
	}
	for _, r := range out {
		rp.regions[r] = PolicyOptOut
	}
	return rp
}

// noSignal is the policy for an event without a consent decision.
func (p *resolvedPolicy) noSignal(s *signals) (optIn bool, reason, source string) {
	if len(p.regions) > 0 {
		r, ok := p.regions[s.region]
		if !ok || s.region == "" {
			r, ok = p.regions[s.country]
		}
		if ok && s.country != "" {
			if r == PolicyOptIn {
				return true, reasonRegionOptIn, sourceRegion
			}
			return false, reasonRegionOptOut, sourceRegion
		}
	}
	if p.Default == PolicyOptIn {
		return true, reasonPolicyOptIn, sourcePolicy
	}
	return false, reasonPolicyOptOut, sourcePolicy
}

// grant is the state of analytics consent while signals are weighed.
type grant int8

const (
	grantNone grant = iota // no signal decided
	grantYes
	grantNo
)

// decide weighs an event's signals. Explicit denials win over grants: a
// visitor who refused in the tag is not tracked because a TC string says
// otherwise, and Global Privacy Control or Do-Not-Track, when configured
// as a denial, overrides both.
func (p *consentProcessor) decide(s *signals) decision {
	pol := p.policyFor(s.site)
	var (
		analytics      = grantNone
		reason, source string
		storage        = true
		storageReason  string
	)

	// TCF decides when GDPR applies (gdpr_applies true, or a string without
	// the flag). A string the receiver could not pass on counts as one that
	// cannot be decoded; an unfilled ad-server macro has its own reason, as
	// it is the site's mistake to fix.
	if s.tcfApplies == 1 || s.tcfApplies == 0 && (s.tcfString != "" || s.tcfStringError != "") {
		source = sourceTCF
		switch {
		case s.tcfStringError == eventmodel.TCFStringErrorMacro:
			analytics, reason = grantNo, reasonTCFMacro
		case s.tcfStringError != "":
			analytics, reason = grantNo, reasonTCFMalformed
		case s.tcfString == "":
			analytics, reason = grantNo, reasonTCFMissing
		default:
			r := p.evaluateTCF(s.tcfString)
			switch {
			case r.Invalid == tcf.InvalidPolicyVersion:
				analytics, reason = grantNo, reasonTCFPolicyVersion
			case r.Invalid != "":
				analytics, reason = grantNo, reasonTCFMalformed
			case !r.Measurement:
				analytics, reason = grantNo, reasonTCFNoMeasurement
			default:
				analytics, reason = grantYes, reasonTCFConsent
				if r.Basis == tcf.BasisLegitimateInterest {
					reason = reasonTCFLegitInterest
				}
				storage, storageReason = r.Storage, reasonTCFNoStorage
			}
		}
	}
	switch s.analytics {
	case eventmodel.ConsentDenied:
		analytics, reason, source = grantNo, reasonTagDenied, sourceTag
	case eventmodel.ConsentGranted:
		if analytics == grantNone {
			analytics, reason, source = grantYes, reasonTagGranted, sourceTag
		}
	}
	optIn := false
	if analytics == grantNone {
		optIn, reason, source = pol.noSignal(s)
		if !optIn {
			analytics = grantYes
		}
	}

	stripMarketing := s.marketing == eventmodel.ConsentDenied
	marketingSource := sourceTag
	for _, b := range [...]struct {
		on             bool
		meaning        string
		reason, source string
	}{{s.gpc, pol.GPC, reasonGPC, sourceGPC}, {s.dnt, pol.DNT, reasonDNT, sourceDNT}} {
		if !b.on {
			continue
		}
		switch b.meaning {
		case SignalDenyAll:
			if analytics != grantNo {
				analytics, reason, source = grantNo, b.reason, b.source
			}
		case SignalDenyMarketing:
			if !stripMarketing {
				stripMarketing, marketingSource = true, b.source
			}
		}
	}
	if s.cookieless && storage {
		storage, storageReason = false, reasonCookieless
	}

	d := decision{action: eventmodel.DecisionKeep, reason: reason, source: source}
	switch {
	case analytics == grantYes && !storage:
		d.action, d.reason = eventmodel.DecisionAnonymous, storageReason
		if storageReason == reasonCookieless {
			d.source = sourceTag
		}
	case analytics == grantYes:
		if stripMarketing {
			d.stripMarketing, d.reason, d.source = true, reasonMarketingDenied, marketingSource
		}
	case analytics == grantNone && pol.CNILExemption.Enabled && !s.cookieless:
		// No decision of the visitor, and the site measures under the
		// exemption: per-site ids stay, everything cross-site goes.
		d.exempt, d.reason, d.source = true, reasonCNILExemption, sourcePolicy
	case pol.WithoutConsent == WithoutConsentDrop:
		d.action = eventmodel.DecisionDrop
	default:
		d.action = eventmodel.DecisionAnonymous
	}
	if d.action == eventmodel.DecisionAnonymous && s.event == eventmodel.EventIdentify {
		// An identify without identifiers says nothing.
		d.action, d.reason = eventmodel.DecisionDrop, reasonIdentifyAnonymous
	}
	return d
}

// withdrawal reports whether the event withdraws analytics consent while
// still carrying the withdrawn ids, so that an erasure can find them.
func withdrawal(s *signals) bool {
	return s.event == eventmodel.EventConsentUpdate && s.analytics == eventmodel.ConsentDenied && s.hasIDs
}
