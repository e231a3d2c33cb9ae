package elasticsearchjourneyexporter

// Journey entities (visits, visitors, credits) and the dead-letter index
// against the real Elasticsearch at ELASTICSEARCH_URL.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

func withDeadLetter(prefix string) func(*Config) {
	return func(c *Config) { c.DeadLetter.Index = prefix + "-dead-letter" }
}

// Snapshots are written with external versioning: a late older snapshot
// never replaces a newer one and is a success; a credit replay stores
// nothing new.
func TestEntityVersionedWrites(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)
	visits := prefix + "-visits"

	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.Visit("v-1", 5, "shop", "k1:a"))))
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.Visit("v-1", 3, "shop", "k1:a"))),
		"an older snapshot arriving late is not an error")
	version, src := es.StoredDoc(visits, "v-1")
	assert.EqualValues(t, 5, version)
	assert.EqualValues(t, 5, src[eventmodel.AttrVisitPagesViewed])
	assert.EqualValues(t, 5, src[eventmodel.AttrEntityVersion])

	// A newer one replaces it, and a Unix-nanosecond version fits.
	const nanos = int64(1_800_000_000_000_000_123)
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.Visit("v-1", nanos, "shop", "k1:a"))))
	version, _ = es.StoredDoc(visits, "v-1")
	assert.Equal(t, nanos, version)
	assert.Equal(t, json.Number(fmt.Sprint(nanos)), asNumber(t, es, visits, "v-1", eventmodel.AttrEntityVersion))
	assert.Equal(t, 1, es.CountIndex(visits))

	// Two snapshots of one visit in one push: the newer wins whatever the order.
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(
		storetest.Visit("v-2", 9, "shop", "k1:a"), storetest.Visit("v-2", 8, "shop", "k1:a"))))
	version, _ = es.StoredDoc(visits, "v-2")
	assert.EqualValues(t, 9, version)

	// A credit is immutable (version 1): a replay is a conflict, i.e. delivered, one document.
	credit := storetest.MakeLogs(storetest.Credit("c-1", "shop", "k1:a", storetest.VisitStart))
	require.NoError(t, exp.pushLogs(context.Background(), credit))
	require.NoError(t, exp.pushLogs(context.Background(), credit))
	assert.Equal(t, 1, es.CountIndex(prefix+"-credits"))

	metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 4}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsVersionConflict(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
}

// asNumber reads one field of a stored document without float rounding.
func asNumber(t *testing.T, es *storetest.Client, index, id, field string) json.Number {
	t.Helper()
	_, raw := es.Do(http.MethodGet, "/"+index+"/_source/"+url.PathEscape(id), nil)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var src map[string]any
	require.NoError(t, dec.Decode(&src))
	return src[field].(json.Number)
}

// An entity record without a usable id or version is a permanent error:
// counted, logged with the reason, never retried.
func TestEntityWithoutUsableVersionIsPermanent(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	core, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, es.URL, prefix)

	ld := storetest.MakeLogs(storetest.Visit("v-ok", 1, "shop", "k1:a"), func(lr plog.LogRecord) {
		storetest.Visit("v-bad", 1, "shop", "k1:a")(lr)
		lr.Attributes().PutDouble(eventmodel.AttrEntityVersion, 2.5)
	}, func(lr plog.LogRecord) {
		storetest.Visitor("", 1, "shop", "k1:a", storetest.VisitStart)(lr)
	})
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 1, es.CountIndex(prefix+"-vis*"))
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonInvalidEntity)), Value: 2},
	}, metricdatatest.IgnoreTimestamp())
	entries := logs.FilterMessageSnippet("Entity records without a usable id or version").All()
	require.Len(t, entries, 1)
	assert.Equal(t, []any{
		eventmodel.EventVisit + " v-bad: webjourney.entity.version is missing, not an int or not positive",
		eventmodel.EventVisitor + " : webjourney.entity.id is missing, not a string, empty or over 512 bytes",
	}, entries[0].ContextMap()["records"])

	// Only bad records: the push fails permanently (no retry).
	err := exp.pushLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		storetest.Visit("v-bad", 1, "shop", "k1:a")(lr)
		lr.Attributes().Remove(eventmodel.AttrEntityVersion)
	}))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), err)
}

