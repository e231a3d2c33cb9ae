// Package testenv gives tests what `make test` provides besides
// Elasticsearch (see test/estest): a headless Chromium and the
// third-party test data scripts/fetch-testdata.sh downloads.
//
// A missing browser or data file skips the test, so `go test ./...` works
// on a laptop; `make test` and CI set WEBJOURNEY_REQUIRE_BROWSER=1 and
// WEBJOURNEY_REQUIRE_TESTDATA=1, which turn the skip into a failure.
package testenv // import "github.com/webjourney/webjourney/test/testenv"

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Variables that make a missing browser or data file a test failure.
const (
	EnvRequireBrowser  = "WEBJOURNEY_REQUIRE_BROWSER"
	EnvRequireTestdata = "WEBJOURNEY_REQUIRE_TESTDATA"
)

// Test data fetched by scripts/fetch-testdata.sh, relative to the
// repository root.
const (
	// GeoCountryDB is the ip-location-db country database (MaxMind format).
	GeoCountryDB = ".cache/npm/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb"
	// CrawlerList is the crawler-user-agents list (MIT).
	CrawlerList = ".cache/npm/node_modules/crawler-user-agents/crawler-user-agents.json"
	// IABTCFCore is IAB Europe's TC string library @iabtcf/core (Apache-2.0).
	IABTCFCore = ".cache/npm/node_modules/@iabtcf/core"
	// Vega is the directory of the vega package (BSD-3-Clause), the
	// runtime Kibana's Vega visualization renders specs with.
	Vega = ".cache/npm/node_modules/vega"
	// PlausibleTracker is Plausible's own tracker,
	// @plausible-analytics/tracker (MIT), an ES module.
	PlausibleTracker = ".cache/npm/node_modules/@plausible-analytics/tracker/plausible.js"
)

// Fetched returns the absolute path of a fetched test data file, or skips
// (fails under WEBJOURNEY_REQUIRE_TESTDATA=1) when it is missing.
func Fetched(tb testing.TB, rel string) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", rel) // test/testenv -> root
	if _, err := os.Stat(p); err != nil {
		unavailable(tb, EnvRequireTestdata, "test data missing ("+err.Error()+"); run scripts/fetch-testdata.sh")
	}
	return p
}

// Node returns the path of the node binary, which runs the scripts that
// use fetched npm packages, or skips (fails under
// WEBJOURNEY_REQUIRE_TESTDATA=1) when it is not installed.
func Node(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("node")
	if err != nil {
		unavailable(tb, EnvRequireTestdata, "node not found ("+err.Error()+"); install Node.js")
	}
	return path
}

// Browser starts a headless Chromium with a fresh profile (no cookies carry
// over) and returns its context, whose first tab is ready for
// chromedp.Run. The browser is stopped at the end of the test, or after
// lifetime, whichever comes first, so that a stuck test cannot hang. opts
// add to the standard flags (e.g. TrustCA, host resolver rules).
func Browser(t *testing.T, lifetime time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		unavailable(t, EnvRequireBrowser, "chromium not found ("+err.Error()+"); scripts/install-deps.sh installs it")
	}
	life, cancelLife := context.WithTimeout(context.Background(), lifetime)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(life, append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}, opts...)...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancelLife() })
	// The first run starts the browser; it must not carry a deadline of its
	// own (that would stop the browser), hence the lifetime on the parent.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return browserCtx
}

// TrustCA returns a Browser option that makes Chromium trust the test CA in
// caFile (PEM) for TLS servers, as a site owner's browser trusts a public
// CA: the chain, names and dates are still verified (unlike
// --ignore-certificate-errors and its SPKI-list variant, which accept a
// certificate whatever its chain). Chromium on Linux takes user-added trust
// anchors from the NSS database in $HOME/.pki/nssdb, so the browser gets a
// HOME of its own holding one, made with NSS's certutil (Debian's
// libnss3-tools); the machine's and the user's trust stores are untouched.
func TrustCA(t *testing.T, caFile string) chromedp.ExecAllocatorOption {
	t.Helper()
	certutil := Tool(t, "certutil", "libnss3-tools")
	home := t.TempDir()
	db := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", db, "--empty-password"},
		// C: a trusted CA for TLS servers (and nothing else).
		{"-A", "-d", db, "-n", "webjourney test CA", "-t", "C,,", "-i", caFile},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return chromedp.Env("HOME=" + home)
}

// Tool returns the path of a program the browser tests need besides
// Chromium (nginx, NSS's certutil), looked up on PATH and in /usr/sbin
// (not on every user's PATH), or skips (fails under
// WEBJOURNEY_REQUIRE_BROWSER=1) naming the Debian package that has it;
// scripts/install-deps.sh installs them.
func Tool(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if path := filepath.Join("/usr/sbin", name); isExecutable(path) {
		return path
	}
	unavailable(tb, EnvRequireBrowser, name+" not found; scripts/install-deps.sh installs it (Debian package "+debianPackage+")")
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func unavailable(tb testing.TB, requireEnv, msg string) {
	tb.Helper()
	if os.Getenv(requireEnv) != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg + " (set " + requireEnv + "=1 to fail instead)")
}
