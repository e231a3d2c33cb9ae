package eventmodel // import "github.com/webjourney/webjourney/internal/eventmodel"

import "strings"

// SchemaVersion is the version of the event model described in
// docs/event-model.md. It is written on every record as AttrSchemaVersion so
// that stored documents say which contract produced them. Bump it when a name
// changes meaning or disappears; adding a name does not need a bump.
const SchemaVersion = 1

// Event names, carried in plog.LogRecord.EventName.
const (
	// EventPageView is a view of one page (or one virtual page of a single-page app).
	EventPageView = "webjourney.page_view"
	// EventCustom is a site-defined event; its name is in AttrCustomName.
	EventCustom = "webjourney.custom"
	// EventEngagement closes a page view: how long the page was visible and
	// focused (AttrEngagedTime) and how far it was scrolled (AttrScrollDepth).
	EventEngagement = "webjourney.engagement"
	// EventOutboundClick is a click on a link to another site (AttrLinkURL).
	EventOutboundClick = "webjourney.outbound_click"
	// EventFileDownload is a click on a link to a file (AttrLinkURL).
	EventFileDownload = "webjourney.file_download"
	// EventFormSubmit is a form submission; never carries a field value.
	EventFormSubmit = "webjourney.form_submit"
	// EventSiteSearch is a page view of the site's own search results (AttrSearchTerm).
	EventSiteSearch = "webjourney.site_search"
	// EventIdentify links the visitor to a site user id (AttrUserID).
	EventIdentify = "webjourney.identify"
	// EventConsentUpdate records a change of the visitor's consent choices
	// (the AttrConsent* attributes carry the new state).
	EventConsentUpdate = "webjourney.consent_update"
	// EventErasureRequest asks the exporter to erase everything stored
	// about the visitor (AttrVisitorID) and user (AttrUserID) of a site.
	// The consent processor makes one for every consent withdrawal that
	// still carries the withdrawn ids.
	EventErasureRequest = "webjourney.erasure_request"

	// Journey entity records, made by the attribution processor. Each
	// carries AttrEntityID and AttrEntityVersion; the exporter writes it to
	// its entity index by that id, and a record with a lower version never
	// replaces a higher one.
	//
	// EventVisit is the state of one visit (AttrVisit* attributes).
	EventVisit = "webjourney.visit"
	// EventVisitor is the state of one visitor (AttrVisitor* attributes).
	EventVisitor = "webjourney.visitor"
	// EventAttributionCredit is the credit one touch of a visitor gets for
	// one outcome under one attribution model (AttrAttribution* and
	// AttrOutcome* attributes). Immutable: its version is always 1.
	EventAttributionCredit = "webjourney.attribution_credit"
	// EventFunnel is one visitor's progress through one funnel defined in
	// the attribution processor (AttrFunnel* attributes).
	EventFunnel = "webjourney.funnel"
)

// IsPageView reports whether the event is a view of a page: a page view or
// a view of the site's own search results. Both count as pages viewed and
// can open a visit with its channel.
func IsPageView(eventName string) bool {
	return eventName == EventPageView || eventName == EventSiteSearch
}

// Semantic-convention attribute names.
const (
	// AttrEventID is the unique id of the event (string). The exporter uses it
	// as the Elasticsearch document id so that a replayed event is never
	// stored twice.
	AttrEventID = "log.record.uid"

	AttrURLFull     = "url.full"     // string: the page URL as reported
	AttrURLScheme   = "url.scheme"   // string: "http" or "https"
	AttrURLDomain   = "url.domain"   // string: host name, lower case, no port
	AttrURLPort     = "url.port"     // int: only when the URL names a port
	AttrURLPath     = "url.path"     // string
	AttrURLQuery    = "url.query"    // string: without the leading "?"
	AttrURLFragment = "url.fragment" // string: without the leading "#"

	AttrUserAgent     = "user_agent.original" // string
	AttrClientAddress = "client.address"      // string: IP address of the browser as the collector saw it
	AttrSessionID     = "session.id"          // string: visit id, renewed after the idle timeout
	AttrUserID        = "user.id"             // string: the site's own user id from identify (pseudonymised by the anonymizer)

	// Written by the anonymizer from AttrUserAgent (which it then drops):
	// browser and OS name and major version.
	AttrUserAgentName      = "user_agent.name"       // string, e.g. "Chrome"
	AttrUserAgentVersion   = "user_agent.version"    // string: major version, e.g. "140"
	AttrUserAgentOSName    = "user_agent.os.name"    // string, e.g. "Windows"
	AttrUserAgentOSVersion = "user_agent.os.version" // string: major version, e.g. "10"

	AttrGeoCountry = "geo.country.iso_code" // string: ISO 3166-1 alpha-2, from the client address
	AttrGeoRegion  = "geo.region.iso_code"  // string: ISO 3166-2 subdivision, e.g. "DE-BY"

	// A location finer than a city, as an OTLP client may send it. The
	// receiver never writes these and no document stores them.
	AttrGeoLatitude   = "geo.location.lat" // double
	AttrGeoLongitude  = "geo.location.lon" // double
	AttrGeoPostalCode = "geo.postal_code"  // string
)

