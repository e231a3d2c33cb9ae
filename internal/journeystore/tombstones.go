package journeystore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Tombstones make an erasure exact while documents of the subject are
// still on their way: in a collector's sending queue (in memory or on
// disk), in the attribution processor's emitter, in a bulk request in
// flight, in another collector. Every erasure (an erasure request in a
// push, webjourneyctl erase or subject erase) first records a tombstone
// per id of the subject in "<prefix>_erasures"; every exporter checks the
// documents it writes against the tombstones it knows and drops those of
// an erased subject, and after each push deletes again what it wrote of a
// subject erased meanwhile.
//
// A tombstone holds no id: its key is a hash of site, kind and the stored
// pseudonym (TombstoneKey), which is all a document needs to be checked
// against it. The index also holds one marker document whose generation
// counts the tombstone writes: an exporter reads the marker (a real-time
// get, one small request per push) and loads only the tombstones of
// generations it has not seen, so knowing every tombstone costs nothing
// while there are no new ones, and nothing depends on clocks.
//
// Writing (AddTombstones): read the marker (generation g, with its
// sequence number), write the tombstones with generation g+1 and
// refresh=wait_for, then write the marker with generation g+1 only if it
// is unchanged (if_seq_no); on a conflict start again with the new
// generation. So once the marker says g, every tombstone of generation <= g
// is searchable, and a reader that loads generations above the one it had
// misses none.

// TombstoneKey identifies an erased id on a site.
type TombstoneKey [16]byte

// Kinds of erased ids.
const (
	KindVisitor = "visitor"
	KindUser    = "user"
)

// SubjectKey is the tombstone key of an id of kind (KindVisitor, KindUser)
// on site: a hash, so that the tombstone holds no id.
func SubjectKey(site, kind, id string) TombstoneKey {
	h := sha256.New()
	h.Write([]byte("webjourney tombstone v1\x00"))
	h.Write([]byte(site))
	h.Write([]byte{0})
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var k TombstoneKey
	copy(k[:], h.Sum(nil))
	return k
}

// String is the key in hex, the tombstone's document id.
func (k TombstoneKey) String() string { return hex.EncodeToString(k[:]) }

// TombstoneKeys returns the keys of every id of the subject.
func (er *Erasure) TombstoneKeys() []TombstoneKey {
	keys := make([]TombstoneKey, 0, len(er.Visitors)+len(er.Users))
	for _, v := range er.Visitors {
		keys = append(keys, SubjectKey(er.Site, KindVisitor, v))
	}
	for _, u := range er.Users {
		keys = append(keys, SubjectKey(er.Site, KindUser, u))
	}
	return keys
}

// Tombstone is one erased id, as loaded.
type Tombstone struct {
	Key        TombstoneKey
	Erased     time.Time // when the erasure was carried out (the eraser's clock)
	Generation int64
}

// Fields of the tombstones index.
const (
	fieldTombstoneKey        = "erasure.key"
	fieldTombstoneGeneration = "erasure.generation"
	fieldTombstoneMarker     = "erasure.marker"
	// tombstoneMarkerID is the marker document's id; tombstone ids are 32
	// hex digits.
	tombstoneMarkerID = "generation"
)

// tombstoneMapping maps the tombstones index.
var tombstoneMapping = map[string]any{
	"dynamic": false,
	"properties": map[string]any{
		FieldTimestamp: mapDate,
		"erasure": map[string]any{"properties": map[string]any{
			"key":        mapKeyword,
			"generation": mapLong,
			"marker":     mapBoolean,
		}},
	},
}

// maxMarkerAttempts bounds the retries of AddTombstones while other
// erasures move the marker.
const maxMarkerAttempts = 50

// AddTombstones records keys as erased at now (see the package comment
// above for the protocol). Recording a key again is harmless.
func (s *Store) AddTombstones(ctx context.Context, keys []TombstoneKey, now time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	if err := s.ensureIndex(ctx, s.layout.ErasuresIndex(), tombstoneMapping, false); err != nil {
		return err
	}
	for range maxMarkerAttempts {
		m, err := s.readMarker(ctx)
		if err != nil {
			return err
		}
		next := m.generation + 1
		var bulk bytes.Buffer
		for _, k := range keys {
			action, _ := json.Marshal(map[string]any{"index": map[string]any{"_index": s.layout.ErasuresIndex(), "_id": k.String()}})
			doc, _ := json.Marshal(map[string]any{
				FieldTimestamp:           now.UTC().Format(time.RFC3339Nano),
				fieldTombstoneKey:        k.String(),
				fieldTombstoneGeneration: next,
			})
			bulk.Write(action)
			bulk.WriteByte('\n')
			bulk.Write(doc)
			bulk.WriteByte('\n')
		}
		// wait_for: searchable before the marker says so.
		if err := s.bulkItemsOK(ctx, "recording the erasure tombstones", &bulk, false, s.es.Bulk.WithRefresh("wait_for")); err != nil {
			return err
		}
		moved, err := s.writeMarker(ctx, m, next, now)
		if err != nil {
			return err
		}
		if !moved {
			return nil
		}
	}
	return fmt.Errorf("recording the erasure tombstones: the generation marker in %s kept moving (%d attempts); try again", s.layout.ErasuresIndex(), maxMarkerAttempts)
}

