package journeystore

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
	"github.com/webjourney/webjourney/test/storetest"
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
		assert.Equal(t, tc.want, Layout{Prefix: "wj"}.expired(tc.index, 25, now), tc.index)
	}
}

// Against the real server: the index of a month that ended more than the
// retention ago goes, with its events; the current month stays.
func TestRetentionDeletesExpiredEventIndices(t *testing.T) {
	st, es := newTestStore(t, false)
	prefix := st.layout.Prefix
	install(t, st)
	now := time.Now().UTC()
	old := now.AddDate(-3, 0, 0)
	write(t, st, func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, 2))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(old))
	}, func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, 3))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	})
	require.Equal(t, 2, es.Count(prefix))

	rep, err := st.ApplyRetention(context.Background(), Retention{EventsMonths: 25}, now, false)
	require.NoError(t, err)
	deleted := rep.Families[0].Indices
	oldIndex := prefix + "-events-" + old.Format("2006.01")
	assert.Contains(t, deleted, oldIndex)
	assert.NotContains(t, deleted, prefix+"-events-"+now.Format("2006.01"))
	status, _ := es.Do(http.MethodHead, "/"+oldIndex, nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, 1, es.Count(prefix), "only the current month's event is left")
}

// Against the real server: each entity family loses exactly the documents
// older than its own retention, by its own date field, and keeps the rest.
func TestRetentionDeletesExpiredEntityDocuments(t *testing.T) {
	st, es := newTestStore(t, false)
	prefix := st.layout.Prefix
	install(t, st)
	r := Retention{VisitsMonths: 25, VisitorsMonths: 13, CreditsMonths: 37}
	now := time.Now().UTC()
	at := func(months int) time.Time { return now.AddDate(0, -months, -1) } // a day more than months ago
	lastActivity := func(id string, t time.Time) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			storetest.Visit(id, 1, "shop", "k1:a")(lr)
			lr.Attributes().PutStr(eventmodel.AttrVisitLastActivity, t.Format(time.RFC3339Nano))
		}
	}
	write(t, st,
		lastActivity("visit-old", at(25)),
		lastActivity("visit-kept", at(24)),
		// Started long ago, but active within the retention: kept.
		func(lr plog.LogRecord) {
			lastActivity("visit-long", at(1))(lr)
			lr.SetTimestamp(pcommon.NewTimestampFromTime(at(30)))
		},
		// No last activity: ages by its start (@timestamp).
		func(lr plog.LogRecord) {
			storetest.Visit("visit-no-date", 1, "shop", "k1:a")(lr)
			lr.Attributes().Remove(eventmodel.AttrVisitLastActivity)
			lr.SetTimestamp(pcommon.NewTimestampFromTime(at(26)))
		},
		storetest.Visitor("visitor-old", 1, "shop", "k1:a", at(13)),
		storetest.Visitor("visitor-kept", 1, "shop", "k1:b", at(12)),
		storetest.Credit("credit-old", "shop", "k1:a", at(37)),
		storetest.Credit("credit-kept", "shop", "k1:a", at(36)),
	)

	for f, want := range map[Family]int64{FamilyVisits: 2, FamilyVisitors: 1, FamilyCredits: 1} {
		deleted, err := st.expireEntities(context.Background(), f, r.months(f), now, false)
		require.NoError(t, err)
		assert.Equal(t, want, deleted, f.String())
	}
	var left []string
	for _, src := range es.Search(prefix+"-visit*,"+prefix+"-credits", nil) {
		left = append(left, src[eventmodel.AttrEntityID].(string))
	}
	assert.ElementsMatch(t, []string{"visit-kept", "visit-long", "visitor-kept", "credit-kept"}, left)

	// Nothing else expires; a family without retention is never touched.
	r.CreditsMonths = 0
	rep, err := st.ApplyRetention(context.Background(), r, now.AddDate(0, 0, 1), false)
	require.NoError(t, err)
	for _, f := range rep.Families {
		assert.Zero(t, f.Documents, f.Family.String())
	}
	assert.Len(t, es.Search(prefix+"-credits", nil), 1)
}
