package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/origin"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/referral"
)

// Values of CookiesConfig.Mode.
const (
	// CookieModeAuto picks server when the page and the collector share a
	// registrable domain (the collector is reverse-proxied under the site),
	// script otherwise.
	CookieModeAuto   = "auto"
	CookieModeServer = "server"
	CookieModeScript = "script"
	CookieModeNone   = "none"
)

// maxCookieAge is 13 months (ePrivacy guidance, CNIL): no webjourney cookie
// may live longer, and the visitor cookie is never extended past it.
const maxCookieAge = 395 * 24 * time.Hour

// SiteConfig is one accepted site and how the tag behaves on it.
type SiteConfig struct {
	// ID is the site id sent by the tag (pixel parameter s, beacon field site).
	ID string `mapstructure:"id"`

	// AllowedOrigins restricts where the site's events may come from:
	// origins ("https://shop.example"), host names (both schemes) or
	// "*."-wildcards ("https://*.shop.example"). Empty allows any origin.
	AllowedOrigins []string `mapstructure:"allowed_origins"`

	// WriteKey, when set, must accompany every request of the site (beacon
	// field key, pixel parameter k, tag attribute data-key). It keeps casual
	// junk out; it is not a secret from anyone who reads the page.
	WriteKey configopaque.String `mapstructure:"write_key"`

	// Import, with a key, lets the site's owner import history through
	// import_path.
	Import ImportConfig `mapstructure:"import"`

	Consent ConsentConfig `mapstructure:"consent"`
	Cookies CookiesConfig `mapstructure:"cookies"`

	// SessionIdleTimeout ends a visit after this long without events.
	SessionIdleTimeout time.Duration `mapstructure:"session_idle_timeout"`

	// ReferralPartners are the site's referral partners: a landing with a
	// partner's click id, or from one of its domains, is remembered in a
	// first-party cookie for the partner's attribution window. This is the
	// pipeline's one definition of partners: the events carry what the
	// receiver detects, and the attribution processor reads it there.
	ReferralPartners []ReferralPartnerConfig `mapstructure:"referral_partners"`

	// SearchParams are the query parameters of the site's search results
	// page; a page view with one of them is also a site search.
	SearchParams []string `mapstructure:"search_params"`

	// DownloadExtensions are the file extensions whose links count as downloads.
	DownloadExtensions []string `mapstructure:"download_extensions"`

	// Track switches the tag's automatic tracking per kind.
	Track TrackConfig `mapstructure:"track"`

	// Protocols says how the other trackers' requests name the site
	// (protocols.go).
	Protocols SiteProtocolsConfig `mapstructure:"protocols"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// minImportKeyLength keeps guessable keys out: the import key is a real
// secret, unlike the write key every page shows.
const minImportKeyLength = 16

// ImportConfig authenticates and bounds the site's imports of history.
type ImportConfig struct {
	// Key is the site's import key, sent as "Authorization: Bearer KEY".
	// It is a secret of the site's owner (webjourneyctl keygen makes one)
	// and must differ from the write key, which every page shows. Without
	// a key (or KeyFile) the site accepts no import.
	Key configopaque.String `mapstructure:"key"`
	// KeyFile is a file holding the key instead (surrounding white space
	// is ignored), read at start.
	KeyFile string `mapstructure:"key_file"`
	// MaxAge refuses imported events older than this (time_too_old);
	// 0 accepts any age.
	MaxAge time.Duration `mapstructure:"max_age"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// accepts reports whether the site takes imports: it has an import key. A
// site that does may list a tracker protocol's ids (Matomo site ids,
// Snowplow app ids, Plausible domains) with the protocol switched off, to
// import that tracker's raw hits without serving its live endpoint.
func (c *ImportConfig) accepts() bool { return c.Key != "" || c.KeyFile != "" }

// ConsentConfig is the site's consent requirement as the tag applies it.
type ConsentConfig struct {
	// Required makes the tag cookieless until analytics consent is granted.
	Required bool `mapstructure:"required"`
	// HonorGPC makes the tag cookieless when the browser sends Global Privacy Control.
	HonorGPC bool `mapstructure:"honor_gpc"`
	// TCF makes the tag read consent from the page's IAB TCF CMP (__tcfapi).
	TCF bool `mapstructure:"tcf"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// CookiesConfig names and bounds the first-party cookies.
type CookiesConfig struct {
	Mode         string `mapstructure:"mode"`
	VisitorName  string `mapstructure:"visitor_name"`
	SessionName  string `mapstructure:"session_name"`
	ReferralName string `mapstructure:"referral_name"`
	// MaxAge is the visitor cookie's lifetime from when it was first set.
	MaxAge time.Duration `mapstructure:"max_age"`
	// Domain is the Domain attribute of cookies the receiver sets, e.g.
	// "shop.example" to share them with www.shop.example; empty = host only.
	Domain string `mapstructure:"domain"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ReferralPartnerConfig is one referral partner. A page view is the
// partner's landing when its URL carries Param with a click id, or else
// when its referrer is on one of Domains.
type ReferralPartnerConfig struct {
	// Name identifies the partner in events (webjourney.referral.partner)
	// and, lower-cased, as the channel source of its visits.
	Name string `mapstructure:"name"`
	// Param is the landing-URL query parameter carrying the partner's click id.
	Param string `mapstructure:"param"`
	// Domains are host names of the partner's sites; a referrer on one of
	// them or on a subdomain is the partner's referral (without a click id).
	Domains []string `mapstructure:"domains"`
	// AttributionWindow is how long the referral is remembered (the
	// referral cookie's lifetime) and credited (webjourney.referral.window_ms).
	AttributionWindow time.Duration `mapstructure:"attribution_window"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// TrackConfig switches the tag's automatic tracking.
type TrackConfig struct {
	PageViews  bool `mapstructure:"page_views" json:"page_views"`
	SPA        bool `mapstructure:"spa" json:"spa"`
	Engagement bool `mapstructure:"engagement" json:"engagement"`
	Outbound   bool `mapstructure:"outbound" json:"outbound"`
	Downloads  bool `mapstructure:"downloads" json:"downloads"`
	Forms      bool `mapstructure:"forms" json:"forms"`
	Search     bool `mapstructure:"search" json:"search"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func defaultSiteConfig() SiteConfig {
	return SiteConfig{
		Consent: ConsentConfig{Required: true, HonorGPC: true},
		Cookies: CookiesConfig{
			Mode:         CookieModeAuto,
			VisitorName:  "_wjid",
			SessionName:  "_wjses",
			ReferralName: "_wjref",
			MaxAge:       maxCookieAge,
		},
		SessionIdleTimeout: 30 * time.Minute,
		SearchParams:       []string{"q", "s", "search", "query"},
		DownloadExtensions: []string{
			"pdf", "zip", "gz", "tgz", "7z", "rar", "csv", "xls", "xlsx", "doc", "docx", "ppt", "pptx",
			"txt", "rtf", "odt", "ods", "epub", "mp3", "mp4", "mov", "avi", "wav", "dmg", "exe", "msi", "apk", "iso",
		},
		Track: TrackConfig{PageViews: true, SPA: true, Engagement: true, Outbound: true, Downloads: true, Forms: true, Search: true},
	}
}

// Unmarshal applies the per-site defaults before decoding: list elements
// do not get defaults from createDefaultConfig.
func (s *SiteConfig) Unmarshal(conf *confmap.Conf) error {
	*s = defaultSiteConfig()
	return conf.Unmarshal(s)
}

var _ confmap.Unmarshaler = (*SiteConfig)(nil)

// validate checks everything but the id (checked with the list). Errors
// are keyed relative to the site; the caller puts them under its key.
func (s *SiteConfig) validate() error {
	var errs []error
	if _, err := origin.Parse(s.AllowedOrigins); err != nil {
		errs = append(errs, fmt.Errorf("allowed_origins::%w", err))
	}
	if len(s.WriteKey) > 256 {
		errs = append(errs, errors.New("write_key: must be at most 256 bytes"))
	}
	errs = append(errs, s.Import.validate(s.WriteKey)...)
	switch s.Cookies.Mode {
	case CookieModeAuto, CookieModeServer, CookieModeScript, CookieModeNone:
	default:
		errs = append(errs, fmt.Errorf("cookies::mode: %q must be one of auto, server, script, none", s.Cookies.Mode))
	}
	names := map[string]string{}
	for key, name := range map[string]string{
		"visitor_name": s.Cookies.VisitorName, "session_name": s.Cookies.SessionName, "referral_name": s.Cookies.ReferralName,
	} {
		if !validCookieName(name) {
			errs = append(errs, fmt.Errorf("cookies::%s: %q must be 1-64 characters of [A-Za-z0-9_-]", key, name))
		} else if other, dup := names[name]; dup {
			errs = append(errs, fmt.Errorf("cookies: visitor_name, session_name and referral_name must differ (%s and %s are both %q)", other, key, name))
		}
		names[name] = key
	}
	if s.Cookies.MaxAge < 24*time.Hour || s.Cookies.MaxAge > maxCookieAge {
		errs = append(errs, fmt.Errorf("cookies::max_age: %s must be between 24h and 9480h (13 months)", s.Cookies.MaxAge))
	}
	if d := s.Cookies.Domain; d != "" && (strings.ContainsAny(d, " ;,/:") || strings.HasPrefix(d, ".")) {
		errs = append(errs, fmt.Errorf("cookies::domain: %q must be a plain host name such as shop.example", d))
	}
	if s.SessionIdleTimeout < time.Minute || s.SessionIdleTimeout > 24*time.Hour {
		errs = append(errs, fmt.Errorf("session_idle_timeout: %s must be between 1m and 24h", s.SessionIdleTimeout))
	}
	errs = append(errs, validatePartners(s.ReferralPartners)...)
	for i, p := range s.SearchParams {
		if !validCookieName(p) {
			errs = append(errs, fmt.Errorf("search_params::%d: %q must be 1-64 characters of [A-Za-z0-9_-]", i, p))
		}
	}
	for i, e := range s.DownloadExtensions {
		if e == "" || len(e) > 16 || strings.ContainsAny(e, ". /") {
			errs = append(errs, fmt.Errorf("download_extensions::%d: %q must be an extension without the dot, such as pdf", i, e))
		}
	}
	return errors.Join(errs...)
}

// validatePartners checks the referral partners; errors are keyed
// relative to the site.
func validatePartners(partners []ReferralPartnerConfig) []error {
	var errs []error
	names, params, domains := map[string]int{}, map[string]int{}, map[string]int{}
	for i, p := range partners {
		key := fmt.Sprintf("referral_partners::%d", i)
		// No ':' in names: the referral cookie is "<name>:<click id>".
		if !validCookieName(p.Name) {
			errs = append(errs, fmt.Errorf("%s::name: %q must be 1-64 characters of [A-Za-z0-9_-]", key, p.Name))
		} else if j, dup := names[strings.ToLower(p.Name)]; dup {
			// Lower-cased, the name is the channel source of the partner's visits.
			errs = append(errs, fmt.Errorf("%s::name: %q is also referral_partners::%d (names are compared ignoring case)", key, p.Name, j))
		} else {
			names[strings.ToLower(p.Name)] = i
		}
		if p.Param == "" && len(p.Domains) == 0 {
			errs = append(errs, fmt.Errorf("%s: set param or domains (or both), else no landing is the partner's", key))
		}
		if p.Param != "" {
			if !validCookieName(p.Param) {
				errs = append(errs, fmt.Errorf("%s::param: %q must be 1-64 characters of [A-Za-z0-9_-]", key, p.Param))
			} else if j, dup := params[p.Param]; dup {
				errs = append(errs, fmt.Errorf("%s::param: %q is used by referral_partners::%d", key, p.Param, j))
			} else {
				params[p.Param] = i
			}
		}
		for k, d := range p.Domains {
			if err := referral.CheckDomain(d); err != nil {
				errs = append(errs, fmt.Errorf("%s::domains::%d: %w", key, k, err))
			} else if j, dup := domains[strings.ToLower(d)]; dup {
				errs = append(errs, fmt.Errorf("%s::domains::%d: %q is listed by referral_partners::%d", key, k, d, j))
			} else {
				domains[strings.ToLower(d)] = i
			}
		}
		if p.AttributionWindow < time.Hour || p.AttributionWindow > maxCookieAge {
			errs = append(errs, fmt.Errorf("%s::attribution_window: %s must be between 1h and 9480h (13 months)", key, p.AttributionWindow))
		}
	}
	return errs
}

// validCookieName accepts names that are safe as cookie names and query
// parameter names without escaping.
func validCookieName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range []byte(n) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validate checks the import settings; errors are keyed relative to the site.
func (ic *ImportConfig) validate(writeKey configopaque.String) []error {
	var errs []error
	if ic.Key != "" && ic.KeyFile != "" {
		errs = append(errs, errors.New("import: set key or key_file, not both"))
	}
	if ic.Key != "" {
		errs = append(errs, checkImportKey("import::key", string(ic.Key), string(writeKey)))
	}
	if ic.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("import::max_age: %s must be 0 (any age) or positive", ic.MaxAge))
	}
	return errs
}

// checkImportKey checks a key from the config or from its file.
func checkImportKey(key, importKey, writeKey string) error {
	switch {
	case len(importKey) < minImportKeyLength || len(importKey) > 256:
		return fmt.Errorf("%s: must be %d-256 bytes (webjourneyctl keygen makes one)", key, minImportKeyLength)
	case strings.ContainsAny(importKey, " \t\r\n"):
		return fmt.Errorf("%s: must not contain white space", key)
	case importKey == writeKey:
		return fmt.Errorf("%s: must differ from write_key, which every page of the site shows", key)
	}
	return nil
}

// importKey is the site's import key, read from key_file when set; nil
// when the site accepts no import.
func (ic *ImportConfig) importKey(writeKey string) ([]byte, error) {
	key := string(ic.Key)
	if ic.KeyFile != "" {
		raw, err := os.ReadFile(ic.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("import::key_file: %w", err)
		}
		key = strings.TrimSpace(string(raw))
		if err := checkImportKey("import::key_file", key, writeKey); err != nil {
			return nil, err
		}
	}
	if key == "" {
		return nil, nil
	}
	return []byte(key), nil
}
