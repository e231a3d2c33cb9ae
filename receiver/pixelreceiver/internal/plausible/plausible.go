// Package plausible decodes the body of Plausible's Events API
// (POST /api/event), as Plausible's own trackers and its documented
// server-side API send it, into events of the webjourney event model.
//
// Both spellings of every field are read: the trackers' short names (n, u,
// d, r, p, $, i, h) and the documented long ones (name, url, domain,
// referrer, props, revenue, interactive, hashMode), plus the legacy m and
// meta for props. Like Plausible's server, props and revenue may also come
// as a JSON-encoded string. Fields this package does not know are ignored,
// as Plausible ignores them.
package plausible // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/plausible"

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// Event names of Plausible's trackers that mean one of ours. Every other
// name is a custom event of that name.
const (
	NamePageView     = "pageview"
	NameEngagement   = "engagement"
	NameOutboundLink = "Outbound Link: Click"
	NameFileDownload = "File Download"
	NameFormSubmit   = "Form: Submission"
)

// Properties the revenue object becomes: the attribution processor's
// outcome rules read the value from properties (e.g.
// attributes["webjourney.properties"]["revenue"]), as for the tag's events.
const (
	PropRevenue  = "revenue"
	PropCurrency = "currency"
	// propURL is where Plausible's trackers put the link of an outbound
	// click or file download; it becomes the event's link URL.
	propURL = "url"
)

// Decoder decodes Plausible events. It is safe for concurrent use.
type Decoder struct {
	// Events holds the sites and limits every event is checked against.
	Events *webevent.Decoder
	// Domains maps a Plausible domain (lower case) to the site id it
	// reports to.
	Domains map[string]string
}

// wire holds one body's fields as raw JSON values (sub-slices of the
// body); set maps both spellings of each name.
type wire struct {
	name, url, domain, referrer, props, revenue, interactive, key []byte
	engagedMs, scrollDepth                                        []byte
	// ts is not Plausible's: its Events API has no time field, so an
	// imported line carries its time as ts (milliseconds since the
	// epoch). A live request's ts is ignored.
	ts []byte
}

func (w *wire) set(key string, value []byte) {
	var dst *[]byte
	switch key {
	case "n", "name":
		dst = &w.name
	case "u", "url":
		dst = &w.url
	case "d", "domain":
		dst = &w.domain
	case "r", "referrer":
		dst = &w.referrer
	case "p", "props", "m", "meta":
		dst = &w.props
	case "$", "revenue":
		dst = &w.revenue
	case "i", "interactive":
		dst = &w.interactive
	case "e":
		dst = &w.engagedMs
	case "sd":
		dst = &w.scrollDepth
	case "ts":
		dst = &w.ts
	case "k":
		// Not Plausible's: a site with a write_key needs it, added by the
		// tracker's transformRequest (see docs/migrate.md).
		dst = &w.key
	default:
		return
	}
	// The short name wins over the long one, as on Plausible's server;
	// null is absent.
	if *dst == nil && string(value) != "null" {
		*dst = value
	}
}

