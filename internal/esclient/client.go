package esclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8"
)

// CompatibleWith8 is the media type of REST API compatibility mode for 8.x,
// which 8.x and 9.x accept alike (9.x answers as 8.x would). Every request
// the client sends carries it in Accept, and in Content-Type when it has
// a body.
const CompatibleWith8 = "application/vnd.elasticsearch+json;compatible-with=8"

// Options configure a client.
type Options struct {
	// Endpoints are the nodes, http:// or https:// URLs without
	// credentials (CheckURL). Requests go round-robin; one that fails on
	// the network or answers 502, 503 or 504 is tried on the next node.
	Endpoints []string
	Auth      Auth
	// Keys names the settings in messages.
	Keys Keys
	// Transport carries the requests: TLS, proxy, timeouts. Nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	// RetryBackoff is the wait before the client tries the next node; nil
	// retries at once.
	RetryBackoff func(attempt int) time.Duration
	// OnAttempt, when set, is called after every round trip to a node, in
	// the request's goroutine (telemetry).
	OnAttempt func(context.Context, Attempt)
}

// Client is a go-elasticsearch client set up the one way webjourney talks
// to Elasticsearch: compatibility mode, credentials, errors that name the
// node and what to do.
type Client struct {
	*elasticsearch.Client

	endpoints []string
	creds     *credentials
	keys      Keys
	onAttempt func(context.Context, Attempt)
}

// New checks the endpoints, reads the credentials (a secret file must be
// readable now) and returns a client. It does not contact Elasticsearch.
// Its errors name the setting (as o.Keys spells it) and never hold a
// secret.
func New(o Options) (*Client, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("no Elasticsearch endpoint")
	}
	for _, ep := range o.Endpoints {
		if err := CheckURL(ep); err != nil {
			return nil, err
		}
	}
	creds, err := newCredentials(o.Auth, o.Keys)
	if err != nil {
		return nil, err
	}
	tr := o.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	c := &Client{endpoints: o.Endpoints, creds: creds, keys: o.Keys, onAttempt: o.OnAttempt}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: o.Endpoints,
		Transport: &authorizer{next: tr, creds: creds},
		// Accept and Content-Type application/vnd.elasticsearch+json;
		// compatible-with=8 on every request: 9.x then answers as 8.x does.
		EnableCompatibilityMode: true,
		RetryBackoff:            o.RetryBackoff,
		// A certificate problem does not go away on the next attempt.
		RetryOnError: func(_ *http.Request, err error) bool {
			var e *Error
			return !errors.As(err, &e) || e.Cause != CauseTLS
		},
		Interceptors: []elastictransport.InterceptorFunc{c.intercept},
	})
	if err != nil {
		return nil, err
	}
	c.Client = es
	return c, nil
}

// Endpoints returns the nodes the client was given.
func (c *Client) Endpoints() []string { return c.endpoints }

// As says whom the requests authenticate as, for messages: the user name
// or the API key's id, never a secret.
func (c *Client) As() string { return c.creds.String() }

// Attempt is one round trip to one node.
type Attempt struct {
	Endpoint string // scheme://host:port
	Status   int    // the HTTP status; 0 when there was no answer
	// Err describes a round trip without an answer (an *Error: TLS or
	// unreachable), or a 401 or 403 answer (an *Error with its reason).
	Err *Error
	// Retry reports that the client repeated a request after its previous
	// attempt failed on the network or answered 502, 503 or 504 (on the
	// next node). Only known when the request's context has a Recorder.
	Retry bool
}

// Outcome names the attempt's result for telemetry: ok, throttled,
// server_error, unreachable, tls, unauthorized or forbidden.
func (a Attempt) Outcome() string {
	switch {
	case a.Err != nil:
		return a.Err.Cause.String()
	case a.Status == http.StatusTooManyRequests:
		return "throttled"
	case a.Status >= 500:
		return "server_error"
	}
	return "ok"
}

// failed reports whether the transport retries after this attempt.
func (a Attempt) failed() bool {
	return (a.Err != nil && a.Status == 0) || a.Status == http.StatusBadGateway ||
		a.Status == http.StatusServiceUnavailable || a.Status == http.StatusGatewayTimeout
}

// intercept runs around every round trip to a node: it describes
// failures and refusals (the error of a failed round trip becomes an
// *Error naming the node), records them in the context's Recorder and
// reports the attempt.
func (c *Client) intercept(next elastictransport.RoundTripFunc) elastictransport.RoundTripFunc {
	return func(req *http.Request) (*http.Response, error) {
		res, err := next(req)
		a := Attempt{Endpoint: endpointOf(req.URL)}
		switch {
		case err != nil:
			a.Err = c.transportError(a.Endpoint, err)
			err = a.Err
		case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
			a.Status = res.StatusCode
			// Read the (small) error answer for its reason and put it back
			// for the caller.
			raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
			_ = res.Body.Close()
			res.Body = io.NopCloser(bytes.NewReader(raw))
			typ, reason := readErrorBody(bytes.NewReader(raw))
			a.Err = c.Refusal(a.Endpoint, res.StatusCode, typ, reason)
		default:
			a.Status = res.StatusCode
		}
		if rec, ok := req.Context().Value(recorderKey{}).(*Recorder); ok {
			a.Retry = rec.add(req, a)
		}
		if c.onAttempt != nil {
			c.onAttempt(req.Context(), a)
		}
		return res, err
	}
}

type recorderKey struct{}

// Recorder keeps what the round trips made under one context met: the
// last attempt, to say why a call failed (a refusal names the node and the
// cause), and whether an attempt repeats a failed one.
type Recorder struct {
	mu       sync.Mutex
	last     Attempt
	attempts int
	lastReq  *http.Request // the request of the last attempt, if it failed
}

// WithRecorder returns a context whose requests are recorded in the
// returned Recorder.
func WithRecorder(ctx context.Context) (context.Context, *Recorder) {
	r := &Recorder{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

// add records a and reports whether it repeats a failed attempt of the
// same request: the transport retries with the same *http.Request.
func (r *Recorder) add(req *http.Request, a Attempt) (retry bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	retry = r.lastReq == req
	r.last, r.lastReq = a, nil
	if a.failed() {
		r.lastReq = req
	}
	r.attempts++
	return retry
}

// Refusal returns the last attempt's error when it was a refusal or a
// failure the operator must fix (401, 403, TLS); nil otherwise.
func (r *Recorder) Refusal() *Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last.Err != nil && r.last.Err.Cause != CauseUnreachable {
		return r.last.Err
	}
	return nil
}

// Last returns the last attempt and whether there was one.
func (r *Recorder) Last() (Attempt, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.attempts > 0
}

// CheckURL checks the URL of one Elasticsearch node. Its messages never
// echo credentials.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return errors.New("not a valid URL; use the form http://host:9200")
	}
	if p.User != nil {
		return errors.New("credentials in the URL are not allowed; use user and password (or api_key)")
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return fmt.Errorf("%q must be an http:// or https:// URL", u)
	}
	if p.Host == "" {
		return fmt.Errorf("%q has no host", u)
	}
	if p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("%q must not have a query or fragment", u)
	}
	return nil
}
