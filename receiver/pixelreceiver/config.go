package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/webjourney/webjourney/internal/sitelist"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/clientip"
	"github.com/webjourney/webjourney/tag"
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

	// ImportPath is the URL path of the authenticated NDJSON import of
	// history (POST; see docs/import.md). Only sites with an import key
	// accept imports.
	ImportPath string `mapstructure:"import_path"`

	// TagPath is the URL path of the browser tag script, and ConfigPath
	// the path of the per-site JSON config the tag fetches. Both are
	// renameable, as is TagGlobal, the tag's global function name, because
	// ad-blocker lists match well-known names.
	TagPath    string `mapstructure:"tag_path"`
	ConfigPath string `mapstructure:"config_path"`
	TagGlobal  string `mapstructure:"tag_global"`

	// TrustedProxies lists the addresses and CIDR ranges of reverse proxies
	// whose Forwarded / X-Forwarded-For / X-Forwarded-Proto headers are
	// believed. Headers from anyone else are ignored: they are trivial to forge.
	TrustedProxies []string `mapstructure:"trusted_proxies"`

	// ClientAddressHeader names the one header the trusted proxies set with
	// the browser's address (X-Forwarded-For, Forwarded, X-Real-IP, ...);
	// every other forwarding header is ignored, as a proxy passes on the
	// ones a browser made up.
	ClientAddressHeader clientip.Header `mapstructure:"client_address_header"`

	// RateLimit bounds requests per client address.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`

	// Bots says what happens to events from crawlers and automated browsers.
	Bots BotsConfig `mapstructure:"bots"`

	// GeoIP resolves the client address to a country and region.
	GeoIP GeoIPConfig `mapstructure:"geoip"`

	// Sites lists the sites this collector accepts events for. Hits for any
	// other site id are rejected, so that a public endpoint cannot be used to
	// fill the store with made-up sites.
	Sites []SiteConfig `mapstructure:"sites"`

	// Limits bounds what a single request may carry.
	Limits LimitsConfig `mapstructure:"limits"`

	// Protocols serves other trackers' wire formats (protocols.go).
	Protocols ProtocolsConfig `mapstructure:"protocols"`

	// RoutingKey writes webjourney.routing.key on every record: the
	// visitor id when the event has one, else the client address (as
	// resolved through trusted_proxies). A front collector's loadbalancing
	// exporter routes on it in the two-tier layout (docs/two-tier.md), so
	// that every event of one visitor reaches the same back collector and
	// id-less traffic still spreads over all of them. The anonymizer
	// removes it; it is never stored.
	RoutingKey bool `mapstructure:"routing_key"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RateLimitConfig is a token bucket per client address (IPv6 per /64).
type RateLimitConfig struct {
	// RequestsPerSecond is the sustained rate; 0 disables rate limiting.
	RequestsPerSecond float64 `mapstructure:"requests_per_second"`
	// Burst is how many requests a client may send at once.
	Burst int `mapstructure:"burst"`
	// MaxClients bounds the memory: the least recently seen clients are
	// forgotten beyond it.
	MaxClients int `mapstructure:"max_clients"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Values of BotsConfig.Action.
const (
	BotActionDrop = "drop"
	BotActionMark = "mark"
	BotActionKeep = "keep"
)

// BotsConfig configures bot filtering.
type BotsConfig struct {
	// Action is "drop" (count and discard), "mark" (keep with
	// webjourney.bot=true) or "keep" (no detection).
	Action string `mapstructure:"action"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// GeoIPConfig configures the coarse geo lookup.
type GeoIPConfig struct {
	// Database is the path of a MaxMind-format (.mmdb) country or city
	// database; empty disables the lookup.
	Database string `mapstructure:"database"`

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
		validatePath("import_path", cfg.ImportPath),
		validatePath("tag_path", cfg.TagPath),
		validatePath("config_path", cfg.ConfigPath),
		cfg.validatePathsDistinct(),
		cfg.validateProtocols(),
		prefixed("tag_global", tag.ValidGlobalName(cfg.TagGlobal)),
		cfg.validateSites(),
		prefixed("trusted_proxies", validateProxies(cfg.TrustedProxies)),
		cfg.RateLimit.validate(),
		cfg.Bots.validate(),
		validatePositive("limits::max_events_per_beacon", int64(cfg.Limits.MaxEventsPerBeacon)),
		validatePositive("limits::max_string_length", int64(cfg.Limits.MaxStringLength)),
		validatePositive("limits::max_properties", int64(cfg.Limits.MaxProperties)),
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
		{"import_path", cfg.ImportPath},
		{"tag_path", cfg.TagPath}, {"config_path", cfg.ConfigPath},
	}
	if cfg.Protocols.Plausible.Enabled {
		paths = append(paths, struct{ key, path string }{"protocols::plausible::path", cfg.Protocols.Plausible.Path})
	}
	paths = append(paths, cfg.snowplowPaths()...)
	paths = append(paths, cfg.matomoPaths()...)
	paths = append(paths, cfg.ga4Paths()...)
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
	ids := make([]string, len(cfg.Sites))
	for i := range cfg.Sites {
		ids[i] = cfg.Sites[i].ID
	}
	named, errs := sitelist.CheckIDs(ids, validateSiteID)
	for i := range cfg.Sites {
		// A site without a sound id is reported once, by its id.
		if named[i] {
			errs = append(errs, sitelist.Errors(i, ids[i], cfg.Sites[i].validate())...)
		}
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

func (rl *RateLimitConfig) validate() error {
	if rl.RequestsPerSecond < 0 {
		return fmt.Errorf("rate_limit::requests_per_second: must be 0 (off) or positive, got %v", rl.RequestsPerSecond)
	}
	if rl.RequestsPerSecond == 0 {
		return nil
	}
	return errors.Join(
		validatePositive("rate_limit::burst", int64(rl.Burst)),
		validatePositive("rate_limit::max_clients", int64(rl.MaxClients)),
	)
}

func (b *BotsConfig) validate() error {
	switch b.Action {
	case BotActionDrop, BotActionMark, BotActionKeep:
		return nil
	}
	return fmt.Errorf("bots::action: %q must be one of drop, mark, keep", b.Action)
}

func validateProxies(list []string) error {
	_, err := clientip.NewResolver(list)
	return err
}

// prefixed puts key in front of err's message: "key: ...".
func prefixed(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", key, err)
}

func validatePositive(key string, v int64) error {
	if v <= 0 {
		return fmt.Errorf("%s: must be a positive number, got %d", key, v)
	}
	return nil
}
