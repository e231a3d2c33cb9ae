package elasticsearchjourneyexporter

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

func visitorEvent(id, site, visitor, user string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		storetest.PageView(lr, id)
		lr.Attributes().PutStr(eventmodel.AttrSiteID, site)
		lr.Attributes().PutStr(eventmodel.AttrVisitorID, visitor)
		if user != "" {
			lr.Attributes().PutStr(eventmodel.AttrUserID, user)
		}
	}
}

// An erasure request deletes every document of the visitor (and of the
// user id) on that site, in every month's index, its visits, visitor
// record, credits and dead letters, and nothing of anyone else; the stored
// request keeps only a hash of whom it erased.
func TestErasureRequestDeletesTheSubjectOnly(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	// The dead-letter index lies outside the prefix: erasure must find it anyway.
	dlIndex := "dl-" + prefix
	t.Cleanup(func() { es.DeleteAll(dlIndex) })
	exp := newTestExporter(t, set, es.URL, prefix, func(c *Config) { c.DeadLetter.Index = dlIndex })

	const gone, stays = "k1:gone-visitor-pseudonym", "k1:other-visitor-pseudonym"
	ld := storetest.MakeLogs(
		visitorEvent(storetest.UniqueID(t, 1), "shop", gone, ""),
		visitorEvent(storetest.UniqueID(t, 2), "shop", gone, "k1:gone-user"),
		visitorEvent(storetest.UniqueID(t, 3), "shop", "k1:another-browser-same-user", "k1:gone-user"),
		visitorEvent(storetest.UniqueID(t, 4), "shop", stays, ""),
		visitorEvent(storetest.UniqueID(t, 5), "blog", gone, ""), // another site: another pseudonymisation domain
	)
	// One of the visitor's events is from an earlier month (another index).
	first := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	first.SetTimestamp(first.Timestamp() - 40*24*3600*1e9)
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	require.Equal(t, 5, es.Count(prefix))

	// The journey entities of both visitors, and a dead letter of the erased one.
	entities := storetest.MakeLogs(
		storetest.Visit("visit-gone", 3, "shop", gone),
		storetest.Visitor("visitor-gone", 3, "shop", gone, storetest.VisitStart),
		storetest.Credit("credit-gone", "shop", gone, storetest.VisitStart),
		storetest.Visit("visit-stays", 2, "shop", stays),
		storetest.Visitor("visitor-stays", 2, "shop", stays, storetest.VisitStart),
		storetest.Credit("credit-stays", "shop", stays, storetest.VisitStart),
		storetest.Visit("visit-gone-blog", 1, "blog", gone),
		func(lr plog.LogRecord) {
			storetest.Visit("visit-gone-bad", 1, "shop", gone)(lr)
			lr.Attributes().PutStr(eventmodel.AttrVisitIdleAt, "not-a-date")
		},
	)
	require.NoError(t, exp.pushLogs(context.Background(), entities))
	require.Equal(t, 1, es.CountIndex(dlIndex))

	erasureID := storetest.UniqueID(t, 9)
	req := storetest.MakeLogs(func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventErasureRequest)
		lr.SetTimestamp(first.Timestamp() + 41*24*3600*1e9)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEventID, erasureID)
		a.PutStr(eventmodel.AttrSiteID, "shop")
		a.PutStr(eventmodel.AttrVisitorID, gone)
		a.PutStr(eventmodel.AttrUserID, "k1:gone-user")
		a.PutStr(eventmodel.AttrConsentReason, "consent_withdrawn")
	})
	require.NoError(t, exp.pushLogs(context.Background(), req))

	var audit map[string]any
	var remaining []string
	for _, src := range es.Search(prefix+"-events-*", nil) {
		if src["event.name"] == eventmodel.EventErasureRequest {
			audit = src
			continue
		}
		remaining = append(remaining, src[eventmodel.AttrSiteID].(string)+"/"+src[eventmodel.AttrVisitorID].(string))
	}
	assert.ElementsMatch(t, []string{"shop/" + stays, "blog/" + gone}, remaining)
	var entitiesLeft []string
	for _, src := range es.Search(prefix+"-visit*,"+prefix+"-credits", nil) {
		entitiesLeft = append(entitiesLeft, src[eventmodel.AttrEntityID].(string))
	}
	assert.ElementsMatch(t, []string{"visit-stays", "visitor-stays", "credit-stays", "visit-gone-blog"}, entitiesLeft)
	assert.Zero(t, es.CountIndex(dlIndex), "the dead letter of the erased visitor is gone too")
	require.NotNil(t, audit, "the erasure request is stored as the audit record")
	raw, _ := json.Marshal(audit)
	assert.False(t, strings.Contains(string(raw), "gone-"), "the audit record names the erased ids: %s", raw)
	assert.EqualValues(t, 7, audit[eventmodel.AttrErasureDeleted], "3 events, a visit, a visitor, a credit and a dead letter")
	assert.Len(t, audit[eventmodel.AttrErasureSubject], 32)

	// Replaying the request (a retry) deletes nothing more and stores no second audit record.
	require.NoError(t, exp.pushLogs(context.Background(), req))
	assert.Equal(t, 3, es.Count(prefix))
}
