package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/webjourney/webjourney/internal/esclient"
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

	// Credentials: user with password (or password_file), api_key (or
	// api_key_file), or bearer_token (or bearer_token_file).
	esclient.Credentials `mapstructure:",squash"`

	// CATrustedFingerprint pins the cluster's CA by its SHA-256
	// fingerprint, as Beats' ssl.ca_trusted_fingerprint: the CA
	// certificate with that fingerprint in the chain the server presents
	// is trusted, and the connection is then verified in full. Instead of
	// tls::ca_file.
	CATrustedFingerprint string `mapstructure:"ca_trusted_fingerprint"`

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

	// Erasure keeps erasures exact while documents of an erased subject are
	// still queued or in flight.
	Erasure ErasureConfig `mapstructure:"erasure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RetentionConfig is how long events and journey entities are kept. For
// every family 0 keeps its documents for ever.
type RetentionConfig struct {
	// EventsMonths deletes the index of a month once that month ended more
	// than this many months ago. Events stamped with
	// webjourney.retention.max_months (the consent processor's CNIL
	// exemption) are kept in indices of their own and never longer than
	// their stamp, whatever this says.
	EventsMonths int `mapstructure:"events_months"`
	// VisitsMonths deletes a visit whose last activity is older.
	VisitsMonths int `mapstructure:"visits_months"`
	// VisitorsMonths deletes a visitor last seen longer ago.
	VisitorsMonths int `mapstructure:"visitors_months"`
	// CreditsMonths deletes an attribution credit whose outcome is older.
	CreditsMonths int `mapstructure:"credits_months"`
	// CheckInterval is how often expired data is looked for (also stamped
	// events, dead letters and erasure tombstones).
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

// retention is the retention of each family, as the store applies it.
func (cfg *Config) retention() journeystore.Retention {
	r := cfg.Retention
	return journeystore.Retention{
		EventsMonths:   r.EventsMonths,
		VisitsMonths:   r.VisitsMonths,
		VisitorsMonths: r.VisitorsMonths,
		CreditsMonths:  r.CreditsMonths,
		DeadLetterDays: cfg.DeadLetter.RetentionDays,
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
	// RetentionDays deletes a dead letter this many days after it was
	// written (the retention check does, with the other families); 0 keeps
	// them for ever. Dead letters hold whole documents, personal data
	// included: review them within this time.
	RetentionDays int `mapstructure:"retention_days"`
}

// ErasureConfig says how long erasures are remembered.
type ErasureConfig struct {
	// TombstoneDays is how long an erasure's tombstones are kept: until
	// then every document of the erased subject that reaches the exporter
	// (queued before the erasure, sent again by a collector that was down)
	// is dropped. Longer than any time a record can wait in a sending
	// queue; the default matches the 13 months a first-party visitor
	// cookie may live, so a visitor id cannot come back while its
	// tombstone is gone.
	TombstoneDays int `mapstructure:"tombstone_days"`
}

// maxTombstoneDays bounds erasure::tombstone_days (ten years).
const maxTombstoneDays = 3650

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
	// The check runs whatever is configured: stamped events, dead letters
	// and tombstones expire on their own.
	if cfg.Retention.CheckInterval < time.Minute {
		retentionErrs = append(retentionErrs, fmt.Errorf("retention::check_interval: must be at least 1m, not %s", cfg.Retention.CheckInterval))
	}
	if err := journeystore.CheckRetentionDays(cfg.DeadLetter.RetentionDays); err != nil {
		retentionErrs = append(retentionErrs, fmt.Errorf("dead_letter::retention_days: %w", err))
	}
	if d := cfg.Erasure.TombstoneDays; d < 1 || d > maxTombstoneDays {
		retentionErrs = append(retentionErrs, fmt.Errorf("erasure::tombstone_days: must be 1 to %d, not %d (longer than a record can wait in the sending queue)", maxTombstoneDays, d))
	}
	var errs []error
	if cfg.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("endpoint: not used by this exporter; list the Elasticsearch URLs under endpoints, e.g. endpoints: [\"http://localhost:9200\"]"))
	}
	if len(cfg.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: at least one Elasticsearch URL is required, e.g. endpoints: [\"http://localhost:9200\"]"))
	}
	for i, ep := range cfg.Endpoints {
		if err := esclient.CheckURL(ep); err != nil {
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
	errs = append(errs, cfg.validateAuth()...)
	errs = append(errs, cfg.validateTLS()...)
	return errors.Join(append(errs, retentionErrs...)...)
}

// validateAuth checks that at most one way to authenticate is configured,
// each secret once (value or file), and that it does not compete with the
// HTTP client's own auth extension or an Authorization header.
func (cfg *Config) validateAuth() []error {
	a := cfg.auth()
	errs := esclient.CheckAuth(a, settingKeys)
	if a.Password.IsSet() || a.APIKey.IsSet() || a.BearerToken.IsSet() || a.User != "" {
		if cfg.ClientConfig.Auth.HasValue() {
			errs = append(errs, errors.New("auth: an authenticator extension and the exporter's own credentials (user, api_key, bearer_token) cannot be used together; keep one"))
		}
		for name := range cfg.ClientConfig.Headers.Iter {
			if strings.EqualFold(name, "Authorization") {
				errs = append(errs, errors.New("headers: an Authorization header and the exporter's own credentials (user, api_key, bearer_token) cannot be used together; keep one"))
			}
		}
	}
	return errs
}

// validateTLS checks the CA fingerprint and what it cannot be combined
// with.
func (cfg *Config) validateTLS() []error {
	if cfg.CATrustedFingerprint == "" {
		return nil
	}
	var errs []error
	if _, err := esclient.ParseFingerprint(cfg.CATrustedFingerprint); err != nil {
		errs = append(errs, fmt.Errorf("ca_trusted_fingerprint: %w", err))
	}
	tls := cfg.ClientConfig.TLS
	if tls.CAFile != "" || tls.CAPem != "" {
		errs = append(errs, errors.New("ca_trusted_fingerprint: set either it or tls::ca_file (tls::ca_pem), not both"))
	}
	if tls.InsecureSkipVerify {
		errs = append(errs, errors.New("ca_trusted_fingerprint: pins the CA, which tls::insecure_skip_verify turns off; remove insecure_skip_verify"))
	}
	for i, ep := range cfg.Endpoints {
		if strings.HasPrefix(ep, "http://") {
			errs = append(errs, fmt.Errorf("endpoints::%d: %q is plain http, which ca_trusted_fingerprint cannot protect; use https://", i, ep))
		}
	}
	return errs
}

// auth returns the credentials for esclient.
func (cfg *Config) auth() esclient.Auth { return esclient.AuthOf(cfg.Credentials) }

// settingKeys names this exporter's settings in esclient's messages.
var settingKeys = esclient.Keys{
	User: "user", Password: "password", PasswordFile: "password_file",
	APIKey: "api_key", APIKeyFile: "api_key_file",
	BearerToken: "bearer_token", BearerTokenFile: "bearer_token_file",
	CAFile: "tls::ca_file", CAFingerprint: "ca_trusted_fingerprint", ServerName: "tls::server_name_override",
	CertFile: "tls::cert_file", KeyFile: "tls::key_file", InsecureSkipTLS: "tls::insecure_skip_verify",
	Privileges: "the elasticsearch_journey exporter's README lists them under Privileges",
}
