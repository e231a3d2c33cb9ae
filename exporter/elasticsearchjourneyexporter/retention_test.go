package elasticsearchjourneyexporter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webjourney/webjourney/test/storetest"
)

func TestRetentionConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, RetentionConfig{CheckInterval: time.Hour}, cfg.Retention)
	cfg.Retention.EventsMonths = -1
	assert.ErrorContains(t, cfg.Validate(), "retention::events_months: must be 0 (keep for ever) to 1200, not -1")
	cfg.Retention = RetentionConfig{EventsMonths: 25, CheckInterval: time.Second}
	assert.ErrorContains(t, cfg.Validate(), "retention::check_interval: must be at least 1m")
	// Any family's retention needs the check interval.
	cfg.Retention = RetentionConfig{CreditsMonths: 25, CheckInterval: time.Second}
	assert.ErrorContains(t, cfg.Validate(), "retention::check_interval: must be at least 1m")
	cfg.Retention = RetentionConfig{CreditsMonths: 1201, CheckInterval: time.Hour}
	assert.ErrorContains(t, cfg.Validate(), "retention::credits_months: must be 0 (keep for ever) to 1200, not 1201")
	cfg.Retention = RetentionConfig{VisitsMonths: 25, VisitorsMonths: 25, CreditsMonths: 25, CheckInterval: time.Hour}
	assert.NoError(t, cfg.Validate())
}

// Against the real server: the exporter's retention check applies its
// configured retention (journeystore tests every family) and logs what it
// deleted.
func TestRetentionCheckDeletesExpiredEventIndices(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	core, logs := observer.New(zap.InfoLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, es.URL, prefix)
	// Set after start: the background loop must not race the explicit pass below.
	exp.cfg.Retention = RetentionConfig{EventsMonths: 25, CheckInterval: time.Hour}
	now := time.Now().UTC()
	old := now.AddDate(-3, 0, 0)
	ld := storetest.MakeLogs(func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, 2))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(old))
	}, func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, 3))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	})
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	require.Equal(t, 2, es.Count(prefix))

	exp.applyRetention(context.Background(), now)
	deleted := logs.FilterMessage("Deleted expired event indices").All()
	require.Len(t, deleted, 1)
	oldIndex := prefix + "-events-" + old.Format("2006.01")
	assert.Equal(t, []any{oldIndex}, deleted[0].ContextMap()["indices"])
	assert.EqualValues(t, 25, deleted[0].ContextMap()["retention_months"])
	status, _ := es.Do(http.MethodHead, "/"+oldIndex, nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, 1, es.Count(prefix), "only the current month's event is left")
}
