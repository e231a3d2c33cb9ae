// Package matomo decodes requests of Matomo's HTTP Tracking API
// (matomo.php / piwik.php) into events of the webjourney event model: the
// query string of a GET, the form body of a POST, and the members of a
// bulk request ({"requests": ["?idsite=1&rec=1&...", ...]}).
//
// One request is one event. Its type follows from its parameters as on
// Matomo's server: a goal or ecommerce conversion (idgoal), a heartbeat
// (ping=1), an outlink or download (link, download), a site search
// (search), an event (e_c, e_a), a content impression or interaction
// (c_n), another request that says it is no page view (ca=1), else a page
// view. Parameters that do not map to the event model
// are kept as properties (renamed where Matomo's names are cryptic);
// request-only parameters (cache busters, plugin flags) are ignored.
package matomo // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/matomo"

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/campaign"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// Custom event names of the Matomo requests our event model has no event
// for. An outcome rule of the attribution processor matches them, e.g.
// attributes["webjourney.custom.name"] == "purchase".
const (
	NameGoal               = "goal"
	NamePurchase           = "purchase"
	NameCartUpdate         = "cart_update"
	NameContentImpression  = "content_impression"
	NameContentInteraction = "content_interaction"
	// NameOutlink and NameDownload name an outlink or download whose URL
	// is not an absolute http(s) URL (mailto:, a relative path): it stays
	// a custom event with the link as a property.
	NameOutlink  = "outlink"
	NameDownload = "download"
	// NameCustomAction names a request marked ca=1 ("no page view") that
	// none of the above describes, e.g. of Matomo's media or form
	// analytics plugins: its parameters are its properties.
	NameCustomAction = "custom_action"
)

// Property names of the mapped parameters.
const (
	PropEventCategory      = "event_category"
	PropEventName          = "event_name"
	PropEventValue         = "event_value"
	PropGoalID             = "goal_id"
	PropRevenue            = "revenue"
	PropOrderID            = "order_id"
	PropItems              = "items"
	PropItemsJSON          = "ec_items"
	PropSubtotal           = "subtotal"
	PropTax                = "tax"
	PropShipping           = "shipping"
	PropDiscount           = "discount"
	PropSearchCategory     = "search_category"
	PropSearchCount        = "search_count"
	PropContentName        = "content_name"
	PropContentPiece       = "content_piece"
	PropContentTarget      = "content_target"
	PropContentInteraction = "content_interaction"
	PropLink               = "link"
	PropScreenResolution   = "screen_resolution"
	PropLanguage           = "language"
	PropVisitCount         = "visit_count"
	PropPreviousVisitAt    = "previous_visit_at"
	PropFirstVisitAt       = "first_visit_at"
	PropConversionCampaign = "conversion_campaign"
	PropConversionKeyword  = "conversion_keyword"
	PropConversionReferrer = "conversion_referrer"
	// PropDroppedParams counts the parameters not kept: beyond
	// max_properties, or named outside [A-Za-z0-9_-].
	PropDroppedParams = "dropped_params"
)

// maxItems bounds the products of one ecommerce request.
const maxItems = 1000

// maxCustomTimeSkew is how far in the future an authenticated cdt may be.
const maxCustomTimeSkew = time.Minute

// Decoder decodes Matomo tracking requests. It is safe for concurrent use.
type Decoder struct {
	// Events holds the sites and limits every event is checked against.
	Events *webevent.Decoder
	// SiteIDs maps a Matomo idsite (decimal, as sent) to the site id.
	SiteIDs map[string]string
}

// Batch is what one HTTP request carried: one event for a single
// request, the good members of a bulk request, and the members refused.
type Batch struct {
	Events   []webevent.Event
	Rejected []webevent.EventRejection
	// SendImage is false when a bulk body says "send_image": 0; Matomo
	// then answers 204 instead of its JSON summary.
	SendImage bool
}

// IsBulk reports whether a POST body is a bulk request (a JSON object)
// rather than a form-encoded single request, which never starts with '{'.
func IsBulk(body []byte) bool {
	body = bytes.TrimSpace(body)
	return len(body) > 0 && body[0] == '{'
}

// Decode decodes one tracking request given as its raw query string (for a
// POST, the URL's query and the form body joined with '&').
func (d *Decoder) Decode(rawQuery string, req webevent.Request) (webevent.Event, *webevent.Rejection) {
	var p params
	p.parse(rawQuery)
	var g groups
	return d.event(&p, "", req, &g)
}

