package attributionprocessor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// Funnels: the configuration, the evaluation of their steps on each event
// and their records. The journey tracker keeps the attempts (see
// "Funnels" in its package documentation).

// FunnelConfig is one funnel.
type FunnelConfig struct {
	// Name of the funnel, e.g. "checkout".
	Name string `mapstructure:"name"`
	// Sites the funnel applies to (their webjourney.site.id); empty: every site.
	Sites []string `mapstructure:"sites"`
	// Scope is "visit" (every step in one visit, the default) or "visitor"
	// (across visits, within Window).
	Scope string `mapstructure:"scope"`
	// Window bounds the time from the first step to the last: for scope
	// visitor it defaults to 7 days; for scope visit 0 means the visit.
	Window time.Duration `mapstructure:"window"`
	// Order is "any" (a step counts at any time after the previous one,
	// the default) or "strict" (another step of the funnel in between
	// ends the attempt).
	Order string `mapstructure:"order"`
	// Steps are the funnel's 2 to 10 steps, in order.
	Steps []FunnelStepConfig `mapstructure:"steps"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FunnelStepConfig is one step of a funnel.
type FunnelStepConfig struct {
	Name string `mapstructure:"name"`
	// Conditions are OTTL log conditions on the event; the step is
	// reached when any of them is true.
	Conditions []string `mapstructure:"conditions"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// defaultVisitorWindow is the window of a visitor-scope funnel without one.
const defaultVisitorWindow = 7 * 24 * time.Hour

// validateFunnels checks the funnels' names, steps, scope, order and
// window; their conditions are parsed with the other rules.
func (c *Config) validateFunnels() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	seen := map[string]bool{}
	for i, f := range c.Funnels {
		key := fmt.Sprintf("funnels::%d", i)
		if !ruleName.MatchString(f.Name) {
			add("%s::name: %s (got %q)", key, nameRule, f.Name)
		} else {
			key = "funnels::" + f.Name
		}
		if seen[f.Name] {
			add("%s::name: configured twice", key)
		}
		seen[f.Name] = true
		switch f.Scope {
		case "", eventmodel.FunnelScopeVisit, eventmodel.FunnelScopeVisitor:
		default:
			add("%s::scope: must be visit or visitor (got %q)", key, f.Scope)
		}
		switch f.Order {
		case "", eventmodel.FunnelOrderAny, eventmodel.FunnelOrderStrict:
		default:
			add("%s::order: must be any or strict (got %q)", key, f.Order)
		}
		if f.Window < 0 {
			add("%s::window: must not be negative (got %s)", key, f.Window)
		}
		for j, s := range f.Sites {
			if s == "" {
				add("%s::sites::%d: must not be empty", key, j)
			}
		}
		if n := len(f.Steps); n < 2 || n > journey.MaxFunnelSteps {
			add("%s::steps: a funnel has 2 to %d steps (got %d)", key, journey.MaxFunnelSteps, n)
		}
		steps := map[string]bool{}
		for j, s := range f.Steps {
			sk := fmt.Sprintf("%s::steps::%d", key, j)
			if !ruleName.MatchString(s.Name) {
				add("%s::name: %s (got %q)", sk, nameRule, s.Name)
			} else if steps[s.Name] {
				add("%s::name: %q is the name of an earlier step", sk, s.Name)
			}
			steps[s.Name] = true
			if len(s.Conditions) == 0 {
				add("%s::conditions: at least one OTTL condition is needed", sk)
			}
		}
	}
	return errs
}

// funnelRule is a compiled funnel.
type funnelRule struct {
	name, scope, order string
	label              string // "funnel/<name>", the telemetry rule attribute
	sites              []string
	steps              [][]*condition
	// stepNames are the steps as records name them: "01 product".
	stepNames []string
	def       journey.FunnelDef
}

// compileFunnels parses the funnels' conditions (parse names errors by key).
func compileFunnels(c *Config, parse func(key string, conds []string) []*condition) []funnelRule {
	var out []funnelRule
	for _, f := range c.Funnels {
		fr := funnelRule{
			name: f.Name, scope: f.Scope, order: f.Order, label: "funnel/" + f.Name, sites: f.Sites,
			def: journey.FunnelDef{Name: f.Name, Steps: len(f.Steps), Window: f.Window},
		}
		if fr.scope == "" {
			fr.scope = eventmodel.FunnelScopeVisit
		}
		if fr.order == "" {
			fr.order = eventmodel.FunnelOrderAny
		}
		fr.def.VisitScope = fr.scope == eventmodel.FunnelScopeVisit
		fr.def.Strict = fr.order == eventmodel.FunnelOrderStrict
		if !fr.def.VisitScope && fr.def.Window == 0 {
			fr.def.Window = defaultVisitorWindow
		}
		for j, s := range f.Steps {
			fr.steps = append(fr.steps, parse(fmt.Sprintf("funnels::%s::steps::%d", f.Name, j), s.Conditions))
			fr.stepNames = append(fr.stepNames, fmt.Sprintf("%02d %s", j+1, s.Name))
		}
		out = append(out, fr)
	}
	return out
}

