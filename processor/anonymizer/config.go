package anonymizer

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/webjourney/webjourney/internal/pseudonym"
	"github.com/webjourney/webjourney/internal/sealed"
)

// SecretSource says where a secret comes from: an environment variable or
// a file, never the configuration itself, so that configs can be shared
// and committed without it.
type SecretSource struct {
	Env  string `mapstructure:"env"`
	File string `mapstructure:"file"`
}

func (s SecretSource) validate(key string) error {
	if (s.Env == "") == (s.File == "") {
		return fmt.Errorf("%s: set exactly one of env (an environment variable) or file (a path); a secret is never written into the configuration", key)
	}
	return nil
}

// read returns the secret text, trimmed of surrounding white space.
func (s SecretSource) read(key string) (string, error) {
	if s.Env != "" {
		v, ok := os.LookupEnv(s.Env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s::env: environment variable %s is not set", key, s.Env)
		}
		return strings.TrimSpace(v), nil
	}
	b, err := os.ReadFile(s.File)
	if err != nil {
		return "", fmt.Errorf("%s::file: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Config is the anonymizer's configuration.
type Config struct {
	// Secret is the master secret (at least 32 bytes, as 64 hex digits or
	// base64) from which every site's pseudonymisation key is derived.
	Secret SecretSource `mapstructure:"secret"`
	// KeyID names the secret in every pseudonym, so that it can be rotated.
	KeyID string `mapstructure:"key_id"`
	// PseudonymBytes is how many bytes of the HMAC a pseudonym keeps (8-32).
	PseudonymBytes int `mapstructure:"pseudonym_bytes"`
	// Pseudonymize lists attributes pseudonymised in addition to the visitor
	// id, user id and referral partner click id.
	Pseudonymize []string `mapstructure:"pseudonymize"`

	Cookieless    CookielessConfig    `mapstructure:"cookieless"`
	ClientAddress ClientAddressConfig `mapstructure:"client_address"`
	UserAgent     UserAgentConfig     `mapstructure:"user_agent"`
	Scrub         ScrubConfig         `mapstructure:"scrub"`
	Recoverable   RecoverableConfig   `mapstructure:"recoverable"`
	// PartnerClickID seals the referral partner's click id for the
	// partner_postback exporter.
	PartnerClickID PartnerClickIDConfig `mapstructure:"partner_click_id"`

	_ struct{}
}

// PartnerClickIDConfig keeps the referral partner's own click id, sealed,
// on events whose consent may allow a postback to the partner
// (webjourney.referral.click_id_sealed, never stored), so that the
// partner_postback exporter can report conversions with it. Without keys
// no click id is kept: the pseudonym of webjourney.referral.click_id is
// all that remains.
type PartnerClickIDConfig struct {
	// PrimaryKey is the id of the key that seals.
	PrimaryKey string `mapstructure:"primary_key"`
	// Keys by id (32 bytes, hex or base64); the partner_postback exporter's
	// click_id::keys lists the same sources. Keep them apart from the
	// recoverable keys: whoever opens click ids needs nothing else.
	Keys map[string]SecretSource `mapstructure:"keys"`
}

// CookielessConfig configures the cookieless visitor key of anonymous events.
type CookielessConfig struct {
	// Rotation is how often the salt changes: day, week or month.
	Rotation string `mapstructure:"rotation"`
	// Storage names a storage extension (e.g. file_storage) that keeps the
	// salts across restarts; without one a restart starts new salts.
	Storage *component.ID `mapstructure:"storage"`
	// Overlap is how long into a new period events also carry the key under
	// the previous salt (webjourney.visitor.cookieless_key_previous), so a
	// visit across the rotation is not split. Match the session idle timeout.
	Overlap time.Duration `mapstructure:"overlap"`
}

// Values of ClientAddressConfig.Action.
const (
	AddressReduce = "reduce"
	AddressDrop   = "drop"
)

// ClientAddressConfig says how much of the client address is kept.
type ClientAddressConfig struct {
	// Action is reduce (keep a network prefix) or drop.
	Action string `mapstructure:"action"`
	// IPv4Octets is how many leading octets of an IPv4 address are kept (0-3).
	IPv4Octets int `mapstructure:"ipv4_octets"`
	// IPv6PrefixBits is the IPv6 prefix kept (0-64).
	IPv6PrefixBits int `mapstructure:"ipv6_prefix_bits"`
}

// UserAgentConfig configures the user agent reduction.
type UserAgentConfig struct {
	// KeepOriginal keeps user_agent.original next to the parsed fields
	// (never for anonymous events).
	KeepOriginal bool `mapstructure:"keep_original"`
	// CacheSize is how many parsed user agents are kept.
	CacheSize int `mapstructure:"cache_size"`
}

// ScrubConfig configures the PII scrubbing of URLs, titles, search terms
// and properties.
type ScrubConfig struct {
	// Detectors are the value detectors: email, phone, card, iban, jwt, token.
	Detectors []string `mapstructure:"detectors"`
	// AllowParams are query parameters kept (campaign parameters always are).
	AllowParams []string `mapstructure:"allow_params"`
	// DenyParams are query parameters (and property names) always removed,
	// in addition to the built-in list of secrets.
	DenyParams []string `mapstructure:"deny_params"`
	// DropUnknownParams removes every query parameter that is not allowed.
	DropUnknownParams bool `mapstructure:"drop_unknown_params"`
}

// RecoverableConfig lists attributes kept encrypted instead of scrubbed.
type RecoverableConfig struct {
	// Attributes are the attribute names (a property as
	// webjourney.properties.<key>) encrypted with AES-256-GCM on events
	// kept with consent; everywhere else they are dropped.
	Attributes []string `mapstructure:"attributes"`
	// PrimaryKey is the id of the key that encrypts.
	PrimaryKey string `mapstructure:"primary_key"`
	// Keys are the encryption keys by id (32 bytes, hex or base64); old
	// keys stay listed so that `webjourneyctl decrypt` can open old values.
	Keys map[string]SecretSource `mapstructure:"keys"`
}

func createDefaultConfig() *Config {
	return &Config{
		KeyID:          pseudonym.DefaultKeyID,
		PseudonymBytes: pseudonym.DefaultLength,
		Cookieless:     CookielessConfig{Rotation: "day", Overlap: 30 * time.Minute},
		ClientAddress:  ClientAddressConfig{Action: AddressReduce, IPv4Octets: 3, IPv6PrefixBits: 48},
		UserAgent:      UserAgentConfig{CacheSize: 4096},
		Scrub:          ScrubConfig{Detectors: []string{"email", "phone", "card", "iban", "jwt", "token"}},
	}
}

// Validate names the key of every mistake.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Secret.validate("secret"); err != nil {
		errs = append(errs, err)
	}
	if !sealed.ValidKeyID(c.KeyID) {
		errs = append(errs, fmt.Errorf("key_id: must be 1 to 16 lower-case letters or digits, not %q", c.KeyID))
	}
	if c.PseudonymBytes < 8 || c.PseudonymBytes > 32 {
		errs = append(errs, fmt.Errorf("pseudonym_bytes: must be 8 to 32, not %d", c.PseudonymBytes))
	}
	for i, a := range c.Pseudonymize {
		if a == "" {
			errs = append(errs, fmt.Errorf("pseudonymize::%d: an attribute name must not be empty", i))
		}
	}
	switch c.Cookieless.Rotation {
	case "day", "week", "month":
	default:
		errs = append(errs, fmt.Errorf("cookieless::rotation: must be day, week or month, not %q", c.Cookieless.Rotation))
	}
	if o := c.Cookieless.Overlap; o < 0 || o > 24*time.Hour {
		errs = append(errs, fmt.Errorf("cookieless::overlap: must be between 0 and 24h, not %s", o))
	}
	switch a := c.ClientAddress; {
	case a.Action != AddressReduce && a.Action != AddressDrop:
		errs = append(errs, fmt.Errorf("client_address::action: must be reduce or drop, not %q", a.Action))
	case a.IPv4Octets < 0 || a.IPv4Octets > 3:
		errs = append(errs, fmt.Errorf("client_address::ipv4_octets: must be 0 to 3, not %d", a.IPv4Octets))
	case a.IPv6PrefixBits < 0 || a.IPv6PrefixBits > 64:
		errs = append(errs, fmt.Errorf("client_address::ipv6_prefix_bits: must be 0 to 64, not %d", a.IPv6PrefixBits))
	}
	if c.UserAgent.CacheSize < 1 {
		errs = append(errs, fmt.Errorf("user_agent::cache_size: must be positive, not %d", c.UserAgent.CacheSize))
	}
	for i, d := range c.Scrub.Detectors {
		if !slices.Contains(allDetectors, d) {
			errs = append(errs, fmt.Errorf("scrub::detectors::%d: unknown detector %q; use email, phone, card, iban, jwt or token", i, d))
		}
	}
	if r := c.Recoverable; len(r.Attributes) > 0 || len(r.Keys) > 0 {
		if _, ok := r.Keys[r.PrimaryKey]; !ok {
			errs = append(errs, fmt.Errorf("recoverable::primary_key: %q is not one of recoverable::keys", r.PrimaryKey))
		}
		for id, src := range r.Keys {
			if !sealed.ValidKeyID(id) {
				errs = append(errs, fmt.Errorf("recoverable::keys::%s: key id %q must be 1 to 16 lower-case letters or digits", id, id))
			}
			if err := src.validate("recoverable::keys::" + id); err != nil {
				errs = append(errs, err)
			}
		}
		if len(r.Attributes) == 0 {
			errs = append(errs, errors.New("recoverable::attributes: keys are configured but no attribute is recoverable"))
		}
	}
	if pc := c.PartnerClickID; pc.PrimaryKey != "" || len(pc.Keys) > 0 {
		if _, ok := pc.Keys[pc.PrimaryKey]; !ok {
			errs = append(errs, fmt.Errorf("partner_click_id::primary_key: %q is not one of partner_click_id::keys", pc.PrimaryKey))
		}
		for id, src := range pc.Keys {
			if !sealed.ValidKeyID(id) {
				errs = append(errs, fmt.Errorf("partner_click_id::keys::%s: key id %q must be 1 to 16 lower-case letters or digits", id, id))
			}
			if err := src.validate("partner_click_id::keys::" + id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// allDetectors mirrors scrub.AllDetectors, so that Validate does not need
// to build a scrubber.
var allDetectors = []string{"email", "phone", "card", "iban", "jwt", "token"}
