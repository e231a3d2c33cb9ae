package journeystore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// What a data-subject request (GDPR Art. 15, 17 and 20) needs of the
// store: the documents about one person, found by the ids as stored
// (webjourneyctl derives them from the raw identifier), to export or to
// erase.

// maxLinkedVisitors bounds the visitors one user id can link: a user id on
// more browsers than this is reported, not silently cut.
const maxLinkedVisitors = 10000

// LinkedVisitors returns the visitor ids stored with any of users on site
// (the events of the user carry the visitor id of the browser they came
// from), sorted: the browsers of the user, whose documents without the
// user id (before login, visits, credits) are about the same person.
func (s *Store) LinkedVisitors(ctx context.Context, site string, users []string) ([]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	body, _ := json.Marshal(map[string]any{
		"size": 0,
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{eventmodel.AttrSiteID: site}},
			map[string]any{"terms": map[string]any{eventmodel.AttrUserID: users}},
		}}},
		"aggs": map[string]any{"visitors": map[string]any{"terms": map[string]any{
			"field": eventmodel.AttrVisitorID, "size": maxLinkedVisitors + 1,
		}}},
	})
	indices := s.subjectIndices()
	refresh := s.es.Indices.Refresh
	if _, err := answer("refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(indices...),
		refresh.WithIgnoreUnavailable(true), refresh.WithAllowNoIndices(true))); err != nil {
		return nil, err
	}
	search := s.es.Search
	raw, err := answer("finding the user's visitors")(search(search.WithContext(ctx), search.WithIndex(indices...),
		search.WithBody(bytes.NewReader(body)), search.WithIgnoreUnavailable(true), search.WithAllowNoIndices(true),
		search.WithFilterPath("aggregations.visitors.buckets.key")))
	if err != nil {
		return nil, err
	}
	var res struct {
		Aggregations struct {
			Visitors struct {
				Buckets []struct {
					Key string `json:"key"`
				} `json:"buckets"`
			} `json:"visitors"`
		} `json:"aggregations"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("finding the user's visitors: %w", err)
	}
	if len(res.Aggregations.Visitors.Buckets) > maxLinkedVisitors {
		return nil, fmt.Errorf("the user id is stored with more than %d visitor ids; that is not one person", maxLinkedVisitors)
	}
	var out []string
	for _, b := range res.Aggregations.Visitors.Buckets {
		out = append(out, b.Key)
	}
	slices.Sort(out)
	return out, nil
}

// SubjectDocument is one stored document about a subject.
type SubjectDocument struct {
	Family Family
	Index  string
	ID     string
	Source json.RawMessage
}

// ExportReport counts what ExportSubject found.
type ExportReport struct {
	// Families lists the documents per family, as ErasureReport does.
	Families []FamilyCount
	Total    int64
}

// ExportSubject calls fn with every document about the subject, as the
// erasure of the subject would delete them: its events in every month's
// index, its visits, visitor records and credits, the partner-facing
// copies of those visits and credits, and its dead letters. It counts them
// by family.
func (s *Store) ExportSubject(ctx context.Context, er *Erasure, fn func(SubjectDocument) error) (*ExportReport, error) {
	if er.Site == "" {
		return nil, errors.New("give the site id")
	}
	if er.empty() {
		return nil, errNoSubject
	}
	counts := map[string]int64{}
	emit := func(index, id string, src json.RawMessage) error {
		counts[index]++
		return fn(SubjectDocument{Family: s.layout.familyOfIndex(index), Index: index, ID: id, Source: src})
	}
	var copies []docRef
	err := s.scan(ctx, s.subjectIndices(), subjectQuery(er), func(hits []storedHit) error {
		for _, h := range hits {
			if index, id, ok := s.partnerCopy(h.Index, h.ID); ok {
				copies = append(copies, docRef{index, id})
			}
			if err := emit(h.Index, h.ID, h.Source); err != nil {
				return err
			}
		}
		return nil
	})
	for len(copies) > 0 && err == nil {
		n := min(len(copies), scanPage)
		var found []storedHit
		if found, err = s.multiGet(ctx, copies[:n]); err == nil {
			for _, h := range found {
				if err = emit(h.Index, h.ID, h.Source); err != nil {
					break
				}
			}
		}
		copies = copies[n:]
	}
	families, total := s.familyCounts(counts)
	return &ExportReport{Families: families, Total: total}, err
}

// familyCounts sorts counts by index into families: events, visits,
// visitors, credits, dead_letter (when the layout has a dead-letter index)
// and the partner-facing and other families only when they have any.
func (s *Store) familyCounts(byIndex map[string]int64) ([]FamilyCount, int64) {
	var total int64
	counts := map[Family]int64{}
	for index, n := range byIndex {
		counts[s.layout.familyOfIndex(index)] += n
		total += n
	}
	families := s.layout.Families()
	for _, f := range append(partnerFamilies[:], FamilyPostbacks, FamilyOther) {
		if counts[f] > 0 {
			families = append(families, f)
		}
	}
	out := make([]FamilyCount, 0, len(families))
	for _, f := range families {
		out = append(out, FamilyCount{Family: f, Index: s.layout.Index(f), Documents: counts[f]})
	}
	return out, total
}

// multiGet returns the documents of refs that exist (real-time).
func (s *Store) multiGet(ctx context.Context, refs []docRef) ([]storedHit, error) {
	body, _ := json.Marshal(map[string]any{"docs": refs})
	mget := s.es.Mget
	raw, err := answer("reading documents")(mget(bytes.NewReader(body), mget.WithContext(ctx)))
	if err != nil {
		return nil, err
	}
	var res struct {
		Docs []struct {
			storedHit
			Found bool `json:"found"`
		} `json:"docs"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("reading documents: %w", err)
	}
	var out []storedHit
	for _, d := range res.Docs {
		if d.Found {
			out = append(out, d.storedHit)
		}
	}
	return out, nil
}

