package attributionprocessor

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadatatest"
)

// creditsBy groups credit records by model: touch source -> credit.
func creditsBy(s stored, outcomeEvent string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, c := range s.of(eventmodel.EventAttributionCredit) {
		if attrStr(c, eventmodel.AttrOutcomeEventID) != outcomeEvent {
			continue
		}
		m := attrStr(c, eventmodel.AttrAttributionModel)
		if out[m] == nil {
			out[m] = map[string]float64{}
		}
		src := attrStr(c, eventmodel.AttrChannelMedium) + "/" + attrStr(c, eventmodel.AttrChannelSource)
		out[m][src] += attrFloat(c, eventmodel.AttrAttributionCredit)
	}
	return out
}

// The journey of the campaign_change golden case, checked by meaning
// rather than by file: three visits, and each model's credit where the
// model's definition puts it.
func TestCampaignChangeJourney(t *testing.T) {
	s := run(t, testConfig(), goldenJourneys["campaign_change"].hits...)

	visits := s.of(eventmodel.EventVisit)
	require.Len(t, visits, 3)
	for i, want := range []struct {
		medium, source, landing string
		pages                   int64
	}{
		{"search", "google", "/shoes", 2},
		{"email", "newsletter", "/sale", 1},
		{"direct", "", "/", 2},
	} {
		v := visits[i]
		assert.Equal(t, want.medium, attrStr(v, eventmodel.AttrChannelMedium), "visit %d", i)
		assert.Equal(t, want.source, attrStr(v, eventmodel.AttrChannelSource), "visit %d", i)
		assert.Equal(t, want.landing, attrStr(v, eventmodel.AttrVisitLandingPage), "visit %d", i)
		assert.Equal(t, want.pages, attrInt(v, eventmodel.AttrVisitPagesViewed), "visit %d", i)
		assert.Equal(t, int64(i+1), attrInt(v, eventmodel.AttrVisitNumber), "visit %d", i)
	}
	assert.Equal(t, int64(45_000), attrInt(visits[0], eventmodel.AttrVisitEngagedTime))
	assert.Equal(t, "winter", attrStr(visits[1], eventmodel.AttrChannelCampaign))

	visitors := s.of(eventmodel.EventVisitor)
	require.Len(t, visitors, 1)
	vr := visitors[0]
	assert.Equal(t, int64(3), attrInt(vr, eventmodel.AttrVisitorVisitCount))
	assert.Equal(t, "search", attrStr(vr, eventmodel.AttrVisitorFirstMedium))
	assert.Equal(t, "email", attrStr(vr, eventmodel.AttrVisitorLastNDMedium))
	assert.Equal(t, `["purchase"]`, attrStr(vr, eventmodel.AttrVisitorOutcomes))

	purchase := "v1-" + (3*day + 6*time.Minute).String()
	third := 1.0 / 3
	assertCredits(t, map[string]map[string]float64{
		"first_touch":     {"search/google": 1, "email/newsletter": 0, "direct/": 0},
		"last_touch":      {"search/google": 0, "email/newsletter": 0, "direct/": 1},
		"last_non_direct": {"search/google": 0, "email/newsletter": 1, "direct/": 0},
		"linear":          {"search/google": third, "email/newsletter": third, "direct/": 1 - 2*third},
		"position_based":  {"search/google": 0.4, "email/newsletter": 0.2, "direct/": 0.4},
	}, without(creditsBy(s, purchase), "time_decay"))

	// Per model, credits sum to exactly 1 and values to exactly 120.
	sums := map[string][2]float64{}
	for _, c := range s.of(eventmodel.EventAttributionCredit) {
		m := attrStr(c, eventmodel.AttrAttributionModel)
		x := sums[m]
		x[0] += attrFloat(c, eventmodel.AttrAttributionCredit)
		x[1] += attrFloat(c, eventmodel.AttrAttributionValue)
		sums[m] = x
		assert.Equal(t, 120.0, attrFloat(c, eventmodel.AttrOutcomeValue))
		assert.Equal(t, "EUR", attrStr(c, eventmodel.AttrOutcomeCurrency))
		assert.Equal(t, int64(3), attrInt(c, eventmodel.AttrOutcomeVisitsToConvert))
		assert.Equal(t, (3*day + 6*time.Minute).Milliseconds(), attrInt(c, eventmodel.AttrOutcomeTimeToConvert))
	}
	require.Len(t, sums, 6)
	for m, x := range sums {
		assert.Equal(t, [2]float64{1, 120}, x, m)
	}
	// time_decay favours the newest touch.
	td := creditsBy(s, purchase)["time_decay"]
	assert.Greater(t, td["direct/"], td["email/newsletter"])

	// The events carry their visit and its channel; the purchase names its outcome.
	for _, e := range s.events {
		assert.NotEmpty(t, attrStr(e, eventmodel.AttrVisitID))
	}
	assert.Equal(t, "red shoes", attrStr(s.events[0], eventmodel.AttrChannelSearchTerm))
	assert.Equal(t, "email", attrStr(s.events[3], eventmodel.AttrChannelMedium))
	assert.Equal(t, `["purchase"]`, attrStr(s.events[6], eventmodel.AttrOutcomeName))
}

