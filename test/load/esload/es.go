package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// esAdmin is the small set of Elasticsearch calls around a run (not the
// measured bulk traffic): refresh, count, templates, mget, delete.
type esAdmin struct {
	url string
	hc  *http.Client
}

func (e *esAdmin) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, resp.StatusCode, out)
	}
	return out, nil
}

// refreshCount makes everything indexed so far searchable and counts the
// documents of the pattern's indices.
func (e *esAdmin) refreshCount(ctx context.Context, pattern string) (int, error) {
	if _, err := e.do(ctx, http.MethodPost, "/"+pattern+"/_refresh?allow_no_indices=true", nil); err != nil {
		return 0, err
	}
	b, err := e.do(ctx, http.MethodGet, "/"+pattern+"/_count?allow_no_indices=true", nil)
	if err != nil {
		return 0, err
	}
	var c struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, err
	}
	return c.Count, nil
}

// waitCount polls refreshCount until it reaches want.
func (e *esAdmin) waitCount(ctx context.Context, pattern string, want int) error {
	for {
		got, err := e.refreshCount(ctx, pattern)
		if err != nil {
			return err
		}
		if got == want {
			return nil
		}
		if got > want {
			return fmt.Errorf("%s holds %d documents, more than the %d sent", pattern, got, want)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s holds %d of %d documents: %w", pattern, got, want, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// templateExists reports whether the composable index template is installed.
func (e *esAdmin) templateExists(ctx context.Context, name string) bool {
	_, err := e.do(ctx, http.MethodGet, "/_index_template/"+name, nil)
	return err == nil
}

// copyEventsTemplate installs the exporter's events template of prefix from
// under the name of prefix to, so the plain loader writes into indices with
// exactly the exporter's settings and mapping.
func (e *esAdmin) copyEventsTemplate(ctx context.Context, from, to string) error {
	src, dst := journeystore.Layout{Prefix: from}, journeystore.Layout{Prefix: to}
	b, err := e.do(ctx, http.MethodGet, "/_index_template/"+src.TemplateName(journeystore.FamilyEvents), nil)
	if err != nil {
		return fmt.Errorf("reading the exporter's template: %w", err)
	}
	var got struct {
		IndexTemplates []struct {
			IndexTemplate map[string]any `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got.IndexTemplates) != 1 {
		return fmt.Errorf("unexpected template answer %.200s: %v", b, err)
	}
	// 9.x returns dates it refuses in a PUT.
	t := esclient.WithoutSystemManaged(got.IndexTemplates[0].IndexTemplate)
	t["index_patterns"] = []string{dst.Index(journeystore.FamilyEvents)}
	_, err = e.do(ctx, http.MethodPut, "/_index_template/"+dst.TemplateName(journeystore.FamilyEvents), t)
	return err
}

// sources fetches the _source of the documents ids of index, by _id.
func (e *esAdmin) sources(ctx context.Context, index string, ids []string) (map[string]any, error) {
	body, err := e.do(ctx, http.MethodPost, "/"+index+"/_mget", map[string]any{"ids": ids})
	if err != nil {
		return nil, err
	}
	var r struct {
		Docs []struct {
			ID     string         `json:"_id"`
			Found  bool           `json:"found"`
			Source map[string]any `json:"_source"`
		} `json:"docs"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(r.Docs))
	for _, d := range r.Docs {
		if d.Found {
			out[d.ID] = d.Source
		}
	}
	return out, nil
}

// deleteIndices deletes the indices of a prefix pattern by name
// (Elasticsearch 8 refuses wildcard deletes by default).
func (e *esAdmin) deleteIndices(ctx context.Context, pattern string) error {
	if !strings.HasSuffix(pattern, "*") {
		return fmt.Errorf("refusing to delete %q: not a prefix pattern", pattern)
	}
	b, err := e.do(ctx, http.MethodGet, "/_cat/indices/"+pattern+"?h=index&format=json&expand_wildcards=all", nil)
	if err != nil {
		return err
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return err
	}
	names := make([]string, 0, len(rows))
	for _, r := range rows {
		names = append(names, r.Index)
	}
	if len(names) == 0 {
		return nil
	}
	_, err = e.do(ctx, http.MethodDelete, "/"+strings.Join(names, ","), nil)
	return err
}

func newAdmin(esURL string) *esAdmin {
	return &esAdmin{url: esURL, hc: &http.Client{Timeout: 60 * time.Second}}
}
