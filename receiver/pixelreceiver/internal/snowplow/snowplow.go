// Package snowplow decodes Snowplow's tracker protocol, as Snowplow's
// trackers send it to a collector (GET /i with the event in the query,
// POST /com.snowplowanalytics.snowplow/tp2 with a payload_data batch),
// into events of the webjourney event model. docs/migrate.md has the
// table of what maps to what.
//
// Each event of a batch is decoded on its own: a bad member is rejected
// with its index and the others are kept.
package snowplow // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// Schemas of Snowplow's standard events and entities (Iglu Central,
// vendor com.snowplowanalytics.snowplow); versions are not compared, so
// that a tracker on a newer minor version still maps.
const (
	vendor            = "iglu:com.snowplowanalytics.snowplow/"
	schemaPayloadData = vendor + "payload_data/jsonschema/1-"
	nameLinkClick     = "link_click"
	nameSubmitForm    = "submit_form"
	nameConsentGrant  = "consent_granted"
	nameConsentWithd  = "consent_withdrawn"
	nameConsentPrefs  = "consent_preferences"
	nameWebPage       = "web_page"
	nameGDPR          = "gdpr"
	nameConsentDoc    = "consent_document"
)

// Event names of the protocol's own event types (e).
const (
	EventPageView        = "pv"
	EventPagePing        = "pp"
	EventStructured      = "se"
	EventSelfDescribing  = "ue"
	EventTransaction     = "tr"
	EventTransactionItem = "ti"
)

// Custom event names of the protocol's transaction events; their values
// are properties, revenue and currency among them, which the attribution
// processor's outcome rules read as for the tag's purchase events.
const (
	CustomTransaction     = "transaction"
	CustomTransactionItem = "transaction_item"
	// CustomLinkClick is a link_click to a page of the same site that is
	// no download: neither outbound nor a file.
	CustomLinkClick = "link_click"
)

// Decoder decodes Snowplow events. It is safe for concurrent use.
type Decoder struct {
	// Events holds the sites and limits every event is checked against.
	Events *webevent.Decoder
	// AppIDs maps a Snowplow app id (aid) to the site id it reports to.
	AppIDs map[string]string
	// PagePing is the engaged time one page ping stands for: the
	// tracker's heartbeat, which the pings themselves do not carry.
	PagePing time.Duration
}

// Hints are the request's facts beyond its events.
type Hints struct {
	// Anonymous is the SP-Anonymous header: the tracker's anonymous
	// tracking with server anonymisation. Its events are cookieless.
	Anonymous bool
	// Key is the write key from the request URL's k parameter.
	Key string
}

// DecodeQuery decodes the query of a GET /i: one event.
func (d *Decoder) DecodeQuery(rawQuery string, req webevent.Request, h Hints) (webevent.Event, *webevent.Rejection) {
	var f fields
	if !f.setQuery(rawQuery) {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidRequest, "the query is not valid URL encoding")
	}
	var s state
	return d.decode(&s, &f, req, h)
}

// Batch is the outcome of one POST: the accepted events, in order, and
// the rejected members with their index in data.
type Batch struct {
	Events   []webevent.Event
	Rejected []webevent.EventRejection
}

// DecodeBody decodes a POST body, a payload_data envelope. A rejection is
// of the whole body; a member's is in Batch.Rejected.
func (d *Decoder) DecodeBody(body []byte, req webevent.Request, h Hints) (Batch, *webevent.Rejection) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return Batch{}, webevent.Reject(webevent.ReasonInvalidJSON, "the body is not a JSON object")
	}
	jb := webevent.NewJSONBody(body)
	env, ok := readSelfDescribing(jb, body)
	if !ok || !strings.HasPrefix(env.schema, schemaPayloadData) {
		return Batch{}, webevent.Reject(webevent.ReasonInvalidRequest, "the body must be a self-describing JSON of schema "+schemaPayloadData+"x-x")
	}
	if env.data[0] != '[' {
		return Batch{}, webevent.Reject(webevent.ReasonInvalidRequest, "data must be an array of events")
	}
	members := newArray(env.data)
	n := members.count()
	if n == 0 {
		return Batch{}, webevent.Reject(webevent.ReasonNoEvents, "data holds no events")
	}
	if n > d.Events.Limits.MaxEventsPerBeacon {
		return Batch{}, webevent.Reject(webevent.ReasonTooManyEvents, "more events than max_events_per_beacon")
	}
	var out Batch
	out.Events = make([]webevent.Event, 0, n)
	s := state{body: jb, events: n}
	for i := 0; ; i++ {
		raw, ok := members.next()
		if !ok {
			break
		}
		ev, rej := d.member(&s, raw, req, h)
		if rej != nil {
			out.Rejected = append(out.Rejected, webevent.EventRejection{Index: i, Rejection: *rej})
			continue
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}

func (d *Decoder) member(s *state, raw []byte, req webevent.Request, h Hints) (webevent.Event, *webevent.Rejection) {
	if raw[0] != '{' {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidEvent, "an event must be a JSON object")
	}
	var f fields
	m := s.body.Members(raw)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		switch {
		case key == "co" || key == "ue_pr":
			// The protocol's values are strings; a sender that puts a
			// context or event in as JSON rather than as a string holding
			// it means the same.
			if value[0] == '"' || value[0] == '{' {
				f.setJSON(key, value)
			}
		case value[0] == '"':
			f.set(key, s.body.Str(value))
		case value[0] == '{' || value[0] == '[':
		case value[0] == 'n': // null: absent
		default: // numbers and booleans, as their text
			f.set(key, string(value))
		}
	}
	return d.decode(s, &f, req, h)
}

