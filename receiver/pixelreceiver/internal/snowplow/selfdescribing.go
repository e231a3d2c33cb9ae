package snowplow // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"

import (
	"net/url"
	"path"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

const schemaUnstructEvent = vendor + "unstruct_event/jsonschema/1-"

// selfDescribing maps a self-describing event (ue_pr, ue_px): Snowplow's
// standard link clicks, form submissions and consent events to ours, any
// other schema to a custom event named vendor/name with its data as
// properties.
func (d *Decoder) selfDescribing(s *state, b *webevent.Builder, fl *webevent.Fields, f *fields, p *props, at eventtime.Time) (webevent.Event, *webevent.Rejection) {
	plain, body := doc(f.uePrJSON, f.uePrInBody, f.uePr, &s.body)
	if plain == nil && f.uePx == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, "a self-describing event needs ue_pr or ue_px")
	}
	jb, outer, ok := document(plain, body, f.uePx)
	if !ok || !strings.HasPrefix(outer.schema, schemaUnstructEvent) {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, "ue_pr/ue_px must be (base64url of) a self-describing JSON of schema "+schemaUnstructEvent+"x-x")
	}
	inner, ok := readSelfDescribing(jb, outer.data)
	if !ok || inner.data[0] != '{' {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, "the self-describing event must hold {schema: iglu:..., data: {...}}")
	}
	name, standard := schemaName(inner.schema)
	if name == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, "the event's schema must be an Iglu URI, iglu:vendor/name/jsonschema/version")
	}
	if standard {
		switch name {
		case nameLinkClick:
			return linkClick(b, fl, jb, inner.data, p, at)
		case nameSubmitForm:
			return submitForm(b, fl, jb, inner.data, p, at)
		case nameConsentGrant, nameConsentWithd, nameConsentPrefs:
			if consent, ok := consentOf(name, jb, inner.data); ok {
				fl.Name = eventmodel.EventConsentUpdate
				ev, rej := b.Event(fl, at)
				if rej != nil {
					return webevent.Event{}, rej
				}
				// The request's events share their consent state, as a
				// beacon's do: the batch's last choice is the browser's.
				ev.Shared.Consent = consent
				p.data(jb, inner.data)
				return ev, nil
			}
		}
	}
	fl.Name, fl.CustomName = eventmodel.EventCustom, customName(inner.schema)
	ev, rej := b.Event(fl, at)
	if rej != nil {
		return webevent.Event{}, rej
	}
	p.str("sp_schema", inner.schema)
	p.data(jb, inner.data)
	return ev, nil
}

// schemaName returns the name part of an Iglu URI
// (iglu:vendor/name/format/version) and whether the vendor is Snowplow's
// own; "" when the URI is malformed.
func schemaName(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "iglu:")
	if !ok {
		return "", false
	}
	vendor, rest, _ := strings.Cut(rest, "/")
	name, rest, _ := strings.Cut(rest, "/")
	format, version, ok := strings.Cut(rest, "/")
	if !ok || vendor == "" || name == "" || format == "" || version == "" || strings.Contains(version, "/") {
		return "", false
	}
	return name, vendor == "com.snowplowanalytics.snowplow"
}

// customName is the custom event name of a schema: vendor/name, stable
// across the schema's versions (the full URI is the sp_schema property).
func customName(uri string) string {
	rest := strings.TrimPrefix(uri, "iglu:")
	if i := strings.Index(rest, "/jsonschema/"); i > 0 {
		return rest[:i]
	}
	return rest
}

// linkClick maps link_click: a download when the target is a file, an
// outbound click when it leaves the page's host, else a custom
// link_click. Its element's attributes are properties.
func linkClick(b *webevent.Builder, fl *webevent.Fields, jb webevent.JSONBody, data []byte, p *props, at eventtime.Time) (webevent.Event, *webevent.Rejection) {
	var target string
	m := jb.Members(data)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		switch key {
		case "targetUrl":
			target = strings.TrimSpace(jb.Str(value))
		case "elementId", "elementTarget", "elementContent":
			p.str(key, jb.Str(value))
		case "elementClasses":
			p.raw(key, value)
		}
	}
	if target == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidField, "a link_click needs its targetUrl")
	}
	fl.Name, fl.CustomName = eventmodel.EventCustom, CustomLinkClick
	ev, rej := b.Event(fl, at)
	if rej != nil {
		return webevent.Event{}, rej
	}
	name := linkKind(target, ev.URL.Domain)
	if name == "" || b.SetLink(&ev, name, target) != nil {
		// A link within the site, or one that is no absolute http(s)
		// URL: the click stays a custom event with its target kept.
		p.str("targetUrl", target)
		return ev, nil
	}
	ev.CustomName = ""
	return ev, nil
}

