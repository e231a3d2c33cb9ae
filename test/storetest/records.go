// Package storetest supports the tests of internal/journeystore and of the
// elasticsearch_journey exporter: log records made the way the pipeline's
// components make them, and a client that reads back what was stored in
// the real Elasticsearch.
package storetest // import "github.com/webjourney/webjourney/test/storetest"

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Times of the records.
var (
	EventTime    = time.Date(2026, 11, 3, 10, 15, 30, 123456789, time.UTC) // of PageView
	ObservedTime = time.Date(2026, 11, 3, 10, 15, 31, 0, time.UTC)         // of PageView
	VisitStart   = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)           // of Visit
)

// PageView fills lr like the pixel receiver does for a page view.
func PageView(lr plog.LogRecord, id string) {
	lr.SetEventName(eventmodel.EventPageView)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(EventTime))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ObservedTime))
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrEventID, id)
	a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
	a.PutStr(eventmodel.AttrSiteID, "shop")
	a.PutStr(eventmodel.AttrIngestChannel, eventmodel.ChannelBeacon)
	a.PutStr(eventmodel.AttrURLFull, "https://shop.example.com:8443/pricing?plan=pro#faq")
	a.PutStr(eventmodel.AttrURLScheme, "https")
	a.PutStr(eventmodel.AttrURLDomain, "shop.example.com")
	a.PutInt(eventmodel.AttrURLPort, 8443)
	a.PutStr(eventmodel.AttrURLPath, "/pricing")
	a.PutStr(eventmodel.AttrURLQuery, "plan=pro")
	a.PutStr(eventmodel.AttrURLFragment, "faq")
	a.PutStr(eventmodel.AttrUserAgent, "Mozilla/5.0 (X11; Linux x86_64)")
	a.PutStr(eventmodel.AttrClientAddress, "203.0.113.7")
	a.PutStr(eventmodel.AttrSessionID, "s-1")
	a.PutStr(eventmodel.AttrVisitorID, "v-8c1d0e")
	a.PutStr(eventmodel.AttrPageTitle, "Pricing — \"Shop\"")
	a.PutStr(eventmodel.AttrReferrerFull, "https://www.google.com/search?q=shoes")
	a.PutStr(eventmodel.AttrReferrerDomain, "www.google.com")
	p := a.PutEmptyMap(eventmodel.AttrProperties)
	p.PutStr("plan", "pro")
	p.PutInt("seats", 3)
	p.PutDouble("score", 0.5)
	p.PutBool("trial", true)
}

// PageViewDocument is the stored document of PageView with id "e-1".
const PageViewDocument = `{"@timestamp":"2026-11-03T10:15:30.123456789Z","event.ingested":"2026-11-03T10:15:31Z","event.name":"webjourney.page_view",` +
	`"log.record.uid":"e-1","webjourney.schema.version":1,"webjourney.site.id":"shop","webjourney.ingest.channel":"beacon",` +
	`"url.full":"https://shop.example.com:8443/pricing?plan=pro#faq","url.scheme":"https","url.domain":"shop.example.com","url.port":8443,` +
	`"url.path":"/pricing","url.query":"plan=pro","url.fragment":"faq","user_agent.original":"Mozilla/5.0 (X11; Linux x86_64)",` +
	`"client.address":"203.0.113.7","session.id":"s-1","webjourney.visitor.id":"v-8c1d0e","webjourney.page.title":"Pricing — \"Shop\"",` +
	`"webjourney.referrer.full":"https://www.google.com/search?q=shoes","webjourney.referrer.domain":"www.google.com",` +
	`"webjourney.properties":{"plan":"pro","seats":3,"score":0.5,"trial":true}}`

// PageViewWithID is PageView as a fill function of MakeLogs.
func PageViewWithID(id string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) { PageView(lr, id) }
}

// Visit fills a record like the attribution processor does for a visit.
func Visit(id string, version int64, site, visitor string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventVisit)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(VisitStart))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(VisitStart.Add(time.Minute)))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEntityID, id)
		a.PutInt(eventmodel.AttrEntityVersion, version)
		a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		a.PutStr(eventmodel.AttrVisitID, id)
		a.PutStr(eventmodel.AttrVisitStart, VisitStart.Format(time.RFC3339Nano))
		a.PutStr(eventmodel.AttrVisitLastActivity, VisitStart.Add(12*time.Minute+400*time.Millisecond).Format(time.RFC3339Nano))
		a.PutStr(eventmodel.AttrVisitIdleAt, VisitStart.Add(42*time.Minute).Format(time.RFC3339Nano))
		a.PutInt(eventmodel.AttrVisitDuration, 760400)
		a.PutInt(eventmodel.AttrVisitPagesViewed, version%1000) // tells the snapshots apart
		a.PutBool(eventmodel.AttrVisitBounce, false)
		a.PutStr(eventmodel.AttrVisitLandingPage, "/pricing")
		a.PutEmptySlice(eventmodel.AttrVisitOutcomes).FromRaw([]any{"purchase"})
		a.PutStr(eventmodel.AttrChannelMedium, eventmodel.MediumSearch)
		a.PutStr(eventmodel.AttrChannelSource, "google")
		a.PutStr(eventmodel.AttrDeviceClass, eventmodel.DeviceMobile)
	}
}

