package elasticsearchjourneyexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/estest"
)

// esClient talks to the real test Elasticsearch directly, to check what the
// exporter wrote.
type esClient struct {
	t    testing.TB
	base string
	http *http.Client
}

// newESClient returns a client for the real Elasticsearch (skipping or
// failing the test as estest decides) and a fresh index prefix whose
// indices and template are deleted when the test ends.
func newESClient(t testing.TB) (*esClient, string) {
	t.Helper()
	base := estest.URL(t)
	// estest.URL probes with the default client; drop its idle connection
	// so the package's goleak check sees no stray goroutines.
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	es := &esClient{t: t, base: base, http: &http.Client{Timeout: 30 * time.Second}}
	t.Cleanup(es.http.CloseIdleConnections)
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { es.deleteAll(prefix) })
	return es, prefix
}

func (es *esClient) do(method, path string, body any) (int, []byte) {
	es.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(es.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, es.base+path, rd)
	require.NoError(es.t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := es.http.Do(req)
	require.NoError(es.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(es.t, err)
	return res.StatusCode, raw
}

func (es *esClient) decode(method, path string, body, into any) {
	es.t.Helper()
	status, raw := es.do(method, path, body)
	require.Less(es.t, status, 300, "%s %s: %s", method, path, raw)
	require.NoError(es.t, json.Unmarshal(raw, into), string(raw))
}

// deleteAll removes the prefix's indices (one by one: wildcard deletes are
// refused by default) and its template.
func (es *esClient) deleteAll(prefix string) {
	_, raw := es.do(http.MethodGet, "/_cat/indices/"+prefix+"*?h=index&format=json&expand_wildcards=all", nil)
	var indices []struct {
		Index string `json:"index"`
	}
	_ = json.Unmarshal(raw, &indices)
	for _, ix := range indices {
		es.do(http.MethodDelete, "/"+ix.Index, nil)
	}
	es.do(http.MethodDelete, "/_index_template/"+eventsTemplateName(prefix), nil)
}

func (es *esClient) refresh(prefix string) {
	es.t.Helper()
	es.do(http.MethodPost, "/"+prefix+"-events-*/_refresh?expand_wildcards=all", nil)
}

// count returns the number of event documents under the prefix.
func (es *esClient) count(prefix string) int {
	es.t.Helper()
	es.refresh(prefix)
	var res struct {
		Count int `json:"count"`
	}
	es.decode(http.MethodGet, "/"+prefix+"-events-*/_count?allow_no_indices=true", nil, &res)
	return res.Count
}

// source returns the _source of one document, or nil when it does not exist.
func (es *esClient) source(index, id string) map[string]any {
	es.t.Helper()
	status, raw := es.do(http.MethodGet, "/"+index+"/_source/"+url.PathEscape(id), nil)
	if status == http.StatusNotFound {
		return nil
	}
	require.Equal(es.t, http.StatusOK, status, string(raw))
	var src map[string]any
	require.NoError(es.t, json.Unmarshal(raw, &src))
	return src
}

// installedTemplate returns the stored index_template object.
func (es *esClient) installedTemplate(prefix string) map[string]any {
	es.t.Helper()
	var res struct {
		IndexTemplates []struct {
			IndexTemplate map[string]any `json:"index_template"`
		} `json:"index_templates"`
	}
	es.decode(http.MethodGet, "/_index_template/"+eventsTemplateName(prefix), nil, &res)
	require.Len(es.t, res.IndexTemplates, 1)
	return res.IndexTemplates[0].IndexTemplate
}

// newTestExporter starts an exporter (without the exporterhelper wrapper,
// so tests see pushLogs' own result) against endpoint.
func newTestExporter(t testing.TB, set exporter.Settings, endpoint, prefix string, modify ...func(*Config)) *eventsExporter {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{endpoint}
	cfg.IndexPrefix = prefix
	// confighttp's transport wrappers do not pass CloseIdleConnections
	// through, so without this the pooled connections would outlive the
	// test and trip the package's goleak check.
	cfg.ClientConfig.DisableKeepAlives = true
	for _, m := range modify {
		m(cfg)
	}
	require.NoError(t, cfg.Validate())
	exp, err := newEventsExporter(cfg, set)
	require.NoError(t, err)
	exp.retryMin, exp.retryMax = 20*time.Millisecond, 100*time.Millisecond
	require.NoError(t, exp.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.shutdown(context.Background())) })
	return exp
}

func newTelemetry(t testing.TB) (*componenttest.Telemetry, exporter.Settings) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	return tt, metadatatest.NewSettings(tt)
}

// makeLogs builds one resource/scope holding one record per fill function.
// The resource attribute proves resource attributes are not exported.
func makeLogs(fills ...func(plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "must-not-be-exported")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, f := range fills {
		f(lrs.AppendEmpty())
	}
	return ld
}

func pageViewWithID(id string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) { pageView(lr, id) }
}

// recordIDs lists the event ids of all records of ld, in order.
func recordIDs(ld plog.Logs) []string {
	var ids []string
	forEachRecord(ld, func(_ int, lr plog.LogRecord) {
		id, _ := eventID(lr)
		ids = append(ids, id)
	})
	return ids
}

func uniqueID(t testing.TB, n int) string {
	return fmt.Sprintf("%s-%d-%d", t.Name(), time.Now().UnixNano(), n)
}
