package configdoctor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"
	"github.com/webjourney/webjourney/processor/anonymizer"
	"github.com/webjourney/webjourney/processor/attributionprocessor"
	"github.com/webjourney/webjourney/processor/consentprocessor"
	"github.com/webjourney/webjourney/receiver/pixelreceiver"
)

// noEnv is an environment with nothing set: every reference takes its default.
func noEnv(string) (string, bool) { return "", false }

func check(t *testing.T, lookup func(string) (string, bool), paths ...string) []Finding {
	t.Helper()
	cfg, err := Load(paths, lookup)
	require.NoError(t, err)
	return Check(cfg)
}

func checkYAML(t *testing.T, yaml string) []Finding {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	return check(t, noEnv, p)
}

// keys lists "severity key" of each finding.
func keys(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.Severity) + " " + f.Key
	}
	return out
}

// The shipped production config is clean, with its defaults and with the
// environment file the packages install.
func TestProductionConfigIsClean(t *testing.T) {
	assert.Empty(t, check(t, noEnv, "../../config/production.yaml"))
	env, err := ReadEnvFiles([]string{"../../deploy/systemd/otelcol-webjourney.conf"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8090", env["WEBJOURNEY_LISTEN"])
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	assert.Empty(t, check(t, lookup, "../../config/production.yaml"))
}

// The demo config has the hazards of a demo, each named by its key.
func TestDefaultConfigHazards(t *testing.T) {
	assert.Equal(t, []string{
		"error exporters::elasticsearch_journey::retention::credits_months",
		"error exporters::elasticsearch_journey::retention::events_months",
		"error exporters::elasticsearch_journey::retention::visitors_months",
		"error exporters::elasticsearch_journey::retention::visits_months",
		"error exporters::elasticsearch_journey::sending_queue::storage",
		"error processors::anonymizer::cookieless::storage",
		"error processors::attribution::storage",
		"error receivers::pixel::trusted_proxies",
		"warning exporters::elasticsearch_journey::dead_letter::index",
	}, keys(check(t, noEnv, "../../config/default.yaml")))
	for _, f := range check(t, noEnv, "../../config/default.yaml") {
		assert.NotEmpty(t, f.Problem, f.Key)
		assert.NotEmpty(t, f.Fix, f.Key)
	}
}

// base is a clean production-like config that the cases below break one
// way at a time.
const base = `
extensions:
  file_storage:
receivers:
  pixel:
    endpoint: 0.0.0.0:8090
    sites: [{id: shop}]
processors:
  memory_limiter:
  consent:
  anonymizer:
    secret: {file: /run/credentials/anonymizer.secret}
    cookieless: {storage: file_storage}
  attribution:
    storage: file_storage
exporters:
  elasticsearch_journey:
    endpoints: [https://es:9200]
    sending_queue: {storage: file_storage}
    retention: {events_months: 13, visits_months: 13, visitors_months: 13, credits_months: 13}
    dead_letter: {index: webjourney-dead-letter}
service:
  extensions: [file_storage]
  pipelines:
    logs:
      receivers: [pixel]
      processors: [memory_limiter, consent, anonymizer, attribution]
      exporters: [elasticsearch_journey]
`

func TestHazards(t *testing.T) {
	require.Empty(t, checkYAML(t, base))
	cases := map[string]struct {
		old, new string
		want     []string
	}{
		"queue off": {
			"sending_queue: {storage: file_storage}", "sending_queue: {enabled: false}",
			[]string{"error exporters::elasticsearch_journey::sending_queue::enabled"},
		},
		"storage extension not enabled": {
			"extensions: [file_storage]", "extensions: []",
			[]string{
				"error exporters::elasticsearch_journey::sending_queue::storage",
				"error processors::anonymizer::cookieless::storage",
				"error processors::attribution::storage",
			},
		},
		"retention over the CNIL limit": {
			"  consent:\n", "  consent:\n    sites: [{id: shop, cnil_exemption: {enabled: true, retention_months: 12}}]\n",
			[]string{
				"error exporters::elasticsearch_journey::retention::credits_months",
				"error exporters::elasticsearch_journey::retention::events_months",
				"error exporters::elasticsearch_journey::retention::visitors_months",
				"error exporters::elasticsearch_journey::retention::visits_months",
			},
		},
		"opt_out everywhere": {
			"  consent:\n", "  consent:\n    default: opt_out\n",
			[]string{"error processors::consent::default"},
		},
		"a site opts out everywhere": {
			"  consent:\n", "  consent:\n    sites: [{id: blog}, {id: shop, default: opt_out}]\n",
			[]string{"error processors::consent::sites::1::default"},
		},
		"regions without geo": {
			"  consent:\n", "  consent:\n    default: opt_out\n    opt_in_regions: [EEA, GB]\n",
			[]string{"error processors::consent::opt_in_regions"},
		},
		"regions with geo": {
			"  consent:\n", "  consent:\n    default: opt_out\n    opt_in_regions: [EEA]\n  batch:\n",
			nil, // replaced below: geo set
		},
		"loopback without trusted proxies": {
			"endpoint: 0.0.0.0:8090", "endpoint: localhost:8090",
			[]string{"error receivers::pixel::trusted_proxies"},
		},
		"loopback with a trusted proxy": {
			"endpoint: 0.0.0.0:8090", "endpoint: 127.0.0.1:8090\n    trusted_proxies: [127.0.0.1]",
			nil,
		},
		"password inline": {
			"endpoints: [https://es:9200]", "endpoints: [https://es:9200]\n    user: elastic\n    password: hunter2",
			[]string{"error exporters::elasticsearch_journey::password"},
		},
		"password as the default of a reference": {
			"endpoints: [https://es:9200]", "endpoints: [https://es:9200]\n    password: ${env:ES_PASSWORD:-hunter2}",
			[]string{"error exporters::elasticsearch_journey::password"},
		},
		"password from a file or the environment": {
			"endpoints: [https://es:9200]", "endpoints: [https://es:9200]\n    password: ${file:/run/credentials/es}\n    api_key: ${env:ES_API_KEY}\n    headers: {X-Empty: \"${env:X:-}\"}",
			nil,
		},
		"authorization header inline": {
			"endpoints: [https://es:9200]", "endpoints: [https://es:9200]\n    headers: {Authorization: Basic ZWxhc3RpYzpodW50ZXIy}",
			[]string{"error exporters::elasticsearch_journey::headers::Authorization"},
		},
		"secret from the environment": {
			"secret: {file: /run/credentials/anonymizer.secret}", "secret: {env: WEBJOURNEY_SECRET}",
			[]string{"warning processors::anonymizer::secret::env"},
		},
		"no memory_limiter": {
			"processors: [memory_limiter, consent", "processors: [consent",
			[]string{"warning service::pipelines::logs::processors"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := strings.Replace(base, tc.old, tc.new, 1)
			require.NotEqual(t, base, cfg, "case does not change the config")
			if name == "regions with geo" {
				cfg = strings.Replace(cfg, "endpoint: 0.0.0.0:8090", "endpoint: 0.0.0.0:8090\n    geoip: {database: /var/lib/GeoIP/country.mmdb}", 1)
			}
			assert.Equal(t, tc.want, nilIfEmpty(keys(checkYAML(t, cfg))))
		})
	}
}

// A collector without a pixel receiver (the back tier) gets its regions
// from the fronts: a reminder, not an error.
func TestRegionsOnTheBackTier(t *testing.T) {
	cfg := strings.NewReplacer(
		"  consent:\n", "  consent:\n    opt_out_regions: [US]\n",
		"receivers: [pixel]", "receivers: [otlp]",
		"receivers:\n", "receivers:\n  otlp:\n    protocols: {grpc: {}}\n",
	).Replace(base)
	assert.Equal(t, []string{"warning processors::consent::opt_out_regions"}, keys(checkYAML(t, cfg)))
}

// Environment references resolve from the given environment: a default
// only when the variable is unset, as in the collector.
func TestEnvironment(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(base, "endpoint: 0.0.0.0:8090",
		"endpoint: ${env:LISTEN:-0.0.0.0:8090}\n    trusted_proxies: ${env:PROXIES:-[127.0.0.1]}", 1)), 0o600))
	env := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	assert.Empty(t, check(t, lookup, p))
	env["LISTEN"] = "127.0.0.1:8090"
	assert.Empty(t, check(t, lookup, p), "the default trusted proxy applies")
	env["PROXIES"] = ""
	assert.Equal(t, []string{"error receivers::pixel::trusted_proxies"}, keys(check(t, lookup, p)), "set but empty: no proxy")
}

