package consentprocessor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/urlquery"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/metadata"
	"github.com/webjourney/webjourney/processor/consentprocessor/internal/metadatatest"
)

func TestTelemetryCountsEveryDecision(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	for _, dir := range []string{"tag_signals", "withdrawal"} {
		in, err := golden.ReadLogs(filepath.Join("testdata", "golden", dir, "input.yaml"))
		require.NoError(t, err)
		require.NoError(t, p.ConsumeLogs(context.Background(), in))
	}
	require.NoError(t, p.Shutdown(context.Background()))

	dp := func(decision, reason string, n int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("decision", decision), attribute.String("reason", reason)), Value: n}
	}
	metadatatest.AssertEqualProcessorConsentEvents(t, tel, []metricdata.DataPoint[int64]{
		dp("keep", "tag_granted", 2),
		dp("anonymous", "tag_denied", 3),
		dp("anonymous", "policy_opt_in", 1),
		dp("anonymous", "cookieless", 1),
		dp("drop", "identify_without_consent", 1),
		dp("keep", "marketing_denied", 1),
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualProcessorConsentErasureRequests(t, tel, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// identifiers are the attributes an anonymous event must never carry.
var identifiers = []string{
	eventmodel.AttrVisitorID, eventmodel.AttrSessionID, eventmodel.AttrUserID,
	eventmodel.AttrReferralClickID, eventmodel.AttrClickIDValue, eventmodel.AttrTCFString, eventmodel.AttrReferrerFull,
	eventmodel.AttrReferrerPath, eventmodel.AttrReferrerQuery,
}

// Whatever the signals, the processor never panics, every event that
// passes carries a decision, and no anonymous event keeps an identifier,
// in its attributes or its page URL.
func FuzzDecide(f *testing.F) {
	f.Add("webjourney.page_view", "shop", "granted", "denied", false, false, true, int8(1), "CQtAQoAQtAQoAAKABAENBkEAAIEAAAAAAAAAAAAAAAAA.IAFABAAA", "", "DE", "", "gclid=abc&x=1")
	f.Add("webjourney.consent_update", "fr", "denied", "", true, true, false, int8(0), "", "", "FR", "FR-IDF", "")
	f.Add("webjourney.identify", "", "", "", false, false, false, int8(-1), "C.....", "", "US", "US-CA", "ap=ap-1")
	f.Add("webjourney.page_view", "shop", "granted", "", false, false, false, int8(1), "", eventmodel.TCFStringErrorMacro, "DE", "", "")
	f.Add("webjourney.page_view", "fr", "", "", false, false, false, int8(0), "", eventmodel.TCFStringErrorMalformed, "FR", "", "")
	cfg := createDefaultConfig()
	cfg.OptInRegions = []string{"EU"}
	cfg.OptOutRegions = []string{"US"}
	cfg.Sites = []SitePolicy{{ID: "fr", Policy: Policy{Default: PolicyOptIn, WithoutConsent: WithoutConsentDrop, GPC: SignalDenyAll, DNT: SignalDenyMarketing,
		CNILExemption: CNILExemption{Enabled: true, RetentionMonths: 13}}}}
	require.NoError(f, cfg.Validate())
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(f, err)

	f.Fuzz(func(t *testing.T, event, site, analytics, marketing string, cookieless, gpc, dnt bool, applies int8, tc, tcErr, country, region, query string) {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetEventName(event)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, "v-1")
		a.PutStr(eventmodel.AttrSessionID, "s-1")
		a.PutStr(eventmodel.AttrUserID, "u-1")
		a.PutStr(eventmodel.AttrReferralClickID, "ap-1")
		a.PutStr(eventmodel.AttrClickIDValue, "abc")
		a.PutStr(eventmodel.AttrConsentAnalytics, analytics)
		a.PutStr(eventmodel.AttrConsentMarketing, marketing)
		a.PutBool(eventmodel.AttrCookieless, cookieless)
		a.PutBool(eventmodel.AttrGPC, gpc)
		a.PutBool(eventmodel.AttrDNT, dnt)
		switch {
		case applies > 0:
			a.PutBool(eventmodel.AttrTCFGDPRApplies, true)
		case applies < 0:
			a.PutBool(eventmodel.AttrTCFGDPRApplies, false)
		}
		a.PutStr(eventmodel.AttrTCFString, tc)
		if tcErr != "" {
			a.PutStr(eventmodel.AttrTCFStringError, tcErr)
		}
		a.PutStr(eventmodel.AttrGeoCountry, country)
		a.PutStr(eventmodel.AttrGeoRegion, region)
		a.PutStr(eventmodel.AttrURLQuery, query)
		a.PutStr(eventmodel.AttrURLFull, "https://shop.example/?"+query+"#f")
		a.PutStr(eventmodel.AttrReferrerFull, "https://ref.example/u/42?"+query)
		a.PutStr(eventmodel.AttrReferrerDomain, "ref.example")
		a.PutStr(eventmodel.AttrReferrerPath, "/u/42")
		a.PutStr(eventmodel.AttrReferrerQuery, query)

		out, err := p.processLogs(context.Background(), ld)
		require.NoError(t, err)
		for _, rl := range out.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					checkDecided(t, r)
				}
			}
		}
	})
}

