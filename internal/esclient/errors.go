package esclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Keys names the settings in messages, as the caller spells them: the
// exporter's configuration keys ("tls::ca_file") or webjourneyctl's flags
// ("--ca-file").
type Keys struct {
	User, Password, PasswordFile       string
	APIKey, APIKeyFile                 string
	BearerToken, BearerTokenFile       string
	CAFile, CAFingerprint, ServerName  string
	CertFile, KeyFile, InsecureSkipTLS string
	// Privileges says where the needed privileges are listed.
	Privileges string
}

// Cause classifies why a request failed, as far as the operator must act
// differently: credentials and TLS problems are the operator's to fix and
// are not Elasticsearch being down.
type Cause int

const (
	CauseUnreachable        Cause = iota // no answer: network, timeout, a node down
	CauseUnauthorized                    // 401: the credentials were refused
	CauseForbidden                       // 403: the credentials lack a privilege
	CauseTLS                             // the TLS handshake failed: certificate, name, client certificate
	CauseNotElasticsearch                // what answers is not Elasticsearch
	CauseUnsupportedVersion              // an Elasticsearch older than 8
)

// String is the cause as a telemetry reason.
func (c Cause) String() string {
	switch c {
	case CauseUnauthorized:
		return "unauthorized"
	case CauseForbidden:
		return "forbidden"
	case CauseTLS:
		return "tls"
	case CauseNotElasticsearch:
		return "not_elasticsearch"
	case CauseUnsupportedVersion:
		return "unsupported_version"
	}
	return "unreachable"
}

// Error is a request to Elasticsearch that was refused or failed before an
// answer, described for the operator: the node, the cause and what to do.
// It never holds a secret: Elasticsearch's error reasons name users and API
// key ids, never their secrets.
type Error struct {
	// Server names what was asked in messages; empty means Elasticsearch
	// (webjourneyctl's kibana import sets Kibana).
	Server   string
	Endpoint string // scheme://host:port of the node
	Cause    Cause
	Status   int    // the HTTP status, when there was an answer
	Type     string // Elasticsearch's error type and reason, when given
	Reason   string
	Err      error  // what failed, when there was no answer
	As       string // whom the request authenticated as ("API key id \"x\"")
	Hint     string // what to do
}

func (e *Error) Error() string {
	server := e.Server
	if server == "" {
		server = "Elasticsearch"
	}
	var b strings.Builder
	switch e.Cause {
	case CauseUnauthorized:
		fmt.Fprintf(&b, "%s at %s refused the credentials (%s): %s", server, e.Endpoint, e.As, e.answer())
	case CauseForbidden:
		fmt.Fprintf(&b, "%s at %s refused the request (%s): %s", server, e.Endpoint, e.As, e.answer())
	case CauseTLS:
		fmt.Fprintf(&b, "TLS connection to %s at %s failed: %v", server, e.Endpoint, e.Err)
	case CauseNotElasticsearch, CauseUnsupportedVersion:
		fmt.Fprintf(&b, "%s: %v", e.Endpoint, e.Err)
	default:
		fmt.Fprintf(&b, "cannot reach %s at %s: %v", server, e.Endpoint, e.Err)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// answer renders the HTTP answer: "HTTP 401 security_exception: reason".
func (e *Error) answer() string {
	if e.Type == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Type, e.Reason)
}

// IsOperatorError reports whether err is a refusal the operator must fix
// (credentials, privileges, TLS, the wrong server), not an outage.
func IsOperatorError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Cause != CauseUnreachable
}

// endpointOf renders the node of a URL: scheme://host:port.
func endpointOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// errorBody is Elasticsearch's error answer.
type errorBody struct {
	Error struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// readErrorBody decodes the type and reason of an error answer from body
// (at most 64 KiB are read).
func readErrorBody(body io.Reader) (typ, reason string) {
	var e errorBody
	if body != nil {
		_ = json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&e)
	}
	return e.Error.Type, e.Error.Reason
}

