package esclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testKeys = Keys{
	User: "user", Password: "password", PasswordFile: "password_file",
	APIKey: "api_key", APIKeyFile: "api_key_file", BearerToken: "bearer_token", BearerTokenFile: "bearer_token_file",
	CAFile: "ca_file", CAFingerprint: "ca_fingerprint", ServerName: "server_name", CertFile: "cert_file", KeyFile: "key_file",
	Privileges: "see Privileges",
}

func TestNormalizeAPIKey(t *testing.T) {
	encoded := base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"))
	for _, in := range []string{"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw", encoded, strings.TrimRight(encoded, "=")} {
		got, id, err := NormalizeAPIKey(in)
		require.NoError(t, err, in)
		assert.Equal(t, "VuaCfGcBCdbkQm-e5aOx", id)
		if strings.Contains(in, ":") {
			assert.Equal(t, encoded, got)
		} else {
			assert.Equal(t, in, got, "the encoded form is sent as given")
		}
	}
	for _, bad := range []string{"abc", ":secret-part", "id-only:", base64.StdEncoding.EncodeToString([]byte("no-colon-secret"))} {
		_, _, err := NormalizeAPIKey(bad)
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "secret")
	}
}

func TestParseFingerprint(t *testing.T) {
	sum := sha256.Sum256([]byte("ca"))
	h := hex.EncodeToString(sum[:])
	colons := fingerprintText(sum[:])
	for _, in := range []string{h, strings.ToUpper(h), colons, " " + colons + "\n"} {
		got, err := ParseFingerprint(in)
		require.NoError(t, err, in)
		assert.Equal(t, sum[:], got)
	}
	for _, bad := range []string{"", h[:62], h + "00", "zz" + h[2:]} {
		_, err := ParseFingerprint(bad)
		assert.ErrorContains(t, err, "64 hex digits", bad)
	}
}

func TestCheckURL(t *testing.T) {
	assert.NoError(t, CheckURL("https://es.example.com:9243"))
	for in, want := range map[string]string{
		"http://elastic:secret@es:9200": "credentials in the URL are not allowed",
		"ftp://es:9200":                 "must be an http:// or https:// URL",
		"http://":                       "has no host",
		"http://es:9200/?pretty":        "must not have a query or fragment",
		"http://[::1":                   "not a valid URL",
	} {
		err := CheckURL(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
		assert.NotContains(t, err.Error(), "secret", in)
	}
	_, err := New(Options{})
	assert.ErrorContains(t, err, "no Elasticsearch endpoint")
}

// A secret file is read again when it changes; one that disappears keeps
// its last value; one that was never readable is an error naming the
// setting and the path, not the content.
func TestSecretFileIsReadAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(path, []byte("id1:first-secret\n"), 0o600))
	c, err := newCredentials(Auth{APIKey: Secret{File: path}}, testKeys)
	require.NoError(t, err)
	h, err := c.header()
	require.NoError(t, err)
	assert.Equal(t, "ApiKey "+base64.StdEncoding.EncodeToString([]byte("id1:first-secret")), h)
	assert.Equal(t, `API key id "id1"`, c.String())

	// Rotated: another size and time.
	require.NoError(t, os.WriteFile(path, []byte("id2:the-second-secret"), 0o600))
	future := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(path, future, future))
	h, err = c.header()
	require.NoError(t, err)
	assert.Equal(t, "ApiKey "+base64.StdEncoding.EncodeToString([]byte("id2:the-second-secret")), h)

	require.NoError(t, os.Remove(path))
	h2, err := c.header()
	require.NoError(t, err)
	assert.Equal(t, h, h2, "a vanished file keeps its last value")

	_, err = newCredentials(Auth{User: "u", Password: Secret{File: path}}, testKeys)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "password_file: stat "+path+": no such file or directory")

	// An empty file sends no credentials (every credential file may be
	// provisioned, one filled).
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	c, err = newCredentials(Auth{BearerToken: Secret{File: path}}, testKeys)
	require.NoError(t, err)
	h, err = c.header()
	require.NoError(t, err)
	assert.Empty(t, h)
}

func TestAuthorizationHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer srv.Close()
	for _, a := range []Auth{
		{User: "elastic", Password: Secret{Value: "pw"}},
		{APIKey: Secret{Value: "id:key"}},
		{BearerToken: Secret{Value: "tok"}},
		{},
	} {
		rt, err := Authorize(http.DefaultTransport, a, testKeys)
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodGet, srv.URL, http.NoBody)
		require.NoError(t, err)
		res, err := rt.RoundTrip(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Empty(t, req.Header.Get("Authorization"), "the caller's request is not changed")
	}
	assert.Equal(t, []string{"Basic ZWxhc3RpYzpwdw==", "ApiKey aWQ6a2V5", "Bearer tok", ""}, got)
}

