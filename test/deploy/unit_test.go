package deploy

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The systemd unit is hardened as docs/deploy.md says, reads every secret
// as a credential, and systemd rates its exposure "OK" (2.0 or less of 10).
// (TestDebInstallUpgradeRunPurge runs `systemd-analyze verify` on the
// installed unit, with its binary in place.)
func TestSystemdUnit(t *testing.T) {
	path := repo("deploy/systemd/otelcol-webjourney.service")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	unit := parseUnit(t, string(data))
	for key, want := range map[string]string{
		"User":                  "otelcol-webjourney",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"PrivateTmp":            "yes",
		"CapabilityBoundingSet": "",
		"AmbientCapabilities":   "",
		"ReadWritePaths":        "/var/lib/otelcol-webjourney",
		"StateDirectory":        "otelcol-webjourney",
		"Restart":               "on-failure",
		"EnvironmentFile":       "/etc/otelcol-webjourney/otelcol-webjourney.conf",
	} {
		assert.Equal(t, []string{want}, unit[key], key)
	}
	var ids []string
	for _, lc := range unit["LoadCredential"] {
		id, src, _ := strings.Cut(lc, ":")
		assert.Equal(t, "/etc/otelcol-webjourney/secrets/"+id, src)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	assert.Equal(t, []string{"anonymizer.secret", "elasticsearch.api_key", "elasticsearch.password"}, ids)
	assert.NotContains(t, unit, "Environment", "settings belong in the environment file, secrets in credentials")
	assert.NotContains(t, unit, "SetCredential", "a secret value in the unit")

	out, err := exec.Command(tool(t, "systemd-analyze"), "security", "--offline=true", "--threshold=20", path).CombinedOutput()
	assert.NoError(t, err, "systemd-analyze security:\n%s", out)
}
