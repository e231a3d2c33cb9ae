package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"mime"
	"net/http"
	"net/netip"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// channelGA4 counts the rejections of GA4's Measurement Protocol.
const channelGA4 = eventmodel.ChannelGA4

var (
	ga4MediaTypeRejection = &webevent.Rejection{Reason: webevent.ReasonUnsupportedMediaType, Message: "Content-Type must be application/json or text/plain"}

	ga4CollectMethodRejection    = &webevent.Rejection{Reason: webevent.ReasonMethodNotAllowed, Message: "use GET or POST"}
	ga4CollectMediaTypeRejection = &webevent.Rejection{Reason: webevent.ReasonUnsupportedMediaType, Message: "Content-Type must be text/plain or application/x-www-form-urlencoded"}
)

// handleGA4MP serves the Measurement Protocol with the beacon's hardening:
// rate limit, media type and body size, measurement id and api_secret,
// origin, bots.
//
// Google answers every request 2xx, even a malformed one; the collector
// answers as its own beacon does: 204 when every event was kept, 200 with
// the refused events when some were, and a 4xx with the reason when none
// could be. The validation path (debug) records nothing and answers
// Google's validationMessages.
func (r *pixelReceiver) handleGA4MP(w http.ResponseWriter, req *http.Request, debug bool) {
	ctx := req.Context()
	switch req.Method {
	case http.MethodPost:
	case http.MethodOptions:
		r.setBeaconHeaders(w, req, nil)
		r.handlePreflight(w, http.MethodPost)
		return
	default:
		r.refuseMethod(w, req, channelGA4, beaconMethodRejection, "POST, OPTIONS")
		return
	}
	c := r.newClient(req, time.Now())
	refuse := func(s *site, status int, rej *webevent.Rejection) {
		r.setBeaconHeaders(w, req, s)
		r.reject(ctx, channelGA4, rej, -1)
		writeBeaconError(w, status, rej)
	}
	if !r.allow(&c) {
		w.Header().Set("Retry-After", "1")
		refuse(nil, http.StatusTooManyRequests, rateLimitedRejection)
		return
	}
	if !ga4MediaType(req.Header.Get("Content-Type")) {
		refuse(nil, http.StatusUnsupportedMediaType, ga4MediaTypeRejection)
		return
	}
	body, status, rej := r.readBody(req)
	if rej != nil {
		refuse(nil, status, rej)
		return
	}
	origin := req.Header.Get("Origin")
	if origin == "" {
		// A server reports for its visitors: its own user agent and
		// address describe it, not the visitor, and must neither make the
		// events bots nor place them.
		serverSender(&c)
	}
	batch, refusal := r.ga4.DecodeMP(req.URL.RawQuery, body, c.info)
	if debug {
		writeGA4Validation(w, refusal, batch.Refused)
		return
	}
	if refusal != nil {
		refuse(nil, statusOf(&refusal.Rejection), &refusal.Rejection)
		return
	}
	r.deliverGA4(w, req, &c, batch, false)
}

