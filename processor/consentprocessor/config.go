package consentprocessor

import (
	"errors"
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/confmap"

	"github.com/webjourney/webjourney/internal/sitelist"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/tcf"
)

// Values of Policy.Default and of the region lists' meaning.
const (
	PolicyOptIn  = "opt_in"  // no signal means no consent
	PolicyOptOut = "opt_out" // no signal means consent
)

// Values of Policy.WithoutConsent.
const (
	WithoutConsentAnonymous = "anonymous"
	WithoutConsentDrop      = "drop"
)

// Values of Policy.GPC and Policy.DNT: what the browser signal means.
const (
	SignalIgnore        = "ignore"         // nothing
	SignalDenyMarketing = "deny_marketing" // an objection to marketing: ad and partner click ids go
	SignalDenyAll       = "deny_all"       // a denial of analytics consent
)

// MaxCNILRetentionMonths is the longest retention the CNIL exemption allows.
const MaxCNILRetentionMonths = 25

// Config is the consent processor's configuration. The Policy fields at the
// top level apply to every site; Sites overrides them per site id.
type Config struct {
	Policy `mapstructure:",squash"`

	// Sites holds per-site policies. A site's policy starts from the
	// top-level one: only the keys it names change.
	Sites []SitePolicy `mapstructure:"sites"`

	// TCF says how IAB TCF v2.2 strings are read.
	TCF TCFConfig `mapstructure:"tcf"`

	// ErasureOnWithdrawal makes a consent withdrawal that still carries the
	// withdrawn ids produce a webjourney.erasure_request record.
	ErasureOnWithdrawal bool `mapstructure:"erasure_on_withdrawal"`

	_ struct{}
}

// Policy decides events that carry no consent decision of the visitor.
type Policy struct {
	// Default is opt_in or opt_out: whether an event without any consent
	// signal counts as consented.
	Default string `mapstructure:"default"`
	// OptInRegions and OptOutRegions override Default by the visitor's
	// region (geo.region.iso_code first, then geo.country.iso_code): ISO
	// 3166-1 countries ("DE"), ISO 3166-2 subdivisions ("US-CA") or the
	// groups EU and EEA.
	OptInRegions  []string `mapstructure:"opt_in_regions"`
	OptOutRegions []string `mapstructure:"opt_out_regions"`
	// WithoutConsent is what an event without consent becomes: anonymous
	// (cookieless measurement) or drop.
	WithoutConsent string `mapstructure:"without_consent"`
	// GPC and DNT say what Global Privacy Control and Do-Not-Track mean:
	// ignore, deny_marketing or deny_all.
	GPC string `mapstructure:"gpc"`
	DNT string `mapstructure:"dnt"`
	// CNILExemption keeps events without a consent decision under the
	// French CNIL's audience-measurement exemption (see the README).
	CNILExemption CNILExemption `mapstructure:"cnil_exemption"`
}

// SitePolicy is the policy of one site.
type SitePolicy struct {
	// ID is the site's webjourney.site.id.
	ID     string `mapstructure:"id"`
	Policy `mapstructure:",squash"`
}

// CNILExemption is the CNIL preset.
type CNILExemption struct {
	Enabled bool `mapstructure:"enabled"`
	// RetentionMonths is written on every exempt event as
	// webjourney.retention.max_months; at most 25.
	RetentionMonths int `mapstructure:"retention_months"`
}

// TCFConfig says whose permission a TC string must give, and for what.
type TCFConfig struct {
	// VendorID, when set, is the IAB vendor id the site's analytics is
	// registered under: that vendor needs consent or legitimate interest too.
	VendorID uint16 `mapstructure:"vendor_id"`
	// PublisherPurposes decides on the publisher TC segment (the
	// publisher's own purposes) instead of the core purposes.
	PublisherPurposes bool `mapstructure:"publisher_purposes"`
	// Purposes are the measurement purposes that must all be allowed,
	// among 7, 8, 9 and 10.
	Purposes []uint8 `mapstructure:"purposes"`
	// MinPolicyVersion is the oldest TCF policy version accepted (4 is
	// TCF v2.2, mandatory for CMPs since November 2023).
	MinPolicyVersion uint8 `mapstructure:"min_policy_version"`
	// CacheSize is how many decoded strings are kept; visitors send the
	// same string with every event.
	CacheSize int `mapstructure:"cache_size"`
}

func createDefaultConfig() *Config {
	return &Config{
		Policy: Policy{
			Default:        PolicyOptIn,
			WithoutConsent: WithoutConsentAnonymous,
			GPC:            SignalDenyAll,
			DNT:            SignalIgnore,
			CNILExemption:  CNILExemption{RetentionMonths: MaxCNILRetentionMonths},
		},
		TCF: TCFConfig{
			Purposes:         []uint8{8},
			MinPolicyVersion: 4,
			CacheSize:        4096,
		},
		ErasureOnWithdrawal: true,
	}
}

