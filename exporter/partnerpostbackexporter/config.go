package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"golang.org/x/net/http/httpguts"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/consentgate"
	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/macro"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/sealed"
)

// Config defines the configuration of the partner_postback exporter.
type Config struct {
	// Sites maps a site id to its partners' postbacks: site id -> partner
	// name (as the receiver's referral partners are named) -> postback.
	Sites map[string]map[string]*PartnerConfig `mapstructure:"sites"`

	// ClickID holds the keys that open the partner click ids the
	// anonymizer sealed: its click_id keys, from the same files or
	// environment variables.
	ClickID ClickIDConfig `mapstructure:"click_id"`

	// Ledger, when set, records every decision (sent, skipped, failed,
	// expired) in Elasticsearch, one document per outcome and partner.
	Ledger configoptional.Optional[LedgerConfig] `mapstructure:"ledger"`

	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ClickIDConfig lists the keys that open sealed click ids.
type ClickIDConfig struct {
	// Keys by key id (32 bytes, 64 hex digits or base64); every key that
	// may have sealed a click id still queued or held by the attribution
	// processor stays listed.
	Keys map[string]KeySource `mapstructure:"keys"`
}

// KeySource says where a key comes from: an environment variable or a
// file, never the configuration itself.
type KeySource struct {
	Env  string `mapstructure:"env"`
	File string `mapstructure:"file"`
}

// Body formats.
const (
	BodyJSON = "json"
	BodyForm = "form"
)

// PartnerConfig is one partner's postback on one site.
type PartnerConfig struct {
	// URL is the postback URL template; macros may stand in the path and
	// the query (see README, "Macros").
	URL string `mapstructure:"url"`
	// Method is GET (default) or POST.
	Method string `mapstructure:"method"`
	// Body is the request body template (POST only), in BodyFormat.
	Body string `mapstructure:"body"`
	// BodyFormat is "json" (a JSON document whose string values may hold
	// macros) or "form" (application/x-www-form-urlencoded).
	BodyFormat string `mapstructure:"body_format"`
	// Headers are extra request headers; values are templates.
	Headers map[string]string `mapstructure:"headers"`
	// Outcomes lists the outcome names reported to this partner. Required:
	// every postback is a disclosure, so none is implied.
	Outcomes []string `mapstructure:"outcomes"`
	// Model is the attribution model whose credit is reported; default
	// last_touch.
	Model string `mapstructure:"model"`
	// MinCredit is the smallest credit share (0 to 1) reported.
	MinCredit float64 `mapstructure:"min_credit"`
	// SecretEnv or SecretFile names where the HMAC signing secret is read
	// from at start-up; exactly one is required.
	SecretEnv  string `mapstructure:"secret_env"`
	SecretFile string `mapstructure:"secret_file"`
	// Consent is what the converting visitor's consent must allow.
	Consent ConsentConfig `mapstructure:"consent"`
	// RateLimit bounds the requests per second to this partner.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`
	// Client holds TLS, timeout, proxy and the other HTTP client settings;
	// its endpoint is not used (url is).
	Client confighttp.ClientConfig `mapstructure:"client"`
}

// ConsentConfig is what a postback to the partner needs besides the
// visitor's marketing consent (see README, "Consent").
type ConsentConfig struct {
	// TCFPurposes must all have consent in the visitor's TC string when
	// TCF applies; default [1, 7].
	TCFPurposes []uint8 `mapstructure:"tcf_purposes"`
	// IABVendorID is the partner's id in the IAB Global Vendor List; when
	// set, that vendor needs consent too.
	IABVendorID uint16 `mapstructure:"iab_vendor_id"`
	// GPC and DNT say what Global Privacy Control and Do-Not-Track mean
	// for a postback: deny (default for GPC: it is a do-not-share signal)
	// or ignore (default for DNT).
	GPC string `mapstructure:"gpc"`
	DNT string `mapstructure:"dnt"`
}

// Values of ConsentConfig.GPC and DNT.
const (
	SignalDeny   = "deny"
	SignalIgnore = "ignore"
)

func (c ConsentConfig) rules() consentgate.Rules {
	r := consentgate.Rules{Purposes: c.TCFPurposes, VendorID: c.IABVendorID, DenyOnGPC: c.GPC != SignalIgnore, DenyOnDNT: c.DNT == SignalDeny}
	if r.Purposes == nil {
		r.Purposes = consentgate.DefaultPurposes
	}
	return r
}

// defaultIdleConnsPerHost keeps a connection per sending-queue consumer
// (and some) alive to each partner: Go's default of 2 would make the
// queue's concurrent pushes open a TLS connection per postback.
const defaultIdleConnsPerHost = 16

// Unmarshal gives each partner the client defaults a top-level client
// gets from createDefaultConfig: a partner lives in a map, which the
// factory's defaults cannot reach.
func (p *PartnerConfig) Unmarshal(conf *confmap.Conf) error {
	p.Client = confighttp.NewDefaultClientConfig()
	p.Client.Timeout = defaultTimeout
	p.Client.MaxIdleConnsPerHost = defaultIdleConnsPerHost //nolint:staticcheck // a keepalive section folds into it while it is deprecated
	return conf.Unmarshal(p)
}

// RateLimitConfig is a token bucket.
type RateLimitConfig struct {
	// RequestsPerSecond is the sustained rate; default 10.
	RequestsPerSecond float64 `mapstructure:"requests_per_second"`
	// Burst is the bucket size; default the rate rounded up, at least 1.
	Burst int `mapstructure:"burst"`
}

const defaultRequestsPerSecond = 10

// Headers the exporter sets itself; a configured header may not replace them.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderSignature      = "X-Webjourney-Signature"
	HeaderTimestamp      = "X-Webjourney-Timestamp"
)

