package journeystore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// scanPage is how many documents one page of a scan holds.
const scanPage = 1000

// storedHit is one document a scan found.
type storedHit struct {
	Index  string          `json:"_index"`
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
	Sort   []any           `json:"sort"`
}

// scan calls fn with every document of indices that query matches, a page
// at a time, in a point in time (a consistent view, whatever is written or
// deleted meanwhile) paged with search_after. Missing indices are skipped.
func (s *Store) scan(ctx context.Context, indices []string, query map[string]any, fn func([]storedHit) error) (err error) {
	refresh := s.es.Indices.Refresh
	if _, err := answer("refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(indices...),
		refresh.WithIgnoreUnavailable(true), refresh.WithAllowNoIndices(true))); err != nil {
		return err
	}
	open := s.es.OpenPointInTime
	raw, err := answer("opening a point in time")(open(indices, "2m", open.WithContext(ctx), open.WithIgnoreUnavailable(true)))
	if err != nil {
		return err
	}
	var pit struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &pit); err != nil || pit.ID == "" {
		return fmt.Errorf("opening a point in time: no id in the answer")
	}
	defer func() {
		body, _ := json.Marshal(map[string]string{"id": pit.ID})
		c := s.es.ClosePointInTime
		_, _ = answer("")(c(c.WithContext(context.WithoutCancel(ctx)), c.WithBody(bytes.NewReader(body))))
	}()
	var after []any
	for {
		q := map[string]any{
			"size":  scanPage,
			"query": query,
			"pit":   map[string]any{"id": pit.ID, "keep_alive": "2m"},
			"sort":  []any{map[string]any{"_shard_doc": "asc"}},
		}
		if after != nil {
			q["search_after"] = after
		}
		body, _ := json.Marshal(q)
		search := s.es.Search
		raw, err := answer("search")(search(search.WithContext(ctx), search.WithBody(bytes.NewReader(body)),
			search.WithFilterPath("pit_id", "hits.hits._index", "hits.hits._id", "hits.hits._source", "hits.hits.sort")))
		if err != nil {
			return err
		}
		var res struct {
			PitID string `json:"pit_id"`
			Hits  struct {
				Hits []storedHit `json:"hits"`
			} `json:"hits"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // sort values are longs
		if err := dec.Decode(&res); err != nil {
			return fmt.Errorf("search answer: %w", err)
		}
		if res.PitID != "" {
			pit.ID = res.PitID
		}
		hits := res.Hits.Hits
		if len(hits) == 0 {
			return nil
		}
		if err := fn(hits); err != nil {
			return err
		}
		if len(hits) < scanPage {
			return nil
		}
		after = hits[len(hits)-1].Sort
	}
}