// DecodeBulk decodes a bulk request. A body-level problem (not JSON, no
// requests, too many) rejects the request; a bad member is listed in
// Rejected and the others are kept.
func (d *Decoder) DecodeBulk(body []byte, req webevent.Request) (Batch, *webevent.Rejection) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return Batch{}, webevent.Reject(webevent.ReasonInvalidJSON, "the bulk body is not a JSON object")
	}
	jb := webevent.NewJSONBody(body)
	var requests []byte
	var token string
	var noImage bool
	m := jb.Members(body)
	for key, value, ok := m.Next(); ok; key, value, ok = m.Next() {
		switch key {
		case "requests":
			requests = value
		case "token_auth":
			token = jb.Str(value)
		case "send_image":
			v := strings.TrimSpace(scalar(jb, value))
			noImage = v == "0"
		}
	}
	if len(requests) == 0 || requests[0] != '[' {
		return Batch{}, webevent.Reject(webevent.ReasonNoEvents, "the bulk body has no requests array")
	}
	limit := d.Events.Limits.MaxEventsPerBeacon
	members := jb.Elements(requests, limit+1)
	if len(members) == 0 {
		return Batch{}, webevent.Reject(webevent.ReasonNoEvents, "the requests array is empty")
	}
	if len(members) > limit {
		return Batch{}, webevent.Reject(webevent.ReasonTooManyEvents, "more requests than max_events_per_beacon")
	}
	b := Batch{Events: make([]webevent.Event, 0, len(members)), SendImage: !noImage}
	var g groups
	for i, raw := range members {
		var p params
		var rej *webevent.Rejection
		switch raw[0] {
		case '"':
			// A URL or just its query: Matomo reads the part after '?'.
			s := jb.Str(raw)
			if _, q, ok := strings.Cut(s, "?"); ok {
				s = q
			}
			p.parse(s)
		case '{':
			// Matomo also takes a member as an object of parameters.
			mm := jb.Members(raw)
			for key, value, ok := mm.Next(); ok; key, value, ok = mm.Next() {
				p.set(key, scalar(jb, value))
			}
		default:
			rej = webevent.Reject(webevent.ReasonInvalidEvent, "a request must be a query string or an object of parameters")
		}
		var ev webevent.Event
		if rej == nil {
			ev, rej = d.event(&p, token, req, &g)
		}
		if rej != nil {
			b.Rejected = append(b.Rejected, webevent.EventRejection{Index: i, Rejection: *rej})
			continue
		}
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

// scalar is a member value as a parameter value: a string's text, a
// number's or boolean's literal; "" for null, objects and arrays.
func scalar(jb webevent.JSONBody, v []byte) string {
	switch {
	case len(v) == 0:
		return ""
	case v[0] == '"':
		return jb.Str(v)
	case v[0] == '{', v[0] == '[', string(v) == "null":
		return ""
	case string(v) == "true":
		return "1"
	case string(v) == "false":
		return "0"
	}
	return string(v)
}

// groups are the Builders of one HTTP request, one per identity: the
// events of one visitor on one site share their Shared (consent, user id,
// receive-time enrichment), as the events of one beacon do. The first
// Builder lives in the value (a single request needs no other).
type groups struct {
	firstKey groupKey
	first    webevent.Builder
	started  bool
	keys     []groupKey
	more     []*webevent.Builder
}

type groupKey struct {
	site, token, visitorID, userID string
	// cip and ua override the request's address and user agent, which
	// the receiver's enrichment (bots, geo) reads once per Shared.
	cip, ua             string
	consent, cookieless bool
}

func (g *groups) builder(d *Decoder, k groupKey, req webevent.Request) (*webevent.Builder, *webevent.Rejection) {
	if g.started && g.firstKey == k {
		return &g.first, nil
	}
	for i := range g.keys {
		if g.keys[i] == k {
			return g.more[i], nil
		}
	}
	b := &g.first
	if g.started {
		b = new(webevent.Builder)
	}
	if rej := b.Start(d.Events, webevent.JSONBody{}, eventmodel.ChannelMatomo,
		webevent.Identity{Site: k.site, Key: k.token, VisitorID: k.visitorID}, req, 1); rej != nil {
		return nil, rej
	}
	sh := b.Shared()
	sh.UserID = b.Truncate(k.userID)
	if k.consent {
		// matomo.js sends consent=1 only on a site that requires consent
		// (requireConsent) once the visitor gave it.
		sh.Consent.Analytics = eventmodel.ConsentGranted
	}
	// cookie=0: matomo.js runs without cookies (disableCookies, or
	// requireCookieConsent before the consent), so its _id is a new
	// random id on every page: the request is cookieless, as our tag's
	// without identifiers.
	sh.Cookieless = k.cookieless
	if !g.started {
		g.firstKey, g.started = k, true
	} else {
		g.keys = append(g.keys, k)
		g.more = append(g.more, b)
	}
	return b, nil
}

// event decodes one request's parameters; token is the bulk body's
// token_auth, which a member's own overrides.
func (d *Decoder) event(p *params, token string, req webevent.Request, g *groups) (webevent.Event, *webevent.Rejection) {
	if p.token != "" {
		token = p.token
	}
	if strings.TrimSpace(p.rec) != "1" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidRequest, "rec must be 1: Matomo records nothing without it")
	}
	idsite := strings.TrimSpace(p.idsite)
	if idsite == "" {
		return webevent.Event{}, webevent.Reject(webevent.ReasonUnknownSite, "idsite is missing")
	}
	site, ok := d.SiteIDs[idsite]
	if !ok {
		// "01" is site 1, as PHP's integer cast reads it.
		if n, err := strconv.Atoi(idsite); err == nil {
			site, ok = d.SiteIDs[strconv.Itoa(n)]
		}
	}
	if !ok {
		return webevent.Event{}, webevent.Reject(webevent.ReasonUnknownSite, "idsite is not configured for any site of this collector")
	}
	vid := p.visitorID
	if p.forcedVisitorID != "" {
		// cid sets the visitor id, as on Matomo's server.
		vid = p.forcedVisitorID
	}
	if vid != "" && !isVisitorID(vid) {
		return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidID, "_id and cid must be 16 hexadecimal characters")
	}
	b, rej := g.builder(d, groupKey{site: site, token: token, visitorID: strings.ToLower(vid),
		userID: strings.TrimSpace(p.userID), cip: p.cip, ua: p.ua,
		consent: strings.TrimSpace(p.consent) == "1", cookieless: strings.TrimSpace(p.cookie) == "0"}, req)
	if rej != nil {
		return webevent.Event{}, rej
	}
	// Overrides need the site's write key: Matomo requires token_auth for
	// them, and a site without a write key cannot authenticate one. An
	// imported line is authenticated by the import's key.
	trusted := d.Events.Sites[site].WriteKey != "" || req.Import != nil

	at := eventtime.Received(req.Received)
	switch {
	case req.Import != nil:
		// An imported request's time is its cdt, required.
		if at, rej = importTime(p.cdt, req.Import); rej != nil {
			return webevent.Event{}, rej
		}
	case p.cdt != "":
		if at, rej = customTime(p.cdt, req.Received, trusted); rej != nil {
			return webevent.Event{}, rej
		}
	}
	pageURL := p.url
	if pageURL == "" {
		// An <img> without url: the browser's Referer is the page.
		pageURL = req.Referer
	}
	f := webevent.Fields{URL: pageURL, Referrer: p.urlref, Title: p.actionName}
	props := make([]webevent.Prop, 0, 8)
	kind, rej := classify(b, p, &f, &props)
	if rej != nil {
		return webevent.Event{}, rej
	}
	ev, rej := b.Event(&f, at)
	if rej != nil {
		return webevent.Event{}, rej
	}
	if p.pvID != "" {
		if !webevent.ValidID(p.pvID) {
			return webevent.Event{}, webevent.Reject(webevent.ReasonInvalidID, "pv_id must be 1-128 characters of [A-Za-z0-9._:-]")
		}
		ev.Detail.PageViewID = p.pvID
	}
	switch kind {
	case kindPing:
		// A heartbeat says the page is still in use; it carries no
		// duration (Matomo derives one from the requests' times), so the
		// engagement event has no engaged time.
	case kindLink, kindDownload:
		custom, raw := NameOutlink, p.link
		if kind == kindDownload {
			custom, raw = NameDownload, p.download
		}
		if b.SetLink(&ev, ev.Name, raw) != nil {
			ev.Name, ev.CustomName = eventmodel.EventCustom, custom
			props = append(props, webevent.Prop{Key: PropLink, Value: webevent.StringValue(b.Truncate(raw))})
		}
	case kindSearch:
		ev.Name = eventmodel.EventSiteSearch
		ev.Detail.SearchTerm = b.Truncate(p.search)
	case kindPageView:
		if ev.Campaign.IsZero() {
			matomoCampaign(&ev, ev.URL.Query)
		}
	}
	if trusted {
		if err := override(&ev, p, b); err != nil {
			return webevent.Event{}, err
		}
	}
	ev.Props = d.finishProps(b, p, props)
	return ev, nil
}

