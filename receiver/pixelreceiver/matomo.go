package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/matomo"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// channelMatomo counts the rejections of Matomo's HTTP Tracking API.
const channelMatomo = eventmodel.ChannelMatomo

// handleMatomo serves Matomo's HTTP Tracking API with the pixel's and the
// beacon's hardening.
//
// A GET that does not say send_image=0 is a pixel (an <img>, or
// matomo.js falling back to one): like our pixel it always gets the GIF,
// whatever happened to it. Every other request (a GET with send_image=0,
// a POST, a bulk POST) is a beacon: refused with a 4xx and the reason,
// accepted with Matomo's answer: 204 for send_image=0, else the GIF for a
// single request and Matomo's JSON summary for a bulk one.
func (r *pixelReceiver) handleMatomo(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	switch req.Method {
	case http.MethodGet, http.MethodPost:
	case http.MethodHead:
		// Link checkers and uptime probes: nothing to record.
		writeGIF(w)
		return
	case http.MethodOptions:
		r.setBeaconHeaders(w, req, nil)
		r.handlePreflight(w, http.MethodPost)
		return
	default:
		r.refuseMethod(w, req, channelMatomo, matomoMethodRejection, "GET, POST, HEAD, OPTIONS")
		return
	}
	pixel := req.Method == http.MethodGet && matomo.SendImage(req.URL.RawQuery)
	refuse := func(s *site, status int, rej *webevent.Rejection) {
		r.reject(ctx, channelMatomo, rej, -1)
		if pixel {
			writeGIF(w)
			return
		}
		r.setBeaconHeaders(w, req, s)
		writeBeaconError(w, status, rej)
	}
	c := r.newClient(req, time.Now())
	if !r.allow(&c) {
		if !pixel {
			w.Header().Set("Retry-After", "1")
		}
		refuse(nil, http.StatusTooManyRequests, rateLimitedRejection)
		return
	}
	in, status, rej := r.decodeMatomo(req, &c, pixel)
	if rej != nil {
		refuse(nil, status, rej)
		return
	}
	batch, bulk, image := in.batch, in.bulk, in.image
	for i := range batch.Rejected {
		r.reject(ctx, channelMatomo, &batch.Rejected[i].Rejection, batch.Rejected[i].Index)
	}
	var s *site
	if len(batch.Events) > 0 {
		s = r.sites[batch.Events[0].SiteID]
	}
	st := r.settleMatomo(w, req, &c, batch.Events)
	if !bulk && st.refused > 0 {
		// Counted by settleMatomo.
		if pixel {
			writeGIF(w)
			return
		}
		r.setBeaconHeaders(w, req, s)
		writeBeaconError(w, http.StatusForbidden, originRejection)
		return
	}
	if len(st.events) > 0 {
		format := formatPixel
		if bulk {
			format = formatJSON
		}
		if err := r.consume(ctx, format, st.events); err != nil {
			if pixel {
				writeGIF(w)
				return
			}
			r.setBeaconHeaders(w, req, s)
			writeConsumerError(w, err)
			return
		}
	}
	if pixel {
		writeGIF(w)
		return
	}
	r.setBeaconHeaders(w, req, s)
	switch {
	case bulk:
		writeMatomoSummary(w, image, len(st.events), st.refused, batch.Rejected)
	case image:
		writeGIF(w)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// settled are the events of a request that passed the receiver's checks.
type settled struct {
	events  []webevent.Event
	refused int // refused for the request's Origin
}

// settleMatomo checks the origin of, and enriches, the events of each
// identity (Shared) apart, as one beacon each: a bulk request may carry
// several sites and visitors. Events dropped as bots are counted and
// answered as accepted (Matomo excludes bots silently too).
func (r *pixelReceiver) settleMatomo(w http.ResponseWriter, req *http.Request, c *client, events []webevent.Event) settled {
	ctx := req.Context()
	groupByShared(events)
	origin := req.Header.Get("Origin")
	out := settled{events: events[:0]}
	for start := 0; start < len(events); {
		end := start + 1
		for end < len(events) && events[end].Shared == events[start].Shared {
			end++
		}
		run := events[start:end]
		start = end
		s := r.sites[run[0].SiteID]
		if origin != "" && !s.origins.AllowsOrigin(origin) {
			for range run {
				r.reject(ctx, channelMatomo, originRejection, -1)
			}
			out.refused += len(run)
			continue
		}
		sender := *c
		overrideClient(&sender, &run[0])
		if reason := r.enrich(w, req, &sender, s, run); reason != "" {
			bot := botRejection(reason)
			for range run {
				r.reject(ctx, channelMatomo, bot, -1)
			}
			continue
		}
		// run starts at or after len(out.events): append moves it down.
		out.events = append(out.events, run...)
	}
	return out
}

// groupByShared makes the events of each Shared adjacent, in the order of
// their first event (stable): almost always there is only one.
func groupByShared(events []webevent.Event) {
	var order []*webevent.Shared
	for i := range events {
		if !slices.Contains(order, events[i].Shared) {
			order = append(order, events[i].Shared)
		}
	}
	if len(order) < 2 {
		return
	}
	sorted := make([]webevent.Event, 0, len(events))
	for _, sh := range order {
		for i := range events {
			if events[i].Shared == sh {
				sorted = append(sorted, events[i])
			}
		}
	}
	copy(events, sorted)
}

// overrideClient applies the authenticated cip and ua overrides (which the
// decoder wrote into the event) to what bot detection and geo read.
func overrideClient(c *client, ev *webevent.Event) {
	if ev.ClientAddr != c.info.ClientAddress {
		if addr, err := netip.ParseAddr(ev.ClientAddr); err == nil {
			c.addr, c.info.ClientAddress = addr, ev.ClientAddr
		}
	}
	if ev.UserAgent != "" && ev.UserAgent != c.info.UserAgent {
		c.info.UserAgent = ev.UserAgent
	}
}

// matomoBulkSummary is Matomo's answer to a bulk request, plus the reasons
// of the refused members (which Matomo's clients ignore).
type matomoBulkSummary struct {
	Status         string          `json:"status"`
	Tracked        int             `json:"tracked"`
	Invalid        int             `json:"invalid"`
	InvalidIndices []int           `json:"invalid_indices,omitempty"`
	Rejected       []rejectedEvent `json:"rejected,omitempty"`
}

// writeMatomoSummary answers a bulk request: 204 when the body said
// send_image 0, else Matomo's JSON; 400 when nothing could be kept.
func writeMatomoSummary(w http.ResponseWriter, image bool, tracked, refused int, rejected []webevent.EventRejection) {
	invalid := refused + len(rejected)
	if tracked > 0 || invalid == 0 {
		if !image {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	sum := matomoBulkSummary{Status: "success", Tracked: tracked, Invalid: invalid}
	for _, er := range rejected {
		sum.InvalidIndices = append(sum.InvalidIndices, er.Index)
		sum.Rejected = append(sum.Rejected, rejectedEvent{Index: er.Index, Error: string(er.Reason), Message: er.Message})
	}
	status := http.StatusOK
	if tracked == 0 && invalid > 0 {
		sum.Status, status = "error", http.StatusBadRequest
	}
	writeJSON(w, status, sum)
}

// matomoRequest is what one HTTP request to the API carried.
type matomoRequest struct {
	batch matomo.Batch
	// bulk is a bulk request; image is its wish for the GIF (Matomo's
	// JSON summary for a bulk request) rather than 204.
	bulk, image bool
}

// decodeMatomo decodes the query of a GET, the form body of a POST (with
// the URL's query) or a bulk body. A rejection is of the whole request,
// with its status.
func (r *pixelReceiver) decodeMatomo(req *http.Request, c *client, pixel bool) (matomoRequest, int, *webevent.Rejection) {
	if req.Method == http.MethodGet {
		ev, rej := r.matomo.Decode(req.URL.RawQuery, c.info)
		if rej != nil {
			return matomoRequest{}, statusOf(rej), rej
		}
		return matomoRequest{batch: matomo.Batch{Events: []webevent.Event{ev}}, image: pixel}, 0, nil
	}
	if !matomoMediaType(req.Header.Get("Content-Type")) {
		return matomoRequest{}, http.StatusUnsupportedMediaType, matomoMediaTypeRejection
	}
	body, status, rej := r.readBody(req)
	if rej != nil {
		return matomoRequest{}, status, rej
	}
	if matomo.IsBulk(body) {
		batch, rej := r.matomo.DecodeBulk(body, c.info)
		if rej != nil {
			return matomoRequest{}, statusOf(rej), rej
		}
		return matomoRequest{batch: batch, bulk: true, image: batch.SendImage}, 0, nil
	}
	// Matomo reads the URL's query and the form body together ($_GET +
	// $_POST: the query's value wins).
	query := joinQuery(req.URL.RawQuery, string(body))
	ev, rej := r.matomo.Decode(query, c.info)
	if rej != nil {
		return matomoRequest{}, statusOf(rej), rej
	}
	return matomoRequest{batch: matomo.Batch{Events: []webevent.Event{ev}}, image: matomo.SendImage(query)}, 0, nil
}

var (
	matomoMethodRejection    = &webevent.Rejection{Reason: webevent.ReasonMethodNotAllowed, Message: "use GET or POST"}
	matomoMediaTypeRejection = &webevent.Rejection{Reason: webevent.ReasonUnsupportedMediaType, Message: "Content-Type must be application/x-www-form-urlencoded, application/json or text/plain"}
)

// matomoMediaType accepts what Matomo's trackers post: a form body (also
// for a bulk JSON body, as matomo.js labels it), JSON, or text/plain
// (navigator.sendBeacon with a string). No Content-Type at all is read as
// a form, as PHP does.
func matomoMediaType(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/x-www-form-urlencoded" || mt == "application/json" || mt == "text/plain")
}

// joinQuery joins the URL's query and a form body into one query; the
// decoder keeps the first value of a parameter.
func joinQuery(query, form string) string {
	switch {
	case form == "":
		return query
	case query == "":
		return form
	}
	return query + "&" + form
}
