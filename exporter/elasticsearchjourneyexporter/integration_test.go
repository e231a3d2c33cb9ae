package elasticsearchjourneyexporter

// Integration tests against the real Elasticsearch at ELASTICSEARCH_URL
// (skipped when unset, failed under WEBJOURNEY_REQUIRE_ES=1).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/storetest"
)

// A newer template (from a newer webjourney) is left in place and is
// usable: pushes proceed.
func TestNewerTemplateIsUsable(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	newTestExporter(t, set, es.URL, prefix)

	newer := es.InstalledTemplate(prefix + "-events")
	newer["version"] = journeystore.TemplateVersion + 10
	status, raw := es.Do(http.MethodPut, "/_index_template/"+prefix+"-events", newer)
	require.Equal(t, http.StatusOK, status, string(raw))
	exp := newTestExporter(t, set, es.URL, prefix)
	assert.True(t, exp.templateReady.Load(), "a newer template is usable: pushes must proceed")
	assert.EqualValues(t, journeystore.TemplateVersion+10, es.InstalledTemplate(prefix + "-events")["version"])
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 1)))))
	assert.Equal(t, 1, es.Count(prefix))
}

func TestDocumentsWrittenWithExactFields(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)

	pvID, customID := storetest.UniqueID(t, 1), storetest.UniqueID(t, 2)
	decemberTime := time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)
	ld := storetest.MakeLogs(
		storetest.PageViewWithID(pvID),
		func(lr plog.LogRecord) {
			lr.SetEventName(eventmodel.EventCustom)
			lr.SetTimestamp(pcommon.NewTimestampFromTime(decemberTime))
			lr.Body().SetStr("not exported")
			a := lr.Attributes()
			a.PutStr(eventmodel.AttrEventID, customID)
			a.PutStr(eventmodel.AttrCustomName, "signup")
			a.PutStr(eventmodel.AttrSiteID, "shop")
			a.PutStr("app.build", "2026.12.1")            // not in the model: stored, unmapped
			a.PutStr("url", "collides with url.* object") // left out, counted
			p := a.PutEmptyMap(eventmodel.AttrProperties)
			p.PutStr("plan", "team")
			p.PutEmptySlice("tags").FromRaw([]any{"a", "b"})
		},
	)
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 2, es.Count(prefix))

	var want map[string]any
	require.NoError(t, json.Unmarshal([]byte(storetest.PageViewDocument), &want))
	want[eventmodel.AttrEventID] = pvID
	assert.Equal(t, want, es.Source(prefix+"-events-2026.11", pvID))

	assert.Equal(t, map[string]any{
		"@timestamp":              "2026-12-24T18:00:00Z",
		"event.name":              eventmodel.EventCustom,
		eventmodel.AttrEventID:    customID,
		eventmodel.AttrCustomName: "signup",
		eventmodel.AttrSiteID:     "shop",
		"app.build":               "2026.12.1",
		eventmodel.AttrProperties: map[string]any{"plan": "team", "tags": []any{"a", "b"}},
	}, es.Source(prefix+"-events-2026.12", customID))

	// The mapped fields are searchable with their types: a term on the
	// flattened properties, a range on the integer port.
	var res struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
		} `json:"hits"`
	}
	es.Decode(http.MethodPost, "/"+prefix+"-events-*/_search", map[string]any{
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"webjourney.properties.plan": "pro"}},
			map[string]any{"range": map[string]any{"url.port": map[string]any{"gte": 8000}}},
			map[string]any{"term": map[string]any{"client.address": "203.0.113.0/24"}},
		}}},
	}, &res)
	assert.Equal(t, 1, res.Hits.Total.Value)

	metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyAttributesDropped(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyBulkRequests(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

func TestReplayDoesNotDuplicate(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)

	ld := storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 1)), storetest.PageViewWithID(storetest.UniqueID(t, 2)), storetest.PageViewWithID(storetest.UniqueID(t, 3)))
	ld.MarkReadOnly() // pushLogs itself never modifies the data (a replay resends the same Logs)
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	require.Equal(t, 3, es.Count(prefix))

	// A replay (e.g. a retry after a lost answer, or a persistent queue
	// re-read after a crash) stores nothing new.
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 3, es.Count(prefix))

	metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsDuplicate(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
}

