package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Values of the beacon event "type" field.
const (
	BeaconTypePageView = "page_view"
	BeaconTypeCustom   = "custom"
)

// maxClientDelay bounds how long a tag may have held an event before sending
// it. Larger gaps (or negative ones) mean a broken client clock, and the
// receive time is then the better guess.
const maxClientDelay = 24 * time.Hour

// Beacon is the outcome of decoding one beacon body.
type Beacon struct {
	Events   []Event
	Rejected []EventRejection
}

// EventRejection is a rejected event and its index in the beacon's events array.
type EventRejection struct {
	Index int
	Rejection
}

// beaconWire is the beacon body. Unknown fields are ignored so that newer
// tags can talk to older collectors.
type beaconWire struct {
	Site      string            `json:"site"`
	VisitorID string            `json:"visitor_id"`
	SessionID string            `json:"session_id"`
	SentAt    *float64          `json:"sent_at"` // client clock, ms since the epoch
	Events    []json.RawMessage `json:"events"`
}

// eventWire is one element of the beacon's events array. Events are decoded
// one by one so that a malformed event costs only itself.
type eventWire struct {
	ID       string                     `json:"id"`
	Type     string                     `json:"type"`
	TS       *float64                   `json:"ts"` // client clock, ms since the epoch
	URL      string                     `json:"url"`
	Referrer string                     `json:"referrer"`
	Title    string                     `json:"title"`
	Name     string                     `json:"name"`
	Props    map[string]json.RawMessage `json:"props"`
}

// DecodeBeacon decodes one beacon body. A non-nil Rejection rejects the whole
// beacon; otherwise each event is either in Events or in Rejected.
func (d *Decoder) DecodeBeacon(body []byte, req Request) (Beacon, *Rejection) {
	var w beaconWire
	if err := unmarshalObject(body, &w); err != nil {
		return Beacon{}, reject(ReasonInvalidJSON, "the body is not a valid beacon JSON object: "+err.Error())
	}
	c := common{site: w.Site, visitorID: w.VisitorID, sessionID: w.SessionID, channel: eventmodel.ChannelBeacon, req: req}
	if rej := d.checkCommon(&c); rej != nil {
		return Beacon{}, rej
	}
	if len(w.Events) == 0 {
		return Beacon{}, reject(ReasonNoEvents, "the beacon has no events")
	}
	if len(w.Events) > d.Limits.MaxEventsPerBeacon {
		return Beacon{}, reject(ReasonTooManyEvents, "the beacon has more events than max_events_per_beacon")
	}
	b := Beacon{Events: make([]Event, 0, len(w.Events))}
	for i, raw := range w.Events {
		ev, rej := d.beaconEvent(&c, raw, w.SentAt)
		if rej != nil {
			b.Rejected = append(b.Rejected, EventRejection{Index: i, Rejection: *rej})
			continue
		}
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

func (d *Decoder) beaconEvent(c *common, raw json.RawMessage, sentAt *float64) (Event, *Rejection) {
	var w eventWire
	if err := unmarshalObject(raw, &w); err != nil {
		return Event{}, reject(ReasonInvalidEvent, "the event is not a valid event JSON object: "+err.Error())
	}
	eventType, ok := beaconEventType(w.Type)
	if !ok {
		return Event{}, reject(ReasonInvalidType, `type must be "page_view" or "custom"`)
	}
	ev := Event{Time: eventTime(c.req.Received, sentAt, w.TS)}
	f := fields{id: w.ID, eventType: eventType, url: w.URL, referrer: w.Referrer, title: w.Title, name: w.Name}
	if rej := d.build(c, &f, &ev); rej != nil {
		return Event{}, rej
	}
	props, rej := d.beaconProps(w.Props)
	if rej != nil {
		return Event{}, rej
	}
	ev.Props = props
	return ev, nil
}

func beaconEventType(t string) (string, bool) {
	switch t {
	case "", BeaconTypePageView:
		return eventmodel.EventPageView, true
	case BeaconTypeCustom:
		return eventmodel.EventCustom, true
	}
	return "", false
}

// eventTime places the event on the collector's clock the way Snowplow does:
// the client clock may be off by hours, but the gap between two readings of
// it (event time, send time) is trustworthy.
func eventTime(received time.Time, sentAt, ts *float64) time.Time {
	if sentAt == nil || ts == nil {
		return received
	}
	delayMs := *sentAt - *ts
	if delayMs < 0 || delayMs > float64(maxClientDelay/time.Millisecond) {
		return received
	}
	return received.Add(-time.Duration(delayMs * float64(time.Millisecond)))
}

// beaconProps converts the props object. Keys are sorted so that the same
// beacon always produces the same record.
func (d *Decoder) beaconProps(raw map[string]json.RawMessage) ([]Prop, *Rejection) {
	if len(raw) == 0 {
		return nil, nil
	}
	if len(raw) > d.Limits.MaxProperties {
		return nil, reject(ReasonTooManyProperties, "more custom properties than max_properties")
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if !validPropertyKey(k) {
			return nil, reject(ReasonInvalidProperty, "property keys must be 1-64 characters of [A-Za-z0-9_-]")
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	props := make([]Prop, 0, len(keys))
	for _, k := range keys {
		v, ok := d.scalar(raw[k])
		if !ok {
			return nil, reject(ReasonInvalidProperty, "property "+k+" must be a string, number or boolean")
		}
		if v != nil { // null means "not set"
			props = append(props, Prop{Key: k, Value: v})
		}
	}
	return props, nil
}

// scalar converts a JSON scalar: integers that fit int64 stay integers so
// that counts aggregate exactly; other numbers become float64.
func (d *Decoder) scalar(raw json.RawMessage) (any, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return d.truncate(s), true
	case 't':
		return true, true
	case 'f':
		return false, true
	case 'n':
		return nil, true
	case '{', '[':
		return nil, false
	}
	if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return nil, false
	}
	return f, true
}

// unmarshalObject decodes a JSON object into v. It insists on an object
// (json.Unmarshal would accept null) and shortens the error to the offending
// field so that messages never quote sender data.
func unmarshalObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return errors.New("not a JSON object")
	}
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return errors.New("field " + typeErr.Field + " has the wrong JSON type")
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return errors.New("syntax error at offset " + strconv.FormatInt(syntaxErr.Offset, 10))
	}
	return errors.New("not valid JSON")
}
