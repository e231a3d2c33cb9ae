package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/ledger"
	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadata"
	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// LedgerConfig is where the postback ledger is written: the same
// Elasticsearch, with the same connection keys, as the
// elasticsearch_journey exporter's.
type LedgerConfig struct {
	// Endpoints lists the Elasticsearch nodes (http or https URLs).
	Endpoints []string `mapstructure:"endpoints"`
	// IndexPrefix is elasticsearch_journey's index_prefix: the ledger is
	// "<index_prefix>-postbacks".
	IndexPrefix string `mapstructure:"index_prefix"`

	// Credentials: user with password (or password_file), api_key (or
	// api_key_file), or bearer_token (or bearer_token_file).
	esclient.Credentials `mapstructure:",squash"`

	// ClientConfig holds tls, timeout (one bulk request), headers, proxy;
	// squashed as in elasticsearch_journey. Its endpoint is not used.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`

	// FlushInterval is the longest a decision waits to be written
	// (documents are batched meanwhile).
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// MaxRetries is how many times a document whose write failed (429,
	// 5xx, network) is written again before it is given up.
	MaxRetries int `mapstructure:"max_retries"`
	// QueueSize bounds the decisions waiting to be written; past it they
	// are dropped (and counted), never waited for.
	QueueSize int `mapstructure:"queue_size"`
}

func defaultLedgerConfig() LedgerConfig {
	cc := confighttp.NewDefaultClientConfig()
	cc.Timeout = 30 * time.Second
	return LedgerConfig{
		IndexPrefix:   journeystore.DefaultPrefix,
		ClientConfig:  cc,
		FlushInterval: time.Second,
		MaxRetries:    3,
		QueueSize:     10_000,
	}
}

func (c *LedgerConfig) auth() esclient.Auth { return esclient.AuthOf(c.Credentials) }

// ledgerKeys names the ledger's settings in esclient's messages.
var ledgerKeys = esclient.Keys{
	User: "ledger::user", Password: "ledger::password", PasswordFile: "ledger::password_file",
	APIKey: "ledger::api_key", APIKeyFile: "ledger::api_key_file",
	BearerToken: "ledger::bearer_token", BearerTokenFile: "ledger::bearer_token_file",
	CAFile: "ledger::tls::ca_file", ServerName: "ledger::tls::server_name_override",
	CertFile: "ledger::tls::cert_file", KeyFile: "ledger::tls::key_file", InsecureSkipTLS: "ledger::tls::insecure_skip_verify",
	Privileges: "the partner_postback exporter's README lists them under Ledger",
}

// validate checks the ledger keys; errors name them under ledger::.
func (c *LedgerConfig) validate() []error {
	var errs []error
	if c.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("ledger::endpoint: not used; list the Elasticsearch URLs under ledger::endpoints"))
	}
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New(`ledger::endpoints: at least one Elasticsearch URL is required, e.g. endpoints: ["http://localhost:9200"] (leave ledger out to keep no ledger)`))
	}
	for i, ep := range c.Endpoints {
		if err := esclient.CheckURL(ep); err != nil {
			errs = append(errs, fmt.Errorf("ledger::endpoints::%d: %w", i, err))
		}
	}
	if err := journeystore.CheckIndexPrefix(c.IndexPrefix); err != nil {
		errs = append(errs, fmt.Errorf("ledger::index_prefix: %w", err))
	}
	errs = append(errs, esclient.CheckAuth(c.auth(), ledgerKeys)...)
	if c.ClientConfig.Timeout <= 0 {
		errs = append(errs, errors.New("ledger::timeout: must be positive (e.g. 30s)"))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("ledger::flush_interval: must be positive (default 1s)"))
	}
	if c.MaxRetries < 0 || c.MaxRetries > 100 {
		errs = append(errs, fmt.Errorf("ledger::max_retries: 0 to 100, not %d", c.MaxRetries))
	}
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("ledger::queue_size: at least 1, not %d", c.QueueSize))
	}
	for name := range c.ClientConfig.Headers.Iter {
		if strings.EqualFold(name, "Authorization") && c.auth() != (esclient.Auth{}) {
			errs = append(errs, errors.New("ledger::headers: an Authorization header and ledger::user, api_key or bearer_token cannot be used together; keep one"))
		}
	}
	return errs
}