// kind is the type of a request, decided before the event is built.
type kind uint8

const (
	kindPageView kind = iota
	kindCustom
	kindPing
	kindLink
	kindDownload
	kindSearch
)

// classify decides the request's type with Matomo's precedence, sets the
// event name in f and adds the type's properties.
func classify(b *webevent.Builder, p *params, f *webevent.Fields, props *[]webevent.Prop) (kind, *webevent.Rejection) {
	switch {
	case p.idgoal != "":
		return kindCustom, conversion(b, p, f, props)
	case strings.TrimSpace(p.ping) == "1":
		f.Name = eventmodel.EventEngagement
		return kindPing, nil
	case p.link != "":
		f.Name = eventmodel.EventOutboundClick
		return kindLink, nil
	case p.download != "":
		f.Name = eventmodel.EventFileDownload
		return kindDownload, nil
	case strings.TrimSpace(p.search) != "":
		f.Name = eventmodel.EventSiteSearch
		addString(b, props, PropSearchCategory, p.searchCategory)
		if p.searchCount != "" {
			n, ok := wholeNumber(p.searchCount)
			if !ok {
				return 0, webevent.Reject(webevent.ReasonInvalidField, "search_count must be a whole number")
			}
			*props = append(*props, webevent.Prop{Key: PropSearchCount, Value: webevent.IntValue(n)})
		}
		return kindSearch, nil
	case p.eventCategory != "" || p.eventAction != "":
		// Matomo requires both; the action names the event.
		if strings.TrimSpace(p.eventAction) == "" {
			return 0, webevent.Reject(webevent.ReasonMissingName, "an event needs its action (e_a)")
		}
		if strings.TrimSpace(p.eventCategory) == "" {
			return 0, webevent.Reject(webevent.ReasonInvalidField, "an event needs its category (e_c)")
		}
		f.Name, f.CustomName = eventmodel.EventCustom, p.eventAction
		addString(b, props, PropEventCategory, p.eventCategory)
		addString(b, props, PropEventName, p.eventName)
		return kindCustom, addNumber(props, PropEventValue, p.eventValue, "e_v")
	case p.contentName != "":
		f.Name, f.CustomName = eventmodel.EventCustom, NameContentImpression
		if p.contentInteraction != "" {
			f.CustomName = NameContentInteraction
		}
		addString(b, props, PropContentName, p.contentName)
		addString(b, props, PropContentPiece, p.contentPiece)
		addString(b, props, PropContentTarget, p.contentTarget)
		addString(b, props, PropContentInteraction, p.contentInteraction)
		return kindCustom, nil
	case strings.TrimSpace(p.customAction) == "1":
		f.Name, f.CustomName = eventmodel.EventCustom, NameCustomAction
		return kindCustom, nil
	}
	f.Name = eventmodel.EventPageView
	return kindPageView, nil
}

