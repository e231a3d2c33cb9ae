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

	"github.com/webjourney/webjourney/internal/eventmodel"
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
	// Any family's retention needs the check interval.
	cfg.Retention = RetentionConfig{CreditsMonths: 25, CheckInterval: time.Second}
	assert.ErrorContains(t, cfg.Validate(), "retention::check_interval: must be at least 1m")
	cfg.Retention = RetentionConfig{CreditsMonths: 1201, CheckInterval: time.Hour}
	assert.ErrorContains(t, cfg.Validate(), "retention::credits_months: must be 0 (keep for ever) to 1200, not 1201")
	cfg.Retention = RetentionConfig{VisitsMonths: 25, VisitorsMonths: 25, CreditsMonths: 25, CheckInterval: time.Hour}
	assert.NoError(t, cfg.Validate())
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

// Against the real server: each entity family loses exactly the documents
// older than its own retention, by its own date field, and keeps the rest.
func TestRetentionDeletesExpiredEntityDocuments(t *testing.T) {
	es, prefix := newESClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.base, prefix)
	// Set after start: the background loop must not race the explicit passes below.
	exp.cfg.Retention = RetentionConfig{VisitsMonths: 25, VisitorsMonths: 13, CreditsMonths: 37, CheckInterval: time.Hour}
	now := time.Now().UTC()
	at := func(months int) time.Time { return now.AddDate(0, -months, -1) } // a day more than months ago
	lastActivity := func(id string, t time.Time) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			visitRecord(id, 1, "shop", "k1:a")(lr)
			lr.Attributes().PutStr(eventmodel.AttrVisitLastActivity, t.Format(time.RFC3339Nano))
		}
	}
	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(
		lastActivity("visit-old", at(25)),
		lastActivity("visit-kept", at(24)),
		// Started long ago, but active within the retention: kept.
		func(lr plog.LogRecord) {
			lastActivity("visit-long", at(1))(lr)
			lr.SetTimestamp(pcommon.NewTimestampFromTime(at(30)))
		},
		// No last activity: ages by its start (@timestamp).
		func(lr plog.LogRecord) {
			visitRecord("visit-no-date", 1, "shop", "k1:a")(lr)
			lr.Attributes().Remove(eventmodel.AttrVisitLastActivity)
			lr.SetTimestamp(pcommon.NewTimestampFromTime(at(26)))
		},
		visitorRecord("visitor-old", 1, "shop", "k1:a", at(13)),
		visitorRecord("visitor-kept", 1, "shop", "k1:b", at(12)),
		creditRecord("credit-old", "shop", "k1:a", at(37)),
		creditRecord("credit-kept", "shop", "k1:a", at(36)),
	)))

	for f, want := range map[family]int64{familyVisits: 2, familyVisitors: 1, familyCredits: 1} {
		deleted, err := exp.expireEntities(context.Background(), f, now)
		require.NoError(t, err)
		assert.Equal(t, want, deleted, f.name())
	}
	var left []string
	for _, src := range es.search(prefix+"-visit*,"+prefix+"-credits", nil) {
		left = append(left, src[eventmodel.AttrEntityID].(string))
	}
	assert.ElementsMatch(t, []string{"visit-kept", "visit-long", "visitor-kept", "credit-kept"}, left)

	// Nothing else expires; a family without retention is never touched.
	exp.cfg.Retention.CreditsMonths = 0
	for _, f := range entityFamilies {
		deleted, err := exp.expireEntities(context.Background(), f, now.AddDate(0, 0, 1))
		require.NoError(t, err)
		assert.Zero(t, deleted, f.name())
	}
}
