package anonymizer

import (
	"context"
	"flag"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite the expected.yaml files of the golden tests")

// TestGolden runs each testdata/golden/<case>/input.yaml through the
// anonymizer with testdata/secret.key and compares with expected.yaml.
// Pseudonyms are deterministic for a key; the cookieless key is not (its
// salt is random), so only its presence is compared.
func TestGolden(t *testing.T) {
	for _, dir := range []string{"identifiers", "scrubbing"} {
		t.Run(dir, func(t *testing.T) {
			cfg, err := loadConfig(t, "")
			require.NoError(t, err)
			sink := new(consumertest.LogsSink)
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
			require.NoError(t, err)
			require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
			t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })

			in, err := golden.ReadLogs(filepath.Join("testdata", "golden", dir, "input.yaml"))
			require.NoError(t, err)
			require.NoError(t, p.ConsumeLogs(context.Background(), in))
			got := sink.AllLogs()[0]
			expectedFile := filepath.Join("testdata", "golden", dir, "expected.yaml")
			if *update {
				require.NoError(t, golden.WriteLogs(t, expectedFile, got))
			}
			want, err := golden.ReadLogs(expectedFile)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(want, got, plogtest.IgnoreLogRecordAttributeValue(eventmodel.AttrCookielessKey)))
		})
	}
}