// state is what the events of one request share: a builder per site (a
// batch names its site in every member), so that the events of a site
// share one webevent.Shared, as a beacon's do.
type state struct {
	body     webevent.JSONBody
	events   int
	builders []siteBuilder
}

// maxSitesPerBatch bounds the sites (and write keys) one batch may name.
const maxSitesPerBatch = 4

type siteBuilder struct {
	site, key string
	b         webevent.Builder
}

// builder returns the request's builder of site, starting it on first use.
func (s *state) builder(d *Decoder, site, key string, req webevent.Request, h Hints) (*webevent.Builder, *webevent.Rejection) {
	for i := range s.builders {
		if s.builders[i].site == site && s.builders[i].key == key {
			return &s.builders[i].b, nil
		}
	}
	if len(s.builders) == maxSitesPerBatch {
		// Every member may name another site: a batch that does is no
		// browser's, and must not make the builders grow with it.
		return nil, webevent.Reject(webevent.ReasonUnknownSite, "a batch may name at most 4 sites")
	}
	s.builders = append(s.builders, siteBuilder{site: site, key: key})
	sb := &s.builders[len(s.builders)-1]
	if rej := sb.b.Start(d.Events, s.body, eventmodel.ChannelSnowplow, webevent.Identity{Site: site, Key: key}, req, s.events); rej != nil {
		s.builders = s.builders[:len(s.builders)-1]
		return nil, rej
	}
	sb.b.Shared().Cookieless = h.Anonymous
	return &sb.b, nil
}

// decode makes one event of f.
func (d *Decoder) decode(s *state, f *fields, req webevent.Request, h Hints) (webevent.Event, *webevent.Rejection) {
	if f.aid == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonUnknownSite, "the app id (aid) is missing")
	}
	site, ok := d.AppIDs[f.aid]
	if !ok {
		return webevent.Event{}, webevent.Reject(webevent.ReasonUnknownSite, "the app id (aid) is not configured for any site of this collector")
	}
	key := h.Key
	if key == "" {
		key = f.k
	}
	b, rej := s.builder(d, site, key, req, h)
	if rej != nil {
		return webevent.Event{}, rej
	}
	var ctx contexts
	if co, body := doc(f.coJSON, f.coInBody, f.co, &s.body); co != nil || f.cx != "" {
		if ctx, rej = readContexts(co, body, f.cx); rej != nil {
			return webevent.Event{}, rej
		}
	}
	ev, rej := d.event(s, b, f, &ctx, req)
	if rej != nil {
		return webevent.Event{}, rej
	}
	if rej := identify(b, &ev, f); rej != nil {
		return webevent.Event{}, rej
	}
	return ev, nil
}

