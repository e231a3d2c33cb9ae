package elasticsearchjourneyexporter

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/storetest"
)

// total sums a counter over all its attributes.
func total(t *testing.T, tt *componenttest.Telemetry, name string) int64 {
	t.Helper()
	var n int64
	for _, v := range counts(t, tt, name, "reason") {
		n += v
	}
	return n
}

// operatorStore is a journeystore.Store of its own on the server, as
// webjourneyctl erase opens one: erasures through it reach the exporter
// only through the tombstones index.
func operatorStore(t *testing.T, url, prefix, deadLetter string) *journeystore.Store {
	t.Helper()
	c, err := esclient.New(esclient.Options{Endpoints: []string{url}})
	require.NoError(t, err)
	st := journeystore.New(c.Client, journeystore.Layout{Prefix: prefix, DeadLetterIndex: deadLetter})
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// subjectDocs returns the documents of the prefix and dead-letter index
// whose visitor or user id is id (the partner-facing copies have neither:
// tests count them).
func subjectDocs(es *storetest.Client, prefix, dl, id string) []string {
	var out []string
	for _, d := range es.Search(prefix+"-*,"+dl, map[string]any{"bool": map[string]any{"should": []any{
		map[string]any{"term": map[string]any{eventmodel.AttrVisitorID: id}},
		map[string]any{"term": map[string]any{eventmodel.AttrUserID: id}},
	}, "minimum_should_match": 1}}) {
		raw, _ := json.Marshal(d)
		out = append(out, string(raw))
	}
	return out
}

// An erasure carried out by the operator (webjourneyctl, through its own
// connection) while records of the subject wait in a collector's queue:
// none of them is written afterwards, by this exporter or by one started
// later; the other visitors' records are.
func TestErasedSubjectIsNeverWrittenAgain(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	dl := prefix + "-dead-letter"
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix, withDeadLetter(prefix))
	const gone, stays = "k1:gone", "k1:stays"
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(
		visitorEvent(storetest.UniqueID(t, 1), "shop", gone, ""),
		visitorEvent(storetest.UniqueID(t, 2), "shop", stays, ""),
	)))
	require.Equal(t, 2, es.Count(prefix))

	rep, err := operatorStore(t, es.URL, prefix, dl).Erase(context.Background(), "shop", gone, "")
	require.NoError(t, err)
	assert.EqualValues(t, 1, rep.Total)

	// What was queued before the erasure: events, the emitter's snapshots
	// (a visit of a partner, with its partner-facing copy), a dead letter.
	queued := func(n int) plog.Logs {
		return storetest.MakeLogs(
			visitorEvent(storetest.UniqueID(t, n), "shop", gone, ""),
			visitorEvent(storetest.UniqueID(t, n+1), "shop", gone, "k1:gone-user"),
			func(lr plog.LogRecord) {
				storetest.Visit("visit-gone", 5, "shop", gone)(lr)
				lr.Attributes().PutStr(eventmodel.AttrChannelPartner, "archipro")
			},
			storetest.Credit("credit-gone", "shop", gone, storetest.VisitStart),
			func(lr plog.LogRecord) { // refused by the mapping: would be dead-lettered
				visitorEvent(storetest.UniqueID(t, n+2), "shop", gone, "")(lr)
				lr.Attributes().PutStr(eventmodel.AttrURLPort, "not-a-port")
			},
			visitorEvent(storetest.UniqueID(t, n+3), "shop", stays, ""),
			visitorEvent(storetest.UniqueID(t, n+4), "blog", gone, ""), // another site: another person
		)
	}
	require.NoError(t, exp.pushLogs(context.Background(), queued(10)))
	assert.Empty(t, subjectDocs(es, prefix, dl, gone)[1:], "only the other site's event of the same pseudonym")
	assert.Len(t, subjectDocs(es, prefix, dl, gone), 1)
	assert.Equal(t, 4, es.Count(prefix), "the other visitor's two events, the other site's, the audit record")
	assert.Zero(t, es.CountIndex(dl), "the refused record of the erased visitor is not dead-lettered")
	assert.EqualValues(t, 5, total(t, tt, "exporter_elasticsearch_journey_docs_erased"))

	// A collector started after the erasure (its queue on disk) knows it
	// from the tombstones index at its first push.
	tt2, set2 := newTelemetry(t)
	exp2 := newTestExporter(t, set2, es.URL, prefix, withDeadLetter(prefix))
	require.NoError(t, exp2.pushLogs(context.Background(), queued(20)))
	assert.Len(t, subjectDocs(es, prefix, dl, gone), 2, "the blog events only")
	for _, d := range subjectDocs(es, prefix, dl, gone) {
		assert.Contains(t, d, `"blog"`)
	}
	assert.EqualValues(t, 5, total(t, tt2, "exporter_elasticsearch_journey_docs_erased"))
	assert.Zero(t, es.CountIndex(prefix+"-partner-*"), "no partner-facing copy of the erased visitor")
}