// Project attribute names (namespace "webjourney.").
const (
	// AttrSchemaVersion is SchemaVersion at the time the record was made (int).
	AttrSchemaVersion = "webjourney.schema.version"
	// AttrSiteID is the configured site the event belongs to (string).
	AttrSiteID = "webjourney.site.id"
	// AttrVisitorID is the first-party visitor id the tag stores in a cookie or storage (string).
	AttrVisitorID = "webjourney.visitor.id"
	// AttrCookielessKey identifies the browser of an anonymous event for
	// one rotation period (a day by default) without any stored identifier:
	// a keyed hash of address, user agent and site under a salt that is
	// destroyed after the next period (string).
	AttrCookielessKey = "webjourney.visitor.cookieless_key"
	// AttrCookielessKeyPrevious is the same browser's key under the
	// previous period's salt, written during the first minutes of a period
	// so that a visit across midnight can be joined, not split (string).
	AttrCookielessKeyPrevious = "webjourney.visitor.cookieless_key_previous"
	// AttrDeviceClass is desktop, mobile, tablet or other, from the user
	// agent, and bot for an event marked with AttrBot (string).
	AttrDeviceClass = "webjourney.device.class"
	// AttrPageTitle is the document title (string).
	AttrPageTitle = "webjourney.page.title"
	// AttrReferrerFull is the referring URL (string).
	AttrReferrerFull = "webjourney.referrer.full"
	// AttrReferrerDomain is the host name of AttrReferrerFull, lower case (string).
	AttrReferrerDomain = "webjourney.referrer.domain"
	// AttrReferrerScheme, AttrReferrerPath and AttrReferrerQuery are the
	// scheme (as AttrURLScheme), path (decoded, as AttrURLPath) and raw
	// query (without "?", as AttrURLQuery) of AttrReferrerFull, split off by
	// the receiver so that no later stage parses the URL again (string).
	AttrReferrerScheme = "webjourney.referrer.scheme"
	AttrReferrerPath   = "webjourney.referrer.path"
	AttrReferrerQuery  = "webjourney.referrer.query"
	// AttrCustomName is the site-chosen name of an EventCustom (string).
	AttrCustomName = "webjourney.custom.name"
	// AttrProperties holds the event's custom properties (map of scalar values).
	AttrProperties = "webjourney.properties"
	// AttrIngestChannel says which collection surface received the event (string, one of the Channel* values).
	AttrIngestChannel = "webjourney.ingest.channel"
	// AttrIngestFormat is, on an event of ChannelImport, the format of the
	// import line it came from: "ndjson" (our event model) or the tracker
	// protocol whose raw hit the line was ("matomo", "snowplow", "ga4",
	// "plausible"); absent on live events (string).
	AttrIngestFormat = "webjourney.ingest.format"
	// AttrNonInteractive is true for an event the sender marked as not
	// an interaction of the visitor (Plausible's interactive: false, e.g.
	// an autoplay), which should not turn a bounce into an engaged visit
	// (bool; absent means interactive).
	AttrNonInteractive = "webjourney.event.non_interactive"

	// AttrPageViewID is the event id of the page view an engagement,
	// click, form or search event belongs to (string).
	AttrPageViewID = "webjourney.page_view.id"
	// AttrEngagedTime is the time in milliseconds the page was visible and
	// in use (int).
	AttrEngagedTime = "webjourney.engagement.time_ms"
	// AttrScrollDepth is the deepest scroll position reached, percent of the page height 0-100 (int).
	AttrScrollDepth = "webjourney.engagement.scroll_depth"
	// AttrLinkURL is the target of an outbound or download click (string).
	AttrLinkURL = "webjourney.link.url"
	// AttrLinkDomain is the host name of AttrLinkURL, lower case (string).
	AttrLinkDomain = "webjourney.link.domain"
	// AttrFormID and AttrFormName are the id and name attributes of a submitted form (string).
	AttrFormID   = "webjourney.form.id"
	AttrFormName = "webjourney.form.name"
	// AttrFormAction is the path of the form's action URL (string).
	AttrFormAction = "webjourney.form.action"
	// AttrFormFieldCount is the number of fields of a form (int); absent for sensitive forms.
	AttrFormFieldCount = "webjourney.form.field_count"
	// AttrFormSensitive is true for a form with a password or card field (bool).
	AttrFormSensitive = "webjourney.form.sensitive"
	// AttrSearchTerm is the site-search query (string).
	AttrSearchTerm = "webjourney.search.term"

	// Campaign parameters of the page URL (utm_* or mtm_*), as written (string).
	AttrCampaignSource  = "webjourney.campaign.source"
	AttrCampaignMedium  = "webjourney.campaign.medium"
	AttrCampaignName    = "webjourney.campaign.name"
	AttrCampaignTerm    = "webjourney.campaign.term"
	AttrCampaignContent = "webjourney.campaign.content"
	AttrCampaignID      = "webjourney.campaign.id"
	// AttrClickIDType names the ad click id found in the page URL (the
	// Param of one of ClickIDs) and AttrClickIDValue holds its value
	// (string).
	AttrClickIDType  = "webjourney.click_id.type"
	AttrClickIDValue = "webjourney.click_id.value"

	// AttrReferralPartner and AttrReferralClickID are the configured
	// referral partner and its click id that brought this visitor, from the
	// landing or the first-party referral cookie (string; no click id for
	// a referral by the partner's domain).
	AttrReferralPartner = "webjourney.referral.partner"
	AttrReferralClickID = "webjourney.referral.click_id"
	// AttrReferralClickIDSealed is the partner's click id as it arrived,
	// sealed (internal/sealed, bound to the site and this attribute name)
	// for the partner postback exporter, the only component that opens
	// it. Never stored (string).
	AttrReferralClickIDSealed = "webjourney.referral.click_id_sealed"
	// AttrReferralWindow is the partner's attribution window in
	// milliseconds (int): a partner touch older than this at the time of
	// an outcome gets no credit.
	AttrReferralWindow = "webjourney.referral.window_ms"
	// AttrReferralLanding is true on the page view on which the receiver
	// detected the referral (the partner's click id in the URL, or a
	// referrer on one of its domains), absent on the events that carry the
	// partner from the referral cookie (bool). The attribution processor
	// makes the visit of such a page view a partner touch.
	AttrReferralLanding = "webjourney.referral.landing"

	// Consent signals as received; the consent processor decides on them.
	// AttrConsentAnalytics, AttrConsentMarketing and
	// AttrConsentPersonalization are "granted", "denied" or "unknown" (string).
	AttrConsentAnalytics       = "webjourney.consent.analytics"
	AttrConsentMarketing       = "webjourney.consent.marketing"
	AttrConsentPersonalization = "webjourney.consent.personalization"
	// AttrCookieless is true when the tag ran without cookies or identifiers (bool).
	AttrCookieless = "webjourney.consent.cookieless"
	// AttrGPC is true when the browser sent Global Privacy Control (bool).
	AttrGPC = "webjourney.consent.gpc"
	// AttrDNT is true when the browser sent Do-Not-Track (bool).
	AttrDNT = "webjourney.consent.dnt"
	// AttrTCFGDPRApplies and AttrTCFString are the IAB TCF signals (gdpr and
	// gdpr_consent) as read from the page's CMP or the pixel URL.
	AttrTCFGDPRApplies = "webjourney.consent.tcf.gdpr_applies" // bool
	AttrTCFString      = "webjourney.consent.tcf.string"       // string
	// AttrTCFStringError says why a TC string was sent but not passed on:
	// TCFStringErrorMacro or TCFStringErrorMalformed (string). The
	// consent processor decides on it; it is never stored.
	AttrTCFStringError = "webjourney.consent.tcf.string_error"

	// The consent processor's decision on the event, for audit:
	// AttrConsentDecision is one of the Decision* values, AttrConsentReason
	// the reason code (see the consent processor's README) and
	// AttrConsentSource the signal that decided: "tcf", "tag", "gpc",
	// "dnt", "policy" or "region" (string).
	AttrConsentDecision = "webjourney.consent.decision"
	AttrConsentReason   = "webjourney.consent.reason"
	AttrConsentSource   = "webjourney.consent.source"
	// On a stored erasure request the exporter replaces the ids it erased
	// with AttrErasureSubject, a SHA-256 (hex, 128 bits) of site, visitor
	// id and user id, so the audit record names no one; AttrErasureDeleted
	// is how many documents it deleted (int).
	AttrErasureSubject = "webjourney.erasure.subject"
	AttrErasureDeleted = "webjourney.erasure.deleted"
	// AttrRetentionMonths caps how long the exporter may keep the event,
	// in months (int); set for events kept under the CNIL exemption.
	AttrRetentionMonths = "webjourney.retention.max_months"

	// AttrBot is true for an event from a crawler or an automated browser,
	// kept because the receiver's bot action is "mark" (bool); AttrBotReason
	// says why: "user_agent" or "automation" (string).
	AttrBot       = "webjourney.bot.detected"
	AttrBotReason = "webjourney.bot.reason"

	// Where the event's Timestamp comes from. AttrTimeSource is one of
	// the TimeSource* values; AttrTimeCorrection (one of the
	// TimeCorrection* values) says why a client's time was replaced or
	// shifted, and is absent when it was not; AttrTimeSkew is the shift of
	// a TimeCorrectionSkew in milliseconds (int: the receive time minus
	// the client's send time, positive for a client clock behind the
	// collector's). Written by the pixel receiver on every event; absent on
	// events of OTLP clients, whose Timestamp is their own.
	AttrTimeSource     = "webjourney.time.source"
	AttrTimeCorrection = "webjourney.time.correction"
	AttrTimeSkew       = "webjourney.time.skew_ms"

	// AttrRoutingKey is what a front collector's loadbalancing exporter
	// routes on in the two-tier layout: the visitor id, or the client
	// address for an event without one (string). Written by the pixel
	// receiver only when its routing_key option is on; the anonymizer
	// always removes it and the exporter never stores it.
	AttrRoutingKey = "webjourney.routing.key"
)

