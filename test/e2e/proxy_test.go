package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"html/template"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/testenv"
)

// The first-party proxy test's site: a host name Chromium resolves to ::1
// (host resolver rules), so that the browser reaches nginx over IPv6 while
// nginx reaches the collector over IPv4 and the two addresses the receiver
// may store, the browser's and nginx's, differ.
const (
	proxySite     = "e2e-proxy"
	proxyHost     = "shop.webjourney.test"
	browserAddr   = "::1"
	proxyPeerAddr = "127.0.0.1"
)

// proxyPage is a page of the site as a site owner writes it: the tag and the
// <noscript> pixel by path, on the site's own origin.
var proxyPage = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<script>window.webjourney=window.webjourney||function(){(webjourney.q=webjourney.q||[]).push(arguments)}</script>
<script async src="/wj/wj.js" data-site="{{.Site}}"></script>
</head><body>
<h1>{{.Title}}</h1>
<noscript><img src="/wj/p.gif?s={{.Site}}" width="1" height="1" alt=""></noscript>
</body></html>`))

// TestFirstPartyProxy serves a site over TLS with Debian's nginx running
// the shipped deploy/nginx/webjourney.conf, proxying /wj/ to the built
// collector, and loads it in headless Chromium that trusts the test CA:
//
//   - the tag, its config and its beacons are first-party: every request
//     of the page goes to the site's origin;
//   - the visitor cookie is the receiver's (HttpOnly, Secure because nginx
//     says the browser came over HTTPS, SameSite=Lax, at most 13 months);
//   - the stored client address is the browser's, from X-Forwarded-For,
//     because nginx is a trusted proxy of the receiver; what the browser
//     itself puts into X-Forwarded-For or Forwarded is ignored;
//   - the <noscript> pixel of a page loaded without JavaScript records the
//     page's full URL, from its same-origin Referer;
//   - with a collector that does not trust nginx, the forwarding headers
//     are ignored: the stored address is nginx's, the cookie not Secure.
func TestFirstPartyProxy(t *testing.T) {
	nginx := testenv.Tool(t, "nginx", "nginx")
	pki := newTestPKI(t, proxyHost)
	www := proxyWWW(t)
	pixelConfig := func(trusted string) string {
		return fmt.Sprintf(`    # The paths deploy/nginx/webjourney.conf forwards.
    pixel_path: /wj/p.gif
    iframe_path: /wj/p.html
    beacon_path: /wj/b
    tag_path: /wj/wj.js
    config_path: /wj/config
    trusted_proxies: %s
    # Headless Chromium reports navigator.webdriver; keep its events, marked.
    bots: {action: mark}
    sites:
      - id: %s
        consent: {required: false}`, trusted, proxySite)
	}

	t.Run("trusted", func(t *testing.T) {
		store, prefix, listen := startPipeline(t, pipeline{pixel: pixelConfig("[" + proxyPeerAddr + "]")})
		origin := startSiteProxy(t, nginx, pki, www, listen)
		ctx := proxyBrowser(t, pki)
		requests := recordRequests(t, ctx)

		var docCookie string
		run(t, ctx,
			call(network.Enable, network.EnableParams{}),
			// What a browser (or a script) can claim about itself; the
			// receiver must not believe it.
			call(network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{
				"X-Forwarded-For": "198.51.100.77",
				"Forwarded":       "for=198.51.100.66;proto=https",
			}}),
			chromedp.Navigate(origin+"/"),
			waitForTag(),
			chromedp.Navigate(origin+"/shoes.html?color=red"),
			waitForTag(),
			chromedp.Navigate(origin+"/"),
			waitForTag(),
			chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
				var err error
				docCookie, err = chromedp.Evaluate[string](`document.cookie`)(ctx, tgt)
				return err
			}),
			// Without JavaScript the page's <noscript> pixel loads instead
			// of the tag.
			call(emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}),
			chromedp.Navigate(origin+"/shoes.html?color=blue&size=42"),
			chromedp.WaitReady(chromedp.CSS("body")),
			call(emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}),
			chromedp.Navigate("about:blank"),
		)
		docs := waitForDocs(t, store, prefix, proxySite, func(docs []map[string]any) bool {
			return countName(docs, eventmodel.EventPageView) >= 4
		})
		cookies := siteCookies(t, ctx, origin)

		// First-party: the tag, its config, the beacons and the pixel
		// were all requested from the site's origin, the tag under /wj/.
		tagURL := ""
		for _, r := range requests() {
			if !strings.HasPrefix(r, origin+"/") && r != "about:blank" {
				t.Errorf("the page requested %s, outside its origin %s", r, origin)
			}
			if strings.HasPrefix(r, origin+"/wj/wj.js") {
				tagURL = r
			}
		}
		if tagURL != origin+"/wj/wj.js" {
			t.Errorf("the tag was not loaded from %s/wj/wj.js (requests: %v)", origin, requests())
		}

		var noscript map[string]any
		pageViews := map[string]int{}
		for _, d := range docs {
			// The browser's address, from X-Forwarded-For, for every hit.
			assertField(t, d, eventmodel.AttrClientAddress, browserAddr)
			if d[eventmodel.AttrIngestChannel] == eventmodel.ChannelPixel {
				noscript = d
				continue
			}
			if d["event.name"] == eventmodel.EventPageView {
				pageViews[fmt.Sprint(d[eventmodel.AttrURLFull])]++
			}
		}
		want := map[string]int{origin + "/": 2, origin + "/shoes.html?color=red": 1}
		if fmt.Sprint(pageViews) != fmt.Sprint(want) {
			t.Errorf("tag page views by URL: got %v, want %v", pageViews, want)
		}
		if noscript == nil {
			t.Fatalf("no <noscript> pixel hit among the documents")
		}
		// The same-origin Referer is the whole page URL (the default
		// policy strict-origin-when-cross-origin cuts it to the origin
		// only across origins).
		assertField(t, noscript, eventmodel.AttrURLFull, origin+"/shoes.html?color=blue&size=42")

		// One visitor, known to the receiver's cookie, also without JavaScript.
		vid := docs[0][eventmodel.AttrVisitorID]
		if vid == nil {
			t.Fatalf("no visitor id on %v", docs[0])
		}
		for _, d := range docs {
			assertField(t, d, eventmodel.AttrVisitorID, vid)
		}
		checkVisitorCookie(t, cookies, vid)
		visitor := findCookie(t, cookies, "_wjid")
		if !visitor.Secure || visitor.Domain != proxyHost {
			t.Errorf("visitor cookie must be Secure (nginx said https) and host-only on %s: %+v", proxyHost, visitor)
		}
		if strings.Contains(docCookie, "_wjid") {
			t.Errorf("the page's script can read the visitor cookie: document.cookie=%q", docCookie)
		}
	})

	t.Run("untrusted", func(t *testing.T) {
		// The same nginx in front of a collector that trusts no proxy.
		store, prefix, listen := startPipeline(t, pipeline{pixel: pixelConfig("[]")})
		origin := startSiteProxy(t, nginx, pki, www, listen)
		ctx := proxyBrowser(t, pki)
		run(t, ctx,
			chromedp.Navigate(origin+"/"),
			waitForTag(),
			chromedp.Navigate("about:blank"),
		)
		docs := waitForDocs(t, store, prefix, proxySite, func(docs []map[string]any) bool {
			return countName(docs, eventmodel.EventPageView) >= 1
		})
		cookies := siteCookies(t, ctx, origin)
		for _, d := range docs {
			// nginx's own address: its X-Forwarded-For counts for nothing.
			assertField(t, d, eventmodel.AttrClientAddress, proxyPeerAddr)
		}
		// Nor does its X-Forwarded-Proto: the receiver saw plain HTTP.
		if c := findCookie(t, cookies, "_wjid"); c.Secure {
			t.Errorf("visitor cookie is Secure although the receiver must not believe an untrusted X-Forwarded-Proto: %+v", c)
		}
	})
}

// siteCookies returns the browser's cookies for the site once it holds the
// receiver's visitor cookie: the answer to a beacon the page sent as it
// was left (sendBeacon) may be processed after the navigation.
func siteCookies(t *testing.T, ctx context.Context, origin string) []*network.Cookie {
	t.Helper()
	var cookies []*network.Cookie
	eventually(t, 10*time.Second, "the visitor cookie in the browser", func() bool {
		cookies = browserCookies(t, ctx, origin+"/")
		for _, c := range cookies {
			if c.Name == "_wjid" {
				return true
			}
		}
		return false
	})
	return cookies
}

func findCookie(t *testing.T, cookies []*network.Cookie, name string) *network.Cookie {
	t.Helper()
	for _, c := range cookies {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s among %v", name, cookies)
	return nil
}

// proxyBrowser starts Chromium trusting the test CA and resolving the
// site's host name to ::1.
func proxyBrowser(t *testing.T, pki testPKI) context.Context {
	t.Helper()
	return testenv.Browser(t, 90*time.Second,
		testenv.TrustCA(t, pki.caFile),
		chromedp.Flag("host-resolver-rules", "MAP "+proxyHost+" ["+browserAddr+"]"),
	)
}

// recordRequests returns a function listing the URL of every request the
// browser's tab has made so far.
func recordRequests(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var urls []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), urls...)
	}
}

// proxyWWW writes the site's pages into a directory nginx's workers can
// read (they run as nobody when the tests run as root, and t.TempDir's
// parents are private to the test user).
func proxyWWW(t *testing.T) string {
	t.Helper()
	dir := worldReadableDir(t, "webjourney-proxy-www.")
	for name, title := range map[string]string{"index.html": "Home", "shoes.html": "Shoes"} {
		var b strings.Builder
		if err := proxyPage.Execute(&b, map[string]string{"Title": title, "Site": proxySite}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func worldReadableDir(t *testing.T, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startSiteProxy runs nginx with deploy/nginx/webjourney.conf, its CHANGE
// values replaced with the test's: ports on the loopback addresses, the
// test certificate, the site's pages in www, the collector at collector
// (host:port). It returns the site's origin as the browser reaches it.
// nginx runs in the foreground as the test's child and is stopped at the
// end of the test.
func startSiteProxy(t *testing.T, nginx string, pki testPKI, www, collector string) string {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "nginx", "webjourney.conf"))
	if err != nil {
		t.Fatal(err)
	}
	httpPort, httpsPort := freePort(t), freePort(t)
	site := string(shipped)
	// Each value the comments tell the owner to change, and how often it
	// occurs: a changed file fails here rather than running untested.
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{"listen 80;", fmt.Sprintf("listen %s:%d;", proxyPeerAddr, httpPort), 1},
		{"listen [::]:80;", fmt.Sprintf("listen [%s]:%d;", browserAddr, httpPort), 1},
		{"listen 443 ssl;", fmt.Sprintf("listen %s:%d ssl;", proxyPeerAddr, httpsPort), 1},
		{"listen [::]:443 ssl;", fmt.Sprintf("listen [%s]:%d ssl;", browserAddr, httpsPort), 1},
		{"server_name shop.example;", "server_name " + proxyHost + ";", 2},
		{"/etc/letsencrypt/live/shop.example/fullchain.pem", pki.certFile, 1},
		{"/etc/letsencrypt/live/shop.example/privkey.pem", pki.keyFile, 1},
		{"root /var/www/shop.example;", "root " + www + ";", 1},
		{"server 127.0.0.1:8090;", "server " + collector + ";", 1},
	} {
		if got := strings.Count(site, r.old); got != r.n {
			t.Fatalf("deploy/nginx/webjourney.conf: %q occurs %d times, the test replaces it %d times", r.old, got, r.n)
		}
		site = strings.ReplaceAll(site, r.old, r.new)
	}

	dir := worldReadableDir(t, "webjourney-proxy-nginx.")
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	// The main context a distribution's nginx.conf gives the site file, with
	// everything nginx writes kept in dir.
	main := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
  types { text/html html; text/javascript js; image/gif gif; }
  default_type application/octet-stream;
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  include %[1]s/site.conf;
}
`, dir)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf}
	if out, err := exec.Command(nginx, append([]string{"-t", "-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx rejects deploy/nginx/webjourney.conf: %v\n%s", err, out)
	}
	cmd := exec.Command(nginx, args...)
	output := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGQUIT: a graceful stop, as `nginx -s quit`.
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s\naccess.log:\n%s", output.String(), log, access)
		}
	})
	addr := fmt.Sprintf("[%s]:%d", browserAddr, httpsPort)
	eventually(t, 10*time.Second, "nginx listening on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	return fmt.Sprintf("https://%s:%d", proxyHost, httpsPort)
}

// testPKI is a test CA and a server certificate it signed for one host
// name, as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
}

// newTestPKI makes a CA (P-256) and a server certificate for host, valid
// from an hour ago for a month. Only nginx's master process (the test's
// user) reads the key.
func newTestPKI(t *testing.T, host string) testPKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "webjourney e2e test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server.key"),
	}
	for path, block := range map[string]*pem.Block{
		p.caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		p.certFile: {Type: "CERTIFICATE", Bytes: leafDER},
		p.keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
