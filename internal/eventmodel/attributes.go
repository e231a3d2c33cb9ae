package eventmodel // import "github.com/webjourney/webjourney/internal/eventmodel"

// Type is the OpenTelemetry value type of an attribute.
type Type uint8

const (
	TypeString Type = iota + 1
	TypeInt
	TypeDouble
	TypeBool
	// TypeStringSlice is an array of strings.
	TypeStringSlice
	// TypeStrings is a string on some records and an array of strings on
	// others (webjourney.outcome.name).
	TypeStrings
	// TypeMap is a map of scalar values (webjourney.properties).
	TypeMap
)

// Class says what an attribute's value is. Every stage derives what it
// does with an attribute from its class, so that adding an attribute is one
// row in Attributes and never a decision repeated in each component.
type Class uint8

const (
	// ClassCode is a value made by the pipeline or taken from a closed
	// set: event, page-view, visit and entity ids, site ids, enumerations,
	// reason codes, domain names, versions. It holds no free text, so it is
	// not scrubbed.
	ClassCode Class = iota + 1
	// ClassNumber is a number or a boolean.
	ClassNumber
	// ClassTime is a date written by the pipeline (RFC 3339, UTC).
	ClassTime
	// ClassGeo is a coarse location (country, region) resolved from the
	// client address.
	ClassGeo
	// ClassPreciseGeo is a location finer than a city (coordinates, postal
	// code). Never stored; removed under the CNIL exemption and from
	// anonymous events.
	ClassPreciseGeo
	// ClassVisitorID is a first-party identifier of a browser or of its
	// visit (visitor id, session id): removed from anonymous events.
	ClassVisitorID
	// ClassUserID is the site's own account id of the visitor: removed from
	// anonymous events and under the CNIL exemption (no linking with other
	// processing).
	ClassUserID
	// ClassMarketingID is an ad platform's or a referral partner's click
	// id: removed without marketing consent, from anonymous events and
	// under the CNIL exemption.
	ClassMarketingID
	// ClassNetwork is what the browser's connection reveals: its address
	// and user agent. The anonymizer reduces it, and after the cookieless
	// key is made an anonymous event keeps none of it.
	ClassNetwork
	// ClassURL is a whole URL: scrubbed as a URL.
	ClassURL
	// ClassURLPath is a URL path (or a path-only value): scrubbed as one.
	ClassURLPath
	// ClassURLQuery is a query string or fragment: scrubbed parameter by
	// parameter.
	ClassURLQuery
	// ClassText is free text written by the site, a marketer or the
	// visitor (titles, search terms, names of forms and campaigns):
	// scrubbed with the text detectors.
	ClassText
	// ClassProperties is the map of custom properties: scrubbed key by key.
	ClassProperties
	// ClassTransport exists only between collectors (the two-tier routing
	// key): the anonymizer removes it, it is never stored.
	ClassTransport
)

// Stage is the pipeline component that writes an attribute. A stage may
// trust the class of an attribute an earlier stage wrote; an attribute of a
// later stage that is already on an event came from outside the pipeline
// (an OTLP client) and is treated as free text until that stage rewrites it.
type Stage uint8

const (
	StageReceiver Stage = iota + 1
	StageConsent
	StageAnonymizer
	StageAttribution
	StageExporter
)

// Mapping is how Elasticsearch maps an attribute (the journey store turns
// it into the index templates' field mappings).
type Mapping uint8

const (
	// MapNone: never stored. The exporter leaves it out of every document.
	MapNone Mapping = iota
	// MapKeyword: exact value, aggregatable (ignore_above 1024).
	MapKeyword
	// MapLongKeyword: an exact value that can be long, such as a URL
	// (ignore_above 2048).
	MapLongKeyword
	// MapText: searchable text with a keyword sub-field for aggregations.
	MapText
	MapInteger
	MapLong
	MapDouble
	MapBoolean
	MapIP
	MapDate
	// MapFlattened: one field for a map with keys the site chooses, so
	// they cannot grow the mapping.
	MapFlattened
)

// Attribute is one attribute of the event model.
type Attribute struct {
	Name  string
	Type  Type
	Class Class
	// SetBy is the stage that writes it.
	SetBy Stage
	// Mapping is how it is stored; MapNone: never.
	Mapping Mapping
	// Linking is set where the class alone does not say that the value
	// can link one person's events across visits or sites (a full
	// referrer URL can carry the other site's ids; a TC string's
	// timestamps and vendor choices are a fingerprint): an anonymous event
	// keeps none of these.
	Linking bool
}

// RemovedWhenAnonymous reports whether an anonymous event (consent
// decision DecisionAnonymous) must not keep the attribute: identifiers of
// any kind, the connection's address and user agent, a precise location,
// and linking values.
func (a *Attribute) RemovedWhenAnonymous() bool {
	switch a.Class {
	case ClassVisitorID, ClassUserID, ClassMarketingID, ClassNetwork, ClassPreciseGeo:
		return true
	}
	return a.Linking
}

