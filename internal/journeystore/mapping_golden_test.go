package journeystore

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateMapping = flag.Bool("update-mapping", false, "rewrite testdata/mapping.json from the current mapping")

// The installed templates change only when TemplateVersion grows: the
// exporter replaces an installed template only when its version is lower,
// so a changed mapping under the same version would never reach an existing
// cluster. testdata/mapping.json is the mapping of the current version;
// change the event model's attribute table, bump TemplateVersion and run
// go test ./internal/journeystore -run TestMappingChangesBumpTheVersion -update-mapping.
func TestMappingChangesBumpTheVersion(t *testing.T) {
	type golden struct {
		TemplateVersion int            `json:"template_version"`
		Mapping         map[string]any `json:"mapping"`
	}
	path := filepath.Join("testdata", "mapping.json")
	current, err := json.Marshal(eventsMapping())
	require.NoError(t, err)
	var now golden
	now.TemplateVersion = TemplateVersion
	require.NoError(t, json.Unmarshal(current, &now.Mapping))
	if *updateMapping {
		b, err := json.MarshalIndent(now, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var was golden
	require.NoError(t, json.Unmarshal(raw, &was))
	if was.TemplateVersion == TemplateVersion {
		require.Equal(t, was.Mapping, now.Mapping,
			"the mapping changed but TemplateVersion is still %d: bump it, then run with -update-mapping", TemplateVersion)
	} else {
		t.Fatalf("TemplateVersion is %d, %s holds version %d: run with -update-mapping", TemplateVersion, path, was.TemplateVersion)
	}
}
