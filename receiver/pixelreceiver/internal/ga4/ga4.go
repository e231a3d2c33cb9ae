// Package ga4 decodes Google Analytics 4 requests into events of the
// webjourney event model: the Measurement Protocol's JSON body
// (POST /mp/collect?measurement_id=G-XXXX&api_secret=...).
//
// GA4 names its events (page_view, user_engagement, click, file_download,
// form_submit, search, purchase, ...) and carries everything else as the
// event's params. The events that mean one of ours become ours; every
// other event is a custom event of its GA4 name. Params that do not map
// to the event model are kept as properties; what does not fit
// max_properties, or is no scalar, is counted in PropDroppedParams, never
// dropped silently.
package ga4 // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"

import (
	"crypto/subtle"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// GA4 event names that mean one of ours (Google's automatically
// collected, enhanced-measurement and recommended events).
const (
	NamePageView          = "page_view"
	NameUserEngagement    = "user_engagement"
	NameClick             = "click"
	NameFileDownload      = "file_download"
	NameFormSubmit        = "form_submit"
	NameGenerateLead      = "generate_lead"
	NameSearch            = "search"
	NameViewSearchResults = "view_search_results"
	NamePurchase          = "purchase"
	// NameCampaignDetails is the Measurement Protocol's event that
	// reports a campaign (Google's example names its params source,
	// medium, term, content, campaign and campaign_id).
	NameCampaignDetails = "campaign_details"
)

// Property names of the mapped params; the purchase's are the names the
// Matomo and Plausible decoders use, so that one outcome rule of the
// attribution processor matches all three.
const (
	PropRevenue  = "revenue"
	PropCurrency = "currency"
	PropOrderID  = "order_id"
	// PropItems is the number of the purchase's items, PropItemsJSON the
	// items as sent (truncated to max_string_length).
	PropItems     = "items"
	PropItemsJSON = "items_json"
	// PropGA4Name keeps the GA4 name of an event whose name is not the
	// only GA4 name of our event type (generate_lead, view_search_results).
	PropGA4Name = "ga4_event_name"
	// PropUserPrefix prefixes the request's user_properties, kept on
	// every event of the request.
	PropUserPrefix = "up_"
	// PropDroppedParams counts the params (and user properties) not kept:
	// beyond max_properties, not scalars, or named outside [A-Za-z0-9_-].
	PropDroppedParams = "dropped_params"
)

// Google's limits (developers.google.com/analytics/devguides/collection/
// protocol/ga4/sending-events#limitations).
const (
	// MaxEvents is the most events one Measurement Protocol request may carry.
	MaxEvents = 25
	// maxBackdate is how far back timestamp_micros may go: Google accepts
	// events up to 72 hours old.
	maxBackdate = 72 * time.Hour
	// maxSkew is how far in the future a timestamp may be: a server's
	// clock, and the request's time on the network.
	maxSkew = time.Minute
	// maxNameLength bounds an event name.
	maxNameLength = 40
	// maxItems bounds the items of one event (Google's limit is 200).
	maxItems = 200
)

// Google's validationCode values (the validation server's answer).
const (
	CodeValueInvalid        = "VALUE_INVALID"
	CodeValueRequired       = "VALUE_REQUIRED"
	CodeNameInvalid         = "NAME_INVALID"
	CodeNameReserved        = "NAME_RESERVED"
	CodeValueOutOfBounds    = "VALUE_OUT_OF_BOUNDS"
	CodeExceededMaxEntities = "EXCEEDED_MAX_ENTITIES"
)

// Site is how a site receives GA4 requests.
type Site struct {
	// ID is the site id.
	ID string
	// Secrets are the Measurement Protocol api_secrets the site accepts;
	// without any, api_secret is checked as the site's write key.
	Secrets []string
	// DefaultPageURL is the page of a Measurement Protocol event that
	// names none (a purchase a shop's server reports): "" refuses it.
	DefaultPageURL string
}

// Decoder decodes GA4 requests. It is safe for concurrent use.
type Decoder struct {
	// Events holds the sites and limits every event is checked against.
	Events *webevent.Decoder
	// MeasurementIDs maps a measurement id, upper case, to its site.
	MeasurementIDs map[string]*Site
}

// Refusal is a refused request (Index -1) or event, with what Google's
// validation server would say about it.
type Refusal struct {
	webevent.EventRejection
	// FieldPath is the refused field as Google's validation server names
	// it ("events", "client_id", "consent.ad_user_data").
	FieldPath string
	// Code is Google's validationCode.
	Code string
}

// Batch is what one request carried: the good events and the refused.
type Batch struct {
	Events  []webevent.Event
	Refused []Refusal
}

func refuse(index int, reason webevent.Reason, field, code, msg string) *Refusal {
	return &Refusal{
		EventRejection: webevent.EventRejection{Index: index, Rejection: webevent.Rejection{Reason: reason, Message: msg}},
		FieldPath:      field, Code: code,
	}
}

// refuseEvent refuses an event (index >= 0) or the request (-1); the
// field path is made only then, "events[i]" prefixing an event's suffix.
func refuseEvent(index int, reason webevent.Reason, suffix, code, msg string) *Refusal {
	return refuse(index, reason, eventPath(index, suffix), code, msg)
}

// eventPath is the field path of suffix in the index-th event; suffix
// itself for the request (-1), without its leading dot.
func eventPath(index int, suffix string) string {
	if index < 0 {
		return strings.TrimPrefix(suffix, ".")
	}
	return "events[" + strconv.Itoa(index) + "]" + suffix
}

// refusal wraps a rejection of the event-model checks.
func refusal(index int, rej *webevent.Rejection, field string) *Refusal {
	code := CodeValueInvalid
	switch rej.Reason {
	case webevent.ReasonMissingURL, webevent.ReasonMissingName:
		code = CodeValueRequired
	case webevent.ReasonURLTooLong:
		code = CodeValueOutOfBounds
	}
	return &Refusal{EventRejection: webevent.EventRejection{Index: index, Rejection: *rej}, FieldPath: field, Code: code}
}

// site finds the site of a measurement id.
func (d *Decoder) site(measurementID string) (*Site, *Refusal) {
	id := strings.TrimSpace(measurementID)
	if id == "" {
		return nil, refuse(-1, webevent.ReasonUnknownSite, "measurement_id", CodeValueRequired, "measurement_id is missing")
	}
	s, ok := d.MeasurementIDs[id]
	if !ok {
		s, ok = d.MeasurementIDs[strings.ToUpper(id)]
	}
	if !ok {
		return nil, refuse(-1, webevent.ReasonUnknownSite, "measurement_id", CodeValueInvalid, "measurement_id is not configured for any site of this collector")
	}
	return s, nil
}

// writeKey checks apiSecret against the site's api_secrets and returns
// the key its events carry into the event-model check: the site's write
// key for a matching secret, else apiSecret itself, which that check
// compares with the write key.
func (d *Decoder) writeKey(s *Site, apiSecret string) (string, *Refusal) {
	if len(s.Secrets) == 0 {
		return apiSecret, nil
	}
	for _, secret := range s.Secrets {
		// Constant time: the comparison must not tell a prober how much of
		// a guessed secret was right.
		if subtle.ConstantTimeCompare([]byte(apiSecret), []byte(secret)) == 1 {
			return d.Events.Sites[s.ID].WriteKey, nil
		}
	}
	return "", refuse(-1, webevent.ReasonInvalidWriteKey, "api_secret", CodeValueInvalid, "api_secret is not one of the site's api_secrets")
}

// consentValue maps a Consent Mode value to ours.
func consentValue(v string) (string, bool) {
	switch v {
	case "GRANTED", "granted":
		return eventmodel.ConsentGranted, true
	case "DENIED", "denied":
		return eventmodel.ConsentDenied, true
	}
	return "", false
}

// eventIn is one GA4 event's values as the sender spelled them, whatever
// the wire format.
type eventIn struct {
	index                      int
	name                       string
	page, referrer, title      string
	sessionID                  string
	engaged                    float64
	hasEngaged                 bool
	campaign                   campaignIn
	link                       string
	outbound                   bool
	searchTerm                 string
	formID, formName, formDest string
	transactionID              string
	value                      float64
	hasValue                   bool
	currency                   string
	items                      []byte
	itemCount                  int
	props                      []webevent.Prop
	dropped                    int
	at                         eventtime.Time
	// timed is set when the event's or the request's timestamp_micros
	// decided at.
	timed bool
}

// campaignIn are GA4's campaign params (campaign_source, ...; gclid).
type campaignIn struct {
	source, medium, name, term, content, id, gclid string
}

// mappedParam stores a param the event model has a field for; false for
// any other param.
func (in *eventIn) mappedParam(key, text string) bool {
	var dst *string
	switch key {
	case "page_location":
		dst = &in.page
	case "page_referrer":
		dst = &in.referrer
	case "page_title":
		dst = &in.title
	case "session_id":
		dst = &in.sessionID
	case "campaign_source":
		dst = &in.campaign.source
	case "campaign_medium":
		dst = &in.campaign.medium
	case "campaign", "campaign_name":
		dst = &in.campaign.name
	case "campaign_term":
		dst = &in.campaign.term
	case "campaign_content":
		dst = &in.campaign.content
	case "campaign_id":
		dst = &in.campaign.id
	case "gclid":
		dst = &in.campaign.gclid
	case "link_url":
		dst = &in.link
	case "search_term":
		dst = &in.searchTerm
	case "form_id":
		dst = &in.formID
	case "form_name":
		dst = &in.formName
	case "form_destination":
		dst = &in.formDest
	case "transaction_id":
		dst = &in.transactionID
	case "currency":
		dst = &in.currency
	default:
		return false
	}
	if *dst == "" {
		*dst = text
	}
	return true
}

// addProp adds an unmapped param within limit (max_properties); what
// does not fit is counted. finishProps makes room for the mapped ones.
func (in *eventIn) addProp(key string, v webevent.Value, limit int) {
	if !validPropertyKey(key) || len(in.props) >= limit {
		in.dropped++
		return
	}
	if slices.ContainsFunc(in.props, func(p webevent.Prop) bool { return p.Key == key }) {
		// The first of a repeated param wins, as for the mapped ones.
		return
	}
	in.props = append(in.props, webevent.Prop{Key: key, Value: v})
}

// event makes one of our events of in.
func (d *Decoder) event(b *webevent.Builder, in *eventIn, fallbackPage string) (webevent.Event, *Refusal) {
	f := webevent.Fields{Title: in.title, Referrer: in.referrer, URL: in.page}
	if f.URL == "" {
		f.URL = fallbackPage
	}
	if in.sessionID != "" && !webevent.ValidID(in.sessionID) {
		return webevent.Event{}, refuseEvent(in.index, webevent.ReasonInvalidID, ".params.session_id", CodeValueInvalid, "session_id must be 1-128 characters of [A-Za-z0-9._:-]")
	}
	// On the stack: finishProps copies what is kept.
	var buf [12]webevent.Prop
	mapped := buf[:0]
	switch in.name {
	case NamePageView:
		f.Name = eventmodel.EventPageView
	case NameUserEngagement:
		f.Name = eventmodel.EventEngagement
	case NameFormSubmit, NameGenerateLead:
		f.Name = eventmodel.EventFormSubmit
	case NameSearch, NameViewSearchResults:
		if strings.TrimSpace(in.searchTerm) != "" {
			f.Name = eventmodel.EventSiteSearch
		}
	case NameClick:
		if in.outbound && in.link != "" {
			f.Name = eventmodel.EventOutboundClick
		}
	case NameFileDownload:
		if in.link != "" {
			f.Name = eventmodel.EventFileDownload
		}
	case NamePurchase:
		f.Name, f.CustomName = eventmodel.EventCustom, NamePurchase
		if in.transactionID != "" {
			mapped = append(mapped, webevent.Prop{Key: PropOrderID, Value: webevent.StringValue(b.Truncate(in.transactionID))})
			in.transactionID = ""
		}
		if in.hasValue {
			mapped = append(mapped, webevent.Prop{Key: PropRevenue, Value: webevent.FloatValue(in.value)})
			in.hasValue = false
		}
	}
	if f.Name == "" {
		f.Name, f.CustomName = eventmodel.EventCustom, in.name
	}
	ev, rej := b.Event(&f, in.at)
	if rej != nil {
		path := ""
		switch rej.Reason {
		case webevent.ReasonMissingURL, webevent.ReasonInvalidURL, webevent.ReasonURLTooLong, webevent.ReasonOriginNotAllowed:
			path = ".params.page_location"
		}
		return webevent.Event{}, refusal(in.index, rej, eventPath(in.index, path))
	}
	ev.SessionID = in.sessionID
	switch ev.Name {
	case eventmodel.EventEngagement:
		if in.hasEngaged {
			if rej := webevent.SetEngagement(&ev, &in.engaged, nil); rej != nil {
				return webevent.Event{}, refusal(in.index, rej, eventPath(in.index, ".params.engagement_time_msec"))
			}
		}
	case eventmodel.EventOutboundClick, eventmodel.EventFileDownload:
		if b.SetLink(&ev, ev.Name, in.link) != nil {
			// A link that is no absolute http(s) URL (mailto:, relative):
			// the event stays a custom one with the link as a property.
			ev.Name, ev.CustomName = eventmodel.EventCustom, in.name
			mapped = append(mapped, webevent.Prop{Key: "link_url", Value: webevent.StringValue(b.Truncate(in.link))})
		}
		in.link = ""
	case eventmodel.EventSiteSearch:
		ev.Detail.SearchTerm = b.Truncate(in.searchTerm)
		in.searchTerm = ""
	case eventmodel.EventFormSubmit:
		ev.Detail.FormID, ev.Detail.FormName = b.Truncate(in.formID), b.Truncate(in.formName)
		ev.Detail.FormAction = b.Truncate(in.formDest)
		in.formID, in.formName, in.formDest = "", "", ""
	}
	if in.name == NameGenerateLead || in.name == NameViewSearchResults {
		mapped = append(mapped, webevent.Prop{Key: PropGA4Name, Value: webevent.StringValue(in.name)})
	}
	if in.hasEngaged && ev.Name != eventmodel.EventEngagement {
		mapped = append(mapped, webevent.Prop{Key: "engagement_time_msec", Value: number(in.engaged)})
	}
	if rej := setCampaign(&ev, &in.campaign, b); rej != nil {
		return webevent.Event{}, refusal(in.index, rej, eventPath(in.index, ".params"))
	}
	mapped, r := leftovers(b, in, mapped)
	if r != nil {
		return webevent.Event{}, r
	}
	ev.Props = d.finishProps(in, mapped)
	return ev, nil
}

// leftovers adds the mapped params the event's type had no field for
// (a search term on a custom event, a value outside a purchase, ...) as
// properties: nothing sent is lost.
func leftovers(b *webevent.Builder, in *eventIn, mapped []webevent.Prop) ([]webevent.Prop, *Refusal) {
	for _, p := range [...]struct{ key, v string }{
		{"link_url", in.link}, {"search_term", in.searchTerm}, {"form_id", in.formID},
		{"form_name", in.formName}, {"form_destination", in.formDest}, {"transaction_id", in.transactionID},
	} {
		if p.v != "" {
			mapped = append(mapped, webevent.Prop{Key: p.key, Value: webevent.StringValue(b.Truncate(p.v))})
		}
	}
	if in.hasValue {
		mapped = append(mapped, webevent.Prop{Key: "value", Value: number(in.value)})
	}
	if in.currency != "" {
		c := strings.ToUpper(strings.TrimSpace(in.currency))
		if !isCurrency(c) {
			return nil, refuseEvent(in.index, webevent.ReasonInvalidField, ".params.currency", CodeValueInvalid, "currency must be an ISO 4217 code such as EUR")
		}
		mapped = append(mapped, webevent.Prop{Key: PropCurrency, Value: webevent.StringValue(c)})
	}
	if in.items != nil || in.itemCount > 0 {
		mapped = append(mapped, webevent.Prop{Key: PropItems, Value: webevent.IntValue(int64(in.itemCount))})
	}
	if in.items != nil {
		mapped = append(mapped, webevent.Prop{Key: PropItemsJSON, Value: webevent.StringValue(b.Truncate(string(in.items)))})
	}
	return mapped, nil
}

// finishProps puts the mapped properties first (they win over params of
// the same name and are kept within max_properties), then the params, and
// the count of what was dropped last; sorted by key, as the tag's are.
func (d *Decoder) finishProps(in *eventIn, mapped []webevent.Prop) []webevent.Prop {
	limit := d.Events.Limits.MaxProperties
	dropped := in.dropped
	if len(mapped) == 0 && len(in.props) == 0 && dropped == 0 {
		return nil
	}
	props := make([]webevent.Prop, 0, len(mapped)+len(in.props)+1)
	props = append(props, mapped...)
	for _, p := range in.props {
		if !slices.ContainsFunc(mapped, func(q webevent.Prop) bool { return q.Key == p.Key }) {
			props = append(props, p)
		}
	}
	if dropped > 0 || len(props) > limit {
		if keep := max(limit-1, 0); len(props) > keep {
			dropped += len(props) - keep
			props = props[:keep]
		}
		props = append(props, webevent.Prop{Key: PropDroppedParams, Value: webevent.IntValue(int64(dropped))})
	}
	slices.SortFunc(props, func(a, b webevent.Prop) int { return strings.Compare(a.Key, b.Key) })
	return props
}

// setCampaign applies GA4's campaign params, which name the campaign
// explicitly and so win over the page URL's utm_* parameters.
func setCampaign(ev *webevent.Event, c *campaignIn, b *webevent.Builder) *webevent.Rejection {
	// One call per field rather than a table of pointers into ev, which
	// would move every event to the heap.
	p := &ev.Campaign
	p.Source = pick(b, c.source, p.Source)
	p.Medium = pick(b, c.medium, p.Medium)
	p.Name = pick(b, c.name, p.Name)
	p.Term = pick(b, c.term, p.Term)
	p.Content = pick(b, c.content, p.Content)
	p.ID = pick(b, c.id, p.ID)
	if v := strings.TrimSpace(c.gclid); v != "" {
		if !webevent.ValidID(v) {
			return webevent.Reject(webevent.ReasonInvalidField, "gclid must be 1-128 characters of [A-Za-z0-9._:-]")
		}
		p.ClickIDType, p.ClickIDValue = "gclid", v
	}
	return nil
}

// pick is the param v, truncated, when sent; else old.
func pick(b *webevent.Builder, v, old string) string {
	if v = b.Truncate(v); v != "" {
		return v
	}
	return old
}

// checkName applies Google's rules for event names: 1-40 characters of
// [A-Za-z0-9_] starting with a letter, none of the reserved ones.
func checkName(index int, name string) *Refusal {
	if name == "" {
		return refuseEvent(index, webevent.ReasonMissingName, ".name", CodeValueRequired, "the event name is missing")
	}
	if len(name) > maxNameLength {
		return refuseEvent(index, webevent.ReasonInvalidEvent, ".name", CodeValueOutOfBounds, "the event name is longer than 40 characters")
	}
	if !isLetter(name[0]) {
		return refuseEvent(index, webevent.ReasonInvalidEvent, ".name", CodeNameInvalid, "an event name must start with a letter")
	}
	for i := range len(name) {
		if c := name[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '_' {
			return refuseEvent(index, webevent.ReasonInvalidEvent, ".name", CodeNameInvalid, "an event name is letters, digits and underscores")
		}
	}
	if reserved(name) {
		return refuseEvent(index, webevent.ReasonInvalidEvent, ".name", CodeNameReserved, "the event name is reserved by Google Analytics")
	}
	return nil
}

// reserved reports Google's reserved event names and prefixes, which
// only Google's own SDKs may send.
func reserved(name string) bool {
	for _, p := range [...]string{"firebase_", "ga_", "google_", "gtag."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	switch name {
	case "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward",
		"adunit_exposure", "app_background", "app_clear_data", "app_exception", "app_remove",
		"app_store_refund", "app_store_subscription_cancel", "app_store_subscription_convert",
		"app_store_subscription_renew", "app_uninstall", "app_update", "app_upgrade",
		"dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open", "error",
		"first_open", "first_visit", "in_app_purchase", "notification_dismiss",
		"notification_foreground", "notification_open", "notification_receive", "notification_send",
		"os_update", "screen_view", "session_start":
		return true
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// number keeps a whole number as an integer, anything else as a float.
func number(f float64) webevent.Value {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return webevent.IntValue(int64(f))
	}
	return webevent.FloatValue(f)
}

// parseNumber parses a finite number; false otherwise.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// eventTime reads timestamp_micros: an imported event's time, kept as
// sent, up to 72 hours back as Google accepts.
//
// An imported request's (req.Import set) is kept within the import's rule
// instead: any age the site's import max_age allows.
func eventTime(micros float64, req webevent.Request, index int) (eventtime.Time, *Refusal) {
	const field = ".timestamp_micros"
	ms := micros / 1000
	if req.Import != nil {
		at, rej := req.Import.Time("timestamp_micros", "microseconds since the epoch", &ms)
		if rej != nil {
			return eventtime.Time{}, refuseEvent(index, rej.Reason, field, CodeValueOutOfBounds, rej.Message)
		}
		return at, nil
	}
	received := req.Received
	at, correction := eventtime.Import(received, &ms, maxBackdate, maxSkew)
	switch correction {
	case "":
		return at, nil
	case eventmodel.TimeCorrectionInFuture:
		return eventtime.Time{}, refuseEvent(index, webevent.ReasonTimeInFuture, field, CodeValueOutOfBounds, "timestamp_micros is in the future")
	}
	return eventtime.Time{}, refuseEvent(index, webevent.ReasonTimeTooOld, field, CodeValueOutOfBounds, "timestamp_micros is more than 72 hours ago")
}

func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// validPropertyKey is the tag's rule for property keys: 1-64 characters
// of [A-Za-z0-9_-] (no dots: Elasticsearch would read them as paths).
func validPropertyKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := range len(k) {
		c := k[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
