package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadata"
	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// startAttemptTimeout bounds the first connection (cluster check and
// template installation) that Start waits for; after that it continues in
// the background.
const startAttemptTimeout = 10 * time.Second

var errTemplateNotInstalled = errors.New("index template not installed yet")

// eventsExporter writes event log records to Elasticsearch.
type eventsExporter struct {
	cfg       *Config
	set       exporter.Settings
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	host      component.Host

	// Set by connect, before templateReady; read by pushes after it.
	httpClient *http.Client
	es         *esclient.Client
	store      *journeystore.Store // templates, erasure and retention, on es
	checked    bool                // the cluster's product and version were checked
	closed     bool                // es was closed by shutdown

	// templateReady is set once the cluster is checked and every template
	// is known to be installed; until then every push is refused with a
	// retryable error so that no index is ever auto-created with a dynamic
	// default mapping.
	templateReady atomic.Bool
	ready         chan struct{} // closed with templateReady
	templateMu    sync.Mutex
	templateErr   error // last connection failure

	// refusals pauses pushes while Elasticsearch refuses the credentials
	// or the TLS handshake fails.
	refusals refusalGate

	// guard knows the erased subjects; see erasures.go.
	guard *erasureGuard
	// partnerReady is set once the partner-facing indices exist (see
	// ensurePartnerIndices).
	partnerReady atomic.Bool
	partnerMu    sync.Mutex

	cancelInstall context.CancelFunc
	installDone   chan struct{}

	cancelRetention context.CancelFunc
	retentionDone   chan struct{}

	// Pacing of the background connection retries and of the trial
	// pushes while refused; tests shorten them.
	retryMin, retryMax time.Duration

	// indexers and buffers outlive the pushes; see pools.go.
	indexers *indexerPool
	buffers  bufferPool

	// beforeSend, when set (tests only), runs after a push read the
	// tombstones and before it writes: an erasure there is one carried
	// out while the push is in flight.
	beforeSend func()
}

func newEventsExporter(cfg *Config, set exporter.Settings) (*eventsExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &eventsExporter{
		cfg:         cfg,
		set:         set,
		logger:      set.Logger,
		telemetry:   tb,
		ready:       make(chan struct{}),
		templateErr: errors.New("not attempted"),
		guard:       newErasureGuard(cfg.Erasure.TombstoneDays),
		retryMin:    time.Second,
		retryMax:    30 * time.Second,
	}
	// One idle indexer per consumer of the sending queue: as many pushes
	// run at once. Pushes run only once connected, so e.es is set.
	consumers := 1
	if q := cfg.QueueConfig.Get(); q != nil {
		consumers = q.NumConsumers
	}
	e.indexers = newIndexerPool(consumers, func() *esclient.Client { return e.es })
	return e, nil
}

// layout names the indices the exporter writes.
func (e *eventsExporter) layout() journeystore.Layout {
	return journeystore.Layout{Prefix: e.cfg.IndexPrefix, DeadLetterIndex: e.cfg.DeadLetter.Index}
}

// logRetention says at start how long what is kept, by the keys that set
// it: events stamped with webjourney.retention.max_months (the consent
// processor's CNIL exemption) are never kept longer than their stamp, by
// routing, whatever retention::events_months says; the log makes that
// visible next to a longer or unlimited events_months.
func (e *eventsExporter) logRetention() {
	r := e.cfg.Retention
	e.logger.Info("Retention (months or days; 0 keeps for ever); events stamped with "+eventmodel.AttrRetentionMonths+
		" go to indices of their own and are deleted when their stamp expires, whatever retention::events_months says",
		zap.Int("retention::events_months", r.EventsMonths), zap.Int("retention::visits_months", r.VisitsMonths),
		zap.Int("retention::visitors_months", r.VisitorsMonths), zap.Int("retention::credits_months", r.CreditsMonths),
		zap.String("stamped_events_indices", e.cfg.IndexPrefix+"-events-max<M>m-YYYY.MM"),
		zap.Int("dead_letter::retention_days", e.cfg.DeadLetter.RetentionDays),
		zap.Int("erasure::tombstone_days", e.cfg.Erasure.TombstoneDays))
}

