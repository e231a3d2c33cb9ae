package attributionprocessor

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

// base is the time journeys in tests start at: Monday 2026-11-23 09:00 UTC.
var base = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// hit is one event of a test journey, in the terms the receiver and the
// anonymizer would have produced.
type hit struct {
	at      time.Duration // after base
	visitor string        // visitor id; "~key" for a cookieless key
	name    string        // event name; default page_view
	url     string        // page URL; campaign parameters and click ids are extracted
	ref     string        // referrer
	id      string        // event id; default derived from visitor and time
	custom  string        // custom event name
	props   map[string]any
	engaged int64
	site    string
	bot     bool
	// partner is the referral partner the receiver named on the event:
	// detected on this page view (landing) or carried by the referral
	// cookie; window is its attribution window (default 7 days).
	partner string
	landing bool
	window  time.Duration
	// attrs are further attributes as the consent processor and the
	// anonymizer would have written them.
	attrs map[string]any
}

func (h hit) put(lr plog.LogRecord) {
	name := h.name
	if name == "" {
		name = eventmodel.EventPageView
	}
	lr.SetEventName(name)
	ts := base.Add(h.at)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ts))
	m := lr.Attributes()
	id := h.id
	if id == "" {
		id = strings.TrimPrefix(h.visitor, "~") + "-" + h.at.String()
	}
	m.PutStr(eventmodel.AttrEventID, id)
	site := cmp.Or(h.site, "shop")
	m.PutStr(eventmodel.AttrSiteID, site)
	if k, ok := strings.CutPrefix(h.visitor, "~"); ok {
		m.PutStr(eventmodel.AttrCookielessKey, k)
	} else if h.visitor != "" {
		m.PutStr(eventmodel.AttrVisitorID, h.visitor)
	}
	if h.url != "" {
		u, err := url.Parse(h.url)
		if err != nil {
			panic(err)
		}
		m.PutStr(eventmodel.AttrURLFull, h.url)
		m.PutStr(eventmodel.AttrURLDomain, u.Hostname())
		m.PutStr(eventmodel.AttrURLPath, u.Path)
		q := u.Query()
		for param, attr := range map[string]string{
			"utm_source": eventmodel.AttrCampaignSource, "utm_medium": eventmodel.AttrCampaignMedium,
			"utm_campaign": eventmodel.AttrCampaignName,
		} {
			if v := q.Get(param); v != "" {
				m.PutStr(attr, v)
			}
		}
		for _, c := range eventmodel.ClickIDs {
			if v := q.Get(c.Param); v != "" {
				m.PutStr(eventmodel.AttrClickIDType, c.Param)
				m.PutStr(eventmodel.AttrClickIDValue, v)
				break
			}
		}
	}
	if h.ref != "" {
		m.PutStr(eventmodel.AttrReferrerFull, h.ref)
		// Of the referrer's parts (the receiver also writes its scheme and
		// path) the domain and the query: what the journeys here need.
		if u, err := url.Parse(h.ref); err == nil {
			m.PutStr(eventmodel.AttrReferrerDomain, u.Hostname())
			if u.RawQuery != "" {
				m.PutStr(eventmodel.AttrReferrerQuery, u.RawQuery)
			}
		}
	}
	if h.partner != "" {
		m.PutStr(eventmodel.AttrReferralPartner, h.partner)
		m.PutInt(eventmodel.AttrReferralWindow, cmp.Or(h.window, 7*24*time.Hour).Milliseconds())
		if h.landing {
			m.PutBool(eventmodel.AttrReferralLanding, true)
		}
	}
	if h.custom != "" {
		m.PutStr(eventmodel.AttrCustomName, h.custom)
	}
	if len(h.props) > 0 {
		require.NoError(nil, m.PutEmptyMap(eventmodel.AttrProperties).FromRaw(h.props))
	}
	if h.engaged > 0 {
		m.PutInt(eventmodel.AttrEngagedTime, h.engaged)
	}
	m.PutStr(eventmodel.AttrDeviceClass, eventmodel.DeviceDesktop)
	m.PutStr(eventmodel.AttrGeoCountry, "DE")
	if h.bot {
		m.PutBool(eventmodel.AttrBot, true)
	}
	for k, v := range h.attrs {
		require.NoError(nil, m.PutEmpty(k).FromRaw(v))
	}
}

// logsOf puts hits into one plog.Logs (one resource, one scope).
func logsOf(hits ...hit) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, h := range hits {
		h.put(sl.LogRecords().AppendEmpty())
	}
	return ld
}

