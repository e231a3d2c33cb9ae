package attributionprocessor

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// The entity records: one place that maps journey state to event-model
// names (docs/event-model.md, "Journey names").

// subject is who an entity record belongs to: the site and the visitor
// key under the attribute it came from (visitor id or cookieless key), so
// an erasure of the visitor finds the record.
type subject struct {
	site, key, keyAttr string
}

func (s subject) put(m pcommon.Map) {
	m.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
	if s.site != "" {
		m.PutStr(eventmodel.AttrSiteID, s.site)
	}
	m.PutStr(s.keyAttr, s.key)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func putStrings(m pcommon.Map, k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	s := m.PutEmptySlice(k)
	s.EnsureCapacity(len(vs))
	for _, v := range vs {
		s.AppendEmpty().SetStr(v)
	}
}

func putChannel(m pcommon.Map, medium, source, campaign, partner string) {
	eventrecord.PutNonEmpty(m, eventmodel.AttrChannelMedium, medium)
	eventrecord.PutNonEmpty(m, eventmodel.AttrChannelSource, source)
	eventrecord.PutNonEmpty(m, eventmodel.AttrChannelCampaign, campaign)
	eventrecord.PutNonEmpty(m, eventmodel.AttrChannelPartner, partner)
}

func entity(lr plog.LogRecord, name, id string, version int64, ts, now time.Time) pcommon.Map {
	lr.SetEventName(name)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	m := lr.Attributes()
	m.EnsureCapacity(32) // one allocation for the attributes below
	m.PutStr(eventmodel.AttrEntityID, id)
	m.PutInt(eventmodel.AttrEntityVersion, version)
	return m
}

// putVisit fills lr with the visit record. Visitor fields that segment
// rules may test (visit count, returning, partner, outcomes) ride along,
// as of the visit's latest event (see rider).
func putVisit(lr plog.LogRecord, s subject, v *journey.Visit, r *rider, now time.Time) {
	m := entity(lr, eventmodel.EventVisit, v.ID, v.Version, v.Start, now)
	s.put(m)
	m.PutStr(eventmodel.AttrVisitID, v.ID)
	m.PutStr(eventmodel.AttrVisitStart, rfc3339(v.Start))
	m.PutStr(eventmodel.AttrVisitLastActivity, rfc3339(v.LastActivity))
	m.PutStr(eventmodel.AttrVisitIdleAt, rfc3339(v.IdleAt))
	m.PutInt(eventmodel.AttrVisitDuration, v.Duration.Milliseconds())
	m.PutInt(eventmodel.AttrVisitPagesViewed, int64(v.PagesViewed))
	m.PutInt(eventmodel.AttrVisitEngagedTime, v.EngagedMs)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitLandingPage, v.LandingPage)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitSecondPage, v.SecondPage)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitExitPage, v.ExitPage)
	m.PutBool(eventmodel.AttrVisitBounce, v.Bounce)
	m.PutInt(eventmodel.AttrVisitNumber, int64(v.Number))
	putStrings(m, eventmodel.AttrVisitOutcomes, v.Outcomes)
	putStrings(m, eventmodel.AttrVisitSegments, v.Segments)
	putPath(m, v)
	putChannel(m, v.Medium, v.Source, v.Campaign, v.Partner)
	eventrecord.PutNonEmpty(m, eventmodel.AttrDeviceClass, v.DeviceClass)
	eventrecord.PutNonEmpty(m, eventmodel.AttrGeoCountry, v.Country)
	if r != nil {
		m.PutInt(eventmodel.AttrVisitorVisitCount, int64(r.visits))
		m.PutBool(eventmodel.AttrVisitorReturning, r.visits > 1)
		eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorPartner, r.partner)
		putStrings(m, eventmodel.AttrVisitorOutcomes, r.outcomes)
		// The retention cohort (first-seen week, first channel) rides on
		// every visit: Kibana can then count returning visitors per cohort
		// and week from the visits alone, without a join.
		if r.firstSeen != 0 {
			first := time.Unix(0, r.firstSeen).UTC()
			m.PutStr(eventmodel.AttrVisitorFirstSeen, rfc3339(first))
			m.PutInt(eventmodel.AttrVisitWeeksSinceFirstSeen, weeksSince(first, v.Start))
		}
		eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorFirstMedium, r.firstMedium)
		eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorFirstSource, r.firstSource)
	}
}

