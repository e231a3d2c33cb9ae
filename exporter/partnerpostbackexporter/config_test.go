package partnerpostbackexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadata"
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
	p := cfg.Sites["shop"]["archipro"]
	require.NotNil(t, p)
	assert.Equal(t, []string{"purchase"}, p.Outcomes)
	// The client defaults reach a partner in its map.
	assert.Equal(t, defaultTimeout, p.Client.Timeout)
	assert.Equal(t, confighttp.NewDefaultClientConfig().IdleConnTimeout, p.Client.IdleConnTimeout) //nolint:staticcheck // what Unmarshal fills
	assert.Equal(t, defaultIdleConnsPerHost, p.Client.MaxIdleConnsPerHost)                         //nolint:staticcheck // idem
	tm, err := compile("x", p)
	require.NoError(t, err)
	assert.Equal(t, "GET", tm.method)
	assert.Equal(t, "last_touch", tm.model)
	assert.True(t, cfg.RetryConfig.Enabled)
	require.True(t, cfg.QueueConfig.HasValue())
	// Requests stay whole: the credits of one outcome travel together.
	assert.False(t, cfg.QueueConfig.Get().Batch.HasValue())
	l := newLimiter(p.RateLimit)
	assert.InDelta(t, 10, float64(l.Limit()), 0)
	assert.Equal(t, 10, l.Burst())
}

func TestFullConfig(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	p := cfg.Sites["shop"]["trackier"]
	assert.Equal(t, 3*time.Second, p.Client.Timeout)
	assert.Equal(t, "/etc/webjourney/trackier-ca.pem", p.Client.TLS.CAFile)
	assert.Equal(t, 0.25, p.MinCredit)
	assert.Equal(t, "linear", p.Model)
	assert.Equal(t, ConsentConfig{TCFPurposes: []uint8{1, 7, 9}, IABVendorID: 755, GPC: "ignore", DNT: "deny"}, p.Consent)
	assert.Equal(t, KeySource{Env: "WEBJOURNEY_CLICK_ID_K1"}, cfg.ClickID.Keys["k1"])
	l := newLimiter(p.RateLimit)
	assert.InDelta(t, 5, float64(l.Limit()), 0)
	assert.Equal(t, 20, l.Burst())
	tm, err := compile("x", p)
	require.NoError(t, err)
	assert.Equal(t, "application/json", tm.contentType)
	assert.True(t, tm.uses("click_id"))
	require.NotNil(t, cfg.QueueConfig.Get().StorageID)
}

func TestValidateNamesTheKey(t *testing.T) {
	_, err := loadConfig(t, "bad")
	require.Error(t, err)
	for _, want := range []string{
		"click_id::keys::K1: key id",
		"click_id::keys::K1: set exactly one of env or file",
		"sites::shop::archipro::url: a macro may not be part of the host",
		`sites::shop::archipro::method: "PUT"`,
		"sites::shop::archipro::body_format: required with body",
		"sites::shop::archipro::headers::Idempotency-Key: set by the exporter",
		"sites::shop::archipro::headers::bad name: not a valid header name",
		"sites::shop::archipro::outcomes: required",
		`sites::shop::archipro::model: "best_touch"`,
		"sites::shop::archipro::min_credit",
		"sites::shop::archipro::secret_env: set exactly one",
		"sites::shop::archipro::client::endpoint: not used",
		"sites::shop::empty::url: required",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.ErrorContains(t, (&Config{}).Validate(), "sites: configure at least one")
}
