package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/origin"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/referral"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// site is the runtime form of one SiteConfig: parsed once at start.
type site struct {
	cfg     *SiteConfig
	origins *origin.Set
	// referrals detects the site's referral partners.
	referrals *referral.Detector
	// importKey authenticates the site's imports; nil: none accepted.
	importKey []byte
	// configJSON is the per-site config document for each cookie mode the
	// tag can be told (auto is resolved per request).
	configJSON map[string][]byte
}

func newSites(cfg *Config) (map[string]*site, error) {
	sites := make(map[string]*site, len(cfg.Sites))
	for i := range cfg.Sites {
		sc := &cfg.Sites[i]
		origins, err := origin.Parse(sc.AllowedOrigins)
		if err != nil { // Validate has caught this already
			return nil, err
		}
		s := &site{cfg: sc, origins: origins, referrals: newReferrals(sc.ReferralPartners), configJSON: map[string][]byte{}}
		if s.importKey, err = sc.Import.importKey(string(sc.WriteKey)); err != nil {
			return nil, fmt.Errorf("sites::%s::%w", sc.ID, err)
		}
		for _, mode := range []string{CookieModeServer, CookieModeScript, CookieModeNone} {
			body, err := json.Marshal(newTagConfig(sc, mode))
			if err != nil {
				return nil, err
			}
			s.configJSON[mode] = body
		}
		sites[sc.ID] = s
	}
	return sites, nil
}

func newReferrals(partners []ReferralPartnerConfig) *referral.Detector {
	ps := make([]referral.Partner, len(partners))
	for i, p := range partners {
		ps[i] = referral.Partner{Name: p.Name, Param: p.Param, Domains: p.Domains, Window: p.AttributionWindow}
	}
	return referral.New(ps)
}

// decoderSites is what the decoder checks per site.
func decoderSites(sites map[string]*site) map[string]webevent.Site {
	out := make(map[string]webevent.Site, len(sites))
	for id, s := range sites {
		out[id] = webevent.Site{WriteKey: string(s.cfg.WriteKey), Origins: s.origins}
	}
	return out
}

// tagConfig is the per-site config document the tag fetches (see
// docs/tag-protocol.md). It never contains the write key.
type tagConfig struct {
	Site               string       `json:"site"`
	Consent            tagConsent   `json:"consent"`
	Cookies            tagCookies   `json:"cookies"`
	SessionIdleMinutes int          `json:"session_idle_minutes"`
	ReferralPartners   []tagPartner `json:"referral_partners"`
	SearchParams       []string     `json:"search_params"`
	DownloadExtensions []string     `json:"download_extensions"`
	Track              TrackConfig  `json:"track"`
}

type tagConsent struct {
	Required bool `json:"required"`
	HonorGPC bool `json:"honor_gpc"`
	TCF      bool `json:"tcf"`
}

type tagCookies struct {
	Mode       string `json:"mode"`
	Visitor    string `json:"visitor"`
	Session    string `json:"session"`
	Referral   string `json:"referral"`
	MaxAgeDays int    `json:"max_age_days"`
}

type tagPartner struct {
	Name       string   `json:"name"`
	Param      string   `json:"param"` // "" for a partner known by its domains only
	Domains    []string `json:"domains"`
	WindowDays int      `json:"window_days"`
}

func newTagConfig(sc *SiteConfig, mode string) tagConfig {
	tc := tagConfig{
		Site:    sc.ID,
		Consent: tagConsent{Required: sc.Consent.Required, HonorGPC: sc.Consent.HonorGPC, TCF: sc.Consent.TCF},
		Cookies: tagCookies{
			Mode:       mode,
			Visitor:    sc.Cookies.VisitorName,
			Session:    sc.Cookies.SessionName,
			Referral:   sc.Cookies.ReferralName,
			MaxAgeDays: int(sc.Cookies.MaxAge / (24 * time.Hour)),
		},
		SessionIdleMinutes: int(sc.SessionIdleTimeout / time.Minute),
		ReferralPartners:   make([]tagPartner, 0, len(sc.ReferralPartners)),
		SearchParams:       sc.SearchParams,
		DownloadExtensions: sc.DownloadExtensions,
		Track:              sc.Track,
	}
	if tc.SearchParams == nil {
		tc.SearchParams = []string{}
	}
	if tc.DownloadExtensions == nil {
		tc.DownloadExtensions = []string{}
	}
	for _, p := range sc.ReferralPartners {
		days := int((p.AttributionWindow + 24*time.Hour - 1) / (24 * time.Hour))
		domains := make([]string, len(p.Domains))
		for i, d := range p.Domains {
			domains[i] = strings.ToLower(d)
		}
		tc.ReferralPartners = append(tc.ReferralPartners, tagPartner{Name: p.Name, Param: p.Param, Domains: domains, WindowDays: days})
	}
	return tc
}
