package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
)

const maxSiteIDLength = 64

// Config defines the configuration of the pixel receiver.
type Config struct {
	// ServerConfig is the HTTP server (endpoint, TLS, max_request_body_size, ...).
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// PixelPath is the URL path of the GET image pixel.
	PixelPath string `mapstructure:"pixel_path"`

	// IframePath is the URL path of the GET iframe pixel (a tiny HTML page
	// for places that accept an iframe but no image, such as some ad servers
	// and tag managers).
	IframePath string `mapstructure:"iframe_path"`

	// BeaconPath is the URL path of the POST JSON beacon.
	BeaconPath string `mapstructure:"beacon_path"`

	// Sites lists the sites this collector accepts events for. Hits for any
	// other site id are rejected, so that a public endpoint cannot be used to
	// fill the store with made-up sites.
	Sites []SiteConfig `mapstructure:"sites"`

	// Limits bounds what a single request may carry.
	Limits LimitsConfig `mapstructure:"limits"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SiteConfig is one accepted site. It is an object, not a bare id, so that
// per-site settings can be added without breaking configurations.
type SiteConfig struct {
	// ID is the site id sent by the tag (pixel parameter s, beacon field site).
	ID string `mapstructure:"id"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// LimitsConfig holds the explicit per-request limits.
type LimitsConfig struct {
	// MaxEventsPerBeacon is the largest number of events one beacon may carry.
	MaxEventsPerBeacon int `mapstructure:"max_events_per_beacon"`
	// MaxStringLength is the longest accepted string, in bytes of UTF-8.
	MaxStringLength int `mapstructure:"max_string_length"`
	// MaxProperties is the largest number of custom properties per event.
	MaxProperties int `mapstructure:"max_properties"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration. Every error names the offending key.
func (cfg *Config) Validate() error {
	return errors.Join(
		validatePath("pixel_path", cfg.PixelPath),
		validatePath("iframe_path", cfg.IframePath),
		validatePath("beacon_path", cfg.BeaconPath),
		cfg.validatePathsDistinct(),
		cfg.validateSites(),
		validatePositive("limits.max_events_per_beacon", int64(cfg.Limits.MaxEventsPerBeacon)),
		validatePositive("limits.max_string_length", int64(cfg.Limits.MaxStringLength)),
		validatePositive("limits.max_properties", int64(cfg.Limits.MaxProperties)),
		// confighttp would silently replace 0 with 20 MiB; make the limit explicit.
		validatePositive("max_request_body_size", cfg.ServerConfig.MaxRequestBodySize),
	)
}

// validatePath accepts a plain absolute path: no query, fragment or escapes,
// because requests are matched on the decoded path exactly.
func validatePath(key, p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%s: %q must be an absolute URL path starting with \"/\"", key, p)
	}
	u, err := url.Parse(p)
	if err != nil || u.Path != p || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(p, " \t") {
		return fmt.Errorf("%s: %q must be a plain URL path without query, fragment, spaces or %%-escapes", key, p)
	}
	return nil
}

func (cfg *Config) validatePathsDistinct() error {
	paths := []struct{ key, path string }{
		{"pixel_path", cfg.PixelPath}, {"iframe_path", cfg.IframePath}, {"beacon_path", cfg.BeaconPath},
	}
	var errs []error
	for i, p := range paths {
		for _, earlier := range paths[:i] {
			if p.path == earlier.path {
				errs = append(errs, fmt.Errorf("%s: %q is already %s; every endpoint needs its own path", p.key, p.path, earlier.key))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (cfg *Config) validateSites() error {
	if len(cfg.Sites) == 0 {
		return errors.New(`sites: at least one site is required, e.g. sites: [{id: "my-site"}]`)
	}
	var errs []error
	seen := make(map[string]int, len(cfg.Sites))
	for i, s := range cfg.Sites {
		if err := validateSiteID(s.ID); err != nil {
			errs = append(errs, fmt.Errorf("sites[%d].id: %w", i, err))
			continue
		}
		if first, dup := seen[s.ID]; dup {
			errs = append(errs, fmt.Errorf("sites[%d].id: duplicate %q (also sites[%d].id)", i, s.ID, first))
			continue
		}
		seen[s.ID] = i
	}
	return errors.Join(errs...)
}

func validateSiteID(id string) error {
	if id == "" || len(id) > maxSiteIDLength {
		return fmt.Errorf("%q must be 1-%d characters of [A-Za-z0-9._-]", id, maxSiteIDLength)
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%q must be 1-%d characters of [A-Za-z0-9._-]", id, maxSiteIDLength)
		}
	}
	return nil
}

func validatePositive(key string, v int64) error {
	if v <= 0 {
		return fmt.Errorf("%s: must be a positive number, got %d", key, v)
	}
	return nil
}
