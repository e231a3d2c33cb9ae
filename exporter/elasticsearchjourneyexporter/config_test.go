package elasticsearchjourneyexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadata"
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
	assert.Equal(t, []string{"http://localhost:9200"}, cfg.Endpoints)
	assert.Equal(t, "webjourney", cfg.IndexPrefix)
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	assert.True(t, cfg.RetryConfig.Enabled)

	// Batching happens in the exporter queue: it must be on by default.
	require.True(t, cfg.QueueConfig.HasValue())
	q := cfg.QueueConfig.Get()
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, q.Sizer)
	assert.EqualValues(t, 50_000, q.QueueSize)
	assert.Equal(t, 4, q.NumConsumers)
	require.True(t, q.Batch.HasValue())
	b := q.Batch.Get()
	assert.Equal(t, time.Second, b.FlushTimeout)
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, b.Sizer)
	assert.EqualValues(t, 1000, b.MinSize)
	assert.EqualValues(t, 5000, b.MaxSize)
}

func TestFullConfig(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, []string{"https://es1.example.com:9200", "https://es2.example.com:9200"}, cfg.Endpoints)
	assert.Equal(t, "shop-analytics", cfg.IndexPrefix)
	assert.Equal(t, "webjourney", cfg.User)
	assert.Equal(t, configopaque.String("s3cret"), cfg.Password)
	assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, configcompression.TypeDeflate, cfg.ClientConfig.Compression)
	assert.Equal(t, "/etc/ssl/es-ca.pem", cfg.ClientConfig.TLS.CAFile)
	v, ok := cfg.ClientConfig.Headers.Get("X-Tenant")
	assert.True(t, ok)
	assert.Equal(t, configopaque.String("shop"), v)

	q := cfg.QueueConfig.Get()
	assert.EqualValues(t, 20000, q.QueueSize)
	assert.Equal(t, 2, q.NumConsumers)
	b := q.Batch.Get()
	assert.Equal(t, 2*time.Second, b.FlushTimeout)
	assert.EqualValues(t, 500, b.MinSize)
	assert.EqualValues(t, 2000, b.MaxSize)

	assert.Equal(t, time.Second, cfg.RetryConfig.InitialInterval)
	assert.Equal(t, 10*time.Second, cfg.RetryConfig.MaxInterval)
	assert.Equal(t, 10*time.Minute, cfg.RetryConfig.MaxElapsedTime)

	assert.Equal(t, RetentionConfig{EventsMonths: 25, VisitsMonths: 25, VisitorsMonths: 13, CreditsMonths: 37, CheckInterval: 6 * time.Hour}, cfg.Retention)
	assert.Equal(t, "shop-analytics-dead-letter", cfg.DeadLetter.Index)
	assert.Equal(t, 14, cfg.DeadLetter.RetentionDays)
	assert.Equal(t, 90, cfg.Erasure.TombstoneDays)
}

// Dead letters are kept 30 days and erasures remembered 400 days unless
// configured otherwise.
func TestPrivacyDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, 30, cfg.DeadLetter.RetentionDays)
	assert.Equal(t, 400, cfg.Erasure.TombstoneDays)
	assert.Equal(t, 30, cfg.retention().DeadLetterDays)
}

func TestCredentialAndTLSConfigs(t *testing.T) {
	cfg, err := loadConfig(t, "tls_api_key_file")
	require.NoError(t, err)
	assert.Equal(t, "/run/credentials/otelcol-webjourney.service/elasticsearch.api_key", cfg.APIKeyFile)
	assert.Equal(t, "B8:7E:D6:D8:8C:36:22:55:66:1B:6E:FC:28:3B:DB:86:60:36:F6:88:E8:5C:4A:78:B4:48:6B:F6:22:65:7D:79", cfg.CATrustedFingerprint)
	assert.Equal(t, "es.example.com", cfg.ClientConfig.TLS.ServerName)
	assert.Equal(t, "/etc/otelcol-webjourney/client.crt", cfg.ClientConfig.TLS.CertFile)
	assert.Equal(t, "/etc/otelcol-webjourney/client.key", cfg.ClientConfig.TLS.KeyFile)

	cfg, err = loadConfig(t, "bearer_token_file")
	require.NoError(t, err)
	assert.Equal(t, "/run/credentials/otelcol-webjourney.service/elasticsearch.token", cfg.BearerTokenFile)
}

