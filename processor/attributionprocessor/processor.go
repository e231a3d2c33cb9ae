package attributionprocessor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/channel"
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

// siteState is the journey state of the sites that share one time zone
// and internal-domain list: sites with their own settings get their own.
type siteState struct {
	name       string // storage key suffix
	tracker    *journey.Tracker
	classifier *channel.Classifier
	evictions  int64 // last value reported to telemetry
}

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
	all       []*siteState // states(), fixed after newProcessor

	// Telemetry attribute sets, made once: the hot path only adds.
	// The options are kept as slices: a single option passed to Add
	// allocates its variadic slice on every call.
	resultOpts map[string][]metric.AddOption
	kindOpts   [3][]metric.AddOption // visit, visitor, credit
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
	if p.def, err = newSiteState(cfg, "", "_default"); err != nil {
		return nil, err
	}
	for id := range cfg.Sites {
		if p.sites[id], err = newSiteState(cfg, id, "site/"+id); err != nil {
			return nil, fmt.Errorf("sites::%s: %w", id, err)
		}
	}
	p.all = p.states()
	p.persist = newPersistence(set.ID, cfg, p.all, tb, set.Logger)
	p.resultOpts = map[string][]metric.AddOption{}
	for _, r := range []string{resultApplied, journey.ReasonDuplicate, journey.ReasonLate, journey.ReasonInvalid, resultNoVisitor, resultBot, resultNotJourney} {
		p.resultOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("result", r)))}
	}
	for i, k := range []string{"visit", "visitor", "credit"} {
		p.kindOpts[i] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", k)))}
	}
	return p, nil
}

func newSiteState(cfg *Config, site, name string) (*siteState, error) {
	j := cfg.Journey
	tz := j.TimeZone
	if s, ok := cfg.Sites[site]; ok && site != "" && s.TimeZone != "" {
		tz = s.TimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	tr, err := journey.New(journey.Config{
		IdleTimeout:     j.IdleTimeout,
		SplitAtMidnight: j.SplitAtMidnight,
		Location:        loc,
		ReorderWindow:   j.ReorderWindow,
		MaxVisitors:     j.MaxVisitors,
		MaxSeenIDs:      j.MaxSeenIDs,
		MaxTouches:      j.MaxTouches,
	})
	if err != nil {
		return nil, err
	}
	cl, err := cfg.classifierConfig(site).build()
	if err != nil {
		return nil, err
	}
	return &siteState{name: name, tracker: tr, classifier: cl}, nil
}

// states lists every journey state, the default first.
func (p *attributionProcessor) states() []*siteState {
	out := []*siteState{p.def}
	ids := make([]string, 0, len(p.sites))
	for id := range p.sites {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, p.sites[id])
	}
	return out
}

func (p *attributionProcessor) stateFor(site string) *siteState {
	if s, ok := p.sites[site]; ok {
		return s
	}
	return p.def
}

// classifierConfig is the channel classifier's configuration for a site.
type classifierConfig channel.Config

func (c *Config) classifierConfig(site string) classifierConfig {
	internal := c.InternalDomains
	if s, ok := c.Sites[site]; ok && site != "" && len(s.InternalDomains) > 0 {
		internal = s.InternalDomains
	}
	return classifierConfig{InternalDomains: internal}
}

func (cc classifierConfig) build() (*channel.Classifier, error) {
	return channel.New(channel.Config(cc))
}

// batch collects, for one ConsumeLogs call, the newest snapshot of every
// visit and visitor touched and every credit made, so that a batch of
// events emits each entity once, at its latest version.
type batch struct {
	// dropped holds, in the emitter's pending set, the final state of
	// visits the tracker let go of while they were not pending: one may be
	// in a flush under way, which can no longer read it from the tracker.
	dropped  map[string]journey.Visit
	visits   []visitSnap
	visitIdx map[string]int
	visitors []visitorSnap
	vrIdx    map[[2]string]int // site, visitor key
	credits  []creditSnap
}

// visitSnap names a visit changed in the batch; its state is read from
// the tracker (journey.Tracker.State) when its record is built, so the
// request path never renders a whole Visit.
type visitSnap struct {
	st    *siteState
	subj  subject
	id    string
	visit journey.Visit // filled by emit, or by handle when final
	final bool          // the tracker dropped the visit; visit is its last state
	// touched: the visitor changed in substance (journey.Ref.Touched, an
	// outcome) with an event of this visit, so emit writes its record too.
	// Kept here rather than in visitors so the request path does one
	// lookup per event, not two.
	touched bool
}