func TestRefusedRecordsDoNotStopGoodOnes(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	core, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, es.URL, prefix)

	good1, bad, good2 := storetest.UniqueID(t, 1), storetest.UniqueID(t, 2), storetest.UniqueID(t, 3)
	ld := storetest.MakeLogs(
		storetest.PageViewWithID(good1),
		func(lr plog.LogRecord) {
			storetest.PageView(lr, bad)
			lr.Attributes().PutStr(eventmodel.AttrURLPort, "not-a-number") // conflicts with the integer mapping
		},
		func(lr plog.LogRecord) { // no event id
			storetest.PageView(lr, "")
			lr.Attributes().Remove(eventmodel.AttrEventID)
		},
		// Over Elasticsearch's 512-byte _id limit, which would fail the
		// whole bulk request and with it the good records.
		storetest.PageViewWithID(strings.Repeat("x", 600)),
		storetest.PageViewWithID(good2),
	)
	// Some records were stored: the refused ones are counted and logged,
	// not retried (they can never succeed) and not failing the push.
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 2, es.Count(prefix))
	index := prefix + "-events-2026.11"
	assert.NotNil(t, es.Source(index, good1))
	assert.NotNil(t, es.Source(index, good2))
	assert.Nil(t, es.Source(index, bad))

	// Each refusal is logged with index, id and Elasticsearch's reason, but
	// never with document content (Elasticsearch quotes the bad value).
	refused := logs.FilterMessage("Elasticsearch refused a document; not retried").All()
	require.Len(t, refused, 1)
	fields := refused[0].ContextMap()
	assert.Equal(t, index, fields["index"])
	assert.Equal(t, bad, fields["id"])
	assert.Equal(t, "document_parsing_exception", fields["error.type"])
	assert.Contains(t, fields["error.reason"], "url.port")
	assert.Len(t, logs.FilterMessage("Events without a usable event id cannot be stored; the producer must set it (a non-empty string of at most 512 bytes)").All(), 1)
	for _, entry := range logs.All() {
		for k, v := range entry.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), "not-a-number", "log field %q quotes document content", k)
		}
	}

	metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonInvalidEventID)), Value: 2},
		{Attributes: attribute.NewSet(attribute.String("reason", reasonRejected)), Value: 1},
	}, metricdatatest.IgnoreTimestamp())

	// When every record of a push is refused, the push fails permanently so
	// exporterhelper records the loss instead of retrying forever.
	err := exp.pushLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, 4))
		lr.Attributes().PutStr(eventmodel.AttrClientAddress, "not-an-ip")
	}))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), err)
}

// A push larger than the 5 MB bulk limit is cut into several requests, and
// every event lands.
func TestLargePushIsSplitIntoBulkRequests(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)

	const n = 6000 // about 6 MB of documents
	fills := make([]func(plog.LogRecord), n)
	for i := range fills {
		fills[i] = storetest.PageViewWithID(storetest.UniqueID(t, i))
	}
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(fills...)))
	assert.Equal(t, n, es.Count(prefix))
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
		[]metricdata.DataPoint[int64]{{Value: n}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterElasticsearchJourneyBulkRequests(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
}

// Every compression the configuration accepts works with Elasticsearch.
func TestCompressions(t *testing.T) {
	for _, c := range []configcompression.Type{"none", configcompression.TypeGzip, configcompression.TypeDeflate} {
		t.Run(string(c), func(t *testing.T) {
			es, prefix := storetest.NewClient(t)
			_, set := newTelemetry(t)
			exp := newTestExporter(t, set, es.URL, prefix, func(cfg *Config) { cfg.ClientConfig.Compression = c })
			require.True(t, exp.templateReady.Load())
			require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 1)))))
			assert.Equal(t, 1, es.Count(prefix))
		})
	}
}

// With several endpoints, a dead node does not stop delivery.
func TestFailoverToAnotherEndpoint(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix, func(cfg *Config) {
		cfg.Endpoints = []string{"http://127.0.0.1:1", es.URL}
	})
	require.True(t, exp.templateReady.Load())
	for i := range 4 { // round-robin: some requests start at the dead node
		require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, i)))))
	}
	assert.Equal(t, 4, es.Count(prefix))
}

// The factory-built exporter (queue with batching, retry, timeout) delivers
// queued events by Shutdown.
func TestFactoryExporterDeliversThroughQueue(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{es.URL}
	cfg.IndexPrefix = prefix
	cfg.ClientConfig.DisableKeepAlives = true // see newTestExporter
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))

	// The queue's batcher merges requests, so exporterhelper declares
	// MutatesData for us and the pipeline hands over data we may own.
	assert.True(t, exp.Capabilities().MutatesData)
	for i := range 5 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, i)))))
	}
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, 5, es.Count(prefix))
}

// A push whose context is already cancelled writes nothing and hands every
// record back for retry.
func TestCancelledPushIsRetryable(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, es.URL, prefix)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ld := storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 1)), storetest.PageViewWithID(storetest.UniqueID(t, 2)))
	err := exp.pushLogs(ctx, ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var logsErr consumererror.Logs
	require.True(t, errors.As(err, &logsErr))
	assert.Equal(t, recordIDs(ld), recordIDs(logsErr.Data()))
}

// BenchmarkPushLogs measures end-to-end export into the real Elasticsearch:
// encoding, one bulk request per 1000 events, and outcome handling.
func BenchmarkPushLogs(b *testing.B) {
	es, prefix := storetest.NewClient(b)
	_, set := newTelemetry(b)
	// Keep-alives are off as in every test here (see newTestExporter): one
	// new connection per 1000-event bulk request costs little.
	exp := newTestExporter(b, set, es.URL, prefix)

	const perPush = 1000
	fills := make([]func(plog.LogRecord), perPush)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer() // building the input is not the exporter's cost
		for i := range fills {
			n++
			fills[i] = storetest.PageViewWithID(fmt.Sprintf("bench-%d", n))
		}
		ld := storetest.MakeLogs(fills...)
		b.StartTimer()
		if err := exp.pushLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
