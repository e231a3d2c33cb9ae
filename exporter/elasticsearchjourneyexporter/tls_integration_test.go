package elasticsearchjourneyexporter

// The exporter against the Elasticsearch users run: TLS and credentials
// through real nginx in front of the real test server
// (scripts/es-tls-proxy.sh, estest.StartTLSProxy), which answers 401 and 403
// as Elasticsearch's security does and fails TLS handshakes for real.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/test/estest"
	"github.com/webjourney/webjourney/test/storetest"
)

// writeSecret writes a secret file (as systemd's credentials or a
// Kubernetes secret would) and returns its path.
func writeSecret(t *testing.T, name, value string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(value+"\n"), 0o600))
	return path
}

// Every TLS and credential mode stores events through the proxy.
func TestTLSAndCredentialModes(t *testing.T) {
	es, _ := storetest.NewClient(t)
	p := estest.StartTLSProxy(t, es.URL)
	ep := p.Endpoints
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		warns  string // a warning the exporter must log
	}{
		{"ca_file and basic auth", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.CAFile = []string{ep.Credentials}, p.CAFile
			c.User, c.Password = p.Basic.Username, configopaque.String(p.Basic.Password)
		}, ""},
		{"password_file", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.CAFile = []string{ep.Credentials}, p.CAFile
			c.User, c.PasswordFile = p.Basic.Username, writeSecret(t, "es.password", p.Basic.Password)
		}, ""},
		{"api_key encoded", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.CAFile = []string{ep.Credentials}, p.CAFile
			c.APIKey = configopaque.String(p.APIKey.Encoded)
		}, ""},
		{"api_key_file id:key", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.CAFile = []string{ep.Credentials}, p.CAFile
			c.APIKeyFile = writeSecret(t, "es.api_key", p.APIKey.ID+":"+p.APIKey.Key)
		}, ""},
		{"bearer_token_file", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.CAFile = []string{ep.Credentials}, p.CAFile
			c.BearerTokenFile = writeSecret(t, "es.token", p.BearerToken)
		}, ""},
		{"ca_trusted_fingerprint", func(c *Config) {
			c.Endpoints, c.CATrustedFingerprint = []string{ep.Credentials}, p.CASHA256
			c.APIKey = configopaque.String(p.APIKey.Encoded)
		}, ""},
		{"client certificate", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.CAFile = []string{ep.MTLS}, p.CAFile
			c.ClientConfig.TLS.CertFile, c.ClientConfig.TLS.KeyFile = p.ClientCertFile, p.ClientKeyFile
		}, ""},
		{"server_name_override", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.CAFile = []string{ep.ServerName}, p.CAFile
			c.ClientConfig.TLS.ServerName = p.ServerName
			c.APIKey = configopaque.String(p.APIKey.Encoded)
		}, ""},
		{"insecure_skip_verify", func(c *Config) {
			c.Endpoints, c.ClientConfig.TLS.InsecureSkipVerify = []string{ep.WrongCA}, true
			c.APIKey = configopaque.String(p.APIKey.Encoded)
		}, "tls::insecure_skip_verify is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := estest.UniquePrefix(t)
			t.Cleanup(func() { es.DeleteAll(prefix) })
			tt, set := newTelemetry(t)
			core, logs := observer.New(zapcore.DebugLevel)
			set.Logger = zap.New(core)
			exp := newTestExporter(t, set, ep.Credentials, prefix, tc.modify)
			require.True(t, exp.templateReady.Load(), "connected at start: %v", exp.lastTemplateError())

			require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 1)))))
			assert.Equal(t, 1, es.Count(prefix))
			if tc.warns != "" {
				assert.Equal(t, 1, logs.FilterMessageSnippet(tc.warns).FilterLevelExact(zapcore.WarnLevel).Len())
			}
			// The bare server behind the proxy answers GET / with 405: the
			// version comes from GET /_nodes/_local.
			assert.Equal(t, 1, logs.FilterMessage("Connected to Elasticsearch").Len(), "%v", logs.All())
			assertNoSecret(t, p, logs, nil)
			metadatatest.AssertEqualExporterElasticsearchJourneyDocsIndexed(t, tt,
				[]metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
		})
	}
}