// visitorSnap is a visitor's newest state, collected by emit from its
// visits' records.
type visitorSnap struct {
	subj    subject
	emit    bool // changed in substance in this batch; else only read by visit records
	visitor journey.Visitor
}

type creditSnap struct {
	subj    subject
	outcome outcome
	credit  credit
}

// reset empties the batch and keeps its memory.
func (b *batch) reset() {
	clear(b.visits)
	clear(b.visitors)
	clear(b.credits)
	b.visits, b.visitors, b.credits = b.visits[:0], b.visitors[:0], b.credits[:0]
	clear(b.visitIdx)
	clear(b.vrIdx)
	clear(b.dropped)
}

// smallBatch is the size up to which the batch finds entities by a linear
// scan: a beacon carries a few events of one visitor, and making maps for
// it cost more than the journey update itself.
const smallBatch = 16

func (b *batch) findVisit(id string) (int, bool) {
	if b.visitIdx != nil {
		i, ok := b.visitIdx[id]
		return i, ok
	}
	for i := range b.visits {
		if b.visits[i].id == id {
			return i, true
		}
	}
	return 0, false
}

func (b *batch) visit(st *siteState, s subject, id string, touched bool) {
	if i, ok := b.findVisit(id); ok {
		b.visits[i].touched = b.visits[i].touched || touched
		return
	}
	b.visits = append(b.visits, visitSnap{st: st, subj: s, id: id, touched: touched})
	switch n := len(b.visits); {
	case n > smallBatch && b.visitIdx == nil:
		b.visitIdx = make(map[string]int, 2*n)
		for i := range b.visits {
			b.visitIdx[b.visits[i].id] = i
		}
	case b.visitIdx != nil:
		b.visitIdx[id] = n - 1
	}
}

func (b *batch) findVisitor(s subject) (int, bool) {
	if b.vrIdx != nil {
		i, ok := b.vrIdx[[2]string{s.site, s.key}]
		return i, ok
	}
	for i := range b.visitors {
		if b.visitors[i].subj.key == s.key && b.visitors[i].subj.site == s.site {
			return i, true
		}
	}
	return 0, false
}

// setVisitor records the visitor's newest state, read while building its
// visits' records; emit: see visitorSnap.
func (b *batch) setVisitor(s subject, v journey.Visitor, emit bool) {
	if i, ok := b.findVisitor(s); ok {
		vs := &b.visitors[i]
		vs.emit = vs.emit || emit
		if v.Version >= vs.visitor.Version {
			vs.visitor = v
		}
		return
	}
	b.visitors = append(b.visitors, visitorSnap{subj: s, emit: emit, visitor: v})
	switch n := len(b.visitors); {
	case n > smallBatch && b.vrIdx == nil:
		b.vrIdx = make(map[[2]string]int, 2*n)
		for i := range b.visitors {
			b.vrIdx[[2]string{b.visitors[i].subj.site, b.visitors[i].subj.key}] = i
		}
	case b.vrIdx != nil:
		b.vrIdx[[2]string{s.site, s.key}] = n - 1
	}
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
	return ld, nil
}

