package consentprocessor

import (
	"context"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/randomid"
	"github.com/webjourney/webjourney/internal/urlquery"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/metadata"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/tcf"
)

type consentProcessor struct {
	cfg       *Config
	policy    *resolvedPolicy            // top level
	sites     map[string]*resolvedPolicy // per-site overrides
	rules     tcf.Rules
	tcfCache  *lru.Cache[string, tcf.Result]
	telemetry *metadata.TelemetryBuilder
	// eventOpts holds the events counter's attributes of every decision
	// and reason, made once: an attribute set made per batch costs a few
	// allocations and a sort, and the pixel sends batches of one event.
	eventOpts map[countKey]metric.AddOption
}

func newProcessor(set processor.Settings, cfg *Config) (*consentProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	cache, err := lru.New[string, tcf.Result](cfg.TCF.CacheSize)
	if err != nil {
		return nil, err
	}
	p := &consentProcessor{
		cfg:       cfg,
		policy:    resolvePolicy(cfg.Policy),
		sites:     make(map[string]*resolvedPolicy, len(cfg.Sites)),
		rules:     cfg.TCF.rules(),
		tcfCache:  cache,
		telemetry: tb,
	}
	for _, s := range cfg.Sites {
		p.sites[s.ID] = resolvePolicy(s.Policy)
	}
	p.eventOpts = make(map[countKey]metric.AddOption, 3*len(reasons))
	for _, d := range [...]string{eventmodel.DecisionKeep, eventmodel.DecisionAnonymous, eventmodel.DecisionDrop} {
		for _, r := range reasons {
			p.eventOpts[countKey{d, r}] = eventsOption(countKey{d, r})
		}
	}
	return p, nil
}

func eventsOption(k countKey) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(
		attribute.String("decision", k.decision), attribute.String("reason", k.reason)))
}

func (p *consentProcessor) shutdown(context.Context) error {
	p.telemetry.Shutdown()
	return nil
}

func (p *consentProcessor) policyFor(site string) *resolvedPolicy {
	if sp, ok := p.sites[site]; ok {
		return sp
	}
	return p.policy
}

// evaluateTCF decodes a TC string once: a visitor sends the same string
// with every event until the CMP changes it.
func (p *consentProcessor) evaluateTCF(s string) tcf.Result {
	if r, ok := p.tcfCache.Get(s); ok {
		return r
	}
	r := tcf.Evaluate(s, p.rules)
	p.tcfCache.Add(s, r)
	return r
}

type countKey struct{ decision, reason string }

// batchCounts counts a batch's events per decision and reason. A batch
// has few distinct pairs, so a short array searched in order beats a map
// (which a batch of one event would allocate for one entry).
type batchCounts struct {
	first [4]keyCount
	n     int        // entries used in first
	rest  []keyCount // past four pairs
}

type keyCount struct {
	key countKey
	n   int64
}

func (c *batchCounts) inc(k countKey) {
	for i := range c.n {
		if c.first[i].key == k {
			c.first[i].n++
			return
		}
	}
	for i := range c.rest {
		if c.rest[i].key == k {
			c.rest[i].n++
			return
		}
	}
	if c.n < len(c.first) {
		c.first[c.n] = keyCount{k, 1}
		c.n++
		return
	}
	c.rest = append(c.rest, keyCount{k, 1})
}

func (p *consentProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var counts batchCounts
	var erasures []plog.LogRecord
	var erasureCount int64
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			erasures = erasures[:0]
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				if lr.EventName() == eventmodel.EventErasureRequest {
					return false // made upstream (by us, or another tier): passes as it is
				}
				attrs := lr.Attributes()
				s := readSignals(lr.EventName(), attrs)
				if withdrawal(&s) && p.cfg.ErasureOnWithdrawal {
					erasures = append(erasures, erasureRequest(lr))
					erasureCount++
				}
				d := p.decide(&s)
				counts.inc(countKey{d.action, d.reason})
				if d.action == eventmodel.DecisionDrop {
					return true
				}
				apply(attrs, d, p.policyFor(s.site))
				return false
			})
			for _, e := range erasures {
				e.MoveTo(sl.LogRecords().AppendEmpty())
			}
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	for _, c := range counts.first[:counts.n] {
		p.countEvents(ctx, c)
	}
	for _, c := range counts.rest {
		p.countEvents(ctx, c)
	}
	if erasureCount > 0 {
		p.telemetry.ProcessorConsentErasureRequests.Add(ctx, erasureCount)
	}
	return ld, nil
}

func (p *consentProcessor) countEvents(ctx context.Context, c keyCount) {
	opt, ok := p.eventOpts[c.key]
	if !ok { // a reason missing from the list; counted all the same
		opt = eventsOption(c.key)
	}
	p.telemetry.ProcessorConsentEvents.Add(ctx, c.n, opt)
}

// erasureRequest makes the erasure record for a withdrawal: the site, the
// ids to erase and the withdrawal's time. It passes the anonymizer like any
// event, so its ids are pseudonymised the same way as the stored ones.
func erasureRequest(withdrawal plog.LogRecord) plog.LogRecord {
	e := plog.NewLogRecord()
	e.SetEventName(eventmodel.EventErasureRequest)
	e.SetTimestamp(withdrawal.Timestamp())
	e.SetObservedTimestamp(withdrawal.ObservedTimestamp())
	a := e.Attributes()
	a.PutStr(eventmodel.AttrEventID, randomid.New())
	a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
	for _, k := range [...]string{eventmodel.AttrSiteID, eventmodel.AttrVisitorID, eventmodel.AttrUserID} {
		if v, ok := withdrawal.Attributes().Get(k); ok && v.Str() != "" {
			a.PutStr(k, v.Str())
		}
	}
	a.PutStr(eventmodel.AttrConsentDecision, eventmodel.DecisionKeep)
	a.PutStr(eventmodel.AttrConsentReason, reasonConsentWithdrawn)
	a.PutStr(eventmodel.AttrConsentSource, sourceTag)
	return e
}