// assertNoSecret fails when a secret of the proxy appears in a log entry
// (message or field) or in one of errs.
func assertNoSecret(t *testing.T, p *estest.TLSProxy, logs *observer.ObservedLogs, errs []error) {
	t.Helper()
	var text strings.Builder
	for _, e := range logs.All() {
		text.WriteString(e.Message + "\n")
		for k, v := range e.ContextMap() {
			text.WriteString(k + "=" + strings.ReplaceAll(toString(v), "\n", " ") + "\n")
		}
	}
	for _, err := range errs {
		if err != nil {
			text.WriteString(err.Error() + "\n")
		}
	}
	for _, s := range p.Secrets() {
		assert.NotContains(t, text.String(), s, "a secret reached the log or an error")
	}
}

func toString(v any) string {
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return fmt.Sprint(v)
}

// Each refusal gives one clear error naming the endpoint and the cause;
// start does not fail (the collector keeps running and keeps events), the
// exports are refused with a distinct reason, not as an outage, and no
// secret reaches the log or an error.
func TestRefusalsAreClearAndNotAnOutage(t *testing.T) {
	es, _ := storetest.NewClient(t)
	p := estest.StartTLSProxy(t, es.URL)
	ep := p.Endpoints
	withCA := func(endpoint string) func(*Config) {
		return func(c *Config) { c.Endpoints, c.ClientConfig.TLS.CAFile = []string{endpoint}, p.CAFile }
	}
	apiKey := func(key string) func(*Config) {
		return func(c *Config) { c.APIKey = configopaque.String(key) }
	}
	for _, tc := range []struct {
		name   string
		modify []func(*Config)
		reason string
		want   []string // the message names the endpoint, the cause and what to do
	}{
		{"wrong CA", []func(*Config){withCA(ep.WrongCA), apiKey(p.APIKey.Encoded)}, "tls", []string{
			"TLS connection to Elasticsearch at " + ep.WrongCA + " failed: x509: certificate signed by unknown authority",
			`signed by "CN=webjourney other test CA", which this client does not trust: set tls::ca_file`,
		}},
		{"CA fingerprint of another CA", []func(*Config){
			func(c *Config) {
				c.Endpoints, c.CATrustedFingerprint = []string{ep.Credentials}, strings.Repeat("ab", 32)
			},
			apiKey(p.APIKey.Encoded),
		}, "tls", []string{
			"TLS connection to Elasticsearch at " + ep.Credentials + " failed: no certificate the server presents has the SHA-256 fingerprint AB:AB:",
			`it presents "CN=localhost" (SHA-256 `,
		}},
		{"expired certificate", []func(*Config){withCA(ep.Expired), apiKey(p.APIKey.Encoded)}, "tls", []string{
			"TLS connection to Elasticsearch at " + ep.Expired + " failed: x509: certificate has expired or is not yet valid",
			"is expired or not yet valid: renew it on the server",
		}},
		{"certificate for another name", []func(*Config){withCA(ep.ServerName), apiKey(p.APIKey.Encoded)}, "tls", []string{
			"TLS connection to Elasticsearch at " + ep.ServerName + " failed: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
			"the server's certificate is valid for es.webjourney.test, not for 127.0.0.1: use an endpoint with one of those names, or set tls::server_name_override to one of them",
		}},
		{"wrong password", []func(*Config){withCA(ep.Credentials), func(c *Config) {
			c.User, c.Password = p.Basic.Username, "not-the-password"
		}}, "unauthorized", []string{
			"Elasticsearch at " + ep.Credentials + ` refused the credentials (basic authentication as user "webjourney"): HTTP 401 security_exception: unable to authenticate user [webjourney] for REST request [/`,
			"check user and password",
		}},
		{"revoked API key", []func(*Config){withCA(ep.Credentials), apiKey(p.RevokedAPIKey.Encoded)}, "unauthorized", []string{
			"Elasticsearch at " + ep.Credentials + ` refused the credentials (API key id "` + p.RevokedAPIKey.ID + `"): HTTP 401 security_exception: unable to authenticate with provided credentials: api key has been invalidated`,
			"the API key is unknown, expired or invalidated: create one (POST /_security/api_key) and put it in api_key",
		}},
		{"missing privileges", []func(*Config){withCA(ep.Credentials), apiKey(p.LimitedAPIKey.Encoded)}, "forbidden", []string{
			"Elasticsearch at " + ep.Credentials + ` refused the request (API key id "` + p.LimitedAPIKey.ID + `"): HTTP 403 security_exception: action [GET /_index_template/`,
			"the credentials lack a privilege: grant it (the elasticsearch_journey exporter's README lists them under Privileges)",
		}},
		{"untrusted client certificate", []func(*Config){withCA(ep.MTLS), func(c *Config) {
			c.ClientConfig.TLS.CertFile, c.ClientConfig.TLS.KeyFile = p.UntrustedClientCertFile, p.UntrustedClientKeyFile
		}}, "unauthorized", []string{
			"Elasticsearch at " + ep.MTLS + " refused the credentials (no credentials): HTTP 401 security_exception: client certificate required and not trusted",
			"the server wants a client certificate from a CA it trusts: set tls::cert_file and tls::key_file",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := estest.UniquePrefix(t)
			tt, set := newTelemetry(t)
			core, logs := observer.New(zapcore.DebugLevel)
			set.Logger = zap.New(core)
			host := newStatusHost()
			exp := newTestExporterOnHost(t, set, host, prefix, tc.modify...)
			require.False(t, exp.templateReady.Load())

			connectErr := exp.lastTemplateError()
			for _, w := range tc.want {
				assert.Contains(t, connectErr.Error(), w)
			}
			// One error line at start, naming the same.
			errorLogs := logs.FilterLevelExact(zapcore.ErrorLevel).All()
			require.Len(t, errorLogs, 1, "%v", logs.All())
			assert.Equal(t, connectErr.Error(), errorLogs[0].ContextMap()["error"])
			assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.statuses(), "the component status reports the refusal")

			pushErr := exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, 1))))
			require.Error(t, pushErr)
			assert.False(t, consumererror.IsPermanent(pushErr), "the events are kept for retry")
			assert.Contains(t, pushErr.Error(), tc.want[0])
			metadatatest.AssertEqualExporterElasticsearchJourneyDocsFailed(t, tt, []metricdata.DataPoint[int64]{
				{Attributes: attribute.NewSet(attribute.String("reason", tc.reason)), Value: 1},
			}, metricdatatest.IgnoreTimestamp())
			assert.Equal(t, 0, es.Count(prefix))
			assertNoSecret(t, p, logs, []error{connectErr, pushErr})
		})
	}
}

