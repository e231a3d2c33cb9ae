package attributionprocessor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/sitelist"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/models"
)

// scopeName is the instrumentation scope of the entity records.
const scopeName = "github.com/webjourney/webjourney/processor/attributionprocessor"

// Results of one event, the values of the telemetry "result" attribute.
const (
	resultApplied    = "applied"
	resultNoVisitor  = "no_visitor"
	resultBot        = "bot"
	resultNotJourney = "not_journey"
)

type attributionProcessor struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	rules     *rules
	def       *siteState
	sites     map[string]*siteState
	models    []models.Model
	modelCfg  models.Config
	now       func() time.Time
	persist   *persistence
	emitter   *emitter     // nil: entity records go into each batch
	all       []*siteState // every state, the default first; fixed after newProcessor

	// Telemetry attribute sets, made once: the hot path only adds.
	// The options are kept as slices: a single option passed to Add
	// allocates its variadic slice on every call.
	resultOpts map[string][]metric.AddOption
	kindOpts   [4][]metric.AddOption // visit, visitor, credit, funnel
}

func newProcessor(set processor.Settings, cfg *Config) (*attributionProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	r, err := compileRules(cfg, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &attributionProcessor{
		cfg:       cfg,
		logger:    set.Logger,
		telemetry: tb,
		rules:     r,
		sites:     map[string]*siteState{},
		modelCfg:  cfg.Attribution.modelsConfig(),
		now:       time.Now,
	}
	for _, name := range cfg.Attribution.Models {
		m, err := models.ParseModel(name)
		if err != nil {
			return nil, fmt.Errorf("attribution::models: %w", err)
		}
		p.models = append(p.models, m)
	}
	if p.def, err = newSiteState(cfg, nil, "_default", funnelDefs(r.funnels)); err != nil {
		return nil, err
	}
	p.all = []*siteState{p.def}
	for i := range cfg.Sites {
		s := &cfg.Sites[i]
		st, err := newSiteState(cfg, s, "site/"+s.ID, funnelDefs(r.funnels))
		if err != nil {
			return nil, errors.Join(sitelist.Errors(i, s.ID, err)...)
		}
		p.sites[s.ID] = st
		p.all = append(p.all, st)
	}
	p.persist = newPersistence(set.ID, cfg, p.all, tb, set.Logger)
	p.resultOpts = map[string][]metric.AddOption{}
	for _, r := range []string{resultApplied, journey.ReasonDuplicate, journey.ReasonLate, journey.ReasonInvalid, resultNoVisitor, resultBot, resultNotJourney,
		journey.ReasonHistoryBehind, journey.ReasonHistoryInVisit} {
		p.resultOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("result", r)))}
	}
	for i, k := range []string{"visit", "visitor", "credit", "funnel"} {
		p.kindOpts[i] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", k)))}
	}
	return p, nil
}

func (p *attributionProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var local batch
	b := &local
	if p.emitter != nil {
		b = p.emitter.lock()
	}
	var counts resultCounts
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				counts.add(p.handle(ctx, rl, sl, lrs.At(k), b))
			}
		}
	}
	if p.emitter != nil {
		p.emitter.unlock()
	} else {
		p.emit(ctx, ld, b, nil)
	}
	p.count(ctx, &counts)
	return ld, nil
}

// count reports the batch's results and the evictions since the last batch.
func (p *attributionProcessor) count(ctx context.Context, counts *resultCounts) {
	for _, c := range counts {
		if c.n > 0 {
			p.telemetry.ProcessorAttributionEvents.Add(ctx, c.n, p.resultOpts[c.result]...)
		}
	}
	for _, st := range p.all {
		if ev := st.tracker.Evictions(); ev > st.evictions {
			p.telemetry.ProcessorAttributionEvictions.Add(ctx, ev-st.evictions)
			st.evictions = ev
		}
	}
}

// resultCounts counts events by result without a map: there are only
// nine results.
type resultCounts [9]struct {
	result string
	n      int64
}

func (c *resultCounts) add(result string) {
	for i := range c {
		if c[i].result == result || c[i].result == "" {
			c[i].result = result
			c[i].n++
			return
		}
	}
}
