package ga4 // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// mpWire holds a Measurement Protocol body's top-level fields as raw JSON
// values (sub-slices of the body); null is absent. Fields this package
// does not know (user_location, device, user_data, validation_behavior)
// are ignored: the location and device as the sender saw them are not
// the receiver's to trust, and the collector takes no personal data.
type mpWire struct {
	clientID, userID, timestamp, npa, userProps, consent, events []byte
	ipOverride                                                   []byte
}

func (w *mpWire) set(key string, value []byte) {
	var dst *[]byte
	switch key {
	case "client_id":
		dst = &w.clientID
	case "user_id":
		dst = &w.userID
	case "timestamp_micros":
		dst = &w.timestamp
	case "non_personalized_ads":
		dst = &w.npa
	case "user_properties":
		dst = &w.userProps
	case "consent":
		dst = &w.consent
	case "events":
		dst = &w.events
	case "ip_override":
		dst = &w.ipOverride
	default:
		return
	}
	if *dst == nil && string(value) != "null" {
		*dst = value
	}
}

// DecodeMP decodes a Measurement Protocol request: rawQuery carries
// measurement_id and api_secret, body the JSON. A problem of the whole
// request (not JSON, unknown measurement id, wrong secret, no or too many
// events) refuses it; a bad event is listed in Refused and the others are
// kept.
func (d *Decoder) DecodeMP(rawQuery string, body []byte, req webevent.Request) (Batch, *Refusal) {
	measurementID, _ := urlquery.Value(rawQuery, "measurement_id")
	apiSecret, _ := urlquery.Value(rawQuery, "api_secret")
	s, r := d.site(measurementID)
	if r != nil {
		return Batch{}, r
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return Batch{}, refuse(-1, webevent.ReasonInvalidJSON, "", CodeValueInvalid, "the body is not a JSON object")
	}
	key, r := d.writeKey(s, apiSecret)
	if r != nil {
		return Batch{}, r
	}
	return d.decodeMP(s, key, body, req)
}

// DecodeMPImport decodes one line of an import: a Measurement Protocol
// request body of req.Import's site (the line has no measurement_id; the
// import key, not an api_secret, authenticated it). Every event needs its
// time: timestamp_micros of the event or of the request, kept as sent
// within the import's rule (the site's import max_age, not Google's 72
// hours).
func (d *Decoder) DecodeMPImport(body []byte, req webevent.Request) (Batch, *Refusal) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return Batch{}, refuse(-1, webevent.ReasonInvalidJSON, "", CodeValueInvalid, "the line is not a JSON object")
	}
	s := &Site{ID: req.Import.Site}
	for _, ms := range d.MeasurementIDs {
		if ms.ID == s.ID {
			// The site's default page for events that name none.
			s = ms
			break
		}
	}
	return d.decodeMP(s, "", body, req)
}