var models = []string{
	eventmodel.ModelFirstTouch, eventmodel.ModelLastTouch, eventmodel.ModelLastNonDirect,
	eventmodel.ModelLinear, eventmodel.ModelPositionBased, eventmodel.ModelTimeDecay,
}

// Validate checks the configuration; errors name the key.
func (c *Config) Validate() error {
	if len(c.Sites) == 0 {
		return errors.New("sites: configure at least one site with a partner postback")
	}
	var errs []error
	for _, id := range sortedKeys(c.ClickID.Keys) {
		k := c.ClickID.Keys[id]
		if !sealed.ValidKeyID(id) {
			errs = append(errs, fmt.Errorf("click_id::keys::%s: key id must be 1 to 16 lower-case letters or digits", id))
		}
		if (k.Env == "") == (k.File == "") {
			errs = append(errs, fmt.Errorf("click_id::keys::%s: set exactly one of env or file; a key is never written into the configuration", id))
		}
	}
	for _, site := range sortedKeys(c.Sites) {
		partners := c.Sites[site]
		if len(partners) == 0 {
			errs = append(errs, fmt.Errorf("sites::%s: no partner configured", site))
		}
		for _, name := range sortedKeys(partners) {
			key := "sites::" + site + "::" + name
			if partners[name] == nil {
				errs = append(errs, fmt.Errorf("%s: empty; set url, outcomes and secret_env or secret_file", key))
				continue
			}
			if _, err := compile(key, partners[name]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if l := c.Ledger.Get(); l != nil {
		errs = append(errs, l.validate()...)
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// templates is a partner's compiled configuration.
type templates struct {
	url         *macro.URL
	body        bodyTemplate // nil without a body
	contentType string
	headers     []headerTemplate
	method      string
	model       string
}

type bodyTemplate interface {
	Expand(macro.Values) []byte
	Uses(string) bool
}

type headerTemplate struct {
	name string
	tmpl *macro.Header
}

// compile checks a partner's configuration and compiles its templates.
// Errors name the key under prefix (sites::<site>::<partner>).
func compile(prefix string, p *PartnerConfig) (*templates, error) {
	var errs []error
	add := func(key string, err error) { errs = append(errs, fmt.Errorf("%s::%s: %w", prefix, key, err)) }
	t := &templates{method: strings.ToUpper(p.Method), model: p.Model}
	if t.method == "" {
		t.method = http.MethodGet
	}
	if t.model == "" {
		t.model = eventmodel.ModelLastTouch
	}
	var err error
	if p.URL == "" {
		add("url", errors.New("required: the partner's postback URL template"))
	} else if t.url, err = macro.CompileURL(p.URL); err != nil {
		add("url", err)
	}
	switch t.method {
	case http.MethodGet:
		if p.Body != "" {
			add("body", errors.New("a GET postback has no body: set method: POST"))
		}
	case http.MethodPost:
	default:
		add("method", fmt.Errorf("%q: use GET or POST", p.Method))
	}
	switch {
	case p.Body == "" && p.BodyFormat != "":
		add("body_format", errors.New("set only with body"))
	case p.Body == "":
	case p.BodyFormat == BodyJSON:
		t.contentType = "application/json"
		if t.body, err = macro.CompileJSON(p.Body); err != nil {
			add("body", err)
		}
	case p.BodyFormat == BodyForm:
		t.contentType = "application/x-www-form-urlencoded"
		if t.body, err = macro.CompileForm(p.Body); err != nil {
			add("body", err)
		}
	case p.BodyFormat == "":
		add("body_format", errors.New("required with body: json or form"))
	default:
		add("body_format", fmt.Errorf("%q: use json or form", p.BodyFormat))
	}
	for _, name := range sortedKeys(p.Headers) {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			add("headers::"+name, errors.New("not a valid header name"))
			continue
		case canon == HeaderIdempotencyKey || canon == HeaderSignature || canon == HeaderTimestamp || canon == "Host" || canon == "Content-Length":
			add("headers::"+name, errors.New("set by the exporter; it may not be configured"))
			continue
		}
		h, err := macro.CompileHeader(p.Headers[name])
		if err != nil {
			add("headers::"+name, err)
			continue
		}
		t.headers = append(t.headers, headerTemplate{name: canon, tmpl: h})
		if canon == "Content-Type" {
			t.contentType = "" // the configured one wins
		}
	}
	if len(p.Outcomes) == 0 {
		add("outcomes", errors.New("required: list the outcome names reported to this partner"))
	}
	if !slices.Contains(models, t.model) {
		add("model", fmt.Errorf("%q: use one of %s", p.Model, strings.Join(models, ", ")))
	}
	if p.MinCredit < 0 || p.MinCredit > 1 {
		add("min_credit", fmt.Errorf("%v: a share between 0 and 1", p.MinCredit))
	}
	if (p.SecretEnv == "") == (p.SecretFile == "") {
		add("secret_env", errors.New("set exactly one of secret_env and secret_file: the HMAC key that signs every postback"))
	}
	for i, pp := range p.Consent.TCFPurposes {
		if pp < 1 || pp > 11 {
			add(fmt.Sprintf("consent::tcf_purposes::%d", i), fmt.Errorf("%d is not a TCF purpose (1 to 11)", pp))
		}
	}
	if p.Consent.TCFPurposes != nil && len(p.Consent.TCFPurposes) == 0 {
		add("consent::tcf_purposes", errors.New("empty: leave it out for the default [1, 7]"))
	}
	for key, v := range map[string]string{"consent::gpc": p.Consent.GPC, "consent::dnt": p.Consent.DNT} {
		if v != "" && v != SignalDeny && v != SignalIgnore {
			add(key, fmt.Errorf("%q: use deny or ignore", v))
		}
	}
	if p.RateLimit.RequestsPerSecond < 0 {
		add("rate_limit::requests_per_second", errors.New("must not be negative (0 is the default, 10)"))
	}
	if p.RateLimit.Burst < 0 {
		add("rate_limit::burst", errors.New("must not be negative"))
	}
	if p.Client.Timeout <= 0 {
		add("client::timeout", errors.New("must be positive (default 10s): a partner that never answers would hold the queue"))
	}
	if p.Client.Endpoint != "" {
		add("client::endpoint", errors.New("not used: the postback goes to url"))
	}
	if err := p.Client.Validate(); err != nil {
		add("client", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// uses reports whether any template of the partner names the macro.
func (t *templates) uses(name string) bool {
	if t.url.Uses(name) || (t.body != nil && t.body.Uses(name)) {
		return true
	}
	for _, h := range t.headers {
		if h.tmpl.Uses(name) {
			return true
		}
	}
	return false
}
