package eventmodel // import "github.com/webjourney/webjourney/internal/eventmodel"

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
)

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
	AttrSessionID     = "session.id"          // string: tag-generated session id
)

// Project attribute names (namespace "webjourney.").
const (
	// AttrSchemaVersion is SchemaVersion at the time the record was made (int).
	AttrSchemaVersion = "webjourney.schema.version"
	// AttrSiteID is the configured site the event belongs to (string).
	AttrSiteID = "webjourney.site.id"
	// AttrVisitorID is the first-party visitor id the tag stores in a cookie or storage (string).
	AttrVisitorID = "webjourney.visitor.id"
	// AttrPageTitle is the document title (string).
	AttrPageTitle = "webjourney.page.title"
	// AttrReferrerFull is the referring URL (string).
	AttrReferrerFull = "webjourney.referrer.full"
	// AttrReferrerDomain is the host name of AttrReferrerFull, lower case (string).
	AttrReferrerDomain = "webjourney.referrer.domain"
	// AttrCustomName is the site-chosen name of an EventCustom (string).
	AttrCustomName = "webjourney.custom.name"
	// AttrProperties holds the event's custom properties (map of scalar values).
	AttrProperties = "webjourney.properties"
	// AttrIngestChannel says which collection surface received the event (string, one of the Channel* values).
	AttrIngestChannel = "webjourney.ingest.channel"
)

// Values of AttrIngestChannel.
const (
	ChannelPixel  = "pixel"  // GET image pixel
	ChannelIframe = "iframe" // GET iframe pixel
	ChannelBeacon = "beacon" // POST JSON beacon
)

// EventNames lists every event name of this schema version.
var EventNames = []string{EventPageView, EventCustom}

// AttributeNames lists every attribute name of this schema version.
var AttributeNames = []string{
	AttrEventID,
	AttrURLFull, AttrURLScheme, AttrURLDomain, AttrURLPort, AttrURLPath, AttrURLQuery, AttrURLFragment,
	AttrUserAgent, AttrClientAddress, AttrSessionID,
	AttrSchemaVersion, AttrSiteID, AttrVisitorID, AttrPageTitle,
	AttrReferrerFull, AttrReferrerDomain, AttrCustomName, AttrProperties, AttrIngestChannel,
}
