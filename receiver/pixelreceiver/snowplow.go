package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"context"
	"net/http"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/randomid"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// channelSnowplow counts the rejections of Snowplow's tracker protocol.
const channelSnowplow = eventmodel.ChannelSnowplow

// handleSnowplowPixel serves Snowplow's GET endpoint like the pixel: every
// GET and HEAD is answered with the GIF, whatever the outcome, so that a
// page never shows a broken image; a refused hit is counted. The tracker
// sends its GETs with fetch (credentials included), not as an <img>, and
// reads the answer only when CORS allows it: otherwise it sends the event
// again and again. So the GIF carries the CORS headers, as Snowplow's
// collector's does.
func (r *pixelReceiver) handleSnowplowPixel(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodGet:
		r.setCORS(w, req, nil)
		r.recordSnowplowHit(w, req)
		writeGIF(w)
	case http.MethodHead:
		writeGIF(w)
	case http.MethodOptions:
		// A tracker with server anonymisation sends SP-Anonymous with its
		// GETs too: the browser asks first.
		r.setCORS(w, req, nil)
		r.snowplowPreflight(w, http.MethodGet)
	default:
		r.reject(req.Context(), channelSnowplow, hitMethodRejection, -1)
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed; use GET", http.StatusMethodNotAllowed)
	}
}

func (r *pixelReceiver) recordSnowplowHit(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	c := r.newClient(req, time.Now())
	if !r.allow(&c) {
		r.reject(ctx, channelSnowplow, rateLimitedRejection, -1)
		return
	}
	ev, rej := r.snowplow.DecodeQuery(req.URL.RawQuery, c.info, snowplowHints(req))
	if rej != nil {
		r.reject(ctx, channelSnowplow, rej, -1)
		return
	}
	// The answer is the GIF even when the pipeline refuses the hit;
	// ObsReport counts the refusal.
	_, _, _ = r.recordSnowplow(w, req, &c, []webevent.Event{ev}, formatPixel, false)
}

// handleSnowplowPost serves the tracker's POST batches with the beacon's
// hardening. It answers 200 when at least one event was accepted (with
// the beacon's summary of the rejected ones), 400 when none was: Snowplow's
// trackers retry other failures, and a batch that cannot succeed must not
// come back.
func (r *pixelReceiver) handleSnowplowPost(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
	case http.MethodOptions:
		// The tracker posts application/json, and may add SP-Anonymous:
		// the browser asks first.
		r.setBeaconHeaders(w, req, nil)
		r.snowplowPreflight(w, http.MethodPost)
		return
	default:
		r.refuseMethod(w, req, channelSnowplow, beaconMethodRejection, "POST, OPTIONS")
		return
	}
	ctx := req.Context()
	c := r.newClient(req, time.Now())
	refuse := func(status int, rej *webevent.Rejection) {
		r.setBeaconHeaders(w, req, nil)
		r.reject(ctx, channelSnowplow, rej, -1)
		writeBeaconError(w, status, rej)
	}
	if !r.allow(&c) {
		w.Header().Set("Retry-After", "1")
		refuse(http.StatusTooManyRequests, rateLimitedRejection)
		return
	}
	body, status, rej := r.readBeaconBody(req)
	if rej != nil {
		refuse(status, rej)
		return
	}
	batch, rej := r.snowplow.DecodeBody(body, c.info, snowplowHints(req))
	if rej != nil {
		refuse(statusOf(rej), rej)
		return
	}
	for i := range batch.Rejected {
		r.reject(ctx, channelSnowplow, &batch.Rejected[i].Rejection, batch.Rejected[i].Index)
	}
	var s *site
	if len(batch.Events) > 0 {
		s = r.sites[batch.Events[0].SiteID]
	}
	r.setBeaconHeaders(w, req, s)
	accepted, foreign, err := r.recordSnowplow(w, req, &c, batch.Events, formatJSON, true)
	if err != nil {
		writeConsumerError(w, err)
		return
	}
	status = http.StatusOK
	if accepted == 0 && (len(batch.Rejected) > 0 || foreign > 0) {
		status = http.StatusBadRequest
	}
	writeBeaconSummary(w, status, accepted, batch.Rejected)
}

// snowplowPreflight answers a CORS preflight for method, with the
// tracker's SP-Anonymous header allowed.
func (r *pixelReceiver) snowplowPreflight(w http.ResponseWriter, method string) {
	r.handlePreflightHeaders(w, method, "Content-Type, SP-Anonymous")
}

// snowplowHints reads the request's facts beyond its events: the
// tracker's SP-Anonymous header and a write key in the URL (k).
func snowplowHints(req *http.Request) snowplow.Hints {
	h := snowplow.Hints{Anonymous: req.Header.Get("SP-Anonymous") != ""}
	if req.URL.RawQuery != "" && req.Method == http.MethodPost {
		h.Key = req.URL.Query().Get("k")
	}
	return h
}

