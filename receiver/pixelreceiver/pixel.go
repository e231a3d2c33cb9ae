package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"net/http"
	"strconv"
	"time"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// transparentGIF is the canonical smallest transparent 1x1 GIF89a (43 bytes):
// a 2-colour global table, a graphic control extension that marks colour 0
// transparent, and one LZW-coded pixel.
var transparentGIF = []byte{
	'G', 'I', 'F', '8', '9', 'a', // header
	0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1x1, global colour table of 2 entries
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // colour table: black, white
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // graphic control: colour 0 is transparent
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor
	0x02, 0x02, 0x44, 0x01, 0x00, // LZW min code size 2, one sub-block, terminator
	0x3b, // trailer
}

var gifLength = strconv.Itoa(len(transparentGIF))

var hitMethodRejection = &webevent.Rejection{Reason: webevent.ReasonMethodNotAllowed, Message: "use GET"}

// handlePixel answers every GET and HEAD with the GIF, whatever the input:
// a broken or refused hit must never show as a broken image on the page.
func (r *pixelReceiver) handlePixel(w http.ResponseWriter, req *http.Request) {
	r.handleHit(w, req, channelPixel, writeGIF)
}

// handleHit serves a GET pixel surface: a GET is recorded on channel, GET
// and HEAD get the same fixed answer, other methods a 405. answer writes the
// response, which never depends on the request.
func (r *pixelReceiver) handleHit(w http.ResponseWriter, req *http.Request, channel string, answer func(http.ResponseWriter)) {
	switch req.Method {
	case http.MethodGet:
		r.recordHit(w, req, channel)
		answer(w)
	case http.MethodHead:
		// Browsers never HEAD an <img> or <iframe>; HEAD comes from link
		// checkers and uptime probes, which are not page views, so nothing
		// is recorded.
		answer(w)
	default:
		r.reject(req.Context(), channel, hitMethodRejection, -1)
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed; use GET", http.StatusMethodNotAllowed)
	}
}

// recordHit records one GET hit. It may set cookies on w but never writes
// the answer, which must not depend on the outcome.
func (r *pixelReceiver) recordHit(w http.ResponseWriter, req *http.Request, channel string) {
	c := r.newClient(req, time.Now())
	if !r.allow(&c) {
		r.reject(req.Context(), channel, rateLimitedRejection, -1)
		return
	}
	ev, rej := r.decoder.DecodeHit(channel, req.URL.RawQuery, c.info)
	if rej != nil {
		r.reject(req.Context(), channel, rej, -1)
		return
	}
	events := []webevent.Event{ev}
	if reason := r.enrich(w, req, &c, r.sites[ev.SiteID], events); reason != "" {
		r.reject(req.Context(), channel, botRejection(reason), -1)
		return
	}
	// The answer is written even when the pipeline refuses the hit: the page
	// cannot act on it, and ObsReport counts the refusal.
	_ = r.consume(req.Context(), formatPixel, events)
}

var rateLimitedRejection = &webevent.Rejection{Reason: webevent.ReasonRateLimited, Message: "too many requests from this address; slow down"}

func botRejection(reason string) *webevent.Rejection {
	return &webevent.Rejection{Reason: webevent.ReasonBot, Message: "dropped as a bot (" + reason + ")"}
}

// gifHeaders are the pixel's response headers, canonical keys and shared
// value slices: set by assignment, with no canonicalisation or allocation
// per hit. Handlers never modify them.
var gifHeaders = map[string][]string{
	"Content-Type":   {"image/gif"},
	"Content-Length": {gifLength},
	// Every hit must reach the collector; a cached GIF would be an unseen page view.
	"Cache-Control": {"no-store, max-age=0"},
	// Lets pages that set Cross-Origin-Embedder-Policy: require-corp embed the pixel.
	"Cross-Origin-Resource-Policy": {"cross-origin"},
	"X-Content-Type-Options":       {"nosniff"},
}

func writeGIF(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range gifHeaders {
		h[k] = v
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(transparentGIF)
}