// Journey names, written by the attribution processor on events (visit and
// channel, outcome names) and on the entity records.
const (
	// AttrEntityID is the document id of an entity record (string).
	AttrEntityID = "webjourney.entity.id"
	// AttrEntityVersion orders the snapshots of one entity (int, > 0): a
	// later snapshot has a higher version.
	AttrEntityVersion = "webjourney.entity.version"

	// AttrVisitID is the visit an event belongs to, as the attribution
	// processor sessionised it (string, 32 hex digits).
	AttrVisitID = "webjourney.visit.id"
	// Channel of the visit's entry: medium (one of the Medium* values),
	// source name, campaign, referral partner and search term (string).
	AttrChannelMedium     = "webjourney.channel.medium"
	AttrChannelSource     = "webjourney.channel.source"
	AttrChannelCampaign   = "webjourney.channel.campaign"
	AttrChannelPartner    = "webjourney.channel.partner"
	AttrChannelSearchTerm = "webjourney.channel.search_term"

	// Visit record attributes.
	AttrVisitStart        = "webjourney.visit.start"           // string, RFC 3339 UTC
	AttrVisitLastActivity = "webjourney.visit.last_activity"   // string, RFC 3339 UTC
	AttrVisitIdleAt       = "webjourney.visit.idle_at"         // string, RFC 3339 UTC: when the visit ends unless another event comes
	AttrVisitDuration     = "webjourney.visit.duration_ms"     // int
	AttrVisitPagesViewed  = "webjourney.visit.pages_viewed"    // int
	AttrVisitEngagedTime  = "webjourney.visit.engaged_time_ms" // int
	AttrVisitLandingPage  = "webjourney.visit.landing_page"    // string: path
	AttrVisitSecondPage   = "webjourney.visit.second_page"     // string: path of the page view after the landing page
	AttrVisitExitPage     = "webjourney.visit.exit_page"       // string: path
	AttrVisitBounce       = "webjourney.visit.bounce"          // bool
	AttrVisitNumber       = "webjourney.visit.number"          // int: 1 for the visitor's first visit the processor saw
	// AttrVisitWeeksSinceFirstSeen is the retention cohort's column: whole
	// weeks from the visitor's first_seen (on the visit record too) to the
	// visit's start, 0 in the week the visitor was first seen.
	AttrVisitWeeksSinceFirstSeen = "webjourney.visit.weeks_since_first_seen" // int
	AttrVisitOutcomes            = "webjourney.visit.outcomes"               // slice of string
	AttrVisitSegments            = "webjourney.visit.segments"               // slice of string

	// A visit's page sequence: its first pages (journey::path_length of the
	// attribution processor, default 10) in time order, consecutive
	// repeats collapsed. Elasticsearch sorts and de-duplicates a keyword
	// array, so the sequence is stored in forms that keep its order: the
	// whole path as one keyword (pages joined by " → ", which no URL path
	// can hold) for "top paths", and its first six steps as one keyword
	// each, for per-step aggregations (a Sankey of up to six columns); a
	// step the visit did not reach is absent. Transitions are the visit's
	// moves as "from → to" keywords (a set per visit, so ES's
	// de-duplication is what is meant): the entrance as "(medium) → page",
	// page to page, and the exit as "page → (exit)" when the path holds
	// the visit's last page.
	AttrVisitPath          = "webjourney.visit.path"           // string: pages joined by " → "
	AttrVisitPathLength    = "webjourney.visit.path_length"    // int: pages in path
	AttrVisitPathTruncated = "webjourney.visit.path_truncated" // bool: the visit viewed more pages after them
	AttrVisitStep1         = "webjourney.visit.step_1"         // string: path of the path's first page (the landing page)
	AttrVisitStep2         = "webjourney.visit.step_2"
	AttrVisitStep3         = "webjourney.visit.step_3"
	AttrVisitStep4         = "webjourney.visit.step_4"
	AttrVisitStep5         = "webjourney.visit.step_5"
	AttrVisitStep6         = "webjourney.visit.step_6"
	AttrVisitTransitions   = "webjourney.visit.transitions" // slice of string: "from → to"

	// Visitor record attributes.
	AttrVisitorFirstSeen      = "webjourney.visitor.first_seen"  // string, RFC 3339 UTC
	AttrVisitorLastSeen       = "webjourney.visitor.last_seen"   // string, RFC 3339 UTC
	AttrVisitorVisitCount     = "webjourney.visitor.visit_count" // int
	AttrVisitorReturning      = "webjourney.visitor.returning"   // bool: more than one visit
	AttrVisitorFirstMedium    = "webjourney.visitor.first_touch.medium"
	AttrVisitorFirstSource    = "webjourney.visitor.first_touch.source"
	AttrVisitorFirstCampaign  = "webjourney.visitor.first_touch.campaign"
	AttrVisitorLastNDMedium   = "webjourney.visitor.last_non_direct.medium"
	AttrVisitorLastNDSource   = "webjourney.visitor.last_non_direct.source"
	AttrVisitorLastNDCampaign = "webjourney.visitor.last_non_direct.campaign"
	AttrVisitorPartner        = "webjourney.visitor.partner"  // string: partner of the newest partner touch
	AttrVisitorOutcomes       = "webjourney.visitor.outcomes" // slice of string
	AttrVisitorSegments       = "webjourney.visitor.segments" // slice of string

	// Funnel record attributes: one record per visitor and funnel, its
	// best attempt (the one that reached the furthest step, the earliest
	// of those). A step is "NN name" (NN its 1-based position, two digits)
	// so that a terms aggregation on webjourney.funnel.reached sorts the
	// steps in funnel order; reached is a set of steps, which
	// Elasticsearch's sorting and de-duplication of arrays keeps intact.
	AttrFunnelName         = "webjourney.funnel.name"
	AttrFunnelScope        = "webjourney.funnel.scope"         // "visit" or "visitor"
	AttrFunnelOrder        = "webjourney.funnel.order"         // "strict" or "any"
	AttrFunnelStepCount    = "webjourney.funnel.step_count"    // int: steps defined
	AttrFunnelStepsReached = "webjourney.funnel.steps_reached" // int: the furthest step reached, 1-based
	AttrFunnelReached      = "webjourney.funnel.reached"       // slice of string: "01 product", every step reached
	AttrFunnelLastStep     = "webjourney.funnel.last_step"     // string: the furthest step reached, "02 cart"
	AttrFunnelCompleted    = "webjourney.funnel.completed"     // bool
	AttrFunnelEnteredAt    = "webjourney.funnel.entered_at"    // string, RFC 3339 UTC: the first step
	AttrFunnelLastAt       = "webjourney.funnel.last_at"       // string, RFC 3339 UTC: the furthest step
	AttrFunnelDuration     = "webjourney.funnel.duration_ms"   // int: entered_at to last_at
	AttrFunnelNextPage     = "webjourney.funnel.next_page"     // string: path of the next page after the furthest step, when not completed
	AttrFunnelAttempts     = "webjourney.funnel.attempts"      // int: attempts started (visits that entered, for scope visit)

	// AttrOutcomeName names the outcomes (conversions, goals) an event
	// achieved (slice of string on events, string on credit records).
	AttrOutcomeName = "webjourney.outcome.name"
	// On credit records: the outcome's value and currency, the id of the
	// event that achieved it, and how long and how many visits it took
	// from the first touch inside the lookback window.
	AttrOutcomeValue           = "webjourney.outcome.value"    // double
	AttrOutcomeCurrency        = "webjourney.outcome.currency" // string, ISO 4217
	AttrOutcomeEventID         = "webjourney.outcome.event_id"
	AttrOutcomeVisitID         = "webjourney.outcome.visit_id"
	AttrOutcomeTimeToConvert   = "webjourney.outcome.time_to_convert_ms" // int
	AttrOutcomeVisitsToConvert = "webjourney.outcome.visits_to_convert"  // int
	// AttrOutcomeTCFString is, on credit records, the TC string the
	// outcome event carried, so that a partner postback can be decided on
	// the converting visitor's TCF consent (string). Never stored: a TC
	// string is a fingerprint, and the event keeps its own copy. The
	// outcome event's AttrConsentDecision, AttrConsentReason,
	// AttrConsentMarketing, AttrGPC, AttrDNT and AttrTCFGDPRApplies are
	// copied onto its credit records under their own names.
	AttrOutcomeTCFString = "webjourney.outcome.tcf_string"
	// AttrOutcomePagesBefore is the way to the outcome on credit records:
	// the last three pages of its visit before it (the outcome's own page
	// view excluded), oldest first, joined by " → " as AttrVisitPath.
	AttrOutcomePagesBefore = "webjourney.outcome.pages_before"

	// Credit record attributes: the model, the touch's share of the
	// outcome (0-1, summing to exactly 1 per outcome and model) and of its
	// value, the touch's position and time. The touch's channel is in the
	// AttrChannel* attributes and its visit in AttrVisitID.
	AttrAttributionModel      = "webjourney.attribution.model"       // string
	AttrAttributionCredit     = "webjourney.attribution.credit"      // double
	AttrAttributionValue      = "webjourney.attribution.value"       // double
	AttrAttributionTouchIndex = "webjourney.attribution.touch_index" // int, 0 = oldest
	AttrAttributionTouchCount = "webjourney.attribution.touch_count" // int
	AttrAttributionTouchTime  = "webjourney.attribution.touch_time"  // string, RFC 3339 UTC
)

