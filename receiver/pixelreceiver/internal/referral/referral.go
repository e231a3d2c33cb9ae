// Package referral detects the landing of a configured referral partner's
// visitor: the partner's click-id parameter in the page URL's query, or a
// referrer on one of the partner's domains. The pixel receiver is the one
// detector of referrals in the pipeline (it keeps the first-party referral
// cookie); what it detects travels on the events, and the attribution
// processor reads it from there.
package referral // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/referral"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/webjourney/webjourney/internal/urlquery"
)

// Partner is one referral partner of a site.
type Partner struct {
	// Name identifies the partner in events and in the referral cookie.
	Name string
	// Param is the landing-URL query parameter carrying the partner's
	// click id; "" when the partner is recognised by its domains only.
	Param string
	// Domains are host names of the partner's sites; a referrer on one of
	// them, or on a subdomain of one, is the partner's referral.
	Domains []string
	// Window is how long a referral counts: the referral cookie's lifetime
	// and the partner's attribution window.
	Window time.Duration
}

// Detector finds partners. It is immutable after New and safe for
// concurrent use; the nil Detector finds nothing.
type Detector struct {
	byName   map[string]*Partner
	byParam  map[string]*Partner
	byDomain map[string]*Partner
}

// New returns a Detector for the partners. The receiver's configuration
// has validated them (CheckDomain, distinct names and parameters).
func New(partners []Partner) *Detector {
	if len(partners) == 0 {
		return nil
	}
	d := &Detector{byName: map[string]*Partner{}, byParam: map[string]*Partner{}, byDomain: map[string]*Partner{}}
	for i := range partners {
		p := &partners[i]
		d.byName[p.Name] = p
		if p.Param != "" {
			d.byParam[p.Param] = p
		}
		for _, h := range p.Domains {
			d.byDomain[strings.ToLower(h)] = p
		}
	}
	return d
}

// Landing reports the partner whose referral a page view is: the first
// parameter of its query (raw, as url.query) that is a partner's click-id
// parameter with a valid id (valid reports whether a click id is one), or
// else the partner one of whose domains is the referrer's host or a parent
// of it. clickID is "" for a referrer match. nil when neither.
func (d *Detector) Landing(query, referrerHost string, valid func(string) bool) (p *Partner, clickID string) {
	if d == nil {
		return nil, ""
	}
	if len(d.byParam) > 0 {
		for name, value := range urlquery.Params(query) {
			if p, ok := d.byParam[name]; ok {
				if id := urlquery.Unescape(value); valid(id) {
					return p, id
				}
			}
		}
	}
	if len(d.byDomain) > 0 {
		for h := strings.TrimSuffix(referrerHost, "."); h != ""; h = parent(h) {
			if p, ok := d.byDomain[h]; ok {
				return p, ""
			}
		}
	}
	return nil, ""
}

// ByName returns the partner of that name, nil when none is configured:
// a referral cookie or a tag naming a partner no longer configured.
func (d *Detector) ByName(name string) *Partner {
	if d == nil {
		return nil
	}
	return d.byName[name]
}

// StripClickIDs returns the raw query without the parameters named as a
// partner's click-id parameter (compared as sent, whatever their value),
// and whether it removed any.
func (d *Detector) StripClickIDs(query string) (string, bool) {
	if d == nil || len(d.byParam) == 0 || query == "" {
		return query, false
	}
	var kept []string
	changed := false
	for part := range urlquery.Parts(query) {
		name, _, _ := strings.Cut(part, "=")
		if _, ok := d.byParam[name]; ok {
			changed = true
			continue
		}
		kept = append(kept, part)
	}
	if !changed {
		return query, false
	}
	return strings.Join(kept, "&"), true
}

// parent strips the leftmost label of host ("" when there is none).
func parent(host string) string {
	if i := strings.IndexByte(host, '.'); i >= 0 {
		return host[i+1:]
	}
	return ""
}

// CheckDomain validates a configured partner domain: a plain host name
// (subdomains match too) that is not a public suffix such as "co.nz",
// which would make every site under it the partner's.
func CheckDomain(d string) error {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return errors.New("must be a host name such as archipro.co.nz")
	}
	for _, c := range []byte(d) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return errors.New("must be a host name such as archipro.co.nz, without scheme, port or path")
		}
	}
	h := strings.ToLower(d)
	if ps, icann := publicsuffix.PublicSuffix(h); ps == h && (icann || strings.Contains(h, ".")) {
		return fmt.Errorf("%q is a public suffix, not a site", d)
	}
	return nil
}
