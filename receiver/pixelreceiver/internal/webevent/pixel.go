package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"crypto/subtle"
	"net/url"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
)

// Pixel query parameters. They are short on purpose (an image URL has to fit
// browser and proxy URL limits) and follow Matomo/Snowplow habits.
const (
	ParamSite       = "s"
	ParamURL        = "url"
	ParamReferrer   = "ref"
	ParamTitle      = "t"
	ParamVisitorID  = "vid"
	ParamSessionID  = "sid"
	ParamEventType  = "e"
	ParamName       = "n"
	ParamEventID    = "eid"
	ParamPropPrefix = "p."
	ParamWriteKey   = "k"
	// ParamGDPR and ParamGDPRConsent are the IAB TCF URL parameters that ad
	// servers fill with the ${GDPR} and ${GDPR_CONSENT_xxx} macros.
	ParamGDPR        = "gdpr"
	ParamGDPRConsent = "gdpr_consent"
)

// Values of ParamEventType.
const (
	PixelTypePageView = "pv"
	PixelTypeCustom   = "ev"
)

// pixelQuery holds the recognised parameters of one hit.
type pixelQuery struct {
	site, url, ref, title, vid, sid, typ, name, eid string
	key, gdpr, gdprConsent                          string
	props                                           []Prop
	// propRej is reported only after the other checks so that, say, a hit
	// for an unknown site is counted as unknown_site whatever else it has.
	propRej *Rejection
}

// DecodePixel decodes the raw query string of one image-pixel hit.
func (d *Decoder) DecodePixel(rawQuery string, req Request) (Event, *Rejection) {
	return d.DecodeHit(eventmodel.ChannelPixel, rawQuery, req)
}

// DecodeHit decodes the raw query string of one hit on a GET surface (image
// or iframe pixel: same parameters) and records channel as its ingest channel.
func (d *Decoder) DecodeHit(channel, rawQuery string, req Request) (Event, *Rejection) {
	var q pixelQuery
	d.parseQuery(rawQuery, &q)

	c := common{site: q.site, key: q.key, visitorID: q.vid, sessionID: q.sid, channel: channel, req: req}
	if rej := d.checkCommon(&c); rej != nil {
		return Event{}, rej
	}
	shared := pixelShared(&q, req)
	eventType, ok := pixelEventType(q.typ)
	if !ok {
		return Event{}, reject(ReasonInvalidType, `parameter e must be "pv" or "ev"`)
	}
	pageURL := q.url
	if pageURL == "" {
		pageURL = c.refererFallback(req.Referer)
	}
	// A pixel hit happens now: there is no client clock to correct.
	ev := Event{Time: eventtime.Received(req.Received)}
	f := fields{id: q.eid, eventType: eventType, url: pageURL, referrer: q.ref, title: q.title, name: q.name}
	if rej := d.build(&c, &f, &ev); rej != nil {
		return Event{}, rej
	}
	if q.propRej != nil {
		return Event{}, q.propRej
	}
	ev.Props = q.props
	ev.Shared = shared
	ev.Detail = Detail{EngagedMs: -1, ScrollDepth: -1, FieldCount: -1}
	return ev, nil
}

// pixelShared collects the consent signals of a hit: the browser's headers
// and the TCF URL parameters. A malformed TC string never rejects the hit.
func pixelShared(q *pixelQuery, req Request) *Shared {
	s := &Shared{GPC: req.GPC, DNT: req.DNT}
	if q.gdpr != "" || q.gdprConsent != "" {
		applies, macro := pixelGDPR(q.gdpr)
		s.TCF = newTCF(applies, macro, q.gdprConsent)
	}
	return s
}

// refererFallback returns the Referer header when it can stand in for the page
// URL. A <noscript><img> cannot carry the page URL in its src, but the browser
// sends the embedding page as Referer (subject to the page's Referrer-Policy).
// It is parsed through the request's cache, so that the page URL it
// becomes is not parsed a second time.
func (c *common) refererFallback(referer string) string {
	if referer == "" {
		return ""
	}
	if _, err := c.parsed.parse(referer); err != nil {
		return ""
	}
	return referer
}

