package journeystore

import (
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Document fields written from the LogRecord itself rather than from an
// attribute. They are Elasticsearch/ECS document fields, not event-model
// attribute names.
const (
	FieldTimestamp = "@timestamp"     // event time (LogRecord Timestamp); the data views' time field
	FieldIngested  = "event.ingested" // receive time (LogRecord ObservedTimestamp)
	FieldEventName = "event.name"     // LogRecord EventName
)

// Mapping snippets. ignore_above keeps an over-long string in _source but
// out of the index, so it never fails a document (Lucene refuses terms over
// 32766 bytes) and never bloats the terms dictionary.
var (
	mapKeyword     = map[string]any{"type": "keyword", "ignore_above": 1024}
	mapLongKeyword = map[string]any{"type": "keyword", "ignore_above": 2048} // URLs
	mapInteger     = map[string]any{"type": "integer"}
	mapLong        = map[string]any{"type": "long"}
	mapBoolean     = map[string]any{"type": "boolean"}
	mapIP          = map[string]any{"type": "ip"}
	mapDate        = map[string]any{"type": "date"}
	mapDouble      = map[string]any{"type": "double"}
	// Searchable title plus an exact keyword for terms aggregations.
	mapTitle = map[string]any{
		"type":   "text",
		"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 1024}},
	}
	// flattened maps all custom properties as one field, whatever their
	// keys: a site cannot blow up the mapping with its property names.
	mapFlattened = map[string]any{"type": "flattened", "ignore_above": 1024}
)

// eventFields is the one table of mapped fields, keyed by dotted field name,
// shared by the events and the entity indices: entity records carry event
// names too (site, visitor, device, country, channel), and one table keeps
// a name's type the same in every index a Kibana view joins. Adding an
// event-model attribute is one line here (a test fails until every
// eventmodel.AttributeNames entry has one, or is in neverStored) plus a bump
// of TemplateVersion.
var eventFields = map[string]map[string]any{
	FieldTimestamp: mapDate,
	FieldIngested:  mapDate,
	FieldEventName: mapKeyword,

	eventmodel.AttrEventID: mapKeyword,

	eventmodel.AttrURLFull:     mapLongKeyword,
	eventmodel.AttrURLScheme:   mapKeyword,
	eventmodel.AttrURLDomain:   mapKeyword,
	eventmodel.AttrURLPort:     mapInteger,
	eventmodel.AttrURLPath:     mapLongKeyword,
	eventmodel.AttrURLQuery:    mapLongKeyword,
	eventmodel.AttrURLFragment: mapLongKeyword,

	eventmodel.AttrUserAgent:     mapKeyword,
	eventmodel.AttrClientAddress: mapIP,
	eventmodel.AttrSessionID:     mapKeyword,

	eventmodel.AttrSchemaVersion:  mapInteger,
	eventmodel.AttrSiteID:         mapKeyword,
	eventmodel.AttrVisitorID:      mapKeyword,
	eventmodel.AttrPageTitle:      mapTitle,
	eventmodel.AttrReferrerFull:   mapLongKeyword,
	eventmodel.AttrReferrerDomain: mapKeyword,
	eventmodel.AttrCustomName:     mapKeyword,
	eventmodel.AttrProperties:     mapFlattened,
	eventmodel.AttrIngestChannel:  mapKeyword,

	eventmodel.AttrUserID:     mapKeyword,
	eventmodel.AttrGeoCountry: mapKeyword,
	eventmodel.AttrGeoRegion:  mapKeyword,

	eventmodel.AttrPageViewID:     mapKeyword,
	eventmodel.AttrEngagedTime:    mapLong,
	eventmodel.AttrScrollDepth:    mapInteger,
	eventmodel.AttrLinkURL:        mapLongKeyword,
	eventmodel.AttrLinkDomain:     mapKeyword,
	eventmodel.AttrFormID:         mapKeyword,
	eventmodel.AttrFormName:       mapKeyword,
	eventmodel.AttrFormAction:     mapLongKeyword,
	eventmodel.AttrFormFieldCount: mapInteger,
	eventmodel.AttrFormSensitive:  mapBoolean,
	eventmodel.AttrSearchTerm:     mapKeyword,

	eventmodel.AttrCampaignSource:  mapKeyword,
	eventmodel.AttrCampaignMedium:  mapKeyword,
	eventmodel.AttrCampaignName:    mapKeyword,
	eventmodel.AttrCampaignTerm:    mapKeyword,
	eventmodel.AttrCampaignContent: mapKeyword,
	eventmodel.AttrCampaignID:      mapKeyword,
	eventmodel.AttrClickIDType:     mapKeyword,
	eventmodel.AttrClickIDValue:    mapKeyword,
	eventmodel.AttrReferralPartner: mapKeyword,
	eventmodel.AttrReferralClickID: mapKeyword,

	eventmodel.AttrConsentAnalytics:       mapKeyword,
	eventmodel.AttrConsentMarketing:       mapKeyword,
	eventmodel.AttrConsentPersonalization: mapKeyword,
	eventmodel.AttrCookieless:             mapBoolean,
	eventmodel.AttrGPC:                    mapBoolean,
	eventmodel.AttrDNT:                    mapBoolean,
	eventmodel.AttrTCFGDPRApplies:         mapBoolean,
	eventmodel.AttrTCFString:              mapLongKeyword,
	eventmodel.AttrUserAgentName:          mapKeyword,
	eventmodel.AttrUserAgentVersion:       mapKeyword,
	eventmodel.AttrUserAgentOSName:        mapKeyword,
	eventmodel.AttrUserAgentOSVersion:     mapKeyword,
	eventmodel.AttrCookielessKey:          mapKeyword,
	eventmodel.AttrCookielessKeyPrevious:  mapKeyword,
	eventmodel.AttrDeviceClass:            mapKeyword,
	eventmodel.AttrConsentDecision:        mapKeyword,
	eventmodel.AttrConsentReason:          mapKeyword,
	eventmodel.AttrConsentSource:          mapKeyword,
	eventmodel.AttrRetentionMonths:        mapInteger,
	eventmodel.AttrErasureSubject:         mapKeyword,
	eventmodel.AttrErasureDeleted:         mapLong,
	eventmodel.AttrBot:                    mapBoolean,
	eventmodel.AttrBotReason:              mapKeyword,

	// Journey names (attribution processor): on events and entity records.
	eventmodel.AttrEntityID:          mapKeyword,
	eventmodel.AttrEntityVersion:     mapLong, // may be a Unix-nanosecond time
	eventmodel.AttrVisitID:           mapKeyword,
	eventmodel.AttrChannelMedium:     mapKeyword,
	eventmodel.AttrChannelSource:     mapKeyword,
	eventmodel.AttrChannelCampaign:   mapKeyword,
	eventmodel.AttrChannelPartner:    mapKeyword,
	eventmodel.AttrChannelSearchTerm: mapKeyword,

	eventmodel.AttrVisitStart:        mapDate,
	eventmodel.AttrVisitLastActivity: mapDate,
	eventmodel.AttrVisitIdleAt:       mapDate,
	eventmodel.AttrVisitDuration:     mapLong,
	eventmodel.AttrVisitPagesViewed:  mapInteger,
	eventmodel.AttrVisitEngagedTime:  mapLong,
	eventmodel.AttrVisitLandingPage:  mapLongKeyword,
	eventmodel.AttrVisitSecondPage:   mapLongKeyword,
	eventmodel.AttrVisitExitPage:     mapLongKeyword,
	eventmodel.AttrVisitBounce:       mapBoolean,
	eventmodel.AttrVisitNumber:       mapInteger,
	eventmodel.AttrVisitOutcomes:     mapKeyword, // arrays need no mapping of their own
	eventmodel.AttrVisitSegments:     mapKeyword,

	eventmodel.AttrVisitorFirstSeen:      mapDate,
	eventmodel.AttrVisitorLastSeen:       mapDate,
	eventmodel.AttrVisitorVisitCount:     mapInteger,
	eventmodel.AttrVisitorReturning:      mapBoolean,
	eventmodel.AttrVisitorFirstMedium:    mapKeyword,
	eventmodel.AttrVisitorFirstSource:    mapKeyword,
	eventmodel.AttrVisitorFirstCampaign:  mapKeyword,
	eventmodel.AttrVisitorLastNDMedium:   mapKeyword,
	eventmodel.AttrVisitorLastNDSource:   mapKeyword,
	eventmodel.AttrVisitorLastNDCampaign: mapKeyword,
	eventmodel.AttrVisitorPartner:        mapKeyword,
	eventmodel.AttrVisitorOutcomes:       mapKeyword,
	eventmodel.AttrVisitorSegments:       mapKeyword,

	eventmodel.AttrOutcomeName:            mapKeyword, // an array on events, one value on credits
	eventmodel.AttrOutcomeValue:           mapDouble,
	eventmodel.AttrOutcomeCurrency:        mapKeyword,
	eventmodel.AttrOutcomeEventID:         mapKeyword,
	eventmodel.AttrOutcomeVisitID:         mapKeyword,
	eventmodel.AttrOutcomeTimeToConvert:   mapLong,
	eventmodel.AttrOutcomeVisitsToConvert: mapInteger,

	eventmodel.AttrAttributionModel:      mapKeyword,
	eventmodel.AttrAttributionCredit:     mapDouble,
	eventmodel.AttrAttributionValue:      mapDouble,
	eventmodel.AttrAttributionTouchIndex: mapInteger,
	eventmodel.AttrAttributionTouchCount: mapInteger,
	eventmodel.AttrAttributionTouchTime:  mapDate,
}

// neverStored lists event-model attributes that no document may hold; the
// encoder leaves them out of every document. The routing key exists only
// for a front collector's load balancer, and names the visitor or, worse,
// the client address in clear.
var neverStored = map[string]bool{
	eventmodel.AttrRoutingKey: true,
}

// fieldShape classifies document field names against the mapping, so the
// encoder can leave out attributes that Elasticsearch would refuse because of
// their name alone (see attributeConflicts).
type fieldShape struct {
	leaves  map[string]bool // mapped field -> true when it takes sub-keys (flattened)
	objects map[string]bool // object paths: "url", "webjourney", "webjourney.page", ...
}

// storedShape is the field shape of eventFields.
var storedShape = newFieldShape()

func newFieldShape() *fieldShape {
	s := &fieldShape{leaves: map[string]bool{}, objects: map[string]bool{}}
	for name, m := range eventFields {
		s.leaves[name] = m["type"] == "flattened"
		for i := range len(name) {
			if name[i] == '.' {
				s.objects[name[:i]] = true
			}
		}
	}
	return s
}

// attributeConflicts reports whether a top-level attribute name cannot be
// stored: it is one of the neverStored names (never mapped, so checked off
// the common path), it names one of our own document fields (they are
// written from the LogRecord and must not appear twice), it is a mapped
// object ("url" holding a string), it nests under a mapped value
// ("url.full.x"), or Elasticsearch refuses it as a field name (empty,
// leading '.' or '_', "..", blank). Any but the first would fail the whole
// document.
func (s *fieldShape) attributeConflicts(name string) bool {
	if _, ok := s.leaves[name]; ok {
		// The common case: an event-model attribute.
		return name == FieldTimestamp || name == FieldIngested || name == FieldEventName
	}
	if neverStored[name] || name == "" || name[0] == '.' || name[0] == '_' || strings.Contains(name, "..") || strings.TrimSpace(name) == "" {
		return true
	}
	if s.objects[name] {
		return true
	}
	for i := range len(name) {
		if name[i] == '.' {
			if takesSubKeys, ok := s.leaves[name[:i]]; ok && !takesSubKeys {
				return true
			}
		}
	}
	return false
}
