package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"
)

// Values of the beacon event "type" field.
const (
	BeaconTypePageView      = "page_view"
	BeaconTypeCustom        = "custom"
	BeaconTypeEngagement    = "engagement"
	BeaconTypeOutboundClick = "outbound_click"
	BeaconTypeFileDownload  = "file_download"
	BeaconTypeFormSubmit    = "form_submit"
	BeaconTypeSiteSearch    = "site_search"
	BeaconTypeIdentify      = "identify"
	BeaconTypeConsent       = "consent"
)

// beaconTypes maps the beacon "type" values to event names.
var beaconTypes = map[string]string{
	"":                      eventmodel.EventPageView,
	BeaconTypePageView:      eventmodel.EventPageView,
	BeaconTypeCustom:        eventmodel.EventCustom,
	BeaconTypeEngagement:    eventmodel.EventEngagement,
	BeaconTypeOutboundClick: eventmodel.EventOutboundClick,
	BeaconTypeFileDownload:  eventmodel.EventFileDownload,
	BeaconTypeFormSubmit:    eventmodel.EventFormSubmit,
	BeaconTypeSiteSearch:    eventmodel.EventSiteSearch,
	BeaconTypeIdentify:      eventmodel.EventIdentify,
	BeaconTypeConsent:       eventmodel.EventConsentUpdate,
}

// Bounds of the numeric detail fields.
const (
	maxEngagedMs  = int64(24 * time.Hour / time.Millisecond)
	maxFieldCount = 10000
)

// Beacon is the outcome of decoding one beacon body.
type Beacon struct {
	Site     string
	Events   []Event
	Rejected []EventRejection
}

// EventRejection is a rejected event and its index in the beacon's events array.
type EventRejection struct {
	Index int
	Rejection
}

// beaconHeader is the beacon body without its events; beaconHeader.set
// maps the JSON names. Unknown fields are ignored so that newer tags can
// talk to older collectors.
type beaconHeader struct {
	Site       rawString
	Key        rawString
	VisitorID  rawString
	SessionID  rawString
	UserID     rawString
	Referral   *referralWire
	Cookieless bool
	Consent    *Consent
	GPC        bool
	TCF        *TCF
	Automation bool
	SentAt     number // client clock, ms since the epoch
}

type referralWire struct {
	Partner string `json:"partner"`
	ClickID string `json:"click_id"`
}

// eventWire is one element of the beacon's events array; eventWire.set maps
// the JSON names. Events are decoded one by one so that a malformed event
// costs only itself.
type eventWire struct {
	ID       rawString
	Type     eventType
	TS       number // client clock, ms since the epoch
	URL      rawString
	Referrer rawString
	Title    rawString
	Name     rawString
	Props    rawObject

	PageViewID  rawString
	EngagedMs   number
	ScrollDepth number
	LinkURL     rawString
	FormID      rawString
	FormName    rawString
	FormAction  rawString
	FieldCount  number
	Sensitive   bool
	SearchTerm  rawString
}

// DecodeBeacon decodes one beacon body. A non-nil Rejection rejects the whole
// beacon; otherwise each event is either in Events or in Rejected.
//
// The body is validated by encoding/json (json.Valid) and then walked
// directly, field by field: reflection-based decoding was 40 % of the
// per-event cost. Field names match exactly (encoding/json would also
// accept "Site" for "site").
func (d *Decoder) DecodeBeacon(body []byte, req Request) (Beacon, *Rejection) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return Beacon{}, reject(ReasonInvalidJSON, "the body is not a valid beacon JSON object: "+invalidJSON(body))
	}
	t := newText(body)
	var h beaconHeader
	var events []byte
	m := newMembers(t, body)
	for key, value, ok := m.next(); ok; key, value, ok = m.next() {
		if err := h.set(key, value, &events); err != nil {
			return Beacon{}, reject(ReasonInvalidJSON, "the body is not a valid beacon JSON object: field "+key+" has the wrong JSON type")
		}
	}
	raws := arrayElements(events, d.Limits.MaxEventsPerBeacon+1)
	return d.beacon(t, &h, len(raws), req, func(c *common, i int) (Event, *Rejection) {
		raw := raws[i]
		if raw[0] != '{' {
			return Event{}, reject(ReasonInvalidEvent, "the event is not a JSON object")
		}
		var w eventWire
		em := newMembers(t, raw)
		for key, value, ok := em.next(); ok; key, value, ok = em.next() {
			if err := w.set(key, value); err != nil {
				return Event{}, reject(ReasonInvalidEvent, "the event is not a valid event JSON object: field "+key+" has the wrong JSON type")
			}
		}
		return d.beaconEvent(t, c, &w, eventtime.Beacon.Decide(c.req.Received, h.SentAt.float(), w.TS.float()))
	})
}

