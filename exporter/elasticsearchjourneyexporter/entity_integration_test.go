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
)

// storedDoc returns the stored version and _source of one document.
func (es *esClient) storedDoc(index, id string) (int64, map[string]any) {
	es.t.Helper()
	var res struct {
		Version int64          `json:"_version"`
		Source  map[string]any `json:"_source"`
	}
	es.decode(http.MethodGet, "/"+index+"/_doc/"+url.PathEscape(id), nil, &res)
	return res.Version, res.Source
}

// mappedFields counts the leaf fields of an index's mapping.
func (es *esClient) mappedFields(index string) int {
	es.t.Helper()
	var count func(props map[string]any) int
	count = func(props map[string]any) int {
		n := 0
		for _, v := range props {
			f := v.(map[string]any)
			if sub, ok := f["properties"].(map[string]any); ok {
				n += count(sub)
			} else {
				n++
			}
		}
		return n
	}
	return count(es.mapping(index)["properties"].(map[string]any))
}

func withDeadLetter(prefix string) func(*Config) {
	return func(c *Config) { c.DeadLetter.Index = prefix + "-dead-letter" }
}

// Every entity family gets its own template at start, and its index the
// exact shared mapping.
func TestEntityTemplatesInstalled(t *testing.T) {
	es, prefix := newESClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.base, prefix, withDeadLetter(prefix))
	require.True(t, exp.templateReady.Load())

	for _, f := range entityFamilies {
		tpl := es.installedTemplateNamed(f.index(prefix))
		assert.EqualValues(t, templateVersion, tpl["version"])
		assert.Equal(t, []any{f.index(prefix)}, tpl["index_patterns"])
	}
	assert.EqualValues(t, templateVersion, es.installedTemplateNamed(prefix + "-dead-letter")["version"])

	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(
		visitRecord("v-1", 1, "shop", "k1:a"),
		visitorRecord("r-1", 1, "shop", "k1:a", testVisitStart),
		creditRecord("c-1", "shop", "k1:a", testVisitStart),
	)))
	wantMapping := asJSON(t, eventsMapping()).(map[string]any)
	wantMapping["dynamic"] = "false"
	for _, f := range entityFamilies {
		index := f.index(prefix)
		assert.Equal(t, wantMapping, es.mapping(index), index)
		assert.Equal(t, 1, es.countIndex(index), index)
	}

	// The visit is stored field for field; its dates and numbers are
	// searchable with their types.
	version, src := es.storedDoc(prefix+"-visits", "v-1")
	assert.EqualValues(t, 1, version)
	assert.Equal(t, "2026-11-23T09:00:00Z", src["@timestamp"])
	assert.Equal(t, eventmodel.EventVisit, src["event.name"])
	assert.Equal(t, "2026-11-23T09:12:00.4Z", src[eventmodel.AttrVisitLastActivity])
	assert.Equal(t, []any{"purchase"}, src[eventmodel.AttrVisitOutcomes])
	hits := es.search(prefix+"-visits", map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"range": map[string]any{eventmodel.AttrVisitLastActivity: map[string]any{"gte": "2026-11-23T09:12:00Z"}}},
		map[string]any{"range": map[string]any{eventmodel.AttrVisitDuration: map[string]any{"gt": 760000}}},
		map[string]any{"term": map[string]any{eventmodel.AttrVisitOutcomes: "purchase"}},
		map[string]any{"term": map[string]any{eventmodel.AttrVisitBounce: false}},
	}}})
	assert.Len(t, hits, 1)
	hits = es.search(prefix+"-credits", map[string]any{"range": map[string]any{eventmodel.AttrAttributionValue: map[string]any{"gt": 32.4, "lt": 32.5}}})
	assert.Len(t, hits, 1)
}

