// Package webevent decodes pixel hits and JSON beacons into events of the
// webjourney event model and writes them as log records. It knows nothing
// about HTTP servers: the receiver hands it the payload and a few request
// facts, which keeps every decoder a pure function that can be fuzzed.
package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
	"github.com/webjourney/webjourney/internal/randomid"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/campaign"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/origin"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"
)

// maxIDLength bounds event, visitor and session ids.
const maxIDLength = 128

// maxPropertyKeyLength bounds custom property keys.
const maxPropertyKeyLength = 64

// Limits are the explicit bounds on what one request may carry.
type Limits struct {
	MaxEventsPerBeacon int
	// MaxStringLength is in bytes of UTF-8: bytes are what memory, storage and
	// Elasticsearch's keyword limits are measured in.
	MaxStringLength int
	MaxProperties   int
}

// Decoder turns payloads into events. It is safe for concurrent use.
type Decoder struct {
	Sites  map[string]Site
	Limits Limits
}

// Site is what the decoder checks per configured site.
type Site struct {
	// WriteKey, when set, must be sent with every request of the site
	// (beacon "key", pixel parameter "k").
	WriteKey string
	// Origins restricts the page URLs the site's events may come from; nil
	// allows any.
	Origins *origin.Set
}

// Request holds the facts about the HTTP request that go into every event.
type Request struct {
	Received      time.Time
	UserAgent     string
	ClientAddress string
	// Referer is the request's Referer header; the pixel falls back to it
	// for the page URL.
	Referer string
	// GPC and DNT are the Sec-GPC and DNT request headers ("1" = set).
	GPC, DNT bool
	// Import is set when the hit is a line of an authenticated import
	// rather than a live request (see Import).
	Import *Import
}

// Event is one decoded, validated event.
type Event struct {
	Name string // eventmodel.EventPageView or eventmodel.EventCustom
	ID   string
	// GeneratedID is set when the sender gave no event id and ID is a
	// random one: an import replaces it with an id derived from the line,
	// so that a second import of the line is recognised.
	GeneratedID bool
	SiteID      string
	Channel     string
	// ImportFormat is the format of the import line the event came from
	// (webjourney.ingest.format), "" for a live event.
	ImportFormat string
	URL          pageurl.URL
	Referrer     pageurl.URL
	HasReferrer  bool
	Title        string
	VisitorID    string
	SessionID    string
	CustomName   string
	Props        []Prop
	UserAgent    string
	ClientAddr   string
	// Time is when the event happened and how the receiver decided it.
	Time     eventtime.Time
	Observed time.Time

	// Detail holds the fields of the event types other than page_view and
	// custom. Campaign is parsed from the page URL's query of a page view:
	// a campaign is a property of the landing, not of every later click.
	Detail   Detail
	Campaign campaign.Params
	// ReferralLanding is set on the page view on which the receiver
	// detected the referral partner in Shared (webjourney.referral.landing).
	ReferralLanding bool
	// NonInteractive is set when the sender marked the event as no
	// interaction of the visitor (webjourney.event.non_interactive).
	NonInteractive bool
	// Shared is what every event of the request has in common: identity,
	// consent signals and receive-time enrichment. Events of one beacon
	// point to the same value.
	Shared *Shared
}

// Prop is one custom property.
type Prop struct {
	Key   string
	Value Value
}

// Value is a property value: a string, int64, float64 or bool. A tagged
// struct rather than an interface, because boxing a string or a float into
// an interface allocates, once per property of every event.
type Value struct {
	kind valueKind
	str  string
	num  int64 // int64, or the bits of a float64, or 0/1 for a bool
}

type valueKind uint8

const (
	kindNull valueKind = iota
	kindString
	kindInt
	kindFloat
	kindBool
)

// StringValue, IntValue, FloatValue and BoolValue make property values.
func StringValue(s string) Value { return Value{kind: kindString, str: s} }
func IntValue(i int64) Value     { return Value{kind: kindInt, num: i} }
func FloatValue(f float64) Value { return Value{kind: kindFloat, num: int64(math.Float64bits(f))} }
func BoolValue(b bool) Value {
	if b {
		return Value{kind: kindBool, num: 1}
	}
	return Value{kind: kindBool}
}

// IsNull reports a JSON null, which means "not set".
func (v Value) IsNull() bool { return v.kind == kindNull }

// AsAny returns the value as a string, int64, float64, bool or nil.
func (v Value) AsAny() any {
	switch v.kind {
	case kindString:
		return v.str
	case kindInt:
		return v.num
	case kindFloat:
		return math.Float64frombits(uint64(v.num))
	case kindBool:
		return v.num == 1
	}
	return nil
}