// resultCounts counts events by result without a map: there are only
// seven results.
type resultCounts [8]struct {
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

func isPageView(name string) bool {
	return name == eventmodel.EventPageView || name == eventmodel.EventSiteSearch
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// visitorKey is the key journeys are kept under: the (pseudonymous)
// visitor id, or for an anonymous event the cookieless key.
func visitorKey(m pcommon.Map) (key, attr string) {
	if v := str(m, eventmodel.AttrVisitorID); v != "" {
		return v, eventmodel.AttrVisitorID
	}
	if v := str(m, eventmodel.AttrCookielessKey); v != "" {
		return v, eventmodel.AttrCookielessKey
	}
	return "", ""
}

func eventTime(lr plog.LogRecord) time.Time {
	if ts := lr.Timestamp(); ts != 0 {
		return ts.AsTime()
	}
	if ts := lr.ObservedTimestamp(); ts != 0 {
		return ts.AsTime()
	}
	return time.Time{}
}

// handle applies one record to its visitor's journey and returns the
// telemetry result.
func (p *attributionProcessor) handle(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, b *batch) string {
	m := lr.Attributes()
	switch lr.EventName() {
	case eventmodel.EventVisit, eventmodel.EventVisitor, eventmodel.EventAttributionCredit, eventmodel.EventConsentUpdate:
		return resultNotJourney
	case eventmodel.EventErasureRequest:
		// The visitor's journey is forgotten here as it is erased in
		// storage, so that no later record brings it back.
		if key, _ := visitorKey(m); key != "" {
			p.stateFor(str(m, eventmodel.AttrSiteID)).tracker.Forget(key)
		}
		return resultNotJourney
	}
	if v, ok := m.Get(eventmodel.AttrBot); ok && v.Type() == pcommon.ValueTypeBool && v.Bool() {
		return resultBot
	}
	key, keyAttr := visitorKey(m)
	if key == "" {
		return resultNoVisitor
	}
	f := readFields(m)
	st := p.stateFor(f.site)
	ev := journey.Event{
		ID:          f.id,
		Visitor:     key,
		Site:        f.site,
		Name:        lr.EventName(),
		Time:        eventTime(lr),
		Path:        f.path,
		EngagedMs:   f.engagedMs,
		DeviceClass: f.device,
		Country:     f.country,
	}
	var ch channel.Result
	if isPageView(ev.Name) {
		// Anonymous events keep only the referrer's scheme and domain (the
		// consent processor removes the rest): enough for the channel, not
		// for a search term.
		in := channel.Input{
			LandingHost: f.domain,
			Referrer:    channel.Referrer{Scheme: f.referrerScheme, Host: f.referrerDomain, Path: f.referrerPath, Query: f.referrerQuery},
			UTMSource:   f.utmSource,
			UTMMedium:   f.utmMedium,
			UTMCampaign: f.utmCampaign,
			ClickIDType: f.clickIDType,
		}
		if f.referralLanding {
			// The receiver detected the partner's landing on this page view.
			in.Partner = f.partner
		}
		ch = st.classifier.Classify(in)
		ev.Medium, ev.Source, ev.Partner = ch.Medium, ch.Source, ch.Partner
		ev.Campaign = f.utmCampaign
		if ch.Partner != "" {
			ev.PartnerWindow = time.Duration(f.partnerWindowMs) * time.Millisecond
		}
	}
	ref, applied, reason := st.tracker.Touch(ev)
	if !applied {
		return reason
	}
	subj := subject{site: f.site, key: key, keyAttr: keyAttr}
	for _, d := range ref.Dropped {
		// A visit of this batch the tracker no longer holds: keep its
		// final state for its record.
		if i, ok := b.findVisit(d.ID); ok {
			b.visits[i].visit, b.visits[i].final = d, true
		} else if p.emitter != nil {
			if b.dropped == nil {
				b.dropped = map[string]journey.Visit{}
			}
			b.dropped[d.ID] = d
		}
	}

	// The event carries its visit and the visit's entry channel, so
	// events alone answer "which channel do these pages come from".
	term := ch.SearchTerm != "" && ref.LandingPage == ev.Path && ref.Medium == ch.Medium && ref.Source == ch.Source
	// At most one reallocation for all of them, and none when the
	// attributes have room (the anonymizer reserves
	// eventmodel.AttributionAttrs).
	m.EnsureCapacity(m.Len() + 1 + nonEmpty(ref.Medium, ref.Source, ref.Campaign, ref.Partner) + btoi(term))
	m.PutStr(eventmodel.AttrVisitID, ref.VisitID)
	putChannel(m, ref.Medium, ref.Source, ref.Campaign, ref.Partner)
	if term {
		m.PutStr(eventmodel.AttrChannelSearchTerm, ch.SearchTerm)
	}

	if len(p.rules.outcomes) > 0 {
		tc := ottllog.NewTransformContextPtr(rl, sl, lr)
		p.outcomes(ctx, tc, st, subj, ev, &ref, b)
		tc.Close()
	}
	// The visitor record is re-emitted when the visitor changes in
	// substance (a visit starts or is re-entered, an outcome or segment
	// is marked), not on every event: its last_seen moving on is not
	// worth a write per event, the visit record has the latest activity.
	b.visit(st, subj, ref.VisitID, ref.Touched)
	return resultApplied
}

func nonEmpty(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fields are the event attributes the journey reads, taken in one pass
// over the attributes instead of one lookup each. URLs are read in the
// parts the receiver split them into, never parsed again.
type fields struct {
	id, site, domain, path, device, country string
	referrerScheme, referrerDomain          string
	referrerPath, referrerQuery             string
	utmSource, utmMedium, utmCampaign       string
	clickIDType                             string
	partner                                 string
	referralLanding                         bool
	engagedMs, partnerWindowMs              int64
}

func readFields(m pcommon.Map) fields {
	var f fields
	m.Range(func(k string, v pcommon.Value) bool {
		switch v.Type() {
		case pcommon.ValueTypeInt:
			switch k {
			case eventmodel.AttrEngagedTime:
				f.engagedMs = v.Int()
			case eventmodel.AttrReferralWindow:
				f.partnerWindowMs = v.Int()
			}
			return true
		case pcommon.ValueTypeBool:
			if k == eventmodel.AttrReferralLanding {
				f.referralLanding = v.Bool()
			}
			return true
		case pcommon.ValueTypeStr:
		default:
			return true
		}
		switch k {
		case eventmodel.AttrEventID:
			f.id = v.Str()
		case eventmodel.AttrSiteID:
			f.site = v.Str()
		case eventmodel.AttrURLDomain:
			f.domain = v.Str()
		case eventmodel.AttrURLPath:
			f.path = v.Str()
		case eventmodel.AttrDeviceClass:
			f.device = v.Str()
		case eventmodel.AttrGeoCountry:
			f.country = v.Str()
		case eventmodel.AttrReferrerScheme:
			f.referrerScheme = v.Str()
		case eventmodel.AttrReferrerDomain:
			f.referrerDomain = v.Str()
		case eventmodel.AttrReferrerPath:
			f.referrerPath = v.Str()
		case eventmodel.AttrReferrerQuery:
			f.referrerQuery = v.Str()
		case eventmodel.AttrCampaignSource:
			f.utmSource = v.Str()
		case eventmodel.AttrCampaignMedium:
			f.utmMedium = v.Str()
		case eventmodel.AttrCampaignName:
			f.utmCampaign = v.Str()
		case eventmodel.AttrClickIDType:
			f.clickIDType = v.Str()
		case eventmodel.AttrReferralPartner:
			f.partner = v.Str()
		}
		return true
	})
	return f
}

// outcomes evaluates the outcome rules on the event; for each outcome
// achieved it marks the visit and visitor, names it on the event and
// credits the visitor's touches under every model.
func (p *attributionProcessor) outcomes(ctx context.Context, tc *ottllog.TransformContext, st *siteState, s subject, ev journey.Event, ref *journey.Ref, b *batch) {
	var names []string
	for i := range p.rules.outcomes {
		o := &p.rules.outcomes[i]
		matched, err := matches(ctx, o.conditions, tc)
		p.ruleFailed(ctx, o.label, err)
		if !matched {
			continue
		}
		switch o.count {
		case CountOncePerVisit:
			if slices.Contains(ref.VisitOutcomes, o.name) {
				continue
			}
		case CountOncePerVisitor:
			if slices.Contains(ref.VisitorOutcomes, o.name) {
				continue
			}
		}
		if v, vr, ok := st.tracker.MarkOutcome(ev.Visitor, ref.VisitID, o.name); ok {
			ref.VisitOutcomes, ref.VisitorOutcomes = v.Outcomes, vr.Outcomes
			ref.Touched = true // the visitor record is re-emitted
		}
		names = append(names, o.name)
		p.telemetry.ProcessorAttributionOutcomes.Add(ctx, 1)
		value, err := o.valueOf(ctx, tc)
		p.ruleFailed(ctx, o.label, err)
		oc := outcome{
			name:     o.name,
			currency: o.currency,
			value:    value,
			eventID:  ev.ID,
			visitID:  ref.VisitID,
			time:     ev.Time,
		}
		p.credit(st, s, &oc, b)
	}
	if len(names) > 0 {
		putStrings(tc.GetLogRecord().Attributes(), eventmodel.AttrOutcomeName, names)
	}
}

// ruleFailed counts and logs a rule that failed to evaluate (err nil: it
// did not).
func (p *attributionProcessor) ruleFailed(ctx context.Context, label string, err error) {
	if err == nil {
		return
	}
	p.telemetry.ProcessorAttributionRuleErrors.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("rule", label))))
	p.logger.Debug("rule failed to evaluate; counted as not matched", zap.String("rule", label), zap.Error(err))
}

