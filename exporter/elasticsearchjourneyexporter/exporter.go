package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadata"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// startAttemptTimeout bounds the template installation that Start waits
// for; after that it continues in the background.
const startAttemptTimeout = 10 * time.Second

var errTemplateNotInstalled = errors.New("index template not installed yet")

// eventsExporter writes event log records to Elasticsearch.
type eventsExporter struct {
	cfg       *Config
	set       exporter.Settings
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder

	httpClient *http.Client
	es         *elasticsearch.Client
	store      *journeystore.Store // templates, erasure and retention, on es
	closed     bool                // es was closed by shutdown

	// templateReady is set once the events template is known to be
	// installed; until then every push is refused with a retryable error so
	// that no index is ever auto-created with a dynamic default mapping.
	templateReady atomic.Bool
	templateMu    sync.Mutex
	templateErr   error // last installation failure

	cancelInstall context.CancelFunc
	installDone   chan struct{}

	cancelRetention context.CancelFunc
	retentionDone   chan struct{}

	// Pacing of the background installation retries; tests shorten them.
	retryMin, retryMax time.Duration
}

func newEventsExporter(cfg *Config, set exporter.Settings) (*eventsExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &eventsExporter{
		cfg:         cfg,
		set:         set,
		logger:      set.Logger,
		telemetry:   tb,
		templateErr: errors.New("not attempted"),
		retryMin:    time.Second,
		retryMax:    30 * time.Second,
	}, nil
}

// layout names the indices the exporter writes.
func (e *eventsExporter) layout() journeystore.Layout {
	return journeystore.Layout{Prefix: e.cfg.IndexPrefix, DeadLetterIndex: e.cfg.DeadLetter.Index}
}

// start builds the client and installs the index template. It fails only on
// local configuration problems (e.g. an unreadable TLS file): an unreachable
// Elasticsearch must not stop the collector, so installation then goes on
// in the background while pushes are refused with a retryable error and
// events wait in the queue.
func (e *eventsExporter) start(ctx context.Context, host component.Host) error {
	hc, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("elasticsearch_journey: building the HTTP client: %w", err)
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: e.cfg.Endpoints,
		Username:  e.cfg.User,
		Password:  string(e.cfg.Password),
		APIKey:    string(e.cfg.APIKey),
		// TLS, headers, auth extensions and compression of confighttp.
		Transport: hc.Transport,
		// The client's own retries (network errors, 502/503/504) are what
		// fails over to the next endpoint; exporterhelper's retry does the
		// long backoff.
		RetryBackoff: func(attempt int) time.Duration { return time.Duration(attempt) * 100 * time.Millisecond },
	})
	if err != nil {
		return fmt.Errorf("elasticsearch_journey: creating the Elasticsearch client: %w", err)
	}
	e.httpClient, e.es = hc, es
	e.store = journeystore.New(es, e.layout())

	if e.cfg.Retention.months().Enabled() {
		rctx, rcancel := context.WithCancel(context.Background())
		e.cancelRetention, e.retentionDone = rcancel, make(chan struct{})
		go e.retentionLoop(rctx)
	}

	attemptCtx, cancel := context.WithTimeout(ctx, min(startAttemptTimeout, e.cfg.ClientConfig.Timeout))
	err = e.installTemplates(attemptCtx)
	cancel()
	if err == nil {
		return nil
	}
	e.logger.Warn("Elasticsearch index templates not installed yet; retrying in the background. "+
		"Events are kept in the sending queue and retried until they are installed.",
		zap.Strings("templates", e.layout().TemplateNames()),
		zap.Strings("endpoints", e.cfg.Endpoints),
		zap.Error(err))

	bgCtx, bgCancel := context.WithCancel(context.Background())
	e.cancelInstall = bgCancel
	e.installDone = make(chan struct{})
	go e.installLoop(bgCtx)
	return nil
}

// installLoop retries the template installation with exponential backoff
// until it succeeds or the exporter shuts down.
func (e *eventsExporter) installLoop(ctx context.Context) {
	defer close(e.installDone)
	delay := e.retryMin
	for {
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		attemptCtx, cancel := context.WithTimeout(ctx, e.cfg.ClientConfig.Timeout)
		err := e.installTemplates(attemptCtx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		e.logger.Warn("Elasticsearch index templates still not installed; retrying",
			zap.Strings("templates", e.layout().TemplateNames()),
			zap.Duration("next_attempt_in", min(2*delay, e.retryMax)),
			zap.Error(err))
		delay = min(2*delay, e.retryMax)
	}
}

// installTemplates makes one installation attempt of every template and
// records its outcome. Pushes start only once all are in place, so that
// no index is ever auto-created with a dynamic default mapping.
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
	if err != nil {
		e.templateMu.Lock()
		e.templateErr = err
		e.templateMu.Unlock()
		return err
	}
	e.templateReady.Store(true)
	return nil
}

func (e *eventsExporter) lastTemplateError() error {
	e.templateMu.Lock()
	defer e.templateMu.Unlock()
	return e.templateErr
}

// shutdown stops the background installation and the client. It is safe
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
