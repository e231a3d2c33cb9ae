package journeystore

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// DefaultPrefix starts every index and index-template name when no other
// prefix is configured (the exporter's index_prefix, webjourneyctl's
// --prefix).
const DefaultPrefix = "webjourney"

// Family is a kind of stored document: it decides the index, the index
// template and how the document is written.
type Family uint8

const (
	// FamilyEvents are events: monthly indices "<prefix>-events-YYYY.MM",
	// written with create by event id.
	FamilyEvents Family = iota
	// FamilyVisits, FamilyVisitors and FamilyCredits are the journey
	// entities: one index each, "<prefix>-visits" and so on, written with
	// index by entity id and the entity version as external version.
	FamilyVisits
	FamilyVisitors
	FamilyCredits
	// FamilyFunnels is the funnel records, "<prefix>-funnels": one
	// document per visitor and funnel, written like the other entities.
	FamilyFunnels
	// FamilyDeadLetter is the documents Elasticsearch refused for good, in
	// the configured dead-letter index (which may lie outside the prefix).
	FamilyDeadLetter
	// FamilyPartnerVisits and FamilyPartnerCredits are the partner-facing
	// copies of the visits and credits of a referral partner, without any
	// identifier (see partner.go): "<prefix>-partner-visits" and
	// "<prefix>-partner-credits", read by partners through filtered aliases.
	FamilyPartnerVisits
	FamilyPartnerCredits
	// FamilyPostbacks is the partner_postback exporter's ledger: one
	// document per outcome and partner it decided on,
	// "<prefix>-postbacks" (see postbacks.go).
	FamilyPostbacks
	// FamilyOther is any other index under "<prefix>-" (in reports only).
	FamilyOther
)

// storedFamilies lists the families of records, events first; the rest
// are the entity families.
var (
	storedFamilies  = [...]Family{FamilyEvents, FamilyVisits, FamilyVisitors, FamilyCredits, FamilyFunnels}
	entityFamilies  = storedFamilies[1:]
	partnerFamilies = [...]Family{FamilyPartnerVisits, FamilyPartnerCredits}
)

// String is the family's name: the index suffix of events and entities,
// and the value of the templates' _meta.family.
func (f Family) String() string {
	switch f {
	case FamilyEvents:
		return familyEventsName
	case FamilyVisits:
		return "visits"
	case FamilyVisitors:
		return "visitors"
	case FamilyCredits:
		return "credits"
	case FamilyFunnels:
		return "funnels"
	case FamilyDeadLetter:
		return "dead_letter"
	case FamilyPartnerVisits:
		return "partner_visits"
	case FamilyPartnerCredits:
		return "partner_credits"
	case FamilyPostbacks:
		return "postbacks"
	default:
		return "other"
	}
}

// FamilyOf returns the family of a record by its event name: visits,
// visitors, credits or (any other name) events.
func FamilyOf(eventName string) Family {
	switch eventName {
	case eventmodel.EventVisit:
		return FamilyVisits
	case eventmodel.EventVisitor:
		return FamilyVisitors
	case eventmodel.EventAttributionCredit:
		return FamilyCredits
	case eventmodel.EventFunnel:
		return FamilyFunnels
	default:
		return FamilyEvents
	}
}

// Layout names the indices of one deployment.
type Layout struct {
	// Prefix starts every index and index-template name of the events and
	// entity families.
	Prefix string
	// DeadLetterIndex is the dead-letter index; empty when there is none.
	DeadLetterIndex string
}

// monthFormat is the month suffix of an event index.
const monthFormat = "2006.01"

// Index returns the index of a family: "<prefix>-visits", "<prefix>-visitors",
// "<prefix>-credits", the pattern "<prefix>-events-*" of the monthly event
// indices, the dead-letter index (empty when there is none), or for
// FamilyOther "<prefix>-*".
//
// Entity indices are not time-based: a snapshot replaces the previous one
// by id, and Elasticsearch checks versions within one index only. A visit
// that crosses a month boundary, or a visitor seen for years, must stay
// one document, so its index cannot depend on time; expired documents are
// deleted by date instead (see retention.go).
func (l Layout) Index(f Family) string {
	switch f {
	case FamilyEvents:
		return l.eventsFamily() + "*"
	case FamilyDeadLetter:
		return l.DeadLetterIndex
	case FamilyPartnerVisits:
		return l.Prefix + "-partner-visits"
	case FamilyPartnerCredits:
		return l.Prefix + "-partner-credits"
	case FamilyOther:
		return l.Prefix + "-*"
	default:
		return l.Prefix + "-" + f.String()
	}
}

// EventsIndex returns "<prefix>-events-YYYY.MM", the index of the events of
// the UTC month of t.
//
// Indices are monthly because retention is set in months (drop a whole
// index instead of deleting documents, which the bare server cannot do by
// query anyway) and because a month of a site's events fits one shard:
// daily indices would multiply shards thirty-fold for little data each.
func (l Layout) EventsIndex(t time.Time) string {
	return string(appendEventsIndex(nil, l.Prefix, t))
}