func (d *Decoder) decodeMP(s *Site, key string, body []byte, req webevent.Request) (Batch, *Refusal) {
	var r *Refusal
	jb := webevent.NewJSONBody(body)
	var w mpWire
	m := jb.Members(body)
	for k, v, ok := m.Next(); ok; k, v, ok = m.Next() {
		w.set(k, v)
	}
	for _, f := range [...]struct {
		v    []byte
		name string
	}{{w.clientID, "client_id"}, {w.userID, "user_id"}, {w.ipOverride, "ip_override"}} {
		if f.v != nil && f.v[0] != '"' {
			return Batch{}, refuse(-1, webevent.ReasonInvalidJSON, f.name, CodeValueInvalid, f.name+" must be a string")
		}
	}
	clientID := strings.TrimSpace(jb.Str(w.clientID))
	if clientID == "" {
		return Batch{}, refuse(-1, webevent.ReasonInvalidID, "client_id", CodeValueRequired, "client_id is required (the visitor's id, gtag's _ga cookie value)")
	}
	if !webevent.ValidID(clientID) {
		return Batch{}, refuse(-1, webevent.ReasonInvalidID, "client_id", CodeValueInvalid, "client_id must be 1-128 characters of [A-Za-z0-9._:-]")
	}
	if len(w.events) == 0 || w.events[0] != '[' {
		return Batch{}, refuse(-1, webevent.ReasonNoEvents, "events", CodeValueRequired, "events must be an array of events")
	}
	limit := min(MaxEvents, d.Events.Limits.MaxEventsPerBeacon)
	elems := jb.Elements(w.events, limit+1)
	if len(elems) == 0 {
		return Batch{}, refuse(-1, webevent.ReasonNoEvents, "events", CodeValueRequired, "events is empty")
	}
	if len(elems) > limit {
		return Batch{}, refuse(-1, webevent.ReasonTooManyEvents, "events", CodeExceededMaxEntities, "more than 25 events (or max_events_per_beacon)")
	}
	at := eventtime.Received(req.Received)
	timed := w.timestamp != nil
	if timed {
		micros, ok := parseNumber(scalar(jb, w.timestamp))
		if !ok {
			return Batch{}, refuse(-1, webevent.ReasonInvalidField, "timestamp_micros", CodeValueInvalid, "timestamp_micros must be a number of microseconds since the epoch")
		}
		if at, r = eventTime(micros, req, -1); r != nil {
			return Batch{}, r
		}
	}

	var b webevent.Builder
	if rej := b.Start(d.Events, jb, eventmodel.ChannelGA4, webevent.Identity{Site: s.ID, Key: key, VisitorID: clientID}, req, len(elems)); rej != nil {
		return Batch{}, refusal(-1, rej, startField(rej, "api_secret", "client_id"))
	}
	sh := b.Shared()
	sh.UserID = b.Truncate(jb.Str(w.userID))
	if r := mpConsent(jb, &w, sh); r != nil {
		return Batch{}, r
	}
	clientAddr, r := d.ipOverride(s, jb.Str(w.ipOverride), req)
	if r != nil {
		return Batch{}, r
	}
	userProps, dropped, r := userProperties(&b, jb, w.userProps)
	if r != nil {
		return Batch{}, r
	}

	out := Batch{Events: make([]webevent.Event, 0, len(elems))}
	page := s.DefaultPageURL
	for i, raw := range elems {
		in := eventIn{index: i, at: at, timed: timed}
		r := d.mpEvent(&b, jb, raw, &in, req)
		if r == nil {
			if in.page != "" {
				// The events of one request mostly happen on one page: an
				// event without page_location is on the last one named.
				page = in.page
			}
			for _, p := range userProps {
				in.addProp(p.Key, p.Value, d.Events.Limits.MaxProperties)
			}
			in.dropped += dropped
			var ev webevent.Event
			if ev, r = d.event(&b, &in, page); r == nil {
				if clientAddr != "" {
					ev.ClientAddr = clientAddr
				}
				out.Events = append(out.Events, ev)
				continue
			}
		}
		out.Refused = append(out.Refused, *r)
	}
	return out, nil
}

// mpConsent maps the consent object and non_personalized_ads to our
// consent signals (docs/migrate.md). Analytics consent is not among
// them: the site's consent policy decides it.
func mpConsent(jb webevent.JSONBody, w *mpWire, sh *webevent.Shared) *Refusal {
	if w.consent != nil {
		if w.consent[0] != '{' {
			return refuse(-1, webevent.ReasonInvalidField, "consent", CodeValueInvalid, "consent must be an object")
		}
		m := jb.Members(w.consent)
		for k, v, ok := m.Next(); ok; k, v, ok = m.Next() {
			var dst *string
			switch k {
			case "ad_user_data":
				dst = &sh.Consent.Marketing
			case "ad_personalization":
				dst = &sh.Consent.Personalization
			default:
				continue
			}
			c, ok := consentValue(jb.Str(v))
			if !ok {
				return refuse(-1, webevent.ReasonInvalidField, "consent."+k, CodeValueInvalid, "consent."+k+" must be GRANTED or DENIED")
			}
			*dst = c
		}
	}
	switch string(w.npa) {
	case "", "false":
	case "true":
		// Non-personalized ads: the visitor may not be profiled for ads.
		if sh.Consent.Personalization == "" {
			sh.Consent.Personalization = eventmodel.ConsentDenied
		}
	default:
		return refuse(-1, webevent.ReasonInvalidField, "non_personalized_ads", CodeValueInvalid, "non_personalized_ads must be true or false")
	}
	return nil
}

