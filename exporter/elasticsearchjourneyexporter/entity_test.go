package elasticsearchjourneyexporter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

var testVisitStart = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// visitRecord fills lr like the attribution processor does for a visit.
func visitRecord(id string, version int64, site, visitor string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventVisit)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(testVisitStart))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(testVisitStart.Add(time.Minute)))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEntityID, id)
		a.PutInt(eventmodel.AttrEntityVersion, version)
		a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		a.PutStr(eventmodel.AttrVisitID, id)
		a.PutStr(eventmodel.AttrVisitStart, testVisitStart.Format(time.RFC3339Nano))
		a.PutStr(eventmodel.AttrVisitLastActivity, testVisitStart.Add(12*time.Minute+400*time.Millisecond).Format(time.RFC3339Nano))
		a.PutStr(eventmodel.AttrVisitIdleAt, testVisitStart.Add(42*time.Minute).Format(time.RFC3339Nano))
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

// visitorRecord fills lr like the attribution processor does for a visitor.
func visitorRecord(id string, version int64, site, visitor string, lastSeen time.Time) func(plog.LogRecord) {
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

// creditRecord fills lr like the attribution processor does for a credit.
func creditRecord(id, site, visitor string, outcomeTime time.Time) func(plog.LogRecord) {
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

func TestEntityRef(t *testing.T) {
	lr := plog.NewLogRecord()
	_, _, problem := entityRef(lr)
	assert.Equal(t, problemEntityID, problem)

	a := lr.Attributes()
	a.PutInt(eventmodel.AttrEntityID, 7)
	_, _, problem = entityRef(lr)
	assert.Equal(t, problemEntityID, problem)
	a.PutStr(eventmodel.AttrEntityID, strings.Repeat("x", 513))
	_, _, problem = entityRef(lr)
	assert.Equal(t, problemEntityID, problem)

	a.PutStr(eventmodel.AttrEntityID, "v-1")
	for _, bad := range []func(){
		func() { a.Remove(eventmodel.AttrEntityVersion) },
		func() { a.PutInt(eventmodel.AttrEntityVersion, 0) },
		func() { a.PutInt(eventmodel.AttrEntityVersion, -3) },
		func() { a.PutDouble(eventmodel.AttrEntityVersion, 5) },
		func() { a.PutStr(eventmodel.AttrEntityVersion, "5") },
	} {
		bad()
		id, _, problem := entityRef(lr)
		assert.Equal(t, "v-1", id, "the id is kept for the dead-letter document")
		assert.Equal(t, problemEntityVersion, problem)
	}

	// A Unix-nanosecond version fits.
	a.PutInt(eventmodel.AttrEntityVersion, 1_800_000_000_000_000_123)
	id, version, problem := entityRef(lr)
	assert.Empty(t, problem)
	assert.Equal(t, "v-1", id)
	assert.Equal(t, int64(1_800_000_000_000_000_123), version)
}

// An entity record goes to its family's fixed index whatever its time.
func TestAppendDocumentEntityIndex(t *testing.T) {
	enc := newEncoder("wj", newFieldShape(), time.Now())
	for _, tc := range []struct {
		fill  func(plog.LogRecord)
		index string
	}{
		{visitRecord("v1", 1, "shop", "k1:a"), "wj-visits"},
		{visitorRecord("r1", 1, "shop", "k1:a", testVisitStart), "wj-visitors"},
		{creditRecord("c1", "shop", "k1:a", testVisitStart), "wj-credits"},
	} {
		lr := plog.NewLogRecord()
		tc.fill(lr)
		doc, index, dropped := enc.appendDocument(nil, lr)
		assert.Equal(t, tc.index, index)
		assert.Zero(t, dropped)
		assert.True(t, json.Valid(doc))
	}
}

// The routing key is never written, on events or entities, and leaving it
// out is not counted as a dropped attribute.
func TestRoutingKeyIsNeverStored(t *testing.T) {
	enc := newEncoder("wj", newFieldShape(), time.Now())
	for _, fill := range []func(plog.LogRecord){pageViewWithID("e-1"), visitRecord("v1", 1, "shop", "k1:a")} {
		lr := plog.NewLogRecord()
		fill(lr)
		lr.Attributes().PutStr(eventmodel.AttrRoutingKey, "198.51.100.23")
		doc, _, dropped := enc.appendDocument(nil, lr)
		assert.NotContains(t, string(doc), "198.51.100.23")
		assert.NotContains(t, string(doc), eventmodel.AttrRoutingKey)
		assert.Zero(t, dropped)
	}
}

func TestDeadLetterDocument(t *testing.T) {
	lr := plog.NewLogRecord()
	visitRecord("v1", 5, "shop", "k1:a")(lr)
	lr.Attributes().PutStr(eventmodel.AttrUserID, "u-1")
	r := refusal{index: "wj-visits", id: "v1", version: 5, status: 400, errType: "document_parsing_exception",
		reason: "failed to parse field [webjourney.visit.start]", causeType: "illegal_argument_exception"}
	orig := []byte(`{"a":"b\"c"}`)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := appendDeadLetter(nil, &r, lr, orig, now)
	var got map[string]any
	require.NoError(t, json.Unmarshal(doc, &got), string(doc))
	assert.Equal(t, map[string]any{
		"@timestamp":             "2026-11-23T10:00:00Z",
		"event.name":             eventmodel.EventVisit,
		"dead_letter.index":      "wj-visits",
		"dead_letter.id":         "v1",
		"dead_letter.version":    float64(5),
		"dead_letter.document":   `{"a":"b\"c"}`,
		"error.status":           float64(400),
		"error.type":             "document_parsing_exception",
		"error.reason":           "failed to parse field [webjourney.visit.start]",
		"error.caused_by.type":   "illegal_argument_exception",
		eventmodel.AttrSiteID:    "shop",
		eventmodel.AttrVisitorID: "k1:a",
		eventmodel.AttrUserID:    "u-1",
	}, got)

	// The same refusal of the same document has the same id (a replay is
	// a 409); another document has another.
	assert.Equal(t, deadLetterID(&r, orig), deadLetterID(&r, orig))
	assert.NotEqual(t, deadLetterID(&r, orig), deadLetterID(&r, []byte(`{}`)))
	assert.Len(t, deadLetterID(&r, orig), 32)
}
