package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every configuration the repository ships must pass `otelcol-webjourney
// validate` with the built distribution.
func TestShippedConfigsValidate(t *testing.T) {
	bin := collectorBin(t)
	// The anonymizer reads its secret at start-up, as a deployment provides it.
	secret := filepath.Join(t.TempDir(), "anonymizer.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	// config/production.yaml reads its secrets from $CREDENTIALS_DIRECTORY
	// (systemd LoadCredential=, a mounted Secret): the anonymizer secret and
	// the Elasticsearch credentials, empty for none.
	creds := t.TempDir()
	for name, content := range map[string]string{"anonymizer.secret": strings.Repeat("cd", 32), "elasticsearch.password": "", "elasticsearch.api_key": ""} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	configs, err := filepath.Glob("../../config/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../load/*.yaml")
	configs = append(configs, more...)
	if len(configs) == 0 {
		t.Fatal("no shipped configs found")
	}
	for _, path := range configs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			args := []string{"validate", "--config", path}
			// The other load configs are overlays that scripts/load-compare.sh
			// merges onto nop.yaml; they are validated the same way.
			if filepath.Dir(path) == "../load" && filepath.Base(path) != "nop.yaml" {
				args = []string{"validate", "--config", "../load/nop.yaml", "--config", path}
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "ELASTICSEARCH_URL=http://127.0.0.1:9200", "WEBJOURNEY_ANONYMIZER_SECRET_FILE="+secret, "CREDENTIALS_DIRECTORY="+creds)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("validate %s: %v\n%s", path, err, out)
			}
		})
	}
}

// A configuration mistake fails at start-up with a message naming the key.
func TestConfigMistakesNameTheKey(t *testing.T) {
	bin := collectorBin(t)
	cases := map[string]struct {
		config string
		want   []string
	}{
		"no sites": {
			config: `
receivers:
  pixel:
    sites: []
exporters:
  nop:
service:
  pipelines:
    logs: {receivers: [pixel], exporters: [nop]}
`,
			want: []string{"pixel", "sites"},
		},
		"bad endpoint": {
			config: `
receivers:
  pixel:
    sites: [{id: shop}]
exporters:
  elasticsearch_journey:
    endpoints: ["ftp://127.0.0.1:9200"]
service:
  pipelines:
    logs: {receivers: [pixel], exporters: [elasticsearch_journey]}
`,
			want: []string{"elasticsearch_journey", "endpoints::0"},
		},
		"bad consent region": {
			config: `
receivers:
  pixel:
    sites: [{id: shop}]
processors:
  consent:
    sites:
      - id: shop
        opt_in_regions: [EU, ZZ]
exporters:
  nop:
service:
  pipelines:
    logs: {receivers: [pixel], processors: [consent], exporters: [nop]}
`,
			want: []string{"consent", "sites::0::opt_in_regions", `"ZZ"`, `(site "shop")`},
		},
		// Per-site settings were a map keyed by site id before 0.2.
		"sites map of 0.1": {
			config: `
receivers:
  pixel:
    sites: [{id: shop}]
processors:
  attribution:
    sites:
      shop:
        time_zone: Pacific/Auckland
exporters:
  nop:
service:
  pipelines:
    logs: {receivers: [pixel], processors: [attribution], exporters: [nop]}
`,
			want: []string{"attribution", "sites: a list of sites with an id since 0.2", `"- id: shop"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "validate", "--config", path).CombinedOutput()
			if err == nil {
				t.Fatalf("validate accepted a bad config:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("error output does not name %q:\n%s", w, out)
				}
			}
		})
	}
}
