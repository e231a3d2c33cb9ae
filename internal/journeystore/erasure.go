package journeystore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/randomid"
)

// Erasure is one erasure of a subject: whom to forget, by the ids as
// stored (pseudonyms), and how many documents went.
type Erasure struct {
	Site, Visitor, User string
	Deleted             int64
}

// Subject is what the stored audit record keeps of the erased ids: a hash.
func (er *Erasure) Subject() string {
	h := sha256.Sum256([]byte(er.Site + "\x00" + er.Visitor + "\x00" + er.User))
	return hex.EncodeToString(h[:16])
}

// ErasureRequest returns the event id and the subject of a
// webjourney.erasure_request record; nil when lr is none, or has no usable
// event id or no visitor or user id to erase.
func ErasureRequest(lr plog.LogRecord) (string, *Erasure) {
	if lr.EventName() != eventmodel.EventErasureRequest {
		return "", nil
	}
	id, ok := eventID(lr)
	if !ok {
		return "", nil
	}
	er := &Erasure{}
	for k, v := range lr.Attributes().All() {
		switch k {
		case eventmodel.AttrSiteID:
			er.Site = v.AsString()
		case eventmodel.AttrVisitorID:
			er.Visitor = v.AsString()
		case eventmodel.AttrUserID:
			er.User = v.AsString()
		}
	}
	if er.Visitor == "" && er.User == "" {
		return "", nil
	}
	return id, er
}

// eraseSize is how many documents one search-and-delete round removes.
const eraseSize = 1000

// maxEraseRounds bounds one erasure (and one retention pass over one
// family); a visitor with more documents than this is finished when the
// request is retried, expired documents at the next check.
const maxEraseRounds = 1000

// FamilyCount is a number of documents of one index family.
type FamilyCount struct {
	Family    Family
	Index     string // the index, or the pattern of the event indices
	Documents int64
}

// ErasureReport is what Erase did.
type ErasureReport struct {
	// Families lists the documents deleted per family: events, visits,
	// visitors, credits, dead_letter (when a dead-letter index is set) and
	// other (only when some were).
	Families []FamilyCount
	// Indices holds the documents deleted by index.
	Indices map[string]int64
	Total   int64
	// The audit record: its index, id and webjourney.erasure.subject.
	AuditIndex, AuditID, Subject string
}

// errNoSubject is Erase's error without a visitor or user id.
var errNoSubject = errors.New("give a visitor id or a user id to erase")

// Erase deletes every document of site whose webjourney.visitor.id is
// visitorID or whose user.id is userID (either may be empty, not both)
// from the events, entity and dead-letter indices, as the exporter does for
// an erasure request, and then stores the audit record the exporter stores:
// a webjourney.erasure_request event with webjourney.erasure.subject and
// .deleted instead of the ids (consent reason "operator_request"). The ids
// are the pseudonyms as stored. Erasing again is harmless.
//
// It refuses to run when the events index template of the prefix is not
// installed: the prefix is then wrong (or nothing was ever exported), and
// the audit record would create an index without its mapping.
func (s *Store) Erase(ctx context.Context, site, visitorID, userID string) (*ErasureReport, error) {
	if site == "" {
		return nil, errors.New("give the site id to erase from")
	}
	if visitorID == "" && userID == "" {
		return nil, errNoSubject
	}
	name := s.layout.TemplateName(FamilyEvents)
	if _, found, err := s.installedTemplateVersion(ctx, name); err != nil {
		return nil, err
	} else if !found {
		return nil, fmt.Errorf("index template %s is not installed: is the index prefix %q right? (webjourneyctl templates check)", name, s.layout.Prefix)
	}
	er := &Erasure{Site: site, Visitor: visitorID, User: userID}
	deleted, err := s.erase(ctx, er)
	rep := s.erasureReport(deleted)
	if err != nil {
		return rep, err
	}
	er.Deleted = rep.Total
	rep.Subject = er.Subject()
	rep.AuditIndex, rep.AuditID, err = s.storeErasureAudit(ctx, er, time.Now())
	return rep, err
}