// AttributionAttrs is how many attributes the attribution processor adds
// to an event at most, outcomes aside: AttrVisitID and the visit's
// AttrChannelMedium, Source, Campaign, Partner and SearchTerm. Processors
// before it reserve the room, so that the attribute slice is grown (all of
// it copied) once in the pipeline rather than in every step.
const AttributionAttrs = 6

// ConsentAttrs is how many attributes the consent processor adds to an
// event at most: the decision, its reason and source, and the retention of
// an exempt event.
const ConsentAttrs = 4

// AnonymizerAttrs is how many attributes the anonymizer adds to an event
// at most, before it removes the raw user agent and address: the
// cookieless key and the previous period's, the five user agent fields and
// the sealed referral click id.
const AnonymizerAttrs = 8

// PipelineAttrs is the room the receiver reserves on every event for what
// the processors add after it, so that no stage grows (copies) the
// attribute slice again.
const PipelineAttrs = ConsentAttrs + AnonymizerAttrs + AttributionAttrs

// Values of AttrChannelMedium.
const (
	MediumDirect   = "direct"
	MediumInternal = "internal"
	MediumSearch   = "search"
	MediumSocial   = "social"
	MediumEmail    = "email"
	MediumPaid     = "paid"
	MediumReferral = "referral"
	MediumAI       = "ai_assistant"
	MediumPartner  = "partner"
)

