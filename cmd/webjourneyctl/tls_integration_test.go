package main

// webjourneyctl against the Elasticsearch users run: every Elasticsearch
// command and kibana import through real nginx with TLS and credentials
// (scripts/es-tls-proxy.sh). Kibana cannot run here, so kibana import talks
// to the recording stand-in of kibana_test.go behind a second proxy of the
// same kind: the same TLS, the same credential checks.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/test/estest"
	"github.com/webjourney/webjourney/test/storetest"
)

// secretFile writes value to a file and returns its path.
func secretFile(t *testing.T, value string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte(value+"\n"), 0o600))
	return path
}

// assertNoProxySecrets fails when a secret of the proxies appears in the
// command's output.
func assertNoProxySecrets(t *testing.T, r result, proxies ...*estest.TLSProxy) {
	t.Helper()
	for _, p := range proxies {
		for _, s := range p.Secrets() {
			assert.NotContains(t, r.stdout+r.stderr, s, "a secret was printed")
		}
	}
}

// envName is an environment variable name of its own for each proxy.
func envName(base string, p *estest.TLSProxy) string {
	return base + "_" + p.Endpoints.Credentials[strings.LastIndexByte(p.Endpoints.Credentials, ':')+1:]
}

// tlsMode is one way to reach a proxy: its endpoint and the flags.
type tlsMode struct {
	name  string
	flags func(t *testing.T, p *estest.TLSProxy) (url string, flags []string)
	warns string
}

var tlsModes = []tlsMode{
	{"ca-file, user and password-file", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		return p.Endpoints.Credentials, []string{"--ca-file", p.CAFile, "--user", p.Basic.Username, "--password-file", secretFile(t, p.Basic.Password)}
	}, ""},
	{"ca-file, user and password-env", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		name := envName("WJ_TEST_PASSWORD", p)
		t.Setenv(name, p.Basic.Password)
		return p.Endpoints.Credentials, []string{"--ca-file", p.CAFile, "--user", p.Basic.Username, "--password-env", name}
	}, ""},
	{"api-key-env encoded", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		name := envName("WJ_TEST_API_KEY", p)
		t.Setenv(name, p.APIKey.Encoded)
		return p.Endpoints.Credentials, []string{"--ca-file", p.CAFile, "--api-key-env", name}
	}, ""},
	{"api-key-file id:key", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		return p.Endpoints.Credentials, []string{"--ca-file", p.CAFile, "--api-key-file", secretFile(t, p.APIKey.ID+":"+p.APIKey.Key)}
	}, ""},
	{"ca-fingerprint and bearer-token-file", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		return p.Endpoints.Credentials, []string{"--ca-fingerprint", p.CASHA256, "--bearer-token-file", secretFile(t, p.BearerToken)}
	}, ""},
	{"client certificate", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		return p.Endpoints.MTLS, []string{"--ca-file", p.CAFile, "--cert-file", p.ClientCertFile, "--key-file", p.ClientKeyFile}
	}, ""},
	{"server-name", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		return p.Endpoints.ServerName, []string{"--ca-file", p.CAFile, "--server-name", p.ServerName, "--bearer-token-file", secretFile(t, p.BearerToken)}
	}, ""},
	{"insecure-skip-verify", func(t *testing.T, p *estest.TLSProxy) (string, []string) {
		return p.Endpoints.WrongCA, []string{"--insecure-skip-verify", "--api-key-file", secretFile(t, p.APIKey.Encoded)}
	}, "warning: --insecure-skip-verify: the server's certificate is not verified"},
}