// appendEventsIndex appends the events index of prefix for the month of t.
func appendEventsIndex(b []byte, prefix string, t time.Time) []byte {
	b = append(b, prefix...)
	b = append(b, "-"+familyEventsName+"-"...)
	return t.UTC().AppendFormat(b, monthFormat)
}

// familyEventsName is FamilyEvents.String() as a constant, for names built
// without allocating.
const familyEventsName = "events"

// eventsFamily is the start of every monthly event index,
// "<prefix>-events-".
func (l Layout) eventsFamily() string { return l.Prefix + "-" + familyEventsName + "-" }

// eventsIndexMonth returns the month of a monthly event index of the
// layout, and whether index is one. Indices of stamped events
// (StampedEventsIndex) are not: see stampedEventsIndex.
func (l Layout) eventsIndexMonth(index string) (time.Time, bool) {
	month, ok := strings.CutPrefix(index, l.eventsFamily())
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(monthFormat, month)
	return t, err == nil
}

// ErasuresIndex is the index of erasure tombstones, "<prefix>_erasures"
// (see tombstones.go). It lies outside "<prefix>-*" on purpose: every
// search, count and data view over the journey indices (erasure, export,
// Kibana, the tests' checks) never sees it.
func (l Layout) ErasuresIndex() string { return l.Prefix + "_erasures" }

// TemplateName returns the name of a family's index template: the events
// template is "<prefix>-events", every other one is named after its index.
// FamilyOther has none.
func (l Layout) TemplateName(f Family) string {
	switch f {
	case FamilyEvents:
		return l.Prefix + "-" + familyEventsName
	case FamilyOther:
		return ""
	default:
		return l.Index(f)
	}
}

// Families lists the families that have indices in this layout, in report
// order: events, visits, visitors, credits and, when it has a dead-letter
// index, dead letters.
func (l Layout) Families() []Family {
	fams := append([]Family(nil), storedFamilies[:]...)
	if l.DeadLetterIndex != "" {
		fams = append(fams, FamilyDeadLetter)
	}
	return fams
}

// TemplateNames lists the names of the layout's index templates, in the
// order of Families.
func (l Layout) TemplateNames() []string {
	var names []string
	for _, f := range l.Families() {
		names = append(names, l.TemplateName(f))
	}
	return names
}

// familyOfIndex names the family of an index under the prefix (or the
// dead-letter index).
func (l Layout) familyOfIndex(index string) Family {
	if index == l.DeadLetterIndex {
		return FamilyDeadLetter
	}
	if _, ok := l.eventsIndexMonth(index); ok {
		return FamilyEvents
	}
	if _, _, ok := l.stampedEventsIndex(index); ok {
		return FamilyEvents
	}
	if index == l.Index(FamilyPostbacks) {
		return FamilyPostbacks
	}
	for _, f := range append(entityFamilies[:len(entityFamilies):len(entityFamilies)], partnerFamilies[:]...) {
		if index == l.Index(f) {
			return f
		}
	}
	return FamilyOther
}

// indexPrefixPattern keeps index names valid for Elasticsearch (lower case,
// no \ / * ? " < > | space , # :) and out of the reserved "." / "_" / "-" /
// "+" starts.
var indexPrefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// maxIndexPrefixLen leaves room for "-events-YYYY.MM" within Elasticsearch's
// 255-byte index-name limit with a wide margin for future index families.
const maxIndexPrefixLen = 100

// CheckIndexPrefix checks an index prefix (the exporter's index_prefix,
// webjourneyctl's --prefix).
func CheckIndexPrefix(prefix string) error {
	switch {
	case prefix == "":
		return errors.New("must not be empty (default " + DefaultPrefix + ")")
	case len(prefix) > maxIndexPrefixLen:
		return fmt.Errorf("at most %d characters", maxIndexPrefixLen)
	case !indexPrefixPattern.MatchString(prefix):
		return fmt.Errorf("%q is not a valid Elasticsearch index name start; use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit", prefix)
	}
	return nil
}

// CheckDeadLetterIndex checks a dead-letter index name (empty: none): a
// valid index name that is none of the other indices or template names of
// prefix (its template is named after it, and two templates for one index
// would conflict).
func CheckDeadLetterIndex(index, prefix string) error {
	if index == "" {
		return nil
	}
	l := Layout{Prefix: prefix}
	example := prefix + "-dead-letter"
	if len(index) > maxIndexPrefixLen || !indexPrefixPattern.MatchString(index) {
		return fmt.Errorf("%q is not a valid Elasticsearch index name; use at most %d lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, e.g. %q",
			index, maxIndexPrefixLen, example)
	}
	own := index == l.TemplateName(FamilyEvents) || strings.HasPrefix(index, l.eventsFamily()) || index == l.ErasuresIndex()
	own = own || index == l.Index(FamilyPostbacks)
	for _, f := range append(entityFamilies[:len(entityFamilies):len(entityFamilies)], partnerFamilies[:]...) {
		own = own || index == l.Index(f)
	}
	if own {
		return fmt.Errorf("%q is one of the exporter's own events or entity indices; use another name, e.g. %q", index, example)
	}
	return nil
}