// What each decision removes comes from the event model's classes.
var (
	// An anonymous event keeps no identifier of any kind and no linking
	// value. The connection's address and user agent stay for now: the
	// anonymizer makes the cookieless key from them and then removes them.
	anonymousRemove = eventmodel.NameSet(func(a *eventmodel.Attribute) bool {
		return a.RemovedWhenAnonymous() && a.Class != eventmodel.ClassNetwork
	})
	// The CNIL exemption allows no cross-site or account linking and no
	// location finer than a city.
	exemptRemove = eventmodel.NameSet((*eventmodel.Attribute).RemovedUnderCNILExemption)
	// An objection to marketing removes the click ids.
	marketingRemove = eventmodel.NameSet((*eventmodel.Attribute).RemovedWithoutMarketing)
)

// apply carries out a keep or anonymous decision on the attributes and
// records it.
func apply(attrs pcommon.Map, d decision, pol *resolvedPolicy) {
	// Room for what we and the processors after us add, at once (a no-op
	// on the pixel receiver's events, which come with it reserved).
	attrs.EnsureCapacity(attrs.Len() + eventmodel.ConsentAttrs + eventmodel.AnonymizerAttrs + eventmodel.AttributionAttrs)
	var remove map[string]bool
	switch {
	case d.action == eventmodel.DecisionAnonymous:
		remove = anonymousRemove
	case d.exempt:
		remove = exemptRemove
	case d.stripMarketing:
		remove = marketingRemove
	}
	if remove != nil {
		var clickIDs []string // values to take out of the page URL too
		attrs.RemoveIf(func(k string, v pcommon.Value) bool {
			if !remove[k] {
				return false
			}
			if a, _ := eventmodel.Lookup(k); a.Class == eventmodel.ClassMarketingID {
				clickIDs = append(clickIDs, v.Str())
			}
			return true
		})
		stripURLClickIDs(attrs, clickIDs)
	}
	attrs.PutStr(eventmodel.AttrConsentDecision, d.action)
	attrs.PutStr(eventmodel.AttrConsentReason, d.reason)
	attrs.PutStr(eventmodel.AttrConsentSource, d.source)
	if d.exempt {
		attrs.PutInt(eventmodel.AttrRetentionMonths, int64(pol.CNILExemption.RetentionMonths))
	}
}

// stripURLClickIDs removes from url.query and url.full every ad click id
// parameter and every parameter whose value is one of the removed click
// ids (a referral partner's own parameter, whatever its name).
func stripURLClickIDs(attrs pcommon.Map, values []string) {
	q, ok := attrs.Get(eventmodel.AttrURLQuery)
	if !ok || q.Str() == "" {
		return
	}
	stripped, changed := stripQuery(q.Str(), values)
	if !changed {
		return
	}
	if stripped == "" {
		attrs.Remove(eventmodel.AttrURLQuery)
	} else {
		attrs.PutStr(eventmodel.AttrURLQuery, stripped)
	}
	if full, ok := attrs.Get(eventmodel.AttrURLFull); ok {
		attrs.PutStr(eventmodel.AttrURLFull, replaceQuery(full.Str(), stripped))
	}
}

// stripQuery drops click-id parameters from a raw query string. The
// common query has none: then nothing is built or allocated.
func stripQuery(raw string, values []string) (string, bool) {
	var b strings.Builder // the kept parts joined by '&', from the first drop on
	changed := false
	pos, kept := 0, 0 // where the part starts in raw; parts kept so far
	for part := range urlquery.Parts(raw) {
		name, value, hasValue := strings.Cut(part, "=")
		if !hasValue {
			// "?ap-1": a link that appends the bare id.
			value = name
		}
		switch {
		case isClickIDParam(name) || containsUnescaped(values, value):
			if !changed {
				// Every part before this one is kept: they are raw up to
				// the '&' before it.
				changed = true
				b.Grow(len(raw))
				if pos > 0 {
					b.WriteString(raw[:pos-1])
				}
			}
		case changed:
			if kept > 0 {
				b.WriteByte('&')
			}
			b.WriteString(part)
			kept++
		default:
			kept++
		}
		pos += len(part) + 1
	}
	if !changed {
		return raw, false
	}
	return b.String(), true
}

func isClickIDParam(name string) bool {
	_, ok := eventmodel.LookupClickID(name)
	return ok
}

func containsUnescaped(values []string, raw string) bool {
	if raw == "" || len(values) == 0 {
		return false
	}
	v := urlquery.Unescape(raw)
	for _, want := range values {
		if want != "" && v == want {
			return true
		}
	}
	return false
}

// replaceQuery puts a new query into an absolute URL, keeping its fragment.
func replaceQuery(full, query string) string {
	i := strings.IndexByte(full, '?')
	if i < 0 {
		return full
	}
	rest := ""
	if j := strings.IndexByte(full[i:], '#'); j >= 0 {
		rest = full[i+j:]
	}
	if query == "" {
		return full[:i] + rest
	}
	return full[:i] + "?" + query + rest
}