// assertCredits compares credits to 1e-12: each share is rounded, only
// their sums are exact (checked separately).
func assertCredits(t *testing.T, want, got map[string]map[string]float64) {
	t.Helper()
	require.Len(t, got, len(want))
	for m, shares := range want {
		require.Len(t, got[m], len(shares), m)
		for src, c := range shares {
			assert.InDelta(t, c, got[m][src], 1e-12, "%s %s", m, src)
		}
	}
}

func without(m map[string]map[string]float64, k string) map[string]map[string]float64 {
	delete(m, k)
	return m
}

func TestPartnerWindowAndSegments(t *testing.T) {
	s := run(t, testConfig(), goldenJourneys["partner"].hits...)
	first := creditsBy(s, "v4-"+(4*day+time.Minute).String())
	assert.Equal(t, 1.0, first["first_touch"]["partner/archipro"])
	assert.Equal(t, 1.0, first["last_non_direct"]["social/instagram"])
	second := creditsBy(s, "v4-"+(10*day+time.Minute).String())
	_, partner := second["linear"]["partner/archipro"]
	assert.False(t, partner, "the partner touch is outside its 7-day window")
	assert.Equal(t, 1.0, second["first_touch"]["social/instagram"])

	// Values: a numeric string and an int both count.
	var values []float64
	for _, c := range s.of(eventmodel.EventAttributionCredit) {
		if attrStr(c, eventmodel.AttrAttributionModel) == "linear" && attrInt(c, eventmodel.AttrAttributionTouchIndex) == 0 {
			values = append(values, attrFloat(c, eventmodel.AttrOutcomeValue))
		}
	}
	assert.ElementsMatch(t, []float64{990.5, 10}, values)

	// returning_buyer: a returning visitor's visit with an outcome.
	vr := s.of(eventmodel.EventVisitor)
	require.Len(t, vr, 1)
	assert.Equal(t, "archipro", attrStr(vr[0], eventmodel.AttrVisitorPartner))
	assert.Contains(t, attrStr(vr[0], eventmodel.AttrVisitorSegments), "returning_buyer")
}

// The partner's window is the one its landing carried: with 30 days
// instead of 7 the partner is credited for the purchase ten days on. An
// event that only carries the partner (from the referral cookie) is no
// partner touch, and a partner the receiver names without a landing
// flag gets none either.
func TestPartnerWindowComesFromTheLanding(t *testing.T) {
	hits := slices.Clone(goldenJourneys["partner"].hits)
	hits[0].window = 30 * day
	s := run(t, testConfig(), hits...)
	second := creditsBy(s, "v4-"+(10*day+time.Minute).String())
	assert.Equal(t, 1.0, second["first_touch"]["partner/archipro"], "inside the landing's 30-day window")

	s = run(t, testConfig(),
		hit{at: 0, visitor: "c", url: site + "/", ref: "https://www.bing.com/", partner: "archipro"},
		hit{at: time.Minute, visitor: "c", name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": 1}, partner: "archipro"},
	)
	v := s.of(eventmodel.EventVisit)
	require.Len(t, v, 1)
	assert.Equal(t, "search", attrStr(v[0], eventmodel.AttrChannelMedium), "a carried partner is not a landing")
	assert.Empty(t, attrStr(v[0], eventmodel.AttrChannelPartner))
}

func TestOncePerVisitOutcome(t *testing.T) {
	s := run(t, testConfig(),
		hit{at: 0, visitor: "a", url: site + "/welcome"},
		hit{at: time.Minute, visitor: "a", url: site + "/welcome"},
		hit{at: 2 * time.Hour, visitor: "a", url: site + "/welcome"},
	)
	var signups int
	for _, e := range s.events {
		if attrStr(e, eventmodel.AttrOutcomeName) != "" {
			signups++
		}
	}
	assert.Equal(t, 2, signups, "once per visit: two visits, two signups")
	// The first signup credits one touch per model, the second two.
	assert.Len(t, s.of(eventmodel.EventAttributionCredit), (1+2)*6)
}

func TestTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := testConfig()
	cfg.Journey.MaxVisitors = 2
	cfg.Outcomes = append(cfg.Outcomes, OutcomeConfig{Name: "broken", Conditions: []string{`attributes["webjourney.properties"]["n"] != nil and Substring(attributes["webjourney.properties"]["n"], 0, 100) == "x"`}})
	p, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	hits := goldenJourneys["out_of_order_and_duplicates"].hits
	hits = append(hits,
		hit{at: -time.Hour, visitor: "v5", url: site + "/too-late"},
		hit{at: time.Hour, visitor: "v7", url: site + "/", props: map[string]any{"n": "not a number"}},
		hit{at: time.Hour, visitor: "v8", name: eventmodel.EventConsentUpdate},
	)
	for _, h := range hits {
		require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(h)))
	}
	require.NoError(t, p.Shutdown(context.Background()))

	dp := func(k, v string, n int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String(k, v)), Value: n}
	}
	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}
	metadatatest.AssertEqualProcessorAttributionEvents(t, tel, []metricdata.DataPoint[int64]{
		dp("result", "applied", 6),
		dp("result", "duplicate", 1),
		dp("result", "late", 1),
		dp("result", "no_visitor", 1),
		dp("result", "bot", 1),
		dp("result", "not_journey", 1),
	}, opts...)
	metadatatest.AssertEqualProcessorAttributionOutcomes(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, opts...)
	metadatatest.AssertEqualProcessorAttributionEvictions(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, opts...)
	metadatatest.AssertEqualProcessorAttributionRuleErrors(t, tel, []metricdata.DataPoint[int64]{dp("rule", "outcome/broken", 1)}, opts...)
}

