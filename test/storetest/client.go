package storetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/test/estest"
)

// Client talks to the real test Elasticsearch directly, to set up and check
// what was stored. Index names are spelled out here on purpose: they are
// the wire names the code under test must use.
type Client struct {
	URL  string
	t    testing.TB
	http *http.Client
}

// NewClient returns a client for the real Elasticsearch (skipping or
// failing the test as estest decides) and a fresh index prefix whose
// indices and templates are deleted when the test ends.
func NewClient(t testing.TB) (*Client, string) {
	t.Helper()
	base := estest.URL(t)
	// estest.URL probes with the default client; drop its idle connection
	// so a package's goleak check sees no stray goroutines.
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	es := Connect(t, base)
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { es.DeleteAll(prefix) })
	return es, prefix
}

// Connect returns a client for the Elasticsearch at url.
func Connect(t testing.TB, url string) *Client {
	es := &Client{URL: url, t: t, http: &http.Client{Timeout: 30 * time.Second}}
	t.Cleanup(es.http.CloseIdleConnections)
	return es
}

// Do sends body as JSON and returns the status and the answer.
func (es *Client) Do(method, path string, body any) (int, []byte) {
	es.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(es.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, es.URL+path, rd)
	require.NoError(es.t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := es.http.Do(req)
	require.NoError(es.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(es.t, err)
	return res.StatusCode, raw
}

// Decode sends body and decodes a 2xx answer into into.
func (es *Client) Decode(method, path string, body, into any) {
	es.t.Helper()
	status, raw := es.Do(method, path, body)
	require.Less(es.t, status, 300, "%s %s: %s", method, path, raw)
	require.NoError(es.t, json.Unmarshal(raw, into), string(raw))
}

// DeleteAll removes the prefix's indices (one by one: wildcard deletes are
// refused by default) and templates (the dead-letter index of a test is
// named under the prefix too).
func (es *Client) DeleteAll(prefix string) {
	_, raw := es.Do(http.MethodGet, "/_cat/indices/"+prefix+"*?h=index&format=json&expand_wildcards=all", nil)
	var indices []struct {
		Index string `json:"index"`
	}
	_ = json.Unmarshal(raw, &indices)
	for _, ix := range indices {
		es.Do(http.MethodDelete, "/"+ix.Index, nil)
	}
	_, raw = es.Do(http.MethodGet, "/_index_template/"+prefix+"*", nil)
	var templates struct {
		IndexTemplates []struct {
			Name string `json:"name"`
		} `json:"index_templates"`
	}
	_ = json.Unmarshal(raw, &templates)
	for _, it := range templates.IndexTemplates {
		es.Do(http.MethodDelete, "/_index_template/"+it.Name, nil)
	}
}

// EventsPattern is the index pattern of every event index of the prefix,
// as journeystore's Layout names it (journeystore's layout test checks that
// they agree: this package cannot import journeystore, whose own tests
// import this package).
func EventsPattern(prefix string) string { return prefix + "-events-*" }

// Count returns the number of event documents under the prefix.
func (es *Client) Count(prefix string) int {
	es.t.Helper()
	return es.CountIndex(EventsPattern(prefix))
}

// CountIndex returns the number of documents in the indices of pattern.
func (es *Client) CountIndex(pattern string) int {
	es.t.Helper()
	path := "/" + pattern + "/_count?allow_no_indices=true&ignore_unavailable=true"
	var status int
	var raw []byte
	// An index created a moment ago answers 503 (no_shard_available)
	// until its primary shard has started: that says nothing about the
	// count, so ask again (a busy machine takes a few seconds).
	for try := 0; ; try++ {
		es.Do(http.MethodPost, "/"+pattern+"/_refresh?expand_wildcards=all&ignore_unavailable=true&allow_no_indices=true", nil)
		status, raw = es.Do(http.MethodGet, path, nil)
		if status != http.StatusServiceUnavailable || try == 100 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Less(es.t, status, 300, "GET %s: %s", path, raw)
	var res struct {
		Count int `json:"count"`
	}
	require.NoError(es.t, json.Unmarshal(raw, &res), string(raw))
	return res.Count
}

// Search returns the _source of every document of pattern that query
// matches (all with nil; up to 1000).
func (es *Client) Search(pattern string, query map[string]any) []map[string]any {
	es.t.Helper()
	es.Do(http.MethodPost, "/"+pattern+"/_refresh?expand_wildcards=all&ignore_unavailable=true&allow_no_indices=true", nil)
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
	es.Decode(http.MethodPost, "/"+pattern+"/_search?allow_no_indices=true&ignore_unavailable=true",
		map[string]any{"size": 1000, "query": query}, &res)
	var out []map[string]any
	for _, h := range res.Hits.Hits {
		out = append(out, h.Source)
	}
	return out
}

// Source returns the _source of one document, or nil when it does not
// exist.
func (es *Client) Source(index, id string) map[string]any {
	es.t.Helper()
	status, raw := es.Do(http.MethodGet, "/"+index+"/_source/"+url.PathEscape(id), nil)
	if status == http.StatusNotFound {
		return nil
	}
	require.Equal(es.t, http.StatusOK, status, string(raw))
	var src map[string]any
	require.NoError(es.t, json.Unmarshal(raw, &src))
	return src
}

// StoredDoc returns the stored version and _source of one document.
func (es *Client) StoredDoc(index, id string) (int64, map[string]any) {
	es.t.Helper()
	var res struct {
		Version int64          `json:"_version"`
		Source  map[string]any `json:"_source"`
	}
	es.Decode(http.MethodGet, "/"+index+"/_doc/"+url.PathEscape(id), nil, &res)
	return res.Version, res.Source
}

// Mapping returns the mapping of one index.
func (es *Client) Mapping(index string) map[string]any {
	es.t.Helper()
	var res map[string]struct {
		Mappings map[string]any `json:"mappings"`
	}
	es.Decode(http.MethodGet, "/"+index+"/_mapping", nil, &res)
	return res[index].Mappings
}

// MappedFields counts the leaf fields of an index's mapping.
func (es *Client) MappedFields(index string) int {
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
	return count(es.Mapping(index)["properties"].(map[string]any))
}

// InstalledTemplate returns the stored index_template object of name as it
// can be PUT back: without the creation and modification dates that 9.x
// adds (esclient.WithoutSystemManaged). Every other key it holds is
// returned.
func (es *Client) InstalledTemplate(name string) map[string]any {
	es.t.Helper()
	var res struct {
		IndexTemplates []struct {
			IndexTemplate map[string]any `json:"index_template"`
		} `json:"index_templates"`
	}
	es.Decode(http.MethodGet, "/_index_template/"+name, nil, &res)
	require.Len(es.t, res.IndexTemplates, 1)
	return esclient.WithoutSystemManaged(res.IndexTemplates[0].IndexTemplate)
}

// AsJSON round-trips v through JSON so Go values compare with decoded ones.
func AsJSON(t testing.TB, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}