// Refusal describes a 401 or 403 answer of the node at endpoint (also one
// a bulk answer gives for one document), with what to do.
func (c *Client) Refusal(endpoint string, status int, typ, reason string) *Error {
	e := &Error{Endpoint: endpoint, Status: status, Type: typ, Reason: reason, As: c.creds.String()}
	k := c.keys
	if status == http.StatusUnauthorized {
		e.Cause = CauseUnauthorized
		switch {
		case c.creds == nil || c.creds.method == methodNone:
			e.Hint = fmt.Sprintf("no credentials were sent: set %s and %s, %s or %s", k.User, k.PasswordFile, k.APIKeyFile, k.BearerTokenFile)
		case c.creds.method == methodAPIKey:
			e.Hint = fmt.Sprintf("the API key is unknown, expired or invalidated: create one (POST /_security/api_key) and put it in %s", c.creds.settingKeys(k))
		case c.creds.method == methodBearer:
			e.Hint = fmt.Sprintf("the token is unknown or expired: put a valid one in %s", c.creds.settingKeys(k))
		default:
			e.Hint = fmt.Sprintf("check %s", c.creds.settingKeys(k))
		}
		if c.needsClientCert(reason) {
			e.Hint = fmt.Sprintf("the server wants a client certificate from a CA it trusts: set %s and %s", k.CertFile, k.KeyFile)
		}
		return e
	}
	e.Cause = CauseForbidden
	e.Hint = "the credentials lack a privilege: grant it (" + k.Privileges + ")"
	if strings.Contains(typ, "cluster_block") {
		e.Hint = "an index or the cluster is blocked (read-only, e.g. disk full): free disk space and remove the block"
	}
	return e
}

// needsClientCert reports whether a 401 is about the client certificate
// (a PKI realm or a proxy that checks client certificates).
func (c *Client) needsClientCert(reason string) bool {
	return strings.Contains(reason, "client certificate")
}

// transportError describes an error of a round trip to endpoint: a TLS
// problem with what to do about it, or the node being unreachable.
func (c *Client) transportError(endpoint string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if hint, cause, ok := describeTLS(err, c.keys); ok {
		return &Error{Endpoint: endpoint, Cause: CauseTLS, Err: cause, Hint: hint}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the endpoint is named already
	}
	return &Error{Endpoint: endpoint, Cause: CauseUnreachable, Err: err}
}

// DescribeTLS recognises the TLS failures an operator meets and says what
// to do: the error to show (Go's, which names the certificate's subject,
// names and dates) and a hint naming the settings as k spells them.
func DescribeTLS(err error, k Keys) (cause error, hint string, ok bool) {
	hint, cause, ok = describeTLS(err, k)
	return cause, hint, ok
}

func describeTLS(err error, k Keys) (hint string, cause error, ok bool) {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	var recordHeader tls.RecordHeaderError
	switch {
	case errors.As(err, &unknown):
		issuer := "an unknown CA"
		if unknown.Cert != nil {
			issuer = fmt.Sprintf("%q", unknown.Cert.Issuer.String())
		}
		return fmt.Sprintf("the server's certificate is signed by %s, which this client does not trust: set %s to the CA certificate that signed it, or %s to that CA's SHA-256 fingerprint",
			issuer, k.CAFile, k.CAFingerprint), unknown, true
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		when := ""
		if invalid.Cert != nil {
			when = fmt.Sprintf(" (valid from %s to %s)", invalid.Cert.NotBefore.UTC().Format(time.RFC3339), invalid.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return "the server's certificate" + when + " is expired or not yet valid: renew it on the server (and check this machine's clock)", invalid, true
	case errors.As(err, &invalid):
		return "the server's certificate cannot be used: check that it is a server certificate from the cluster's CA", invalid, true
	case errors.As(err, &host):
		names := "no DNS names"
		if host.Certificate != nil && len(host.Certificate.DNSNames)+len(host.Certificate.IPAddresses) > 0 {
			var n []string
			n = append(n, host.Certificate.DNSNames...)
			for _, ip := range host.Certificate.IPAddresses {
				n = append(n, ip.String())
			}
			names = strings.Join(n, ", ")
		}
		return fmt.Sprintf("the server's certificate is valid for %s, not for %s: use an endpoint with one of those names, or set %s to one of them",
			names, host.Host, k.ServerName), host, true
	case errors.As(err, &verify):
		return fmt.Sprintf("check %s or %s", k.CAFile, k.CAFingerprint), verify, true
	case errors.As(err, &recordHeader):
		return "the endpoint does not speak TLS: use http:// for it, or the node's HTTPS port", recordHeader, true
	}
	// A TLS alert from the server ("remote error: tls: certificate
	// required", "bad certificate"): mostly a client certificate it wants
	// or does not trust.
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return fmt.Sprintf("the server refused the TLS handshake; if it requires a client certificate, set %s and %s to one from a CA it trusts", k.CertFile, k.KeyFile), op, true
	}
	return "", nil, false
}