func pixelEventType(e string) (string, bool) {
	switch e {
	case "", PixelTypePageView:
		return eventmodel.EventPageView, true
	case PixelTypeCustom:
		return eventmodel.EventCustom, true
	}
	return "", false
}

// parseQuery walks the query once. It does what url.ParseQuery does (skip a
// malformed pair rather than fail the hit) without building a map, and the
// first non-empty value of a repeated parameter wins.
func (d *Decoder) parseQuery(rawQuery string, q *pixelQuery) {
	for rawKey, rawValue := range urlquery.Params(rawQuery) {
		key, err := url.QueryUnescape(rawKey)
		if err != nil || key == "" {
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			continue
		}
		if propKey, ok := strings.CutPrefix(key, ParamPropPrefix); ok {
			d.addPixelProp(q, propKey, value)
			continue
		}
		if dst := q.field(key); dst != nil && *dst == "" {
			*dst = value
		}
	}
}

func (q *pixelQuery) field(key string) *string {
	switch key {
	case ParamSite:
		return &q.site
	case ParamURL:
		return &q.url
	case ParamReferrer:
		return &q.ref
	case ParamTitle:
		return &q.title
	case ParamVisitorID:
		return &q.vid
	case ParamSessionID:
		return &q.sid
	case ParamEventType:
		return &q.typ
	case ParamName:
		return &q.name
	case ParamEventID:
		return &q.eid
	case ParamWriteKey:
		return &q.key
	case ParamGDPR:
		return &q.gdpr
	case ParamGDPRConsent:
		return &q.gdprConsent
	}
	return nil // unknown parameters are ignored: cache busters, future additions
}

func (d *Decoder) addPixelProp(q *pixelQuery, key, value string) {
	if q.propRej != nil {
		return
	}
	if !validPropertyKey(key) {
		q.propRej = reject(ReasonInvalidProperty, "property keys must be 1-64 characters of [A-Za-z0-9_-]")
		return
	}
	for _, p := range q.props {
		if p.Key == key {
			return
		}
	}
	if len(q.props) == d.Limits.MaxProperties {
		q.propRej = reject(ReasonTooManyProperties, "more custom properties than max_properties")
		return
	}
	q.props = append(q.props, Prop{Key: key, Value: StringValue(d.truncate(value))})
}

// checkCommon validates what all events of a request share.
func (d *Decoder) checkCommon(c *common) *Rejection {
	if c.site == "" {
		return reject(ReasonUnknownSite, "the site id is missing")
	}
	site, ok := d.Sites[c.site]
	if !ok {
		return reject(ReasonUnknownSite, "the site id is not configured on this collector")
	}
	c.siteRules = site
	// An import line's own write key is not asked for: the request's
	// import key authenticated it. Constant time: the comparison must not
	// tell a prober how much of a guessed key was right.
	if c.req.Import == nil && site.WriteKey != "" && subtle.ConstantTimeCompare([]byte(c.key), []byte(site.WriteKey)) != 1 {
		return reject(ReasonInvalidWriteKey, "the site requires its write key")
	}
	return c.checkIDs()
}

// checkIDs checks the visitor and session ids of a request (or of an
// imported line).
func (c *common) checkIDs() *Rejection {
	// Empty ids mean "none" (a tag without storage consent sends none).
	if c.visitorID != "" && !ValidID(c.visitorID) {
		return reject(ReasonInvalidID, "visitor id must be 1-128 characters of [A-Za-z0-9._:-]")
	}
	if c.sessionID != "" && !ValidID(c.sessionID) {
		return reject(ReasonInvalidID, "session id must be 1-128 characters of [A-Za-z0-9._:-]")
	}
	return nil
}