// credit distributes the outcome over the visitor's touches under every
// configured model. A partner touch older than the partner's attribution
// window (the one its landing carried) at the time of the outcome is not
// a touch any more.
func (p *attributionProcessor) credit(st *siteState, s subject, o *outcome, b *batch) {
	all := st.tracker.Touches(s.key)
	touches := make([]models.Touch, 0, len(all))
	kept := make([]journey.Touch, 0, len(all))
	for _, t := range all {
		if t.Partner != "" && t.PartnerWindow > 0 && o.time.Sub(t.Time) > t.PartnerWindow {
			continue
		}
		touches = append(touches, models.Touch{Time: t.Time, Medium: t.Medium, Source: t.Source, Campaign: t.Campaign, Partner: t.Partner, VisitID: t.VisitID})
		kept = append(kept, t)
	}
	for _, m := range p.models {
		crs := models.Attribute(m, p.modelCfg, touches, o.time, o.value)
		if len(crs) == 0 {
			continue
		}
		first := kept[crs[0].TouchIndex].Time
		for i, c := range crs {
			b.credits = append(b.credits, creditSnap{subj: s, outcome: *o, credit: credit{
				model:      string(m),
				touch:      kept[c.TouchIndex],
				index:      i,
				count:      len(crs),
				credit:     c.Credit,
				value:      c.Value,
				firstTouch: first,
			}})
		}
	}
}