// conversion maps a goal (idgoal > 0) or an ecommerce request (idgoal=0:
// an order with ec_id, else a cart update).
func conversion(b *webevent.Builder, p *params, f *webevent.Fields, props *[]webevent.Prop) *webevent.Rejection {
	goal, ok := wholeNumber(p.idgoal)
	if !ok {
		return webevent.Reject(webevent.ReasonInvalidField, "idgoal must be a whole number")
	}
	f.Name = eventmodel.EventCustom
	switch {
	case goal > 0:
		f.CustomName = NameGoal
		*props = append(*props, webevent.Prop{Key: PropGoalID, Value: webevent.IntValue(goal)})
	case p.orderID != "":
		f.CustomName = NamePurchase
		addString(b, props, PropOrderID, p.orderID)
	default:
		f.CustomName = NameCartUpdate
	}
	for _, n := range [...]struct{ prop, value, param string }{
		{PropRevenue, p.revenue, "revenue"}, {PropSubtotal, p.subtotal, "ec_st"},
		{PropTax, p.tax, "ec_tx"}, {PropShipping, p.shipping, "ec_sh"}, {PropDiscount, p.discount, "ec_dt"},
	} {
		if rej := addNumber(props, n.prop, n.value, n.param); rej != nil {
			return rej
		}
	}
	if p.items != "" {
		items := []byte(strings.TrimSpace(p.items))
		if len(items) == 0 || items[0] != '[' || !json.Valid(items) {
			return webevent.Reject(webevent.ReasonInvalidField, "ec_items must be a JSON array of products")
		}
		n := len(webevent.NewJSONBody(items).Elements(items, maxItems+1))
		if n > maxItems {
			return webevent.Reject(webevent.ReasonInvalidField, "ec_items has more than 1000 products")
		}
		*props = append(*props,
			webevent.Prop{Key: PropItems, Value: webevent.IntValue(int64(n))},
			webevent.Prop{Key: PropItemsJSON, Value: webevent.StringValue(b.Truncate(p.items))})
	}
	return nil
}

