package configdoctor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// load writes yaml to a file and loads it, with ${env:...} from env.
func load(t *testing.T, yaml string, env map[string]string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	c, err := Load([]string{path}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	return c
}

func TestAnonymizerSettings(t *testing.T) {
	c := load(t, `
processors:
  anonymizer:
    secret: {file: /etc/webjourney/k2.secret}
    key_id: ${env:KEY_ID}
    pseudonym_bytes: 20
  anonymizer/tier2:
    secret: {env: WJ_SECRET}
  consent: {}
`, map[string]string{"KEY_ID": "k2"})
	a, err := c.Anonymizer("anonymizer")
	require.NoError(t, err)
	assert.Equal(t, &Anonymizer{Key: "processors::anonymizer", SecretFile: "/etc/webjourney/k2.secret", KeyID: "k2", PseudonymBytes: 20}, a)
	a, err = c.Anonymizer("anonymizer/tier2")
	require.NoError(t, err)
	assert.Equal(t, &Anonymizer{Key: "processors::anonymizer/tier2", SecretEnv: "WJ_SECRET"}, a, "defaults are left to the caller")

	_, err = c.Anonymizer("")
	assert.EqualError(t, err, "several anonymizer processors (anonymizer, anonymizer/tier2): name one")
	_, err = c.Anonymizer("anonymizer/x")
	assert.EqualError(t, err, `no processor "anonymizer/x" in the configuration (its anonymizer processors: anonymizer, anonymizer/tier2)`)
}

func TestAnonymizerSettingsErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"processors: {consent: {}}", "no anonymizer processor in the configuration"},
		{"processors: {anonymizer: {}}", "processors::anonymizer::secret: set exactly one of env or file"},
		{"processors: {anonymizer: {secret: {env: A, file: /b}}}", "processors::anonymizer::secret: set exactly one of env or file"},
		{"processors: {anonymizer: {secret: {env: A}, key_id: 7}}", "processors::anonymizer::key_id: not a string"},
		{"processors: {anonymizer: {secret: {env: A}, pseudonym_bytes: many}}", "processors::anonymizer::pseudonym_bytes: not a whole number"},
	} {
		_, err := load(t, tc.yaml, nil).Anonymizer("")
		assert.EqualError(t, err, tc.want, tc.yaml)
	}
}
