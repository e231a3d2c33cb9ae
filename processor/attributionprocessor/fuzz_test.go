package attributionprocessor

import (
	"context"
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

// FuzzProcess feeds events with arbitrary names, URL parts, referrers,
// campaign values, times, ids, property values and referral partners and
// windows to one processor:
// it must never panic or fail, every applied event must name its visit,
// and every outcome's credits must sum to exactly 1 per model.
func FuzzProcess(f *testing.F) {
	f.Add("webjourney.page_view", "v", "https://shop.example/a?utm_source=x&utm_medium=cpc", "https://www.google.com/search?q=a", "gclid", int64(0), "e1", "12.5", "", int64(0))
	f.Add("webjourney.custom", "v", "", "", "", int64(60e9), "e2", "purchase", "archipro", int64(-1))
	f.Add("webjourney.page_view", "v", "https://shop.example/welcome?__apid=1", "https://archipro.co.nz/", "", int64(-1), "", "NaN", "archipro", int64(7*24*3600*1000))
	f.Add("webjourney.site_search", "", "::", "%zz", "li_fat_id", int64(math.MaxInt64), "e1", "", "", int64(math.MinInt64))
	f.Add("webjourney.erasure_request", "v", "", "", "", int64(5e9), "e9", "", "", int64(0))

	cfg := testConfig()
	cfg.Outcomes = append(cfg.Outcomes, OutcomeConfig{
		Name:       "any_custom",
		Conditions: []string{`event_name == "webjourney.custom"`},
		Value:      `attributes["webjourney.properties"]["v"]`,
		Count:      CountEveryEvent,
	})
	// Funnels on the fuzzed names and paths: every event may match steps.
	cfg.Funnels = []FunnelConfig{
		{Name: "any", Steps: []FunnelStepConfig{
			{Name: "a", Conditions: []string{`attributes["url.path"] != ""`}},
			{Name: "b", Conditions: []string{`event_name == "webjourney.custom"`}},
			{Name: "c", Conditions: []string{`attributes["webjourney.custom.name"] == "purchase"`}},
		}},
		{Name: "strict", Scope: "visitor", Order: "strict", Steps: []FunnelStepConfig{
			{Name: "a", Conditions: []string{`event_name == "webjourney.page_view"`}},
			{Name: "b", Conditions: []string{`IsMatch(attributes["url.path"], "a")`}},
		}},
	}
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, visitor, pageURL, ref, clickID string, at int64, id, value, partner string, windowMs int64) {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetEventName(name)
		lr.SetTimestamp(pcommon.Timestamp(uint64(base.UnixNano()) + uint64(at)))
		m := lr.Attributes()
		for _, kv := range [...][2]string{
			{eventmodel.AttrVisitorID, visitor}, {eventmodel.AttrEventID, id},
			{eventmodel.AttrURLFull, pageURL}, {eventmodel.AttrURLPath, pageURL}, {eventmodel.AttrURLDomain, pageURL},
			{eventmodel.AttrReferrerFull, ref}, {eventmodel.AttrReferrerScheme, clickID}, {eventmodel.AttrReferrerDomain, ref},
			{eventmodel.AttrReferrerPath, value}, {eventmodel.AttrReferrerQuery, ref}, {eventmodel.AttrReferralPartner, partner},
			{eventmodel.AttrClickIDType, clickID}, {eventmodel.AttrCampaignMedium, value}, {eventmodel.AttrCustomName, value},
			{eventmodel.AttrSiteID, "shop"},
		} {
			m.PutStr(kv[0], kv[1])
		}
		m.PutInt(eventmodel.AttrReferralWindow, windowMs)
		m.PutBool(eventmodel.AttrReferralLanding, windowMs%2 == 0)
		m.PutEmptyMap(eventmodel.AttrProperties).PutStr("v", value)

		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		sums := map[string]float64{}
		forEachRecord(out, func(r plog.LogRecord) {
			if r.EventName() == eventmodel.EventAttributionCredit {
				sums[attrStr(r, eventmodel.AttrOutcomeName)+"/"+attrStr(r, eventmodel.AttrAttributionModel)] += attrFloat(r, eventmodel.AttrAttributionCredit)
			}
			if r.EventName() == eventmodel.EventVisit && attrStr(r, eventmodel.AttrVisitID) == "" {
				t.Fatal("visit record without id")
			}
		})
		for k, s := range sums {
			if s != 1 {
				t.Fatalf("credits of %s sum to %v", k, s)
			}
		}
	})
}
