package pixelreceiver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/consentprocessor"
)

// unusableTCStrings are TC parameters as ad servers and broken CMPs send
// them, with the consent reason each must end in when GDPR applies.
var unusableTCStrings = []struct{ tc, reason string }{
	{"${GDPR_CONSENT_123}", "tcf_unexpanded_macro"},
	{"${GDPR}", "tcf_unexpanded_macro"},
	{"%24%7BGDPR%7D", "tcf_unexpanded_macro"},
	{"[GDPR_CONSENT]", "tcf_unexpanded_macro"},
	{"{{gdpr_consent}}", "tcf_unexpanded_macro"},
	{"%%GDPR_CONSENT_755%%", "tcf_unexpanded_macro"},
	{"CPzHq4APzHq4AAHABBENC-CgAAAAAAAAAAYgAAAAAAAA==", "tcf_malformed"},
	{"CPzHq4A PzHq4A", "tcf_malformed"},
	{"CPz+Hq4A/AAA", "tcf_malformed"},
	{"alice@example.com", "tcf_malformed"},
	{"!!not-a-string!!", "tcf_malformed"},
	{"GDPRGDPRGDPR", "tcf_malformed"}, // base64url characters, but no TC string
}

// consentPipeline starts the receiver in front of a consent processor with
// the given default policy and what an event without consent becomes.
func consentPipeline(t *testing.T, mutate func(*consentprocessor.Config)) (*testEnv, *consumertest.LogsSink) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	f := consentprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*consentprocessor.Config)
	mutate(cfg)
	require.NoError(t, cfg.Validate())
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return startReceiver(t, consumer.Logs(p)), sink
}

// sendTCF sends one page view with the TCF parameters on a surface.
func sendTCF(t *testing.T, e *testEnv, surface, gdpr, tc string) {
	t.Helper()
	switch surface {
	case "pixel", "iframe":
		path := map[string]string{"pixel": "/p.gif", "iframe": "/p.html"}[surface]
		q := "?s=shop&url=" + url.QueryEscape("https://shop.example/") + "&gdpr_consent=" + url.QueryEscape(tc)
		if gdpr != "" {
			q += "&gdpr=" + gdpr
		}
		resp := e.request(http.MethodGet, path+q, "", nil)
		require.Equal(t, http.StatusOK, resp.status)
	case "beacon":
		tcf := map[string]any{"tc_string": tc}
		if gdpr != "" {
			tcf["gdpr_applies"] = gdpr == "1"
		}
		body, err := json.Marshal(map[string]any{"site": "shop", "tcf": tcf, "events": []any{map[string]any{"url": "https://shop.example/"}}})
		require.NoError(t, err)
		resp := e.request(http.MethodPost, "/b", string(body), jsonHeader)
		require.Equal(t, http.StatusOK, resp.status, string(resp.body))
		assert.Equal(t, map[string]any{"accepted": float64(1), "rejected": []any{}}, requireJSON(t, resp))
	}
}

// Whatever TC string comes with a page view, on every surface and under
// every consent configuration, the receiver keeps it and the consent
// processor decides it as documented: no consent (anonymous, or dropped
// with without_consent: drop) with tcf_unexpanded_macro or tcf_malformed;
// with gdpr=0 the string is ignored and the site's policy decides. The
// string itself is never stored.
func TestUnusableTCStringsKeepThePageView(t *testing.T) {
	configs := map[string]struct {
		mutate      func(*consentprocessor.Config)
		noConsent   string // decision of an event without consent
		gdpr0       string // decision with gdpr=0 (no other signal)
		gdpr0Reason string
	}{
		"opt_in": {func(*consentprocessor.Config) {}, eventmodel.DecisionAnonymous, eventmodel.DecisionAnonymous, "policy_opt_in"},
		"opt_out": {func(c *consentprocessor.Config) { c.Default = consentprocessor.PolicyOptOut },
			eventmodel.DecisionAnonymous, eventmodel.DecisionKeep, "policy_opt_out"},
		"drop": {func(c *consentprocessor.Config) { c.WithoutConsent = consentprocessor.WithoutConsentDrop },
			eventmodel.DecisionDrop, eventmodel.DecisionDrop, ""},
		"cnil": {func(c *consentprocessor.Config) {
			c.CNILExemption = consentprocessor.CNILExemption{Enabled: true, RetentionMonths: 13}
		}, eventmodel.DecisionAnonymous, eventmodel.DecisionKeep, "cnil_exemption"},
	}
	for name, cc := range configs {
		t.Run(name, func(t *testing.T) {
			e, sink := consentPipeline(t, cc.mutate)
			for _, surface := range []string{"pixel", "iframe", "beacon"} {
				for _, gdpr := range []string{"1", "", "0"} {
					for _, u := range unusableTCStrings {
						sink.Reset()
						sendTCF(t, e, surface, gdpr, u.tc)
						want, reason := cc.noConsent, u.reason
						if gdpr == "0" {
							want, reason = cc.gdpr0, cc.gdpr0Reason
						}
						if want == eventmodel.DecisionDrop {
							assert.Zero(t, sink.LogRecordCount(), "%s %s gdpr=%q %q", name, surface, gdpr, u.tc)
							continue
						}
						require.Equal(t, 1, sink.LogRecordCount(), "%s %s gdpr=%q %q: the page view is kept", name, surface, gdpr, u.tc)
						a := lastAttrs(t, sink)
						assert.Equal(t, want, a[eventmodel.AttrConsentDecision], "%s %s gdpr=%q %q", name, surface, gdpr, u.tc)
						assert.Equal(t, reason, a[eventmodel.AttrConsentReason], "%s %s gdpr=%q %q", name, surface, gdpr, u.tc)
						assert.NotContains(t, a, eventmodel.AttrTCFString)
						assert.Equal(t, eventmodel.EventPageView, sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).EventName())
					}
				}
			}
			e.requireRejections()
		})
	}
}
