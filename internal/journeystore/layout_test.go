package journeystore

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

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
	enc := NewEncoder("wj", time.Now(), nil)
	for _, tc := range []struct {
		fill  func(plog.LogRecord)
		index string
	}{
		{storetest.Visit("v1", 1, "shop", "k1:a"), "wj-visits"},
		{storetest.Visitor("r1", 1, "shop", "k1:a", storetest.VisitStart), "wj-visitors"},
		{storetest.Credit("c1", "shop", "k1:a", storetest.VisitStart), "wj-credits"},
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
	enc := NewEncoder("wj", time.Now(), nil)
	for _, fill := range []func(plog.LogRecord){storetest.PageViewWithID("e-1"), storetest.Visit("v1", 1, "shop", "k1:a")} {
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
	storetest.Visit("v1", 5, "shop", "k1:a")(lr)
	lr.Attributes().PutStr(eventmodel.AttrUserID, "u-1")
	r := Refusal{Index: "wj-visits", ID: "v1", Version: 5, Status: 400, Type: "document_parsing_exception",
		Reason: "failed to parse field [webjourney.visit.start]", CauseType: "illegal_argument_exception"}
	orig := []byte(`{"a":"b\"c"}`)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	doc := r.AppendDeadLetter(nil, lr, orig, now)
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
	assert.Equal(t, r.DeadLetterID(orig), r.DeadLetterID(orig))
	assert.NotEqual(t, r.DeadLetterID(orig), r.DeadLetterID([]byte(`{}`)))
	assert.Len(t, r.DeadLetterID(orig), 32)
}

// The tests' storetest names the events pattern itself (it cannot import
// this package): it must be the layout's.
func TestStoretestEventsPatternIsTheLayouts(t *testing.T) {
	assert.Equal(t, Layout{Prefix: "wj"}.Index(FamilyEvents), storetest.EventsPattern("wj"))
}
