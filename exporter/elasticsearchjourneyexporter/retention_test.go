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
)

func TestExpired(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		index string
		want  bool
	}{
		{"wj-events-2024.09", true},    // ended 2024-10-01, + 25 months = 2026-11-01 <= now
		{"wj-events-2024.10", false},   // ended 2024-11-01, + 25 months = 2026-12-01 > now
		{"wj-events-2026.11", false},   // this month
		{"wj-events-1999.01", true},    //
		{"wj-events-2024.13", false},   // not a month
		{"wj-events-x-2020.01", false}, // another family that starts the same
		{"wj-visits-2020.01", false},   // another family
		{"other-events-2020.01", false},
	} {
		assert.Equal(t, tc.want, expired(tc.index, "wj-events-", 25, now), tc.index)
	}
}

func TestRetentionConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, RetentionConfig{CheckInterval: time.Hour}, cfg.Retention)
	cfg.Retention.EventsMonths = -1
	assert.ErrorContains(t, cfg.Validate(), "retention::events_months: must be 0 (keep for ever) to 1200, not -1")
	cfg.Retention = RetentionConfig{EventsMonths: 25, CheckInterval: time.Second}
	assert.ErrorContains(t, cfg.Validate(), "retention::check_interval: must be at least 1m")
}

// Against the real server: the index of a month that ended more than the
// retention ago goes, with its events; the current month stays.
func TestRetentionDeletesExpiredEventIndices(t *testing.T) {
	es, prefix := newESClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.base, prefix, func(c *Config) {
		c.Retention = RetentionConfig{EventsMonths: 25, CheckInterval: time.Hour}
	})
	now := time.Now().UTC()
	old := now.AddDate(-3, 0, 0)
	ld := makeLogs(func(lr plog.LogRecord) {
		pageView(lr, uniqueID(t, 2))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(old))
	}, func(lr plog.LogRecord) {
		pageView(lr, uniqueID(t, 3))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	})
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	require.Equal(t, 2, es.count(prefix))

	deleted, err := exp.applyRetention(context.Background(), now)
	require.NoError(t, err)
	oldIndex := prefix + "-events-" + old.Format("2006.01")
	assert.Contains(t, deleted, oldIndex)
	assert.NotContains(t, deleted, prefix+"-events-"+now.Format("2006.01"))
	status, _ := es.do(http.MethodHead, "/"+oldIndex, nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, 1, es.count(prefix), "only the current month's event is left")
}
