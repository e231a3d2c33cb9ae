package elasticsearchjourneyexporter

// The cluster check at start. httptest stands in for what cannot run here:
// Elasticsearch 7.x, OpenSearch, a 9.x newer than the tested one.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadata"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/storetest"
)

// rootServer answers GET / with body and the product header, the template
// check as installed, and nothing else.
func rootServer(t *testing.T, product, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if product != "" {
			w.Header().Set("X-Elastic-Product", product)
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/":
			_, _ = fmt.Fprint(w, body)
		default:
			name := r.URL.Path[len("/_index_template/"):]
			fmt.Fprintf(w, `{"index_templates":[{"name":%q,"index_template":{"index_patterns":["x"],"version":%d}}]}`, name, journeystore.TemplateVersion)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// What answers is not an Elasticsearch the exporter supports: Start fails
// and says what it found.
func TestStartRefusesUnsupportedClusters(t *testing.T) {
	for _, tc := range []struct {
		name, product, body, want string
	}{
		{"Elasticsearch 7", "Elasticsearch", `{"version":{"number":"7.17.9","build_flavor":"default"},"tagline":"You Know, for Search"}`,
			": Elasticsearch 7.17.9 is too old; webjourney needs Elasticsearch 8.x or 9.x (tested: 8.19 and 9.5)"},
		{"Elasticsearch 6 without the product header", "", `{"version":{"number":"6.8.23"},"tagline":"You Know, for Search"}`,
			": Elasticsearch 6.8.23 is too old"},
		{"OpenSearch", "", `{"version":{"distribution":"opensearch","number":"2.11.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`,
			": the server is opensearch 2.11.0, not Elasticsearch; webjourney needs Elasticsearch 8.x or 9.x"},
		{"no product header", "", `{"version":{"number":"8.19.21"}}`,
			": the server does not answer as Elasticsearch (no X-Elastic-Product: Elasticsearch header; version 8.19.21)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := rootServer(t, tc.product, tc.body)
			cfg := createDefaultConfig().(*Config)
			cfg.Endpoints = []string{srv.URL}
			cfg.ClientConfig.DisableKeepAlives = true
			exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
			require.NoError(t, err)
			err = exp.Start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			assert.Contains(t, err.Error(), "elasticsearch_journey: "+srv.URL+tc.want)
			require.NoError(t, exp.Shutdown(context.Background()))
		})
	}
}

// A version newer than the newest tested is warned about once; the
// exporter works on.
func TestNewerVersionWarnsOnce(t *testing.T) {
	srv := rootServer(t, "Elasticsearch", `{"version":{"number":"9.6.0"}}`)
	_, set := newTelemetry(t)
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	exp := newTestExporter(t, set, srv.URL, "fake")
	require.True(t, exp.templateReady.Load())
	warnings := logs.FilterMessageSnippet("newer than the newest tested").All()
	require.Len(t, warnings, 1)
	assert.Equal(t, "Elasticsearch at "+srv.URL+" is version 9.6.0, newer than the newest tested (9.5); it is expected to work through REST API compatibility (compatible-with=8)", warnings[0].Message)
}

// Elasticsearch unreachable at start, then an unsupported one answers:
// the background connection reports a permanent error, logs it and stops
// trying; exports stay refused (retryable: the queue keeps the events).
func TestUnsupportedClusterFoundInTheBackground(t *testing.T) {
	srv := rootServer(t, "Elasticsearch", `{"version":{"number":"7.17.9"}}`)
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	later, serve := laterServer(t)
	host := newStatusHost()
	_, set := newTelemetry(t)
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	exp := newTestExporterOnHost(t, set, host, "fake", func(c *Config) { c.Endpoints = []string{later} })
	require.False(t, exp.templateReady.Load())

	serve(httputil.NewSingleHostReverseProxy(target))
	require.Eventually(t, func() bool {
		s := host.statuses()
		return len(s) > 0 && s[len(s)-1] == componentstatus.StatusPermanentError
	}, 10*time.Second, 10*time.Millisecond)
	<-exp.installDone // the loop stopped
	assert.Equal(t, 1, logs.FilterMessageSnippet("Elasticsearch is not supported").Len())
	err = exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID("a")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Elasticsearch 7.17.9 is too old")
}

// laterServer returns the URL of a port nothing listens on yet, and a
// function that starts serving handler there.
func laterServer(t *testing.T) (string, func(http.Handler)) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr, func(h http.Handler) {
		l, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
		srv.Start()
		t.Cleanup(srv.Close)
	}
}