// KeyIDCount is a key id whose pseudonyms are stored, and in how many
// documents.
type KeyIDCount struct {
	KeyID     string
	Documents int64
}

// maxUnknownKeyIDs bounds how many unknown key ids OtherKeyIDs names.
const maxUnknownKeyIDs = 10

// OtherKeyIDs returns the key ids, other than known, of the pseudonymous
// visitor and user ids stored for site (ids of the shape "<key id>:" and
// encLen base64url characters, as the anonymizer writes them), with how
// many documents carry each: the pseudonyms of a subject under those key
// ids cannot be derived without their secrets, so a subject request that
// does not cover them is incomplete. At most 10 are named.
func (s *Store) OtherKeyIDs(ctx context.Context, site string, known []string, encLen int) ([]KeyIDCount, error) {
	// Lucene's syntax: '-' in a class is a range unless escaped.
	shape := `[a-z0-9]{1,16}:[A-Za-z0-9_\-]{` + strconv.Itoa(encLen) + "}"
	exclude := slices.Clone(known)
	var out []KeyIDCount
	for range maxUnknownKeyIDs {
		// A document is of another key id when one of its ids has the
		// shape of a pseudonym and is of no known (or already named) key
		// id.
		var should []any
		for _, field := range []string{eventmodel.AttrVisitorID, eventmodel.AttrUserID} {
			var mustNot []any
			for _, id := range exclude {
				mustNot = append(mustNot, map[string]any{"prefix": map[string]any{field: id + ":"}})
			}
			should = append(should, map[string]any{"bool": map[string]any{
				"filter":   []any{map[string]any{"regexp": map[string]any{field: shape}}},
				"must_not": mustNot,
			}})
		}
		query := map[string]any{"bool": map[string]any{
			"filter":               []any{map[string]any{"term": map[string]any{eventmodel.AttrSiteID: site}}},
			"should":               should,
			"minimum_should_match": 1,
		}}
		body, _ := json.Marshal(map[string]any{"size": 1, "track_total_hits": true, "query": query,
			"_source": []string{eventmodel.AttrVisitorID, eventmodel.AttrUserID}})
		search := s.es.Search
		indices := s.subjectIndices()
		raw, err := answer("looking for other key ids")(search(search.WithContext(ctx), search.WithIndex(indices...),
			search.WithBody(bytes.NewReader(body)), search.WithIgnoreUnavailable(true), search.WithAllowNoIndices(true)))
		if err != nil {
			return out, err
		}
		var res struct {
			Hits struct {
				Hits []struct {
					Source map[string]any `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return out, fmt.Errorf("looking for other key ids: %w", err)
		}
		if len(res.Hits.Hits) == 0 {
			return out, nil
		}
		id := ""
		for _, field := range []string{eventmodel.AttrVisitorID, eventmodel.AttrUserID} {
			v, _ := res.Hits.Hits[0].Source[field].(string)
			if k, _, ok := strings.Cut(v, ":"); ok && k != "" && !slices.Contains(exclude, k) {
				id = k
				break
			}
		}
		if id == "" {
			return out, nil
		}
		n, err := s.countMatching(ctx, "looking for other key ids", strings.Join(indices, ","), map[string]any{"bool": map[string]any{
			"filter": []any{map[string]any{"term": map[string]any{eventmodel.AttrSiteID: site}}},
			"should": []any{
				map[string]any{"prefix": map[string]any{eventmodel.AttrVisitorID: id + ":"}},
				map[string]any{"prefix": map[string]any{eventmodel.AttrUserID: id + ":"}},
			},
			"minimum_should_match": 1,
		}})
		if err != nil {
			return out, err
		}
		out = append(out, KeyIDCount{KeyID: id, Documents: n})
		exclude = append(exclude, id)
	}
	return out, nil
}
