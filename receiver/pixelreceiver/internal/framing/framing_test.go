package framing

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server is a real net/http server, with or without the checks, that
// records the targets of the requests it served.
type server struct {
	addr string
	tls  *tls.Config // client side, when the server speaks TLS

	mu       sync.Mutex
	served   []string
	refused  []Violation
	sawTLS   bool
	closeSrv func()
}

func startServer(t *testing.T, checked, useTLS bool) *server {
	t.Helper()
	s := &server{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			s.mu.Lock()
			s.served = append(s.served, r.URL.RequestURI())
			s.sawTLS = s.sawTLS || r.TLS != nil
			s.mu.Unlock()
			_, _ = io.WriteString(w, "ok")
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var cfg Config
	cfg.OnViolation = func(v Violation) {
		s.mu.Lock()
		s.refused = append(s.refused, v)
		s.mu.Unlock()
	}
	if useTLS {
		// httptest's certificate, made for 127.0.0.1.
		ts := httptest.NewUnstartedServer(nil)
		ts.StartTLS()
		cfg.TLS = ts.TLS
		s.tls = &tls.Config{RootCAs: ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2", "http/1.1"}, ServerName: "127.0.0.1"}
		ts.Close()
	}
	served := ln
	switch {
	case checked:
		served = NewListener(ln, cfg)
	case useTLS:
		served = tls.NewListener(ln, cfg.TLS)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(served) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *server) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	if s.tls != nil {
		tc := tls.Client(c, s.tls)
		require.NoError(t, tc.Handshake())
		c = tc
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// exchange writes raw in one write and reads until the server closes the
// connection or goes quiet; closed is false in the second case.
func (s *server) exchange(t *testing.T, raw string) (answer string, closed bool) {
	t.Helper()
	c := s.dial(t)
	_, err := io.WriteString(c, raw)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	b, err := io.ReadAll(c)
	var ne net.Error
	if err != nil && !(assert.ErrorAs(t, err, &ne) && ne.Timeout()) {
		t.Fatalf("read: %v", err)
	}
	return string(b), err == nil
}

func (s *server) snapshot() (served []string, refused []Violation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.served...), append([]Violation(nil), s.refused...)
}

// waitServed waits until n requests were served (the handler may still be
// running when the client has its answer).
func (s *server) waitServed(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { served, _ := s.snapshot(); return len(served) >= n }, 5*time.Second, 5*time.Millisecond)
	served, _ := s.snapshot()
	return served
}

const smuggledTarget = "/p.gif?s=shop&url=https%3A%2F%2Fshop.example%2Fsmuggled"

// Every refused framing gets 400 and a closed connection, the request and
// the one smuggled behind it are never served, and the refusal is counted
// once. A request on a new connection is served normally afterwards.
func TestListenerRefuses(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		s := startServer(t, true, useTLS)
		count := 0
		for _, tc := range framingCases {
			if tc.want == "" {
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				answer, closed := s.exchange(t, tc.raw+smuggled)
				assert.True(t, strings.HasPrefix(answer, "HTTP/1.1 400 Bad Request\r\n"), answer)
				assert.Contains(t, answer, "\r\nConnection: close\r\n")
				assert.Equal(t, 1, strings.Count(answer, "HTTP/1.1 "), "one answer only: %q", answer)
				assert.True(t, closed, "the connection is closed")
				count++
				served, refused := s.snapshot()
				assert.Empty(t, served)
				require.Len(t, refused, count)
				assert.Equal(t, tc.want, refused[count-1])
			})
		}
		answer, closed := s.exchange(t, "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		assert.True(t, strings.HasPrefix(answer, "HTTP/1.1 200 OK"), answer)
		assert.True(t, closed)
		assert.Equal(t, []string{"/after"}, s.waitServed(t, 1))
		s.mu.Lock()
		assert.Equal(t, useTLS, s.sawTLS, "Request.TLS is set under TLS")
		s.mu.Unlock()
	}
}

// Valid framings, pipelined on one connection, are all served, and the
// connection stays open.
func TestListenerServesValidFraming(t *testing.T) {
	s := startServer(t, true, false)
	var raw strings.Builder
	n := 0
	for _, tc := range framingCases {
		if tc.want == "" {
			raw.WriteString(strings.Replace(tc.raw, "Host: x\r\n", "Host: x\r\nX-Case: "+tc.name+"\r\n", 1))
			n += max(1, strings.Count(tc.raw, " HTTP/1."))
		}
	}
	answer, closed := s.exchange(t, raw.String())
	assert.False(t, closed, "the connection stays open")
	assert.Equal(t, n, strings.Count(answer, "200 OK"), answer)
	assert.Len(t, s.waitServed(t, n), n)
	_, refused := s.snapshot()
	assert.Empty(t, refused)
}

// Requests before a refused one on the same connection are served; the
// refused one and everything after it are not.
func TestListenerServesRequestsBeforeTheRefusedOne(t *testing.T) {
	s := startServer(t, true, false)
	answer, closed := s.exchange(t, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	assert.True(t, closed)
	assert.True(t, strings.HasPrefix(answer, "HTTP/1.1 200 OK"), answer)
	assert.Contains(t, answer, "HTTP/1.1 400 Bad Request")
	assert.Equal(t, []string{"/first"}, s.waitServed(t, 1))
}

// An invalid chunk in the body of a request whose head was already
// served: the handler's read fails and net/http closes the connection.
func TestListenerBodyViolationAfterHead(t *testing.T) {
	s := startServer(t, true, false)
	c := s.dial(t)
	_, err := io.WriteString(c, "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the head in a read of its own
	_, err = io.WriteString(c, "zz\r\nabc\r\n0\r\n\r\n"+smuggled)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	b, err := io.ReadAll(c)
	require.NoError(t, err, "closed")
	assert.NotContains(t, string(b), "smuggled")
	served := s.waitServed(t, 1)
	assert.Equal(t, []string{"/b"}, served, "only the request whose head was valid reached the handler")
	_, refused := s.snapshot()
	assert.Equal(t, []Violation{InvalidChunk}, refused)
}

// What Go's net/http does on its own with each case: whether it serves
// the request sent behind it. The cases where it does and the checks
// refuse are what this package adds; if Go starts refusing one, the
// table (and the receiver's README) should say so.
func TestWhatGoAloneServes(t *testing.T) {
	s := startServer(t, false, false)
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			s.mu.Lock()
			s.served = nil
			s.mu.Unlock()
			answer, _ := s.exchange(t, tc.raw+smuggled)
			served, _ := s.snapshot()
			servedNext := len(served) > 0 && served[len(served)-1] == smuggledTarget
			assert.Equal(t, tc.goServesNext, servedNext, "answer %q", answer)
		})
	}
}

// Under TLS only HTTP/1.1 is offered: net/http could not take HTTP/2
// through a checked connection.
func TestListenerTLSOffersHTTP11Only(t *testing.T) {
	s := startServer(t, true, true)
	c := s.dial(t).(*tls.Conn)
	assert.Equal(t, "http/1.1", c.ConnectionState().NegotiatedProtocol)
}