// set stores one member of the beacon object; events receives the raw
// events array.
func (h *beaconHeader) set(key string, value []byte, events *[]byte) error {
	switch key {
	case "site":
		return h.Site.decode(value)
	case "key":
		return h.Key.decode(value)
	case "visitor_id":
		return h.VisitorID.decode(value)
	case "session_id":
		return h.SessionID.decode(value)
	case "user_id":
		return h.UserID.decode(value)
	case "sent_at":
		return h.SentAt.decode(value)
	case "cookieless":
		return setBool(&h.Cookieless, value)
	case "gpc":
		return setBool(&h.GPC, value)
	case "automation":
		return setBool(&h.Automation, value)
	case "referral":
		return unmarshalOptional(value, &h.Referral)
	case "consent":
		return unmarshalOptional(value, &h.Consent)
	case "tcf":
		return unmarshalOptional(value, &h.TCF)
	case "events":
		switch value[0] {
		case '[':
			*events = value
		case 'n':
			*events = nil
		default:
			return errWrongType
		}
	}
	return nil // unknown fields: newer tags may send more
}

// set stores one member of an event object.
func (w *eventWire) set(key string, value []byte) error {
	switch key {
	case "id":
		return w.ID.decode(value)
	case "type":
		return w.Type.decode(value)
	case "ts":
		return w.TS.decode(value)
	case "url":
		return w.URL.decode(value)
	case "referrer":
		return w.Referrer.decode(value)
	case "title":
		return w.Title.decode(value)
	case "name":
		return w.Name.decode(value)
	case "props":
		return w.Props.decode(value)
	case "page_view_id":
		return w.PageViewID.decode(value)
	case "engaged_ms":
		return w.EngagedMs.decode(value)
	case "scroll_depth":
		return w.ScrollDepth.decode(value)
	case "link_url":
		return w.LinkURL.decode(value)
	case "form_id":
		return w.FormID.decode(value)
	case "form_name":
		return w.FormName.decode(value)
	case "form_action":
		return w.FormAction.decode(value)
	case "field_count":
		return w.FieldCount.decode(value)
	case "sensitive":
		return setBool(&w.Sensitive, value)
	case "search_term":
		return w.SearchTerm.decode(value)
	}
	return nil
}

func setBool(dst *bool, value []byte) error {
	switch string(value) {
	case "true":
		*dst = true
	case "false", "null":
		*dst = false
	default:
		return errWrongType
	}
	return nil
}

// unmarshalOptional decodes a rarely sent object field (null = absent).
func unmarshalOptional[T any](value []byte, dst **T) error {
	if value[0] == 'n' {
		*dst = nil
		return nil
	}
	if value[0] != '{' {
		return errWrongType
	}
	v := new(T)
	if err := json.Unmarshal(value, v); err != nil {
		return err
	}
	*dst = v
	return nil
}

