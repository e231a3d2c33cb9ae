package attributionprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadatatest"
)

type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

var storageID = component.MustNewID("file_storage")

// startStorage starts the real contrib file_storage extension on dir.
func startStorage(t *testing.T, dir string) (component.Host, extension.Extension) {
	t.Helper()
	f := filestorage.NewFactory()
	scfg := f.CreateDefaultConfig().(*filestorage.Config)
	scfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), scfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return hostWith{storageID: ext}, ext
}

// session runs one collector lifetime: start with the storage in dir,
// feed hits, shut down; it returns what was emitted.
func session(t *testing.T, cfg *Config, set func() (component.Host, extension.Extension), hits ...hit) stored {
	t.Helper()
	host, ext := set()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), host))
	for _, h := range hits {
		require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(h)))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	if ext != nil {
		require.NoError(t, ext.Shutdown(context.Background()))
	}
	return store(sink.AllLogs())
}

func visitOf(s stored) plog.LogRecord {
	v := s.of(eventmodel.EventVisit)
	return v[len(v)-1]
}

// Stop mid-journey, start again: with file_storage the journey continues
// in the same visit, with a higher version, and the touch history and
// duplicate detection survive; without it, the visit starts afresh.
func TestRestartContinuesTheVisitWithStorage(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Storage = &storageID
	withStorage := func() (component.Host, extension.Extension) { return startStorage(t, dir) }

	before := session(t, cfg, withStorage,
		hit{at: 0, visitor: "r1", url: site + "/a", ref: "https://www.google.com/"},
		hit{at: time.Minute, visitor: "r1", url: site + "/b", id: "seen-before"},
	)
	after := session(t, cfg, withStorage,
		hit{at: time.Minute, visitor: "r1", url: site + "/b", id: "seen-before"},
		hit{at: 5 * time.Minute, visitor: "r1", url: site + "/c"},
		hit{at: 6 * time.Minute, visitor: "r1", name: eventmodel.EventCustom, custom: "purchase", props: map[string]any{"revenue": 10}},
	)
	v1, v2 := visitOf(before), visitOf(after)
	assert.Equal(t, attrStr(v1, eventmodel.AttrEntityID), attrStr(v2, eventmodel.AttrEntityID), "same visit after the restart")
	assert.Greater(t, version(v2), version(v1))
	assert.Equal(t, int64(3), attrInt(v2, eventmodel.AttrVisitPagesViewed), "the duplicate was recognised after the restart")
	assert.Equal(t, "/a", attrStr(v2, eventmodel.AttrVisitLandingPage))
	assert.Equal(t, "search", attrStr(v2, eventmodel.AttrChannelMedium))
	assert.Equal(t, 1.0, creditsBy(after, "r1-6m0s")["first_touch"]["search/google"], "the touch history survived")

	// Without storage the same restart starts a new visit.
	cfg.Storage = nil
	none := func() (component.Host, extension.Extension) { return componenttest.NewNopHost(), nil }
	session(t, cfg, none, hit{at: 0, visitor: "r2", url: site + "/a"})
	again := session(t, cfg, none, hit{at: 5 * time.Minute, visitor: "r2", url: site + "/c"})
	assert.Equal(t, int64(1), attrInt(visitOf(again), eventmodel.AttrVisitPagesViewed))
}

// A state that cannot be read costs the open journeys, not the start.
func TestUnreadableStateIsCountedAndSkipped(t *testing.T) {
	dir := t.TempDir()
	host, ext := startStorage(t, dir)
	client, err := ext.(storage.Extension).GetClient(context.Background(), component.KindProcessor, component.NewID(metadata.Type), "journeys")
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), "journey/_default", []byte("not a snapshot")))
	require.NoError(t, client.Close(context.Background()))

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := testConfig()
	cfg.Storage = &storageID
	cfg.CheckpointInterval = 0
	p, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), host))
	require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(hit{visitor: "x", url: site + "/"})))
	require.NoError(t, p.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorAttributionPersistenceErrors(t, tel, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestStorageMustExist(t *testing.T) {
	cfg := testConfig()
	cfg.Storage = &storageID
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.ErrorContains(t, p.Start(context.Background(), componenttest.NewNopHost()), `storage: no extension "file_storage"`)
}
