package ga4 // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// gtag.js sends to /g/collect (v=2): the URL's query carries what all the
// request's events share (tid, cid, sid, dl, consent, ...) and, for one
// event, the event itself (en, ep.*, epn.*, _et); a POST body carries a
// batch, one event a line, each line a query string whose params add to
// (and win over) the URL's. Google does not document this wire format;
// the names below are the ones gtag.js sends, as its public parameter
// write-ups and server-side tagging's GA4 client read them.

// Property names of the gtag.js params kept under our names.
const (
	PropSessionCount     = "session_count"
	PropSessionEngaged   = "session_engaged"
	PropLanguage         = "language"
	PropScreenResolution = "screen_resolution"
)

// writeKeyParam carries the site's write key for a site that has one:
// gtag('config', 'G-...', {write_key: '...'}) sends it with every event.
const writeKeyParam = "write_key"

// DecodeCollect decodes a gtag.js request: rawQuery is the URL's query,
// body the batched events of a POST (empty: the URL's one event). A
// problem of the whole request (v is not 2, unknown tid, bad cid, too many
// events) refuses it; a bad event is listed in Refused, the others kept.
func (d *Decoder) DecodeCollect(rawQuery string, body []byte, req webevent.Request) (Batch, *Refusal) {
	if v, _ := urlquery.Value(rawQuery, "v"); v != "2" {
		return Batch{}, refuse(-1, webevent.ReasonInvalidRequest, "v", CodeValueInvalid, "v must be 2 (GA4's gtag.js)")
	}
	tid, _ := urlquery.Value(rawQuery, "tid")
	s, r := d.site(tid)
	if r != nil {
		r.FieldPath = "tid"
		return Batch{}, r
	}
	cid, _ := urlquery.Value(rawQuery, "cid")
	cid = strings.TrimSpace(cid)
	if cid != "" && !webevent.ValidID(cid) {
		return Batch{}, refuse(-1, webevent.ReasonInvalidID, "cid", CodeValueInvalid, "cid must be 1-128 characters of [A-Za-z0-9._:-]")
	}
	lines := collectLines(body)
	limit := d.Events.Limits.MaxEventsPerBeacon
	if len(lines) > limit {
		return Batch{}, refuse(-1, webevent.ReasonTooManyEvents, "", CodeExceededMaxEntities, "more events than max_events_per_beacon")
	}
	key, ok := urlquery.Value(rawQuery, "ep."+writeKeyParam)
	if !ok && len(lines) > 0 {
		// A batch may carry the config's params on its events' lines.
		key, _ = urlquery.Value(lines[0], "ep."+writeKeyParam)
	}
	var b webevent.Builder
	if rej := b.Start(d.Events, webevent.JSONBody{}, eventmodel.ChannelGA4, webevent.Identity{Site: s.ID, Key: key, VisitorID: cid}, req, max(len(lines), 1)); rej != nil {
		return Batch{}, refusal(-1, rej, startField(rej, "ep."+writeKeyParam, "cid"))
	}
	sh := b.Shared()
	uid, _ := urlquery.Value(rawQuery, "uid")
	sh.UserID = b.Truncate(uid)
	if cid == "" {
		// gtag.js without analytics_storage consent in Consent Mode's
		// advanced setup pings without a client id: no identifier.
		sh.Cookieless = true
	}
	collectConsent(rawQuery, sh)

	at := eventtime.Received(req.Received)
	if len(lines) == 0 {
		lines = append(lines, "")
	}
	out := Batch{Events: make([]webevent.Event, 0, len(lines))}
	page := ""
	for i, line := range lines {
		in := eventIn{index: i, at: at}
		d.collectParams(&b, &in, line)
		d.collectParams(&b, &in, rawQuery)
		if r := checkName(i, in.name); r != nil {
			out.Refused = append(out.Refused, *r)
			continue
		}
		if in.page != "" {
			page = in.page
		}
		ev, r := d.event(&b, &in, page)
		if r != nil {
			out.Refused = append(out.Refused, *r)
			continue
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}

// collectLines splits a batch body into its non-empty lines.
func collectLines(body []byte) []string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	var lines []string
	for raw := range bytes.SplitSeq(body, []byte{'\n'}) {
		if l := strings.TrimSpace(string(raw)); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// collectParams adds the event params of one query string; a param
// already set (by the line, which is read first) is kept.
func (d *Decoder) collectParams(b *webevent.Builder, in *eventIn, query string) {
	limit := d.Events.Limits.MaxProperties
	for rawKey, rawValue := range urlquery.Params(query) {
		key := urlquery.Unescape(rawKey)
		if collectIgnored(key) {
			continue
		}
		value := urlquery.Unescape(rawValue)
		switch {
		case key == "en":
			if in.name == "" {
				in.name = strings.TrimSpace(value)
			}
		case key == "dl":
			in.mappedParam("page_location", value)
		case key == "dr":
			in.mappedParam("page_referrer", value)
		case key == "dt":
			in.mappedParam("page_title", value)
		case key == "sid":
			in.mappedParam("session_id", value)
		case key == "cu":
			in.mappedParam("currency", value)
		case key == "_et":
			collectNumber(in, "engagement_time_msec", value, limit)
		case key == "sct":
			collectProp(b, in, PropSessionCount, value, true, limit)
		case key == "seg":
			collectProp(b, in, PropSessionEngaged, value, true, limit)
		case key == "ul":
			collectProp(b, in, PropLanguage, value, false, limit)
		case key == "sr":
			collectProp(b, in, PropScreenResolution, value, false, limit)
		case strings.HasPrefix(key, "epn."):
			collectNumber(in, key[len("epn."):], value, limit)
		case strings.HasPrefix(key, "ep."):
			k := key[len("ep."):]
			switch k {
			case writeKeyParam:
				// The write key, checked by Start: never a property.
			case "engagement_time_msec", "value":
				collectNumber(in, k, value, limit)
			case "outbound":
				in.outbound = in.outbound || value == "true" || value == "1"
			default:
				if !in.mappedParam(k, value) {
					collectProp(b, in, k, value, false, limit)
				}
			}
		case strings.HasPrefix(key, "upn."):
			collectProp(b, in, PropUserPrefix+key[len("upn."):], value, true, limit)
		case strings.HasPrefix(key, "up."):
			collectProp(b, in, PropUserPrefix+key[len("up."):], value, false, limit)
		case isItemParam(key):
			// Items (pr1=id...~nm...): counted, each kept as sent.
			in.itemCount++
			collectProp(b, in, key, value, false, limit)
		default:
			collectProp(b, in, key, value, false, limit)
		}
	}
}

// collectNumber reads a numeric param: the engaged time and value fields,
// else a number property; a value that is no number is counted.
func collectNumber(in *eventIn, k, value string, limit int) {
	n, ok := parseNumber(value)
	switch {
	case !ok:
		in.dropped++
	case k == "engagement_time_msec":
		if !in.hasEngaged {
			in.engaged, in.hasEngaged = n, true
		}
	case k == "value":
		if !in.hasValue {
			in.value, in.hasValue = n, true
		}
	default:
		in.addProp(k, number(n), limit)
	}
}

// collectProp adds a param as a property: a number when numeric says so
// (and it is one), else truncated text.
func collectProp(b *webevent.Builder, in *eventIn, k, value string, numeric bool, limit int) {
	if numeric {
		if n, ok := parseNumber(value); ok {
			in.addProp(k, number(n), limit)
			return
		}
	}
	if value == "" {
		return
	}
	in.addProp(k, webevent.StringValue(b.Truncate(value)), limit)
}

// collectConsent maps Consent Mode's gcs, gcd and npa to our consent
// signals (docs/migrate.md). gcd, the newer and finer signal, wins.
func collectConsent(rawQuery string, sh *webevent.Shared) {
	if gcs, ok := urlquery.Value(rawQuery, "gcs"); ok && len(gcs) == 4 && gcs[:2] == "G1" {
		// G1xy: x is ad_storage, y analytics_storage.
		sh.Consent.Marketing = consentBit(gcs[2])
		sh.Consent.Analytics = consentBit(gcs[3])
	}
	if gcd, ok := urlquery.Value(rawQuery, "gcd"); ok {
		// The letters, in order: ad_storage, analytics_storage,
		// ad_user_data, ad_personalization; digits separate them.
		var states [4]string
		n := 0
		for i := 0; i < len(gcd) && n < len(states); i++ {
			if c := gcd[i]; 'a' <= c && c <= 'z' {
				states[n] = consentLetter(c)
				n++
			}
		}
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&sh.Consent.Marketing, states[0])
		set(&sh.Consent.Analytics, states[1])
		set(&sh.Consent.Marketing, states[2])
		set(&sh.Consent.Personalization, states[3])
	}
	if npa, _ := urlquery.Value(rawQuery, "npa"); npa == "1" && sh.Consent.Personalization == "" {
		sh.Consent.Personalization = eventmodel.ConsentDenied
	}
}

func consentBit(c byte) string {
	switch c {
	case '1':
		return eventmodel.ConsentGranted
	case '0':
		return eventmodel.ConsentDenied
	}
	return ""
}

// consentLetter is one gcd letter's final state: the default and the
// update combined, the update winning ("" for l: not set).
func consentLetter(c byte) string {
	switch c {
	case 't', 'r', 'n', 'v':
		return eventmodel.ConsentGranted
	case 'p', 'q', 'm', 'u':
		return eventmodel.ConsentDenied
	}
	return ""
}

// isItemParam reports an item of an ecommerce event: pr1, pr2, ...
func isItemParam(k string) bool {
	if len(k) < 3 || k[:2] != "pr" {
		return false
	}
	_, err := strconv.Atoi(k[2:])
	return err == nil
}

// collectIgnored reports the params that describe the request or the
// tag rather than the event (request-level ids handled apart, cache
// busters, hit counters, tag and experiment ids, client hints); listed
// in docs/migrate.md.
func collectIgnored(k string) bool {
	switch k {
	case "v", "tid", "cid", "uid", "gcs", "gcd", "npa", "dma", "dma_cps", "gtm", "_p", "_s", "_z",
		"_gaz", "_eu", "_ee", "_fv", "_nsi", "_ss", "_dbg", "_c", "_uc", "_r", "tfd", "richsstsse",
		"are", "frm", "pscdl", "ngs", "tag_exp", "ecid", "gdid", "_ng",
		"uaa", "uab", "uafvl", "uamb", "uam", "uap", "uapv", "uaw":
		return true
	}
	return false
}
