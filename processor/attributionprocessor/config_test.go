package attributionprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cfg, err := unmarshalConfig(t, name)
	require.NoError(t, err)
	return cfg, confmap.Validate(cfg)
}

// unmarshalConfig decodes testdata/config.yaml's attribution/<name> over
// the defaults, without validating.
func unmarshalConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	return cfg, sub.Unmarshal(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, 20*time.Minute, cfg.Journey.IdleTimeout)
	assert.True(t, cfg.Journey.SplitAtMidnight)
	assert.Equal(t, 6, cfg.Journey.PathLength)
	require.Len(t, cfg.Sites, 1)
	assert.Equal(t, "nz", cfg.Sites[0].ID)
	assert.Equal(t, "Pacific/Auckland", cfg.Sites[0].TimeZone)
	assert.Equal(t, []string{"shop.example.nz"}, cfg.Sites[0].InternalDomains)
	assert.Equal(t, CountEveryEvent, cfg.Outcomes[0].Count)
	assert.Equal(t, []string{"linear", "time_decay"}, cfg.Attribution.Models)
	assert.Equal(t, "file_storage", cfg.Storage.String())
	assert.Equal(t, 30*time.Second, cfg.CheckpointInterval)
	assert.Equal(t, 5*time.Second, cfg.EmitInterval)
}

// Referral partners are the pixel receiver's (its config checks what was
// checked here: name, param or domains, window); a configuration that
// still has them here fails at start, naming the key and where it went.
func TestPartnersKeyNamesTheFix(t *testing.T) {
	_, err := unmarshalConfig(t, "partners")
	require.Error(t, err)
	assert.ErrorContains(t, err, "partners: the attribution processor no longer defines referral partners")
	assert.ErrorContains(t, err, "receivers::pixel::sites::<n>::referral_partners")
	// So does an empty list: the key itself is what must go.
	empty := confmap.NewFromStringMap(map[string]any{"partners": []any{}})
	assert.ErrorIs(t, empty.Unmarshal(createDefaultConfig()), errPartnersMoved)
}

// Sites are a list with ids, as in every component; the map of 0.1 fails
// at start and says how to write it now.
func TestSitesMapIsRefused(t *testing.T) {
	_, err := unmarshalConfig(t, "sites_map")
	assert.ErrorContains(t, err, `sites: a list of sites with an id since 0.2, not a map keyed by site id; write "- id: nz"`)
}

// Every configuration mistake fails naming its key (and the rule).
func TestConfigErrorsNameTheKey(t *testing.T) {
	for want, change := range map[string]func(*Config){
		"journey::idle_timeout":   func(c *Config) { c.Journey.IdleTimeout = 0 },
		"journey::reorder_window": func(c *Config) { c.Journey.ReorderWindow = time.Hour },
		"journey::max_visitors":   func(c *Config) { c.Journey.MaxVisitors = 0 },
		"journey::max_touches":    func(c *Config) { c.Journey.MaxTouches = 0 },
		"journey::max_seen_ids":   func(c *Config) { c.Journey.MaxSeenIDs = -1 },
		"journey::path_length":    func(c *Config) { c.Journey.PathLength = 51 },
		"journey::time_zone":      func(c *Config) { c.Journey.TimeZone = "Mars/Olympus" },
		`sites::0::time_zone: unknown time zone Nowhere (site "nz")`: func(c *Config) { c.Sites = []SiteConfig{{ID: "nz", TimeZone: "Nowhere"}} },
		`sites::1::internal_domains::0: "not a domain/" is not a valid domain (site "nz")`: func(c *Config) {
			c.Sites = []SiteConfig{{ID: "au"}, {ID: "nz", InternalDomains: []string{"not a domain/"}}}
		},
		`sites::1::id: duplicate "nz" (also sites::0::id)`: func(c *Config) { c.Sites = []SiteConfig{{ID: "nz"}, {ID: "nz"}} },
		"sites::0::id: must not be empty":                  func(c *Config) { c.Sites = []SiteConfig{{TimeZone: "UTC"}} },
		"checkpoint_interval":                              func(c *Config) { c.CheckpointInterval = -time.Second },
		"internal_domains::0":                              func(c *Config) { c.InternalDomains = []string{"not a domain/"} },
		"outcomes::buy::conditions: at least":              func(c *Config) { c.Outcomes = []OutcomeConfig{{Name: "buy"}} },
		"outcomes::buy::count": func(c *Config) {
			c.Outcomes = []OutcomeConfig{{Name: "buy", Conditions: []string{"true"}, Count: "twice"}}
		},
		"outcomes::buy::currency": func(c *Config) {
			c.Outcomes = []OutcomeConfig{{Name: "buy", Conditions: []string{"true"}, Currency: "euro"}}
		},
		"outcomes::buy::conditions::1": func(c *Config) {
			c.Outcomes = []OutcomeConfig{{Name: "buy", Conditions: []string{"true", `attributes["x" ==`}}}
		},
		"outcomes::buy::value": func(c *Config) {
			c.Outcomes = []OutcomeConfig{{Name: "buy", Conditions: []string{"true"}, Value: "NoSuchFunc(1)"}}
		},
		"outcomes::a::name: configured twice": func(c *Config) {
			c.Outcomes = []OutcomeConfig{{Name: "a", Conditions: []string{"true"}}, {Name: "a", Conditions: []string{"true"}}}
		},
		"segments::deep::conditions::0": func(c *Config) {
			c.Segments = []SegmentConfig{{Name: "deep", Conditions: []string{"attributes[ >= 3"}}}
		},
		"segments::0::name":                              func(c *Config) { c.Segments = []SegmentConfig{{Name: "", Conditions: []string{"true"}}} },
		"attribution::models: at least one":              func(c *Config) { c.Attribution.Models = nil },
		"attribution::models: unknown attribution model": func(c *Config) { c.Attribution.Models = []string{"u_shaped"} },
		"attribution::half_life":                         func(c *Config) { c.Attribution.HalfLife = 0 },
		"attribution::first_weight + last_weight":        func(c *Config) { c.Attribution.FirstWeight, c.Attribution.LastWeight = 0.7, 0.7 },
	} {
		t.Run(want, func(t *testing.T) {
			cfg := createDefaultConfig()
			change(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}
