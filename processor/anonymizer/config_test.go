package anonymizer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadata"
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
	assert.Equal(t, SecretSource{File: "testdata/secret.key"}, cfg.Secret)
	assert.Equal(t, "k1", cfg.KeyID)
	assert.Equal(t, 16, cfg.PseudonymBytes)
	assert.Equal(t, "day", cfg.Cookieless.Rotation)
	assert.Nil(t, cfg.Cookieless.Storage)
	assert.Equal(t, ClientAddressConfig{Action: AddressReduce, IPv4Octets: 3, IPv6PrefixBits: 48}, cfg.ClientAddress)
	assert.False(t, cfg.UserAgent.KeepOriginal)
	assert.Equal(t, allDetectors, cfg.Scrub.Detectors)
	assert.Empty(t, cfg.Recoverable.Attributes)
}

func TestFullConfig(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, SecretSource{Env: "WEBJOURNEY_TEST_ANONYMIZER_SECRET"}, cfg.Secret)
	assert.Equal(t, "k2", cfg.KeyID)
	assert.Equal(t, []string{"session.id"}, cfg.Pseudonymize)
	assert.Equal(t, "week", cfg.Cookieless.Rotation)
	require.NotNil(t, cfg.Cookieless.Storage)
	assert.Equal(t, "file_storage", cfg.Cookieless.Storage.String())
	assert.Equal(t, AddressDrop, cfg.ClientAddress.Action)
	assert.Equal(t, ScrubConfig{Detectors: []string{"email", "card"}, AllowParams: []string{"q", "page"}, DenyParams: []string{"customer"}, DropUnknownParams: true}, cfg.Scrub)
	assert.Equal(t, "r2", cfg.Recoverable.PrimaryKey)
	assert.Len(t, cfg.Recoverable.Keys, 2)
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for name, want := range map[string]string{
		"no_secret":          "secret: set exactly one of env",
		"secret_in_both":     "secret: set exactly one of env",
		"bad_detector":       `scrub::detectors::1: unknown detector "ssn"`,
		"empty_pseudonymize": "pseudonymize::1: an attribute name must not be empty",
		"bad_octets":         "client_address::ipv4_octets: must be 0 to 3, not 4",
		"bad_rotation":       `cookieless::rotation: must be day, week or month, not "hourly"`,
		"bad_primary":        `recoverable::primary_key: "nope" is not one of recoverable::keys`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

// Secrets are read at start-up; a missing or short one fails then, naming the key.
func TestSecretErrorsAtStartNameTheKey(t *testing.T) {
	create := func(cfg *Config) error {
		_, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		return err
	}
	cfg := createDefaultConfig()
	cfg.Secret = SecretSource{Env: "WEBJOURNEY_TEST_SURELY_UNSET"}
	assert.ErrorContains(t, create(cfg), "secret::env: environment variable WEBJOURNEY_TEST_SURELY_UNSET is not set")

	short := filepath.Join(t.TempDir(), "short.key")
	require.NoError(t, writeFile(short, "00112233445566778899aabbccddeeff\n"))
	cfg.Secret = SecretSource{File: short}
	assert.ErrorContains(t, create(cfg), "secret: must be at least 32 bytes, got 16")

	cfg.Secret = SecretSource{File: filepath.Join(t.TempDir(), "missing.key")}
	assert.ErrorContains(t, create(cfg), "secret::file: open")

	cfg = createDefaultConfig()
	cfg.Secret = SecretSource{File: "testdata/secret.key"}
	cfg.Recoverable = RecoverableConfig{Attributes: []string{"x"}, PrimaryKey: "r1", Keys: map[string]SecretSource{"r1": {File: short}}}
	assert.ErrorContains(t, create(cfg), "recoverable::keys::r1:")
}