// Values of AttrAttributionModel.
const (
	ModelFirstTouch    = "first_touch"
	ModelLastTouch     = "last_touch"
	ModelLastNonDirect = "last_non_direct"
	ModelLinear        = "linear"
	ModelPositionBased = "position_based"
	ModelTimeDecay     = "time_decay"
)

// Values of the AttrConsent* category attributes.
const (
	ConsentGranted = "granted"
	ConsentDenied  = "denied"
	ConsentUnknown = "unknown"
)

// Values of AttrTCFStringError.
const (
	// TCFStringErrorMacro: an ad server's macro that was never filled in
	// (${GDPR_CONSENT_123}, [GDPR_CONSENT], ...), a site misconfiguration.
	TCFStringErrorMacro = "unexpanded_macro"
	// TCFStringErrorMalformed: not made of base64url segments.
	TCFStringErrorMalformed = "malformed"
)

// Values of AttrConsentDecision. Dropped events are not stored, so
// "drop" appears only in telemetry.
const (
	// DecisionKeep: the full event.
	DecisionKeep = "keep"
	// DecisionAnonymous: no persistent or cross-context identifier; the
	// anonymizer also removes client.address and user_agent.original.
	DecisionAnonymous = "anonymous"
	// DecisionDrop: the event is not kept.
	DecisionDrop = "drop"
)