// Documents the server refuses for good, and records without a usable id,
// go to the dead-letter index with the reason and the original document;
// good records of the same push are stored; a replay adds nothing.
func TestDeadLetterIndex(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix, withDeadLetter(prefix))
	dlIndex := prefix + "-dead-letter"

	notADate := func(lr plog.LogRecord) {
		storetest.Visit("v-bad", 7, "shop", "k1:bad")(lr)
		lr.Attributes().PutStr(eventmodel.AttrVisitStart, "not-a-date") // a real mapper error
	}
	noID := func(lr plog.LogRecord) {
		storetest.PageView(lr, "")
		lr.Attributes().Remove(eventmodel.AttrEventID)
	}
	ld := storetest.MakeLogs(storetest.Visit("v-good", 1, "shop", "k1:a"), notADate, noID, storetest.PageViewWithID(storetest.UniqueID(t, 1)))
	ld.MarkReadOnly()
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 1, es.CountIndex(prefix+"-visits"))
	assert.Equal(t, 1, es.Count(prefix))

	dead := es.Search(dlIndex, nil)
	require.Len(t, dead, 2)
	byType := map[string]map[string]any{}
	for _, d := range dead {
		byType[d["error.type"].(string)] = d
	}
	mapper := byType["document_parsing_exception"]
	require.NotNil(t, mapper, "dead letters: %v", dead)
	assert.Equal(t, prefix+"-visits", mapper["dead_letter.index"])
	assert.Equal(t, "v-bad", mapper["dead_letter.id"])
	assert.EqualValues(t, 7, mapper["dead_letter.version"])
	assert.Equal(t, eventmodel.EventVisit, mapper["event.name"])
	assert.EqualValues(t, 400, mapper["error.status"])
	assert.Contains(t, mapper["error.reason"], eventmodel.AttrVisitStart)
	assert.NotContains(t, mapper["error.reason"], "not-a-date", "the indexed reason must not quote the value")
	assert.Equal(t, "k1:bad", mapper[eventmodel.AttrVisitorID])
	ts, err := time.Parse(time.RFC3339Nano, mapper["@timestamp"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ts, time.Minute)
	var orig map[string]any
	require.NoError(t, json.Unmarshal([]byte(mapper["dead_letter.document"].(string)), &orig))
	assert.Equal(t, "not-a-date", orig[eventmodel.AttrVisitStart])
	assert.Equal(t, "v-bad", orig[eventmodel.AttrEntityID])

	invalid := byType[reasonInvalidEventID]
	require.NotNil(t, invalid)
	assert.Equal(t, prefix+"-events-2026.11", invalid["dead_letter.index"])
	assert.Equal(t, "log.record.uid is missing, not a string, empty or over 512 bytes", invalid["error.reason"])
	assert.Nil(t, invalid["error.status"], "never sent")
	assert.Contains(t, invalid["dead_letter.document"], "https://shop.example.com:8443/pricing")

	// The original document is kept, not indexed: it cannot even be searched.
	status, raw := es.Do(http.MethodPost, "/"+dlIndex+"/_search", map[string]any{
		"query": map[string]any{"term": map[string]any{"dead_letter.document": mapper["dead_letter.document"]}},
	})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, string(raw), "not indexed nor has doc values")

	// A replay (e.g. a persistent queue re-read) adds no second dead letter.
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Len(t, es.Search(dlIndex, nil), 2)

	metadatatest.AssertEqualExporterElasticsearchJourneyDocsDeadLettered(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 4}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonInvalidEventID)), Value: 2},
		{Attributes: attribute.NewSet(attribute.String("reason", reasonRejected)), Value: 2},
	}, metricdatatest.IgnoreTimestamp())

	// A push whose every record was refused but dead-lettered lost nothing:
	// no permanent error.
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		notADate(lr)
		lr.Attributes().PutStr(eventmodel.AttrEntityID, "v-bad-2")
	})))
	assert.Len(t, es.Search(dlIndex, nil), 3)
}

// When the dead-letter index refuses too, the loss is counted and logged,
// and the record is not retried.
func TestDeadLetterFailureIsCountedAndLogged(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	core, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, es.URL, prefix, withDeadLetter(prefix))
	dlIndex := prefix + "-dead-letter"
	// The dead-letter index exists but takes no writes.
	status, raw := es.Do(http.MethodPut, "/"+dlIndex, map[string]any{"settings": map[string]any{"index.blocks.write": true}})
	require.Equal(t, http.StatusOK, status, string(raw))

	err := exp.pushLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		storetest.Visit("v-bad", 7, "shop", "k1:bad")(lr)
		lr.Attributes().PutStr(eventmodel.AttrVisitStart, "not-a-date")
	}))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "the record is lost, not retried: %v", err)
	metadatatest.AssertEqualExporterElasticsearchJourneyDeadLetterFailed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	lost := logs.FilterMessageSnippet("could not be written to the dead-letter index either").All()
	require.Len(t, lost, 1)
	fields := lost[0].ContextMap()
	assert.Equal(t, "v-bad", fields["id"])
	assert.EqualValues(t, http.StatusForbidden, fields["status"])
	assert.Equal(t, "cluster_block_exception", fields["error.type"])
}

// Custom properties with thousands of distinct keys (a hostile or buggy
// site) live in one flattened field, and unknown top-level attributes are
// not mapped: the mapping does not grow.
func TestHostilePropertiesDoNotGrowTheMapping(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)
	index := prefix + "-events-2026.11"

	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 0)))))
	before := es.MappedFields(index)

	const events, keysPerEvent = 20, 300 // 6000 distinct property keys, 2000 top-level names
	rnd := rand.New(rand.NewPCG(1, 2))
	var probe string
	fills := make([]func(plog.LogRecord), events)
	for i := range fills {
		fills[i] = func(lr plog.LogRecord) {
			storetest.PageView(lr, storetest.UniqueID(t, i+1))
			p := lr.Attributes().PutEmptyMap(eventmodel.AttrProperties)
			for j := range keysPerEvent {
				k := fmt.Sprintf("k%016x", rnd.Uint64())
				p.PutStr(k, "v")
				if j < keysPerEvent/3 {
					lr.Attributes().PutInt("x"+k, int64(j))
				}
				probe = k
			}
		}
	}
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(fills...)))
	assert.Equal(t, events+1, es.Count(prefix))
	assert.Equal(t, before, es.MappedFields(index), "the mapping grew")

	// The properties are still searchable by key.
	hits := es.Search(index, map[string]any{"term": map[string]any{eventmodel.AttrProperties + "." + probe: "v"}})
	assert.Len(t, hits, 1)
}