// counts sums a counter of the exporter's telemetry by one attribute.
func counts(t *testing.T, tt *componenttest.Telemetry, name, attr string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := tt.GetMetric("otelcol_" + name)
	if err != nil {
		return out // not recorded yet
	}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(attr))
		out[v.AsString()] += dp.Value
	}
	return out
}

// A wrong password from the start: the collector starts, the events wait
// in the sending queue while Elasticsearch refuses the credentials (the
// exporterhelper retries them; no outage is counted), and once the
// password file is corrected every event is stored, without a restart.
func TestFixedCredentialsStoreQueuedEvents(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	p := estest.StartTLSProxy(t, es.URL)
	passwordFile := writeSecret(t, "es.password", "wrong-password")

	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints, cfg.IndexPrefix = []string{p.Endpoints.Credentials}, prefix
	cfg.ClientConfig.TLS.CAFile = p.CAFile
	cfg.ClientConfig.DisableKeepAlives = true
	cfg.User, cfg.PasswordFile = p.Basic.Username, passwordFile
	cfg.RetryConfig.InitialInterval, cfg.RetryConfig.MaxInterval = 50*time.Millisecond, 200*time.Millisecond
	q := cfg.QueueConfig.Get()
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	require.NoError(t, cfg.Validate())

	tt, set := newTelemetry(t)
	core, logs := observer.New(zapcore.DebugLevel)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			require.NoError(t, exp.Shutdown(context.Background()))
		}
	}
	t.Cleanup(stop)

	const n = 20
	for i := range n {
		require.NoError(t, exp.ConsumeLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, i)))))
	}
	require.Eventually(t, func() bool {
		return counts(t, tt, "exporter_elasticsearch_journey_docs_failed", "reason")["unauthorized"] >= n
	}, 20*time.Second, 20*time.Millisecond, "the queued events are refused as unauthorized")
	assert.Equal(t, 0, es.Count(prefix))

	require.NoError(t, os.WriteFile(passwordFile, []byte(p.Basic.Password), 0o600))
	require.Eventually(t, func() bool { return es.Count(prefix) == n }, 60*time.Second, 100*time.Millisecond,
		"every queued event is stored once the password is right")
	stop()

	failed := counts(t, tt, "exporter_elasticsearch_journey_docs_failed", "reason")
	assert.Zero(t, failed[reasonTemplateMiss]+failed[reasonRequestFailed], "a refusal is not counted as an outage: %v", failed)
	requests := counts(t, tt, "exporter_elasticsearch_journey_requests", "outcome")
	assert.Positive(t, requests["unauthorized"])
	assert.Zero(t, requests["unreachable"])
	assertNoSecret(t, p, logs, nil)
}

