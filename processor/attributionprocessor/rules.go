package attributionprocessor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// Outcome and segment rules are OTTL conditions in the log context, the
// language the collector's filter and transform processors use, so an
// operator writes them as they would a filter: outcomes see the event,
// segments see the visit record (visit and visitor attributes).

type condition = ottl.Condition[*ottllog.TransformContext]

type outcomeRule struct {
	name       string
	label      string // "outcome/<name>", the telemetry rule attribute
	conditions []*condition
	value      *ottl.ValueExpression[*ottllog.TransformContext]
	fixed      float64
	currency   string
	count      string
}

type segmentRule struct {
	name       string
	label      string
	conditions []*condition
}

type rules struct {
	outcomes []outcomeRule
	segments []segmentRule
	funnels  []funnelRule
}

// compileRules parses every rule; errors name the rule's key.
func compileRules(c *Config, set component.TelemetrySettings) (*rules, error) {
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	parser, err := ottllog.NewParser(ottlfuncs.StandardConverters[*ottllog.TransformContext](), set)
	if err != nil {
		return nil, fmt.Errorf("ottl: %w", err)
	}
	var errs []error
	parse := func(key string, conds []string) []*condition {
		out := make([]*condition, 0, len(conds))
		for i, s := range conds {
			cd, err := parser.ParseCondition(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s::conditions::%d: %w", key, i, err))
				continue
			}
			out = append(out, cd)
		}
		return out
	}
	r := &rules{}
	for _, o := range c.Outcomes {
		key := "outcomes::" + o.Name
		or := outcomeRule{
			name:       o.Name,
			label:      "outcome/" + o.Name,
			conditions: parse(key, o.Conditions),
			fixed:      o.FixedValue,
			currency:   o.Currency,
			count:      o.Count,
		}
		if or.count == "" {
			or.count = CountOncePerVisit
		}
		if o.Value != "" {
			v, err := parser.ParseValueExpression(o.Value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s::value: %w", key, err))
			}
			or.value = v
		}
		r.outcomes = append(r.outcomes, or)
	}
	for _, s := range c.Segments {
		r.segments = append(r.segments, segmentRule{
			name:       s.Name,
			label:      "segment/" + s.Name,
			conditions: parse("segments::"+s.Name, s.Conditions),
		})
	}
	r.funnels = compileFunnels(c, parse)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// matches reports whether any condition is true. A condition that fails
// to evaluate (e.g. a comparison of incompatible types) counts as false
// and its error is returned for the caller to count, so a bad rule never
// stops the pipeline. (An error return rather than a callback: a closure
// per rule per event was an allocation on the request path.)
func matches(ctx context.Context, conds []*condition, tc *ottllog.TransformContext) (ok bool, failed error) {
	for _, c := range conds {
		ok, err := c.Eval(ctx, tc)
		if err != nil {
			failed = err
			continue
		}
		if ok {
			return true, failed
		}
	}
	return false, failed
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

// valueOf evaluates the outcome's value expression: a number, or a string
// or attribute holding one. Anything else falls back to the fixed value;
// an evaluation error is returned for the caller to count.
func (o *outcomeRule) valueOf(ctx context.Context, tc *ottllog.TransformContext) (float64, error) {
	if o.value == nil {
		return o.fixed, nil
	}
	v, err := o.value.Eval(ctx, tc)
	if err != nil {
		return o.fixed, err
	}
	if f, ok := number(v); ok {
		return f, nil
	}
	return o.fixed, nil
}

func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	case string:
		p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false
		}
		f = p
	case pcommon.Value:
		switch x.Type() {
		case pcommon.ValueTypeInt:
			f = float64(x.Int())
		case pcommon.ValueTypeDouble:
			f = x.Double()
		case pcommon.ValueTypeStr:
			return number(x.Str())
		default:
			return 0, false
		}
	default:
		return 0, false
	}
	// NaN and infinities cannot be split into credits or stored.
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
