package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"net/http"
	"net/url"
)

// setCORS answers CORS for a request from a page of site s (nil for a
// preflight, which carries no site id: then any site's allowed origins
// count). An allowed Origin is echoed with credentials allowed, because in
// server cookie mode the tag sends its requests with the visitor's cookies;
// the responses reveal nothing but the sender's own outcome. A disallowed
// or absent Origin gets no CORS headers, so a browser hides the answer.
func (r *pixelReceiver) setCORS(w http.ResponseWriter, req *http.Request, s *site) {
	if !r.ownCORS {
		return
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := req.Header.Get("Origin")
	if !wellFormedOrigin(origin) || !r.originAllowed(origin, s) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}

// wellFormedOrigin accepts only what a browser sends for a web page,
// "http(s)://host[:port]", so that nothing else is ever reflected, even for
// sites that allow any origin.
func wellFormedOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	for i := 0; i < len(origin); i++ {
		if c := origin[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (r *pixelReceiver) originAllowed(origin string, s *site) bool {
	if s != nil {
		return s.origins.AllowsOrigin(origin)
	}
	for _, s := range r.sites {
		if s.origins.AllowsOrigin(origin) {
			return true
		}
	}
	return false
}

// handlePreflight answers a CORS preflight for method. The allowed request
// headers are a fixed list; nothing but an allowed Origin is reflected.
func (r *pixelReceiver) handlePreflight(w http.ResponseWriter, method string) {
	r.handlePreflightHeaders(w, method, "Content-Type")
}

// handlePreflightHeaders is handlePreflight with allowHeaders, a fixed
// list, allowed.
func (r *pixelReceiver) handlePreflightHeaders(w http.ResponseWriter, method, allowHeaders string) {
	h := w.Header()
	h.Set("Allow", method+", OPTIONS")
	if r.ownCORS && h.Get("Access-Control-Allow-Origin") != "" {
		h.Set("Access-Control-Allow-Methods", method)
		h.Set("Access-Control-Allow-Headers", allowHeaders)
		h.Set("Access-Control-Max-Age", "86400")
	}
	w.WriteHeader(http.StatusNoContent)
}
