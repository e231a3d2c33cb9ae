package pixelreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "localhost:8090", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, "/p.gif", cfg.PixelPath)
	assert.Equal(t, "/p.html", cfg.IframePath)
	assert.Equal(t, "/b", cfg.BeaconPath)
	assert.Equal(t, "/wj/import", cfg.ImportPath)
	assert.Equal(t, int64(64*1024), cfg.ServerConfig.MaxRequestBodySize)
	assert.Equal(t, 50, cfg.Limits.MaxEventsPerBeacon)
	assert.Equal(t, 2048, cfg.Limits.MaxStringLength)
	assert.Equal(t, 25, cfg.Limits.MaxProperties)
	assert.False(t, cfg.RoutingKey, "the routing key is only for the two-tier layout")
	assert.Equal(t, PlausibleConfig{Path: "/api/event"}, cfg.Protocols.Plausible, "other trackers' endpoints are off until enabled")
	assert.Equal(t, MatomoConfig{Paths: []string{"/matomo.php", "/piwik.php"}}, cfg.Protocols.Matomo)
	assert.Equal(t, GA4Config{MPPath: "/mp/collect", DebugMPPath: "/debug/mp/collect", CollectPath: "/g/collect"}, cfg.Protocols.GA4)
	// Sites are required, so the default alone must not validate.
	require.ErrorContains(t, confmap.Validate(cfg), "sites: at least one site is required")
}

func TestLoadValidConfig(t *testing.T) {
	minimal := loadConfig(t, "minimal")
	require.NoError(t, confmap.Validate(minimal))
	want := createDefaultConfig().(*Config)
	want.Sites = []SiteConfig{testSite("shop")}
	assert.Equal(t, want, minimal)

	custom := loadConfig(t, "custom")
	require.NoError(t, confmap.Validate(custom))
	assert.Equal(t, "0.0.0.0:9000", custom.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, "/collect/p.gif", custom.PixelPath)
	assert.Equal(t, "/collect/p.html", custom.IframePath)
	assert.Equal(t, "/collect/b", custom.BeaconPath)
	assert.Equal(t, int64(32768), custom.ServerConfig.MaxRequestBodySize)
	assert.Equal(t, []SiteConfig{testSite("shop"), testSite("blog.example_1-2")}, custom.Sites)
	assert.Equal(t, LimitsConfig{MaxEventsPerBeacon: 10, MaxStringLength: 1024, MaxProperties: 5}, custom.Limits)

	full := loadConfig(t, "full")
	require.NoError(t, confmap.Validate(full))
	assert.Equal(t, "/assets/app.js", full.TagPath)
	assert.Equal(t, "siteStats", full.TagGlobal)
	assert.Equal(t, BotActionMark, full.Bots.Action)
	assert.True(t, full.RoutingKey)
	site := full.Sites[0]
	assert.Equal(t, "k-123", string(site.WriteKey))
	assert.Equal(t, "import-key-0123456789", string(site.Import.Key))
	assert.Equal(t, 8760*time.Hour, site.Import.MaxAge)
	assert.False(t, site.Consent.Required)
	assert.True(t, site.Consent.HonorGPC, "unset keys keep their defaults")
	assert.True(t, site.Consent.TCF)
	assert.Equal(t, CookieModeServer, site.Cookies.Mode)
	assert.Equal(t, "vid", site.Cookies.VisitorName)
	assert.Equal(t, "_wjses", site.Cookies.SessionName)
	assert.Equal(t, 45*time.Minute, site.SessionIdleTimeout)
	assert.Equal(t, []string{"query"}, site.SearchParams)
	assert.False(t, site.Track.Forms)
	assert.True(t, site.Track.Outbound)
	require.Len(t, site.ReferralPartners, 1)
	assert.Equal(t, 720*time.Hour, site.ReferralPartners[0].AttributionWindow)
	assert.Equal(t, []string{"archipro.co.nz", "archipro.com.au"}, site.ReferralPartners[0].Domains)
	assert.Equal(t, PlausibleConfig{Enabled: true, Path: "/stats/api/event"}, full.Protocols.Plausible)
	assert.Equal(t, []string{"shop.example", "www.shop.example"}, site.Protocols.Plausible.Domains)
	assert.Equal(t, MatomoConfig{Enabled: true, Paths: []string{"/matomo.php", "/js/piwik.php"}}, full.Protocols.Matomo)
	assert.Equal(t, []int{1, 4}, site.Protocols.Matomo.SiteIDs)
	assert.Equal(t, GA4Config{Enabled: true, MPPath: "/mp/collect", CollectPath: "/g/collect"}, full.Protocols.GA4)
	assert.Equal(t, []string{"G-ABC123DEF4"}, site.Protocols.GA4.MeasurementIDs)
	require.Len(t, site.Protocols.GA4.APISecrets, 1)
	assert.Equal(t, "mp-secret-1", string(site.Protocols.GA4.APISecrets[0]))
	assert.Equal(t, "https://shop.example/", site.Protocols.GA4.DefaultPageURL)
}