// Later files are merged over earlier ones, as the collector's --config.
func TestMerge(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	require.NoError(t, os.WriteFile(a, []byte(base), 0o600))
	require.NoError(t, os.WriteFile(b, []byte("processors:\n  attribution:\n    storage: null\n"), 0o600))
	assert.Equal(t, []string{"error processors::attribution::storage"}, keys(check(t, noEnv, a, b)))
}

func TestParseEnvFile(t *testing.T) {
	env, err := ParseEnvFile(strings.NewReader("# comment\n; also\n\nA=1\nB=\"two words\"\nexport C='3'\nD=\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "1", "B": "two words", "C": "3", "D": ""}, env)
	_, err = ParseEnvFile(strings.NewReader("no equals sign\n"))
	assert.ErrorContains(t, err, "line 1")
}

// Every key the doctor reads is a key of the component it belongs to: a
// rename in a component's config makes this fail instead of leaving a
// hazard unchecked.
func TestKeysExist(t *testing.T) {
	cm, err := confmaptest.LoadConf("testdata/every_key.yaml")
	require.NoError(t, err)
	for key, cfg := range map[string]any{
		"receivers::pixel":                 pixelreceiver.NewFactory().CreateDefaultConfig(),
		"processors::consent":              consentprocessor.NewFactory().CreateDefaultConfig(),
		"processors::anonymizer":           anonymizer.NewFactory().CreateDefaultConfig(),
		"processors::attribution":          attributionprocessor.NewFactory().CreateDefaultConfig(),
		"exporters::elasticsearch_journey": elasticsearchjourneyexporter.NewFactory().CreateDefaultConfig(),
	} {
		sub, err := cm.Sub(key)
		require.NoError(t, err, key)
		assert.NoError(t, sub.Unmarshal(cfg, confmap.WithIgnoreUnused()), key) // decodes every value
		assert.NoError(t, sub.Unmarshal(cfg), "%s: a key the doctor reads is unknown to the component", key)
	}
	// And the file exercises every check's key.
	fs := check(t, noEnv, "testdata/every_key.yaml")
	assert.True(t, slices.ContainsFunc(fs, func(f Finding) bool { return f.Key == "processors::anonymizer::secret::env" }))
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
