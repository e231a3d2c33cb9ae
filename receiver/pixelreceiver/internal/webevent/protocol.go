package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"
)

// This file is the building kit for decoders of other trackers' wire
// formats (Plausible, later Snowplow, Matomo, GA4): they read their own
// fields and make their events here, so that every event passes the same
// checks (site, write key, ids, URL and origin, lengths, properties) and
// is written by the same CopyTo as the tag's.

// JSONBody is a request body that json.Valid has accepted, read without
// reflection: strings are substrings of one copy of the body.
type JSONBody struct{ t text }

// NewJSONBody wraps a body that json.Valid accepted; it must not change
// while the body and the strings taken from it are used.
func NewJSONBody(body []byte) JSONBody { return JSONBody{t: newText(body)} }

// Str returns the Go string of a JSON string literal (quotes included);
// "" for anything else, null included.
func (b JSONBody) Str(lit []byte) string {
	if len(lit) < 2 || lit[0] != '"' {
		return ""
	}
	return b.t.str(lit)
}

// Members iterates over the members of obj, a JSON object within the body.
func (b JSONBody) Members(obj []byte) JSONMembers { return JSONMembers{m: newMembers(b.t, obj)} }

// JSONMembers iterates over the members of a JSON object: keys unquoted,
// values raw. An iterator rather than a callback, so that the caller's
// variables do not escape to the heap.
type JSONMembers struct{ m members }

// Next returns the next member; ok is false after the last.
func (m *JSONMembers) Next() (key string, value []byte, ok bool) { return m.m.next() }

// Identity is what a request says about its site and visitor.
type Identity struct {
	Site, Key            string
	VisitorID, SessionID string
}

// Fields are one event's values as the sender spelled them. Name is an
// event-model event name; CustomName is required for eventmodel.EventCustom.
type Fields struct {
	ID, Name, URL, Referrer, Title, CustomName string
}

// Builder makes the events of one request of another tracker's protocol.
type Builder struct {
	d    *Decoder
	body JSONBody
	c    common
}

// Start checks the request-level identity (the site is configured, its
// write key, well-formed ids) and starts the request's shared state with
// the browser's GPC and DNT headers. events is how many events the
// request carries (it sizes the properties slab). A Builder is a value, so
// that a decoder can keep it on its stack.
//
// For an imported hit (req.Import set) the events are of channel import,
// the site the hit names must be the import's site, and the hit's own
// write key is ignored.
func (b *Builder) Start(d *Decoder, body JSONBody, channel string, id Identity, req Request, events int) *Rejection {
	if req.Import != nil {
		if id.Site != req.Import.Site {
			return reject(ReasonUnknownSite, "the line names another site than the import's")
		}
		channel = eventmodel.ChannelImport
	}
	*b = Builder{d: d, body: body, c: common{
		site: id.Site, key: id.Key, visitorID: id.VisitorID, sessionID: id.SessionID,
		channel: channel, req: req, events: max(events, 1),
	}}
	if rej := d.checkCommon(&b.c); rej != nil {
		return rej
	}
	b.c.shared = &Shared{GPC: req.GPC, DNT: req.DNT}
	return nil
}

// Shared is what every event of the request shares; the protocol decoder
// sets its consent signals on it.
func (b *Builder) Shared() *Shared { return b.c.shared }

// Event validates f and makes one event that happened at at.
func (b *Builder) Event(f *Fields, at eventtime.Time) (Event, *Rejection) {
	ev := Event{Time: at, Detail: Detail{EngagedMs: -1, ScrollDepth: -1, FieldCount: -1}}
	if rej := b.d.build(&b.c, &fields{id: f.ID, eventType: f.Name, url: f.URL, referrer: f.Referrer, title: f.Title, name: f.CustomName}, &ev); rej != nil {
		return Event{}, rej
	}
	ev.Shared = b.c.shared
	return ev, nil
}

// Props converts a JSON object of properties with the beacon's rules:
// keys of [A-Za-z0-9_-], scalar values, at most max_properties, sorted,
// null meaning "not set".
func (b *Builder) Props(obj []byte) ([]Prop, *Rejection) {
	return b.d.beaconProps(b.body.t, obj, &b.c)
}

// Truncate makes s valid UTF-8 of at most max_string_length bytes, trimmed.
func (b *Builder) Truncate(s string) string { return b.d.truncate(strings.TrimSpace(s)) }

// SetEngagement makes ev an engagement event with the tag's bounds:
// engagedMs a whole number of milliseconds up to a day, scrollDepth (nil
// when not sent) a whole percentage.
func SetEngagement(ev *Event, engagedMs, scrollDepth *float64) *Rejection {
	ms, ok := wholeNumber(engagedMs, 0, maxEngagedMs)
	if !ok {
		return reject(ReasonInvalidField, "the engaged time must be a whole number of milliseconds between 0 and 86400000")
	}
	ev.Detail.EngagedMs = ms
	if scrollDepth != nil {
		depth, ok := wholeNumber(scrollDepth, 0, 100)
		if !ok {
			return reject(ReasonInvalidField, "the scroll depth must be a whole percentage between 0 and 100")
		}
		ev.Detail.ScrollDepth = depth
	}
	ev.Name = eventmodel.EventEngagement
	return nil
}

// SetLink makes ev an outbound click or file download (name) to the
// absolute http(s) URL raw, within max_string_length.
func (b *Builder) SetLink(ev *Event, name, raw string) *Rejection {
	if raw == "" || len(raw) > b.d.Limits.MaxStringLength {
		return reject(ReasonInvalidField, "the link URL is missing or longer than max_string_length")
	}
	link, err := pageurl.Parse(raw)
	if err != nil {
		return reject(ReasonInvalidField, "the link URL must be an absolute http(s) URL")
	}
	ev.Name, ev.Detail.Link, ev.Detail.HasLink = name, link, true
	return nil
}

// Reject makes a rejection for a protocol decoder.
func Reject(reason Reason, msg string) *Rejection { return reject(reason, msg) }

// Elements returns the raw elements of arr, a JSON array within the body,
// at most limit of them: a caller that gets limit elements asks for one
// more to know whether there were too many.
func (b JSONBody) Elements(arr []byte, limit int) [][]byte { return arrayElements(arr, limit) }