// startLedger connects the ledger writer, when one is configured.
func (e *postbackExporter) startLedger(ctx context.Context, host component.Host) error {
	c := e.cfg.Ledger.Get()
	if c == nil {
		return nil
	}
	hc, err := c.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("ledger: building the HTTP client: %w", err)
	}
	es, err := esclient.New(esclient.Options{
		Endpoints:    c.Endpoints,
		Auth:         c.auth(),
		Keys:         ledgerKeys,
		Transport:    ownBody{hc.Transport},
		RetryBackoff: func(attempt int) time.Duration { return time.Duration(attempt) * 100 * time.Millisecond },
	})
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	e.ledgerHTTP = hc
	e.tombstones = journeystore.New(es.Client, journeystore.Layout{Prefix: c.IndexPrefix})
	e.ledger = ledger.New(ledger.Options{
		Client:        es,
		Layout:        journeystore.Layout{Prefix: c.IndexPrefix},
		FlushInterval: c.FlushInterval,
		MaxRetries:    c.MaxRetries,
		QueueSize:     c.QueueSize,
		RetryBackoff:  e.ledgerBackoff,
		Logger:        e.logger,
		Telemetry:     ledgerTelemetry{e.tb},
	})
	return e.ledger.Start()
}

// ownBody gives each request a copy of its body. The bulk indexer reuses
// its buffer as soon as the bulk call returns, but net/http may still be
// reading the body then (it does when the answer, e.g. a 429, arrives
// before the last read of the body): the race detector sees the two. A
// ledger bulk request is small (one document per decision, flushed every
// flush_interval), so the copy is cheap.
type ownBody struct{ next http.RoundTripper }

func (o ownBody) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return o.next.RoundTrip(req)
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	return o.next.RoundTrip(r)
}

// CloseIdleConnections passes on to the transport.
func (o ownBody) CloseIdleConnections() {
	if c, ok := o.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// stopLedger writes the decisions still waiting and closes the ledger's
// connections.
func (e *postbackExporter) stopLedger(ctx context.Context) error {
	if e.ledger == nil {
		return nil
	}
	err := e.ledger.Close(ctx)
	e.ledgerHTTP.CloseIdleConnections()
	return err
}

// tombstoneTimeout bounds the erasure check before a push.
const tombstoneTimeout = 5 * time.Second

// loadTombstones loads the erasure tombstones recorded since the last
// load: one real-time get of the generation marker when there is none
// new. It fails open: an Elasticsearch that does not answer must not hold
// the postbacks (it is logged, and the pipeline's own erasure requests
// still apply); the next push tries again.
func (e *postbackExporter) loadTombstones(ctx context.Context) {
	if e.tombstones == nil {
		return
	}
	e.tombMu.Lock()
	defer e.tombMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, tombstoneTimeout)
	defer cancel()
	ts, gen, err := e.tombstones.TombstonesSince(ctx, e.tombGen, e.now().Add(-erasedTTL))
	if err != nil {
		e.logger.Warn("Erasure tombstones could not be read; postbacks are checked against the pipeline's erasure requests only until they can", zap.Error(err))
		return
	}
	e.erasures.addTombstones(ts)
	e.tombGen = gen
}

// ledgerTelemetry counts the writer's work.
type ledgerTelemetry struct{ tb *metadata.TelemetryBuilder }

func (t ledgerTelemetry) Written(n int) {
	t.tb.ExporterPartnerPostbackLedgerWritten.Add(context.Background(), int64(n))
}

func (t ledgerTelemetry) Retried() {
	t.tb.ExporterPartnerPostbackLedgerRetried.Add(context.Background(), 1)
}

func (t ledgerTelemetry) Dropped(reason string) {
	t.tb.ExporterPartnerPostbackLedgerDropped.Add(context.Background(), 1,
		metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
}

// record writes the decision on pb to the ledger, if there is one.
func (e *postbackExporter) record(pb *postback, decision, reason string, a attemptState) {
	if e.ledger == nil {
		return
	}
	e.ledger.Write(journeystore.Postback{
		ID: pb.key, Decision: decision, Reason: reason,
		HTTPStatus: a.status, Attempts: a.n, DurationMS: a.durationMS,
		DecidedAt: e.now(),
		Site:      pb.p.site, Partner: pb.p.name, Visitor: str(pb.subject, visitorIDKey),
		Outcome: pb.outcome, OutcomeID: pb.outcomeID, Currency: pb.currency, Model: pb.model,
		OutcomeTime: pb.eventTime, Value: pb.value, Credit: pb.credit, Credited: pb.credited,
		EntityIDs: pb.entityIDs(),
	})
}