// deliverGA4 counts a decoded request's refused events, checks the
// origin, enriches and consumes the good ones, and answers: for a pixel
// (a gtag.js GET) always 204, else as the beacon does.
func (r *pixelReceiver) deliverGA4(w http.ResponseWriter, req *http.Request, c *client, batch ga4.Batch, pixel bool) {
	ctx := req.Context()
	for i := range batch.Refused {
		r.reject(ctx, channelGA4, &batch.Refused[i].Rejection, batch.Refused[i].Index)
	}
	if len(batch.Events) == 0 {
		if pixel {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r.setBeaconHeaders(w, req, nil)
		writeGA4Summary(w, http.StatusBadRequest, 0, batch.Refused)
		return
	}
	s := r.sites[batch.Events[0].SiteID]
	if origin := req.Header.Get("Origin"); origin != "" && !s.origins.AllowsOrigin(origin) {
		for range batch.Events {
			r.reject(ctx, channelGA4, originRejection, -1)
		}
		if pixel {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r.setBeaconHeaders(w, req, s)
		writeBeaconError(w, http.StatusForbidden, originRejection)
		return
	}
	if !pixel {
		r.setBeaconHeaders(w, req, s)
	}
	// An authenticated ip_override is what geo reads.
	overrideClient(c, &batch.Events[0])
	if reason := r.enrich(w, req, c, s, batch.Events); reason != "" {
		bot := botRejection(reason)
		for range batch.Events {
			r.reject(ctx, channelGA4, bot, -1)
		}
		// Accepted, as Google would: a misjudged sender must not retry.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	format := formatJSON
	if pixel {
		format = formatPixel
	}
	if err := r.consume(ctx, format, batch.Events); err != nil {
		if pixel {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeConsumerError(w, err)
		return
	}
	if len(batch.Refused) > 0 && !pixel {
		writeGA4Summary(w, http.StatusOK, len(batch.Events), batch.Refused)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleGA4Collect serves gtag.js's /g/collect, so that a site sets
// gtag's transport_url (or server_container_url) to the collector. A GET
// is a pixel: like Google, and like our pixel, it always gets 204 with no
// body, whatever happened to it (refusals are counted). A POST (gtag.js's
// sendBeacon or fetch, one event or a batch) is a beacon: refused with a
// 4xx and the reason, accepted with 204 as from Google.
func (r *pixelReceiver) handleGA4Collect(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	switch req.Method {
	case http.MethodGet, http.MethodPost:
	case http.MethodOptions:
		r.setBeaconHeaders(w, req, nil)
		r.handlePreflight(w, http.MethodPost)
		return
	default:
		r.refuseMethod(w, req, channelGA4, ga4CollectMethodRejection, "GET, POST, OPTIONS")
		return
	}
	pixel := req.Method == http.MethodGet
	refuse := func(status int, rej *webevent.Rejection) {
		r.reject(ctx, channelGA4, rej, -1)
		if pixel {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r.setBeaconHeaders(w, req, nil)
		writeBeaconError(w, status, rej)
	}
	c := r.newClient(req, time.Now())
	if !r.allow(&c) {
		if !pixel {
			w.Header().Set("Retry-After", "1")
		}
		refuse(http.StatusTooManyRequests, rateLimitedRejection)
		return
	}
	var body []byte
	if !pixel {
		if !ga4CollectMediaType(req.Header.Get("Content-Type")) {
			refuse(http.StatusUnsupportedMediaType, ga4CollectMediaTypeRejection)
			return
		}
		var status int
		var rej *webevent.Rejection
		if body, status, rej = r.readBody(req); rej != nil {
			refuse(status, rej)
			return
		}
	}
	batch, refusal := r.ga4.DecodeCollect(req.URL.RawQuery, body, c.info)
	if refusal != nil {
		refuse(statusOf(&refusal.Rejection), &refusal.Rejection)
		return
	}
	r.deliverGA4(w, req, &c, batch, pixel)
}

// serverSender forgets what the request says about its sender's browser.
func serverSender(c *client) {
	c.addr = netip.Addr{}
	c.info.ClientAddress, c.info.UserAgent, c.info.Referer = "", "", ""
	c.info.GPC, c.info.DNT = false, false
}

// writeGA4Summary answers, as the beacon does, a request of which some
// events were refused.
func writeGA4Summary(w http.ResponseWriter, status, accepted int, refused []ga4.Refusal) {
	rejected := make([]webevent.EventRejection, len(refused))
	for i := range refused {
		rejected[i] = refused[i].EventRejection
	}
	writeBeaconSummary(w, status, accepted, rejected)
}

// ga4ValidationMessage is one entry of Google's validation answer.
type ga4ValidationMessage struct {
	FieldPath      string `json:"fieldPath"`
	Description    string `json:"description"`
	ValidationCode string `json:"validationCode"`
}

// writeGA4Validation answers the validation path as Google's validation
// server does: 200 and {"validationMessages": [...]}, empty for a valid
// request.
func writeGA4Validation(w http.ResponseWriter, refusal *ga4.Refusal, refused []ga4.Refusal) {
	msgs := make([]ga4ValidationMessage, 0, len(refused)+1)
	add := func(rf *ga4.Refusal) {
		msgs = append(msgs, ga4ValidationMessage{FieldPath: rf.FieldPath, Description: rf.Message, ValidationCode: rf.Code})
	}
	if refusal != nil {
		add(refusal)
	}
	for i := range refused {
		add(&refused[i])
	}
	writeJSON(w, http.StatusOK, struct {
		ValidationMessages []ga4ValidationMessage `json:"validationMessages"`
	}{msgs})
}

// ga4MediaType accepts what Measurement Protocol senders post: JSON, or
// text/plain (navigator.sendBeacon with a string), or no Content-Type at
// all (Google reads the body whatever it is labelled).
func ga4MediaType(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "text/plain")
}

// ga4CollectMediaType accepts what gtag.js posts: text/plain (its
// sendBeacon and fetch), a form, or no Content-Type.
func ga4CollectMediaType(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "text/plain" || mt == "application/x-www-form-urlencoded")
}