// event makes the event of type e with its own fields.
func (d *Decoder) event(s *state, b *webevent.Builder, f *fields, ctx *contexts, req webevent.Request) (webevent.Event, *webevent.Rejection) {
	var at eventtime.Time
	if req.Import != nil {
		var rej *webevent.Rejection
		if at, rej = importTime(f, req.Import); rej != nil {
			return webevent.Event{}, rej
		}
	} else {
		at = d.time(f, req.Received)
	}
	fl := webevent.Fields{ID: f.eid, URL: f.url, Referrer: f.refr, Title: f.page}
	if fl.URL == "" {
		// As Snowplow's enrich does: without url, the page is the one
		// that sent the request (a plain <img> pixel).
		fl.URL = req.Referer
	}
	var p props
	p.init(b, d.Events.Limits.MaxProperties)
	var ev webevent.Event
	var rej *webevent.Rejection
	switch f.e {
	case EventPageView:
		fl.Name = eventmodel.EventPageView
		if ctx.webPageID != "" {
			// The page view takes its page's id, which its pings carry as
			// their page view id (see docs/migrate.md).
			fl.ID = ctx.webPageID
		}
		ev, rej = b.Event(&fl, at)
	case EventPagePing:
		fl.Name = eventmodel.EventEngagement
		if ev, rej = b.Event(&fl, at); rej == nil {
			ms := float64(d.PagePing.Milliseconds())
			rej = webevent.SetEngagement(&ev, &ms, scrollDepth(f))
		}
	case EventStructured:
		ev, rej = structured(b, &fl, f, &p, at)
	case EventSelfDescribing:
		ev, rej = d.selfDescribing(s, b, &fl, f, &p, at)
	case EventTransaction:
		ev, rej = transaction(b, &fl, f, &p, at)
	case EventTransactionItem:
		ev, rej = transactionItem(b, &fl, f, &p, at)
	case "":
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidType, "the event type (e) is missing")
	default:
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidType, "the event type (e) must be one of pv, pp, se, ue, tr, ti")
	}
	if rej != nil {
		return webevent.Event{}, rej
	}
	if ctx.webPageID != "" && ev.Name != eventmodel.EventPageView {
		ev.Detail.PageViewID = ctx.webPageID
	}
	if ev.Name == eventmodel.EventPageView {
		// The device's facts, once per page rather than on every ping.
		p.device(f)
	}
	ctx.props(&p)
	ev.Props = p.done()
	return ev, nil
}

// time decides the event's time from the device's created (dtm) and sent
// (stm) timestamps with the beacon's rule: Snowplow's derived timestamp
// when the device clock is off.
//
// A true timestamp (ttm: the time the sender states, e.g. a server-side
// tracker's trueTimestamp) decides alone, within the beacon's bounds.
func (d *Decoder) time(f *fields, received time.Time) eventtime.Time {
	if f.ttm != "" {
		ttm, ok := number(f.ttm)
		return eventtime.Beacon.Vouched(received, ptr(&ttm, ok))
	}
	dtm, okDtm := number(f.dtm)
	stm, okStm := number(f.stm)
	return eventtime.Beacon.Decide(received, ptr(&stm, okStm), ptr(&dtm, okDtm))
}

// msUnit is what the time fields hold, for the import's rejections.
const msUnit = "milliseconds since the epoch"

// importTime is an imported event's time: ttm when the line has it (the
// time the sender states), else dtm (the device's time of the event),
// kept as sent within the import's rule; stm says only when the tracker
// sent it, which an import has no receive time to compare with.
func importTime(f *fields, imp *webevent.Import) (eventtime.Time, *webevent.Rejection) {
	field, raw := "ttm", f.ttm
	if raw == "" {
		field, raw = "dtm", f.dtm
	}
	if raw == "" {
		return imp.Time("ttm or dtm", msUnit, nil)
	}
	ms, ok := number(raw)
	if !ok {
		return eventtime.Time{}, webevent.Reject(webevent.ReasonInvalidField, field+" must be milliseconds since the epoch")
	}
	return imp.Time(field, msUnit, &ms)
}

// DecodeMember decodes one event given on its own as a JSON object, as a
// member of a payload_data body's data array: a line of an import
// (req.Import set; a GET /i query goes to DecodeQuery).
func (d *Decoder) DecodeMember(member []byte, req webevent.Request) (webevent.Event, *webevent.Rejection) {
	member = bytes.TrimSpace(member)
	if len(member) == 0 || member[0] != '{' || !json.Valid(member) {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidJSON, "the event is not a JSON object")
	}
	s := state{body: webevent.NewJSONBody(member), events: 1}
	return d.member(&s, member, req, Hints{})
}

// identify sets the event's visitor, session and user ids: the tracker's
// domain user id (duid, its first-party cookie) and session id (sid), and
// the site's user id (uid). Without a duid, the network user id a tracker
// sets itself (tnuid: a server-side tracker passing on the browser's
// network_userid) is the visitor, before the receiver's sp cookie.
func identify(b *webevent.Builder, ev *webevent.Event, f *fields) *webevent.Rejection {
	for _, id := range [...]struct{ v, name string }{{f.duid, "duid"}, {f.sid, "sid"}, {f.tnuid, "tnuid"}} {
		if id.v != "" && !webevent.ValidID(id.v) {
			return webevent.Reject(webevent.ReasonInvalidID, id.name+" must be 1-128 characters of [A-Za-z0-9._:-]")
		}
	}
	ev.VisitorID, ev.SessionID = f.duid, f.sid
	if ev.VisitorID == "" {
		ev.VisitorID = f.tnuid
	}
	if uid := b.Truncate(f.uid); uid != "" {
		ev.Shared.UserID = uid
	}
	return nil
}

