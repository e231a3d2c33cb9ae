package consentprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/webjourney/webjourney/processor/consentprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, PolicyOptIn, cfg.Default)
	assert.Equal(t, WithoutConsentAnonymous, cfg.WithoutConsent)
	assert.Equal(t, SignalDenyAll, cfg.GPC)
	assert.Equal(t, SignalIgnore, cfg.DNT)
	assert.False(t, cfg.CNILExemption.Enabled)
	assert.Equal(t, []uint8{8}, cfg.TCF.Purposes)
	assert.EqualValues(t, 4, cfg.TCF.MinPolicyVersion)
	assert.True(t, cfg.ErasureOnWithdrawal)
	assert.Empty(t, cfg.Sites)
}

func TestFullConfig(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, []string{"EEA", "GB", "CH"}, cfg.OptInRegions)
	assert.Equal(t, WithoutConsentDrop, cfg.WithoutConsent)
	assert.Equal(t, TCFConfig{VendorID: 1234, PublisherPurposes: true, Purposes: []uint8{7, 8, 9, 10}, MinPolicyVersion: 2, CacheSize: 100}, cfg.TCF)
	assert.False(t, cfg.ErasureOnWithdrawal)

	// A site starts from the top-level policy and changes only what it names.
	require.Len(t, cfg.Sites, 2)
	blog := cfg.Sites[0]
	assert.Equal(t, "blog", blog.ID)
	assert.Equal(t, PolicyOptOut, blog.Default)
	assert.Equal(t, WithoutConsentAnonymous, blog.WithoutConsent)
	assert.Equal(t, SignalDenyMarketing, blog.GPC)
	assert.Equal(t, SignalDenyAll, blog.DNT)
	assert.Equal(t, []string{"EEA", "GB", "CH"}, blog.OptInRegions)
	fr := cfg.Sites[1]
	assert.Equal(t, "fr-news", fr.ID)
	assert.Equal(t, CNILExemption{Enabled: true, RetentionMonths: 13}, fr.CNILExemption)
	assert.Equal(t, WithoutConsentDrop, fr.WithoutConsent)
}

// Every mistake fails at start-up and names its key.
func TestConfigErrorsNameTheKey(t *testing.T) {
	for name, want := range map[string]string{
		"bad_default":           `default: must be opt_in or opt_out, not "maybe"`,
		"bad_region":            `opt_in_regions: "XX" is not an ISO 3166 country`,
		"contradictory_regions": "opt_out_regions: DE is also in opt_in_regions",
		"unknown_purpose":       "tcf::purposes: 1 is not a measurement purpose",
		"bad_site":              `sites::0::gpc: must be ignore, deny_marketing or deny_all, not "sometimes" (site "shop")`,
		"cnil_opt_out":          `sites::1::cnil_exemption::enabled: contradicts default: opt_out; the exemption is for sites that otherwise need consent (site "fr")`,
		"duplicate_site":        `sites::1::id: duplicate "shop" (also sites::0::id)`,
		"site_without_id":       "sites::0::id: must not be empty",
		"cnil_retention":        "cnil_exemption::retention_months: must be 1 to 25",
		"bad_subdivision":       `opt_out_regions: "US-CALIFORNIA" is not`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

// A site policy of the old shape (a map keyed by site id) fails at start
// and says how to write it now.
func TestSitesMapIsRefused(t *testing.T) {
	_, err := loadConfig(t, "sites_map")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `sites: a list of sites with an id since 0.2, not a map keyed by site id; write "- id: blog"`)
}

// A misspelt key of a site fails like any unknown key, under the site's key.
func TestUnknownSiteKey(t *testing.T) {
	_, err := loadConfig(t, "unknown_site_key")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sites::0: ")
	assert.Contains(t, err.Error(), "invalid keys: defualt")
}
