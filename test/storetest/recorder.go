package storetest

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// RecordedRequest is what a RecordingProxy saw of one request.
type RecordedRequest struct {
	Method, Path        string
	Accept, ContentType string
	HasBody             bool
}

// RecordingProxy is a reverse proxy in front of the real Elasticsearch that
// records the media types of every request, to prove what a client sends.
type RecordingProxy struct {
	URL string

	mu       sync.Mutex
	requests []RecordedRequest
}

// NewRecordingProxy starts a RecordingProxy in front of target, stopped
// when the test ends.
func NewRecordingProxy(t testing.TB, target string) *RecordingProxy {
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &RecordingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		p.requests = append(p.requests, RecordedRequest{
			Method: r.Method, Path: r.URL.Path,
			Accept: r.Header.Get("Accept"), ContentType: r.Header.Get("Content-Type"),
			HasBody: decodedLen(r.Header.Get("Content-Encoding"), body) > 0,
		})
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// decodedLen is the length of a request body once decoded: the collector's
// HTTP client gzips even the empty body of a GET.
func decodedLen(encoding string, body []byte) int {
	if encoding != "gzip" || len(body) == 0 {
		return len(body)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return len(body)
	}
	n, _ := io.Copy(io.Discard, zr)
	return int(n)
}

// Requests returns the requests recorded so far.
func (p *RecordingProxy) Requests() []RecordedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]RecordedRequest(nil), p.requests...)
}