func checkDecided(t *testing.T, r plog.LogRecord) {
	a := r.Attributes()
	d, ok := a.Get(eventmodel.AttrConsentDecision)
	require.True(t, ok, "every event that passes carries a decision")
	if d.Str() != eventmodel.DecisionAnonymous {
		return
	}
	for _, k := range identifiers {
		_, has := a.Get(k)
		assert.False(t, has, "anonymous event keeps %s", k)
	}
	for _, k := range []string{eventmodel.AttrURLQuery, eventmodel.AttrURLFull} {
		v, ok := a.Get(k)
		if !ok {
			continue
		}
		q := v.Str()
		if k == eventmodel.AttrURLFull {
			q, _, _ = strings.Cut(q, "#")
			_, q, _ = strings.Cut(q, "?")
		}
		// No parameter is the partner click id, as a value or bare
		// ("0ap-1" is another value that merely contains it).
		for part := range urlquery.Parts(q) {
			name, value, hasValue := strings.Cut(part, "=")
			if !hasValue {
				value = name
			}
			assert.NotEqual(t, "ap-1", urlquery.Unescape(value), "%s keeps the partner click id in %q", k, v.Str())
		}
	}
}

func TestGoldenOutputsKeepNoIdentifierWhenAnonymous(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*", "expected.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		ld, err := golden.ReadLogs(f)
		require.NoError(t, err)
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					checkDecided(t, r)
				}
			}
		}
	}
}

func TestStripQuery(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		values    []string
	}{
		{"a=1&gclid=x&b=2", "a=1&b=2", nil},
		{"GCLID=x", "", nil},
		{"ap=ap%2D1&a=1", "a=1", []string{"ap-1"}},
		{"a=1&b", "a=1&b", []string{""}},
		{"fbclid=&msclkid=1&li_fat_id=2&wbraid=3&gbraid=4&dclid=5&ttclid=6", "", nil},
	} {
		got, _ := stripQuery(tc.raw, tc.values)
		assert.Equal(t, tc.want, got, tc.raw)
	}
	// A query without click ids (the common one) costs no allocation.
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_, _ = stripQuery("utm_source=newsletter&utm_medium=email&utm_campaign=spring", []string{"ap-1"})
	}))
	assert.Equal(t, "https://a.example/p#f", replaceQuery("https://a.example/p?gclid=1#f", ""))
	assert.Equal(t, "https://a.example/p?x=1#f?y", replaceQuery("https://a.example/p?gclid=1&x=1#f?y", "x=1"))
}

// stripQuerySplit is stripQuery as it was first written, every kept part
// collected and joined: the reference the allocation-free one must match.
func stripQuerySplit(raw string, values []string) (string, bool) {
	var kept []string
	changed := false
	for _, part := range strings.Split(raw, "&") {
		name, value, hasValue := strings.Cut(part, "=")
		if !hasValue {
			value = name
		}
		if isClickIDParam(name) || containsUnescaped(values, value) {
			changed = true
			continue
		}
		kept = append(kept, part)
	}
	if !changed {
		return raw, false
	}
	return strings.Join(kept, "&"), true
}