func TestAPIKeyAndNoQueueConfigs(t *testing.T) {
	cfg, err := loadConfig(t, "api_key")
	require.NoError(t, err)
	assert.NotEmpty(t, cfg.APIKey)

	cfg, err = loadConfig(t, "no_queue")
	require.NoError(t, err)
	assert.False(t, cfg.QueueConfig.HasValue())
}

func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name string
		want []string // substrings the error must hold: the key and the fix
	}{
		{"bad_endpoint_scheme", []string{"endpoints::1", "ftp://127.0.0.1:9200", "http:// or https://"}},
		{"bad_endpoint_url", []string{"endpoints::0", "not a valid URL"}},
		{"endpoint_credentials", []string{"endpoints::0", "use user and password"}},
		{"no_endpoints", []string{"endpoints", "at least one"}},
		{"single_endpoint_key", []string{"endpoint:", "endpoints"}},
		{"upper_case_prefix", []string{"index_prefix", "lower-case"}},
		{"prefix_starts_with_underscore", []string{"index_prefix", "starting with a letter or digit"}},
		{"prefix_with_star", []string{"index_prefix"}},
		{"zero_timeout", []string{"timeout", "positive"}},
		{"api_key_and_user", []string{"api_key", "not both"}},
		{"password_without_user", []string{"password", "user"}},
		{"password_and_password_file", []string{"password: set password or password_file, not both"}},
		{"user_without_password", []string{"user: set password", "password_file"}},
		{"api_key_and_bearer_token_file", []string{"bearer_token: set one way to authenticate, not both api_key and bearer_token"}},
		{"api_key_not_a_key", []string{`api_key: is neither "id:key" nor the base64 "encoded" form`}},
		{"credentials_and_auth_extension", []string{"auth: an authenticator extension and the exporter's own credentials"}},
		{"credentials_and_authorization_header", []string{"headers: an Authorization header and the exporter's own credentials"}},
		{"bad_fingerprint", []string{"ca_trusted_fingerprint: must be the SHA-256 fingerprint of the CA certificate: 64 hex digits"}},
		{"fingerprint_and_ca_file", []string{"ca_trusted_fingerprint: set either it or tls::ca_file"}},
		{"fingerprint_and_insecure", []string{"ca_trusted_fingerprint: pins the CA, which tls::insecure_skip_verify turns off"}},
		{"fingerprint_over_http", []string{`endpoints::0: "http://es:9200" is plain http, which ca_trusted_fingerprint cannot protect`}},
		{"bad_queue", []string{"sending_queue", "num_consumers"}},
		{"zstd_compression", []string{"compression", "gzip or deflate"}},
		{"bad_entity_retention", []string{
			"retention::visits_months: must be 0 (keep for ever) to 1200, not -1",
			"retention::visitors_months: must be 0 (keep for ever) to 1200, not 1201",
			"retention::check_interval: must be at least 1m",
		}},
		{"dead_letter_own_index", []string{"dead_letter::index", `"webjourney-visits" is one of the exporter's own`, "webjourney-dead-letter"}},
		{"dead_letter_events_index", []string{"dead_letter::index", "own events or entity indices"}},
		{"dead_letter_bad_name", []string{"dead_letter::index", "not a valid Elasticsearch index name"}},
		{"bad_dead_letter_retention", []string{"dead_letter::retention_days: must be 0 (keep for ever) to 36500, not -1"}},
		{"bad_tombstone_days", []string{"erasure::tombstone_days: must be 1 to 3650, not 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// An endpoint error must never echo credentials, nor an API key error the
// key.
func TestEndpointErrorHidesCredentials(t *testing.T) {
	_, err := loadConfig(t, "endpoint_credentials")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "changeme")
	_, err = loadConfig(t, "api_key_not_a_key")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "not-an-api-key")
}