// funnelDefs are the tracker's view of the funnels.
func funnelDefs(rs []funnelRule) []journey.FunnelDef {
	defs := make([]journey.FunnelDef, len(rs))
	for i := range rs {
		defs[i] = rs[i].def
	}
	return defs
}

// funnelSteps evaluates every funnel of the event's site on the applied
// event and hands the steps it matched to the tracker; it returns the
// funnels whose record may have changed.
func (p *attributionProcessor) funnelSteps(ctx context.Context, tc *ottllog.TransformContext, st *siteState, ev *journey.Event, visitID string, consent string) uint64 {
	var masks [64]uint16
	any := false
	for f := range p.rules.funnels {
		fr := &p.rules.funnels[f]
		if len(fr.sites) > 0 && !slices.Contains(fr.sites, ev.Site) {
			continue
		}
		for k, conds := range fr.steps {
			ok, err := matches(ctx, conds, tc)
			p.ruleFailed(ctx, fr.label, err)
			if ok {
				masks[f] |= 1 << k
				any = true
			}
		}
	}
	if !any {
		return 0
	}
	return st.tracker.FunnelSteps(ev.Visitor, visitID, ev.Time, consent, masks[:len(p.rules.funnels)])
}

// funnelID is the funnel record's document id: one per site, visitor and
// funnel.
func funnelID(site, key, funnel string) string {
	h := sha256.Sum256([]byte(site + "\x00" + key + "\x00" + funnel))
	return hex.EncodeToString(h[:16])
}

// putFunnel fills lr with the funnel record.
func putFunnel(lr plog.LogRecord, s subject, fr *funnelRule, r *journey.FunnelRecord, now time.Time) {
	entered := r.Steps[0]
	m := entity(lr, eventmodel.EventFunnel, funnelID(s.site, s.key, fr.name), r.Version, entered, now)
	s.put(m)
	m.PutStr(eventmodel.AttrFunnelName, fr.name)
	m.PutStr(eventmodel.AttrFunnelScope, fr.scope)
	m.PutStr(eventmodel.AttrFunnelOrder, fr.order)
	m.PutInt(eventmodel.AttrFunnelStepCount, int64(len(fr.stepNames)))
	n := len(r.Steps)
	m.PutInt(eventmodel.AttrFunnelStepsReached, int64(n))
	putStrings(m, eventmodel.AttrFunnelReached, fr.stepNames[:n])
	m.PutStr(eventmodel.AttrFunnelLastStep, fr.stepNames[n-1])
	m.PutBool(eventmodel.AttrFunnelCompleted, r.Completed)
	m.PutStr(eventmodel.AttrFunnelEnteredAt, rfc3339(entered))
	m.PutStr(eventmodel.AttrFunnelLastAt, rfc3339(r.Steps[n-1]))
	m.PutInt(eventmodel.AttrFunnelDuration, r.Steps[n-1].Sub(entered).Milliseconds())
	for i, at := range r.Steps {
		m.PutStr(eventmodel.AttrFunnelStepAt[i], rfc3339(at))
		if i > 0 {
			m.PutInt(eventmodel.AttrFunnelStepAfter[i], at.Sub(r.Steps[i-1]).Milliseconds())
		}
	}
	eventrecord.PutNonEmpty(m, eventmodel.AttrFunnelNextPage, r.NextPage)
	m.PutInt(eventmodel.AttrFunnelAttempts, int64(r.Attempts))
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitID, r.VisitID)
	putChannel(m, r.Medium, r.Source, r.Campaign, r.Partner)
	eventrecord.PutNonEmpty(m, eventmodel.AttrDeviceClass, r.Device)
	eventrecord.PutNonEmpty(m, eventmodel.AttrGeoCountry, r.Country)
	eventrecord.PutNonEmpty(m, eventmodel.AttrConsentDecision, r.Consent)
}