func TestLoadInvalidConfig(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"no_sites", "sites: at least one site is required"},
		{"duplicate_site", `sites::1::id: duplicate "shop" (also sites::0::id)`},
		{"bad_site_id", `sites::1::id: "my shop" must be 1-64 characters of [A-Za-z0-9._-]`},
		{"empty_site_id", `sites::0::id: "" must be 1-64 characters`},
		{"relative_pixel_path", `pixel_path: "p.gif" must be an absolute URL path`},
		{"beacon_path_with_query", `beacon_path: "/b?x=1" must be a plain URL path`},
		{"same_paths", `beacon_path: "/collect" is already pixel_path`},
		{"iframe_path_is_pixel_path", `iframe_path: "/p.gif" is already pixel_path`},
		{"relative_iframe_path", `iframe_path: "p.html" must be an absolute URL path`},
		{"zero_events", "limits::max_events_per_beacon: must be a positive number, got 0"},
		{"negative_string_length", "limits::max_string_length: must be a positive number, got -1"},
		{"zero_properties", "limits::max_properties: must be a positive number, got 0"},
		{"zero_body_size", "max_request_body_size: must be a positive number, got 0"},
		{"bad_tag_global", "tag_global: "},
		{"tag_path_is_beacon_path", `tag_path: "/b" is already beacon_path`},
		{"bad_proxy", "trusted_proxies: "},
		{"bad_bot_action", `bots::action: "block" must be one of drop, mark, keep`},
		{"negative_rate", "rate_limit::requests_per_second: must be 0 (off) or positive"},
		{"bad_origin", `sites::0::allowed_origins::0: "https://shop.example/path" must be an origin`},
		{"long_cookie", "sites::0::cookies::max_age: 10000h0m0s must be between 24h and 9480h"},
		{"bad_cookie_mode", `sites::0::cookies::mode: "always" must be one of auto, server, script, none`},
		{"same_cookie_names", "sites::0::cookies: visitor_name, session_name and referral_name must differ"},
		{"short_session", "sites::0::session_idle_timeout: 10s must be between 1m and 24h (site \"shop\")"},
		{"bad_partner", `sites::0::referral_partners::0::name: "a:b" must be 1-64 characters`},
		{"partner_matches_nothing", "sites::0::referral_partners::0: set param or domains (or both)"},
		{"partner_public_suffix", `sites::0::referral_partners::0::domains::1: "co.nz" is a public suffix, not a site`},
		{"import_path_is_beacon_path", `import_path: "/b" is already beacon_path`},
		{"import_key_is_write_key", "sites::0::import::key: must differ from write_key"},
		{"short_import_key", "sites::0::import::key: must be 16-256 bytes"},
		{"import_key_and_file", "sites::0::import: set key or key_file, not both"},
		{"negative_import_age", "sites::0::import::max_age: -1h0m0s must be 0 (any age) or positive"},
		{"partner_twice", `sites::0::referral_partners::1::name: "ArchiPro" is also referral_partners::0`},
		{"plausible_without_domains", "protocols::plausible::enabled: no site lists its Plausible domains; add sites::N::protocols::plausible::domains"},
		{"plausible_domains_disabled", "sites::0::protocols::plausible::domains: set, but protocols::plausible::enabled is false"},
		{"plausible_bad_domain", `sites::0::protocols::plausible::domains::0: "https://shop.example/" must be a host name such as shop.example`},
		{"plausible_domain_twice", `sites::1::protocols::plausible::domains::0: "Shop.Example" is already listed by sites::0`},
		{"plausible_path_is_beacon_path", `protocols::plausible::path: "/b" is already beacon_path`},
		{"matomo_without_site_ids", "protocols::matomo::enabled: no site lists its Matomo site ids; add sites::N::protocols::matomo::site_ids"},
		{"matomo_site_ids_disabled", "sites::0::protocols::matomo::site_ids: set, but protocols::matomo::enabled is false"},
		{"matomo_bad_site_id", "sites::0::protocols::matomo::site_ids::0: 0 must be a Matomo site id, a whole number from 1"},
		{"matomo_site_id_twice", "sites::1::protocols::matomo::site_ids::1: 1 is already listed by sites::0"},
		{"matomo_no_paths", "protocols::matomo::paths: empty; list at least one path"},
		{"matomo_relative_path", `protocols::matomo::paths::0: "matomo.php" must be an absolute URL path`},
		{"matomo_path_is_pixel_path", `protocols::matomo::paths::1: "/p.gif" is already pixel_path`},
		{"ga4_without_measurement_ids", "protocols::ga4::enabled: no site lists its measurement ids"},
		{"ga4_bad_measurement_id", `sites::0::protocols::ga4::measurement_ids::0: "UA-1234-1" must be a GA4 measurement id`},
		{"ga4_measurement_id_twice", `sites::1::protocols::ga4::measurement_ids::0: "g-abc123def4" is already listed by sites::0`},
		{"ga4_collect_path_is_pixel_path", `protocols::ga4::collect_path: "/p.gif" is already pixel_path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, tt.name))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