// marker is the generation marker as read.
type marker struct {
	found       bool
	generation  int64
	seqNo, term int64
}

// TombstoneGeneration returns the generation of the tombstones: 0 when
// none was ever recorded.
func (s *Store) TombstoneGeneration(ctx context.Context) (int64, error) {
	m, err := s.readMarker(ctx)
	return m.generation, err
}

// readMarker reads the marker with a real-time get (no refresh needed).
func (s *Store) readMarker(ctx context.Context) (marker, error) {
	get := s.es.Get
	res, err := get(s.layout.ErasuresIndex(), tombstoneMarkerID, get.WithContext(ctx), get.WithRealtime(true))
	if err != nil {
		return marker{}, fmt.Errorf("reading the erasure generation: %w", err)
	}
	defer drainAndClose(res.Body)
	if res.StatusCode == http.StatusNotFound {
		return marker{}, nil // no tombstone yet (or no index)
	}
	if res.IsError() {
		return marker{}, fmt.Errorf("reading the erasure generation: %s", responseError(res.StatusCode, res.Body))
	}
	var doc struct {
		SeqNo  int64 `json:"_seq_no"`
		Term   int64 `json:"_primary_term"`
		Source struct {
			Generation int64 `json:"erasure.generation"`
		} `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return marker{}, fmt.Errorf("reading the erasure generation: %w", err)
	}
	return marker{found: true, generation: doc.Source.Generation, seqNo: doc.SeqNo, term: doc.Term}, nil
}

// writeMarker sets the marker to generation next if it is still m, and
// reports whether it had moved (someone else wrote it: try again).
func (s *Store) writeMarker(ctx context.Context, m marker, next int64, now time.Time) (moved bool, err error) {
	body, _ := json.Marshal(map[string]any{
		FieldTimestamp:           now.UTC().Format(time.RFC3339Nano),
		fieldTombstoneMarker:     true,
		fieldTombstoneGeneration: next,
	})
	index := s.es.Index
	opts := []func(*esapi.IndexRequest){index.WithContext(ctx), index.WithDocumentID(tombstoneMarkerID)}
	if m.found {
		opts = append(opts, index.WithIfSeqNo(int(m.seqNo)), index.WithIfPrimaryTerm(int(m.term)))
	} else {
		opts = append(opts, index.WithOpType("create"))
	}
	res, err := index(s.layout.ErasuresIndex(), bytes.NewReader(body), opts...)
	if err != nil {
		return false, fmt.Errorf("writing the erasure generation: %w", err)
	}
	defer drainAndClose(res.Body)
	if res.StatusCode == http.StatusConflict {
		return true, nil
	}
	if res.IsError() {
		return false, fmt.Errorf("writing the erasure generation: %s", responseError(res.StatusCode, res.Body))
	}
	return false, nil
}

// tombstonePage is how many tombstones one search returns.
const tombstonePage = 5000

// TombstonesSince returns the tombstones of generations above after,
// recorded at or after notBefore (older ones have expired), and the
// generation they are complete up to: load from there next time. It costs
// one real-time get when there is nothing new.
func (s *Store) TombstonesSince(ctx context.Context, after int64, notBefore time.Time) ([]Tombstone, int64, error) {
	m, err := s.readMarker(ctx)
	if err != nil || m.generation <= after {
		return nil, max(after, m.generation), err
	}
	index := s.layout.ErasuresIndex()
	refresh := s.es.Indices.Refresh
	if _, err := answer("loading erasure tombstones: refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(index))); err != nil {
		return nil, after, err
	}
	var out []Tombstone
	var searchAfter []any
	for {
		q := map[string]any{
			"size":    tombstonePage,
			"_source": []string{FieldTimestamp, fieldTombstoneKey, fieldTombstoneGeneration},
			"query": map[string]any{"bool": map[string]any{"filter": []any{
				map[string]any{"exists": map[string]any{"field": fieldTombstoneKey}},
				map[string]any{"range": map[string]any{fieldTombstoneGeneration: map[string]any{"gt": after}}},
				map[string]any{"range": map[string]any{FieldTimestamp: map[string]any{"gte": notBefore.UTC().Format(time.RFC3339Nano)}}},
			}}},
			"sort": []any{map[string]any{fieldTombstoneKey: "asc"}},
		}
		if searchAfter != nil {
			q["search_after"] = searchAfter
		}
		body, _ := json.Marshal(q)
		search := s.es.Search
		raw, err := answer("loading erasure tombstones")(search(search.WithContext(ctx), search.WithIndex(index),
			search.WithBody(bytes.NewReader(body)), search.WithFilterPath("hits.hits._source", "hits.hits.sort")))
		if err != nil {
			return nil, after, err
		}
		page, last, err := decodeTombstones(raw)
		if err != nil {
			return nil, after, fmt.Errorf("loading erasure tombstones: %w", err)
		}
		out = append(out, page...)
		if len(page) < tombstonePage || last == nil {
			return out, m.generation, nil
		}
		searchAfter = last
	}
}

// decodeTombstones reads a page of the tombstones search: the tombstones
// and the sort values of the last hit. A hit that is not a well-formed
// tombstone is an error: the index holds what AddTombstones wrote, and
// skipping one would forget an erasure.
func decodeTombstones(raw []byte) ([]Tombstone, []any, error) {
	var res struct {
		Hits struct {
			Hits []struct {
				Source struct {
					Timestamp  string      `json:"@timestamp"`
					Key        string      `json:"erasure.key"`
					Generation json.Number `json:"erasure.generation"`
				} `json:"_source"`
				Sort []any `json:"sort"`
			} `json:"hits"`
		} `json:"hits"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return nil, nil, err
	}
	out := make([]Tombstone, 0, len(res.Hits.Hits))
	var last []any
	for _, h := range res.Hits.Hits {
		var t Tombstone
		if b, err := hex.DecodeString(h.Source.Key); err != nil || len(b) != len(t.Key) {
			return nil, nil, fmt.Errorf("a tombstone's key %q is not %d hex bytes", h.Source.Key, len(t.Key))
		} else {
			copy(t.Key[:], b)
		}
		var err error
		if t.Erased, err = time.Parse(time.RFC3339Nano, h.Source.Timestamp); err != nil {
			return nil, nil, fmt.Errorf("a tombstone's time: %w", err)
		}
		if t.Generation, err = strconv.ParseInt(h.Source.Generation.String(), 10, 64); err != nil {
			return nil, nil, fmt.Errorf("a tombstone's generation: %w", err)
		}
		out = append(out, t)
		last = h.Sort
	}
	return out, last, nil
}