// common is what every event of a request shares.
type common struct {
	site, key, visitorID, sessionID string
	channel                         string
	req                             Request
	siteRules                       Site
	shared                          *Shared
	propSlab                        []Prop
	events                          int // events in the request
	parsed                          urlCache
}

// fields are the per-event values as the sender spelled them.
type fields struct {
	id, eventType, url, referrer, title, name string
}

// build validates f and fills ev. Properties are checked by the caller
// because the two wire formats carry them differently.
func (d *Decoder) build(c *common, f *fields, ev *Event) *Rejection {
	ev.SiteID, ev.Channel = c.site, c.channel
	ev.VisitorID, ev.SessionID = c.visitorID, c.sessionID
	ev.UserAgent = d.truncate(c.req.UserAgent)
	ev.ClientAddr = c.req.ClientAddress
	ev.Observed = c.req.Received
	if c.req.Import != nil {
		ev.ImportFormat = c.req.Import.Format
	}

	if f.id == "" {
		// A client id lets a retried hit de-duplicate downstream; without
		// one, every hit is unique.
		ev.ID, ev.GeneratedID = randomid.New(), true
	} else if !ValidID(f.id) {
		return reject(ReasonInvalidID, "event id must be 1-128 characters of [A-Za-z0-9._:-]")
	} else {
		ev.ID = f.id
	}
	ev.Name = f.eventType
	if rej := d.setURL(c, ev, f.url); rej != nil {
		return rej
	}
	if rej := c.checkOrigin(&ev.URL); rej != nil {
		return rej
	}
	d.setReferrer(c, ev, f.referrer)
	ev.Title = d.truncate(strings.TrimSpace(f.title))
	if ev.Name == eventmodel.EventCustom {
		ev.CustomName = d.truncate(strings.TrimSpace(f.name))
		if ev.CustomName == "" {
			return reject(ReasonMissingName, "a custom event needs a name")
		}
	}
	if ev.Name == eventmodel.EventPageView {
		ev.Campaign = campaign.FromQuery(ev.URL.Query)
	}
	return nil
}

func (d *Decoder) setURL(c *common, ev *Event, raw string) *Rejection {
	if raw == "" {
		return reject(ReasonMissingURL, "the page URL is missing")
	}
	// A page URL is the key of a page view: cutting it would silently count
	// a different page, so an over-long one is rejected, not truncated.
	if len(raw) > d.Limits.MaxStringLength {
		return reject(ReasonURLTooLong, "the page URL is longer than max_string_length")
	}
	u, err := c.parsed.parse(raw)
	if err != nil {
		return reject(ReasonInvalidURL, "the page URL must be an absolute http(s) URL")
	}
	ev.URL = u
	return nil
}

// urlCache remembers the last URLs parsed for one request: the events of
// a beacon mostly share their page URL and referrer, and parsing is what
// allocates.
type urlCache struct {
	raw [2]string
	url [2]pageurl.URL
	err [2]error
	n   int
}

func (uc *urlCache) parse(raw string) (pageurl.URL, error) {
	for i := range uc.raw {
		if uc.raw[i] == raw && (uc.url[i].Full != "" || uc.err[i] != nil) {
			return uc.url[i], uc.err[i]
		}
	}
	u, err := pageurl.Parse(raw)
	i := uc.n % len(uc.raw)
	uc.raw[i], uc.url[i], uc.err[i] = raw, u, err
	uc.n++
	return u, err
}

// checkOrigin rejects a page URL outside the site's allowed origins, so a
// site's data cannot be polluted by pages that merely copied its tag.
func (c *common) checkOrigin(u *pageurl.URL) *Rejection {
	if !c.siteRules.Origins.Allows(u.Scheme, u.Domain, u.Port) {
		return reject(ReasonOriginNotAllowed, "the page URL is not on one of the site's allowed_origins")
	}
	return nil
}

// setReferrer keeps a valid absolute http(s) referrer, or the android-app
// referrer of a page opened from an Android app (its package name as the
// domain: the attribution processor classifies apps by it), and silently
// drops anything else: a referrer is context, and must never cost the page
// view.
func (d *Decoder) setReferrer(c *common, ev *Event, raw string) {
	if raw == "" {
		return
	}
	u, err := c.parsed.parse(raw)
	if err != nil {
		if len(raw) < len(pageurl.SchemeAndroidApp) || !strings.EqualFold(raw[:len(pageurl.SchemeAndroidApp)], pageurl.SchemeAndroidApp) {
			return
		}
		if u, err = pageurl.ParseAndroidApp(raw); err != nil {
			return
		}
	}
	// Unlike the page URL, an over-long referrer is truncated: its domain
	// (parsed above from the whole value) is what attribution needs.
	u.Full, u.Path, u.Query = d.truncate(u.Full), d.truncate(u.Path), d.truncate(u.Query)
	ev.Referrer, ev.HasReferrer = u, true
}