// downloadExtensions are the file types whose links count as downloads,
// the usual list of web analytics tools.
var downloadExtensions = map[string]bool{
	"7z": true, "apk": true, "csv": true, "dmg": true, "doc": true, "docx": true, "epub": true, "exe": true,
	"gz": true, "iso": true, "key": true, "mp3": true, "mp4": true, "msi": true, "odp": true, "ods": true,
	"odt": true, "pdf": true, "pkg": true, "ppt": true, "pptx": true, "rar": true, "rtf": true, "tar": true,
	"tgz": true, "txt": true, "wav": true, "xls": true, "xlsx": true, "zip": true,
}

// linkKind is the event a click on target from a page on pageHost is:
// a file download, an outbound click, or "" for a link within the site.
func linkKind(target, pageHost string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(u.Path), "."))
	switch {
	case downloadExtensions[ext]:
		return eventmodel.EventFileDownload
	case u.Hostname() != "" && !strings.EqualFold(u.Hostname(), pageHost):
		return eventmodel.EventOutboundClick
	}
	return ""
}

// submitForm maps submit_form to a form submission: the form's id and how
// many fields it had (not for a sensitive form, one with a password). The fields' names and values are never kept: a form
// holds what the visitor typed.
func submitForm(b *webevent.Builder, fl *webevent.Fields, jb webevent.JSONBody, data []byte, p *props, at eventtime.Time) (webevent.Event, *webevent.Rejection) {
	fl.Name = eventmodel.EventFormSubmit
	ev, rej := b.Event(fl, at)
	if rej != nil {
		return webevent.Event{}, rej
	}
	m := jb.Members(data)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		switch key {
		case "formId":
			ev.Detail.FormID = b.Truncate(jb.Str(value))
		case "formClasses":
			p.raw(key, value)
		case "elements":
			if len(value) > 0 && value[0] == '[' {
				els := newArray(value)
				ev.Detail.FieldCount = 0
				for el, ok := els.next(); ok; el, ok = els.next() {
					ev.Detail.FieldCount++
					if sensitiveElement(jb, el) {
						ev.Detail.Sensitive = true
					}
				}
			}
		}
	}
	if ev.Detail.Sensitive {
		// As for the tag's forms: a sensitive form says nothing about its
		// fields.
		ev.Detail.FieldCount = -1
	}
	return ev, nil
}

// sensitiveElement reports a password field.
func sensitiveElement(jb webevent.JSONBody, el []byte) bool {
	if len(el) == 0 || el[0] != '{' {
		return false
	}
	m := jb.Members(el)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		if key == "type" && strings.EqualFold(jb.Str(value), "password") {
			return true
		}
	}
	return false
}

// consentOf maps Snowplow's consent events to the consent processor's
// categories (table in docs/migrate.md). ok is false for an event that
// states no choice (consent_preferences pending or implicit_consent),
// which stays a custom event.
func consentOf(name string, jb webevent.JSONBody, data []byte) (webevent.Consent, bool) {
	const g, dn = eventmodel.ConsentGranted, eventmodel.ConsentDenied
	all := func(v string) webevent.Consent {
		return webevent.Consent{Analytics: v, Marketing: v, Personalization: v}
	}
	var eventType, all2 string
	var scopes []byte
	m := jb.Members(data)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		switch key {
		case "eventType":
			eventType = jb.Str(value)
		case "consentScopes":
			scopes = value
		case "all":
			all2 = string(value)
		}
	}
	switch name {
	case nameConsentGrant:
		// Granted to documents whose purposes the event does not name:
		// analytics, what a collector is for; nothing more is assumed.
		return webevent.Consent{Analytics: g}, true
	case nameConsentWithd:
		if all2 == "true" {
			return all(dn), true
		}
		// Some documents withdrawn, which ones unknown: analytics stops.
		return webevent.Consent{Analytics: dn}, true
	}
	switch eventType {
	case "allow_all":
		return all(g), true
	case "deny_all", "withdrawn", "expired":
		return all(dn), true
	case "allow_selected":
		c := all(dn)
		if len(scopes) > 0 && scopes[0] == '[' {
			a := newArray(scopes)
			for s, ok := a.next(); ok; s, ok = a.next() {
				switch scopeCategory(jb.Str(s)) {
				case "analytics":
					c.Analytics = g
				case "marketing":
					c.Marketing = g
				case "personalization":
					c.Personalization = g
				}
			}
		}
		return c, true
	}
	return webevent.Consent{}, false
}

// scopeCategory maps a consent scope name, as consent managers name their
// purposes, to one of the consent processor's categories; "" for a scope
// that is none of them (necessary cookies, unknown purposes).
func scopeCategory(scope string) string {
	switch strings.ToLower(strings.TrimSpace(scope)) {
	case "analytics", "analytical", "statistics", "statistical", "performance", "measurement":
		return "analytics"
	case "marketing", "advertising", "ads", "targeting":
		return "marketing"
	case "personalization", "personalisation", "preferences", "functional", "functionality":
		return "personalization"
	}
	return ""
}