// An erasure request makes the processor forget the visitor: the next
// event starts a first visit again, with no history to credit.
func TestErasureForgetsTheVisitor(t *testing.T) {
	p, sink := newTestProcessor(t, testConfig())
	ctx := context.Background()
	require.NoError(t, p.ConsumeLogs(ctx, logsOf(hit{at: 0, visitor: "gone", url: site + "/a", ref: "https://www.bing.com/"})))
	erase := logsOf(hit{at: time.Minute, visitor: "gone"})
	erase.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetEventName(eventmodel.EventErasureRequest)
	require.NoError(t, p.ConsumeLogs(ctx, erase))
	require.NoError(t, p.ConsumeLogs(ctx, logsOf(hit{at: 2 * time.Minute, visitor: "gone", url: site + "/b"})))

	last := sink.AllLogs()[len(sink.AllLogs())-1]
	s := store([]plog.Logs{last})
	vr := s.of(eventmodel.EventVisitor)
	require.Len(t, vr, 1)
	assert.Equal(t, int64(1), attrInt(vr[0], eventmodel.AttrVisitorVisitCount))
	assert.Equal(t, "direct", attrStr(vr[0], eventmodel.AttrVisitorFirstMedium))
}

// A batch emits each entity once, at its newest version.
func TestBatchEmitsEachEntityOnce(t *testing.T) {
	p, sink := newTestProcessor(t, testConfig())
	require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(goldenJourneys["campaign_change"].hits...)))
	require.Len(t, sink.AllLogs(), 1)
	counts := map[string]int{}
	forEachRecord(sink.AllLogs()[0], func(lr plog.LogRecord) { counts[lr.EventName()]++ })
	assert.Equal(t, 3, counts[eventmodel.EventVisit])
	assert.Equal(t, 1, counts[eventmodel.EventVisitor])
	assert.Equal(t, 3*6, counts[eventmodel.EventAttributionCredit])
	assert.Equal(t, len(goldenJourneys["campaign_change"].hits), counts[eventmodel.EventPageView]+counts[eventmodel.EventEngagement]+counts[eventmodel.EventCustom])

	// And the batch result equals the hit-by-hit result.
	one := store(sink.AllLogs())
	each := run(t, testConfig(), goldenJourneys["campaign_change"].hits...)
	for _, name := range []string{eventmodel.EventVisit, eventmodel.EventAttributionCredit} {
		a, b := one.of(name), each.of(name)
		require.Len(t, a, len(b))
		for i := range a {
			for _, k := range []string{eventmodel.AttrEntityID, eventmodel.AttrVisitPagesViewed, eventmodel.AttrAttributionCredit} {
				assert.Equal(t, attrStr(b[i], k), attrStr(a[i], k), fmt.Sprintf("%s %d %s", name, i, k))
			}
		}
	}
}