// Decode decodes one body into one event.
func (d *Decoder) Decode(body []byte, req webevent.Request) (webevent.Event, *webevent.Rejection) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidJSON, "the body is not a JSON object")
	}
	jb := webevent.NewJSONBody(body)
	var w wire
	m := jb.Members(body)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		w.set(key, value)
	}
	for _, f := range [...]struct {
		v    []byte
		name string
	}{{w.name, "n"}, {w.url, "u"}, {w.domain, "d"}, {w.referrer, "r"}, {w.key, "k"}} {
		if f.v != nil && f.v[0] != '"' {
			return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidJSON, "field "+f.name+" must be a string")
		}
	}
	domain := jb.Str(w.domain)
	if strings.TrimSpace(domain) == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonUnknownSite, "the domain (d) is missing")
	}
	site, ok := d.site(domain)
	if !ok {
		return webevent.Event{}, webevent.Reject(webevent.ReasonUnknownSite, "the domain (d) is not configured for any site of this collector")
	}
	var b webevent.Builder
	if rej := b.Start(d.Events, jb, eventmodel.ChannelPlausible, webevent.Identity{Site: site, Key: jb.Str(w.key)}, req, 1); rej != nil {
		return webevent.Event{}, rej
	}
	// Plausible sends no consent signal and never identifies a visitor:
	// its events are cookieless, whatever the site's cookie mode.
	b.Shared().Cookieless = true

	name := b.Truncate(jb.Str(w.name))
	if name == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonMissingName, "the event name (n) is missing")
	}
	props, rej := props(&b, jb, w.props)
	if rej != nil {
		return webevent.Event{}, rej
	}
	f := webevent.Fields{Name: eventName(name), URL: jb.Str(w.url), Referrer: jb.Str(w.referrer)}
	if f.Name == eventmodel.EventCustom {
		f.CustomName = name
	}
	// Plausible's trackers send no time: the event happens on arrival.
	// An imported line says when with its ts.
	at := eventtime.Received(req.Received)
	if req.Import != nil {
		if at, rej = importTime(w.ts, req.Import); rej != nil {
			return webevent.Event{}, rej
		}
	}
	ev, rej := b.Event(&f, at)
	if rej != nil {
		return webevent.Event{}, rej
	}
	switch ev.Name {
	case eventmodel.EventEngagement:
		ms, okMs := number(w.engagedMs)
		depth, okDepth := number(w.scrollDepth)
		if rej := webevent.SetEngagement(&ev, ptr(&ms, okMs), ptr(&depth, okDepth)); rej != nil {
			return webevent.Event{}, rej
		}
	case eventmodel.EventOutboundClick, eventmodel.EventFileDownload:
		props = link(&b, &ev, name, props)
	}
	if w.interactive != nil {
		switch string(w.interactive) {
		case "false":
			ev.NonInteractive = true
		case "true":
		default:
			return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, "field i (interactive) must be true or false")
		}
	}
	if w.revenue != nil {
		if props, rej = revenue(jb, w.revenue, props); rej != nil {
			return webevent.Event{}, rej
		}
	}
	ev.Props = props
	return ev, nil
}

// msUnit is what the time fields hold, for the import's rejections.
const msUnit = "milliseconds since the epoch"

// importTime is an imported line's time: ts, required, milliseconds since
// the epoch, kept as sent within the import's rule.
func importTime(ts []byte, imp *webevent.Import) (eventtime.Time, *webevent.Rejection) {
	if ts == nil {
		return imp.Time("ts", msUnit, nil)
	}
	ms, ok := number(ts)
	if !ok {
		return eventtime.Time{}, webevent.Reject(webevent.ReasonInvalidField, "ts must be a number of milliseconds since the epoch")
	}
	return imp.Time("ts", msUnit, &ms)
}

// site maps the domain field to a site id. A roll-up sends several
// domains, comma-separated; the first configured one names the site.
func (d *Decoder) site(domains string) (string, bool) {
	for domains != "" {
		var one string
		one, domains, _ = strings.Cut(domains, ",")
		one = strings.TrimSpace(one)
		if id, ok := d.Domains[one]; ok {
			return id, true
		}
		if id, ok := d.Domains[strings.ToLower(one)]; ok {
			return id, true
		}
	}
	return "", false
}

// eventName maps a Plausible event name to ours.
func eventName(n string) string {
	switch n {
	case NamePageView:
		return eventmodel.EventPageView
	case NameEngagement:
		return eventmodel.EventEngagement
	case NameOutboundLink:
		return eventmodel.EventOutboundClick
	case NameFileDownload:
		return eventmodel.EventFileDownload
	case NameFormSubmit:
		return eventmodel.EventFormSubmit
	}
	return eventmodel.EventCustom
}

