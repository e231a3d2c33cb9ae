package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/webjourney/webjourney/internal/sitelist"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"
)

// Google's paths: the Measurement Protocol and its validation server.
const (
	defaultGA4MPPath      = "/mp/collect"
	defaultGA4DebugMPPath = "/debug/mp/collect"
	defaultGA4CollectPath = "/g/collect"
)

// GA4Config serves Google Analytics 4's Measurement Protocol and gtag.js's
// wire format, so that a site keeps its GA4 tagging and points it at the
// collector.
type GA4Config struct {
	// Enabled serves MPPath, DebugMPPath and CollectPath; at least one
	// site must list its measurement ids.
	Enabled bool `mapstructure:"enabled"`
	// MPPath takes the Measurement Protocol's events.
	MPPath string `mapstructure:"mp_path"`
	// DebugMPPath validates Measurement Protocol requests without
	// recording them, answering as Google's validation server does; ""
	// does not serve it.
	DebugMPPath string `mapstructure:"debug_mp_path"`
	// CollectPath takes gtag.js's requests (its transport_url or
	// server_container_url pointed at the collector); "" does not serve it.
	CollectPath string `mapstructure:"collect_path"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SiteGA4Config maps GA4 measurement ids to the site and says how its
// Measurement Protocol requests authenticate.
type SiteGA4Config struct {
	// MeasurementIDs are the site's GA4 measurement ids (G-XXXXXXXXXX,
	// the measurement_id parameter).
	MeasurementIDs []string `mapstructure:"measurement_ids"`
	// APISecrets are the Measurement Protocol api_secrets the site
	// accepts. Without any, api_secret is checked as the site's write key
	// (and a site without a write key accepts any).
	APISecrets []configopaque.String `mapstructure:"api_secrets"`
	// DefaultPageURL is the page of a Measurement Protocol event that
	// names none (no page_location in it or an earlier event of its
	// request), e.g. a purchase the shop's server reports. Without it such
	// an event is refused: every event of the model is on a page.
	DefaultPageURL string `mapstructure:"default_page_url"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// validateGA4 checks protocols::ga4 and the sites' GA4 blocks.
func (cfg *Config) validateGA4() error {
	p := &cfg.Protocols.GA4
	var errs []error
	if err := validatePath("protocols::ga4::mp_path", p.MPPath); err != nil {
		errs = append(errs, err)
	}
	if p.DebugMPPath != "" {
		if err := validatePath("protocols::ga4::debug_mp_path", p.DebugMPPath); err != nil {
			errs = append(errs, err)
		}
	}
	if p.CollectPath != "" {
		if err := validatePath("protocols::ga4::collect_path", p.CollectPath); err != nil {
			errs = append(errs, err)
		}
	}
	owner := map[string]int{}
	for i := range cfg.Sites {
		key := sitelist.ElementKey(i) + "::protocols::ga4"
		sc := &cfg.Sites[i].Protocols.GA4
		if (len(sc.MeasurementIDs) > 0 || len(sc.APISecrets) > 0 || sc.DefaultPageURL != "") && !p.Enabled {
			errs = append(errs, fmt.Errorf("%s: set, but protocols::ga4::enabled is false; enable the protocol or remove the block", key))
			continue
		}
		for j, id := range sc.MeasurementIDs {
			k := fmt.Sprintf("%s::measurement_ids::%d", key, j)
			if !isMeasurementID(id) {
				errs = append(errs, fmt.Errorf("%s: %q must be a GA4 measurement id such as G-ABC123DEF4", k, id))
				continue
			}
			if first, dup := owner[strings.ToUpper(id)]; dup {
				errs = append(errs, fmt.Errorf("%s: %q is already listed by %s; a measurement id reports to one site", k, id, sitelist.ElementKey(first)))
				continue
			}
			owner[strings.ToUpper(id)] = i
		}
		for j, s := range sc.APISecrets {
			// The value is never repeated: it is a secret.
			if strings.TrimSpace(string(s)) == "" || strings.ContainsAny(string(s), " \t\r\n") {
				errs = append(errs, fmt.Errorf("%s::api_secrets::%d: must be a non-empty secret without white space", key, j))
			}
		}
		if len(sc.APISecrets) > 0 && len(sc.MeasurementIDs) == 0 {
			errs = append(errs, fmt.Errorf("%s::api_secrets: set, but the site lists no measurement_ids", key))
		}
		if sc.DefaultPageURL != "" {
			if _, err := pageurl.Parse(sc.DefaultPageURL); err != nil {
				errs = append(errs, fmt.Errorf("%s::default_page_url: %q must be an absolute http(s) URL", key, sc.DefaultPageURL))
			}
		}
	}
	if p.Enabled && len(owner) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("protocols::ga4::enabled: no site lists its measurement ids; add sites::N::protocols::ga4::measurement_ids (e.g. [G-ABC123DEF4]) to the site that receives them"))
	}
	return errors.Join(errs...)
}

// isMeasurementID accepts GA4's web stream ids: G- and 4-20 letters or
// digits.
func isMeasurementID(id string) bool {
	rest, ok := strings.CutPrefix(strings.ToUpper(id), "G-")
	if !ok || len(rest) < 4 || len(rest) > 20 {
		return false
	}
	for i := range len(rest) {
		if c := rest[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ga4Paths are the GA4 endpoints for the distinct-path check.
func (cfg *Config) ga4Paths() []struct{ key, path string } {
	p := &cfg.Protocols.GA4
	if !p.Enabled {
		return nil
	}
	out := []struct{ key, path string }{{"protocols::ga4::mp_path", p.MPPath}}
	if p.DebugMPPath != "" {
		out = append(out, struct{ key, path string }{"protocols::ga4::debug_mp_path", p.DebugMPPath})
	}
	if p.CollectPath != "" {
		out = append(out, struct{ key, path string }{"protocols::ga4::collect_path", p.CollectPath})
	}
	return out
}

// ga4Sites maps each configured measurement id, upper case, to its site.
func ga4Sites(cfg *Config) map[string]*ga4.Site {
	m := map[string]*ga4.Site{}
	for i := range cfg.Sites {
		sc := &cfg.Sites[i].Protocols.GA4
		if len(sc.MeasurementIDs) == 0 {
			continue
		}
		s := &ga4.Site{ID: cfg.Sites[i].ID, DefaultPageURL: sc.DefaultPageURL}
		for _, secret := range sc.APISecrets {
			s.Secrets = append(s.Secrets, string(secret))
		}
		for _, id := range sc.MeasurementIDs {
			m[strings.ToUpper(id)] = s
		}
	}
	return m
}

// ga4Path says which GA4 endpoint path is: "mp", "debug", "collect" or "".
func (r *pixelReceiver) ga4Path(path string) string {
	p := &r.cfg.Protocols.GA4
	switch {
	case !p.Enabled:
		return ""
	case path == p.MPPath:
		return "mp"
	case p.DebugMPPath != "" && path == p.DebugMPPath:
		return "debug"
	case p.CollectPath != "" && path == p.CollectPath:
		return "collect"
	}
	return ""
}
