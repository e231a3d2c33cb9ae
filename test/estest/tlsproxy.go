package estest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// EnvTLSProxyPort pins the first of the five ports of the TLS proxies tests
// start (one at a time then); by default each takes five free ports.
const EnvTLSProxyPort = "WEBJOURNEY_TLS_PROXY_PORT"

// APIKey is an Elasticsearch API key as the proxy admits it.
type APIKey struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Encoded string `json:"encoded"`
}

// TLSProxy is a running scripts/es-tls-proxy.sh: real nginx in front of the
// test Elasticsearch with TLS from a test CA, enforcing credentials the way
// Elasticsearch's security does (docs/elasticsearch-versions.md).
type TLSProxy struct {
	Endpoints struct {
		Credentials string `json:"credentials"` // basic auth, API key or bearer token
		MTLS        string `json:"mtls"`        // a client certificate from the test CA
		Expired     string `json:"expired"`     // as credentials, with an expired certificate
		WrongCA     string `json:"wrong_ca"`    // as credentials, certificate from another CA
		ServerName  string `json:"server_name"` // as credentials, certificate only for ServerName
	} `json:"endpoints"`
	ServerName              string `json:"server_name"`
	CAFile                  string `json:"ca_file"`
	CASHA256                string `json:"ca_sha256"`
	OtherCAFile             string `json:"other_ca_file"`
	ClientCertFile          string `json:"client_cert_file"`
	ClientKeyFile           string `json:"client_key_file"`
	UntrustedClientCertFile string `json:"untrusted_client_cert_file"`
	UntrustedClientKeyFile  string `json:"untrusted_client_key_file"`
	Basic                   struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"basic"`
	APIKey        APIKey `json:"api_key"`
	BearerToken   string `json:"bearer_token"`
	LimitedAPIKey APIKey `json:"limited_api_key"` // 403 on all but GET /_cluster/health
	RevokedAPIKey APIKey `json:"revoked_api_key"` // 401, as an invalidated key

	// Dir holds the proxy's certificates, keys and logs.
	Dir string `json:"-"`
}

// Secrets lists every secret of the proxy, for tests that prove none of
// them reaches a log or an error.
func (p *TLSProxy) Secrets() []string {
	var out []string
	for _, k := range []APIKey{p.APIKey, p.LimitedAPIKey, p.RevokedAPIKey} {
		out = append(out, k.Key, k.Encoded)
	}
	return append(out, p.Basic.Password, p.BearerToken)
}

// StartTLSProxy starts the TLS proxy in front of the Elasticsearch at
// upstream (comma-separated URLs for a cluster) and stops it when the test
// ends. Without nginx the test is skipped, or fails under
// WEBJOURNEY_REQUIRE_ES=1 (scripts/install-deps.sh installs it).
func StartTLSProxy(tb testing.TB, upstream string) *TLSProxy {
	tb.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			Unavailable(tb, "nginx not found (the TLS proxy in front of Elasticsearch needs it): run scripts/install-deps.sh")
			return nil
		}
	}
	root, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	// nginx's workers run as nobody when the tests run as root: they must
	// reach the directory (t.TempDir's parent is private).
	dir, err := os.MkdirTemp("", "wj-tls-proxy-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	port := proxyPort(tb)
	env := append(os.Environ(), "TLS_PROXY_PORT="+strconv.Itoa(port), "TLS_PROXY_DIR="+filepath.Join(dir, "proxy"))
	script := filepath.Join(root, "scripts", "es-tls-proxy.sh")
	stop := func() {
		cmd := exec.Command(script, "stop")
		cmd.Env = env
		_ = cmd.Run()
		_ = os.RemoveAll(dir)
	}
	cmd := exec.Command(script, "start", upstream)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		stop()
		tb.Fatalf("scripts/es-tls-proxy.sh start %s: %v\n%s", upstream, err, stderr.String())
	}
	tb.Cleanup(stop)
	raw, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		tb.Fatal(err)
	}
	p := &TLSProxy{Dir: filepath.Join(dir, "proxy")}
	if err := json.Unmarshal(raw, p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// proxyPort returns the first of five consecutive free loopback ports, or
// the one WEBJOURNEY_TLS_PROXY_PORT pins.
func proxyPort(tb testing.TB) int {
	if v := os.Getenv(EnvTLSProxyPort); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			tb.Fatalf("%s=%q: %v", EnvTLSProxyPort, v, err)
		}
		return p
	}
	for range 100 {
		base := 20000 + rand.IntN(30000)
		free := true
		for i := range 5 {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				free = false
				break
			}
			_ = l.Close()
		}
		if free {
			return base
		}
	}
	tb.Fatal("no five consecutive free ports for the TLS proxy")
	return 0
}

// repoRoot finds the repository root (the directory of go.mod) from the
// test's working directory, its package directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "es-tls-proxy.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/es-tls-proxy.sh not found above the test's directory")
		}
		dir = parent
	}
}