// Values of AttrConsentReason that a later stage acts on (the consent
// processor documents them all). A kept event with either of them may
// not be shared with a partner.
const (
	// ConsentReasonMarketingDenied: kept without marketing identifiers.
	ConsentReasonMarketingDenied = "marketing_denied"
	// ConsentReasonCNILExemption: kept only for audience measurement
	// under the CNIL exemption, which forbids sharing with third parties.
	ConsentReasonCNILExemption = "cnil_exemption"
)

// ClickID is an advertising click id: the landing-URL parameter an ad
// platform adds to its clicks, which the pixel receiver extracts (the
// parameter is the value of AttrClickIDType), and the channel the
// attribution processor gives a visit that lands with it.
type ClickID struct {
	Param  string // the query parameter, lower case
	Source string // the channel source: the ad platform
	// Medium is MediumPaid for the ids only ad clicks carry. For an id
	// that organic links carry too it is the medium of a visit that has
	// nothing more telling (no campaign fields).
	Medium string
}

// ClickIDs are the advertising click ids recognised in page URLs, in
// priority order: when a URL carries several, the first listed wins
// (Google's first: its auto-tagging is the most common source of several
// ids on one URL).
var ClickIDs = [...]ClickID{
	{Param: "gclid", Source: "google", Medium: MediumPaid},
	{Param: "gbraid", Source: "google", Medium: MediumPaid},
	{Param: "wbraid", Source: "google", Medium: MediumPaid},
	{Param: "dclid", Source: "google", Medium: MediumPaid},
	{Param: "msclkid", Source: "microsoft", Medium: MediumPaid},
	// Not a paid signal: Facebook and Instagram add fbclid to organic
	// outbound links too (GA4 likewise does not count it as paid).
	{Param: "fbclid", Source: "facebook", Medium: MediumSocial},
	{Param: "ttclid", Source: "tiktok", Medium: MediumPaid},
	{Param: "li_fat_id", Source: "linkedin", Medium: MediumPaid},
	{Param: "yclid", Source: "yandex", Medium: MediumPaid},
	{Param: "twclid", Source: "twitter", Medium: MediumPaid}, // X, formerly Twitter
	{Param: "epik", Source: "pinterest", Medium: MediumPaid},
	{Param: "sccid", Source: "snapchat", Medium: MediumPaid},
	{Param: "rdt_cid", Source: "reddit", Medium: MediumPaid},
}