func TestClusterCheck(t *testing.T) {
	const ep = "https://es:9200"
	for _, tc := range []struct {
		cl            Cluster
		warning, fail string
	}{
		{Cluster{Version: "8.19.21", Product: "Elasticsearch"}, "", ""},
		{Cluster{Version: "9.5.4", Product: "Elasticsearch"}, "", ""},
		{Cluster{Version: "8.0.0-rc1", Product: "Elasticsearch"}, "", ""},
		{Cluster{Version: "9.6.0", Product: "Elasticsearch"}, "is version 9.6.0, newer than the newest tested (9.5)", ""},
		{Cluster{Version: "10.0.1", Product: "Elasticsearch"}, "is version 10.0.1, newer than the newest tested", ""},
		{Cluster{Product: "Elasticsearch", VersionUnknown: "GET / and GET /_nodes/_local answered HTTP 404"}, "cannot read the version of Elasticsearch at https://es:9200 (GET / and GET /_nodes/_local answered HTTP 404)", ""},
		{Cluster{VersionUnknown: "reading it needs the cluster privilege monitor (HTTP 403)"}, "needs the cluster privilege monitor", ""},
		{Cluster{Version: "7.17.9", Product: "Elasticsearch"}, "", "https://es:9200: Elasticsearch 7.17.9 is too old; webjourney needs Elasticsearch 8.x or 9.x (tested: 8.19 and 9.5)"},
		{Cluster{Version: "2.11.0", Distribution: "opensearch"}, "", "https://es:9200: the server is opensearch 2.11.0, not Elasticsearch"},
		{Cluster{Version: "8.19.0"}, "", "no X-Elastic-Product: Elasticsearch header; version 8.19.0"},
	} {
		tc.cl.Endpoint = ep
		warning, err := tc.cl.Check()
		if tc.fail != "" {
			require.Error(t, err, tc.cl)
			assert.Contains(t, err.Error(), tc.fail)
			assert.True(t, IsOperatorError(err), "an unsupported cluster is the operator's to fix")
			continue
		}
		require.NoError(t, err, tc.cl)
		if tc.warning == "" {
			assert.Empty(t, warning)
		} else {
			assert.Contains(t, warning, tc.warning)
		}
	}
}

// A request that fails on one node is repeated on the next: the attempts
// show the node, the outcome and the retry.
func TestAttemptsShowFailover(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer live.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + l.Addr().String()
	require.NoError(t, l.Close())

	var mu sync.Mutex
	var attempts []Attempt
	c, err := New(Options{Endpoints: []string{dead, live.URL}, OnAttempt: func(_ context.Context, a Attempt) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, a)
	}})
	require.NoError(t, err)
	defer c.Close(context.Background())
	for range 2 {
		ctx, _ := WithRecorder(context.Background())
		res, err := c.Cluster.Health(c.Cluster.Health.WithContext(ctx))
		require.NoError(t, err)
		res.Body.Close()
	}
	var outcomes []string
	for _, a := range attempts {
		outcomes = append(outcomes, a.Endpoint+" "+a.Outcome()+map[bool]string{true: " retry"}[a.Retry])
	}
	assert.ElementsMatch(t, []string{dead + " unreachable", live.URL + " ok retry", live.URL + " ok"}, outcomes)
	for _, a := range attempts {
		if a.Err != nil {
			assert.Contains(t, a.Err.Error(), "cannot reach Elasticsearch at "+dead+": ")
		}
	}
}

// A TLS failure is described with what to do; FetchCA finds the pinned
// certificate in the presented chain, or lists what was presented.
func TestTLSFailuresAndFetchCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		_, _ = w.Write([]byte(`{"version":{"number":"9.5.4"}}`))
	}))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes

	tr, err := NewTransport(context.Background(), TLS{}, []string{srv.URL}, testKeys)
	require.NoError(t, err)
	c, err := New(Options{Endpoints: []string{srv.URL}, Keys: testKeys, Transport: tr})
	require.NoError(t, err)
	ctx, rec := WithRecorder(context.Background())
	_, err = c.Probe(ctx)
	var ee *Error
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, CauseTLS, ee.Cause)
	assert.Contains(t, err.Error(), "TLS connection to Elasticsearch at "+srv.URL+" failed: x509: certificate signed by unknown authority")
	assert.Contains(t, err.Error(), "set ca_file to the CA certificate that signed it, or ca_fingerprint")
	last, _ := rec.Last()
	assert.Equal(t, "tls", last.Outcome())
	assert.Equal(t, 1, rec.attempts, "a TLS failure is not retried: it is the operator's to fix")
	_ = c.Close(context.Background())

	sum := sha256.Sum256(srv.Certificate().Raw)
	tr, err = NewTransport(context.Background(), TLS{CAFingerprint: sum[:]}, []string{srv.URL}, testKeys)
	require.NoError(t, err)
	c, err = New(Options{Endpoints: []string{srv.URL}, Keys: testKeys, Transport: tr})
	require.NoError(t, err)
	cl, err := c.Probe(context.Background())
	require.NoError(t, err, "the pinned certificate is trusted")
	assert.Equal(t, "9.5.4", cl.Version)
	_ = c.Close(context.Background())

	other := sha256.Sum256([]byte("another CA"))
	_, err = FetchCA(context.Background(), []string{srv.URL}, other[:], nil)
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, CauseTLS, ee.Cause)
	assert.Contains(t, err.Error(), "no certificate the server presents has the SHA-256 fingerprint "+fingerprintText(other[:])+"; it presents \"O=Acme Co\" (SHA-256 "+fingerprintText(sum[:])+")")
}
