package consentprocessor

import (
	"context"
	"flag"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite the expected.yaml files of the golden tests")

// TestGolden runs each testdata/golden/<case>/input.yaml through the
// processor with the named configuration of testdata/config.yaml and
// compares the result with expected.yaml. Review every change to an
// expected.yaml: it is the processor's contract.
func TestGolden(t *testing.T) {
	for dir, config := range map[string]string{
		"tag_signals": "",
		"tcf":         "",
		"withdrawal":  "",
		"regions":     "golden_regions",
		"cnil":        "golden_cnil",
		"gpc_dnt":     "golden_gpc_dnt",
	} {
		t.Run(dir, func(t *testing.T) {
			cfg, err := loadConfig(t, config)
			require.NoError(t, err)
			sink := new(consumertest.LogsSink)
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
			require.NoError(t, err)

			in, err := golden.ReadLogs(filepath.Join("testdata", "golden", dir, "input.yaml"))
			require.NoError(t, err)
			require.NoError(t, p.ConsumeLogs(context.Background(), in))
			require.Len(t, sink.AllLogs(), 1)
			got := sink.AllLogs()[0]

			expectedFile := filepath.Join("testdata", "golden", dir, "expected.yaml")
			if *update {
				require.NoError(t, golden.WriteLogs(t, expectedFile, got))
			}
			want, err := golden.ReadLogs(expectedFile)
			require.NoError(t, err)
			// Erasure requests get a fresh random id.
			require.NoError(t, plogtest.CompareLogs(want, got, plogtest.IgnoreLogRecordAttributeValue(eventmodel.AttrEventID)))
		})
	}
}