// truncate makes s valid UTF-8 and cuts it to MaxStringLength bytes without
// splitting a character.
func (d *Decoder) truncate(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	limit := d.Limits.MaxStringLength
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit]
}

// ValidID reports whether s is 1-128 characters of [A-Za-z0-9._:-]. The
// charset covers UUIDs, hex, base64url-less-padding and prefixed ids while
// keeping ids safe as Elasticsearch document ids and in URLs.
func ValidID(s string) bool {
	if s == "" || len(s) > maxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

// validPropertyKey reports whether k is 1-64 characters of [A-Za-z0-9_-].
// Dots are excluded on purpose: Elasticsearch turns "a.b" into an object
// path, and a site sending both "a" and "a.b" would break the mapping.
func validPropertyKey(k string) bool {
	if k == "" || len(k) > maxPropertyKeyLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// CopyTo writes the event into lr using the event-model names.
func (ev *Event) CopyTo(lr plog.LogRecord) {
	lr.SetEventName(ev.Name)
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.Observed))
	a := lr.Attributes()
	// Room for a typical event's attributes (its time source included) and
	// for what the processors add after us, at once: growing the slice
	// copies all of it.
	n := 21 + eventmodel.PipelineAttrs
	if ev.HasReferrer {
		n += 3 // the referrer's scheme, path and query
	}
	if ev.ImportFormat != "" {
		n++
	}
	a.EnsureCapacity(n)
	a.PutStr(eventmodel.AttrEventID, ev.ID)
	a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
	a.PutStr(eventmodel.AttrSiteID, ev.SiteID)
	a.PutStr(eventmodel.AttrIngestChannel, ev.Channel)
	eventrecord.PutNonEmpty(a, eventmodel.AttrIngestFormat, ev.ImportFormat)
	ev.Time.CopyTo(lr)
	putURL(a, &ev.URL)
	if ev.HasReferrer {
		a.PutStr(eventmodel.AttrReferrerFull, ev.Referrer.Full)
		a.PutStr(eventmodel.AttrReferrerScheme, ev.Referrer.Scheme)
		a.PutStr(eventmodel.AttrReferrerDomain, ev.Referrer.Domain)
		a.PutStr(eventmodel.AttrReferrerPath, ev.Referrer.Path)
		eventrecord.PutNonEmpty(a, eventmodel.AttrReferrerQuery, ev.Referrer.Query)
	}
	eventrecord.PutNonEmpty(a, eventmodel.AttrPageTitle, ev.Title)
	eventrecord.PutNonEmpty(a, eventmodel.AttrVisitorID, ev.VisitorID)
	eventrecord.PutNonEmpty(a, eventmodel.AttrSessionID, ev.SessionID)
	eventrecord.PutNonEmpty(a, eventmodel.AttrCustomName, ev.CustomName)
	if len(ev.Props) > 0 {
		putProps(a.PutEmptyMap(eventmodel.AttrProperties), ev.Props)
	}
	eventrecord.PutNonEmpty(a, eventmodel.AttrUserAgent, ev.UserAgent)
	eventrecord.PutNonEmpty(a, eventmodel.AttrClientAddress, ev.ClientAddr)
	ev.Detail.copyTo(a)
	putCampaign(a, &ev.Campaign)
	if ev.ReferralLanding {
		a.PutBool(eventmodel.AttrReferralLanding, true)
	}
	if ev.NonInteractive {
		a.PutBool(eventmodel.AttrNonInteractive, true)
	}
	if ev.Shared != nil {
		ev.Shared.copyTo(a)
	}
}

func putURL(a pcommon.Map, u *pageurl.URL) {
	a.PutStr(eventmodel.AttrURLFull, u.Full)
	a.PutStr(eventmodel.AttrURLScheme, u.Scheme)
	a.PutStr(eventmodel.AttrURLDomain, u.Domain)
	if u.Port != 0 {
		a.PutInt(eventmodel.AttrURLPort, int64(u.Port))
	}
	a.PutStr(eventmodel.AttrURLPath, u.Path)
	eventrecord.PutNonEmpty(a, eventmodel.AttrURLQuery, u.Query)
	eventrecord.PutNonEmpty(a, eventmodel.AttrURLFragment, u.Fragment)
}

func putProps(m pcommon.Map, props []Prop) {
	m.EnsureCapacity(len(props))
	for _, p := range props {
		switch p.Value.kind {
		case kindString:
			m.PutStr(p.Key, p.Value.str)
		case kindInt:
			m.PutInt(p.Key, p.Value.num)
		case kindFloat:
			m.PutDouble(p.Key, math.Float64frombits(uint64(p.Value.num)))
		case kindBool:
			m.PutBool(p.Key, p.Value.num == 1)
		}
	}
}