// LookupClickID finds a click id by its parameter (AttrClickIDType),
// ignoring ASCII case.
func LookupClickID(param string) (ClickID, bool) {
	for _, c := range ClickIDs {
		if strings.EqualFold(param, c.Param) {
			return c, true
		}
	}
	return ClickID{}, false
}

// Values of AttrDeviceClass.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceBot     = "bot"
	DeviceOther   = "other"
)

// Values of AttrBotReason.
const (
	BotReasonUserAgent  = "user_agent"
	BotReasonAutomation = "automation"
)

// Values of AttrTimeSource.
const (
	// TimeSourceClient: the client's own time of the event, as sent.
	TimeSourceClient = "client"
	// TimeSourceClientSkewCorrected: the client's time, shifted by the
	// difference between its clock and the collector's (AttrTimeSkew).
	TimeSourceClientSkewCorrected = "client_skew_corrected"
	// TimeSourceReceiveTime: when the collector received the event.
	TimeSourceReceiveTime = "receive_time"
)

// Values of AttrTimeCorrection: why the client's time of an event was not
// taken as sent.
const (
	// TimeCorrectionMissing: the event carried no time of its own.
	TimeCorrectionMissing = "missing"
	// TimeCorrectionMissingSendTime: the event had a time but the request
	// no send time, so the client's clock could not be checked.
	TimeCorrectionMissingSendTime = "missing_send_time"
	// TimeCorrectionInFuture: the event's time is after the request's
	// send time by the same clock.
	TimeCorrectionInFuture = "in_future"
	// TimeCorrectionTooOld: the client held the event longer than the
	// channel allows before sending it.
	TimeCorrectionTooOld = "too_old"
	// TimeCorrectionSkew: the client's clock was off by more than the
	// channel tolerates; the time was shifted by AttrTimeSkew.
	TimeCorrectionSkew = "skew"
)