// finishProps adds the renamed and unknown parameters after the mapped
// properties, within max_properties; what does not fit or cannot be a
// property key is counted in PropDroppedParams. Properties are sorted by
// key, as the tag's are.
func (d *Decoder) finishProps(b *webevent.Builder, p *params, props []webevent.Prop) []webevent.Prop {
	limit := d.Events.Limits.MaxProperties
	dropped := p.overflow
	add := func(key, value string) {
		switch {
		case !validPropertyKey(key):
			dropped++
		case slices.ContainsFunc(props, func(q webevent.Prop) bool { return q.Key == key }):
			// A mapped property of the same name wins.
		default:
			props = append(props, webevent.Prop{Key: key, Value: paramValue(b, value)})
		}
	}
	for i := range renames {
		if p.renamed[i] != "" {
			add(renames[i].prop, p.renamed[i])
		}
	}
	for i := range p.nExtra {
		add(p.extra[i].key, p.extra[i].value)
	}
	if dropped > 0 || len(props) > limit {
		// The mapped properties come first and are kept; the count of
		// what was dropped takes the last place.
		if keep := max(limit-1, 0); len(props) > keep {
			dropped += len(props) - keep
			props = props[:keep]
		}
		props = append(props, webevent.Prop{Key: PropDroppedParams, Value: webevent.IntValue(int64(dropped))})
	}
	slices.SortFunc(props, func(a, b webevent.Prop) int { return strings.Compare(a.Key, b.Key) })
	return props
}

// paramValue keeps a whole number as a number (counts, timestamps,
// dimension ids), anything else as truncated text.
func paramValue(b *webevent.Builder, v string) webevent.Value {
	// Digits only, and few enough to fit an int64: ParseInt's error for
	// text would allocate.
	if isDigits(v) && len(v) < 19 {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return webevent.IntValue(n)
		}
	}
	return webevent.StringValue(b.Truncate(v))
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// override applies the authenticated overrides of a server-side sender:
// the visitor's address (cip) and user agent (ua).
func override(ev *webevent.Event, p *params, b *webevent.Builder) *webevent.Rejection {
	if p.cip != "" {
		addr, err := netip.ParseAddr(strings.TrimSpace(p.cip))
		// A zone ("fe80::1%eth0") names an interface of the sender, and
		// would carry any bytes into client.address.
		if err != nil || addr.Zone() != "" {
			return webevent.Reject(webevent.ReasonInvalidField, "cip must be an IPv4 or IPv6 address without a zone")
		}
		ev.ClientAddr = addr.Unmap().String()
	}
	if p.ua != "" {
		ev.UserAgent = b.Truncate(p.ua)
	}
	return nil
}

