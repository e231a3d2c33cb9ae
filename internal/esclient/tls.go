package esclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ParseFingerprint reads a SHA-256 certificate fingerprint: 64 hex digits,
// either case, optionally in colon-separated pairs (as `openssl x509
// -fingerprint -sha256` prints it and as Elasticsearch prints its HTTP CA's
// at first start).
func ParseFingerprint(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("must be the SHA-256 fingerprint of the CA certificate: 64 hex digits, optionally colon-separated")
	}
	return b, nil
}

// fingerprintText renders a fingerprint as colon-separated upper-case hex.
func fingerprintText(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// FetchCA finds the CA certificate whose SHA-256 fingerprint is fp in the
// chain an HTTPS endpoint presents, as Beats' ssl.ca_trusted_fingerprint
// does: it opens a TLS connection to each endpoint in turn without
// verifying it and without sending anything, and returns the first
// matching certificate. The caller then trusts that certificate as its
// only CA, so every connection that carries credentials is verified in
// full (chain, validity and host name). base supplies the server name and
// the client certificate for the handshake.
func FetchCA(ctx context.Context, endpoints []string, fp []byte, base *tls.Config) (*x509.Certificate, error) {
	var errs []error
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "https" {
			continue
		}
		cert, err := fetchCA(ctx, u, fp, base)
		if err == nil {
			return cert, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("a CA fingerprint needs https:// endpoints")
	}
	return nil, errors.Join(errs...)
}

func fetchCA(ctx context.Context, u *url.URL, fp []byte, base *tls.Config) (*x509.Certificate, error) {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	// Only to read the chain: nothing is sent on this connection. The
	// presented chain is kept before the handshake ends, so a server that
	// then refuses us (e.g. for a client certificate) still shows it.
	var presented []*x509.Certificate
	cfg.InsecureSkipVerify = true //nolint:gosec // the chain is checked against the pinned fingerprint below
	cfg.VerifyConnection = nil
	cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		for _, r := range raw {
			if c, err := x509.ParseCertificate(r); err == nil {
				presented = append(presented, c)
			}
		}
		return nil
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if conn != nil {
		_ = conn.Close()
	}
	if len(presented) == 0 {
		if err == nil {
			err = errors.New("the server presented no certificate")
		}
		return nil, &Error{Endpoint: endpointOf(u), Cause: CauseUnreachable, Err: err}
	}
	var seen []string
	for _, c := range presented {
		sum := sha256.Sum256(c.Raw)
		if bytes.Equal(sum[:], fp) {
			return c, nil
		}
		seen = append(seen, fmt.Sprintf("%q (SHA-256 %s)", c.Subject.String(), fingerprintText(sum[:])))
	}
	return nil, &Error{Endpoint: endpointOf(u), Cause: CauseTLS,
		Err:  fmt.Errorf("no certificate the server presents has the SHA-256 fingerprint %s; it presents %s", fingerprintText(fp), strings.Join(seen, ", ")),
		Hint: "check the fingerprint (openssl x509 -fingerprint -sha256 -noout -in <CA certificate>); the server must present its CA in its chain, else use a CA file"}
}

// CertPEM encodes a certificate as PEM.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// TLS is the TLS setup of a client esclient builds itself (webjourneyctl;
// the exporter brings the collector's HTTP client). The zero value trusts
// the system's CAs.
type TLS struct {
	CAFile             string // PEM certificates to trust instead of the system's
	CAFingerprint      []byte // SHA-256 of the CA certificate the server presents in its chain
	CertFile, KeyFile  string // a client certificate
	InsecureSkipVerify bool   // no verification at all: for tests only
	ServerName         string // the name to verify the server's certificate for
}

// config returns the tls.Config of t, without the fingerprint's CA (the
// caller fetches it with FetchCA and adds it).
func (t TLS) config(k Keys) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // insecure_skip_verify is the operator's explicit choice, warned about
	if t.CAFile != "" {
		pemBytes, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s: no PEM certificate in %s", k.CAFile, t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%s and %s: give both or neither", k.CertFile, k.KeyFile)
	}
	if t.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			// LoadX509KeyPair's errors name files and PEM problems, not key material.
			return nil, fmt.Errorf("%s and %s: %w", k.CertFile, k.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// NewTransport returns an HTTP transport with the TLS setup t. With a CA
// fingerprint it first fetches the CA from the endpoints (FetchCA), so it
// needs the network and ctx bounds that.
func NewTransport(ctx context.Context, t TLS, endpoints []string, k Keys) (*http.Transport, error) {
	cfg, err := t.config(k)
	if err != nil {
		return nil, err
	}
	if len(t.CAFingerprint) > 0 {
		ca, err := FetchCA(ctx, endpoints, t.CAFingerprint, cfg)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AddCert(ca)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return tr, nil
}
