package matomo // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/matomo"

import (
	"strings"

	"github.com/webjourney/webjourney/internal/urlquery"
)

// maxExtra bounds the parameters of one request kept as properties beyond
// the mapped ones; the receiver's max_properties is the real limit, this
// only keeps params a value on the decoder's stack.
const maxExtra = 48

// param is one parameter kept as a property under its own name.
type param struct{ key, value string }

// params holds one tracking request's parameters, unescaped. The first
// non-empty value of a repeated parameter wins, as in the tag's pixel.
type params struct {
	idsite, rec, url, urlref, actionName string
	visitorID, forcedVisitorID, userID   string
	pvID, ping, consent, cookie, token   string
	customAction                         string
	eventCategory, eventAction           string
	eventName, eventValue                string
	idgoal, revenue                      string
	orderID, items                       string
	subtotal, tax, shipping, discount    string
	search, searchCategory, searchCount  string
	link, download                       string
	contentName, contentPiece            string
	contentTarget, contentInteraction    string
	ua, cip, cdt                         string
	// renamed are mapped parameters that become properties under our
	// names (res, lang, _idvc, ...); extra are the unknown ones, kept
	// under their own names.
	renamed  [len(renames)]string
	extra    [maxExtra]param
	nExtra   int
	overflow int
}

// renames maps parameters to the property names they are kept under.
var renames = [...]struct{ param, prop string }{
	{"res", PropScreenResolution},
	{"lang", PropLanguage},
	{"_idvc", PropVisitCount},
	{"_viewts", PropPreviousVisitAt},
	{"_idts", PropFirstVisitAt},
	{"_rcn", PropConversionCampaign},
	{"_rck", PropConversionKeyword},
	{"_ref", PropConversionReferrer},
}

// parse adds the parameters of a raw query string.
func (p *params) parse(rawQuery string) {
	for rawKey, rawValue := range urlquery.Params(rawQuery) {
		key := urlquery.Unescape(rawKey)
		if ignored(key) {
			// Not unescaped: uadata (client hints JSON) is long and escaped.
			continue
		}
		p.set(key, urlquery.Unescape(rawValue))
	}
}

// set records one parameter.
func (p *params) set(key, value string) {
	if key == "" || value == "" {
		return
	}
	if dst := p.field(key); dst != nil {
		if *dst == "" {
			*dst = value
		}
		return
	}
	if ignored(key) {
		return
	}
	for i := range renames {
		if renames[i].param == key {
			if p.renamed[i] == "" {
				p.renamed[i] = value
			}
			return
		}
	}
	for i := range p.nExtra {
		if p.extra[i].key == key {
			return
		}
	}
	if p.nExtra == maxExtra {
		p.overflow++
		return
	}
	p.extra[p.nExtra] = param{key, value}
	p.nExtra++
}

func (p *params) field(key string) *string {
	switch key {
	case "idsite":
		return &p.idsite
	case "rec":
		return &p.rec
	case "url":
		return &p.url
	case "urlref":
		return &p.urlref
	case "action_name":
		return &p.actionName
	case "_id":
		return &p.visitorID
	case "cid":
		return &p.forcedVisitorID
	case "uid":
		return &p.userID
	case "pv_id":
		return &p.pvID
	case "ping":
		return &p.ping
	case "consent":
		return &p.consent
	case "cookie":
		return &p.cookie
	case "ca":
		return &p.customAction
	case "token_auth":
		return &p.token
	case "e_c":
		return &p.eventCategory
	case "e_a":
		return &p.eventAction
	case "e_n":
		return &p.eventName
	case "e_v":
		return &p.eventValue
	case "idgoal":
		return &p.idgoal
	case "revenue":
		return &p.revenue
	case "ec_id":
		return &p.orderID
	case "ec_items":
		return &p.items
	case "ec_st":
		return &p.subtotal
	case "ec_tx":
		return &p.tax
	case "ec_sh":
		return &p.shipping
	case "ec_dt":
		return &p.discount
	case "search":
		return &p.search
	case "search_cat":
		return &p.searchCategory
	case "search_count":
		return &p.searchCount
	case "link":
		return &p.link
	case "download":
		return &p.download
	case "c_n":
		return &p.contentName
	case "c_p":
		return &p.contentPiece
	case "c_t":
		return &p.contentTarget
	case "c_i":
		return &p.contentInteraction
	case "ua":
		return &p.ua
	case "cip":
		return &p.cip
	case "cdt":
		return &p.cdt
	}
	return nil
}

// ignored reports the parameters that describe the request rather than
// the visit: cache busters, the browser's local time and plugin flags,
// the answer wanted, API versions and client hints (docs/migrate.md lists
// them). Every other unknown parameter is kept as a property.
func ignored(key string) bool {
	switch key {
	case "rand", "r", "h", "m", "s", "send_image", "apiv", "uadata",
		"fla", "java", "dir", "qt", "realp", "pdf", "wma", "gears", "ag",
		"_ects", "_refts", "bots", "queuedtracking", "debug":
		return true
	}
	return false
}

// SendImage reports whether a raw query asks for the GIF: Matomo answers
// 204 only for send_image=0 and the image otherwise.
func SendImage(rawQuery string) bool {
	v, ok := urlquery.Value(rawQuery, "send_image")
	return !ok || strings.TrimSpace(v) != "0"
}