// RemovedUnderCNILExemption reports whether an event kept under the CNIL
// audience-measurement exemption must not keep the attribute: no
// cross-site or account linking, no location finer than a city.
func (a *Attribute) RemovedUnderCNILExemption() bool {
	switch a.Class {
	case ClassUserID, ClassMarketingID, ClassPreciseGeo:
		return true
	}
	return false
}

// RemovedWithoutMarketing reports whether an event without marketing
// consent must not keep the attribute.
func (a *Attribute) RemovedWithoutMarketing() bool { return a.Class == ClassMarketingID }

// Stored reports whether a document may hold the attribute.
func (a *Attribute) Stored() bool { return a.Mapping != MapNone }

// Attributes is the event model's attribute table: every attribute of this
// schema version, in documentation order. docs/event-model.md documents
// each row (a test checks name, type and class against it).
var Attributes = append([]Attribute{
	{Name: AttrEventID, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},

	{Name: AttrURLFull, Type: TypeString, Class: ClassURL, SetBy: StageReceiver, Mapping: MapLongKeyword},
	{Name: AttrURLScheme, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrURLDomain, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrURLPort, Type: TypeInt, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapInteger},
	{Name: AttrURLPath, Type: TypeString, Class: ClassURLPath, SetBy: StageReceiver, Mapping: MapLongKeyword},
	{Name: AttrURLQuery, Type: TypeString, Class: ClassURLQuery, SetBy: StageReceiver, Mapping: MapLongKeyword},
	// "#access_token=..." is a query in all but name.
	{Name: AttrURLFragment, Type: TypeString, Class: ClassURLQuery, SetBy: StageReceiver, Mapping: MapLongKeyword},

	{Name: AttrUserAgent, Type: TypeString, Class: ClassNetwork, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrClientAddress, Type: TypeString, Class: ClassNetwork, SetBy: StageReceiver, Mapping: MapIP},
	{Name: AttrSessionID, Type: TypeString, Class: ClassVisitorID, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrUserID, Type: TypeString, Class: ClassUserID, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrUserAgentName, Type: TypeString, Class: ClassCode, SetBy: StageAnonymizer, Mapping: MapKeyword},
	{Name: AttrUserAgentVersion, Type: TypeString, Class: ClassCode, SetBy: StageAnonymizer, Mapping: MapKeyword},
	{Name: AttrUserAgentOSName, Type: TypeString, Class: ClassCode, SetBy: StageAnonymizer, Mapping: MapKeyword},
	{Name: AttrUserAgentOSVersion, Type: TypeString, Class: ClassCode, SetBy: StageAnonymizer, Mapping: MapKeyword},
	{Name: AttrGeoCountry, Type: TypeString, Class: ClassGeo, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrGeoRegion, Type: TypeString, Class: ClassGeo, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrGeoLatitude, Type: TypeDouble, Class: ClassPreciseGeo, SetBy: StageReceiver},
	{Name: AttrGeoLongitude, Type: TypeDouble, Class: ClassPreciseGeo, SetBy: StageReceiver},
	{Name: AttrGeoPostalCode, Type: TypeString, Class: ClassPreciseGeo, SetBy: StageReceiver},

	{Name: AttrSchemaVersion, Type: TypeInt, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapInteger},
	{Name: AttrSiteID, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrVisitorID, Type: TypeString, Class: ClassVisitorID, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrCookielessKey, Type: TypeString, Class: ClassCode, SetBy: StageAnonymizer, Mapping: MapKeyword},
	{Name: AttrCookielessKeyPrevious, Type: TypeString, Class: ClassCode, SetBy: StageAnonymizer, Mapping: MapKeyword},
	{Name: AttrDeviceClass, Type: TypeString, Class: ClassCode, SetBy: StageAnonymizer, Mapping: MapKeyword},
	{Name: AttrPageTitle, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapText},
	{Name: AttrReferrerFull, Type: TypeString, Class: ClassURL, SetBy: StageReceiver, Mapping: MapLongKeyword, Linking: true},
	{Name: AttrReferrerScheme, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrReferrerDomain, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrReferrerPath, Type: TypeString, Class: ClassURLPath, SetBy: StageReceiver, Mapping: MapLongKeyword, Linking: true},
	{Name: AttrReferrerQuery, Type: TypeString, Class: ClassURLQuery, SetBy: StageReceiver, Mapping: MapLongKeyword, Linking: true},
	{Name: AttrCustomName, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrProperties, Type: TypeMap, Class: ClassProperties, SetBy: StageReceiver, Mapping: MapFlattened},
	{Name: AttrIngestChannel, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrIngestFormat, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrNonInteractive, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},

	{Name: AttrPageViewID, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrEngagedTime, Type: TypeInt, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapLong},
	{Name: AttrScrollDepth, Type: TypeInt, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapInteger},
	{Name: AttrLinkURL, Type: TypeString, Class: ClassURL, SetBy: StageReceiver, Mapping: MapLongKeyword},
	{Name: AttrLinkDomain, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrFormID, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrFormName, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrFormAction, Type: TypeString, Class: ClassURLPath, SetBy: StageReceiver, Mapping: MapLongKeyword},
	{Name: AttrFormFieldCount, Type: TypeInt, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapInteger},
	{Name: AttrFormSensitive, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},
	{Name: AttrSearchTerm, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},

	{Name: AttrCampaignSource, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrCampaignMedium, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrCampaignName, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrCampaignTerm, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrCampaignContent, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrCampaignID, Type: TypeString, Class: ClassText, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrClickIDType, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	// The ad platform's own click id is uploaded back to it with
	// conversions, so it stays as it is (not pseudonymised).
	{Name: AttrClickIDValue, Type: TypeString, Class: ClassMarketingID, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrReferralPartner, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrReferralClickID, Type: TypeString, Class: ClassMarketingID, SetBy: StageReceiver, Mapping: MapKeyword},
	// Sealed, but a marketing id all the same: it goes where marketing
	// consent does not, and no index holds it even sealed.
	{Name: AttrReferralClickIDSealed, Type: TypeString, Class: ClassMarketingID, SetBy: StageAnonymizer, Mapping: MapNone},
	// 30 days in milliseconds overflows an integer field.
	{Name: AttrReferralWindow, Type: TypeInt, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapLong},
	{Name: AttrReferralLanding, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},

	{Name: AttrConsentAnalytics, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrConsentMarketing, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrConsentPersonalization, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrCookieless, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},
	{Name: AttrGPC, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},
	{Name: AttrDNT, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},
	{Name: AttrTCFGDPRApplies, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},
	{Name: AttrTCFString, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapLongKeyword, Linking: true},
	// The consent reason it leads to is stored instead.
	{Name: AttrTCFStringError, Type: TypeString, Class: ClassCode, SetBy: StageReceiver},
	{Name: AttrConsentDecision, Type: TypeString, Class: ClassCode, SetBy: StageConsent, Mapping: MapKeyword},
	{Name: AttrConsentReason, Type: TypeString, Class: ClassCode, SetBy: StageConsent, Mapping: MapKeyword},
	{Name: AttrConsentSource, Type: TypeString, Class: ClassCode, SetBy: StageConsent, Mapping: MapKeyword},
	{Name: AttrErasureSubject, Type: TypeString, Class: ClassCode, SetBy: StageExporter, Mapping: MapKeyword},
	{Name: AttrErasureDeleted, Type: TypeInt, Class: ClassNumber, SetBy: StageExporter, Mapping: MapLong},
	{Name: AttrRetentionMonths, Type: TypeInt, Class: ClassNumber, SetBy: StageConsent, Mapping: MapInteger},
	{Name: AttrBot, Type: TypeBool, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapBoolean},
	{Name: AttrBotReason, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrTimeSource, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	{Name: AttrTimeCorrection, Type: TypeString, Class: ClassCode, SetBy: StageReceiver, Mapping: MapKeyword},
	// A browser's clock error, to the millisecond, is much the same on
	// every visit: a fingerprint. Years of error overflow an integer field.
	{Name: AttrTimeSkew, Type: TypeInt, Class: ClassNumber, SetBy: StageReceiver, Mapping: MapLong, Linking: true},
	// The raw visitor id or client address, for a front collector's load
	// balancer only.
	{Name: AttrRoutingKey, Type: TypeString, Class: ClassTransport, SetBy: StageReceiver},

	{Name: AttrEntityID, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	// May be a Unix-nanosecond time.
	{Name: AttrEntityVersion, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapLong},
	{Name: AttrVisitID, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrChannelMedium, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrChannelSource, Type: TypeString, Class: ClassText, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrChannelCampaign, Type: TypeString, Class: ClassText, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrChannelPartner, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrChannelSearchTerm, Type: TypeString, Class: ClassText, SetBy: StageAttribution, Mapping: MapKeyword},

	{Name: AttrVisitStart, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
	{Name: AttrVisitLastActivity, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
	{Name: AttrVisitIdleAt, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
	{Name: AttrVisitDuration, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapLong},
	{Name: AttrVisitPagesViewed, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrVisitEngagedTime, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapLong},
	{Name: AttrVisitLandingPage, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitSecondPage, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitExitPage, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitBounce, Type: TypeBool, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapBoolean},
	{Name: AttrVisitNumber, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrVisitWeeksSinceFirstSeen, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	// Arrays need no mapping of their own.
	{Name: AttrVisitOutcomes, Type: TypeStringSlice, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitSegments, Type: TypeStringSlice, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	// Page sequences are made of URL paths: scrubbed as paths if an OTLP
	// client sends them, long keywords to store.
	{Name: AttrVisitPath, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitPathLength, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrVisitPathTruncated, Type: TypeBool, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapBoolean},
	{Name: AttrVisitStep1, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitStep2, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitStep3, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitStep4, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitStep5, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitStep6, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrVisitTransitions, Type: TypeStringSlice, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},

	{Name: AttrVisitorFirstSeen, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
	{Name: AttrVisitorLastSeen, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
	{Name: AttrVisitorVisitCount, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrVisitorReturning, Type: TypeBool, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapBoolean},
	{Name: AttrVisitorFirstMedium, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorFirstSource, Type: TypeString, Class: ClassText, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorFirstCampaign, Type: TypeString, Class: ClassText, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorLastNDMedium, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorLastNDSource, Type: TypeString, Class: ClassText, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorLastNDCampaign, Type: TypeString, Class: ClassText, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorPartner, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorOutcomes, Type: TypeStringSlice, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrVisitorSegments, Type: TypeStringSlice, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},

	{Name: AttrFunnelName, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrFunnelScope, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrFunnelOrder, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrFunnelStepCount, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrFunnelStepsReached, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrFunnelReached, Type: TypeStringSlice, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrFunnelLastStep, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrFunnelCompleted, Type: TypeBool, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapBoolean},
	{Name: AttrFunnelEnteredAt, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
	{Name: AttrFunnelLastAt, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
	{Name: AttrFunnelDuration, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapLong},
	{Name: AttrFunnelNextPage, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},
	{Name: AttrFunnelAttempts, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},

	// An array on events, one value on credits.
	{Name: AttrOutcomeName, Type: TypeStrings, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrOutcomeValue, Type: TypeDouble, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapDouble},
	{Name: AttrOutcomeCurrency, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrOutcomeEventID, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrOutcomeVisitID, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrOutcomeTimeToConvert, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapLong},
	{Name: AttrOutcomeTCFString, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Linking: true},
	{Name: AttrOutcomeVisitsToConvert, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrOutcomePagesBefore, Type: TypeString, Class: ClassURLPath, SetBy: StageAttribution, Mapping: MapLongKeyword},

	{Name: AttrAttributionModel, Type: TypeString, Class: ClassCode, SetBy: StageAttribution, Mapping: MapKeyword},
	{Name: AttrAttributionCredit, Type: TypeDouble, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapDouble},
	{Name: AttrAttributionValue, Type: TypeDouble, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapDouble},
	{Name: AttrAttributionTouchIndex, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrAttributionTouchCount, Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapInteger},
	{Name: AttrAttributionTouchTime, Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate},
}, funnelStepRows()...)

// funnelStepRows are the rows of the per-step funnel attributes
// (AttrFunnelStepAt, AttrFunnelStepAfter).
func funnelStepRows() []Attribute {
	var rows []Attribute
	for i := range MaxFunnelSteps {
		rows = append(rows, Attribute{Name: AttrFunnelStepAt[i], Type: TypeString, Class: ClassTime, SetBy: StageAttribution, Mapping: MapDate})
		if i > 0 {
			rows = append(rows, Attribute{Name: AttrFunnelStepAfter[i], Type: TypeInt, Class: ClassNumber, SetBy: StageAttribution, Mapping: MapLong})
		}
	}
	return rows
}

// AttributeNames lists every attribute name of this schema version, in the
// order of Attributes.
var AttributeNames = func() []string {
	names := make([]string, len(Attributes))
	for i := range Attributes {
		names[i] = Attributes[i].Name
	}
	return names
}()

var attributeIndex = func() map[string]*Attribute {
	m := make(map[string]*Attribute, len(Attributes))
	for i := range Attributes {
		m[Attributes[i].Name] = &Attributes[i]
	}
	return m
}()

// Lookup returns the model's row for an attribute name; ok is false for a
// name the model does not declare.
func Lookup(name string) (a *Attribute, ok bool) {
	a, ok = attributeIndex[name]
	return a, ok
}

// Names returns the names of the attributes for which keep is true, in
// table order: the way a component derives its own set from the table.
func Names(keep func(*Attribute) bool) []string {
	var out []string
	for i := range Attributes {
		if keep(&Attributes[i]) {
			out = append(out, Attributes[i].Name)
		}
	}
	return out
}

// NameSet is Names as a set.
func NameSet(keep func(*Attribute) bool) map[string]bool {
	out := map[string]bool{}
	for _, n := range Names(keep) {
		out[n] = true
	}
	return out
}
