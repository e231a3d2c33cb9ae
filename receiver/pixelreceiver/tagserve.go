package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"

	"github.com/webjourney/webjourney/tag"
)

// tagCacheControl lets browsers and CDNs keep the tag for a day and serve
// a stale copy for a week while revalidating with the ETag: the tag is on
// every page, so its fetch must be nearly free, yet a new collector version
// reaches visitors within a day.
const tagCacheControl = "public, max-age=86400, stale-while-revalidate=604800"

// configCacheControl is short: a config change should reach tags quickly.
const configCacheControl = "public, max-age=300"

// servedTag is the bundled tag and its pre-compressed form.
type servedTag struct {
	script *tag.Script
	gzip   []byte
}

func buildTag(cfg *Config) (*servedTag, error) {
	script, err := tag.Build(tag.Options{
		GlobalName: cfg.TagGlobal,
		TagPath:    cfg.TagPath,
		BeaconPath: cfg.BeaconPath,
		ConfigPath: cfg.ConfigPath,
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(script.Code)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &servedTag{script: script, gzip: buf.Bytes()}, nil
}

// handleTag serves the tag script. It is the same bytes for every site and
// visitor, so it is cacheable by anyone and answered from memory.
func (r *pixelReceiver) handleTag(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed; use GET", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", tagCacheControl)
	h.Set("ETag", r.tag.script.ETag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	// Any page may load the tag, also with crossorigin="anonymous" for SRI.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if etagMatches(req.Header.Get("If-None-Match"), r.tag.script.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := r.tag.script.Code
	if acceptsGzip(req.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = r.tag.gzip
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// etagMatches implements the weak comparison of If-None-Match.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a non-zero quality.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}

// handleConfig serves the per-site config document the tag fetches at
// start-up. Unknown sites get a 404 with a reason, like beacons do.
func (r *pixelReceiver) handleConfig(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	switch req.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		r.setCORS(w, req, nil)
		r.handlePreflight(w, http.MethodGet)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, beaconError{Error: "method_not_allowed", Message: "use GET"})
		return
	}
	s := r.sites[req.URL.Query().Get("s")]
	if s == nil {
		h.Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusNotFound, beaconError{Error: "unknown_site", Message: "parameter s must name a site configured on this collector"})
		return
	}
	if origin := req.Header.Get("Origin"); origin != "" && !s.origins.AllowsOrigin(origin) {
		h.Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusForbidden, beaconError{Error: "origin_not_allowed", Message: "the page's origin is not one of the site's allowed_origins"})
		return
	}
	r.setCORS(w, req, s)
	mode := cookieMode(s, req)
	body := s.configJSON[mode]
	h.Set("Cache-Control", configCacheControl)
	// The answer depends on the page's origin (auto cookie mode, CORS).
	h.Add("Vary", "Origin")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