// start checks the local configuration (TLS and secret files), then makes
// a first connection attempt: cluster check and template installation.
// It fails on local problems and when the cluster is not an Elasticsearch
// it supports; an unreachable or refusing Elasticsearch must not stop the
// collector, so connecting then goes on in the background while pushes
// are refused with a retryable error and events wait in the queue.
func (e *eventsExporter) start(ctx context.Context, host component.Host) error {
	e.host = host
	if e.cfg.ClientConfig.TLS.InsecureSkipVerify {
		e.logger.Warn("tls::insecure_skip_verify is set: the Elasticsearch server's certificate is not verified, "+
			"so anyone on the network path can read the events and the credentials; set tls::ca_file or ca_trusted_fingerprint instead",
			zap.Strings("endpoints", e.cfg.Endpoints))
	}
	// The client is built now unless the CA must first be fetched by its
	// fingerprint; then this checks the local files of the configuration.
	if _, err := e.newClient(ctx, nil); err != nil {
		return fmt.Errorf("elasticsearch_journey: %w", err)
	}

	// Always: stamped events, dead letters and erasure tombstones expire
	// whatever the families' retention says.
	rctx, rcancel := context.WithCancel(context.Background())
	e.cancelRetention, e.retentionDone = rcancel, make(chan struct{})
	go e.retentionLoop(rctx)
	e.logRetention()

	attemptCtx, cancel := context.WithTimeout(ctx, min(startAttemptTimeout, e.cfg.ClientConfig.Timeout))
	err := e.connect(attemptCtx)
	cancel()
	if err == nil {
		return nil
	}
	if permanent(err) {
		return fmt.Errorf("elasticsearch_journey: %w", err)
	}
	e.reportConnectFailure(err, nil)

	bgCtx, bgCancel := context.WithCancel(context.Background())
	e.cancelInstall = bgCancel
	e.installDone = make(chan struct{})
	go e.installLoop(bgCtx)
	return nil
}

// permanent reports whether a connection failure will not go away by
// waiting: what answers is not an Elasticsearch this exporter supports.
func permanent(err error) bool {
	var ee *esclient.Error
	return errors.As(err, &ee) && (ee.Cause == esclient.CauseNotElasticsearch || ee.Cause == esclient.CauseUnsupportedVersion)
}

// newClient builds the HTTP and Elasticsearch clients. caPEM is the CA
// fetched by its fingerprint; without it, when a fingerprint is
// configured, only the local files are checked and nil is returned.
func (e *eventsExporter) newClient(ctx context.Context, caPEM []byte) (*esclient.Client, error) {
	cc := e.cfg.ClientConfig
	pinned := e.cfg.CATrustedFingerprint != ""
	if caPEM != nil {
		cc.TLS.CAPem = configopaque.String(caPEM)
	}
	hc, err := cc.ToClient(ctx, e.host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("building the HTTP client: %w", err)
	}
	c, err := esclient.New(esclient.Options{
		Endpoints: e.cfg.Endpoints,
		Auth:      e.cfg.auth(),
		Keys:      settingKeys,
		// TLS, headers, auth extensions and compression of confighttp.
		Transport: hc.Transport,
		// The client's own retries (network errors, 502/503/504) are what
		// fails over to the next endpoint; exporterhelper's retry does the
		// long backoff.
		RetryBackoff: func(attempt int) time.Duration { return time.Duration(attempt) * 100 * time.Millisecond },
		OnAttempt:    e.countAttempt,
	})
	if err != nil {
		return nil, err
	}
	if pinned && caPEM == nil {
		_ = c.Close(ctx)
		return nil, nil
	}
	e.httpClient, e.es = hc, c
	e.store = journeystore.New(c.Client, e.layout())
	return c, nil
}

// connect makes one attempt to get ready for pushes: the client (with a
// CA fingerprint, after fetching the CA from the cluster), then once the
// cluster's product and version, then the templates.
func (e *eventsExporter) connect(ctx context.Context) error {
	ctx, rec := esclient.WithRecorder(ctx)
	if e.es == nil {
		if err := e.pinCA(ctx); err != nil {
			return e.connectFailed(err)
		}
	}
	if !e.checked {
		cl, err := e.es.Probe(ctx)
		if err != nil {
			return e.connectFailed(err)
		}
		warning, err := cl.Check()
		if err != nil {
			return e.connectFailed(err)
		}
		e.checked = true
		if warning != "" {
			e.logger.Warn(warning)
		} else {
			e.logger.Info("Connected to Elasticsearch", zap.String("endpoint", cl.Endpoint), zap.String("version", cl.Version))
		}
	}
	if err := e.installTemplates(ctx); err != nil {
		if refusal := rec.Refusal(); refusal != nil {
			// The template calls name the template; the refusal names the
			// node, the cause and what to do.
			err = fmt.Errorf("installing the index templates: %w", refusal)
		}
		return e.connectFailed(err)
	}
	e.templateReady.Store(true)
	close(e.ready)
	return nil
}

// pinCA fetches the CA of ca_trusted_fingerprint from the endpoints and
// builds the client that trusts it.
func (e *eventsExporter) pinCA(ctx context.Context) error {
	fp, err := esclient.ParseFingerprint(e.cfg.CATrustedFingerprint)
	if err != nil {
		return err // Validate checked it
	}
	base, err := e.cfg.ClientConfig.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return err
	}
	ca, err := esclient.FetchCA(ctx, e.cfg.Endpoints, fp, base)
	if err != nil {
		return err
	}
	_, err = e.newClient(ctx, esclient.CertPEM(ca))
	return err
}

// connectFailed records err as the reason pushes are refused.
func (e *eventsExporter) connectFailed(err error) error {
	e.templateMu.Lock()
	e.templateErr = err
	e.templateMu.Unlock()
	return err
}