// recordSnowplow runs the receive-time steps on the events of one request,
// site by site (a batch may name more than one app), and sends each
// site's events to the pipeline. It returns how many were accepted, how
// many were refused for the page's origin, and the first pipeline error.
func (r *pixelReceiver) recordSnowplow(w http.ResponseWriter, req *http.Request, c *client, events []webevent.Event, format string, checkOrigin bool) (accepted, foreign int, firstErr error) {
	ctx := req.Context()
	for len(events) > 0 {
		group, rest := splitSite(events)
		events = rest
		s := r.sites[group[0].SiteID]
		if origin := req.Header.Get("Origin"); checkOrigin && origin != "" && !s.origins.AllowsOrigin(origin) {
			r.rejectAll(ctx, originRejection, len(group))
			foreign += len(group)
			continue
		}
		r.snowplowNetworkID(w, req, s, group, c.https)
		if reason := r.enrich(w, req, c, s, group); reason != "" {
			r.rejectAll(ctx, botRejection(reason), len(group))
			continue
		}
		if err := r.consume(ctx, format, group); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		accepted += len(group)
	}
	return accepted, foreign, firstErr
}

func (r *pixelReceiver) rejectAll(ctx context.Context, rej *webevent.Rejection, n int) {
	for range n {
		r.reject(ctx, channelSnowplow, rej, -1)
	}
}

// splitSite returns the events of the first event's site, and the rest.
// A batch names one site in nearly every case: then the events are
// returned as they are.
func splitSite(events []webevent.Event) (group, rest []webevent.Event) {
	site := events[0].SiteID
	n := 0
	for n < len(events) && events[n].SiteID == site {
		n++
	}
	if n == len(events) {
		return events, nil
	}
	group = make([]webevent.Event, 0, len(events))
	for i := range events {
		if events[i].SiteID == site {
			group = append(group, events[i])
		} else {
			rest = append(rest, events[i])
		}
	}
	return group, rest
}

// snowplowNetworkID keeps the Snowplow collector's network_userid cookie
// (protocols::snowplow::network_cookie, sp): the visitor id of events
// that carry no domain user id (duid). Unlike Snowplow's collector, which
// sets it on every response, it is set with the receiver's own cookie
// rules: only when the collector is first-party to the page, the site's
// cookie mode is not none, and the consent rules allow cookies (cookiesAllowed);
// never for a cookieless request; it lives the site's cookies::max_age
// from its creation and is never extended; a consent withdrawal expires
// it (after the withdrawal got the id, for the erasure it triggers).
func (r *pixelReceiver) snowplowNetworkID(w http.ResponseWriter, req *http.Request, s *site, events []webevent.Event, https bool) {
	name := r.cfg.Protocols.Snowplow.NetworkCookie
	sh := events[0].Shared
	if name == "" || sh == nil || sh.Cookieless || s.cfg.Cookies.Mode == CookieModeNone ||
		!sameSite(pageHost(req), hostOnly(req.Host)) {
		return
	}
	jar := cookieJar{w: w, cfg: &s.cfg.Cookies, secure: https}
	nuid := readSessionCookie(req, name)
	if withdrawn(events) {
		fillVisitor(events, nuid)
		if nuid != "" {
			jar.expire(name)
		}
		return
	}
	if !cookiesAllowed(s, sh) {
		return
	}
	if nuid == "" {
		nuid = randomid.New()
		now := time.Now()
		jar.set(name, nuid, now.Add(s.cfg.Cookies.MaxAge), 0)
	}
	fillVisitor(events, nuid)
}

// fillVisitor gives the events without a visitor id the id vid.
func fillVisitor(events []webevent.Event, vid string) {
	if vid == "" {
		return
	}
	for i := range events {
		if events[i].VisitorID == "" {
			events[i].VisitorID = vid
		}
	}
}

func newSnowplowDecoder(cfg *Config, events *webevent.Decoder) *snowplow.Decoder {
	return &snowplow.Decoder{Events: events, AppIDs: snowplowAppIDs(cfg), PagePing: cfg.Protocols.Snowplow.PagePingInterval}
}

// routeSnowplow serves the Snowplow paths when the protocol is enabled.
func (r *pixelReceiver) routeSnowplow(w http.ResponseWriter, req *http.Request) bool {
	p := &r.cfg.Protocols.Snowplow
	switch {
	case !p.Enabled:
		return false
	case req.URL.Path == p.PixelPath:
		r.handleSnowplowPixel(w, req)
	case req.URL.Path == p.PostPath:
		r.handleSnowplowPost(w, req)
	default:
		return false
	}
	return true
}

// snowplowServerError answers a Snowplow request whose body confighttp
// could not decode: the GET endpoint as ever (it needs no body), the POST
// endpoint with a counted 400.
func (r *pixelReceiver) snowplowServerError(w http.ResponseWriter, req *http.Request, msg string) bool {
	p := &r.cfg.Protocols.Snowplow
	switch {
	case !p.Enabled:
		return false
	case req.URL.Path == p.PixelPath:
		r.handleSnowplowPixel(w, req)
	case req.URL.Path == p.PostPath:
		r.refuseBody(w, req, channelSnowplow, msg)
	default:
		return false
	}
	return true
}
