package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"net/http"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// channelPlausible counts the rejections of Plausible's Events API.
const channelPlausible = eventmodel.ChannelPlausible

// handlePlausible serves Plausible's Events API with the beacon's
// hardening: rate limit, media type and body size, site and write key,
// origin, bots. It answers as Plausible does: 202 for an accepted event,
// and for one dropped as a bot (with X-Plausible-Dropped: 1, so that a
// misjudged browser does not retry); 4xx with the reason otherwise.
func (r *pixelReceiver) handlePlausible(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
	case http.MethodOptions:
		// Plausible's tracker sends text/plain (no preflight); a sender
		// of application/json asks first.
		r.setBeaconHeaders(w, req, nil)
		r.handlePreflight(w, http.MethodPost)
		return
	default:
		r.refuseMethod(w, req, channelPlausible, beaconMethodRejection, "POST, OPTIONS")
		return
	}
	ctx := req.Context()
	c := r.newClient(req, time.Now())
	refuse := func(s *site, status int, rej *webevent.Rejection) {
		r.setBeaconHeaders(w, req, s)
		r.reject(ctx, channelPlausible, rej, -1)
		writeBeaconError(w, status, rej)
	}
	if !r.allow(&c) {
		w.Header().Set("Retry-After", "1")
		refuse(nil, http.StatusTooManyRequests, rateLimitedRejection)
		return
	}
	body, status, rej := r.readBeaconBody(req)
	if rej != nil {
		refuse(nil, status, rej)
		return
	}
	ev, rej := r.plausible.Decode(body, c.info)
	if rej != nil {
		refuse(nil, statusOf(rej), rej)
		return
	}
	s := r.sites[ev.SiteID]
	if origin := req.Header.Get("Origin"); origin != "" && !s.origins.AllowsOrigin(origin) {
		refuse(s, http.StatusForbidden, originRejection)
		return
	}
	r.setBeaconHeaders(w, req, s)
	events := []webevent.Event{ev}
	if reason := r.enrich(w, req, &c, s, events); reason != "" {
		bot := botRejection(reason)
		r.reject(ctx, channelPlausible, bot, -1)
		w.Header().Set("X-Plausible-Dropped", "1")
		writeBeaconError(w, http.StatusAccepted, bot)
		return
	}
	if err := r.consume(ctx, formatJSON, events); err != nil {
		writeConsumerError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("ok"))
}

var originRejection = &webevent.Rejection{Reason: webevent.ReasonOriginNotAllowed, Message: "the page's origin is not one of the site's allowed_origins"}