// Unmarshal starts every site's policy from the top-level policy, so that a
// site names only what differs.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := sitelist.RefuseMap(conf); err != nil {
		return err
	}
	sites, _ := conf.Get(sitelist.Key).([]any)
	top := conf
	if conf.IsSet(sitelist.Key) {
		m := conf.ToStringMap()
		delete(m, sitelist.Key)
		top = confmap.NewFromStringMap(m)
	}
	if err := top.Unmarshal(c); err != nil {
		return err
	}
	c.Sites = make([]SitePolicy, 0, len(sites))
	for i, raw := range sites {
		m, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: must be a site: its id and the policy keys it changes", sitelist.ElementKey(i))
		}
		s := SitePolicy{Policy: c.Policy}
		s.OptInRegions = slices.Clone(s.OptInRegions)
		s.OptOutRegions = slices.Clone(s.OptOutRegions)
		if err := confmap.NewFromStringMap(m).Unmarshal(&s); err != nil {
			return fmt.Errorf("%s: %w", sitelist.ElementKey(i), err)
		}
		c.Sites = append(c.Sites, s)
	}
	return nil
}

// Validate names the key of every mistake.
func (c *Config) Validate() error {
	errs := c.Policy.validate()
	ids := make([]string, len(c.Sites))
	for i, s := range c.Sites {
		ids[i] = s.ID
	}
	_, idErrs := sitelist.CheckIDs(ids, nil)
	errs = append(errs, idErrs...)
	for i, s := range c.Sites {
		errs = append(errs, sitelist.Errors(i, s.ID, errors.Join(s.validate()...))...)
	}
	errs = append(errs, c.TCF.validate()...)
	return errors.Join(errs...)
}

// validate checks the policy; errors are keyed relative to it.
func (p *Policy) validate() []error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	if p.Default != PolicyOptIn && p.Default != PolicyOptOut {
		bad("default", "must be opt_in or opt_out, not %q", p.Default)
	}
	if p.WithoutConsent != WithoutConsentAnonymous && p.WithoutConsent != WithoutConsentDrop {
		bad("without_consent", "must be anonymous or drop, not %q", p.WithoutConsent)
	}
	for key, v := range map[string]string{"gpc": p.GPC, "dnt": p.DNT} {
		if v != SignalIgnore && v != SignalDenyMarketing && v != SignalDenyAll {
			bad(key, "must be ignore, deny_marketing or deny_all, not %q", v)
		}
	}
	in, errIn := expandRegions(p.OptInRegions)
	if errIn != nil {
		bad("opt_in_regions", "%v", errIn)
	}
	out, errOut := expandRegions(p.OptOutRegions)
	if errOut != nil {
		bad("opt_out_regions", "%v", errOut)
	}
	for _, r := range in {
		if slices.Contains(out, r) {
			bad("opt_out_regions", "%s is also in opt_in_regions (directly or through a group); a region can have one policy", r)
			break
		}
	}
	if e := p.CNILExemption; e.Enabled {
		if e.RetentionMonths < 1 || e.RetentionMonths > MaxCNILRetentionMonths {
			bad("cnil_exemption::retention_months", "must be 1 to %d (the CNIL's limit), not %d", MaxCNILRetentionMonths, e.RetentionMonths)
		}
		if p.Default == PolicyOptOut {
			bad("cnil_exemption::enabled", "contradicts default: opt_out; the exemption is for sites that otherwise need consent")
		}
		if p.GPC == SignalIgnore {
			bad("cnil_exemption::enabled", "contradicts gpc: ignore; the exemption requires honouring the visitor's objection")
		}
	}
	return errs
}

func (t *TCFConfig) validate() []error {
	var errs []error
	if len(t.Purposes) == 0 {
		errs = append(errs, errors.New("tcf::purposes: name at least one measurement purpose (7, 8, 9 or 10)"))
	}
	for _, p := range t.Purposes {
		if !slices.Contains(tcf.MeasurementPurposes, p) {
			errs = append(errs, fmt.Errorf("tcf::purposes: %d is not a measurement purpose; use 7, 8, 9 or 10", p))
		}
	}
	if t.MinPolicyVersion < 2 {
		errs = append(errs, fmt.Errorf("tcf::min_policy_version: must be at least 2 (TCF v2), not %d", t.MinPolicyVersion))
	}
	if t.CacheSize < 1 {
		errs = append(errs, fmt.Errorf("tcf::cache_size: must be positive, not %d", t.CacheSize))
	}
	return errs
}

func (t *TCFConfig) rules() tcf.Rules {
	return tcf.Rules{VendorID: t.VendorID, PublisherPurposes: t.PublisherPurposes, Purposes: t.Purposes, MinPolicyVersion: t.MinPolicyVersion}
}