// Visitor fills a record like the attribution processor does for a
// visitor.
func Visitor(id string, version int64, site, visitor string, lastSeen time.Time) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventVisitor)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(lastSeen.Add(-24 * time.Hour)))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEntityID, id)
		a.PutInt(eventmodel.AttrEntityVersion, version)
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		a.PutStr(eventmodel.AttrVisitorFirstSeen, lastSeen.Add(-24*time.Hour).Format(time.RFC3339Nano))
		a.PutStr(eventmodel.AttrVisitorLastSeen, lastSeen.Format(time.RFC3339Nano))
		a.PutInt(eventmodel.AttrVisitorVisitCount, 2)
		a.PutBool(eventmodel.AttrVisitorReturning, true)
		a.PutStr(eventmodel.AttrVisitorFirstMedium, eventmodel.MediumSocial)
		a.PutEmptySlice(eventmodel.AttrVisitorSegments).FromRaw([]any{"engaged", "returning"})
	}
}

// Credit fills a record like the attribution processor does for an
// attribution credit.
func Credit(id, site, visitor string, outcomeTime time.Time) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventAttributionCredit)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(outcomeTime))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEntityID, id)
		a.PutInt(eventmodel.AttrEntityVersion, 1)
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		a.PutStr(eventmodel.AttrOutcomeName, "purchase")
		a.PutDouble(eventmodel.AttrOutcomeValue, 129.9)
		a.PutStr(eventmodel.AttrOutcomeCurrency, "EUR")
		a.PutStr(eventmodel.AttrAttributionModel, eventmodel.ModelLinear)
		a.PutDouble(eventmodel.AttrAttributionCredit, 0.25)
		a.PutDouble(eventmodel.AttrAttributionValue, 32.475)
		a.PutInt(eventmodel.AttrAttributionTouchIndex, 0)
		a.PutInt(eventmodel.AttrAttributionTouchCount, 4)
		a.PutStr(eventmodel.AttrAttributionTouchTime, outcomeTime.Add(-72*time.Hour).Format(time.RFC3339Nano))
		a.PutStr(eventmodel.AttrChannelMedium, eventmodel.MediumPartner)
	}
}

// Funnel fills a record like the attribution processor does for a funnel
// record: a visitor that reached the second of three steps.
func Funnel(id string, version int64, site, visitor string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventFunnel)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(VisitStart))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEntityID, id)
		a.PutInt(eventmodel.AttrEntityVersion, version)
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		a.PutStr(eventmodel.AttrFunnelName, "checkout")
		a.PutInt(eventmodel.AttrFunnelStepCount, 3)
		a.PutInt(eventmodel.AttrFunnelStepsReached, 2)
		a.PutEmptySlice(eventmodel.AttrFunnelReached).FromRaw([]any{"01 product", "02 cart"})
		a.PutStr(eventmodel.AttrFunnelLastStep, "02 cart")
		a.PutBool(eventmodel.AttrFunnelCompleted, false)
		a.PutStr(eventmodel.AttrFunnelStepAt[0], VisitStart.Format(time.RFC3339Nano))
		a.PutStr(eventmodel.AttrFunnelStepAt[1], VisitStart.Add(time.Minute).Format(time.RFC3339Nano))
		a.PutInt(eventmodel.AttrFunnelStepAfter[1], 60000)
		a.PutStr(eventmodel.AttrFunnelNextPage, "/pricing")
	}
}

// MakeLogs builds one resource/scope holding one record per fill function.
// The resource attribute proves resource attributes are not exported.
func MakeLogs(fills ...func(plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "must-not-be-exported")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, f := range fills {
		f(lrs.AppendEmpty())
	}
	return ld
}

// UniqueID returns an event id no other test run uses.
func UniqueID(t testing.TB, n int) string {
	return fmt.Sprintf("%s-%d-%d", t.Name(), time.Now().UnixNano(), n)
}
