package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// retryAfterSeconds is sent with 503 so that tags back off instead of
// hammering a collector whose pipeline is saturated.
const retryAfterSeconds = 5

// Error codes of beacon responses that are not rejections of the input but
// answers from the pipeline (counted by ObsReport, not as rejections).
const (
	errorPipelineUnavailable = "pipeline_unavailable"
	errorPipelineRefused     = "pipeline_refused"
)

var beaconMethodRejection = &webevent.Rejection{Reason: webevent.ReasonMethodNotAllowed, Message: "use POST"}

// handleBeacon accepts a JSON beacon. Problems with the whole beacon answer
// 4xx and consume nothing; problems with single events reject only those
// events and are listed in the response.
func (r *pixelReceiver) handleBeacon(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
		r.handleBeaconPost(w, req)
	case http.MethodOptions:
		r.setBeaconHeaders(w, req, nil)
		r.handlePreflight(w, http.MethodPost)
	default:
		r.refuseMethod(w, req, channelBeacon, beaconMethodRejection, "POST, OPTIONS")
	}
}

func (r *pixelReceiver) handleBeaconPost(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	c := r.newClient(req, time.Now())
	if !r.allow(&c) {
		r.setBeaconHeaders(w, req, nil)
		r.reject(ctx, channelBeacon, rateLimitedRejection, -1)
		w.Header().Set("Retry-After", "1")
		writeBeaconError(w, http.StatusTooManyRequests, rateLimitedRejection)
		return
	}
	body, status, rej := r.readBeaconBody(req)
	if rej != nil {
		r.setBeaconHeaders(w, req, nil)
		r.reject(ctx, channelBeacon, rej, -1)
		writeBeaconError(w, status, rej)
		return
	}
	b, rej := r.decoder.DecodeBeacon(body, c.info)
	if rej != nil {
		r.setBeaconHeaders(w, req, nil)
		r.reject(ctx, channelBeacon, rej, -1)
		writeBeaconError(w, statusOf(rej), rej)
		return
	}
	s := r.sites[b.Site]
	r.setBeaconHeaders(w, req, s)
	if origin := req.Header.Get("Origin"); origin != "" && !s.origins.AllowsOrigin(origin) {
		r.reject(ctx, channelBeacon, originRejection, -1)
		writeBeaconError(w, http.StatusForbidden, originRejection)
		return
	}
	for i := range b.Rejected {
		r.reject(ctx, channelBeacon, &b.Rejected[i].Rejection, b.Rejected[i].Index)
	}
	if len(b.Events) == 0 {
		writeBeaconSummary(w, http.StatusBadRequest, 0, b.Rejected)
		return
	}
	if reason := r.enrich(w, req, &c, s, b.Events); reason != "" {
		// 200, so that a misjudged browser does not retry, with the reason.
		bot := botRejection(reason)
		for range b.Events {
			r.reject(ctx, channelBeacon, bot, -1)
		}
		writeBeaconError(w, http.StatusOK, bot)
		return
	}
	if err := r.consume(ctx, formatJSON, b.Events); err != nil {
		writeConsumerError(w, err)
		return
	}
	writeBeaconSummary(w, http.StatusOK, len(b.Events), b.Rejected)
}

// readBeaconBody checks the media type and reads the body within
// max_request_body_size (confighttp has wrapped the body in a MaxBytesReader,
// also after decompression).
func (r *pixelReceiver) readBeaconBody(req *http.Request) ([]byte, int, *webevent.Rejection) {
	if !beaconMediaType(req.Header.Get("Content-Type")) {
		return nil, http.StatusUnsupportedMediaType, &webevent.Rejection{
			Reason:  webevent.ReasonUnsupportedMediaType,
			Message: "Content-Type must be application/json or text/plain",
		}
	}
	return r.readBody(req)
}

// readBody reads the body within max_request_body_size.
func (r *pixelReceiver) readBody(req *http.Request) ([]byte, int, *webevent.Rejection) {
	tooLarge := &webevent.Rejection{Reason: webevent.ReasonBodyTooLarge, Message: "the body is larger than max_request_body_size"}
	limit := r.cfg.ServerConfig.MaxRequestBodySize
	if req.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	var buf bytes.Buffer
	if req.ContentLength > 0 {
		buf.Grow(int(req.ContentLength))
	}
	if _, err := buf.ReadFrom(req.Body); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, http.StatusRequestEntityTooLarge, tooLarge
		}
		return nil, http.StatusBadRequest, &webevent.Rejection{Reason: webevent.ReasonInvalidRequest, Message: "the body could not be read"}
	}
	return buf.Bytes(), 0, nil
}

// beaconMediaType accepts JSON and also text/plain, because
// navigator.sendBeacon with a string body sends text/plain and any other
// type would make the browser send a CORS preflight first.
func beaconMediaType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "text/plain")
}

// setBeaconHeaders sets the headers of every beacon response, CORS for
// site s (nil before the site is known).
func (r *pixelReceiver) setBeaconHeaders(w http.ResponseWriter, req *http.Request, s *site) {
	r.setCORS(w, req, s)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// statusOf maps a whole-beacon rejection to its status code.
func statusOf(rej *webevent.Rejection) int {
	if rej.Reason == webevent.ReasonInvalidWriteKey {
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// writeConsumerError maps a pipeline error like otlpreceiver does:
// permanent errors must not be retried, all others may be. The error text is
// not sent: it describes the collector's internals, not the beacon.
func writeConsumerError(w http.ResponseWriter, err error) {
	status, be := consumerError(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	writeJSON(w, status, be)
}

// consumerError is the status and answer for a pipeline error.
func consumerError(err error) (int, beaconError) {
	if consumererror.IsPermanent(err) {
		return http.StatusBadRequest, beaconError{Error: errorPipelineRefused, Message: "the collector refused these events; do not retry"}
	}
	return http.StatusServiceUnavailable, beaconError{Error: errorPipelineUnavailable, Message: "the collector cannot accept events right now; retry later"}
}

type beaconError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

type beaconSummary struct {
	Accepted int             `json:"accepted"`
	Rejected []rejectedEvent `json:"rejected"`
}

type rejectedEvent struct {
	Index   int    `json:"index"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeBeaconError(w http.ResponseWriter, status int, rej *webevent.Rejection) {
	writeJSON(w, status, beaconError{Error: string(rej.Reason), Message: rej.Message})
}

func writeBeaconSummary(w http.ResponseWriter, status, accepted int, rejected []webevent.EventRejection) {
	s := beaconSummary{Accepted: accepted, Rejected: make([]rejectedEvent, len(rejected))}
	for i, er := range rejected {
		s.Rejected[i] = rejectedEvent{Index: er.Index, Error: string(er.Reason), Message: er.Message}
	}
	writeJSON(w, status, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // cannot happen for these types
		body = []byte(`{"error":"internal","message":"response encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// refuseMethod answers a beacon-style request of a method its surface
// does not serve: 405 with the Allow header and the reason, counted for
// channel.
func (r *pixelReceiver) refuseMethod(w http.ResponseWriter, req *http.Request, channel string, rej *webevent.Rejection, allow string) {
	r.setBeaconHeaders(w, req, nil)
	r.reject(req.Context(), channel, rej, -1)
	w.Header().Set("Allow", allow)
	writeBeaconError(w, http.StatusMethodNotAllowed, rej)
}
