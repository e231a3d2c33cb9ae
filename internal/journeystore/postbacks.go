package journeystore

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// The postback ledger, "<prefix>-postbacks", records what the
// partner_postback exporter decided for every outcome and partner: sent,
// skipped (and why), failed (refused for good: its dead letters) or
// expired. One document per postback, by its idempotency key, so a retry,
// a replay or a restart that decides again rewrites the one document; the
// decision time is its external version, so the latest decision wins
// whatever order the writes land in.
//
// It lies under "<prefix>-*" on purpose: the erasure of a visitor (which
// searches every index of the prefix by site and visitor id) deletes the
// visitor's ledger documents with the rest, and the PII checks that scan
// the prefix scan it too. It is written by the partner_postback exporter,
// not by elasticsearch_journey, which is why it is not one of
// Layout.Families (whose templates that exporter installs and reports).

// postbackFields maps the ledger: its own fields and the event-model
// fields it shares with the credit records (the same mapping, so a Kibana
// view compares the two).
var postbackFields = func() map[string]map[string]any {
	m := map[string]map[string]any{
		FieldTimestamp:                   mapDate,
		eventmodel.PostbackID:            mapKeyword,
		eventmodel.PostbackDecision:      mapKeyword,
		eventmodel.PostbackReason:        mapKeyword,
		eventmodel.PostbackHTTPStatus:    mapInteger,
		eventmodel.PostbackAttempts:      mapInteger,
		eventmodel.PostbackDurationMS:    mapDouble,
		eventmodel.PostbackDecidedAt:     mapDate,
		eventmodel.AttrSchemaVersion:     nil,
		eventmodel.AttrSiteID:            nil,
		eventmodel.AttrVisitorID:         nil,
		eventmodel.AttrChannelPartner:    nil,
		eventmodel.AttrOutcomeName:       nil,
		eventmodel.AttrOutcomeEventID:    nil,
		eventmodel.AttrOutcomeValue:      nil,
		eventmodel.AttrOutcomeCurrency:   nil,
		eventmodel.AttrAttributionModel:  nil,
		eventmodel.AttrAttributionCredit: nil,
		eventmodel.AttrAttributionValue:  nil,
		eventmodel.AttrEntityID:          nil,
	}
	for name, mapping := range m {
		if mapping == nil {
			m[name] = eventFields[name]
		}
	}
	return m
}()

// postbacksMapping is the mapping of the ledger index.
func postbacksMapping() map[string]any { return expandMapping(postbackFields) }

// InstallPostbacksTemplate installs the ledger's index template unless
// the same or a newer version is there (as InstallTemplates does for the
// other families), and puts its mapping on an existing ledger index.
func (s *Store) InstallPostbacksTemplate(ctx context.Context) error {
	l := s.layout
	spec := indexTemplateSpec{
		name:   l.TemplateName(FamilyPostbacks),
		family: FamilyPostbacks,
		body:   indexTemplate([]string{l.Index(FamilyPostbacks)}, FamilyPostbacks, postbacksMapping()),
	}
	_, _, err := s.ensureTemplate(ctx, spec, false)
	return err
}

// Postback is one ledger document. It has no field for the click id, the
// request or a secret: nothing else can be written.
type Postback struct {
	ID       string // the idempotency key
	Decision string // eventmodel.PostbackSent, ...
	Reason   string
	// HTTPStatus is the last answer's status; 0 for none.
	HTTPStatus int
	Attempts   int
	DurationMS float64 // the last request's; 0 for none
	DecidedAt  time.Time

	Site, Partner, Visitor       string
	Outcome, OutcomeID, Currency string
	Model                        string
	OutcomeTime                  time.Time
	Value, Credit, Credited      float64
	// EntityIDs are the ids of the credit records the postback sums (one
	// per credited touch of the partner).
	EntityIDs []string
}

// Version is the document's external version: the decision time in
// nanoseconds, so a later decision replaces an earlier one and a delayed
// write of an earlier one is refused (409) instead of undoing it.
func (p *Postback) Version() int64 { return p.DecidedAt.UnixNano() }

// AppendPostback appends the ledger document of p to buf.
func AppendPostback(buf []byte, p *Postback) []byte {
	str := func(k, v string) {
		if v == "" {
			return
		}
		buf = append(buf, ',')
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = appendJSONString(buf, v)
	}
	num := func(k string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return // not JSON; a record that carried one is still recorded
		}
		buf = append(buf, ',')
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
	}
	buf = append(buf, `{"`+FieldTimestamp+`":"`...)
	buf = p.OutcomeTime.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","`+eventmodel.PostbackDecidedAt+`":"`...)
	buf = p.DecidedAt.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","`+eventmodel.AttrSchemaVersion+`":`...)
	buf = strconv.AppendInt(buf, eventmodel.SchemaVersion, 10)
	str(eventmodel.PostbackID, p.ID)
	str(eventmodel.PostbackDecision, p.Decision)
	str(eventmodel.PostbackReason, p.Reason)
	if p.HTTPStatus != 0 {
		num(eventmodel.PostbackHTTPStatus, float64(p.HTTPStatus))
	}
	num(eventmodel.PostbackAttempts, float64(p.Attempts))
	if p.Attempts > 0 {
		num(eventmodel.PostbackDurationMS, p.DurationMS)
	}
	str(eventmodel.AttrSiteID, p.Site)
	str(eventmodel.AttrVisitorID, p.Visitor)
	str(eventmodel.AttrChannelPartner, p.Partner)
	str(eventmodel.AttrOutcomeName, p.Outcome)
	str(eventmodel.AttrOutcomeEventID, p.OutcomeID)
	num(eventmodel.AttrOutcomeValue, p.Value)
	str(eventmodel.AttrOutcomeCurrency, p.Currency)
	str(eventmodel.AttrAttributionModel, p.Model)
	num(eventmodel.AttrAttributionCredit, p.Credit)
	num(eventmodel.AttrAttributionValue, p.Credited)
	if len(p.EntityIDs) > 0 {
		buf = append(buf, `,"`+eventmodel.AttrEntityID+`":[`...)
		for i, id := range p.EntityIDs {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, id)
		}
		buf = append(buf, ']')
	}
	return append(buf, '}')
}

// CreditStamp appends the partial document that records a postback's
// decision on one of the credit records it sums (an update's "doc"): the
// postback's id, decision and reason, so the credit says whether its
// partner was told (sent) and if not why (skipped, failed, expired, with
// the reason), next to the credit it is about. The ledger document holds
// the rest.
func CreditStamp(buf []byte, p *Postback) []byte {
	buf = append(buf, `{"doc":{`...)
	for i, kv := range [...][2]string{{eventmodel.PostbackID, p.ID}, {eventmodel.PostbackDecision, p.Decision}, {eventmodel.PostbackReason, p.Reason}} {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, kv[0])
		buf = append(buf, ':')
		buf = appendJSONString(buf, kv[1])
	}
	return append(buf, "}}"...)
}
