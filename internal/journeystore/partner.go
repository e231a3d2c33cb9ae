package journeystore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Referral partners see their own data through filtered aliases over the
// partner-facing families, "<prefix>-partner-visits" and
// "<prefix>-partner-credits". A filtered alias selects rows, not fields,
// and the bare server has no field-level security; so the exporter writes,
// next to every visit and credit record of a partner (its
// webjourney.channel.partner), a copy that holds only the fields listed
// here: nothing that identifies a visitor, visit, user, session, click or
// event, not even as the document id (a hash of the entity id, which the
// partner cannot join with anything). The copies follow their visit or
// credit: the same external version, the same retention, and an erasure
// of the visitor deletes them by that id.

// partnerCommonFields are kept on every partner-facing document.
var partnerCommonFields = []string{
	FieldTimestamp, FieldEventName,
	eventmodel.AttrSchemaVersion, eventmodel.AttrSiteID,
	eventmodel.AttrChannelPartner, eventmodel.AttrChannelMedium, eventmodel.AttrChannelSource, eventmodel.AttrChannelCampaign,
	eventmodel.AttrDeviceClass, eventmodel.AttrGeoCountry,
}

// partnerFields are the fields of a partner-facing document by family: the
// common ones, then the visit's (how long, how deep, where it landed, what
// it achieved) or the credit's (what was achieved, how it was credited).
// The visit number, segments and the visitor's fields are left out: they
// describe the visitor across visits.
var partnerFields = map[Family][]string{
	FamilyPartnerVisits: append(partnerCommonFields[:len(partnerCommonFields):len(partnerCommonFields)],
		eventmodel.AttrVisitStart, eventmodel.AttrVisitLastActivity, eventmodel.AttrVisitDuration,
		eventmodel.AttrVisitPagesViewed, eventmodel.AttrVisitEngagedTime, eventmodel.AttrVisitBounce,
		eventmodel.AttrVisitLandingPage, eventmodel.AttrVisitOutcomes,
	),
	FamilyPartnerCredits: append(partnerCommonFields[:len(partnerCommonFields):len(partnerCommonFields)],
		eventmodel.AttrOutcomeName, eventmodel.AttrOutcomeValue, eventmodel.AttrOutcomeCurrency,
		eventmodel.AttrOutcomeTimeToConvert, eventmodel.AttrOutcomeVisitsToConvert,
		eventmodel.AttrAttributionModel, eventmodel.AttrAttributionCredit, eventmodel.AttrAttributionValue,
		eventmodel.AttrAttributionTouchIndex, eventmodel.AttrAttributionTouchCount, eventmodel.AttrAttributionTouchTime,
	),
}

// PartnerFamily returns the partner-facing family of an entity family
// (visits, credits), and whether it has one.
func PartnerFamily(f Family) (Family, bool) {
	switch f {
	case FamilyVisits:
		return FamilyPartnerVisits, true
	case FamilyCredits:
		return FamilyPartnerCredits, true
	}
	return 0, false
}

// PartnerDocumentID is the id of the partner-facing copy of the entity
// entityID: a hash, so that the copy names no visit.
func PartnerDocumentID(entityID string) string {
	h := sha256.Sum256([]byte("webjourney partner v1\x00" + entityID))
	return hex.EncodeToString(h[:16])
}

// partnerCopy is the companion of a deleted visit or credit: its
// partner-facing copy.
func (s *Store) partnerCopy(index, id string) (string, string, bool) {
	pf, ok := PartnerFamily(s.layout.familyOfIndex(index))
	if !ok {
		return "", "", false
	}
	return s.layout.Index(pf), PartnerDocumentID(id), true
}

// maxPartnerSource bounds the document AppendPartnerDocument reads.
const maxPartnerSource = 1 << 20

// AppendPartnerDocument appends to dst the partner-facing copy of a
// stored visit or credit document src (as the encoder writes it and
// Elasticsearch returns it: one level of dotted field names), keeping only
// the fields of family, in their listed order; a field repeated in src
// counts once (the first, as the encoder keeps it). It fails on anything
// that is not a JSON object.
func AppendPartnerDocument(dst []byte, family Family, src []byte) ([]byte, error) {
	fields, ok := partnerFields[family]
	if !ok {
		return dst, fmt.Errorf("%s is not a partner-facing family", family)
	}
	if len(src) > maxPartnerSource {
		return dst, fmt.Errorf("document of %d bytes is larger than %d", len(src), maxPartnerSource)
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return dst, errors.New("not a JSON object")
	}
	found := make(map[string]json.RawMessage, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return dst, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return dst, err
		}
		if _, seen := found[key]; !seen && isPartnerField(fields, key) {
			found[key] = v
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return dst, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return dst, errors.New("more than one JSON value")
	}
	dst = append(dst, '{')
	first := true
	for _, f := range fields {
		v, ok := found[f]
		if !ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, f)
		dst = append(dst, ':')
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return dst, err
		}
		dst = append(dst, compact.Bytes()...)
	}
	return append(dst, '}'), nil
}

func isPartnerField(fields []string, key string) bool {
	for _, f := range fields {
		if f == key {
			return true
		}
	}
	return false
}

