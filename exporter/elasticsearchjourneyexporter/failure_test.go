package elasticsearchjourneyexporter

// Failure injection: httptest stands in for Elasticsearch only where the
// real server cannot be made to fail this way (per-item 429/5xx, a hanging
// or erroring bulk endpoint, a server that is down at start).

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadata"
	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/storetest"
)

// fakeES answers the template GET as "installed, our version" and the bulk
// API with a per-document status chosen by the test.
type fakeES struct {
	*httptest.Server

	mu sync.Mutex
	// itemStatus returns the status of one document of one bulk request
	// (attempt counts the bulk requests so far, from 1).
	itemStatus func(attempt int, id string) int
	// bulkStatus, when not 0, fails the whole bulk request.
	bulkStatus int
	// hang makes the bulk endpoint wait until the client gives up.
	hang bool
	// bulks records the document ids of every bulk request received.
	bulks [][]string
}

func newFakeES(t *testing.T) *fakeES {
	f := &fakeES{itemStatus: func(int, string) int { return http.StatusCreated }}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeES) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/_index_template/"):
		name := strings.TrimPrefix(r.URL.Path, "/_index_template/")
		fmt.Fprintf(w, `{"index_templates":[{"name":%q,"index_template":{"index_patterns":["x"],"version":%d}}]}`, name, journeystore.TemplateVersion)
	case r.URL.Path == "/_bulk":
		f.serveBulk(w, r)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"type":"not_found","reason":"fake"},"status":404}`)
	}
}

func (f *fakeES) serveBulk(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	var ids []string
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for line := 0; sc.Scan(); line++ {
		if line%2 == 1 {
			continue // document source
		}
		var action map[string]struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids = append(ids, action["create"].ID)
	}

	f.mu.Lock()
	f.bulks = append(f.bulks, ids)
	attempt, bulkStatus, hang, itemStatus := len(f.bulks), f.bulkStatus, f.hang, f.itemStatus
	f.mu.Unlock()

	if hang {
		<-r.Context().Done()
		return
	}
	if bulkStatus != 0 {
		w.WriteHeader(bulkStatus)
		fmt.Fprintf(w, `{"error":{"type":"fake_failure","reason":"injected"},"status":%d}`, bulkStatus)
		return
	}
	type item struct {
		Index  string         `json:"_index"`
		ID     string         `json:"_id"`
		Status int            `json:"status"`
		Error  map[string]any `json:"error,omitempty"`
	}
	var items []map[string]item
	hasErrors := false
	for _, id := range ids {
		it := item{Index: "fake", ID: id, Status: itemStatus(attempt, id)}
		if it.Status > 201 {
			hasErrors = true
			it.Error = map[string]any{"type": "es_rejected_execution_exception", "reason": "injected"}
			if it.Status == http.StatusForbidden {
				it.Error = map[string]any{"type": "security_exception", "reason": "action [indices:data/write/bulk[s]] is unauthorized for API key id [k9] on indices [" + it.Index + "]"}
			}
		}
		items = append(items, map[string]item{"create": it})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": hasErrors, "items": items})
}

func (f *fakeES) receivedBulks() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.bulks...)
}

func TestItemThrottledIsTheOnlyRecordRetried(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			fake := newFakeES(t)
			fake.itemStatus = func(_ int, id string) int {
				if id == "b" {
					return status
				}
				return http.StatusCreated
			}
			tt, set := newTelemetry(t)
			exp := newTestExporter(t, set, fake.URL, "fake")

			err := exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID("a"), storetest.PageViewWithID("b"), storetest.PageViewWithID("c")))
			require.Error(t, err)
			assert.False(t, consumererror.IsPermanent(err))
			var logsErr consumererror.Logs
			require.True(t, errors.As(err, &logsErr), "want consumererror.Logs, got %T: %v", err, err)
			retry := logsErr.Data()
			assert.Equal(t, []string{"b"}, recordIDs(retry))
			// The record travels with its resource and scope.
			svc, ok := retry.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
			require.True(t, ok)
			assert.Equal(t, "must-not-be-exported", svc.Str())

			metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
				[]metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
			metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
				{Attributes: attribute.NewSet(attribute.String("reason", reasonItemRetryable)), Value: 1},
			}, metricdatatest.IgnoreTimestamp())
		})
	}
}

// Through exporterhelper's retry, only the throttled record is sent again.
func TestRetryResendsOnlyThrottledRecord(t *testing.T) {
	fake := newFakeES(t)
	fake.itemStatus = func(attempt int, id string) int {
		if id == "b" && attempt == 1 {
			return http.StatusTooManyRequests
		}
		return http.StatusCreated
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{fake.URL}
	cfg.IndexPrefix = "fake"
	// No queue: ConsumeLogs returns after exporterhelper's retries.
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	require.NoError(t, exp.ConsumeLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID("a"), storetest.PageViewWithID("b"), storetest.PageViewWithID("c"))))
	assert.Equal(t, [][]string{{"a", "b", "c"}, {"b"}}, fake.receivedBulks())
}

func TestWholeRequestFailureRetriesEveryRecord(t *testing.T) {
	fake := newFakeES(t)
	fake.bulkStatus = http.StatusInternalServerError
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, fake.URL, "fake")

	ld := storetest.MakeLogs(storetest.PageViewWithID("a"), storetest.PageViewWithID("b"))
	err := exp.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "500")
	var logsErr consumererror.Logs
	require.True(t, errors.As(err, &logsErr))
	assert.Equal(t, []string{"a", "b"}, recordIDs(logsErr.Data()))
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonRequestFailed)), Value: 2},
	}, metricdatatest.IgnoreTimestamp())
}

// A stalled Elasticsearch cannot hold a push beyond its deadline.
func TestHangingBulkIsBoundedByTheDeadline(t *testing.T) {
	fake := newFakeES(t)
	fake.hang = true
	_, set := newTelemetry(t)
	exp := newTestExporter(t, set, fake.URL, "fake")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := exp.pushLogs(ctx, storetest.MakeLogs(storetest.PageViewWithID("a")))
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	var logsErr consumererror.Logs
	require.True(t, errors.As(err, &logsErr))
	assert.Equal(t, []string{"a"}, recordIDs(logsErr.Data()))
}

// Elasticsearch is down when the collector starts: Start succeeds, pushes
// are refused with a retryable error, and once Elasticsearch answers the
// template is installed in the background and events flow.
func TestElasticsearchDownAtStart(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	realES, err := url.Parse(es.URL)
	require.NoError(t, err)

	// Reserve a port, then close it: nothing listens there yet.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, "http://"+addr, prefix)
	require.False(t, exp.templateReady.Load())

	ld := storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 1)))
	err = exp.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "index template not installed yet: ")
	assert.Contains(t, err.Error(), "connection refused")
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", reasonTemplateMiss)), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	assert.Equal(t, 0, es.Count(prefix), "nothing may be written before the template exists")

	// Elasticsearch comes up on that address (a proxy to the real server).
	l, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	proxy := &httptest.Server{Listener: l, Config: &http.Server{Handler: httputil.NewSingleHostReverseProxy(realES)}}
	proxy.Start()
	defer proxy.Close()

	require.Eventually(t, exp.templateReady.Load, 10*time.Second, 10*time.Millisecond)
	assert.EqualValues(t, journeystore.TemplateVersion, es.InstalledTemplate(prefix + "-events")["version"])
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	assert.Equal(t, 1, es.Count(prefix))
}

// Shutdown stops the background installation (goleak in TestMain checks
// that its goroutine is gone) and is safe without Start.
func TestShutdownStopsBackgroundInstallation(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{"http://" + addr}
	exp, err := newEventsExporter(cfg, exportertest.NewNopSettings(exportertest.NopType))
	require.NoError(t, err)
	require.NoError(t, exp.shutdown(context.Background()), "shutdown without start")

	exp, err = newEventsExporter(cfg, exportertest.NewNopSettings(exportertest.NopType))
	require.NoError(t, err)
	require.NoError(t, exp.start(context.Background(), componenttest.NewNopHost()))
	require.NotNil(t, exp.installDone, "the background installation must be running")
	done := make(chan struct{})
	go func() {
		_ = exp.shutdown(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not stop the background installation")
	}
	select {
	case <-exp.installDone:
	default:
		t.Fatal("background installation still running after shutdown")
	}
}

// A document answered 403 (how a bulk answer reports a missing index
// privilege) is not the document's fault: it is kept for retry, never
// dead-lettered, counted as forbidden, and the exports pause.
func TestItemForbiddenIsKeptAndPausesExports(t *testing.T) {
	fake := newFakeES(t)
	fake.itemStatus = func(int, string) int { return http.StatusForbidden }
	tt, set := newTelemetry(t)
	exp := newTestExporter(t, set, fake.URL, "fake", func(c *Config) { c.DeadLetter.Index = "fake-dead-letter" })

	ld := storetest.MakeLogs(storetest.PageViewWithID("a"), storetest.PageViewWithID("b"))
	err := exp.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "2 of 2 records not stored yet, retrying them: Elasticsearch at "+fake.URL+
		" refused the request (no credentials): HTTP 403 security_exception: action [indices:data/write/bulk[s]] is unauthorized for API key id [k9] on indices [fake]; the credentials lack a privilege")
	var logsErr consumererror.Logs
	require.True(t, errors.As(err, &logsErr))
	assert.Equal(t, []string{"a", "b"}, recordIDs(logsErr.Data()))
	metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", "forbidden")), Value: 2},
	}, metricdatatest.IgnoreTimestamp())
	_, err = tt.GetMetric("otelcol_exporter_elasticsearch_journey_docs_dead_lettered")
	assert.Error(t, err, "nothing is dead-lettered")

	err = exp.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not sent while Elasticsearch refuses the exports")
	assert.Len(t, fake.receivedBulks(), 1, "no request while paused")
}
