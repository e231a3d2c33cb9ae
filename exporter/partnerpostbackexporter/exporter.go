package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/consentgate"
	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/ledger"
	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/macro"
	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadata"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/internal/sealed"
)

// waiter is the part of *rate.Limiter the exporter uses; tests count calls.
type waiter interface {
	Wait(ctx context.Context) error
}

// partner is one configured postback, ready to send.
type partner struct {
	site, name string
	cfg        *PartnerConfig
	*templates
	outcomes  map[string]bool
	consent   consentgate.Rules
	needClick bool
	secret    []byte
	limiter   waiter
	client    *http.Client
	attrs     metric.MeasurementOption // partner=<name>
}

type postbackExporter struct {
	cfg      *Config
	set      exporter.Settings
	logger   *zap.Logger
	tb       *metadata.TelemetryBuilder
	partners map[[2]string]*partner // {site, partner}
	opener   *sealed.Sealer         // nil without click_id keys
	erasures *erasures
	tries    *attempts
	ledger   *ledger.Writer // nil without a ledger
	// ledgerHTTP carries the ledger's requests; its idle connections are
	// closed at shutdown (closing the Elasticsearch client does not).
	ledgerHTTP *http.Client
	// tombstones reads the erasure tombstones next to the ledger
	// (erasure.go); nil without a ledger. tombGen is the generation loaded.
	tombstones *journeystore.Store
	tombMu     sync.Mutex
	tombGen    int64
	now        func() time.Time
	// ledgerBackoff is the wait before a failed ledger write is retried
	// (doubling); tests shorten it.
	ledgerBackoff time.Duration
}

func newPostbackExporter(cfg *Config, set exporter.Settings) (*postbackExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &postbackExporter{cfg: cfg, set: set, logger: set.Logger, tb: tb, partners: map[[2]string]*partner{}, erasures: newErasures(),
		tries: newAttempts(), now: time.Now, ledgerBackoff: time.Second}
	for site, ps := range cfg.Sites {
		for name, pc := range ps {
			t, err := compile("sites::"+site+"::"+name, pc)
			if err != nil {
				return nil, err
			}
			p := &partner{
				site: site, name: name, cfg: pc, templates: t,
				outcomes:  map[string]bool{},
				consent:   pc.Consent.rules(),
				needClick: t.uses(macro.ClickID),
				attrs:     metric.WithAttributeSet(attribute.NewSet(attribute.String("partner", name))),
			}
			for _, o := range pc.Outcomes {
				p.outcomes[o] = true
			}
			p.limiter = newLimiter(pc.RateLimit)
			e.partners[[2]string{site, name}] = p
		}
	}
	return e, nil
}

func newLimiter(c RateLimitConfig) *rate.Limiter {
	rps := c.RequestsPerSecond
	if rps == 0 {
		rps = defaultRequestsPerSecond
	}
	burst := c.Burst
	if burst == 0 {
		burst = max(1, int(math.Ceil(rps)))
	}
	return rate.NewLimiter(rate.Limit(rps), burst)
}

// start reads the secrets and builds each partner's HTTP client.
func (e *postbackExporter) start(ctx context.Context, host component.Host) error {
	if err := e.loadClickIDKeys(); err != nil {
		return err
	}
	if err := e.startLedger(ctx, host); err != nil {
		return err
	}
	for _, p := range e.partners {
		key := "sites::" + p.site + "::" + p.name
		secret, err := readSecret(key+"::secret_env", key+"::secret_file", p.cfg.SecretEnv, p.cfg.SecretFile)
		if err != nil {
			return err
		}
		p.secret = []byte(secret)
		client, err := p.cfg.Client.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
		if err != nil {
			return fmt.Errorf("%s::client: %w", key, err)
		}
		// A signed postback goes where the template says and nowhere else:
		// a redirect is an answer (3xx, permanent), not a second request.
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		p.client = client
	}
	return nil
}

func (e *postbackExporter) shutdown(ctx context.Context) error {
	for _, p := range e.partners {
		if p.client != nil {
			p.client.CloseIdleConnections()
		}
	}
	// The queue has drained into the pushes by now: write the last
	// decisions.
	err := e.stopLedger(ctx)
	e.tb.Shutdown()
	return err
}

// readSecret reads a secret from an environment variable or a file; the
// error names the key and never the value.
func readSecret(envKey, fileKey, env, file string) (string, error) {
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", envKey, env)
		}
		return strings.TrimSpace(v), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileKey, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", fileKey, file)
	}
	return s, nil
}

// loadClickIDKeys reads the keys that open sealed click ids.
func (e *postbackExporter) loadClickIDKeys() error {
	ids := sortedKeys(e.cfg.ClickID.Keys)
	if len(ids) == 0 {
		return nil
	}
	keys := make(map[string][]byte, len(ids))
	for _, id := range ids {
		k := e.cfg.ClickID.Keys[id]
		key := "click_id::keys::" + id
		text, err := readSecret(key+"::env", key+"::file", k.Env, k.File)
		if err != nil {
			return err
		}
		if keys[id], err = sealed.ParseKey(text); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	s, err := sealed.New(ids[0], keys) // opens only; which key would seal does not matter
	if err != nil {
		return fmt.Errorf("click_id::keys: %w", err)
	}
	e.opener = s
	return nil
}
