package channel

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
)

// Mediums.
const (
	Direct   = "direct"
	Internal = "internal"
	Search   = "search"
	Social   = "social"
	Email    = "email"
	Paid     = "paid"
	Referral = "referral"
	AI       = "ai_assistant"
	// PartnerMedium is the medium of visits from a configured partner. (It
	// cannot be called Partner: that is the name of the config type.)
	PartnerMedium = "partner"
)

// Config configures a Classifier.
type Config struct {
	InternalDomains []string // the site's own registrable domains/hosts; a referrer from them (or a subdomain) is internal
}

// Input describes the entry of a visit: the parts of its landing page view
// as the pixel receiver split and extracted them. Nothing here is a URL to
// parse.
type Input struct {
	LandingHost string   // host of the landing page (url.domain)
	Referrer    Referrer // "" parts when the page view has no referrer
	// Partner is the referral partner the receiver detected on this
	// landing (webjourney.referral.partner of a page view with
	// webjourney.referral.landing), "" for none.
	Partner string
	// Campaign fields and ad click id type, as the receiver extracted them (may be empty).
	UTMSource, UTMMedium, UTMCampaign string
	ClickIDType                       string // the Param of one of eventmodel.ClickIDs
}

// Referrer is the referrer of a visit's entry, in the parts the receiver
// wrote: webjourney.referrer.scheme, .domain, .path and .query.
type Referrer struct {
	// Scheme is http or https, or android-app for a page opened from an
	// Android app (Host is then the app's package name); "" counts as a
	// web referrer.
	Scheme string
	Host   string
	Path   string
	Query  string // raw, without "?"
}

// Result is the channel of a visit.
type Result struct {
	Medium     string // one of the medium constants
	Source     string // "google", "facebook", "newsletter", "chatgpt", "archipro", a registrable domain, ...; "" for direct
	SearchTerm string // from a search engine referrer's query parameter, when present
	Partner    string // partner name when Medium == PartnerMedium
}

// Classifier classifies visits. It is safe for concurrent use.
type Classifier struct {
	internal map[string]struct{}
}

// New validates cfg and returns a Classifier.
func New(cfg Config) (*Classifier, error) {
	c := &Classifier{internal: make(map[string]struct{}, len(cfg.InternalDomains))}
	for i, d := range cfg.InternalDomains {
		h, err := configHost(d)
		if err != nil {
			return nil, fmt.Errorf("internal_domains::%d: %w", i, err)
		}
		c.internal[h] = struct{}{}
	}
	return c, nil
}

// configHost normalises a configured domain: trimmed, lower-case, no scheme
// or path, no port, no trailing dot, no leading "*." or ".".
func configHost(d string) (string, error) {
	s := strings.TrimSpace(d)
	if s == "" {
		return "", fmt.Errorf("domain is empty")
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "*."), ".")
	if r, ok := parseRef(s); ok && !r.app && strings.Contains(s, "/") {
		return r.host, nil // tolerate "https://example.com/"
	}
	h, ok := hostOf(s)
	if !ok {
		return "", fmt.Errorf("%q is not a valid domain", d)
	}
	return h, nil
}

// Classify returns the channel of a visit. See the package comment for the
// rules and their precedence.
func (c *Classifier) Classify(in Input) Result {
	// 1. Partner, as the receiver detected it.
	if in.Partner != "" {
		return Result{Medium: PartnerMedium, Source: strings.ToLower(in.Partner), Partner: in.Partner}
	}
	land, landOK := hostOfPart(in.LandingHost)
	refr, refOK := referrerOf(in.Referrer)

	// 2. Ad click ids: a paid one decides; another (fbclid) only names
	// the medium and source of a visit that has nothing more telling.
	var organicClick eventmodel.ClickID
	if ct := strings.TrimSpace(in.ClickIDType); ct != "" {
		if c, ok := eventmodel.LookupClickID(ct); ok {
			if c.Medium == Paid {
				return Result{Medium: Paid, Source: c.Source}
			}
			organicClick = c
		}
	}

	// 3. Campaign fields.
	src := strings.ToLower(strings.TrimSpace(in.UTMSource))
	switch src {
	case "(direct)", "direct", "(none)", "none", "(not set)", "not set":
		src = "" // GA placeholders copied into links carry no information
	}
	if med, ok := campaignMedium(in.UTMMedium); ok && med != "" {
		r := Result{Medium: med, Source: src}
		if src == "" {
			if rr := c.referrer(refr, refOK, land, landOK); rr.Medium != Internal {
				r.Source = rr.Source
			}
		}
		return r
	}
	if src != "" {
		if e, ok := lookupSource(src); ok {
			return Result{Medium: e.medium, Source: e.source}
		}
		return Result{Medium: Referral, Source: src}
	}
	if organicClick.Param != "" {
		r := Result{Medium: organicClick.Medium, Source: organicClick.Source}
		if rr := c.referrer(refr, refOK, land, landOK); rr.Medium == r.Medium {
			r.Source = rr.Source // e.g. instagram for an fbclid click from Instagram
		}
		return r
	}

	// 4. Referrer.
	return c.referrer(refr, refOK, land, landOK)
}

