package attributionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
)

// fields are the event attributes the journey reads, taken in one pass
// over the attributes instead of one lookup each. URLs are read in the
// parts the receiver split them into, never parsed again.
type fields struct {
	id, site, domain, path, device, country string
	referrerScheme, referrerDomain          string
	referrerPath, referrerQuery             string
	utmSource, utmMedium, utmCampaign       string
	clickIDType                             string
	partner                                 string
	history                                 bool // channel import
	referralLanding                         bool
	engagedMs, partnerWindowMs              int64
}

func readFields(m pcommon.Map) fields {
	var f fields
	m.Range(func(k string, v pcommon.Value) bool {
		switch v.Type() {
		case pcommon.ValueTypeInt:
			switch k {
			case eventmodel.AttrEngagedTime:
				f.engagedMs = v.Int()
			case eventmodel.AttrReferralWindow:
				f.partnerWindowMs = v.Int()
			}
			return true
		case pcommon.ValueTypeBool:
			if k == eventmodel.AttrReferralLanding {
				f.referralLanding = v.Bool()
			}
			return true
		case pcommon.ValueTypeStr:
		default:
			return true
		}
		switch k {
		case eventmodel.AttrEventID:
			f.id = v.Str()
		case eventmodel.AttrSiteID:
			f.site = v.Str()
		case eventmodel.AttrURLDomain:
			f.domain = v.Str()
		case eventmodel.AttrURLPath:
			f.path = v.Str()
		case eventmodel.AttrDeviceClass:
			f.device = v.Str()
		case eventmodel.AttrGeoCountry:
			f.country = v.Str()
		case eventmodel.AttrReferrerScheme:
			f.referrerScheme = v.Str()
		case eventmodel.AttrReferrerDomain:
			f.referrerDomain = v.Str()
		case eventmodel.AttrReferrerPath:
			f.referrerPath = v.Str()
		case eventmodel.AttrReferrerQuery:
			f.referrerQuery = v.Str()
		case eventmodel.AttrCampaignSource:
			f.utmSource = v.Str()
		case eventmodel.AttrCampaignMedium:
			f.utmMedium = v.Str()
		case eventmodel.AttrCampaignName:
			f.utmCampaign = v.Str()
		case eventmodel.AttrClickIDType:
			f.clickIDType = v.Str()
		case eventmodel.AttrReferralPartner:
			f.partner = v.Str()
		case eventmodel.AttrIngestChannel:
			f.history = v.Str() == eventmodel.ChannelImport
		}
		return true
	})
	return f
}

// visitorKey is the key journeys are kept under: the (pseudonymous)
// visitor id, or for an anonymous event the cookieless key.
func visitorKey(m pcommon.Map) (key, attr string) {
	if v := eventrecord.Str(m, eventmodel.AttrVisitorID); v != "" {
		return v, eventmodel.AttrVisitorID
	}
	if v := eventrecord.Str(m, eventmodel.AttrCookielessKey); v != "" {
		return v, eventmodel.AttrCookielessKey
	}
	return "", ""
}