// weeksSince is the whole weeks from first to t (0 when t is earlier: an
// out-of-order event may have moved first after a visit record was built).
func weeksSince(first, t time.Time) int64 {
	if !t.After(first) {
		return 0
	}
	return int64(t.Sub(first) / (7 * 24 * time.Hour))
}

// visitorID is the visitor record's document id: a hash, because visitor
// keys are long pseudonyms and the same key on two sites is two visitors.
func visitorID(site, key string) string {
	h := sha256.Sum256([]byte(site + "\x00" + key))
	return hex.EncodeToString(h[:16])
}

func putVisitor(lr plog.LogRecord, s subject, vr *journey.Visitor, now time.Time) {
	m := entity(lr, eventmodel.EventVisitor, visitorID(s.site, s.key), vr.Version, vr.FirstSeen, now)
	s.put(m)
	m.PutStr(eventmodel.AttrVisitorFirstSeen, rfc3339(vr.FirstSeen))
	m.PutStr(eventmodel.AttrVisitorLastSeen, rfc3339(vr.LastSeen))
	m.PutInt(eventmodel.AttrVisitorVisitCount, int64(vr.VisitCount))
	m.PutBool(eventmodel.AttrVisitorReturning, vr.VisitCount > 1)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorFirstMedium, vr.FirstTouch.Medium)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorFirstSource, vr.FirstTouch.Source)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorFirstCampaign, vr.FirstTouch.Campaign)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorLastNDMedium, vr.LastNonDirectTouch.Medium)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorLastNDSource, vr.LastNonDirectTouch.Source)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorLastNDCampaign, vr.LastNonDirectTouch.Campaign)
	eventrecord.PutNonEmpty(m, eventmodel.AttrVisitorPartner, vr.Partner)
	putStrings(m, eventmodel.AttrVisitorOutcomes, vr.Outcomes)
	putStrings(m, eventmodel.AttrVisitorSegments, vr.Segments)
}

// creditID is stable for a replay of the same outcome event, so the
// exporter stores each credit once.
func creditID(o *outcome, model string, index int, touchVisit string) string {
	src := o.eventID
	if src == "" {
		src = o.visitID + "\x00" + strconv.FormatInt(o.time.UnixNano(), 10)
	}
	h := sha256.Sum256([]byte(src + "\x00" + o.name + "\x00" + model + "\x00" + strconv.Itoa(index) + "\x00" + touchVisit))
	return hex.EncodeToString(h[:16])
}

func putCredit(lr plog.LogRecord, s subject, o *outcome, c *credit, now time.Time) {
	m := entity(lr, eventmodel.EventAttributionCredit, creditID(o, c.model, c.index, c.touch.VisitID), 1, o.time, now)
	s.put(m)
	m.PutStr(eventmodel.AttrOutcomeName, o.name)
	m.PutDouble(eventmodel.AttrOutcomeValue, o.value)
	eventrecord.PutNonEmpty(m, eventmodel.AttrOutcomeCurrency, o.currency)
	eventrecord.PutNonEmpty(m, eventmodel.AttrOutcomeEventID, o.eventID)
	m.PutStr(eventmodel.AttrOutcomeVisitID, o.visitID)
	m.PutInt(eventmodel.AttrOutcomeTimeToConvert, o.time.Sub(c.firstTouch).Milliseconds())
	m.PutInt(eventmodel.AttrOutcomeVisitsToConvert, int64(c.count))
	eventrecord.PutNonEmpty(m, eventmodel.AttrOutcomePagesBefore, o.pagesBefore)
	m.PutStr(eventmodel.AttrAttributionModel, c.model)
	m.PutDouble(eventmodel.AttrAttributionCredit, c.credit)
	m.PutDouble(eventmodel.AttrAttributionValue, c.value)
	m.PutInt(eventmodel.AttrAttributionTouchIndex, int64(c.index))
	m.PutInt(eventmodel.AttrAttributionTouchCount, int64(c.count))
	m.PutStr(eventmodel.AttrAttributionTouchTime, rfc3339(c.touch.Time))
	m.PutStr(eventmodel.AttrVisitID, c.touch.VisitID)
	putChannel(m, c.touch.Medium, c.touch.Source, c.touch.Campaign, c.touch.Partner)
	if o.disclosure != nil {
		o.disclosure.put(m, c.touch.Partner)
	}
}
