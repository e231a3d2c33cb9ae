package consentprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/metadata"
)

// consentConfigs are the policies a site can run: every one must decide
// an event with an unusable TC string as an event without consent.
func consentConfigs() map[string]*Config {
	optIn := createDefaultConfig()
	optOut := createDefaultConfig()
	optOut.Default = PolicyOptOut
	drop := createDefaultConfig()
	drop.WithoutConsent = WithoutConsentDrop
	cnil := createDefaultConfig()
	cnil.CNILExemption = CNILExemption{Enabled: true, RetentionMonths: 13}
	return map[string]*Config{"opt_in": optIn, "opt_out": optOut, "drop": drop, "cnil": cnil}
}

// decideOne runs one page view with the given TCF attributes through a
// processor and returns its decision and reason ("drop" when dropped).
func decideOne(t *testing.T, cfg *Config, tcf map[string]any) (decision, reason string) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventmodel.EventPageView)
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrSiteID, "shop")
	a.PutStr(eventmodel.AttrVisitorID, "v-1")
	require.NoError(t, a.FromRaw(merge(a.AsRaw(), tcf)))
	out, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	if out.LogRecordCount() == 0 {
		return eventmodel.DecisionDrop, ""
	}
	r := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	d, _ := r.Get(eventmodel.AttrConsentDecision)
	rs, _ := r.Get(eventmodel.AttrConsentReason)
	return d.Str(), rs.Str()
}

func merge(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// The receiver passes an unusable TC string on as string_error: with GDPR
// applying (or unknown), it is no consent under every policy, with its
// own reason for an unfilled macro; with gdpr_applies false the other
// signals decide, as for any event.
func TestTCFStringError(t *testing.T) {
	noConsent := map[string]string{"opt_in": eventmodel.DecisionAnonymous, "opt_out": eventmodel.DecisionAnonymous,
		"drop": eventmodel.DecisionDrop, "cnil": eventmodel.DecisionAnonymous}
	for name, cfg := range consentConfigs() {
		for _, applies := range []any{true, nil} {
			for errValue, wantReason := range map[string]string{
				eventmodel.TCFStringErrorMacro:     reasonTCFMacro,
				eventmodel.TCFStringErrorMalformed: reasonTCFMalformed,
			} {
				tcf := map[string]any{eventmodel.AttrTCFStringError: errValue}
				if applies != nil {
					tcf[eventmodel.AttrTCFGDPRApplies] = applies
				}
				decision, reason := decideOne(t, cfg, tcf)
				assert.Equal(t, noConsent[name], decision, "%s applies=%v %s", name, applies, errValue)
				if decision != eventmodel.DecisionDrop {
					assert.Equal(t, wantReason, reason, "%s applies=%v %s", name, applies, errValue)
				}
				// Even a tag grant does not outweigh it, as for a string
				// that cannot be decoded.
				tcf[eventmodel.AttrConsentAnalytics] = eventmodel.ConsentGranted
				decision, _ = decideOne(t, cfg, tcf)
				assert.Equal(t, noConsent[name], decision, "%s with a tag grant", name)
			}
		}
		// GDPR does not apply: the policy decides (the receiver does not
		// even pass the mark on; an OTLP client might).
		decision, reason := decideOne(t, cfg, map[string]any{eventmodel.AttrTCFGDPRApplies: false, eventmodel.AttrTCFStringError: eventmodel.TCFStringErrorMacro})
		want := map[string][2]string{
			"opt_in":  {eventmodel.DecisionAnonymous, reasonPolicyOptIn},
			"opt_out": {eventmodel.DecisionKeep, reasonPolicyOptOut},
			"drop":    {eventmodel.DecisionDrop, ""},
			"cnil":    {eventmodel.DecisionKeep, reasonCNILExemption},
		}[name]
		assert.Equal(t, want[0], decision, "%s gdpr_applies false", name)
		assert.Equal(t, want[1], reason, "%s gdpr_applies false", name)
	}
}