// props converts the props field: an object, or (as older trackers and
// some server-side senders do) a string holding one.
func props(b *webevent.Builder, jb webevent.JSONBody, raw []byte) ([]webevent.Prop, *webevent.Rejection) {
	obj, rej := object(jb, raw, "p (props)")
	if rej != nil || obj == nil {
		return nil, rej
	}
	return b.Props(obj)
}

// object returns the JSON object of raw, decoding a JSON-encoded string
// first; nil for an absent field.
func object(jb webevent.JSONBody, raw []byte, field string) ([]byte, *webevent.Rejection) {
	if raw == nil {
		return nil, nil
	}
	if raw[0] == '"' {
		inner := []byte(strings.TrimSpace(jb.Str(raw)))
		if len(inner) == 0 {
			return nil, nil
		}
		raw = inner
		if raw[0] != '{' || !json.Valid(raw) {
			return nil, webevent.Reject(webevent.ReasonInvalidField, "field "+field+" must be an object or a string holding a JSON object")
		}
	}
	if raw[0] != '{' {
		return nil, webevent.Reject(webevent.ReasonInvalidField, "field "+field+" must be an object or a string holding a JSON object")
	}
	return raw, nil
}

// link makes an outbound click or download of the url property, which
// then is no property any more. Without a usable url the event stays a
// custom event of its Plausible name: nothing is lost.
func link(b *webevent.Builder, ev *webevent.Event, name string, props []webevent.Prop) []webevent.Prop {
	i := slices.IndexFunc(props, func(p webevent.Prop) bool { return p.Key == propURL })
	var raw string
	if i >= 0 {
		raw, _ = props[i].Value.AsAny().(string)
	}
	if i < 0 || b.SetLink(ev, ev.Name, raw) != nil {
		ev.Name, ev.CustomName = eventmodel.EventCustom, name
		return props
	}
	return slices.Delete(props, i, i+1)
}

// revenue adds the revenue object's amount and currency to the
// properties, replacing props of the same names.
func revenue(jb webevent.JSONBody, raw []byte, props []webevent.Prop) ([]webevent.Prop, *webevent.Rejection) {
	const msg = "field $ (revenue) must be {amount: a number or numeric string, currency: an ISO 4217 code such as EUR}"
	obj, rej := object(jb, raw, "$ (revenue)")
	if rej != nil {
		return nil, rej
	}
	if obj == nil {
		return props, nil
	}
	var amount float64
	var hasAmount bool
	var currency string
	// Also for a string holding the object: Str copies what is not part
	// of the body.
	m := jb.Members(obj)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		switch key {
		case "amount":
			if len(value) > 0 && value[0] == '"' {
				value = []byte(strings.TrimSpace(jb.Str(value)))
			}
			amount, hasAmount = number(value)
		case "currency":
			currency = strings.ToUpper(strings.TrimSpace(jb.Str(value)))
		}
	}
	if !hasAmount || !isCurrency(currency) {
		return nil, webevent.Reject(webevent.ReasonInvalidField, msg)
	}
	props = slices.DeleteFunc(props, func(p webevent.Prop) bool { return p.Key == PropRevenue || p.Key == PropCurrency })
	props = append(props,
		webevent.Prop{Key: PropCurrency, Value: webevent.StringValue(currency)},
		webevent.Prop{Key: PropRevenue, Value: webevent.FloatValue(amount)})
	slices.SortFunc(props, func(a, b webevent.Prop) int { return strings.Compare(a.Key, b.Key) })
	return props, nil
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

// number parses a JSON number; false when absent or not a finite number.
func number(raw []byte) (float64, bool) {
	if len(raw) == 0 || raw[0] == '"' || raw[0] == '{' || raw[0] == '[' || raw[0] == 't' || raw[0] == 'f' || raw[0] == 'n' {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// ptr is &v when ok, else nil: how webevent takes an optional number.
func ptr(v *float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return v
}