// userProperties converts user_properties ({"name": {"value": v}}) to
// properties of every event, prefixed PropUserPrefix; what cannot be a
// property is counted.
func userProperties(b *webevent.Builder, jb webevent.JSONBody, raw []byte) ([]webevent.Prop, int, *Refusal) {
	if raw == nil {
		return nil, 0, nil
	}
	if raw[0] != '{' {
		return nil, 0, refuse(-1, webevent.ReasonInvalidField, "user_properties", CodeValueInvalid, "user_properties must be an object")
	}
	var props []webevent.Prop
	dropped := 0
	m := jb.Members(raw)
	for k, v, ok := m.Next(); ok; k, v, ok = m.Next() {
		if len(v) == 0 || v[0] != '{' {
			dropped++
			continue
		}
		var val []byte
		mm := jb.Members(v)
		for kk, vv, ok := mm.Next(); ok; kk, vv, ok = mm.Next() {
			if kk == "value" {
				val = vv
			}
		}
		pv, ok := value(b, jb, val)
		if !ok || !validPropertyKey(PropUserPrefix+k) {
			dropped++
			continue
		}
		props = append(props, webevent.Prop{Key: PropUserPrefix + k, Value: pv})
	}
	return props, dropped, nil
}

// mpEvent reads one element of the events array.
func (d *Decoder) mpEvent(b *webevent.Builder, jb webevent.JSONBody, raw []byte, in *eventIn, req webevent.Request) *Refusal {
	i := in.index
	if raw[0] != '{' {
		return refuseEvent(i, webevent.ReasonInvalidEvent, "", CodeValueInvalid, "an event must be an object")
	}
	var name, params, timestamp []byte
	m := jb.Members(raw)
	for k, v, ok := m.Next(); ok; k, v, ok = m.Next() {
		switch k {
		case "name":
			name = v
		case "params":
			params = v
		case "timestamp_micros":
			timestamp = v
		}
	}
	if name != nil && name[0] != '"' && string(name) != "null" {
		return refuseEvent(i, webevent.ReasonInvalidEvent, ".name", CodeValueInvalid, "the event name must be a string")
	}
	in.name = jb.Str(name)
	if r := checkName(i, in.name); r != nil {
		return r
	}
	if timestamp != nil && string(timestamp) != "null" {
		micros, ok := parseNumber(scalar(jb, timestamp))
		if !ok {
			return refuseEvent(i, webevent.ReasonInvalidField, ".timestamp_micros", CodeValueInvalid, "timestamp_micros must be a number of microseconds since the epoch")
		}
		var r *Refusal
		if in.at, r = eventTime(micros, req, i); r != nil {
			return r
		}
		in.timed = true
	}
	if req.Import != nil && !in.timed {
		return refuseEvent(i, webevent.ReasonMissingTime, ".timestamp_micros", CodeValueRequired, "an imported event needs its time: timestamp_micros of the event or of the request")
	}
	if params == nil || string(params) == "null" {
		return nil
	}
	if params[0] != '{' {
		return refuseEvent(i, webevent.ReasonInvalidField, ".params", CodeValueInvalid, "params must be an object")
	}
	limit := d.Events.Limits.MaxProperties
	pm := jb.Members(params)
	for k, v, ok := pm.Next(); ok; k, v, ok = pm.Next() {
		if r := mpParam(b, jb, in, k, v, limit); r != nil {
			return r
		}
	}
	return nil
}

