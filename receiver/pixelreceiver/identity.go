package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/randomid"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/referral"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// cookieMode resolves the site's cookie mode for one request. In auto mode
// the receiver keeps the cookies itself only when the page and the
// collector share a registrable domain: only then are its cookies
// first-party (and sent by browsers that block third-party cookies).
func cookieMode(s *site, req *http.Request) string {
	if s.cfg.Cookies.Mode != CookieModeAuto {
		return s.cfg.Cookies.Mode
	}
	if sameSite(pageHost(req), hostOnly(req.Host)) {
		return CookieModeServer
	}
	return CookieModeScript
}

// pageHost is the host of the page that made the request: the Origin
// header, else the Referer.
func pageHost(req *http.Request) string {
	raw := req.Header.Get("Origin")
	if raw == "" || raw == "null" {
		raw = req.Referer()
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.ToLower(strings.Trim(h, "[]"))
	}
	return strings.ToLower(strings.Trim(hostport, "[]"))
}

// sameSite reports whether two hosts share a registrable domain (eTLD+1
// from the public suffix list). Hosts without one (IP addresses,
// localhost) must be equal.
func sameSite(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	ra, errA := publicsuffix.EffectiveTLDPlusOne(a)
	rb, errB := publicsuffix.EffectiveTLDPlusOne(b)
	return errA == nil && errB == nil && ra == rb
}

// cookiesAllowed applies the site's consent rules to the request's
// signals. The tag applies the same rules; checking them here too means a
// client that ignores them still gets no cookie.
func cookiesAllowed(s *site, sh *webevent.Shared) bool {
	if sh.Cookieless {
		return false
	}
	if s.cfg.Consent.HonorGPC && sh.GPC {
		return false
	}
	return !s.cfg.Consent.Required || sh.Consent.Analytics == eventmodel.ConsentGranted
}

// applyIdentity settles the identity of a request's events: a page view
// that lands with a referral partner's click id or from one of its
// domains names that partner; cookieless events lose every identifier;
// and in server cookie mode the receiver's own first-party cookies supply
// (and keep) the visitor, session and referral ids. Every event that names
// a configured partner carries its attribution window.
func (r *pixelReceiver) applyIdentity(w http.ResponseWriter, req *http.Request, s *site, events []webevent.Event, https bool) {
	if len(events) == 0 || events[0].Shared == nil {
		return
	}
	sh := events[0].Shared
	// Whichever way below names the partner (this landing, the referral
	// cookie, the tag's beacon), its window goes with it.
	defer func() {
		if p := s.referrals.ByName(sh.ReferralPartner); p != nil {
			sh.ReferralWindow = p.Window
		}
	}()
	partner, clickID := landingReferral(s, events)
	if sh.Cookieless {
		for i := range events {
			events[i].Forget()
			// The click id leaves the page URL and the referrer too (every
			// event of a landing page carries its URL): the consent
			// processor and the anonymizer strip a click id's parameter
			// only when the event still names the value, and here it has
			// just been forgotten.
			stripClickIDs(s, &events[i].URL)
			stripClickIDs(s, &events[i].Referrer)
		}
		if partner != nil {
			// Which partner a landing came from is no identifier (like the
			// referrer's domain, which anonymous events keep); its click id is.
			sh.ReferralPartner = partner.Name
		}
		return
	}
	if partner != nil {
		sh.ReferralPartner, sh.ReferralClickID = partner.Name, clickID
	}
	withdrawal := withdrawn(events)
	// Most hits end here: without consent there is nothing to read or
	// write, and the mode check (public suffix lookups) is not needed.
	if !withdrawal && !cookiesAllowed(s, sh) || cookieMode(s, req) != CookieModeServer {
		return
	}
	jar := cookieJar{w: w, cfg: &s.cfg.Cookies, secure: https}
	if withdrawal {
		// The withdrawal itself carries the ids it withdraws, so that the
		// erasure it triggers can find the visitor; then the cookies go.
		if vid, _, ok := readVisitorCookie(req, s.cfg.Cookies.VisitorName); ok {
			setVisitor(events, vid, readSessionCookie(req, s.cfg.Cookies.SessionName))
		}
		jar.expire(s.cfg.Cookies.VisitorName)
		jar.expire(s.cfg.Cookies.SessionName)
		jar.expire(s.cfg.Cookies.ReferralName)
		return
	}
	now := time.Now()
	vid, created, ok := readVisitorCookie(req, s.cfg.Cookies.VisitorName)
	if !ok || now.Sub(created) >= s.cfg.Cookies.MaxAge {
		vid, created = randomid.New(), now
		// Expires is fixed at creation: the cookie is never extended past
		// max_age, however often the visitor comes back.
		jar.set(s.cfg.Cookies.VisitorName, vid+"."+strconv.FormatInt(created.Unix(), 10), created.Add(s.cfg.Cookies.MaxAge), 0)
	}
	sid := readSessionCookie(req, s.cfg.Cookies.SessionName)
	if sid == "" {
		sid = randomid.New()
	}
	// The session cookie slides: it dies after session_idle_timeout without events.
	jar.set(s.cfg.Cookies.SessionName, sid, time.Time{}, s.cfg.SessionIdleTimeout)
	setVisitor(events, vid, sid)

	if partner != nil {
		jar.set(s.cfg.Cookies.ReferralName, partner.Name+":"+clickID, time.Time{}, partner.Window)
	} else if name, id, ok := readReferralCookie(req, s); ok {
		sh.ReferralPartner, sh.ReferralClickID = name, id
	}
}

