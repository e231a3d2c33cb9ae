// Package framing refuses HTTP/1.1 requests whose message framing is
// ambiguous, before net/http parses them.
//
// Request smuggling needs two parsers that disagree on where a request
// ends: a proxy in front and the server behind it. Go's net/http already
// refuses much (conflicting Content-Length values, transfer codings other
// than chunked, whitespace before a colon, bare CR), but it accepts, as
// RFC 9112 allows a recipient to, what a proxy may read differently:
// Content-Length together with Transfer-Encoding: chunked (the chunked
// framing wins and the connection stays open), repeated equal
// Content-Length fields, obsolete line folding (a folded
// "Transfer-Encoding:\r\n chunked" is chunked to Go), a bare LF as line
// end, Transfer-Encoding in an HTTP/1.0 request (ignored by Go), an
// HTTP/1.2 version. A Listener follows the framing of every request on
// its connections (head, Content-Length body, chunks, trailer) and, at
// the first ambiguity, hands net/http nothing of that request but four
// bytes that cannot begin one and a read error: net/http answers
// "400 Bad Request" with "Connection: close" and closes the connection, so neither the refused
// request nor anything sent after it on the connection is served.
// Requests before it on the same connection are served as usual.
//
// The framing is what net/http reads, so under TLS the check runs on the
// decrypted stream: the Listener then terminates TLS itself and offers
// only HTTP/1.1 (HTTP/2 frames its messages itself, with no such
// ambiguity, but net/http serves HTTP/2 only on a *tls.Conn it sees).
package framing // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/framing"

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"
)

// Error is what a checked connection's Read returns from the first byte of
// a refused request on. net/http answers any read error that is neither
// io.EOF nor a network error with 400 and closes the connection.
type Error struct {
	Violation Violation
}

func (e *Error) Error() string { return "ambiguous HTTP/1.1 framing: " + string(e.Violation) }

// Config configures a Listener.
type Config struct {
	// TLS, when set, is the server's TLS configuration: connections are
	// TLS-terminated by the Listener, and only HTTP/1.1 is offered.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake (net/http bounds it by the
	// smallest of its read and write timeouts); 0 means none.
	HandshakeTimeout time.Duration
	// OnViolation is called once for every refused request. It must be
	// safe for concurrent use.
	OnViolation func(Violation)
}

// lingerTimeout and maxLinger bound how long a connection with a refused
// request is read after the answer was sent, and how much: closing a
// socket with unread bytes makes the kernel reset it, and a client could
// then lose the 400 before reading it (net/http waits the same way
// after a 431).
const (
	lingerTimeout = 500 * time.Millisecond
	maxLinger     = 256 << 10
)

// NewListener returns a listener whose connections refuse ambiguous
// framing.
func NewListener(inner net.Listener, cfg Config) net.Listener {
	if cfg.TLS != nil {
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.NextProtos = []string{"http/1.1"}
	}
	return &listener{Listener: inner, cfg: cfg}
}

type listener struct {
	net.Listener
	cfg Config
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.cfg.TLS == nil {
		return &conn{Conn: c, onViolation: l.cfg.OnViolation}, nil
	}
	// The handshake runs in the connection's own goroutine, on its first
	// use: Accept must not wait for a slow client.
	tc := tls.Server(c, l.cfg.TLS)
	return &tlsConn{conn: conn{Conn: tc, onViolation: l.cfg.OnViolation}, tls: tc, timeout: l.cfg.HandshakeTimeout}, nil
}

// conn checks the request stream it reads.
type conn struct {
	net.Conn
	parser      parser
	err         error // sticky once a request was refused
	poisoned    int   // bytes of poison delivered after the refusal
	onViolation func(Violation)
}

// poison stands in for a refused request: four bytes that cannot begin a
// request line. On a kept-alive connection net/http peeks four bytes
// before it reads the next request and closes without an answer when
// that fails; with these it goes on to read the request, fails on the
// error that follows and answers 400.
const poison = "\x00\x00\x00\x00"

func (c *conn) Read(b []byte) (int, error) {
	if c.err != nil {
		if c.poisoned < len(poison) {
			n := copy(b, poison[c.poisoned:])
			c.poisoned += n
			return n, nil
		}
		return 0, c.err
	}
	n, err := c.Conn.Read(b)
	if n == 0 {
		return n, err
	}
	cut, v, ok := c.parser.feed(b[:n])
	if ok {
		return n, err
	}
	c.err = &Error{Violation: v}
	if c.onViolation != nil {
		c.onViolation(v)
	}
	if cut > 0 {
		// The requests before the refused one are served.
		return cut, nil
	}
	return c.Read(b)
}

// CloseWrite lets net/http half-close the connection as it does with a
// *net.TCPConn (after a 431).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close closes the connection; after a refused request it first sends
// the answer on its way with a half-close and reads what the client still
// sends, for a bounded time.
func (c *conn) Close() error {
	var refused *Error
	if errors.As(c.err, &refused) {
		if c.CloseWrite() == nil && c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout)) == nil {
			_, _ = io.CopyN(io.Discard, c.Conn, maxLinger)
		}
	}
	return c.Conn.Close()
}

// tlsConn is a conn over TLS. net/http takes Request.TLS from its
// ConnectionState, which completes the handshake first.
type tlsConn struct {
	conn
	tls     *tls.Conn
	timeout time.Duration
}

func (c *tlsConn) ConnectionState() tls.ConnectionState {
	ctx := context.Background()
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	// A failed handshake fails every later read too, and net/http then
	// closes the connection.
	_ = c.tls.HandshakeContext(ctx)
	return c.tls.ConnectionState()
}
