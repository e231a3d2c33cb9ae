package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/campaign"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"
)

// Shared is what all events of one request have in common beyond the
// per-event fields: the visitor's identity as the tag or the receiver's
// cookies know it, the consent signals, and receive-time enrichment.
type Shared struct {
	UserID string
	// ReferralPartner is the referral partner that brought the visitor
	// (detected on this request's landing, or from the referral cookie),
	// ReferralClickID its click id ("" for a referral by domain) and
	// ReferralWindow the partner's attribution window (0 for a partner the
	// receiver does not know: one a tag sent).
	ReferralPartner string
	ReferralClickID string
	ReferralWindow  time.Duration

	// Consent holds the tag's consent state per category; "" means the
	// request said nothing about that category.
	Consent    Consent
	Cookieless bool
	GPC        bool
	DNT        bool
	// TCF is set when the request carried IAB TCF signals.
	TCF *TCF
	// Automation is the tag's navigator.webdriver flag.
	Automation bool

	// Receive-time enrichment, filled by the receiver.
	Country, Region string
	BotReason       string
}

// Consent is the tag's consent state per category.
type Consent struct {
	Analytics       string `json:"analytics"`
	Marketing       string `json:"marketing"`
	Personalization string `json:"personalization"`
}

// TCF holds the IAB Transparency and Consent Framework signals. They are
// passed on unparsed: the consent processor decides on them.
type TCF struct {
	GDPRApplies *bool  `json:"gdpr_applies"`
	TCString    string `json:"tc_string"`
	// StringError is set instead of TCString when the string sent cannot
	// be a TC string (eventmodel.TCFStringError*).
	StringError string `json:"-"`
}

// Forget removes the visitor, session, user and referral ids, for a
// cookieless request: the tag should not have sent them, and the receiver
// makes sure none is recorded. (Ad click ids in the page URL are the consent
// processor's business: it sees the decision context the receiver lacks.)
func (ev *Event) Forget() {
	ev.VisitorID, ev.SessionID = "", ""
	if ev.Shared != nil {
		ev.Shared.UserID, ev.Shared.ReferralPartner, ev.Shared.ReferralClickID = "", "", ""
		ev.Shared.ReferralWindow = 0
	}
}

// Detail holds the fields of the event types beyond page_view and custom.
// Integers are -1 when absent.
type Detail struct {
	PageViewID  string
	EngagedMs   int64
	ScrollDepth int64
	Link        pageurl.URL
	HasLink     bool
	FormID      string
	FormName    string
	FormAction  string
	FieldCount  int64
	Sensitive   bool
	SearchTerm  string
}

func (d *Detail) copyTo(a pcommon.Map) {
	eventrecord.PutNonEmpty(a, eventmodel.AttrPageViewID, d.PageViewID)
	putNonNegative(a, eventmodel.AttrEngagedTime, d.EngagedMs)
	putNonNegative(a, eventmodel.AttrScrollDepth, d.ScrollDepth)
	if d.HasLink {
		a.PutStr(eventmodel.AttrLinkURL, d.Link.Full)
		a.PutStr(eventmodel.AttrLinkDomain, d.Link.Domain)
	}
	eventrecord.PutNonEmpty(a, eventmodel.AttrFormID, d.FormID)
	eventrecord.PutNonEmpty(a, eventmodel.AttrFormName, d.FormName)
	eventrecord.PutNonEmpty(a, eventmodel.AttrFormAction, d.FormAction)
	putNonNegative(a, eventmodel.AttrFormFieldCount, d.FieldCount)
	if d.Sensitive {
		a.PutBool(eventmodel.AttrFormSensitive, true)
	}
	eventrecord.PutNonEmpty(a, eventmodel.AttrSearchTerm, d.SearchTerm)
}

func putCampaign(a pcommon.Map, c *campaign.Params) {
	eventrecord.PutNonEmpty(a, eventmodel.AttrCampaignSource, c.Source)
	eventrecord.PutNonEmpty(a, eventmodel.AttrCampaignMedium, c.Medium)
	eventrecord.PutNonEmpty(a, eventmodel.AttrCampaignName, c.Name)
	eventrecord.PutNonEmpty(a, eventmodel.AttrCampaignTerm, c.Term)
	eventrecord.PutNonEmpty(a, eventmodel.AttrCampaignContent, c.Content)
	eventrecord.PutNonEmpty(a, eventmodel.AttrCampaignID, c.ID)
	eventrecord.PutNonEmpty(a, eventmodel.AttrClickIDType, c.ClickIDType)
	eventrecord.PutNonEmpty(a, eventmodel.AttrClickIDValue, c.ClickIDValue)
}

func (s *Shared) copyTo(a pcommon.Map) {
	eventrecord.PutNonEmpty(a, eventmodel.AttrUserID, s.UserID)
	eventrecord.PutNonEmpty(a, eventmodel.AttrReferralPartner, s.ReferralPartner)
	eventrecord.PutNonEmpty(a, eventmodel.AttrReferralClickID, s.ReferralClickID)
	if s.ReferralPartner != "" && s.ReferralWindow > 0 {
		a.PutInt(eventmodel.AttrReferralWindow, s.ReferralWindow.Milliseconds())
	}
	eventrecord.PutNonEmpty(a, eventmodel.AttrConsentAnalytics, s.Consent.Analytics)
	eventrecord.PutNonEmpty(a, eventmodel.AttrConsentMarketing, s.Consent.Marketing)
	eventrecord.PutNonEmpty(a, eventmodel.AttrConsentPersonalization, s.Consent.Personalization)
	putTrue(a, eventmodel.AttrCookieless, s.Cookieless)
	putTrue(a, eventmodel.AttrGPC, s.GPC)
	putTrue(a, eventmodel.AttrDNT, s.DNT)
	if s.TCF != nil {
		if s.TCF.GDPRApplies != nil {
			a.PutBool(eventmodel.AttrTCFGDPRApplies, *s.TCF.GDPRApplies)
		}
		eventrecord.PutNonEmpty(a, eventmodel.AttrTCFString, s.TCF.TCString)
		eventrecord.PutNonEmpty(a, eventmodel.AttrTCFStringError, s.TCF.StringError)
	}
	eventrecord.PutNonEmpty(a, eventmodel.AttrGeoCountry, s.Country)
	eventrecord.PutNonEmpty(a, eventmodel.AttrGeoRegion, s.Region)
	if s.BotReason != "" {
		a.PutBool(eventmodel.AttrBot, true)
		a.PutStr(eventmodel.AttrBotReason, s.BotReason)
	}
}

func putNonNegative(a pcommon.Map, k string, v int64) {
	if v >= 0 {
		a.PutInt(k, v)
	}
}

func putTrue(a pcommon.Map, k string, v bool) {
	if v {
		a.PutBool(k, true)
	}
}

// consentValue normalises one consent category: anything but the three
// known words is "unknown", and an absent category stays absent.
func consentValue(v string) string {
	switch v {
	case "":
		return ""
	case eventmodel.ConsentGranted, eventmodel.ConsentDenied:
		return v
	}
	return eventmodel.ConsentUnknown
}
