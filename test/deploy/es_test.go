package deploy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// esDo sends one request to Elasticsearch and returns status and body.
func esDo(t *testing.T, method, u string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader = http.NoBody
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, u, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// waitForEvent waits until the event with url.full == pageURL is in
// <prefix>-events-* and returns its document.
func waitForEvent(t *testing.T, esURL, prefix, pageURL string) map[string]any {
	t.Helper()
	query := map[string]any{"query": map[string]any{"term": map[string]any{"url.full": pageURL}}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		esDo(t, http.MethodPost, esURL+"/"+prefix+"-events-*/_refresh?allow_no_indices=true&ignore_unavailable=true", nil)
		status, body := esDo(t, http.MethodPost, esURL+"/"+prefix+"-events-*/_search?allow_no_indices=true&ignore_unavailable=true", query)
		if status == http.StatusOK {
			var res struct {
				Hits struct {
					Hits []struct {
						Source map[string]any `json:"_source"`
					} `json:"hits"`
				} `json:"hits"`
			}
			require.NoError(t, json.Unmarshal(body, &res))
			if len(res.Hits.Hits) > 0 {
				return res.Hits.Hits[0].Source
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event for %s in %s-events-* (last answer %d %s)", pageURL, prefix, status, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// deleteIndices removes the indices and index templates a test's prefix made.
func deleteIndices(t *testing.T, esURL, prefix string) {
	_, body := esDo(t, http.MethodGet, esURL+"/_cat/indices/"+prefix+"*?h=index&format=json&expand_wildcards=all", nil)
	var indices []struct{ Index string }
	_ = json.Unmarshal(body, &indices)
	for _, i := range indices {
		esDo(t, http.MethodDelete, esURL+"/"+i.Index, nil)
	}
	_, body = esDo(t, http.MethodGet, esURL+"/_index_template/"+prefix+"*", nil)
	var templates struct {
		IndexTemplates []struct{ Name string } `json:"index_templates"`
	}
	_ = json.Unmarshal(body, &templates)
	for _, tpl := range templates.IndexTemplates {
		if strings.HasPrefix(tpl.Name, prefix) {
			esDo(t, http.MethodDelete, esURL+"/_index_template/"+tpl.Name, nil)
		}
	}
}