// Every TLS and credential mode works for every command: templates
// install and check, erase, retention apply, kibana import.
func TestCommandsThroughTLSProxy(t *testing.T) {
	x := newTestES(t)
	es := estest.StartTLSProxy(t, x.url)
	kib := newFakeKibana(t, false, http.StatusOK, "")
	kp := estest.StartTLSProxy(t, kib.URL)

	for _, m := range tlsModes {
		t.Run(m.name, func(t *testing.T) {
			esURL, esFlags := m.flags(t, es)
			kURL, kFlags := m.flags(t, kp)
			conn := append([]string{"--url", esURL, "--prefix", x.prefix}, esFlags...)
			for _, args := range [][]string{
				append([]string{"templates", "install"}, conn...),
				append([]string{"templates", "check"}, conn...),
				append([]string{"erase", "--site", "shop", "--visitor", "k1:v"}, conn...),
				append([]string{"retention", "apply", "--events-months", "25", "--dry-run"}, conn...),
			} {
				r := runCmd("", args...)
				assert.Equal(t, exitOK, r.code, "%q\n%s", args, r.stderr)
				if m.warns != "" {
					assert.Contains(t, r.stderr, m.warns, args)
				} else {
					assert.Empty(t, r.stderr, args)
				}
				assertNoProxySecrets(t, r, es, kp)
			}
			before := len(kib.recorded())
			args := append(importArgs(kURL), kFlags...)
			r := runCmd("", args...)
			assert.Equal(t, exitOK, r.code, "%q\n%s", args, r.stderr)
			assert.Contains(t, r.stdout, "Imported 31 of 31 saved objects")
			assert.Len(t, kib.recorded(), before+1)
			assertNoProxySecrets(t, r, es, kp)
		})
	}
}

// Each refusal ends the command with status 1 and one message naming the
// endpoint, the cause and what to do, for Elasticsearch and for Kibana;
// no secret is printed.
func TestRefusalsThroughTLSProxy(t *testing.T) {
	x := newTestES(t)
	es := estest.StartTLSProxy(t, x.url)
	kib := newFakeKibana(t, false, http.StatusOK, "")
	kp := estest.StartTLSProxy(t, kib.URL)

	for _, tc := range []struct {
		name   string
		flags  func(p *estest.TLSProxy) (string, []string)
		es     []string // in the Elasticsearch command's message (ENDPOINT is replaced)
		kibana []string // in kibana import's
	}{
		{"wrong CA", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.WrongCA, []string{"--ca-file", p.CAFile}
		}, []string{
			"TLS connection to Elasticsearch at ENDPOINT failed: x509: certificate signed by unknown authority",
			`signed by "CN=webjourney other test CA", which this client does not trust: set --ca-file to the CA certificate that signed it, or --ca-fingerprint`,
		}, []string{"TLS connection to Kibana at ENDPOINT failed: x509: certificate signed by unknown authority"}},
		{"CA fingerprint of another CA", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.Credentials, []string{"--ca-fingerprint", strings.Repeat("cd", 32)}
		}, []string{
			"TLS connection to Elasticsearch at ENDPOINT failed: no certificate the server presents has the SHA-256 fingerprint CD:CD:",
		}, []string{"TLS connection to Kibana at ENDPOINT failed: no certificate the server presents has the SHA-256 fingerprint"}},
		{"expired certificate", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.Expired, []string{"--ca-file", p.CAFile}
		}, []string{
			"TLS connection to Elasticsearch at ENDPOINT failed: x509: certificate has expired or is not yet valid",
			"renew it on the server",
		}, []string{"TLS connection to Kibana at ENDPOINT failed: x509: certificate has expired"}},
		{"certificate for another name", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.ServerName, []string{"--ca-file", p.CAFile}
		}, []string{
			"TLS connection to Elasticsearch at ENDPOINT failed: x509: cannot validate certificate for 127.0.0.1",
			"the server's certificate is valid for es.webjourney.test, not for 127.0.0.1: use an endpoint with one of those names, or set --server-name to one of them",
		}, []string{"set --server-name to one of them"}},
		{"wrong password", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.Credentials, []string{"--ca-file", p.CAFile, "--user", p.Basic.Username, "--password-file", secretFile(t, "wrong-password")}
		}, []string{
			`Elasticsearch at ENDPOINT refused the credentials (basic authentication as user "webjourney"): HTTP 401 security_exception: unable to authenticate user [webjourney] for REST request [/]; check --user and --password-file`,
		}, []string{"Kibana at ENDPOINT refused the credentials: HTTP 401 Unauthorized"}},
		{"revoked API key", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.Credentials, []string{"--ca-file", p.CAFile, "--api-key-file", secretFile(t, p.RevokedAPIKey.Encoded)}
		}, []string{
			"Elasticsearch at ENDPOINT refused the credentials (API key id ",
			"api key has been invalidated; the API key is unknown, expired or invalidated: create one (POST /_security/api_key) and put it in --api-key-file",
		}, []string{"Kibana at ENDPOINT refused the credentials: HTTP 401 Unauthorized", "api key has been invalidated"}},
		{"missing privileges", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.Credentials, []string{"--ca-file", p.CAFile, "--api-key-file", secretFile(t, p.LimitedAPIKey.Encoded)}
		}, []string{
			"warning: cannot read the version of Elasticsearch at ENDPOINT (reading it needs the cluster privilege monitor (HTTP 403))",
			"get index template wjtest-",
			"HTTP 403 security_exception: action [GET /_index_template/",
			"; Elasticsearch at ENDPOINT, as API key id ",
			"the credentials lack a privilege: grant it (webjourneyctl's README lists them under Privileges)",
		}, []string{"Kibana at ENDPOINT refused the import: HTTP 403 Forbidden", "(the user or API key needs write privileges in the space"}},
		{"untrusted client certificate", func(p *estest.TLSProxy) (string, []string) {
			return p.Endpoints.MTLS, []string{"--ca-file", p.CAFile, "--cert-file", p.UntrustedClientCertFile, "--key-file", p.UntrustedClientKeyFile}
		}, []string{
			"Elasticsearch at ENDPOINT refused the credentials (no credentials): HTTP 401 security_exception: client certificate required and not trusted",
			"the server wants a client certificate from a CA it trusts: set --cert-file and --key-file",
		}, []string{"Kibana at ENDPOINT refused the credentials: HTTP 401 Unauthorized"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, flags := tc.flags(es)
			args := append([]string{"templates", "check", "--url", url, "--prefix", x.prefix}, flags...)
			r := runCmd("", args...)
			assert.Equal(t, exitFailure, r.code, "%q\n%s", args, r.stderr)
			for _, w := range tc.es {
				assert.Contains(t, r.stderr, strings.ReplaceAll(w, "ENDPOINT", url), args)
			}
			assertNoProxySecrets(t, r, es, kp)

			url, flags = tc.flags(kp)
			before := len(kib.recorded())
			args = append(importArgs(url), flags...)
			r = runCmd("", args...)
			assert.Equal(t, exitFailure, r.code, "%q\n%s", args, r.stderr)
			for _, w := range tc.kibana {
				assert.Contains(t, r.stderr, strings.ReplaceAll(w, "ENDPOINT", url), args)
			}
			assert.Len(t, kib.recorded(), before, "nothing reached Kibana")
			assertNoProxySecrets(t, r, es, kp)
		})
	}
}