// stripClickIDs removes the site's partners' click-id parameters from u.
func stripClickIDs(s *site, u *pageurl.URL) {
	if q, ok := s.referrals.StripClickIDs(u.Query); ok {
		u.SetQuery(q)
	}
}

func setVisitor(events []webevent.Event, vid, sid string) {
	for i := range events {
		events[i].VisitorID, events[i].SessionID = vid, sid
	}
}

// withdrawn reports whether the request withdraws analytics consent.
func withdrawn(events []webevent.Event) bool {
	for i := range events {
		if events[i].Name == eventmodel.EventConsentUpdate && events[i].Shared.Consent.Analytics == eventmodel.ConsentDenied {
			return true
		}
	}
	return false
}

// landingReferral finds the first page view of the request that is a
// configured partner's landing (see referral.Detector.Landing), marks it
// as such and returns the partner and its click id ("" for a referral by
// domain).
func landingReferral(s *site, events []webevent.Event) (*referral.Partner, string) {
	if s.referrals == nil {
		return nil, ""
	}
	for i := range events {
		ev := &events[i]
		if ev.Name != eventmodel.EventPageView {
			continue
		}
		// Partners are found by their web domains; an app's package name
		// is no domain.
		refDomain := ev.Referrer.Domain
		if ev.Referrer.Scheme == pageurl.SchemeAndroidApp {
			refDomain = ""
		}
		if p, clickID := s.referrals.Landing(ev.URL.Query, refDomain, webevent.ValidID); p != nil {
			ev.ReferralLanding = true
			return p, clickID
		}
	}
	return nil, ""
}

func readVisitorCookie(req *http.Request, name string) (string, time.Time, bool) {
	c, err := req.Cookie(name)
	if err != nil {
		return "", time.Time{}, false
	}
	i := strings.LastIndexByte(c.Value, '.')
	if i <= 0 {
		return "", time.Time{}, false
	}
	id, created := c.Value[:i], c.Value[i+1:]
	secs, err := strconv.ParseInt(created, 10, 64)
	if err != nil || !webevent.ValidID(id) || secs <= 0 || time.Unix(secs, 0).After(time.Now().Add(time.Hour)) {
		return "", time.Time{}, false
	}
	return id, time.Unix(secs, 0), true
}

func readSessionCookie(req *http.Request, name string) string {
	if c, err := req.Cookie(name); err == nil && webevent.ValidID(c.Value) {
		return c.Value
	}
	return ""
}

// readReferralCookie reads "<partner>:<click id>"; the click id is empty
// for a referral by the partner's domain.
func readReferralCookie(req *http.Request, s *site) (string, string, bool) {
	c, err := req.Cookie(s.cfg.Cookies.ReferralName)
	if err != nil {
		return "", "", false
	}
	name, id, ok := strings.Cut(c.Value, ":")
	if !ok || id != "" && !webevent.ValidID(id) || s.referrals.ByName(name) == nil {
		return "", "", false // malformed, or a partner no longer configured
	}
	return name, id, true
}

// cookieJar writes the receiver's cookies with one set of attributes:
// HttpOnly (no script on the page can read or exfiltrate them), SameSite
// Lax, Secure on HTTPS.
type cookieJar struct {
	w      http.ResponseWriter
	cfg    *CookiesConfig
	secure bool
}

// set writes a cookie that expires at expires, or after maxAge when expires is zero.
func (j cookieJar) set(name, value string, expires time.Time, maxAge time.Duration) {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", Domain: j.cfg.Domain,
		HttpOnly: true, Secure: j.secure, SameSite: http.SameSiteLaxMode,
	}
	if expires.IsZero() {
		c.MaxAge = int(maxAge / time.Second)
	} else {
		c.Expires = expires.UTC()
		c.MaxAge = int(time.Until(expires) / time.Second)
	}
	http.SetCookie(j.w, c)
}

func (j cookieJar) expire(name string) {
	http.SetCookie(j.w, &http.Cookie{
		Name: name, Value: "", Path: "/", Domain: j.cfg.Domain, MaxAge: -1,
		HttpOnly: true, Secure: j.secure, SameSite: http.SameSiteLaxMode,
	})
}