// ExpireTombstones deletes the tombstones recorded before t (the exporter's
// erasure::tombstone_days ago) and returns how many.
func (s *Store) ExpireTombstones(ctx context.Context, before time.Time) (int64, error) {
	deleted, _, err := s.deleteMatching(ctx, "expiring erasure tombstones", []string{s.layout.ErasuresIndex()}, map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"exists": map[string]any{"field": fieldTombstoneKey}},
		map[string]any{"range": map[string]any{FieldTimestamp: map[string]any{"lt": before.UTC().Format(time.RFC3339Nano)}}},
	}}}, nil)
	return sumCounts(deleted), err
}

// bulkItemsOK sends a bulk request and fails unless every item succeeded
// (with conflictOK, or answered 409: the same or a newer version is
// stored).
func (s *Store) bulkItemsOK(ctx context.Context, what string, body *bytes.Buffer, conflictOK bool, opts ...func(*esapi.BulkRequest)) error {
	bulk := s.es.Bulk
	raw, err := answer(what)(bulk(body, append([]func(*esapi.BulkRequest){bulk.WithContext(ctx), bulk.WithFilterPath("errors", "items.*.status", "items.*.error.type")}, opts...)...))
	if err != nil {
		return err
	}
	var br struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
			Error  struct {
				Type string `json:"type"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &br); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, it := range br.Items {
		for _, r := range it {
			if r.Status >= 300 && !(conflictOK && r.Status == http.StatusConflict) {
				return fmt.Errorf("%s: an item answered HTTP %d %s", what, r.Status, r.Error.Type)
			}
		}
	}
	return nil
}

// ensureIndex creates index with mapping (and our index settings) unless
// it exists; with updateMapping it puts the mapping on an existing one (new
// fields are additive), tolerating a refusal of that (the documents are
// still stored, as _source, until an administrator puts it).
func (s *Store) ensureIndex(ctx context.Context, index string, mapping map[string]any, updateMapping bool) error {
	body, _ := json.Marshal(map[string]any{
		"settings": map[string]any{"index": map[string]any{"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
		"mappings": mapping,
	})
	create := s.es.Indices.Create
	res, err := create(index, create.WithContext(ctx), create.WithBody(bytes.NewReader(body)))
	if err != nil {
		return fmt.Errorf("creating index %s: %w", index, err)
	}
	defer drainAndClose(res.Body)
	if !res.IsError() {
		return nil
	}
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	_ = json.Unmarshal(raw, &e)
	if e.Error.Type != "resource_already_exists_exception" {
		return fmt.Errorf("creating index %s: %s", index, responseError(res.StatusCode, bytes.NewReader(raw)))
	}
	if updateMapping {
		mb, _ := json.Marshal(mapping)
		pm := s.es.Indices.PutMapping
		_, _ = answer("")(pm([]string{index}, bytes.NewReader(mb), pm.WithContext(ctx)))
	}
	return nil
}