// Every request of every Elasticsearch command is in REST API
// compatibility mode (compatible-with=8), so 9.x answers as 8.x does.
func TestCommandsUseCompatibilityMode(t *testing.T) {
	x := newTestES(t)
	rec := storetest.NewRecordingProxy(t, x.url)
	conn := []string{"--url", rec.URL, "--prefix", x.prefix, "--dead-letter-index", x.deadLetter}
	for _, args := range [][]string{
		append([]string{"templates", "install"}, conn...),
		append([]string{"templates", "check"}, conn...),
		append([]string{"erase", "--site", "shop", "--visitor", "k1:v"}, conn...),
		append([]string{"retention", "apply", "--events-months", "1", "--visits-months", "1"}, conn[:4]...),
	} {
		r := runCmd("", args...)
		require.Equal(t, exitOK, r.code, "%q\n%s", args, r.stderr)
	}
	requests := rec.Requests()
	require.NotEmpty(t, requests)
	bodies := 0
	for _, r := range requests {
		assert.Equal(t, esclient.CompatibleWith8, r.Accept, "%s %s", r.Method, r.Path)
		if r.HasBody {
			bodies++
			assert.Equal(t, esclient.CompatibleWith8, r.ContentType, "%s %s", r.Method, r.Path)
		}
	}
	assert.Positive(t, bodies)
}
