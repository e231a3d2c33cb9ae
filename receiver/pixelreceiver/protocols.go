package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"errors"
	"fmt"
	"strings"

	"github.com/webjourney/webjourney/internal/sitelist"
)

// The other trackers' wire formats the receiver accepts (docs/migrate.md).
// Each protocol has a block under protocols (is it served, on which path)
// and a block under each site's protocols (how its requests name the
// site). A protocol is off until enabled: a collector answers only the
// formats its owner chose.

const defaultPlausiblePath = "/api/event"

// ProtocolsConfig switches the other trackers' endpoints.
type ProtocolsConfig struct {
	// Plausible is Plausible's Events API.
	Plausible PlausibleConfig `mapstructure:"plausible"`
	// Snowplow is Snowplow's tracker protocol (snowplow_config.go).
	Snowplow SnowplowConfig `mapstructure:"snowplow"`
	// Matomo is Matomo's HTTP Tracking API (matomo_config.go).
	Matomo MatomoConfig `mapstructure:"matomo"`
	// GA4 is Google Analytics 4's Measurement Protocol (ga4_config.go).
	GA4 GA4Config `mapstructure:"ga4"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PlausibleConfig serves Plausible's Events API, so that a site keeps its
// Plausible tracker and points its endpoint at the collector.
type PlausibleConfig struct {
	// Enabled serves Path; at least one site must list its Plausible domains.
	Enabled bool `mapstructure:"enabled"`
	// Path is where Plausible's tracker posts its events.
	Path string `mapstructure:"path"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SiteProtocolsConfig is how a site's requests in the other trackers'
// formats name it.
type SiteProtocolsConfig struct {
	Plausible SitePlausibleConfig `mapstructure:"plausible"`
	Snowplow  SiteSnowplowConfig  `mapstructure:"snowplow"`
	Matomo    SiteMatomoConfig    `mapstructure:"matomo"`
	GA4       SiteGA4Config       `mapstructure:"ga4"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SitePlausibleConfig maps Plausible domains to the site.
type SitePlausibleConfig struct {
	// Domains are the site's domains as its Plausible tracker sends them
	// (the tracker's domain option, data-domain of the script tag).
	Domains []string `mapstructure:"domains"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// validateProtocols checks the protocols block and the sites' protocol
// blocks against it; the site ids are checked elsewhere.
func (cfg *Config) validateProtocols() error {
	p := &cfg.Protocols.Plausible
	var errs []error
	if err := validatePath("protocols::plausible::path", p.Path); err != nil {
		errs = append(errs, err)
	}
	owner := map[string]int{}
	for i := range cfg.Sites {
		key := sitelist.ElementKey(i) + "::protocols::plausible::domains"
		domains := cfg.Sites[i].Protocols.Plausible.Domains
		if len(domains) > 0 && !p.Enabled && !cfg.Sites[i].Import.accepts() {
			errs = append(errs, fmt.Errorf("%s: set, but protocols::plausible::enabled is false; enable the protocol, give the site an import key (the domains then serve its imports of plausible hits only) or remove the domains", key))
			continue
		}
		for j, d := range domains {
			k := fmt.Sprintf("%s::%d", key, j)
			if err := checkPlausibleDomain(d); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
				continue
			}
			if first, dup := owner[strings.ToLower(d)]; dup {
				errs = append(errs, fmt.Errorf("%s: %q is already listed by %s; a domain reports to one site", k, d, sitelist.ElementKey(first)))
				continue
			}
			owner[strings.ToLower(d)] = i
		}
	}
	if p.Enabled && len(owner) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("protocols::plausible::enabled: no site lists its Plausible domains; add sites::N::protocols::plausible::domains (e.g. [shop.example]) to the site that receives them"))
	}
	errs = append(errs, cfg.validateMatomo(), cfg.validateSnowplow(), cfg.validateGA4())
	return errors.Join(errs...)
}

// checkPlausibleDomain accepts what Plausible calls a site's domain: a
// host name without scheme, port, path or spaces ("shop.example").
func checkPlausibleDomain(d string) error {
	if d == "" || len(d) > 253 || strings.ContainsAny(d, " \t,/:@?#") {
		return fmt.Errorf("%q must be a host name such as shop.example, as the tracker's domain option says it", d)
	}
	return nil
}

// plausibleDomains maps each configured Plausible domain, lower case, to
// its site id.
func plausibleDomains(cfg *Config) map[string]string {
	m := map[string]string{}
	for i := range cfg.Sites {
		for _, d := range cfg.Sites[i].Protocols.Plausible.Domains {
			m[strings.ToLower(d)] = cfg.Sites[i].ID
		}
	}
	return m
}