// Snapshots are written with external versioning: a late older snapshot
// never replaces a newer one and is a success; a credit replay stores
// nothing new.
func TestEntityVersionedWrites(t *testing.T) {
	es, prefix := newESClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.base, prefix)
	visits := prefix + "-visits"

	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(visitRecord("v-1", 5, "shop", "k1:a"))))
	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(visitRecord("v-1", 3, "shop", "k1:a"))),
		"an older snapshot arriving late is not an error")
	version, src := es.storedDoc(visits, "v-1")
	assert.EqualValues(t, 5, version)
	assert.EqualValues(t, 5, src[eventmodel.AttrVisitPagesViewed])
	assert.EqualValues(t, 5, src[eventmodel.AttrEntityVersion])

	// A newer one replaces it, and a Unix-nanosecond version fits.
	const nanos = int64(1_800_000_000_000_000_123)
	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(visitRecord("v-1", nanos, "shop", "k1:a"))))
	version, _ = es.storedDoc(visits, "v-1")
	assert.Equal(t, nanos, version)
	assert.Equal(t, json.Number(fmt.Sprint(nanos)), asNumber(t, es, visits, "v-1", eventmodel.AttrEntityVersion))
	assert.Equal(t, 1, es.countIndex(visits))

	// Two snapshots of one visit in one push: the newer wins whatever the order.
	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(
		visitRecord("v-2", 9, "shop", "k1:a"), visitRecord("v-2", 8, "shop", "k1:a"))))
	version, _ = es.storedDoc(visits, "v-2")
	assert.EqualValues(t, 9, version)

	// A credit is immutable (version 1): a replay is a conflict, i.e. delivered, one document.
	credit := makeLogs(creditRecord("c-1", "shop", "k1:a", testVisitStart))
	require.NoError(t, exp.pushLogs(context.Background(), credit))
	require.NoError(t, exp.pushLogs(context.Background(), credit))
	assert.Equal(t, 1, es.countIndex(prefix+"-credits"))

	metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 4}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsVersionConflict(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
}

// asNumber reads one field of a stored document without float rounding.
func asNumber(t *testing.T, es *esClient, index, id, field string) json.Number {
	t.Helper()
	_, raw := es.do(http.MethodGet, "/"+index+"/_source/"+url.PathEscape(id), nil)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var src map[string]any
	require.NoError(t, dec.Decode(&src))
	return src[field].(json.Number)
}

// An entity record without a usable id or version is a permanent error:
// counted, logged with the reason, never retried.
func TestEntityWithoutUsableVersionIsPermanent(t *testing.T) {
	es, prefix := newESClient(t)
	tt, set := newTelemetry(t)
	core, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, es.base, prefix)

	ld := makeLogs(visitRecord("v-ok", 1, "shop", "k1:a"), func(lr plog.LogRecord) {
		visitRecord("v-bad", 1, "shop", "k1:a")(lr)
		lr.Attributes().PutDouble(eventmodel.AttrEntityVersion, 2.5)
	}, func(lr plog.LogRecord) {
		visitorRecord("", 1, "shop", "k1:a", testVisitStart)(lr)
	})
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 1, es.countIndex(prefix+"-vis*"))
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonInvalidEntity)), Value: 2},
	}, metricdatatest.IgnoreTimestamp())
	entries := logs.FilterMessageSnippet("Entity records without a usable id or version").All()
	require.Len(t, entries, 1)
	assert.Equal(t, []any{
		eventmodel.EventVisit + " v-bad: " + problemEntityVersion,
		eventmodel.EventVisitor + " : " + problemEntityID,
	}, entries[0].ContextMap()["records"])

	// Only bad records: the push fails permanently (no retry).
	err := exp.pushLogs(context.Background(), makeLogs(func(lr plog.LogRecord) {
		visitRecord("v-bad", 1, "shop", "k1:a")(lr)
		lr.Attributes().Remove(eventmodel.AttrEntityVersion)
	}))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), err)
}

