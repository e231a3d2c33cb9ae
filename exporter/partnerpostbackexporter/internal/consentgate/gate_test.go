package consentgate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TC strings made by IAB Europe's encoder (testdata/tcstrings.mjs), TCF
// policy 4, vendors 10 and 31 in the vendor list.
const (
	tcAll         = "CP4bJcAP4bJcAEsACBENBoEAAIMAAAAAAAYgAFABAAAAAAAA.IAPgBAAAIAAA"     // purposes 1, 7, 8; vendor 10
	tcNoPurpose7  = "CP4bJcAP4bJcAEsACBENBoEAAIEAAAAAAAYgAFABAAAAAAAA.IAPgBAAAIAAA"     // purposes 1, 8; vendor 10
	tcOtherVendor = "CP4bJcAP4bJcAEsACBENBoEAAIMAAAAAAAYgAPgAAAAIAAAAAAAA.IAPgBAAAIAAA" // purposes 1, 7, 8; vendor 31
)

func TestDecide(t *testing.T) {
	yes, no := true, false
	tag := Signals{Decision: "keep", Reason: "tag_granted", Marketing: "granted"}
	tcf := Signals{Decision: "keep", Reason: "tcf_consent", Marketing: "unknown", GDPRApplies: &yes, TCString: tcAll}
	with := func(s Signals, f func(*Signals)) Signals { f(&s); return s }
	rules := Rules{Purposes: DefaultPurposes, DenyOnGPC: true}
	vendor := Rules{Purposes: DefaultPurposes, VendorID: 10, DenyOnGPC: true}

	for name, c := range map[string]struct {
		s    Signals
		r    Rules
		want string
	}{
		"tag grant":                   {tag, rules, ""},
		"no decision":                 {Signals{Marketing: "granted"}, rules, NoConsent},
		"anonymous":                   {with(tag, func(s *Signals) { s.Decision, s.Reason = "anonymous", "policy_opt_in" }), rules, Anonymous},
		"cookieless":                  {with(tag, func(s *Signals) { s.Decision, s.Reason = "anonymous", "cookieless" }), rules, Anonymous},
		"cnil exemption":              {with(tag, func(s *Signals) { s.Reason = "cnil_exemption" }), rules, CNILExemption},
		"marketing denied":            {with(tag, func(s *Signals) { s.Marketing = "denied" }), rules, MarketingDenied},
		"marketing denied by reason":  {with(tag, func(s *Signals) { s.Reason, s.Marketing = "marketing_denied", "" }), rules, MarketingDenied},
		"analytics only":              {with(tag, func(s *Signals) { s.Marketing = "unknown" }), rules, NoMarketingConsent},
		"gpc denies":                  {with(tag, func(s *Signals) { s.GPC = true }), rules, GPC},
		"gpc ignored":                 {with(tag, func(s *Signals) { s.GPC = true }), Rules{Purposes: DefaultPurposes}, ""},
		"dnt ignored by default":      {with(tag, func(s *Signals) { s.DNT = true }), rules, ""},
		"dnt denies":                  {with(tag, func(s *Signals) { s.DNT = true }), Rules{Purposes: DefaultPurposes, DenyOnDNT: true}, DNT},
		"tcf grant":                   {tcf, rules, ""},
		"tcf grant, vendor":           {tcf, vendor, ""},
		"tcf without gdpr_applies":    {with(tcf, func(s *Signals) { s.GDPRApplies = nil }), vendor, ""},
		"tcf lacks purpose 7":         {with(tcf, func(s *Signals) { s.TCString = tcNoPurpose7 }), rules, TCFPurposes},
		"tcf lacks the vendor":        {with(tcf, func(s *Signals) { s.TCString = tcOtherVendor }), vendor, TCFVendor},
		"tcf vendor not required":     {with(tcf, func(s *Signals) { s.TCString = tcOtherVendor }), rules, ""},
		"tcf missing":                 {with(tcf, func(s *Signals) { s.TCString = "" }), rules, TCFMissing},
		"tcf malformed":               {with(tcf, func(s *Signals) { s.TCString = "not-a-tc-string" }), rules, TCFInvalid},
		"go-gdpr panic":               {with(tcf, func(s *Signals) { s.TCString = "00000000000000000000000000000000000AANA0000000" }), rules, TCFInvalid},
		"tag denial beats tcf":        {with(tcf, func(s *Signals) { s.Marketing = "denied" }), rules, MarketingDenied},
		"gdpr does not apply, tag":    {with(tag, func(s *Signals) { s.GDPRApplies = &no; s.TCString = tcNoPurpose7 }), rules, ""},
		"gdpr does not apply, no tag": {with(tcf, func(s *Signals) { s.GDPRApplies = &no }), rules, NoMarketingConsent},
	} {
		assert.Equal(t, c.want, Decide(c.s, c.r), name)
	}
}

func FuzzDecide(f *testing.F) {
	for _, s := range []string{tcAll, tcNoPurpose7, tcOtherVendor, "", "CP4bJc", "00000000000000000000000000000000000AANA0000000"} {
		f.Add(s)
	}
	yes := true
	f.Fuzz(func(t *testing.T, tc string) {
		r := Decide(Signals{Decision: "keep", Marketing: "granted", GDPRApplies: &yes, TCString: tc}, Rules{Purposes: DefaultPurposes, VendorID: 10})
		assert.Contains(t, append([]string{""}, Reasons...), r)
	})
}