// referrer applies rule 4.
func (c *Classifier) referrer(refr ref, refOK bool, land string, landOK bool) Result {
	if !refOK {
		return Result{Medium: Direct}
	}
	if refr.app {
		if e, ok := apps[refr.host]; ok {
			return Result{Medium: e.medium, Source: e.source}
		}
		return Result{Medium: Referral, Source: refr.host}
	}
	host := refr.host
	rd, icann := registrable(host)
	if c.isInternal(host, rd, land, landOK) {
		return Result{Medium: Internal, Source: rd}
	}
	e, ok := lookupHost(host, rd, icann)
	if !ok {
		return Result{Medium: Referral, Source: rd}
	}
	r := Result{Medium: e.medium, Source: e.source}
	if r.Source == "" {
		r.Source = rd
	}
	if e.medium == Search && refr.path != "/url" { // google.*/url?q= holds a destination, not a term
		for _, p := range e.terms {
			if t, ok := urlquery.Value(refr.query, p); ok {
				r.SearchTerm = strings.TrimSpace(t)
				break
			}
		}
	}
	return r
}

func (c *Classifier) isInternal(host, rd string, land string, landOK bool) bool {
	if landOK && host == land {
		return true
	}
	for h := host; h != ""; h = parent(h) {
		if _, ok := c.internal[h]; ok {
			return true
		}
	}
	// Same registrable domain. The landing host being rd or a subdomain of
	// it is necessary for that; checking it first spares a public suffix
	// lookup (which allocates) for nearly every external referrer.
	if landOK && (land == rd || strings.HasSuffix(land, rd) &&
		len(land) > len(rd) && land[len(land)-len(rd)-1] == '.') {
		lrd, _ := registrable(land)
		return lrd == rd
	}
	return false
}

// lookupHost finds a host in the brand families and then in hosts, most
// specific first.
func lookupHost(host, rd string, icann bool) (entry, bool) {
	if icann {
		label := rd
		if i := strings.IndexByte(rd, '.'); i >= 0 {
			label = rd[:i]
		}
		if fam, ok := families[label]; ok {
			prefix := ""
			if len(host) > len(rd) {
				prefix = host[:len(host)-len(rd)-1]
			}
			for p := prefix; ; {
				if e, ok := fam.subs[p]; ok {
					return e, true
				}
				if p = parent(p); p == "" {
					break
				}
			}
			return fam.other, true
		}
	}
	for h := host; h != ""; h = parent(h) {
		if e, ok := hosts[h]; ok {
			return e, true
		}
		if h == rd {
			break
		}
	}
	return entry{}, false
}

// lookupSource classifies a campaign source given without a medium.
func lookupSource(src string) (entry, bool) {
	if e, ok := sourceNames[src]; ok {
		return e, true
	}
	if strings.IndexByte(src, '.') < 0 {
		return entry{}, false
	}
	r, ok := parseRef(src)
	if !ok || r.app {
		return entry{}, false
	}
	rd, icann := registrable(r.host)
	e, ok := lookupHost(r.host, rd, icann)
	if !ok || e.medium == Referral {
		return entry{}, false
	}
	if e.source == "" {
		e.source = rd
	}
	return e, true
}

// campaignMedium maps a campaign medium to a channel medium. ok is false
// when raw is empty; medium is "" for media meaning "none".
func campaignMedium(raw string) (medium string, ok bool) {
	var buf [64]byte
	n := 0
	for i := 0; i < len(raw) && n < len(buf); i++ {
		c := raw[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			buf[n] = c
			n++
		case c >= 'A' && c <= 'Z':
			buf[n] = c + ('a' - 'A')
			n++
		}
	}
	if n == 0 {
		if strings.TrimSpace(raw) == "" {
			return "", false
		}
		return Referral, true // e.g. "(?)" or non-ASCII only: present but unknown
	}
	b := buf[:n]
	if m, ok := mediums[string(b)]; ok {
		return m, true
	}
	switch {
	case bytes.Contains(b, []byte("paid")), bytes.Contains(b, []byte("cpc")),
		bytes.Contains(b, []byte("ppc")), bytes.Contains(b, []byte("cpm")):
		return Paid, true
	case bytes.Contains(b, []byte("email")), bytes.Contains(b, []byte("newsletter")):
		return Email, true
	case bytes.Contains(b, []byte("social")):
		return Social, true
	default:
		return Referral, true
	}
}
