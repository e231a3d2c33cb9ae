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
// refused by default) and templates (the dead-letter index of a test is
// named under the prefix too).
func (es *esClient) deleteAll(prefix string) {
	_, raw := es.do(http.MethodGet, "/_cat/indices/"+prefix+"*?h=index&format=json&expand_wildcards=all", nil)
	var indices []struct {
		Index string `json:"index"`
	}
	_ = json.Unmarshal(raw, &indices)
	for _, ix := range indices {
		es.do(http.MethodDelete, "/"+ix.Index, nil)
	}
	_, raw = es.do(http.MethodGet, "/_index_template/"+prefix+"*", nil)
	var templates struct {
		IndexTemplates []struct {
			Name string `json:"name"`
		} `json:"index_templates"`
	}
	_ = json.Unmarshal(raw, &templates)
	for _, it := range templates.IndexTemplates {
		es.do(http.MethodDelete, "/_index_template/"+it.Name, nil)
	}
}

// count returns the number of event documents under the prefix.
func (es *esClient) count(prefix string) int {
	es.t.Helper()
	return es.countIndex(prefix + "-events-*")
}

// countIndex returns the number of documents in the indices of pattern.
func (es *esClient) countIndex(pattern string) int {
	es.t.Helper()
	es.do(http.MethodPost, "/"+pattern+"/_refresh?expand_wildcards=all&ignore_unavailable=true&allow_no_indices=true", nil)
	var res struct {
		Count int `json:"count"`
	}
	es.decode(http.MethodGet, "/"+pattern+"/_count?allow_no_indices=true&ignore_unavailable=true", nil, &res)
	return res.Count
}

// search returns the _source of every document of pattern (up to 1000).
func (es *esClient) search(pattern string, query map[string]any) []map[string]any {
	es.t.Helper()
	es.do(http.MethodPost, "/"+pattern+"/_refresh?expand_wildcards=all&ignore_unavailable=true&allow_no_indices=true", nil)
	if query == nil {
		query = map[string]any{"match_all": map[string]any{}}
	}
	var res struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	es.decode(http.MethodPost, "/"+pattern+"/_search?allow_no_indices=true&ignore_unavailable=true",
		map[string]any{"size": 1000, "query": query}, &res)
	var out []map[string]any
	for _, h := range res.Hits.Hits {
		out = append(out, h.Source)
	}
	return out
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

// mapping returns the mapping of one index.
func (es *esClient) mapping(index string) map[string]any {
	es.t.Helper()
	var res map[string]struct {
		Mappings map[string]any `json:"mappings"`
	}
	es.decode(http.MethodGet, "/"+index+"/_mapping", nil, &res)
	return res[index].Mappings
}

// installedTemplate returns the stored events index_template object.
func (es *esClient) installedTemplate(prefix string) map[string]any {
	es.t.Helper()
	return es.installedTemplateNamed(eventsTemplateName(prefix))
}

// installedTemplateNamed returns the stored index_template object.
func (es *esClient) installedTemplateNamed(name string) map[string]any {
	es.t.Helper()
	var res struct {
		IndexTemplates []struct {
			IndexTemplate map[string]any `json:"index_template"`
		} `json:"index_templates"`
	}
	es.decode(http.MethodGet, "/_index_template/"+name, nil, &res)
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