// reportConnectFailure logs a failed connection attempt and reports the
// component status: an operator error (credentials, privileges, TLS, the
// wrong server) as an error naming what to fix, an unreachable cluster as
// a warning. prev is the previous attempt's error: an unchanged operator
// error is not logged again.
func (e *eventsExporter) reportConnectFailure(err, prev error) {
	fields := []zap.Field{
		zap.Strings("templates", e.layout().TemplateNames()),
		zap.Strings("endpoints", e.cfg.Endpoints),
		zap.Error(err),
	}
	switch {
	case permanent(err):
		componentstatus.ReportStatus(e.host, componentstatus.NewPermanentErrorEvent(err))
		e.logger.Error("Elasticsearch is not supported: exports stay refused (events wait in the queue) until the endpoints point at Elasticsearch 8.x or 9.x and the collector restarts", fields...)
	case esclient.IsOperatorError(err):
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
		if prev == nil || prev.Error() != err.Error() {
			e.logger.Error("Elasticsearch refuses the exporter; retrying in the background. Events are kept in the sending queue and stored once it is fixed.", fields...)
		}
	case prev == nil:
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
		e.logger.Warn("Elasticsearch index templates not installed yet; retrying in the background. "+
			"Events are kept in the sending queue and retried until they are installed.", fields...)
	default:
		e.logger.Warn("Elasticsearch index templates still not installed; retrying", fields...)
	}
}

// installLoop retries connecting with exponential backoff until it
// succeeds, the cluster turns out unsupported, or the exporter shuts down.
func (e *eventsExporter) installLoop(ctx context.Context) {
	defer close(e.installDone)
	delay := e.retryMin
	prev := e.lastTemplateError()
	for {
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		attemptCtx, cancel := context.WithTimeout(ctx, e.cfg.ClientConfig.Timeout)
		err := e.connect(attemptCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
			e.logger.Info("Connected to Elasticsearch; exports proceed", zap.Strings("endpoints", e.cfg.Endpoints))
			return
		}
		e.reportConnectFailure(err, prev)
		if permanent(err) {
			return
		}
		prev = err
		delay = min(2*delay, e.retryMax)
	}
}

// installTemplates makes one installation attempt of every template and
// logs its outcome. Pushes start only once all are in place, so that no
// index is ever auto-created with a dynamic default mapping.
func (e *eventsExporter) installTemplates(ctx context.Context) error {
	results, err := e.store.InstallTemplates(ctx, false)
	for _, t := range results {
		switch t.Outcome {
		case journeystore.TemplateInstalled:
			e.logger.Info("Installed Elasticsearch index template",
				zap.String("template", t.Name), zap.Int64("version", journeystore.TemplateVersion), zap.Int64("replaced_version", t.Previous))
		case journeystore.TemplateUpToDate:
			e.logger.Debug("Elasticsearch index template is up to date",
				zap.String("template", t.Name), zap.Int64("version", t.Previous))
		case journeystore.TemplateLeftNewer:
			e.logger.Warn("A newer Elasticsearch index template is installed (from a newer webjourney?); leaving it in place",
				zap.String("template", t.Name), zap.Int64("installed_version", t.Previous), zap.Int64("our_version", journeystore.TemplateVersion))
		}
	}
	return err
}

// ensurePartnerIndices creates the partner-facing indices the first time a
// push has a copy for them (a deployment without referral partners never
// gets them); a failure is tried again by the next push.
func (e *eventsExporter) ensurePartnerIndices(ctx context.Context) error {
	if e.partnerReady.Load() {
		return nil
	}
	e.partnerMu.Lock()
	defer e.partnerMu.Unlock()
	if e.partnerReady.Load() {
		return nil
	}
	if err := e.store.EnsurePartnerIndices(ctx); err != nil {
		return fmt.Errorf("creating the partner-facing indices: %w", err)
	}
	e.partnerReady.Store(true)
	return nil
}

func (e *eventsExporter) lastTemplateError() error {
	e.templateMu.Lock()
	defer e.templateMu.Unlock()
	return e.templateErr
}

// shutdown stops the background connection and the client. It is safe
// without start. exporterhelper calls it after the queue has drained.
func (e *eventsExporter) shutdown(ctx context.Context) error {
	if e.cancelInstall != nil {
		e.cancelInstall()
		<-e.installDone
	}
	if e.cancelRetention != nil {
		e.cancelRetention()
		<-e.retentionDone
	}
	e.indexers.close()
	var err error
	if e.es != nil && !e.closed {
		// Stops the connection pool's timers that bring dead nodes back.
		// Later requests fail with a (retryable) "client closed" error.
		e.closed = true
		if cerr := e.es.Close(ctx); cerr != nil {
			err = fmt.Errorf("closing the Elasticsearch client: %w", cerr)
		}
	}
	if e.httpClient != nil {
		// Reaches the pooled connections only if every transport wrapper
		// passes it on (confighttp's do not); otherwise idle connections
		// close after idle_conn_timeout.
		e.httpClient.CloseIdleConnections()
	}
	if e.telemetry != nil {
		e.telemetry.Shutdown()
	}
	return err
}
