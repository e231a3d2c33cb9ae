package elasticsearchjourneyexporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// erasure is one erasure request of a push: whom to forget, and how many
// documents went.
type erasure struct {
	site, visitor, user string
	deleted             int64
}

// subject is what the stored audit record keeps of the erased ids.
func (er *erasure) subject() string {
	h := sha256.Sum256([]byte(er.site + "\x00" + er.visitor + "\x00" + er.user))
	return hex.EncodeToString(h[:16])
}

// eraseSize is how many documents one search-and-delete round removes.
const eraseSize = 1000

// maxEraseRounds bounds one erasure (and one retention pass over one
// family); a visitor with more documents than this is finished when the
// request is retried, expired documents at the next check.
const maxEraseRounds = 1000

// eraseRequested carries out the erasure requests of a push before any of
// its documents is written, and returns them by event id so that the
// stored request names only a hash of whom it erased. The bare server has
// no delete_by_query: each round searches the exporter's indices for the
// subject's documents and bulk-deletes them, until none is left (see
// deleteMatching). An error leaves the push retryable; erasing again is
// harmless.
func (e *eventsExporter) eraseRequested(ctx context.Context, ld plog.Logs) (map[string]*erasure, error) {
	var done map[string]*erasure
	var err error
	forEachRecord(ld, func(_ int, lr plog.LogRecord) {
		if err != nil || lr.EventName() != eventmodel.EventErasureRequest {
			return
		}
		id, ok := eventID(lr)
		if !ok {
			return
		}
		er := &erasure{}
		for k, v := range lr.Attributes().All() {
			switch k {
			case eventmodel.AttrSiteID:
				er.site = v.AsString()
			case eventmodel.AttrVisitorID:
				er.visitor = v.AsString()
			case eventmodel.AttrUserID:
				er.user = v.AsString()
			}
		}
		if er.visitor == "" && er.user == "" {
			return
		}
		var deleted map[string]int64
		if deleted, err = e.ops.erase(ctx, er); err == nil {
			er.deleted = sumCounts(deleted)
			if done == nil {
				done = map[string]*erasure{}
			}
			done[id] = er
		}
	})
	return done, err
}

// erase deletes the subject's documents from every index of the exporter:
// events, the entity indices (visits, visitors, credits, which carry the
// visitor id too) and the dead-letter index. It returns how many it deleted
// by index.
func (o *Ops) erase(ctx context.Context, er *erasure) (map[string]int64, error) {
	indices := []string{o.prefix + "-*"}
	if dl := o.deadLetter; dl != "" {
		indices = append(indices, dl) // may lie outside the prefix
	}
	var should []any
	if er.visitor != "" {
		should = append(should, map[string]any{"term": map[string]any{eventmodel.AttrVisitorID: er.visitor}})
	}
	if er.user != "" {
		should = append(should, map[string]any{"term": map[string]any{eventmodel.AttrUserID: er.user}})
	}
	deleted, done, err := o.deleteMatching(ctx, "erasure", indices, map[string]any{"bool": map[string]any{
		"filter":               []any{map[string]any{"term": map[string]any{eventmodel.AttrSiteID: er.site}}},
		"should":               should,
		"minimum_should_match": 1,
	}})
	if err == nil && !done {
		err = fmt.Errorf("erasure of one subject did not finish in %d rounds of %d documents", maxEraseRounds, eraseSize)
	}
	return deleted, err
}

// deleteMatching deletes every document of indices that query matches, and
// returns how many it deleted by index and whether none is left. The bare
// server has no delete_by_query, so each round refreshes (so the last
// round's deletes are no longer found), searches for up to eraseSize ids
// and bulk-deletes them, for at most maxEraseRounds rounds. Deleting again
// is harmless: a document already gone answers 404, which is not an error.
func (o *Ops) deleteMatching(ctx context.Context, what string, indices []string, query map[string]any) (map[string]int64, bool, error) {
	body, err := json.Marshal(map[string]any{"size": eraseSize, "_source": false, "query": query})
	if err != nil {
		return nil, false, err
	}
	deleted := map[string]int64{}
	for round := 0; round < maxEraseRounds; round++ {
		refresh := o.es.Indices.Refresh
		if _, err := answer(what + " refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(indices...),
			refresh.WithIgnoreUnavailable(true), refresh.WithAllowNoIndices(true))); err != nil {
			return deleted, false, err
		}
		search := o.es.Search
		raw, err := answer(what + " search")(search(search.WithContext(ctx), search.WithIndex(indices...),
			search.WithBody(bytes.NewReader(body)), search.WithIgnoreUnavailable(true), search.WithAllowNoIndices(true),
			search.WithFilterPath("hits.hits._index", "hits.hits._id")))
		if err != nil {
			return deleted, false, err
		}
		var res struct {
			Hits struct {
				Hits []struct {
					Index string `json:"_index"`
					ID    string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return deleted, false, fmt.Errorf("%s search answer: %w", what, err)
		}
		if len(res.Hits.Hits) == 0 {
			return deleted, true, nil
		}
		var bulk bytes.Buffer
		for _, h := range res.Hits.Hits {
			line, _ := json.Marshal(map[string]any{"delete": map[string]string{"_index": h.Index, "_id": h.ID}})
			bulk.Write(line)
			bulk.WriteByte('\n')
		}
		raw, err = answer(what + " delete")(o.es.Bulk(&bulk, o.es.Bulk.WithContext(ctx), o.es.Bulk.WithFilterPath("errors", "items.*._index", "items.*.status")))
		if err != nil {
			return deleted, false, err
		}
		var br struct {
			Errors bool `json:"errors"`
			Items  []map[string]struct {
				Index  string `json:"_index"`
				Status int    `json:"status"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &br); err != nil {
			return deleted, false, fmt.Errorf("%s delete answer: %w", what, err)
		}
		for _, it := range br.Items {
			for _, r := range it {
				if r.Status == http.StatusOK {
					deleted[r.Index]++
				} else if r.Status != http.StatusNotFound {
					return deleted, false, fmt.Errorf("%s: a delete answered HTTP %d", what, r.Status)
				}
			}
		}
	}
	return deleted, false, nil
}

// answer reads a 2xx answer of an esapi call, or turns anything else into
// an error that names what was attempted (without echoing the body).
func answer(what string) func(*esapi.Response, error) ([]byte, error) {
	return func(res *esapi.Response, err error) ([]byte, error) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		defer drainAndClose(res.Body)
		if res.IsError() {
			return nil, fmt.Errorf("%s: %s", what, responseError(res.StatusCode, res.Body))
		}
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return raw, nil
	}
}

// sumCounts adds up counts by index.
func sumCounts(byIndex map[string]int64) int64 {
	var n int64
	for _, c := range byIndex {
		n += c
	}
	return n
}