// emit appends the batch's entity records to ld, in their own resource.
// Segment rules run here, on each visit record as built: a match marks
// the visit and visitor and the records are built again at the new version.
// dropped, when not nil, finds the final state of a visit the tracker let
// go of after b was taken for a flush.
func (p *attributionProcessor) emit(ctx context.Context, ld plog.Logs, b *batch, dropped func(id string) (journey.Visit, bool)) {
	if len(b.visits) == 0 && len(b.credits) == 0 {
		return
	}
	now := p.now()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	rl := ld.ResourceLogs().At(ld.ResourceLogs().Len() - 1)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(2*len(b.visits) + len(b.credits)) // a visitor per visit at most

	visits := 0
	for i := range b.visits {
		vs := &b.visits[i]
		var vr journey.Visitor
		ok := false
		if !vs.final {
			vs.visit, vr, ok = vs.st.tracker.State(vs.subj.key, vs.id)
			if !ok && dropped != nil {
				vs.visit, vs.final = dropped(vs.id)
			}
		}
		if vs.final {
			vr, ok = vs.st.tracker.Visitor(vs.subj.key)
		}
		if !ok {
			continue // evicted or forgotten since: nothing to write
		}
		lr := lrs.AppendEmpty()
		putVisit(lr, vs.subj, &vs.visit, &vr, now)
		if changed, vr2 := p.segments(ctx, rl, sl, lr, vs); changed {
			vr = vr2
			lr.Attributes().Clear()
			putVisit(lr, vs.subj, &vs.visit, &vr, now)
			b.setVisitor(vs.subj, vr, true)
		} else {
			b.setVisitor(vs.subj, vr, vs.touched)
		}
		visits++
	}
	visitors := 0
	for i := range b.visitors {
		if b.visitors[i].emit {
			putVisitor(lrs.AppendEmpty(), b.visitors[i].subj, &b.visitors[i].visitor, now)
			visitors++
		}
	}
	for i := range b.credits {
		putCredit(lrs.AppendEmpty(), b.credits[i].subj, &b.credits[i].outcome, &b.credits[i].credit, now)
	}
	for i, n := range []int{visits, visitors, len(b.credits)} {
		if n > 0 {
			p.telemetry.ProcessorAttributionRecords.Add(ctx, int64(n), p.kindOpts[i]...)
		}
	}
}

// segments evaluates the segment rules the visit does not have yet on its
// record; when any matched it returns true and the visitor after the marks
// (vs.visit is updated).
func (p *attributionProcessor) segments(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, vs *visitSnap) (changed bool, visitor journey.Visitor) {
	if len(p.rules.segments) == 0 {
		return false, visitor
	}
	tc := ottllog.NewTransformContextPtr(rl, sl, lr)
	defer tc.Close()
	for i := range p.rules.segments {
		sr := &p.rules.segments[i]
		if slices.Contains(vs.visit.Segments, sr.name) {
			continue
		}
		matched, err := matches(ctx, sr.conditions, tc)
		p.ruleFailed(ctx, sr.label, err)
		if !matched {
			continue
		}
		if v, vr, ok := vs.st.tracker.MarkSegment(vs.subj.key, vs.visit.ID, sr.name); ok {
			vs.visit, visitor = v, vr
			changed = true
		}
	}
	return changed, visitor
}