// beacon checks the beacon-level fields and builds its n events with event.
func (d *Decoder) beacon(t text, w *beaconHeader, n int, req Request, event func(*common, int) (Event, *Rejection)) (Beacon, *Rejection) {
	c := common{site: t.str(w.Site), key: t.str(w.Key), visitorID: t.str(w.VisitorID), sessionID: t.str(w.SessionID), channel: eventmodel.ChannelBeacon, req: req}
	if rej := d.checkCommon(&c); rej != nil {
		return Beacon{}, rej
	}
	shared, rej := d.beaconShared(t, w, req)
	if rej != nil {
		return Beacon{}, rej
	}
	c.shared = shared
	if n == 0 {
		return Beacon{}, reject(ReasonNoEvents, "the beacon has no events")
	}
	if n > d.Limits.MaxEventsPerBeacon {
		return Beacon{}, reject(ReasonTooManyEvents, "the beacon has more events than max_events_per_beacon")
	}
	c.events = n
	b := Beacon{Site: c.site, Events: make([]Event, 0, n)}
	for i := range n {
		ev, rej := event(&c, i)
		if rej != nil {
			b.Rejected = append(b.Rejected, EventRejection{Index: i, Rejection: *rej})
			continue
		}
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

// beaconEvent builds one event of the beacon's events array (or one
// imported line) at the time its channel's rule decided.
func (d *Decoder) beaconEvent(t text, c *common, w *eventWire, at eventtime.Time) (Event, *Rejection) {
	eventType := w.Type.name
	if !w.Type.set {
		eventType = eventmodel.EventPageView // the default type
	}
	if eventType == "" {
		return Event{}, reject(ReasonInvalidType, "type must be one of page_view, custom, engagement, outbound_click, file_download, form_submit, site_search, identify, consent")
	}
	ev := Event{Time: at}
	f := fields{id: t.str(w.ID), eventType: eventType, url: t.str(w.URL), referrer: t.str(w.Referrer), title: t.str(w.Title), name: t.str(w.Name)}
	if rej := d.build(c, &f, &ev); rej != nil {
		return Event{}, rej
	}
	if rej := d.beaconDetail(t, c, w, &ev); rej != nil {
		return Event{}, rej
	}
	props, rej := d.beaconProps(t, w.Props, c)
	if rej != nil {
		return Event{}, rej
	}
	ev.Props = props
	return ev, nil
}

// beaconShared validates the request-level identity and consent fields.
func (d *Decoder) beaconShared(t text, w *beaconHeader, req Request) (*Shared, *Rejection) {
	s := &Shared{
		Cookieless: w.Cookieless,
		GPC:        w.GPC || req.GPC,
		DNT:        req.DNT,
		Automation: w.Automation,
	}
	if userID := t.str(w.UserID); userID != "" {
		s.UserID = d.truncate(strings.TrimSpace(userID))
	}
	if w.Referral != nil && w.Referral.Partner != "" {
		// A referral by the partner's domain has no click id.
		if !ValidID(w.Referral.Partner) || w.Referral.ClickID != "" && !ValidID(w.Referral.ClickID) {
			return nil, reject(ReasonInvalidField, "referral partner and click_id must be 1-128 characters of [A-Za-z0-9._:-] (click_id may be empty)")
		}
		s.ReferralPartner, s.ReferralClickID = w.Referral.Partner, w.Referral.ClickID
	}
	if w.Consent != nil {
		s.Consent = Consent{
			Analytics:       consentValue(w.Consent.Analytics),
			Marketing:       consentValue(w.Consent.Marketing),
			Personalization: consentValue(w.Consent.Personalization),
		}
	}
	if w.TCF != nil && (w.TCF.GDPRApplies != nil || w.TCF.TCString != "") {
		// A malformed string never rejects the beacon (see newTCF).
		s.TCF = newTCF(w.TCF.GDPRApplies, false, w.TCF.TCString)
	}
	return s, nil
}

// beaconDetail validates the fields of the event types beyond page_view
// and custom. Absent integers are -1.
func (d *Decoder) beaconDetail(t text, c *common, w *eventWire, ev *Event) *Rejection {
	det := Detail{EngagedMs: -1, ScrollDepth: -1, FieldCount: -1}
	if pv := t.str(w.PageViewID); pv != "" {
		if !ValidID(pv) {
			return reject(ReasonInvalidID, "page_view_id must be 1-128 characters of [A-Za-z0-9._:-]")
		}
		det.PageViewID = pv
	}
	switch ev.Name {
	case eventmodel.EventEngagement:
		ms, ok := wholeNumber(w.EngagedMs.float(), 0, maxEngagedMs)
		if !ok {
			return reject(ReasonInvalidField, "engaged_ms must be a whole number of milliseconds between 0 and 86400000")
		}
		det.EngagedMs = ms
		if w.ScrollDepth.set {
			depth, ok := wholeNumber(w.ScrollDepth.float(), 0, 100)
			if !ok {
				return reject(ReasonInvalidField, "scroll_depth must be a whole percentage between 0 and 100")
			}
			det.ScrollDepth = depth
		}
	case eventmodel.EventOutboundClick, eventmodel.EventFileDownload:
		linkURL := t.str(w.LinkURL)
		if linkURL == "" || len(linkURL) > d.Limits.MaxStringLength {
			return reject(ReasonInvalidField, "link_url is missing or longer than max_string_length")
		}
		link, err := pageurl.Parse(linkURL)
		if err != nil {
			return reject(ReasonInvalidField, "link_url must be an absolute http(s) URL")
		}
		det.Link, det.HasLink = link, true
	case eventmodel.EventFormSubmit:
		det.FormID = d.truncate(strings.TrimSpace(t.str(w.FormID)))
		det.FormName = d.truncate(strings.TrimSpace(t.str(w.FormName)))
		det.FormAction = formActionPath(d.truncate(t.str(w.FormAction)))
		det.Sensitive = w.Sensitive
		// A sensitive form says nothing about its fields, not even how many.
		if w.FieldCount.set && !w.Sensitive {
			n, ok := wholeNumber(w.FieldCount.float(), 0, maxFieldCount)
			if !ok {
				return reject(ReasonInvalidField, "field_count must be a whole number between 0 and 10000")
			}
			det.FieldCount = n
		}
	case eventmodel.EventSiteSearch:
		det.SearchTerm = d.truncate(strings.TrimSpace(t.str(w.SearchTerm)))
		if det.SearchTerm == "" {
			return reject(ReasonInvalidField, "a site_search event needs a search_term")
		}
	case eventmodel.EventIdentify:
		if c.shared == nil || c.shared.UserID == "" {
			return reject(ReasonInvalidField, "an identify event needs the beacon's user_id")
		}
	case eventmodel.EventConsentUpdate:
		if c.shared == nil || c.shared.Consent == (Consent{}) {
			return reject(ReasonInvalidField, "a consent event needs the beacon's consent object")
		}
	}
	ev.Detail = det
	ev.Shared = c.shared
	return nil
}

// wholeNumber accepts a JSON number that is a whole number in [lo, hi].
func wholeNumber(v *float64, lo, hi int64) (int64, bool) {
	if v == nil || *v != float64(int64(*v)) {
		return 0, false
	}
	n := int64(*v)
	return n, lo <= n && n <= hi
}

// formActionPath keeps only the path of a form's action: its query string
// is exactly where a GET form would put the field values.
func formActionPath(action string) string {
	if i := strings.IndexAny(action, "?#"); i >= 0 {
		action = action[:i]
	}
	if u, err := pageurl.Parse(action); err == nil {
		return u.Path
	}
	return strings.TrimSpace(action)
}

// beaconProps converts the props object (raw JSON bytes, already validated
// by encoding/json). Keys are sorted so that the same beacon always produces
// the same record; of a repeated key the last value counts, as in
// encoding/json.
func (d *Decoder) beaconProps(t text, raw rawObject, c *common) ([]Prop, *Rejection) {
	if len(raw) == 0 {
		return nil, nil
	}
	// The props of all events of a beacon share one slab: one allocation
	// per beacon instead of one per event. An event's props are a full
	// slice expression of it, so later appends never touch them.
	if c.propSlab == nil {
		c.propSlab = make([]Prop, 0, c.events*min(d.Limits.MaxProperties, 4))
	}
	start := len(c.propSlab)
	m := newMembers(t, raw)
	for key, value, ok := m.next(); ok; key, value, ok = m.next() {
		if len(c.propSlab)-start == d.Limits.MaxProperties {
			c.propSlab = c.propSlab[:start]
			return nil, reject(ReasonTooManyProperties, "more custom properties than max_properties")
		}
		if !validPropertyKey(key) {
			c.propSlab = c.propSlab[:start]
			return nil, reject(ReasonInvalidProperty, "property keys must be 1-64 characters of [A-Za-z0-9_-]")
		}
		v, ok := d.scalar(t, value)
		if !ok {
			c.propSlab = c.propSlab[:start]
			return nil, reject(ReasonInvalidProperty, "property "+key+" must be a string, number or boolean")
		}
		c.propSlab = append(c.propSlab, Prop{Key: key, Value: v})
	}
	props := c.propSlab[start:]
	slices.SortStableFunc(props, func(a, b Prop) int { return strings.Compare(a.Key, b.Key) })
	out := props[:0]
	for i, p := range props {
		if i+1 < len(props) && props[i+1].Key == p.Key {
			continue // a later value of the same key wins
		}
		if !p.Value.IsNull() { // null means "not set"
			out = append(out, p)
		}
	}
	end := start + len(out)
	c.propSlab = c.propSlab[:end]
	if len(out) == 0 {
		return nil, nil
	}
	return c.propSlab[start:end:end], nil
}

// scalar converts a JSON scalar: integers that fit int64 stay integers so
// that counts aggregate exactly; other numbers become float64.
func (d *Decoder) scalar(t text, raw []byte) (Value, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Value{}, false
	}
	switch raw[0] {
	case '"':
		if len(raw) < 2 || raw[len(raw)-1] != '"' {
			return Value{}, false
		}
		return StringValue(d.truncate(t.str(raw))), true
	case 't':
		return BoolValue(true), true
	case 'f':
		return BoolValue(false), true
	case 'n':
		return Value{}, true
	case '{', '[':
		return Value{}, false
	}
	// ParseInt's error for "19.99" allocates; check the form first.
	if bytes.IndexAny(raw, ".eE") < 0 {
		if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return IntValue(i), true
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return Value{}, false
	}
	return FloatValue(f), true
}

// invalidJSON says why body is not a JSON object, without quoting it, so
// that messages never echo sender data.
func invalidJSON(body []byte) string {
	if len(body) == 0 || body[0] != '{' {
		return "not a JSON object"
	}
	var syntaxErr *json.SyntaxError
	if err := json.Unmarshal(body, &struct{}{}); errors.As(err, &syntaxErr) {
		return "syntax error at offset " + strconv.FormatInt(syntaxErr.Offset, 10)
	}
	return "not valid JSON"
}