// mpParam reads one param of an event.
func mpParam(b *webevent.Builder, jb webevent.JSONBody, in *eventIn, k string, v []byte, limit int) *Refusal {
	switch k {
	case "engagement_time_msec":
		ms, ok := parseNumber(scalar(jb, v))
		if !ok {
			return refuseEvent(in.index, webevent.ReasonInvalidField, ".params.engagement_time_msec", CodeValueInvalid, "engagement_time_msec must be a number")
		}
		in.engaged, in.hasEngaged = ms, true
		return nil
	case "value":
		n, ok := parseNumber(scalar(jb, v))
		if !ok {
			return refuseEvent(in.index, webevent.ReasonInvalidField, ".params.value", CodeValueInvalid, "value must be a number")
		}
		in.value, in.hasValue = n, true
		return nil
	case "outbound":
		switch scalar(jb, v) {
		case "true", "1":
			in.outbound = true
		}
		return nil
	case "items":
		if v[0] != '[' {
			return refuseEvent(in.index, webevent.ReasonInvalidField, ".params.items", CodeValueInvalid, "items must be an array")
		}
		n := len(jb.Elements(v, maxItems+1))
		if n > maxItems {
			return refuseEvent(in.index, webevent.ReasonInvalidField, ".params.items", CodeExceededMaxEntities, "more than 200 items")
		}
		in.items, in.itemCount = v, n
		return nil
	}
	if v[0] == '"' || v[0] == '-' || ('0' <= v[0] && v[0] <= '9') {
		if in.name == NameCampaignDetails {
			k = campaignDetailsParam(k)
		}
		if in.mappedParam(k, scalar(jb, v)) {
			return nil
		}
	}
	pv, ok := value(b, jb, v)
	if !ok {
		if string(v) != "null" {
			in.dropped++
		}
		return nil
	}
	in.addProp(k, pv, limit)
	return nil
}

// value converts a scalar param value; false for null, objects and arrays.
func value(b *webevent.Builder, jb webevent.JSONBody, v []byte) (webevent.Value, bool) {
	switch {
	case len(v) == 0, v[0] == '{', v[0] == '[', string(v) == "null":
		return webevent.Value{}, false
	case v[0] == '"':
		return webevent.StringValue(b.Truncate(jb.Str(v))), true
	case string(v) == "true":
		return webevent.BoolValue(true), true
	case string(v) == "false":
		return webevent.BoolValue(false), true
	}
	f, ok := parseNumber(string(v))
	if !ok {
		return webevent.Value{}, false
	}
	return number(f), true
}

// scalar is a JSON value as text: a string's content, a literal as is.
func scalar(jb webevent.JSONBody, v []byte) string {
	if len(v) > 0 && v[0] == '"' {
		return jb.Str(v)
	}
	return string(v)
}

// campaignDetailsParam reads the unprefixed campaign params of Google's
// campaign_details event (source, medium, term, content) as the
// campaign_* params every other event uses.
func campaignDetailsParam(k string) string {
	switch k {
	case "source", "medium", "term", "content":
		return "campaign_" + k
	}
	return k
}

// ipOverride reads ip_override, the visitor's address as the sending
// server knows it: honoured only for a site whose requests authenticate
// (api_secrets or a write key), as Matomo's cip, else ignored.
func (d *Decoder) ipOverride(s *Site, raw string, req webevent.Request) (string, *Refusal) {
	raw = strings.TrimSpace(raw)
	if raw == "" || (len(s.Secrets) == 0 && d.Events.Sites[s.ID].WriteKey == "" && req.Import == nil) {
		return "", nil
	}
	addr, err := netip.ParseAddr(raw)
	// A zone ("fe80::1%eth0") names an interface of the sender, and would
	// carry any bytes into client.address.
	if err != nil || addr.Zone() != "" {
		return "", refuse(-1, webevent.ReasonInvalidField, "ip_override", CodeValueInvalid, "ip_override must be an IPv4 or IPv6 address without a zone")
	}
	return addr.Unmap().String(), nil
}

// startField names the field of a rejection of the request's identity:
// the key, or the visitor id.
func startField(rej *webevent.Rejection, key, visitor string) string {
	switch rej.Reason {
	case webevent.ReasonInvalidWriteKey:
		return key
	case webevent.ReasonInvalidID:
		return visitor
	}
	return ""
}