// Credentials that go bad while the collector runs (a revoked key): the
// first refused export pauses the exports (the next fails at once, without
// a request), the component status reports it, and after a backoff one
// trial export finds the corrected key and all proceed.
func TestRefusedExportsPauseUntilAccepted(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	p := estest.StartTLSProxy(t, es.URL)
	keyFile := writeSecret(t, "es.api_key", p.APIKey.Encoded)
	tt, set := newTelemetry(t)
	core, logs := observer.New(zapcore.DebugLevel)
	set.Logger = zap.New(core)
	host := newStatusHost()
	exp := newTestExporterOnHost(t, set, host, prefix, func(c *Config) {
		c.Endpoints, c.ClientConfig.TLS.CAFile, c.APIKeyFile = []string{p.Endpoints.Credentials}, p.CAFile, keyFile
	})
	require.True(t, exp.templateReady.Load())
	exp.retryMin = time.Hour // no trial until the test allows it
	push := func(i int) error {
		return exp.pushLogs(context.Background(), storetest.MakeLogs(storetest.PageViewWithID(storetest.UniqueID(t, i))))
	}
	require.NoError(t, push(1))

	// The key is revoked (and the file still holds it).
	require.NoError(t, os.WriteFile(keyFile, []byte(p.RevokedAPIKey.Encoded), 0o600))
	err := push(2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Elasticsearch at `+p.Endpoints.Credentials+` refused the credentials (API key id "`+p.RevokedAPIKey.ID+`"): HTTP 401 security_exception: unable to authenticate with provided credentials: api key has been invalidated`)
	var logsErr consumererror.Logs
	require.ErrorAs(t, err, &logsErr)
	assert.Equal(t, 1, logsErr.Data().LogRecordCount(), "the record is handed back for retry")
	sent := counts(t, tt, "exporter_elasticsearch_journey_requests", "outcome")

	err = push(3)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not sent while Elasticsearch refuses the exports")
	assert.Equal(t, sent, counts(t, tt, "exporter_elasticsearch_journey_requests", "outcome"), "no request while paused")
	assert.Equal(t, map[string]int64{"unauthorized": 2}, counts(t, tt, "exporter_elasticsearch_journey_docs_failed", "reason"))
	assert.Equal(t, 1, logs.FilterMessageSnippet("Elasticsearch refuses the exports; pausing them").Len())

	// A new key is put in the file; the next trial export finds it.
	require.NoError(t, os.WriteFile(keyFile, []byte(p.APIKey.ID+":"+p.APIKey.Key), 0o600))
	exp.refusals.mu.Lock()
	exp.refusals.until = time.Now() // the backoff is over
	exp.refusals.mu.Unlock()
	require.NoError(t, push(2))
	require.NoError(t, push(3))
	assert.Equal(t, 3, es.Count(prefix))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, host.statuses())
	assert.Equal(t, 1, logs.FilterMessageSnippet("Elasticsearch accepts the exports again").Len())
	assertNoSecret(t, p, logs, nil)
}
