package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Secrets the tests give; no output may contain them.
const (
	testAPIKey       = "azk6c2VjcmV0LWFwaS1rZXktdmFsdWU=" // base64 of k9:secret-api-key-value
	testAPIKeySecret = "secret-api-key-value"
	testPassword     = "hunter2-password-value"
)

func assertNoSecrets(t *testing.T, r result, args []string) {
	t.Helper()
	for _, s := range []string{testAPIKey, testAPIKeySecret, testPassword} {
		assert.NotContains(t, r.stdout+r.stderr, s, "a secret was printed (args %q)", args)
	}
}

// Every bad command line exits 2 with a message naming the flag, before
// any connection is made (the URL, where there is one, does not answer).
func TestESCommandsUsageErrors(t *testing.T) {
	t.Setenv("WJ_TEST_PASSWORD", testPassword)
	t.Setenv("WJ_TEST_EMPTY", " ")
	closed := closedURL(t)
	conn := []string{"--url", closed}
	erase := func(extra ...string) []string {
		return append(append([]string{"erase"}, extra...), "--site", "shop", "--visitor", "k1:v")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"erase", "--site", "s", "--visitor", "v"}, "--url is required"},
		{erase("--url", "http://elastic:"+testPassword+"@es:9200"), "--url: credentials in the URL are not allowed"},
		{erase("--url", "ftp://es:9200"), `--url: "ftp://es:9200" must be an http:// or https:// URL`},
		{erase("--url", "http://"), "--url: \"http://\" has no host"},
		{erase(append(conn, "--prefix", "Shop")...), `--prefix: "Shop" is not a valid Elasticsearch index name start`},
		{erase(append(conn, "--prefix", "")...), "--prefix: must not be empty"},
		{erase(append(conn, "--dead-letter-index", "webjourney-visits")...), `--dead-letter-index: "webjourney-visits" is one of the exporter's own`},
		{erase(append(conn, "--api-key", testAPIKey, "--api-key-env", "WJ_TEST_PASSWORD")...), "give --api-key, --api-key-env or --api-key-file, not both"},
		{erase(append(conn, "--api-key", testAPIKey, "--user", "u", "--password-env", "WJ_TEST_PASSWORD")...), "give an API key or --user and --password-env, not both"},
		{erase(append(conn, "--user", "elastic")...), "--user needs --password-env NAME"},
		{erase(append(conn, "--password-env", "WJ_TEST_PASSWORD")...), "--password-env needs --user"},
		{erase(append(conn, "--user", "u", "--password-env", "WJ_TEST_UNSET_VARIABLE")...), "--password-env: environment variable WJ_TEST_UNSET_VARIABLE is not set"},
		{erase(append(conn, "--api-key-env", "WJ_TEST_EMPTY")...), "--api-key-env: environment variable WJ_TEST_EMPTY is not set"},
		{erase(append(conn, "--ca-file", filepath.Join(t.TempDir(), "missing.pem"))...), "--ca-file: open"},
		{erase(append(conn, "--timeout", "0s")...), "--timeout must be positive"},
		{erase(append(conn, "--timeout", "soon")...), `invalid value "soon" for flag -timeout`},
		{[]string{"erase", "--url", closed, "--visitor", "v"}, "--site is required"},
		{[]string{"erase", "--url", closed, "--site", "s"}, "give --visitor PSEUDONYM or --user-id PSEUDONYM"},
		{append(erase(conn...), "extra"), `unexpected argument "extra"`},
		{erase("--nope"), "flag provided but not defined: -nope"},

		{[]string{"retention"}, "give a subcommand: apply"},
		{[]string{"retention", "drop"}, `unknown subcommand "drop"`},
		{[]string{"retention", "apply", "--url", closed}, "give at least one of --events-months"},
		{[]string{"retention", "apply", "--url", closed, "--visits-months", "-1"}, "--visits-months must be 0 (keep for ever) to 1200, not -1"},
		{[]string{"retention", "apply", "--url", closed, "--credits-months", "1201"}, "--credits-months must be 0 (keep for ever) to 1200, not 1201"},
		{[]string{"retention", "apply", "--url", closed, "--events-months", "x"}, `invalid value "x" for flag -events-months`},
		{[]string{"retention", "apply", "--events-months", "25"}, "--url is required"},
		{[]string{"retention", "apply", "--url", closed, "--events-months", "25", "--dead-letter-index", "x"}, "flag provided but not defined: -dead-letter-index"},

		{[]string{"templates"}, "give a subcommand: check or install"},
		{[]string{"templates", "list"}, `unknown subcommand "list"`},
		{[]string{"templates", "check"}, "--url is required"},
		{[]string{"templates", "check", "--url", closed, "--force"}, "flag provided but not defined: -force"},
		{[]string{"templates", "install", "--url", closed, "now"}, `unexpected argument "now"`},
	} {
		r := runCmd("", tc.args...)
		assert.Equal(t, exitUsage, r.code, "%q: %s", tc.args, r.stderr)
		assert.Contains(t, r.stderr, tc.want, tc.args)
		assert.Empty(t, r.stdout, tc.args)
		assertNoSecrets(t, r, tc.args)
	}
}

func TestESCommandsHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"erase", "-h"}, "--visitor PSEUDONYM"},
		{[]string{"retention", "--help"}, "--events-months N"},
		{[]string{"retention", "apply", "-h"}, "--dry-run"},
		{[]string{"templates", "help"}, "templates install [--force]"},
		{[]string{"templates", "check", "-h"}, "Exit status: 0 when every template is ok"},
	} {
		r := runCmd("", tc.args...)
		assert.Equal(t, exitOK, r.code, tc.args)
		assert.Contains(t, r.stderr, tc.want, tc.args)
		assert.Contains(t, r.stderr, "--api-key-env NAME", tc.args)
	}
	r := runCmd("", "help", "erase")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stdout, "pseudonyms as stored")
	r = runCmd("", "help")
	for _, cmd := range []string{"erase", "retention", "templates", "3 when templates check"} {
		assert.Contains(t, r.stdout, cmd)
	}
}

// closedURL returns the URL of a local port that nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// An unreachable Elasticsearch fails every command with status 1 and a
// message that names the URL.
func TestESCommandsUnreachable(t *testing.T) {
	u := closedURL(t)
	for _, args := range [][]string{
		{"erase", "--url", u, "--site", "shop", "--user-id", "k1:u"},
		{"retention", "apply", "--url", u, "--events-months", "25", "--dry-run"},
		{"templates", "check", "--url", u},
		{"templates", "install", "--url", u},
	} {
		r := runCmd("", args...)
		assert.Equal(t, exitFailure, r.code, args)
		assert.Contains(t, r.stderr, "cannot reach Elasticsearch at "+u+": ", args)
		assert.Contains(t, r.stderr, "connection refused", args)
		assert.Empty(t, r.stdout, args)
	}
}

// fakeES answers like a secured Elasticsearch: the version check (GET /
// and GET /_nodes/_local) with checkStatus, every other request with 403.
// It records the Authorization headers it got. (The bare test server has
// no security, so 401 and 403 can only come from a fake or the TLS proxy,
// see tls_integration_test.go.)
func fakeES(t *testing.T, checkStatus int) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		status, reason := http.StatusForbidden, "action [indices:admin/index_template/get] is unauthorized for API key id [k9]"
		if r.URL.Path == "/" || r.URL.Path == "/_nodes/_local" {
			status, reason = checkStatus, "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
		}
		if status == http.StatusOK {
			_, _ = w.Write([]byte(`{"name":"fake","version":{"number":"8.19.21"}}`))
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"type":"security_exception","reason":` + strconv.Quote(reason) + `},"status":` + strconv.Itoa(status) + `}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), auth...)
	}
}

func TestESCommandsAuthRefused(t *testing.T) {
	srv, auth := fakeES(t, http.StatusUnauthorized)
	t.Setenv("WJ_TEST_PASSWORD", testPassword)
	args := []string{"templates", "check", "--url", srv.URL, "--user", "elastic", "--password-env", "WJ_TEST_PASSWORD"}
	r := runCmd("", args...)
	assert.Equal(t, exitFailure, r.code)
	assert.Equal(t, "webjourneyctl templates check: Elasticsearch at "+srv.URL+
		` refused the credentials (basic authentication as user "elastic"): HTTP 401 security_exception: unable to authenticate with provided credentials and anonymous access is not allowed for this request; check --user and --password-env`+"\n", r.stderr)
	assert.Empty(t, r.stdout)
	assertNoSecrets(t, r, args)
	require.NotEmpty(t, auth())
	assert.True(t, strings.HasPrefix(auth()[0], "Basic "), "basic authentication was sent")
}

// A 403 at the version check is tolerated (the key may lack the monitor
// privilege), with a warning; the operation's own 403 fails with
// Elasticsearch's reason, the node, whom it authenticated as and what to
// do.
func TestESCommandsForbidden(t *testing.T) {
	srv, auth := fakeES(t, http.StatusForbidden)
	t.Setenv("WJ_TEST_API_KEY", testAPIKey)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"templates", "check"}, "webjourneyctl templates check: get index template webjourney-events: HTTP 403 security_exception: action [indices:admin/index_template/get] is unauthorized for API key id [k9]; "},
		{[]string{"erase", "--site", "shop", "--visitor", "k1:v"}, "webjourneyctl erase: get index template webjourney-events: HTTP 403 security_exception: action"},
		{[]string{"retention", "apply", "--events-months", "1"}, "webjourneyctl retention apply: events: retention: listing indices: HTTP 403 security_exception"},
	} {
		args := append(tc.args, "--url", srv.URL, "--api-key-env", "WJ_TEST_API_KEY")
		r := runCmd("", args...)
		assert.Equal(t, exitFailure, r.code, args)
		assert.Contains(t, r.stderr, tc.want, args)
		assert.Contains(t, r.stderr, "warning: cannot read the version of Elasticsearch at "+srv.URL+" (reading it needs the cluster privilege monitor (HTTP 403))", args)
		assert.Contains(t, r.stderr, "; Elasticsearch at "+srv.URL+`, as API key id "k9": the credentials lack a privilege`, args)
		assertNoSecrets(t, r, args)
	}
	for _, a := range auth() {
		assert.Equal(t, "ApiKey "+testAPIKey, a, "the API key from the environment is sent")
	}
}

func TestESCommandsCAFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o600))
	r := runCmd("", "templates", "check", "--url", "https://es:9200", "--ca-file", bad)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--ca-file: ")
}