// customTime reads cdt, a Unix time in seconds or "YYYY-MM-DD HH:MM:SS"
// in UTC. Authenticated (trusted), it is an imported event's time: kept as
// sent at any age, refused in the future. Without authentication Matomo
// takes it only within the last 24 hours; here it is a time the sender
// vouches for, kept within the beacon's bounds (a day back, 10 s ahead)
// and otherwise replaced by the receive time, flagged and counted.
func customTime(cdt string, received time.Time, trusted bool) (eventtime.Time, *webevent.Rejection) {
	ms, rej := cdtMillis(cdt)
	if rej != nil {
		return eventtime.Time{}, rej
	}
	if !trusted {
		return eventtime.Beacon.Vouched(received, &ms), nil
	}
	at, correction := eventtime.Import(received, &ms, 0, maxCustomTimeSkew)
	if correction != "" {
		return eventtime.Time{}, webevent.Reject(webevent.ReasonInvalidField, "cdt is in the future or before 1970")
	}
	return at, nil
}

// importTime is the time of an imported request: its cdt, required, kept
// as sent within the import's rule (the site's import max_age back, 10 s
// ahead), never corrected.
func importTime(cdt string, imp *webevent.Import) (eventtime.Time, *webevent.Rejection) {
	if strings.TrimSpace(cdt) == "" {
		return imp.Time("cdt", cdtUnit, nil)
	}
	ms, rej := cdtMillis(cdt)
	if rej != nil {
		return eventtime.Time{}, rej
	}
	return imp.Time("cdt", cdtUnit, &ms)
}

// cdtUnit is what cdt holds, for the import's rejections.
const cdtUnit = "Unix seconds or YYYY-MM-DD HH:MM:SS in UTC"

// cdtMillis reads cdt, a Unix time in seconds (fractions allowed) or
// "YYYY-MM-DD HH:MM:SS" in UTC, in milliseconds since the epoch.
func cdtMillis(cdt string) (float64, *webevent.Rejection) {
	cdt = strings.TrimSpace(cdt)
	if secs, err := strconv.ParseFloat(cdt, 64); err == nil && !math.IsNaN(secs) && !math.IsInf(secs, 0) {
		return secs * 1000, nil
	}
	if t, err := time.Parse(time.DateTime, cdt); err == nil {
		return float64(t.UnixMilli()), nil
	}
	return 0, webevent.Reject(webevent.ReasonInvalidField, "cdt must be a Unix time in seconds or YYYY-MM-DD HH:MM:SS (UTC)")
}

// matomoCampaign reads Matomo's own campaign parameters, which campaign
// (utm_*, mtm_*) does not: pk_* and the older piwik_* and matomo_*.
func matomoCampaign(ev *webevent.Event, query string) {
	if !strings.Contains(query, "pk_") && !strings.Contains(query, "piwik_") && !strings.Contains(query, "matomo_") {
		return
	}
	var c campaign.Params
	for rawKey, rawValue := range urlquery.Params(query) {
		var dst *string
		switch strings.ToLower(rawKey) {
		case "pk_campaign", "pk_cpn", "piwik_campaign", "matomo_campaign":
			dst = &c.Name
		case "pk_kwd", "pk_keyword", "piwik_kwd", "matomo_kwd":
			dst = &c.Term
		case "pk_source":
			dst = &c.Source
		case "pk_medium":
			dst = &c.Medium
		case "pk_content":
			dst = &c.Content
		case "pk_cid":
			dst = &c.ID
		default:
			continue
		}
		if *dst == "" {
			v := strings.TrimSpace(urlquery.Unescape(rawValue))
			if len(v) > campaign.MaxValueLen {
				v = strings.ToValidUTF8(v[:campaign.MaxValueLen], "")
			}
			*dst = v
		}
	}
	ev.Campaign = c
}

func addString(b *webevent.Builder, props *[]webevent.Prop, key, v string) {
	if v = b.Truncate(v); v != "" {
		*props = append(*props, webevent.Prop{Key: key, Value: webevent.StringValue(v)})
	}
}

// addNumber adds a finite number; a value that is not one rejects the
// request (a revenue that cannot be read must not count as zero).
func addNumber(props *[]webevent.Prop, key, v, param string) *webevent.Rejection {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return webevent.Reject(webevent.ReasonInvalidField, param+" must be a number")
	}
	*props = append(*props, webevent.Prop{Key: key, Value: webevent.FloatValue(f)})
	return nil
}

func wholeNumber(v string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil && n >= 0
}

// isVisitorID reports Matomo's visitor id format: 16 hexadecimal digits.
func isVisitorID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
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
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