func FuzzStripQuery(f *testing.F) {
	for _, raw := range []string{"a=1&gclid=x&b=2", "GCLID=x", "ap=ap%2D1&a=1", "a=1&b", "&&gclid=1&&", "gclid=1&&a", "a&&gclid", "", "&", "ap-1&x=ap-1&y"} {
		f.Add(raw, "ap-1")
	}
	f.Fuzz(func(t *testing.T, raw, value string) {
		values := []string{value}
		want, wantChanged := stripQuerySplit(raw, values)
		got, changed := stripQuery(raw, values)
		if got != want || changed != wantChanged {
			t.Fatalf("stripQuery(%q, %q) = %q %v, want %q %v", raw, value, got, changed, want, wantChanged)
		}
	})
}

// Records of an unknown site fall back to the top-level policy; the
// per-site policy applies only to its own site.
func TestSitePolicyIsolation(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Sites = []SitePolicy{{ID: "blog", Policy: Policy{Default: PolicyOptOut, WithoutConsent: WithoutConsentAnonymous, GPC: SignalDenyAll, DNT: SignalIgnore}}}
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	for site, want := range map[string]string{"blog": eventmodel.DecisionKeep, "shop": eventmodel.DecisionAnonymous, "": eventmodel.DecisionAnonymous} {
		s := signals{event: eventmodel.EventPageView, site: site}
		assert.Equal(t, want, p.decide(&s).action, site)
	}
}

func benchLogs(n int, tc string) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetEventName(eventmodel.EventPageView)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEventID, "3f1c2a9e0b6d4e55a1c7d2f08e9b6a41")
		a.PutInt(eventmodel.AttrSchemaVersion, 1)
		a.PutStr(eventmodel.AttrSiteID, "shop")
		a.PutStr(eventmodel.AttrIngestChannel, eventmodel.ChannelBeacon)
		a.PutStr(eventmodel.AttrURLFull, "https://shop.example/pricing?plan=pro")
		a.PutStr(eventmodel.AttrURLScheme, "https")
		a.PutStr(eventmodel.AttrURLDomain, "shop.example")
		a.PutStr(eventmodel.AttrURLPath, "/pricing")
		a.PutStr(eventmodel.AttrURLQuery, "plan=pro")
		a.PutStr(eventmodel.AttrPageTitle, "Pricing")
		a.PutStr(eventmodel.AttrReferrerFull, "https://www.google.com/")
		a.PutStr(eventmodel.AttrReferrerDomain, "www.google.com")
		a.PutStr(eventmodel.AttrUserAgent, "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0")
		a.PutStr(eventmodel.AttrClientAddress, "203.0.113.7")
		a.PutStr(eventmodel.AttrVisitorID, "v-8c1d0e")
		a.PutStr(eventmodel.AttrSessionID, "s-42")
		a.PutStr(eventmodel.AttrConsentAnalytics, eventmodel.ConsentGranted)
		a.PutStr(eventmodel.AttrConsentMarketing, eventmodel.ConsentUnknown)
		a.PutStr(eventmodel.AttrConsentPersonalization, eventmodel.ConsentUnknown)
		a.PutStr(eventmodel.AttrGeoCountry, "DE")
		if tc != "" {
			a.PutBool(eventmodel.AttrTCFGDPRApplies, true)
			a.PutStr(eventmodel.AttrTCFString, tc)
		}
	}
	return ld
}

// BenchmarkProcess reports the cost per event of a batch of 100 typical
// page views with analytics consent (the copy that feeds each iteration
// is excluded from the time, not from the allocations).
func BenchmarkProcess(b *testing.B) {
	for name, tc := range map[string]string{
		"no_tc_string": "",
		"tc_string":    "CQtAQoAQtAQoAAKABAENBkEAAIEAAAAAAAAAAAAAAAAA.IAFABAAA",
	} {
		b.Run(name, func(b *testing.B) {
			cfg := createDefaultConfig()
			cfg.OptInRegions = []string{"EEA", "GB"}
			p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
			require.NoError(b, err)
			const n = 100
			src := benchLogs(n, tc)
			batch := plog.NewLogs()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				src.CopyTo(batch)
				b.StartTimer()
				if _, err := p.processLogs(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
