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
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/randomid"
)

// Erasure is one erasure of a subject: whom to forget, by the ids as
// stored (pseudonyms) on one site, and how many documents went. A subject
// can have several ids of each kind: the pseudonyms of one identifier
// under every key id still in use, and the visitors (browsers) its user id
// was seen on.
type Erasure struct {
	Site            string
	Visitors, Users []string
	Deleted         int64
}

// Subject is what the stored audit record keeps of the erased ids: a hash.
// For one visitor and at most one user id it is the hash of
// site, visitor and user id that every earlier version wrote.
func (er *Erasure) Subject() string {
	h := sha256.Sum256([]byte(er.Site + "\x00" + strings.Join(er.Visitors, "\x01") + "\x00" + strings.Join(er.Users, "\x01")))
	return hex.EncodeToString(h[:16])
}

// empty reports whether the subject has no id to erase by.
func (er *Erasure) empty() bool { return len(er.Visitors) == 0 && len(er.Users) == 0 }

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
			if s := v.AsString(); s != "" && len(er.Visitors) == 0 {
				er.Visitors = []string{s}
			}
		case eventmodel.AttrUserID:
			if s := v.AsString(); s != "" && len(er.Users) == 0 {
				er.Users = []string{s}
			}
		}
	}
	if er.empty() {
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
// visitorID or whose user.id is userID (either may be empty, not both), as
// EraseAll does.
func (s *Store) Erase(ctx context.Context, site, visitorID, userID string) (*ErasureReport, error) {
	er := &Erasure{Site: site}
	if visitorID != "" {
		er.Visitors = []string{visitorID}
	}
	if userID != "" {
		er.Users = []string{userID}
	}
	return s.EraseAll(ctx, er)
}

// EraseAll erases a subject as the exporter does for an erasure request:
// it records the subject's tombstones (so that no collector writes any of
// its documents afterwards, whatever it still has queued, see
// tombstones.go), deletes every document of er.Site whose
// webjourney.visitor.id is one of er.Visitors or whose user.id is one of
// er.Users from the events, entity, partner-facing and dead-letter
// indices, and then stores the audit record the exporter stores: a
// webjourney.erasure_request event with webjourney.erasure.subject and
// .deleted instead of the ids (consent reason "operator_request"). The ids
// are the pseudonyms as stored. Erasing again is harmless.
//
// It refuses to run when the events index template of the prefix is not
// installed: the prefix is then wrong (or nothing was ever exported), and
// the audit record would create an index without its mapping.
func (s *Store) EraseAll(ctx context.Context, er *Erasure) (*ErasureReport, error) {
	if er.Site == "" {
		return nil, errors.New("give the site id to erase from")
	}
	if er.empty() {
		return nil, errNoSubject
	}
	name := s.layout.TemplateName(FamilyEvents)
	if _, found, err := s.installedTemplateVersion(ctx, name); err != nil {
		return nil, err
	} else if !found {
		return nil, fmt.Errorf("index template %s is not installed: is the index prefix %q right? (webjourneyctl templates check)", name, s.layout.Prefix)
	}
	now := time.Now()
	if err := s.AddTombstones(ctx, er.TombstoneKeys(), now); err != nil {
		return nil, err
	}
	deleted, err := s.erase(ctx, er)
	rep := s.erasureReport(deleted)
	if err != nil {
		return rep, err
	}
	er.Deleted = rep.Total
	rep.Subject = er.Subject()
	rep.AuditIndex, rep.AuditID, err = s.storeErasureAudit(ctx, er, now)
	return rep, err
}

// EraseSubject erases the subject of an erasure request in a push: its
// tombstones, then its documents, and sets er.Deleted. The caller stores
// the request itself as the audit record (encoded with er among the
// erased, see NewEncoder). An error leaves the request retryable; erasing
// again is harmless.
func (s *Store) EraseSubject(ctx context.Context, er *Erasure) error {
	if err := s.AddTombstones(ctx, er.TombstoneKeys(), time.Now()); err != nil {
		return err
	}
	deleted, err := s.erase(ctx, er)
	if err == nil {
		er.Deleted = sumCounts(deleted)
	}
	return err
}

// DeleteSubjectDocuments deletes the documents of an already erased
// subject again, without a tombstone or an audit record: what a collector
// wrote while the erasure was being carried out. It returns how many it
// deleted.
func (s *Store) DeleteSubjectDocuments(ctx context.Context, er *Erasure) (int64, error) {
	deleted, err := s.erase(ctx, er)
	return sumCounts(deleted), err
}

// erasureReport sorts deleted counts into families.
func (s *Store) erasureReport(byIndex map[string]int64) *ErasureReport {
	rep := &ErasureReport{Indices: byIndex}
	rep.Families, rep.Total = s.familyCounts(byIndex)
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
	// Left out by the encoder: the record keeps only the hash.
	if len(er.Visitors) > 0 {
		a.PutStr(eventmodel.AttrVisitorID, er.Visitors[0])
	}
	if len(er.Users) > 0 {
		a.PutStr(eventmodel.AttrUserID, er.Users[0])
	}
	a.PutStr(eventmodel.AttrConsentReason, "operator_request")
	a.PutStr(eventmodel.AttrConsentSource, "operator")
	enc := NewEncoder(s.layout.Prefix, now, map[string]*Erasure{id: er})
	raw, doc := enc.Append(nil, lr)
	create := s.es.Create
	_, err := answer("storing the erasure audit record")(create(doc.Index, id, bytes.NewReader(raw), create.WithContext(ctx)))
	return doc.Index, id, err
}

// subjectQuery matches the documents of the subject: of its site, with
// one of its visitor ids or user ids.
func subjectQuery(er *Erasure) map[string]any {
	var should []any
	if len(er.Visitors) > 0 {
		should = append(should, map[string]any{"terms": map[string]any{eventmodel.AttrVisitorID: er.Visitors}})
	}
	if len(er.Users) > 0 {
		should = append(should, map[string]any{"terms": map[string]any{eventmodel.AttrUserID: er.Users}})
	}
	return map[string]any{"bool": map[string]any{
		"filter":               []any{map[string]any{"term": map[string]any{eventmodel.AttrSiteID: er.Site}}},
		"should":               should,
		"minimum_should_match": 1,
	}}
}

// subjectIndices are the indices a subject's documents can be in: every
// index of the prefix and the dead-letter index.
func (s *Store) subjectIndices() []string {
	indices := []string{s.layout.Index(FamilyOther)}
	if dl := s.layout.DeadLetterIndex; dl != "" {
		indices = append(indices, dl) // may lie outside the prefix
	}
	return indices
}

// erase deletes the subject's documents from every index of the layout:
// events, the entity indices (visits, visitors, credits, funnels, which carry the
// visitor id too), the partner-facing copies of its visits and credits
// (found by their id, as they carry no id of the subject) and the
// dead-letter index. It returns how many it deleted by index. The bare
// server has no delete_by_query: see deleteMatching.
func (s *Store) erase(ctx context.Context, er *Erasure) (map[string]int64, error) {
	deleted, done, err := s.deleteMatching(ctx, "erasure", s.subjectIndices(), subjectQuery(er), s.partnerCopy)
	if err == nil && !done {
		err = fmt.Errorf("erasure of one subject did not finish in %d rounds of %d documents", maxEraseRounds, eraseSize)
	}
	return deleted, err
}

// companion names another document that goes with a deleted one.
type companion func(index, id string) (string, string, bool)

// deleteMatching deletes every document of indices that query matches, and
// returns how many it deleted by index and whether none is left; with
// also, each document's companion (if it names one) goes in the same bulk
// request, before it, so that a failure leaves the document to find again.
// The bare server has no delete_by_query, so each round refreshes (so the
// last round's deletes are no longer found), searches for up to eraseSize
// ids and bulk-deletes them, for at most maxEraseRounds rounds. Deleting
// again is harmless: a document already gone answers 404, which is not an
// error.
func (s *Store) deleteMatching(ctx context.Context, what string, indices []string, query map[string]any, also companion) (map[string]int64, bool, error) {
	deleted := map[string]int64{}
	for round := 0; round < maxEraseRounds; round++ {
		hits, err := s.searchIDs(ctx, what, indices, query, eraseSize)
		if err != nil {
			return deleted, false, err
		}
		if len(hits) == 0 {
			return deleted, true, nil
		}
		var targets []docRef
		for _, h := range hits {
			if also != nil {
				if index, id, ok := also(h.Index, h.ID); ok {
					targets = append(targets, docRef{index, id})
				}
			}
			targets = append(targets, h)
		}
		if err := s.bulkDelete(ctx, what, targets, deleted); err != nil {
			return deleted, false, err
		}
	}
	return deleted, false, nil
}

// docRef names one stored document.
type docRef struct {
	Index string `json:"_index"`
	ID    string `json:"_id"`
}

// searchIDs refreshes indices (so that the last writes and deletes are
// seen) and returns up to size documents that query matches.
func (s *Store) searchIDs(ctx context.Context, what string, indices []string, query map[string]any, size int) ([]docRef, error) {
	body, err := json.Marshal(map[string]any{"size": size, "_source": false, "query": query})
	if err != nil {
		return nil, err
	}
	refresh := s.es.Indices.Refresh
	if _, err := answer(what + " refresh")(refresh(refresh.WithContext(ctx), refresh.WithIndex(indices...),
		refresh.WithIgnoreUnavailable(true), refresh.WithAllowNoIndices(true))); err != nil {
		return nil, err
	}
	search := s.es.Search
	raw, err := answer(what + " search")(search(search.WithContext(ctx), search.WithIndex(indices...),
		search.WithBody(bytes.NewReader(body)), search.WithIgnoreUnavailable(true), search.WithAllowNoIndices(true),
		search.WithFilterPath("hits.hits._index", "hits.hits._id")))
	if err != nil {
		return nil, err
	}
	var res struct {
		Hits struct {
			Hits []docRef `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("%s search answer: %w", what, err)
	}
	return res.Hits.Hits, nil
}

// bulkDelete deletes the documents in one bulk request and adds what it
// deleted to deleted, by index. A document already gone is not an error.
func (s *Store) bulkDelete(ctx context.Context, what string, docs []docRef, deleted map[string]int64) error {
	var bulk bytes.Buffer
	for _, d := range docs {
		line, _ := json.Marshal(map[string]any{"delete": d})
		bulk.Write(line)
		bulk.WriteByte('\n')
	}
	raw, err := answer(what + " delete")(s.es.Bulk(&bulk, s.es.Bulk.WithContext(ctx), s.es.Bulk.WithFilterPath("errors", "items.*._index", "items.*.status")))
	if err != nil {
		return err
	}
	var br struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Index  string `json:"_index"`
			Status int    `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &br); err != nil {
		return fmt.Errorf("%s delete answer: %w", what, err)
	}
	for _, it := range br.Items {
		for _, r := range it {
			if r.Status == http.StatusOK {
				deleted[r.Index]++
			} else if r.Status != http.StatusNotFound {
				return fmt.Errorf("%s: a delete answered HTTP %d", what, r.Status)
			}
		}
	}
	return nil
}

// sumCounts adds up counts by index.
func sumCounts(byIndex map[string]int64) int64 {
	var n int64
	for _, c := range byIndex {
		n += c
	}
	return n
}