// An erasure carried out while a push is in flight, after the push read
// the tombstones and before its writes land: what it wrote is deleted
// again right after (a sweep), so that nothing of the subject is stored
// once the push is done.
func TestErasureDuringAPushIsSwept(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	dl := prefix + "-dead-letter"
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix, withDeadLetter(prefix))
	op := operatorStore(t, es.URL, prefix, dl)
	const gone = "k1:gone"
	// The erasure searches before the push's documents exist.
	var once sync.Once
	exp.beforeSend = func() {
		once.Do(func() {
			_, err := op.Erase(context.Background(), "shop", gone, "")
			assert.NoError(t, err)
		})
	}
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(
		visitorEvent(storetest.UniqueID(t, 1), "shop", gone, ""),
		func(lr plog.LogRecord) {
			storetest.Visit("visit-gone", 5, "shop", gone)(lr)
			lr.Attributes().PutStr(eventmodel.AttrChannelPartner, "archipro")
		},
		visitorEvent(storetest.UniqueID(t, 2), "shop", "k1:stays", ""),
	)))
	assert.Empty(t, subjectDocs(es, prefix, dl, gone))
	assert.Zero(t, es.CountIndex(prefix+"-partner-visits"), "the partner-facing copy is swept too")
	assert.Equal(t, 2, es.Count(prefix), "the other visitor's event and the audit record")
	assert.EqualValues(t, 1, total(t, tt, "exporter_elasticsearch_journey_erasure_sweeps"))
	assert.Zero(t, total(t, tt, "exporter_elasticsearch_journey_docs_erased"), "nothing was known to be erased before writing")
}

// An erasure request and records of its subject in the same push (the
// attribution emitter's snapshots come after the request): the records
// are not written, whatever their order; the request is stored as the
// audit record.
func TestErasureRequestDropsTheSubjectsRecordsOfTheSamePush(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)
	const gone = "k1:gone"
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(
		visitorEvent(storetest.UniqueID(t, 1), "shop", gone, ""),
		func(lr plog.LogRecord) {
			lr.SetEventName(eventmodel.EventErasureRequest)
			a := lr.Attributes()
			a.PutStr(eventmodel.AttrEventID, storetest.UniqueID(t, 2))
			a.PutStr(eventmodel.AttrSiteID, "shop")
			a.PutStr(eventmodel.AttrVisitorID, gone)
		},
		storetest.Visit("visit-gone", 9, "shop", gone),
		visitorEvent(storetest.UniqueID(t, 3), "shop", "k1:stays", ""),
	)))
	assert.Empty(t, subjectDocs(es, prefix, prefix+"-none", gone))
	var names []string
	for _, d := range es.Search(prefix+"-*", nil) {
		names = append(names, d["event.name"].(string))
	}
	assert.ElementsMatch(t, []string{eventmodel.EventErasureRequest, eventmodel.EventPageView}, names)
	assert.EqualValues(t, 2, total(t, tt, "exporter_elasticsearch_journey_docs_erased"))
}

