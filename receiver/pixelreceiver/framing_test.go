package pixelreceiver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/framing"
)

// The hits a framing test hides: each would be stored if the server
// served it.
const (
	smuggledHit  = "GET /p.gif?s=shop&url=https%3A%2F%2Fshop.example%2Fsmuggled HTTP/1.1\r\nHost: stats.shop.example\r\nConnection: close\r\n\r\n"
	framedBeacon = `{"site":"shop","events":[{"type":"page_view","url":"https://shop.example/framed"}]}`
	pixelHead    = "GET /p.gif?s=shop&url=https%3A%2F%2Fshop.example%2Fambiguous HTTP/1.1\r\nHost: stats.shop.example\r\n"
	beaconHead   = "POST /b HTTP/1.1\r\nHost: stats.shop.example\r\nContent-Type: application/json\r\n"
)

// chunked frames body as one chunk and the last chunk.
func chunked(body string) string {
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

// ambiguousRequests are requests of every refused framing class, on the
// pixel and the beacon; each would store a page view if it were served.
var ambiguousRequests = []struct {
	name string
	raw  string
	want framing.Violation
}{
	{"beacon content-length then chunked", beaconHead + fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n", len(chunked(framedBeacon))) + chunked(framedBeacon), framing.TransferEncodingWithContentLength},
	{"beacon chunked then content-length", beaconHead + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + chunked(framedBeacon), framing.TransferEncodingWithContentLength},
	{"pixel content-length and chunked", pixelHead + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", framing.TransferEncodingWithContentLength},
	{"beacon chunked, identity", beaconHead + "Transfer-Encoding: chunked, identity\r\n\r\n" + chunked(framedBeacon), framing.UnsupportedTransferEncoding},
	{"beacon identity", beaconHead + fmt.Sprintf("Transfer-Encoding: identity\r\nContent-Length: %d\r\n\r\n", len(framedBeacon)) + framedBeacon, framing.UnsupportedTransferEncoding},
	{"beacon gzip, chunked", beaconHead + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(framedBeacon), framing.UnsupportedTransferEncoding},
	{"beacon chunked twice", beaconHead + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(framedBeacon), framing.UnsupportedTransferEncoding},
	{"beacon http/1.0 chunked", strings.Replace(beaconHead, "HTTP/1.1", "HTTP/1.0", 1) + fmt.Sprintf("Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n", len(framedBeacon)) + framedBeacon, framing.TransferEncodingInHTTP10},
	{"beacon content-length twice", beaconHead + fmt.Sprintf("Content-Length: %d\r\nContent-Length: %[1]d\r\n\r\n", len(framedBeacon)) + framedBeacon, framing.DuplicateContentLength},
	{"beacon content-length list", beaconHead + fmt.Sprintf("Content-Length: %d, %[1]d\r\n\r\n", len(framedBeacon)) + framedBeacon, framing.DuplicateContentLength},
	{"beacon content-length conflict", beaconHead + fmt.Sprintf("Content-Length: %d\r\nContent-Length: 2\r\n\r\n", len(framedBeacon)) + framedBeacon, framing.DuplicateContentLength},
	{"beacon content-length signed", beaconHead + fmt.Sprintf("Content-Length: +%d\r\n\r\n", len(framedBeacon)) + framedBeacon, framing.InvalidContentLength},
	{"beacon folded transfer-encoding", beaconHead + "Transfer-Encoding:\r\n chunked\r\n\r\n" + chunked(framedBeacon), framing.ObsoleteLineFolding},
	{"pixel folded field", pixelHead + "X-Note: a\r\n\tb\r\n\r\n", framing.ObsoleteLineFolding},
	{"pixel bare lf", strings.ReplaceAll(pixelHead, "\r\n", "\n") + "\n", framing.BareLF},
	{"beacon bare lf before transfer-encoding", beaconHead + "X-Note: a\nTransfer-Encoding: chunked\r\n\r\n" + chunked(framedBeacon), framing.BareLF},
	{"beacon space before colon", beaconHead + "Transfer-Encoding : chunked\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(framedBeacon)) + framedBeacon, framing.WhitespaceBeforeColon},
	{"pixel bare cr", pixelHead + "X-Note: a\rb\r\n\r\n", framing.InvalidField},
	{"beacon chunk size 0x", beaconHead + "Transfer-Encoding: chunked\r\n\r\n0x10\r\n" + framedBeacon[:16] + "\r\n0\r\n\r\n", framing.InvalidChunk},
	{"beacon chunk size negative", beaconHead + "Transfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", framing.InvalidChunk},
	{"beacon chunk size overflow", beaconHead + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nx\r\n0\r\n\r\n", framing.InvalidChunk},
	{"beacon chunk size with space", beaconHead + fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x \r\n%s\r\n0\r\n\r\n", len(framedBeacon), framedBeacon), framing.InvalidChunk},
	{"beacon chunk longer than its size", beaconHead + fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s}\r\n0\r\n\r\n", len(framedBeacon), framedBeacon), framing.InvalidChunk},
	{"pixel http/1.2", strings.Replace(pixelHead, "HTTP/1.1", "HTTP/1.2", 1) + "\r\n", framing.InvalidRequestLine},
	{"pixel leading empty line", "\r\n" + pixelHead + "\r\n", framing.InvalidRequestLine},
}

// rawExchange sends raw in one write to the receiver over TCP and reads
// until the connection is closed (closed true) or stays quiet.
func (e *testEnv) rawExchange(raw string) (answer string, closed bool) {
	e.t.Helper()
	c, err := net.Dial("tcp", e.rcv.endpoint)
	require.NoError(e.t, err)
	defer c.Close()
	_, err = io.WriteString(c, raw)
	require.NoError(e.t, err)
	require.NoError(e.t, c.SetReadDeadline(time.Now().Add(3*time.Second)))
	b, err := io.ReadAll(c)
	return string(b), err == nil
}

// An ambiguous request with a hit smuggled behind it in the same write:
// 400, the connection closed, nothing of either request stored, the
// refusal counted under its reason.
func TestFramingAmbiguityRefused(t *testing.T) {
	for _, tc := range ambiguousRequests {
		t.Run(tc.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			e := startReceiver(t, sink)
			answer, closed := e.rawExchange(tc.raw + smuggledHit)
			assert.True(t, strings.HasPrefix(answer, "HTTP/1.1 400 Bad Request\r\n"), answer)
			assert.Contains(t, answer, "\r\nConnection: close\r\n")
			assert.Equal(t, 1, strings.Count(answer, "HTTP/1."), "only the refusal is answered")
			assert.True(t, closed, "the connection is closed")

			// A hit on a new connection is served; only it is stored.
			requireGIF(t, e.request("GET", pageHit("shop", "https://shop.example/after"), "", nil))
			records := onlyRecords(t, sink)
			require.Equal(t, 1, records.Len())
			got, _ := records.At(0).Attributes().Get("url.full")
			assert.Equal(t, "https://shop.example/after", got.Str())
			e.requireRejections(rejection{"http", string(tc.want), 1})
		})
	}
}

// The same requests, well framed, are stored: the refusals above are the
// framing's doing.
func TestFramingWellFramedStored(t *testing.T) {
	for _, raw := range []string{
		pixelHead + "\r\n",
		beaconHead + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(framedBeacon)) + framedBeacon,
		beaconHead + "Transfer-Encoding: chunked\r\n\r\n" + chunked(framedBeacon),
	} {
		sink := new(consumertest.LogsSink)
		e := startReceiver(t, sink)
		answer, closed := e.rawExchange(raw + smuggledHit)
		assert.True(t, closed, "the hit behind closes the connection")
		assert.Equal(t, 2, strings.Count(answer, "HTTP/1.1 200 OK"), answer)
		assert.Equal(t, 2, sink.LogRecordCount())
		e.requireRejections()
	}
}

// selfSignedCert writes a P-256 certificate for 127.0.0.1 and its key as
// PEM files and returns their paths and a pool that trusts it.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With tls on the receiver, the checks run on the decrypted stream, the
// handlers still know the request came over TLS (Secure cookies), and
// only HTTP/1.1 is offered.
func TestFramingUnderTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.ServerConfig.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: certFile, KeyFile: keyFile}})
		shop := testSite("shop")
		shop.Consent.Required = false
		shop.Cookies.Mode = CookieModeServer
		cfg.Sites = []SiteConfig{shop}
	})
	clientTLS := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2", "http/1.1"}}
	e.base = "https://" + e.rcv.endpoint
	e.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}}

	resp := e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", nil)
	requireGIF(t, resp)
	c := cookieMap(resp)["_wjid"]
	require.NotNil(t, c)
	assert.True(t, c.Secure, "the handler saw TLS")
	assert.Equal(t, 1, sink.LogRecordCount())

	raw, err := tls.Dial("tcp", e.rcv.endpoint, clientTLS)
	require.NoError(t, err)
	defer raw.Close()
	assert.Equal(t, "http/1.1", raw.ConnectionState().NegotiatedProtocol)
	_, err = io.WriteString(raw, ambiguousRequests[0].raw+smuggledHit)
	require.NoError(t, err)
	require.NoError(t, raw.SetReadDeadline(time.Now().Add(3*time.Second)))
	answer, err := io.ReadAll(raw)
	require.NoError(t, err, "closed")
	assert.True(t, strings.HasPrefix(string(answer), "HTTP/1.1 400 Bad Request\r\n"), string(answer))
	assert.Equal(t, 1, sink.LogRecordCount(), "nothing of the refused request stored")
	e.requireRejections(rejection{"http", string(ambiguousRequests[0].want), 1})
}