// EnsurePartnerIndices creates the partner-facing indices with the events
// mapping (the copies hold a subset of its fields) unless they exist.
// They are plain indices, not templates: two indices of fixed name.
func (s *Store) EnsurePartnerIndices(ctx context.Context) error {
	for _, f := range partnerFamilies {
		if err := s.ensureIndex(ctx, s.layout.Index(f), eventsMapping(), true); err != nil {
			return err
		}
	}
	return nil
}

// partnerNamePattern keeps partner and site names usable in an alias name.
var partnerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// PartnerAlias returns the name of the alias of partner on site,
// "<prefix>-partner-<site>-<partner>", or why it cannot be one (both must
// be lower-case letters, digits, '_' and '-', as index names are).
func (l Layout) PartnerAlias(site, partner string) (string, error) {
	if !partnerNamePattern.MatchString(site) {
		return "", fmt.Errorf("site %q cannot be part of an alias name: use lower-case letters, digits, '_' and '-'", site)
	}
	if !partnerNamePattern.MatchString(partner) {
		return "", fmt.Errorf("partner %q cannot be part of an alias name: use lower-case letters, digits, '_' and '-'", partner)
	}
	return l.Prefix + "-partner-" + site + "-" + partner, nil
}

// PartnerGrant is what GrantPartner did.
type PartnerGrant struct {
	Alias string
	// Indices are the indices the alias spans.
	Indices []string
	// Copied counts, by partner-facing family, the stored visits and
	// credits of the partner copied (again) into it.
	Copied map[Family]int64
}

// partnerFilter selects the partner's rows of site.
func partnerFilter(site, partner string) map[string]any {
	return map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"term": map[string]any{eventmodel.AttrSiteID: site}},
		map[string]any{"term": map[string]any{eventmodel.AttrChannelPartner: partner}},
	}}}
}

// GrantPartner gives partner its own data of site: it creates the
// partner-facing indices if needed, copies the partner's visits and
// credits already stored into them (those stored before the exporter
// wrote copies; copying again changes nothing), and creates (or replaces)
// the filtered alias "<prefix>-partner-<site>-<partner>" over them.
func (s *Store) GrantPartner(ctx context.Context, site, partner string) (*PartnerGrant, error) {
	alias, err := s.layout.PartnerAlias(site, partner)
	if err != nil {
		return nil, err
	}
	if err := s.EnsurePartnerIndices(ctx); err != nil {
		return nil, err
	}
	g := &PartnerGrant{Alias: alias, Copied: map[Family]int64{}}
	for _, f := range []Family{FamilyVisits, FamilyCredits} {
		pf, _ := PartnerFamily(f)
		n, err := s.copyToPartner(ctx, f, pf, partnerFilter(site, partner))
		g.Copied[pf] = n
		if err != nil {
			return g, err
		}
	}
	var actions []any
	for _, f := range partnerFamilies {
		index := s.layout.Index(f)
		g.Indices = append(g.Indices, index)
		actions = append(actions, map[string]any{"add": map[string]any{"index": index, "alias": alias, "filter": partnerFilter(site, partner)}})
	}
	body, _ := json.Marshal(map[string]any{"actions": actions})
	ua := s.es.Indices.UpdateAliases
	_, err = answer("creating alias " + alias)(ua(bytes.NewReader(body), ua.WithContext(ctx)))
	return g, err
}

// RevokePartner removes the alias of partner on site; the partner-facing
// copies stay (other partners' aliases read them too).
func (s *Store) RevokePartner(ctx context.Context, site, partner string) (string, error) {
	alias, err := s.layout.PartnerAlias(site, partner)
	if err != nil {
		return "", err
	}
	var actions []any
	for _, f := range partnerFamilies {
		actions = append(actions, map[string]any{"remove": map[string]any{"index": s.layout.Index(f), "alias": alias, "must_exist": false}})
	}
	body, _ := json.Marshal(map[string]any{"actions": actions})
	ua := s.es.Indices.UpdateAliases
	_, err = answer("removing alias " + alias)(ua(bytes.NewReader(body), ua.WithContext(ctx)))
	return alias, err
}

// copyToPartner copies every document of family f that query matches into
// the partner-facing family pf, with its entity version as external
// version (a copy never replaces a newer one), and returns how many.
func (s *Store) copyToPartner(ctx context.Context, f, pf Family, query map[string]any) (int64, error) {
	var copied int64
	err := s.scan(ctx, []string{s.layout.Index(f)}, query, func(hits []storedHit) error {
		var bulk bytes.Buffer
		n := 0
		for _, h := range hits {
			var ref struct {
				Version int64 `json:"webjourney.entity.version"`
			}
			if json.Unmarshal(h.Source, &ref) != nil || ref.Version <= 0 {
				continue // not a snapshot the exporter wrote
			}
			doc, err := AppendPartnerDocument(nil, pf, h.Source)
			if err != nil {
				continue
			}
			action, _ := json.Marshal(map[string]any{"index": map[string]any{
				"_index": s.layout.Index(pf), "_id": PartnerDocumentID(h.ID), "version": ref.Version, "version_type": "external",
			}})
			bulk.Write(action)
			bulk.WriteByte('\n')
			bulk.Write(doc)
			bulk.WriteByte('\n')
			n++
		}
		if n == 0 {
			return nil
		}
		if err := s.bulkItemsOK(ctx, "copying to "+s.layout.Index(pf), &bulk, true); err != nil {
			return err
		}
		copied += int64(n)
		return nil
	})
	return copied, err
}
