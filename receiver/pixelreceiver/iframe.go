package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"io"
	"net/http"
	"strconv"
)

// iframeHTML is the whole answer of the iframe pixel: an empty, valid HTML
// document. It is a constant, so nothing from the request can ever be
// reflected into it.
const iframeHTML = "<!doctype html><html><head><meta charset=\"utf-8\"><title></title></head><body></body></html>"

var iframeLength = strconv.Itoa(len(iframeHTML))

// iframeCSP forbids the document everything: no script, style, image,
// connection, form or plugin, and no <base> tricks. Any page may embed it
// (that is its purpose), so there is no frame-ancestors restriction.
const iframeCSP = "default-src 'none'; base-uri 'none'; form-action 'none'; sandbox"

// handleIframe serves the iframe pixel: the same parameters and recording as
// the image pixel, answered with iframeHTML whatever the input.
func (r *pixelReceiver) handleIframe(w http.ResponseWriter, req *http.Request) {
	r.handleHit(w, req, channelIframe, writeIframeHTML)
}

func writeIframeHTML(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", iframeLength)
	// Every hit must reach the collector; a cached page would be an unseen page view.
	h.Set("Cache-Control", "no-store, max-age=0")
	h.Set("Content-Security-Policy", iframeCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// The document makes no requests, but say so for any future change.
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, iframeHTML)
}
