package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/webjourney/webjourney/internal/journeystore"
)

// Config defines the configuration of the elasticsearch_journey exporter.
type Config struct {
	// Endpoints lists the Elasticsearch nodes (http or https URLs). Requests
	// are spread round-robin; one that fails on the network is retried on
	// another node.
	Endpoints []string `mapstructure:"endpoints"`

	// IndexPrefix starts every index and index-template name the exporter
	// owns: events go to "<index_prefix>-events-YYYY.MM".
	IndexPrefix string `mapstructure:"index_prefix"`

	// User and Password authenticate with HTTP basic authentication.
	User     string              `mapstructure:"user"`
	Password configopaque.String `mapstructure:"password"`
	// APIKey is an Elasticsearch API key, the base64 "id:api_key" form that
	// Elasticsearch returns as "encoded".
	APIKey configopaque.String `mapstructure:"api_key"`

	// ClientConfig is the HTTP client (tls, headers, auth extension,
	// compression, proxy, timeout, ...). It is squashed like in the otlphttp
	// exporter so the usual keys sit at the top level. Its `timeout` bounds
	// one export attempt (one bulk call); its `endpoint` key is not used:
	// this exporter takes a list under `endpoints`.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`

	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// Retention deletes monthly event indices once every event in them is
	// older than the configured number of months, and expired entity
	// documents by date.
	Retention RetentionConfig `mapstructure:"retention"`

	// DeadLetter keeps documents that Elasticsearch refused for good.
	DeadLetter DeadLetterConfig `mapstructure:"dead_letter"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RetentionConfig is how long events and journey entities are kept. For
// every family 0 keeps its documents for ever.
type RetentionConfig struct {
	// EventsMonths deletes the index of a month once that month ended more
	// than this many months ago. The CNIL exemption allows at most 25.
	EventsMonths int `mapstructure:"events_months"`
	// VisitsMonths deletes a visit whose last activity is older.
	VisitsMonths int `mapstructure:"visits_months"`
	// VisitorsMonths deletes a visitor last seen longer ago.
	VisitorsMonths int `mapstructure:"visitors_months"`
	// CreditsMonths deletes an attribution credit whose outcome is older.
	CreditsMonths int `mapstructure:"credits_months"`
	// CheckInterval is how often expired data is looked for.
	CheckInterval time.Duration `mapstructure:"check_interval"`
}

// families returns the retention of each family by its key, in a fixed
// order.
func (r RetentionConfig) families() []struct {
	key    string
	months int
} {
	return []struct {
		key    string
		months int
	}{
		{"events_months", r.EventsMonths},
		{"visits_months", r.VisitsMonths},
		{"visitors_months", r.VisitorsMonths},
		{"credits_months", r.CreditsMonths},
	}
}

// months is the retention of each family, as the store applies it.
func (r RetentionConfig) months() journeystore.Retention {
	return journeystore.Retention{
		EventsMonths:   r.EventsMonths,
		VisitsMonths:   r.VisitsMonths,
		VisitorsMonths: r.VisitorsMonths,
		CreditsMonths:  r.CreditsMonths,
	}
}

// DeadLetterConfig names the index for refused documents.
type DeadLetterConfig struct {
	// Index receives, for every document Elasticsearch refused for good
	// (mapping errors, illegal values) and every record without a usable
	// id, a document saying where it was going and why it was refused,
	// with the original document as an unindexed string. Empty turns
	// dead-lettering off: such records are counted, logged and dropped.
	Index string `mapstructure:"index"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the exporter-specific keys; xconfmap.Validate checks the
// embedded HTTP client, queue and retry sections itself.
func (cfg *Config) Validate() error {
	var retentionErrs []error
	for _, f := range cfg.Retention.families() {
		if err := journeystore.CheckRetentionMonths(f.months); err != nil {
			retentionErrs = append(retentionErrs, fmt.Errorf("retention::%s: %w", f.key, err))
		}
	}
	if cfg.Retention.months().Enabled() && cfg.Retention.CheckInterval < time.Minute {
		retentionErrs = append(retentionErrs, fmt.Errorf("retention::check_interval: must be at least 1m, not %s", cfg.Retention.CheckInterval))
	}
	var errs []error
	if cfg.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("endpoint: not used by this exporter; list the Elasticsearch URLs under endpoints, e.g. endpoints: [\"http://localhost:9200\"]"))
	}
	if len(cfg.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: at least one Elasticsearch URL is required, e.g. endpoints: [\"http://localhost:9200\"]"))
	}
	for i, ep := range cfg.Endpoints {
		if err := journeystore.CheckURL(ep); err != nil {
			errs = append(errs, fmt.Errorf("endpoints::%d: %w", i, err))
		}
	}
	if err := journeystore.CheckIndexPrefix(cfg.IndexPrefix); err != nil {
		errs = append(errs, fmt.Errorf("index_prefix: %w", err))
	}
	if err := journeystore.CheckDeadLetterIndex(cfg.DeadLetter.Index, cfg.IndexPrefix); err != nil {
		errs = append(errs, fmt.Errorf("dead_letter::index: %w", err))
	}
	if cfg.ClientConfig.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be positive (e.g. 30s); it bounds one bulk request so a stalled Elasticsearch cannot block the queue"))
	}
	switch cfg.ClientConfig.Compression {
	case "", "none", configcompression.TypeGzip, configcompression.TypeDeflate:
	default:
		// Every bulk request would fail with 400 and be retried in vain.
		errs = append(errs, fmt.Errorf("compression: Elasticsearch accepts gzip or deflate request bodies, not %q; use gzip, deflate or none", cfg.ClientConfig.Compression))
	}
	if cfg.APIKey != "" && cfg.User != "" {
		errs = append(errs, errors.New("api_key: set either api_key or user/password, not both"))
	}
	if cfg.Password != "" && cfg.User == "" {
		errs = append(errs, errors.New("password: set user as well"))
	}
	return errors.Join(append(errs, retentionErrs...)...)
}