func newTestProcessor(t testing.TB, cfg *Config) (processor.Logs, *consumertest.LogsSink) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	sink := new(consumertest.LogsSink)
	set := processortest.NewNopSettings(metadata.Type)
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p, sink
}

// stored is what an exporter with external versioning keeps of the
// output: every event, the newest version of each entity, every credit.
type stored struct {
	events   []plog.LogRecord
	entities map[string]plog.LogRecord // by event name + entity id
}

func store(all []plog.Logs) stored {
	s := stored{entities: map[string]plog.LogRecord{}}
	for _, ld := range all {
		forEachRecord(ld, func(lr plog.LogRecord) {
			id, ok := lr.Attributes().Get(eventmodel.AttrEntityID)
			if !ok {
				s.events = append(s.events, lr)
				return
			}
			key := lr.EventName() + "/" + id.Str()
			if old, ok := s.entities[key]; ok && version(old) > version(lr) {
				return
			}
			s.entities[key] = lr
		})
	}
	return s
}

// forEachRecord calls f with every log record of ld, in order.
func forEachRecord(ld plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(lrs.At(k))
			}
		}
	}
}

func version(lr plog.LogRecord) int64 {
	v, _ := lr.Attributes().Get(eventmodel.AttrEntityVersion)
	return v.Int()
}

func attrStr(lr plog.LogRecord, k string) string {
	v, ok := lr.Attributes().Get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

func attrInt(lr plog.LogRecord, k string) int64 {
	v, _ := lr.Attributes().Get(k)
	return v.Int()
}

func attrFloat(lr plog.LogRecord, k string) float64 {
	v, _ := lr.Attributes().Get(k)
	return v.Double()
}

// of returns the stored entities of one kind, in time then id order.
func (s stored) of(name string) []plog.LogRecord {
	var out []plog.LogRecord
	for _, lr := range s.entities {
		if lr.EventName() == name {
			out = append(out, lr)
		}
	}
	slices.SortFunc(out, func(a, b plog.LogRecord) int {
		return cmp.Or(
			cmp.Compare(a.Timestamp(), b.Timestamp()),
			cmp.Compare(attrStr(a, eventmodel.AttrAttributionModel), attrStr(b, eventmodel.AttrAttributionModel)),
			cmp.Compare(attrInt(a, eventmodel.AttrAttributionTouchIndex), attrInt(b, eventmodel.AttrAttributionTouchIndex)),
			cmp.Compare(attrStr(a, eventmodel.AttrEntityID), attrStr(b, eventmodel.AttrEntityID)))
	})
	return out
}

// logs renders the stored state as one plog.Logs for golden files:
// events in arrival order, then visits, visitors and credits.
func (s stored) logs() plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, lr := range s.events {
		lr.CopyTo(sl.LogRecords().AppendEmpty())
	}
	for _, name := range []string{eventmodel.EventVisit, eventmodel.EventVisitor, eventmodel.EventAttributionCredit} {
		for _, lr := range s.of(name) {
			lr.CopyTo(sl.LogRecords().AppendEmpty())
		}
	}
	return ld
}

// run feeds each hit as its own request, as beacons arrive.
func run(t testing.TB, cfg *Config, hits ...hit) stored {
	t.Helper()
	p, sink := newTestProcessor(t, cfg)
	for _, h := range hits {
		require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(h)))
	}
	return store(sink.AllLogs())
}

func testConfig() *Config {
	cfg := createDefaultConfig()
	// Entity records in the batch that made them: deterministic tests.
	// TestEmitterCoalesces covers the emitter.
	cfg.EmitInterval = 0
	cfg.InternalDomains = []string{"shop.example"}
	cfg.Outcomes = []OutcomeConfig{
		{
			Name:       "purchase",
			Conditions: []string{`event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "purchase"`},
			Value:      `attributes["webjourney.properties"]["revenue"]`,
			Currency:   "EUR",
			Count:      CountEveryEvent,
		},
		{
			Name:       "signup",
			Conditions: []string{`attributes["url.path"] == "/welcome"`},
			FixedValue: 5,
		},
	}
	cfg.Segments = []SegmentConfig{
		{Name: "engaged", Conditions: []string{`attributes["webjourney.visit.pages_viewed"] >= 3`}},
		{Name: "returning_buyer", Conditions: []string{`attributes["webjourney.visitor.returning"] == true and attributes["webjourney.visit.outcomes"] != nil`}},
	}
	return cfg
}

var _ component.Config = (*Config)(nil)