// A visit or credit of a referral partner gets its partner-facing copy,
// without any id, under a hashed id, with the entity's version; an erasure
// of the visitor deletes the copies.
func TestPartnerFacingCopies(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)
	withPartner := func(fill func(plog.LogRecord)) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			fill(lr)
			a := lr.Attributes()
			a.PutStr(eventmodel.AttrChannelPartner, "archipro")
			a.PutStr(eventmodel.AttrUserID, "k1:the-user")
			a.PutStr(eventmodel.AttrSessionID, "the-session")
		}
	}
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(
		withPartner(storetest.Visit("visit-1", 3, "shop", "k1:the-visitor")),
		withPartner(storetest.Credit("credit-1", "shop", "k1:the-visitor", storetest.VisitStart)),
		storetest.Visit("visit-direct", 1, "shop", "k1:the-visitor"),
	)))
	assert.Equal(t, 1, es.CountIndex(prefix+"-partner-visits"))
	assert.Equal(t, 1, es.CountIndex(prefix+"-partner-credits"))
	version, src := es.StoredDoc(prefix+"-partner-visits", journeystore.PartnerDocumentID("visit-1"))
	assert.EqualValues(t, 3, version, "the entity's version")
	assert.Equal(t, "archipro", src[eventmodel.AttrChannelPartner])
	raw, _ := json.Marshal(es.Search(prefix+"-partner-*", nil))
	for _, id := range []string{"visit-1", "credit-1", "the-visitor", "the-user", "the-session"} {
		assert.NotContains(t, string(raw), id)
	}
	// A newer snapshot replaces the copy; an older one does not.
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(withPartner(storetest.Visit("visit-1", 5, "shop", "k1:the-visitor")))))
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(withPartner(storetest.Visit("visit-1", 4, "shop", "k1:the-visitor")))))
	version, src = es.StoredDoc(prefix+"-partner-visits", journeystore.PartnerDocumentID("visit-1"))
	assert.EqualValues(t, 5, version)
	assert.EqualValues(t, 5, src[eventmodel.AttrVisitPagesViewed])

	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventErasureRequest)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEventID, storetest.UniqueID(t, 1))
		a.PutStr(eventmodel.AttrSiteID, "shop")
		a.PutStr(eventmodel.AttrVisitorID, "k1:the-visitor")
	})))
	assert.Zero(t, es.CountIndex(prefix+"-partner-*"))
}

// Stamped events go to the index of their stamp; the retention check
// deletes expired dead letters and erasure tombstones.
func TestStampedEventsAndRetentionOfDeadLettersAndTombstones(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	dl := prefix + "-dead-letter"
	_, set := newTelemetry(t)
	core, logs := observer.New(zap.InfoLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, es.URL, prefix, withDeadLetter(prefix))
	// At start, what is kept how long, by the keys that set it.
	started := logs.FilterMessageSnippet("whatever retention::events_months says").All()
	require.Len(t, started, 1)
	assert.Equal(t, map[string]any{
		"retention::events_months": int64(0), "retention::visits_months": int64(0),
		"retention::visitors_months": int64(0), "retention::credits_months": int64(0),
		"stamped_events_indices":      prefix + "-events-max<M>m-YYYY.MM",
		"dead_letter::retention_days": int64(30), "erasure::tombstone_days": int64(400),
	}, started[0].ContextMap())
	now := time.Now().UTC()
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, 1))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.Attributes().PutInt(eventmodel.AttrRetentionMonths, 25)
	}, func(lr plog.LogRecord) { // dead-lettered
		storetest.PageView(lr, storetest.UniqueID(t, 2))
		lr.Attributes().PutStr(eventmodel.AttrURLPort, "not-a-port")
	})))
	assert.Equal(t, 1, es.CountIndex(prefix+"-events-max25m-"+now.Format("2006.01")))
	require.Equal(t, 1, es.CountIndex(dl))
	op := operatorStore(t, es.URL, prefix, dl)
	_, err := op.Erase(context.Background(), "shop", "k1:someone", "")
	require.NoError(t, err)

	// 31 days on, the dead letter (30 days) goes; 401 days on, the tombstone.
	exp.applyRetention(context.Background(), now.AddDate(0, 0, 31))
	assert.Zero(t, es.CountIndex(dl))
	require.Equal(t, 1, logs.FilterMessage("Deleted expired dead letters").Len())
	assert.EqualValues(t, 30, logs.FilterMessage("Deleted expired dead letters").All()[0].ContextMap()["retention_days"])
	exp.applyRetention(context.Background(), now.AddDate(0, 0, 401))
	assert.Equal(t, 1, logs.FilterMessage("Deleted expired erasure tombstones").Len())
	// 26 months on, the stamped event's month ended more than 25 months ago.
	exp.applyRetention(context.Background(), now.AddDate(0, 26, 0))
	assert.Equal(t, 1, logs.FilterMessage("Deleted expired event indices of stamped events").Len())
	assert.Zero(t, es.CountIndex(prefix+"-events-max25m-*"))
}
