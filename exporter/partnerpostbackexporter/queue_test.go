package partnerpostbackexporter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadatatest"
)

type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

// A postback the partner refused with 503 waits in the persistent queue
// across a restart of the collector and is delivered, once, afterwards,
// with the idempotency key of the first attempt.
func TestPersistentQueueKeepsAPostbackAcrossARestart(t *testing.T) {
	ps := newPartnerServer(t, http.StatusServiceUnavailable)
	keyFile, s := clickKeys(t)
	dir := t.TempDir()
	storageID := component.MustNewID("file_storage")
	cfg := testConfig(t, ps, keyFile, PartnerConfig{})
	q := defaultQueueConfig()
	q.StorageID = &storageID
	cfg.QueueConfig = configoptional.Some(q)
	// A backoff longer than the test: the first session never retries, so
	// the postback is still queued when it stops.
	cfg.RetryConfig.InitialInterval, cfg.RetryConfig.MaxInterval, cfg.RetryConfig.MaxElapsedTime = time.Hour, time.Hour, 0

	session := func(feed bool, until func() bool) {
		f := filestorage.NewFactory()
		scfg := f.CreateDefaultConfig().(*filestorage.Config)
		scfg.Directory = dir
		ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), scfg)
		require.NoError(t, err)
		require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
		exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(componenttest.NewTelemetry()), cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), hostWith{storageID: ext}))
		if feed {
			require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(t, s, purchase("c1"))))
		}
		require.Eventually(t, until, 30*time.Second, 10*time.Millisecond)
		require.NoError(t, exp.Shutdown(context.Background()))
		require.NoError(t, ext.Shutdown(context.Background()))
	}
	session(true, func() bool { return len(ps.requests()) == 1 })  // answered 503
	session(false, func() bool { return len(ps.requests()) == 2 }) // answered 200

	got := ps.requests()
	require.Len(t, got, 2)
	assert.Equal(t, got[0].key, got[1].key, "the resend after the restart carries the same idempotency key")
	assert.True(t, got[1].signed)
}
