package attributionprocessor

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/sitelist"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/models"
)

// Config is the attribution processor's configuration.
type Config struct {
	// Journey bounds and shapes visits.
	Journey JourneyConfig `mapstructure:"journey"`
	// InternalDomains are the sites' own domains: a referrer from one of
	// them (or a subdomain) is navigation inside the site, not a source.
	InternalDomains []string `mapstructure:"internal_domains"`
	// Sites override InternalDomains and the time zone per site.
	Sites []SiteConfig `mapstructure:"sites"`
	// Outcomes are the conversions and goals, from OTTL conditions on events.
	Outcomes []OutcomeConfig `mapstructure:"outcomes"`
	// Segments are visit/visitor segments, from OTTL conditions on the
	// visit record (which also carries the visitor's attributes).
	Segments []SegmentConfig `mapstructure:"segments"`
	// Funnels are ordered sequences of steps (OTTL conditions on events)
	// followed for every visitor: each visitor and funnel gets a record.
	Funnels []FunnelConfig `mapstructure:"funnels"`
	// Attribution configures the models credited on every outcome.
	Attribution AttributionConfig `mapstructure:"attribution"`
	// Storage names a storage extension (e.g. file_storage) that keeps open
	// visits and touch histories across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// CheckpointInterval is how often the state is saved to Storage while
	// running (it is always saved at shutdown); 0 saves only at shutdown.
	CheckpointInterval time.Duration `mapstructure:"checkpoint_interval"`
	// EmitInterval coalesces visit, visitor and credit records over this
	// long and sends them off the request path; 0 puts them into the
	// batch of the events that changed them.
	EmitInterval time.Duration `mapstructure:"emit_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// JourneyConfig shapes visits and bounds the state held per visitor.
type JourneyConfig struct {
	// IdleTimeout starts a new visit after this long without events.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// SplitAtMidnight starts a new visit when the date changes in the
	// site's time zone.
	SplitAtMidnight bool `mapstructure:"split_at_midnight"`
	// TimeZone is the IANA time zone for midnight splits (default UTC).
	TimeZone string `mapstructure:"time_zone"`
	// ReorderWindow is how far before a visit's start an out-of-order
	// event may still be placed into it.
	ReorderWindow time.Duration `mapstructure:"reorder_window"`
	// MaxVisitors bounds the visitors held in memory (least recently seen
	// evicted first); per site that has its own time zone.
	MaxVisitors int `mapstructure:"max_visitors"`
	// MaxTouches bounds each visitor's touch history.
	MaxTouches int `mapstructure:"max_touches"`
	// MaxSeenIDs bounds each visitor's remembered event ids (duplicates).
	MaxSeenIDs int `mapstructure:"max_seen_ids"`
	// PathLength is how many pages of each visit its page sequence keeps
	// (webjourney.visit.path), consecutive repeats collapsed.
	PathLength int `mapstructure:"path_length"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SiteConfig overrides settings for one site.
type SiteConfig struct {
	// ID is the site's webjourney.site.id.
	ID string `mapstructure:"id"`
	// InternalDomains override the top-level internal_domains.
	InternalDomains []string `mapstructure:"internal_domains"`
	// TimeZone overrides journey::time_zone for midnight splits.
	TimeZone string `mapstructure:"time_zone"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Values of OutcomeConfig.Count.
const (
	CountEveryEvent     = "every_event"
	CountOncePerVisit   = "once_per_visit"
	CountOncePerVisitor = "once_per_visitor"
)

// OutcomeConfig is one outcome rule.
type OutcomeConfig struct {
	// Name of the outcome, e.g. "purchase".
	Name string `mapstructure:"name"`
	// Conditions are OTTL log conditions on the event; the outcome is
	// achieved when any of them is true.
	Conditions []string `mapstructure:"conditions"`
	// Value is an OTTL value expression giving the outcome's value (a
	// number or numeric string), e.g. attributes["webjourney.properties"]["revenue"].
	// When empty or not a number, FixedValue is used.
	Value string `mapstructure:"value"`
	// FixedValue is the value when Value is not set or gives no number.
	FixedValue float64 `mapstructure:"fixed_value"`
	// Currency is the ISO 4217 code of the value.
	Currency string `mapstructure:"currency"`
	// Count says how often the outcome can be achieved: every_event,
	// once_per_visit (default) or once_per_visitor.
	Count string `mapstructure:"count"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SegmentConfig is one segment rule.
type SegmentConfig struct {
	Name string `mapstructure:"name"`
	// Conditions are OTTL log conditions on the visit record; the visit
	// (and its visitor) join the segment when any of them is true.
	Conditions []string `mapstructure:"conditions"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// AttributionConfig configures the attribution models.
type AttributionConfig struct {
	// Models credited on every outcome (default: all six).
	Models []string `mapstructure:"models"`
	// Lookback: touches older than this before the outcome get no credit.
	Lookback time.Duration `mapstructure:"lookback"`
	// HalfLife of the time_decay model.
	HalfLife time.Duration `mapstructure:"half_life"`
	// FirstWeight and LastWeight of the position_based model.
	FirstWeight float64 `mapstructure:"first_weight"`
	LastWeight  float64 `mapstructure:"last_weight"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// errPartnersMoved is the error for a configuration that still has the
// partners key: referral partners are defined once, in the pixel receiver,
// which detects them and writes what it found on the events.
var errPartnersMoved = errors.New("partners: the attribution processor no longer defines referral partners; " +
	"move each one to the referral_partners of its site in the pixel receiver (receivers::pixel::sites::<n>::referral_partners: name, param, domains, attribution_window): " +
	"the receiver detects the partner's landings and the events carry the partner, its click id and its window")

// Unmarshal refuses the removed partners key and the sites map of 0.1 with
// errors that say how to write them now, rather than the generic ones for
// an unknown key or a wrong type.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if conf.IsSet("partners") {
		return errPartnersMoved
	}
	if err := sitelist.RefuseMap(conf); err != nil {
		return err
	}
	return conf.Unmarshal(c)
}

var _ confmap.Unmarshaler = (*Config)(nil)

func createDefaultConfig() *Config {
	mc := models.DefaultConfig()
	return &Config{
		Journey: JourneyConfig{
			IdleTimeout:   30 * time.Minute,
			ReorderWindow: 2 * time.Minute,
			MaxVisitors:   100_000,
			MaxTouches:    10,
			MaxSeenIDs:    64,
			PathLength:    journey.DefaultPathLength,
		},
		Attribution: AttributionConfig{
			Models:      []string{eventmodel.ModelFirstTouch, eventmodel.ModelLastTouch, eventmodel.ModelLastNonDirect, eventmodel.ModelLinear, eventmodel.ModelPositionBased, eventmodel.ModelTimeDecay},
			Lookback:    mc.Lookback,
			HalfLife:    mc.HalfLife,
			FirstWeight: mc.FirstWeight,
			LastWeight:  mc.LastWeight,
		},
		CheckpointInterval: time.Minute,
		EmitInterval:       time.Second,
	}
}

var (
	ruleName     = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
)

const nameRule = "must be lower-case letters, digits, '_', '-' or '.', 1-64 characters"

// checkRule checks the name and conditions of the i-th rule of family
// (outcomes or segments) and returns the key its errors go under: the
// rule's name when it is valid, else its position.
func checkRule(family string, i int, name string, conds []string, seen map[string]bool, add func(string, ...any)) string {
	key := fmt.Sprintf("%s::%d", family, i)
	if !ruleName.MatchString(name) {
		add("%s::name: %s (got %q)", key, nameRule, name)
	} else {
		key = family + "::" + name
	}
	if seen[name] {
		add("%s::name: configured twice", key)
	}
	seen[name] = true
	if len(conds) == 0 {
		add("%s::conditions: at least one OTTL condition is needed", key)
	}
	return key
}

// Validate checks the configuration; every error names its key. OTTL
// rules are parsed here too, so a broken rule fails start-up naming it.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	j := c.Journey
	switch {
	case j.IdleTimeout <= 0:
		add("journey::idle_timeout: must be positive (got %s)", j.IdleTimeout)
	case j.ReorderWindow < 0 || j.ReorderWindow >= j.IdleTimeout:
		add("journey::reorder_window: must be at least 0 and less than idle_timeout (got %s)", j.ReorderWindow)
	}
	if j.MaxVisitors <= 0 {
		add("journey::max_visitors: must be positive (got %d)", j.MaxVisitors)
	}
	if j.MaxTouches <= 0 || j.MaxTouches > 1000 {
		add("journey::max_touches: must be 1-1000 (got %d)", j.MaxTouches)
	}
	if j.MaxSeenIDs <= 0 || j.MaxSeenIDs > 10_000 {
		add("journey::max_seen_ids: must be 1-10000 (got %d)", j.MaxSeenIDs)
	}
	if j.PathLength < 1 || j.PathLength > journey.MaxPathLength {
		add("journey::path_length: must be 1-%d (got %d)", journey.MaxPathLength, j.PathLength)
	}
	if _, err := time.LoadLocation(j.TimeZone); err != nil {
		add("journey::time_zone: %v", err)
	}
	if c.CheckpointInterval < 0 {
		add("checkpoint_interval: must not be negative (got %s)", c.CheckpointInterval)
	}
	if c.EmitInterval < 0 {
		add("emit_interval: must not be negative (got %s)", c.EmitInterval)
	}

	// The classifier checks the domains in detail.
	if _, err := c.classifierConfig(nil).build(); err != nil {
		add("%v", err)
	}
	errs = append(errs, c.validateSites()...)
	errs = append(errs, c.validateFunnels()...)

	seen := map[string]bool{}
	for i, o := range c.Outcomes {
		key := checkRule("outcomes", i, o.Name, o.Conditions, seen, add)
		switch o.Count {
		case "", CountEveryEvent, CountOncePerVisit, CountOncePerVisitor:
		default:
			add("%s::count: must be every_event, once_per_visit or once_per_visitor (got %q)", key, o.Count)
		}
		if o.Currency != "" && !currencyCode.MatchString(o.Currency) {
			add("%s::currency: must be an ISO 4217 code such as EUR (got %q)", key, o.Currency)
		}
	}
	seen = map[string]bool{}
	for i, s := range c.Segments {
		checkRule("segments", i, s.Name, s.Conditions, seen, add)
	}
	if len(errs) == 0 {
		// Only parse rules when their names are sound, so errors name them.
		if _, err := compileRules(c, component.TelemetrySettings{}); err != nil {
			errs = append(errs, err)
		}
	}

	a := c.Attribution
	if len(a.Models) == 0 {
		add("attribution::models: at least one model is needed")
	}
	for _, m := range a.Models {
		if _, err := models.ParseModel(m); err != nil {
			add("attribution::models: %v", err)
		}
	}
	if err := a.modelsConfig().Validate(); err != nil {
		add("attribution::%v", err)
	}
	return errors.Join(errs...)
}

// validateSites checks the sites' ids and the settings each overrides.
func (c *Config) validateSites() []error {
	ids := make([]string, len(c.Sites))
	for i := range c.Sites {
		ids[i] = c.Sites[i].ID
	}
	_, errs := sitelist.CheckIDs(ids, nil)
	for i := range c.Sites {
		s := &c.Sites[i]
		var siteErrs []error
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			siteErrs = append(siteErrs, fmt.Errorf("time_zone: %w", err))
		}
		if len(s.InternalDomains) > 0 {
			if _, err := c.classifierConfig(s).build(); err != nil {
				siteErrs = append(siteErrs, err)
			}
		}
		errs = append(errs, sitelist.Errors(i, s.ID, errors.Join(siteErrs...))...)
	}
	return errs
}

func (a AttributionConfig) modelsConfig() models.Config {
	return models.Config{Lookback: a.Lookback, HalfLife: a.HalfLife, FirstWeight: a.FirstWeight, LastWeight: a.LastWeight}
}