// structured maps a structured event: its action is the custom event's
// name, the rest its properties.
func structured(b *webevent.Builder, fl *webevent.Fields, f *fields, p *props, at eventtime.Time) (webevent.Event, *webevent.Rejection) {
	if strings.TrimSpace(f.seCa) == "" || strings.TrimSpace(f.seAc) == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonMissingName, "a structured event needs se_ca (category) and se_ac (action)")
	}
	fl.Name, fl.CustomName = eventmodel.EventCustom, f.seAc
	ev, rej := b.Event(fl, at)
	if rej != nil {
		return webevent.Event{}, rej
	}
	p.str("category", f.seCa)
	p.str("label", f.seLa)
	p.str("property", f.sePr)
	if f.seVa != "" {
		v, ok := number(f.seVa)
		if !ok {
			return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, "se_va (value) must be a number")
		}
		p.num("value", v)
	}
	return ev, nil
}

// transaction maps an ecommerce transaction (tr) to a custom event whose
// properties carry the order: revenue and currency as the outcome rules
// read them.
func transaction(b *webevent.Builder, fl *webevent.Fields, f *fields, p *props, at eventtime.Time) (webevent.Event, *webevent.Rejection) {
	return orderEvent(b, fl, p, at, &order{
		custom:   CustomTransaction,
		complete: f.trID != "" && f.trTt != "",
		missing:  "a transaction needs tr_id (order id) and tr_tt (total)",
		strs:     []kv{{"order_id", f.trID}, {"affiliation", f.trAf}, {"city", f.trCi}, {"state", f.trSt}, {"country", f.trCo}},
		currency: f.trCu,
		amounts:  []kv{{"revenue", f.trTt}, {"tax", f.trTx}, {"shipping", f.trSh}},
	})
}

// transactionItem maps one item of a transaction (ti).
func transactionItem(b *webevent.Builder, fl *webevent.Fields, f *fields, p *props, at eventtime.Time) (webevent.Event, *webevent.Rejection) {
	return orderEvent(b, fl, p, at, &order{
		custom:   CustomTransactionItem,
		complete: f.tiID != "" && f.tiSk != "" && f.tiPr != "" && f.tiQu != "",
		missing:  "a transaction item needs ti_id, ti_sk, ti_pr and ti_qu",
		strs:     []kv{{"order_id", f.tiID}, {"sku", f.tiSk}, {"name", f.tiNm}, {"category", f.tiCa}},
		currency: f.tiCu,
		amounts:  []kv{{"price", f.tiPr}, {"quantity", f.tiQu}},
	})
}

// kv is one property as the tracker spelled it.
type kv struct{ key, v string }

// order is what an ecommerce event (tr, ti) carries.
type order struct {
	custom   string // the custom event's name
	complete bool   // its required fields are there
	missing  string // the rejection's message when they are not
	strs     []kv
	currency string
	amounts  []kv // numbers
}

func orderEvent(b *webevent.Builder, fl *webevent.Fields, p *props, at eventtime.Time, o *order) (webevent.Event, *webevent.Rejection) {
	if !o.complete {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, o.missing)
	}
	fl.Name, fl.CustomName = eventmodel.EventCustom, o.custom
	ev, rej := b.Event(fl, at)
	if rej != nil {
		return webevent.Event{}, rej
	}
	for _, s := range o.strs {
		p.str(s.key, s.v)
	}
	if rej := p.currency(o.currency); rej != nil {
		return webevent.Event{}, rej
	}
	for _, n := range o.amounts {
		if rej := p.amount(n.key, n.v); rej != nil {
			return webevent.Event{}, rej
		}
	}
	return ev, nil
}

// scrollDepth is how far down the page the visitor has seen, in percent:
// the largest vertical offset of the ping (pp_may) plus the viewport's
// height (vp), of the document's height (ds); nil when one is missing.
func scrollDepth(f *fields) *float64 {
	maxY, ok := number(f.ppMay)
	_, vpH, okVP := size(f.vp)
	_, docH, okDS := size(f.ds)
	if !ok || !okVP || !okDS || docH <= 0 || maxY < 0 {
		return nil
	}
	pct := min(100, float64(int64((maxY+vpH)*100/docH)))
	return &pct
}

// size parses "WxH".
func size(s string) (float64, float64, bool) {
	w, h, ok := strings.Cut(s, "x")
	if !ok {
		return 0, 0, false
	}
	wf, okW := number(w)
	hf, okH := number(h)
	return wf, hf, okW && okH
}