// EraseSubject deletes the subject's documents, as an erasure request in a
// push asks, and sets er.Deleted. The caller stores the request itself as
// the audit record (encoded with er among the erased, see NewEncoder). An
// error leaves the request retryable; erasing again is harmless.
func (s *Store) EraseSubject(ctx context.Context, er *Erasure) error {
	deleted, err := s.erase(ctx, er)
	if err == nil {
		er.Deleted = sumCounts(deleted)
	}
	return err
}

// erasureReport sorts deleted counts into families.
func (s *Store) erasureReport(byIndex map[string]int64) *ErasureReport {
	rep := &ErasureReport{Indices: byIndex}
	counts := map[Family]int64{}
	for index, n := range byIndex {
		counts[s.layout.familyOfIndex(index)] += n
		rep.Total += n
	}
	families := s.layout.Families()
	if counts[FamilyOther] > 0 {
		families = append(families, FamilyOther)
	}
	for _, f := range families {
		rep.Families = append(rep.Families, FamilyCount{Family: f, Index: s.layout.Index(f), Documents: counts[f]})
	}
	return rep
}

// storeErasureAudit writes the audit record of a finished erasure, encoded
// as the exporter encodes the erasure request of a push, and returns its
// index and id.
func (s *Store) storeErasureAudit(ctx context.Context, er *Erasure, now time.Time) (string, string, error) {
	id := randomid.New()
	lr := plog.NewLogRecord()
	lr.SetEventName(eventmodel.EventErasureRequest)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrEventID, id)
	a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
	a.PutStr(eventmodel.AttrSiteID, er.Site)
	if er.Visitor != "" {
		a.PutStr(eventmodel.AttrVisitorID, er.Visitor) // left out by the encoder
	}
	if er.User != "" {
		a.PutStr(eventmodel.AttrUserID, er.User) // left out by the encoder
	}
	a.PutStr(eventmodel.AttrConsentReason, "operator_request")
	a.PutStr(eventmodel.AttrConsentSource, "operator")
	enc := NewEncoder(s.layout.Prefix, now, map[string]*Erasure{id: er})
	raw, doc := enc.Append(nil, lr)
	create := s.es.Create
	_, err := answer("storing the erasure audit record")(create(doc.Index, id, bytes.NewReader(raw), create.WithContext(ctx)))
	return doc.Index, id, err
}

// erase deletes the subject's documents from every index of the layout:
// events, the entity indices (visits, visitors, credits, which carry the
// visitor id too) and the dead-letter index. It returns how many it deleted
// by index. The bare server has no delete_by_query: see deleteMatching.
func (s *Store) erase(ctx context.Context, er *Erasure) (map[string]int64, error) {
	indices := []string{s.layout.Index(FamilyOther)}
	if dl := s.layout.DeadLetterIndex; dl != "" {
		indices = append(indices, dl) // may lie outside the prefix
	}
	var should []any
	if er.Visitor != "" {
		should = append(should, map[string]any{"term": map[string]any{eventmodel.AttrVisitorID: er.Visitor}})
	}
	if er.User != "" {
		should = append(should, map[string]any{"term": map[string]any{eventmodel.AttrUserID: er.User}})
	}
	deleted, done, err := s.deleteMatching(ctx, "erasure", indices, map[string]any{"bool": map[string]any{
		"filter":               []any{map[string]any{"term": map[string]any{eventmodel.AttrSiteID: er.Site}}},
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
func (s *Store) deleteMatching(ctx context.Context, what string, indices []string, query map[string]any) (map[string]int64, bool, error) {
	body, err := json.Marshal(map[string]any{"size": eraseSize, "_source": false, "query": query})
	if err != nil {
		return nil, false, err
	}
	deleted := map[string]int64{}
	for round := 0; round < maxEraseRounds; round++ {
		refresh := s.es.Indices.Refresh
		if _, err := answer(what + " refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(indices...),
			refresh.WithIgnoreUnavailable(true), refresh.WithAllowNoIndices(true))); err != nil {
			return deleted, false, err
		}
		search := s.es.Search
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
		raw, err = answer(what + " delete")(s.es.Bulk(&bulk, s.es.Bulk.WithContext(ctx), s.es.Bulk.WithFilterPath("errors", "items.*._index", "items.*.status")))
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

// sumCounts adds up counts by index.
func sumCounts(byIndex map[string]int64) int64 {
	var n int64
	for _, c := range byIndex {
		n += c
	}
	return n
}