// TimeCorrections lists the values of AttrTimeCorrection.
var TimeCorrections = []string{
	TimeCorrectionMissing, TimeCorrectionMissingSendTime, TimeCorrectionInFuture, TimeCorrectionTooOld, TimeCorrectionSkew,
}

// Values of AttrIngestChannel.
const (
	ChannelPixel  = "pixel"  // GET image pixel
	ChannelIframe = "iframe" // GET iframe pixel
	ChannelBeacon = "beacon" // POST JSON beacon
	// ChannelImport: history the site's owner imported (NDJSON, the
	// receiver's import endpoint); the event keeps its own time.
	ChannelImport = "import"
	// ChannelPlausible is Plausible's Events API (POST /api/event), for
	// sites that keep their Plausible tracker.
	ChannelPlausible = "plausible"
	// ChannelSnowplow is Snowplow's tracker protocol (GET /i, POST
	// /com.snowplowanalytics.snowplow/tp2), for sites that keep their
	// Snowplow tracker.
	ChannelSnowplow = "snowplow"
	// ChannelMatomo is Matomo's HTTP Tracking API (matomo.php, piwik.php),
	// for sites that keep their Matomo tracker.
	ChannelMatomo = "matomo"
	// ChannelGA4 is Google Analytics 4's Measurement Protocol
	// (/mp/collect), for sites that keep their GA4 tagging.
	ChannelGA4 = "ga4"
)

// EventNames lists every event name of this schema version.
var EventNames = []string{
	EventPageView, EventCustom, EventEngagement, EventOutboundClick, EventFileDownload,
	EventFormSubmit, EventSiteSearch, EventIdentify, EventConsentUpdate, EventErasureRequest,
	EventVisit, EventVisitor, EventAttributionCredit, EventFunnel,
}

// AttrFunnelStepAt are the times each step of a funnel was first reached
// in the record's attempt (absent for a step not reached), and
// AttrFunnelStepAfter the milliseconds from the previous step (from the
// second step on; index 0 is empty).
var (
	AttrFunnelStepAt = [MaxFunnelSteps]string{
		"webjourney.funnel.step_1.at", "webjourney.funnel.step_2.at", "webjourney.funnel.step_3.at", "webjourney.funnel.step_4.at", "webjourney.funnel.step_5.at",
		"webjourney.funnel.step_6.at", "webjourney.funnel.step_7.at", "webjourney.funnel.step_8.at", "webjourney.funnel.step_9.at", "webjourney.funnel.step_10.at",
	}
	AttrFunnelStepAfter = [MaxFunnelSteps]string{
		"", "webjourney.funnel.step_2.after_ms", "webjourney.funnel.step_3.after_ms", "webjourney.funnel.step_4.after_ms", "webjourney.funnel.step_5.after_ms",
		"webjourney.funnel.step_6.after_ms", "webjourney.funnel.step_7.after_ms", "webjourney.funnel.step_8.after_ms", "webjourney.funnel.step_9.after_ms", "webjourney.funnel.step_10.after_ms",
	}
)

// MaxFunnelSteps is the most steps a funnel may have.
const MaxFunnelSteps = 10

// Values of AttrFunnelScope and AttrFunnelOrder.
const (
	FunnelScopeVisit   = "visit"
	FunnelScopeVisitor = "visitor"
	FunnelOrderStrict  = "strict"
	FunnelOrderAny     = "any"
)

// AttrVisitSteps are the per-step attributes of a visit's path, first to
// sixth page.
var AttrVisitSteps = [...]string{AttrVisitStep1, AttrVisitStep2, AttrVisitStep3, AttrVisitStep4, AttrVisitStep5, AttrVisitStep6}