// Documents the server refuses for good, and records without a usable id,
// go to the dead-letter index with the reason and the original document;
// good records of the same push are stored; a replay adds nothing.
func TestDeadLetterIndex(t *testing.T) {
	es, prefix := newESClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.base, prefix, withDeadLetter(prefix))
	dlIndex := prefix + "-dead-letter"

	notADate := func(lr plog.LogRecord) {
		visitRecord("v-bad", 7, "shop", "k1:bad")(lr)
		lr.Attributes().PutStr(eventmodel.AttrVisitStart, "not-a-date") // a real mapper error
	}
	noID := func(lr plog.LogRecord) {
		pageView(lr, "")
		lr.Attributes().Remove(eventmodel.AttrEventID)
	}
	ld := makeLogs(visitRecord("v-good", 1, "shop", "k1:a"), notADate, noID, pageViewWithID(uniqueID(t, 1)))
	ld.MarkReadOnly()
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 1, es.countIndex(prefix+"-visits"))
	assert.Equal(t, 1, es.count(prefix))

	dead := es.search(dlIndex, nil)
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
	assert.Equal(t, problemEventID, invalid["error.reason"])
	assert.Nil(t, invalid["error.status"], "never sent")
	assert.Contains(t, invalid["dead_letter.document"], "https://shop.example.com:8443/pricing")

	// The original document is kept, not indexed: it cannot even be searched.
	status, raw := es.do(http.MethodPost, "/"+dlIndex+"/_search", map[string]any{
		"query": map[string]any{"term": map[string]any{"dead_letter.document": mapper["dead_letter.document"]}},
	})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, string(raw), "not indexed nor has doc values")

	// A replay (e.g. a persistent queue re-read) adds no second dead letter.
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Len(t, es.search(dlIndex, nil), 2)

	metadatatest.AssertEqualExporterElasticsearchJourneyDocsDeadLettered(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 4}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonInvalidEventID)), Value: 2},
		{Attributes: attribute.NewSet(attribute.String("reason", reasonRejected)), Value: 2},
	}, metricdatatest.IgnoreTimestamp())

	// A push whose every record was refused but dead-lettered lost nothing:
	// no permanent error.
	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(func(lr plog.LogRecord) {
		notADate(lr)
		lr.Attributes().PutStr(eventmodel.AttrEntityID, "v-bad-2")
	})))
	assert.Len(t, es.search(dlIndex, nil), 3)
}

// When the dead-letter index refuses too, the loss is counted and logged,
// and the record is not retried.
func TestDeadLetterFailureIsCountedAndLogged(t *testing.T) {
	es, prefix := newESClient(t)
	tt, set := newTelemetry(t)
	core, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, es.base, prefix, withDeadLetter(prefix))
	dlIndex := prefix + "-dead-letter"
	// The dead-letter index exists but takes no writes.
	status, raw := es.do(http.MethodPut, "/"+dlIndex, map[string]any{"settings": map[string]any{"index.blocks.write": true}})
	require.Equal(t, http.StatusOK, status, string(raw))

	err := exp.pushLogs(context.Background(), makeLogs(func(lr plog.LogRecord) {
		visitRecord("v-bad", 7, "shop", "k1:bad")(lr)
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
	es, prefix := newESClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.base, prefix)
	index := prefix + "-events-2026.11"

	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(pageViewWithID(uniqueID(t, 0)))))
	before := es.mappedFields(index)

	const events, keysPerEvent = 20, 300 // 6000 distinct property keys, 2000 top-level names
	rnd := rand.New(rand.NewPCG(1, 2))
	var probe string
	fills := make([]func(plog.LogRecord), events)
	for i := range fills {
		fills[i] = func(lr plog.LogRecord) {
			pageView(lr, uniqueID(t, i+1))
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
	require.NoError(t, exp.pushLogs(context.Background(), makeLogs(fills...)))
	assert.Equal(t, events+1, es.count(prefix))
	assert.Equal(t, before, es.mappedFields(index), "the mapping grew")

	// The properties are still searchable by key.
	hits := es.search(index, map[string]any{"term": map[string]any{eventmodel.AttrProperties + "." + probe: "v"}})
	assert.Len(t, hits, 1)
}