// Anonymous events keep only the referrer's domain; their visits still
// get the channel it implies.
func TestReferrerDomainAloneGivesTheChannel(t *testing.T) {
	p, sink := newTestProcessor(t, testConfig())
	ld := logsOf(hit{at: 0, visitor: "~anon", url: site + "/a", ref: "https://www.instagram.com/p/x"})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Remove(eventmodel.AttrReferrerFull)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	v := store(sink.AllLogs()).of(eventmodel.EventVisit)
	require.Len(t, v, 1)
	assert.Equal(t, "social", attrStr(v[0], eventmodel.AttrChannelMedium))
	assert.Equal(t, "instagram", attrStr(v[0], eventmodel.AttrChannelSource))
}

// The anonymizer reserves room for eventmodel.AttributionAttrs attributes
// for this processor (a copy of the whole attribute slice saved per
// event): the number must stay true.
func TestEventGainsAtMostAttributionAttrs(t *testing.T) {
	p, _ := newTestProcessor(t, testConfig())
	hits := []hit{
		{at: 0, visitor: "k1:a", url: site + "/?__apid=77&utm_source=archipro&utm_medium=referral&utm_campaign=spring", ref: "https://archipro.co.nz/", partner: "archipro", landing: true},
		{at: time.Second, visitor: "k1:a", url: site + "/next", ref: site + "/"},
		{at: 0, visitor: "k1:b", url: site + "/shoes", ref: "https://www.google.com/search?q=red+shoes"},
		{at: 0, visitor: "~c", url: site + "/sale?gclid=x&utm_campaign=winter"},
	}
	most := 0
	for _, h := range hits {
		ld := logsOf(h)
		attrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
		before := attrs.Len()
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		added := attrs.Len() - before
		assert.LessOrEqual(t, added, eventmodel.AttributionAttrs, "%+v", h)
		most = max(most, added)
	}
	assert.Equal(t, 5, most, "the partner landing: visit id, medium, source, campaign, partner")
}

// A site's own settings apply to its events only: its internal domains
// make a referrer from its other domain navigation inside the site, while
// for every other site that domain is a referral.
func TestSiteSettingsApplyToTheirSite(t *testing.T) {
	cfg := testConfig()
	cfg.Sites = []SiteConfig{{ID: "nz", InternalDomains: []string{"shop.example", "shop.example.nz"}}}
	s := run(t, cfg,
		hit{at: 0, visitor: "a", site: "nz", url: site + "/", ref: "https://shop.example.nz/cart"},
		hit{at: 0, visitor: "b", url: site + "/", ref: "https://shop.example.nz/cart"},
	)
	mediums := map[string]string{}
	for _, v := range s.of(eventmodel.EventVisit) {
		mediums[attrStr(v, eventmodel.AttrSiteID)] = attrStr(v, eventmodel.AttrChannelMedium)
	}
	assert.Equal(t, map[string]string{"nz": "internal", "shop": "referral"}, mediums)
}

// Trackers of single-page apps resend the landing's external referrer
// with every in-app page view (the spa_referrer golden case): those page
// views continue the visit, in either order of arrival; the same
// referrer with a click id of its own, or another referrer, starts a new
// visit.
func TestSinglePageAppReferrer(t *testing.T) {
	const webmail = "https://mail.example.net/"
	landing := hit{at: 0, url: site + "/?utm_source=newsletter&utm_medium=email&utm_campaign=winter", ref: webmail}
	inApp := hit{at: time.Minute, url: site + "/shoes", ref: webmail}
	for _, tt := range []struct {
		name   string
		hits   []hit
		visits int
	}{
		{"in order", []hit{landing, inApp}, 1},
		{"out of order", []hit{inApp, landing}, 1},
		{"click id", []hit{landing, {at: time.Minute, url: site + "/shoes?gclid=x1", ref: webmail}}, 2},
		{"other referrer", []hit{landing, {at: time.Minute, url: site + "/shoes", ref: "https://news.example.org/"}}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.hits {
				tt.hits[i].visitor = "v1"
			}
			s := run(t, testConfig(), tt.hits...)
			visits := s.of(eventmodel.EventVisit)
			require.Len(t, visits, tt.visits)
			first := visits[0]
			assert.Equal(t, "email", attrStr(first, eventmodel.AttrChannelMedium))
			assert.Equal(t, "winter", attrStr(first, eventmodel.AttrChannelCampaign))
			assert.Equal(t, int64(3-tt.visits), attrInt(first, eventmodel.AttrVisitPagesViewed))
			if tt.visits == 1 {
				assert.Equal(t, "/", attrStr(first, eventmodel.AttrVisitLandingPage))
				// Events carry the visit's entry as it was when they
				// came: the in-app page view that arrived first cannot
				// know of the landing.
				assert.Equal(t, "winter", attrStr(s.events[len(s.events)-1], eventmodel.AttrChannelCampaign))
			}
		})
	}
}
