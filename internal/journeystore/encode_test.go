package journeystore

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

// appendDocument is Append returning the index and the dropped count, as
// these tests read them.
func (e *Encoder) appendDocument(buf []byte, lr plog.LogRecord) ([]byte, string, int) {
	buf, doc := e.Append(buf, lr)
	return buf, doc.Index, doc.Dropped
}

func TestAppendDocument(t *testing.T) {
	lr := plog.NewLogRecord()
	storetest.PageView(lr, "e-1")
	enc := NewEncoder("webjourney", time.Now(), nil)
	doc, index, dropped := enc.appendDocument(nil, lr)
	assert.Equal(t, storetest.PageViewDocument, string(doc))
	assert.Equal(t, "webjourney-events-2026.11", index)
	assert.Zero(t, dropped)
	assert.True(t, json.Valid(doc))
}

// An anonymous event never stores the address or user agent, even when no
// anonymizer ran before the exporter.
func TestAppendDocumentAnonymousLeavesOutAddressAndUserAgent(t *testing.T) {
	lr := plog.NewLogRecord()
	storetest.PageView(lr, "e-1")
	lr.Attributes().PutStr(eventmodel.AttrConsentDecision, eventmodel.DecisionAnonymous)
	enc := NewEncoder("webjourney", time.Now(), nil)
	doc, _, _ := enc.appendDocument(nil, lr)
	assert.NotContains(t, string(doc), "203.0.113.7")
	assert.NotContains(t, string(doc), "Mozilla")
	assert.Contains(t, string(doc), `"webjourney.consent.decision":"anonymous"`)

	lr.Attributes().PutStr(eventmodel.AttrConsentDecision, eventmodel.DecisionKeep)
	doc, _, _ = enc.appendDocument(nil, lr)
	assert.Contains(t, string(doc), "203.0.113.7")
}

// Whatever an anonymous event still carries when it reaches the exporter,
// no attribute the event model removes from anonymous events is stored:
// every identifier, the connection, a precise location, linking values.
func TestAppendDocumentAnonymousStoresNothingTheModelRemoves(t *testing.T) {
	lr := plog.NewLogRecord()
	storetest.PageView(lr, "e-1")
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrConsentDecision, eventmodel.DecisionAnonymous)
	removed := eventmodel.Names((*eventmodel.Attribute).RemovedWhenAnonymous)
	require.NotEmpty(t, removed)
	for i, name := range removed {
		a.PutStr(name, fmt.Sprintf("canary-%d", i))
	}
	enc := NewEncoder("webjourney", time.Now(), nil)
	doc, _, _ := enc.appendDocument(nil, lr)
	for i, name := range removed {
		assert.NotContains(t, string(doc), fmt.Sprintf("canary-%d\"", i), "%s stored on an anonymous event", name)
	}
	assert.Contains(t, string(doc), `"url.full":`)
}

func TestAppendDocumentValueTypes(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(storetest.EventTime))
	lr.Body().SetStr("bodies are not exported")
	lr.SetSeverityText("INFO")
	a := lr.Attributes()
	a.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2, 250})
	s := a.PutEmptySlice("slice")
	s.AppendEmpty().SetStr("a")
	s.AppendEmpty().SetInt(2)
	s.AppendEmpty().SetEmptyMap().PutBool("b", false)
	a.PutEmpty("empty")
	a.PutDouble("nan", math.NaN())
	a.PutDouble("inf", math.Inf(-1))
	a.PutDouble("big", 1e21)
	a.PutDouble("int_valued", 100)
	a.PutStr("ctl", "a\nb\t\x01\\\xff")
	a.PutStr("url", "collides with the url object")      // dropped
	a.PutStr("event.name", "must not replace EventName") // dropped
	enc := NewEncoder("p", time.Now(), nil)
	doc, _, dropped := enc.appendDocument(nil, lr)
	assert.Equal(t, `{"@timestamp":"2026-11-03T10:15:30.123456789Z","bytes":"AAEC+g==","slice":["a",2,{"b":false}],"empty":null,`+
		`"nan":"NaN","inf":"-Inf","big":1e+21,"int_valued":100,"ctl":"a\nb\t\u0001\\\ufffd"}`, string(doc))
	assert.Equal(t, 2, dropped)
}

func TestAppendDocumentDuplicateKeys(t *testing.T) {
	// OTLP decoding keeps repeated attribute keys; Elasticsearch would refuse
	// the document, so the first value wins (as in pcommon.Map.Get).
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[
		{"key":"k","value":{"stringValue":"first"}},
		{"key":"k","value":{"stringValue":"second"}},
		{"key":"m","value":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}},{"key":"a","value":{"intValue":"2"}}]}}}]}]}]}]}`))
	require.NoError(t, err)
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	require.Equal(t, 3, lr.Attributes().Len(), "the decoder must keep the duplicate for this test to mean anything")
	enc := NewEncoder("p", storetest.EventTime, nil)
	doc, _, _ := enc.appendDocument(nil, lr)
	assert.Equal(t, `{"@timestamp":"2026-11-03T10:15:30.123456789Z","k":"first","m":{"a":1}}`, string(doc))
}

// Large maps use a hash set for repeated keys; the result is the same.
func TestAppendDocumentDuplicateKeysLargeMap(t *testing.T) {
	var attrs []string
	for i := range 100 {
		attrs = append(attrs, fmt.Sprintf(`{"key":"k%d","value":{"intValue":"%d"}}`, i, i))
	}
	attrs = append(attrs, `{"key":"k7","value":{"intValue":"700"}}`)
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[` +
		strings.Join(attrs, ",") + `]}]}]}]}`))
	require.NoError(t, err)
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	require.Equal(t, 101, lr.Attributes().Len())
	doc, _, _ := NewEncoder("p", storetest.EventTime, nil).appendDocument(nil, lr)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(doc, &fields))
	assert.Len(t, fields, 101) // 100 attributes + @timestamp
	assert.EqualValues(t, 7, fields["k7"])
	assert.Equal(t, 1, strings.Count(string(doc), `"k7":`))
}

func TestEventTimeFallbacks(t *testing.T) {
	now := time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC)
	enc := NewEncoder("p", now, nil)

	lr := plog.NewLogRecord()
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(storetest.ObservedTime))
	doc, index, _ := enc.appendDocument(nil, lr)
	assert.Equal(t, "p-events-2026.11", index)
	assert.Equal(t, `{"@timestamp":"2026-11-03T10:15:31Z","event.ingested":"2026-11-03T10:15:31Z"}`, string(doc))

	doc, index, _ = enc.appendDocument(nil, plog.NewLogRecord())
	assert.Equal(t, "p-events-2027.01", index)
	assert.Equal(t, `{"@timestamp":"2027-01-31T23:59:59Z"}`, string(doc))

	// Month boundaries are UTC whatever the producer's zone.
	lr = plog.NewLogRecord()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600))))
	_, index, _ = enc.appendDocument(nil, lr)
	assert.Equal(t, "p-events-2026.11", index)
}

func TestEventID(t *testing.T) {
	lr := plog.NewLogRecord()
	_, ok := eventID(lr)
	assert.False(t, ok)
	lr.Attributes().PutStr(eventmodel.AttrEventID, "")
	_, ok = eventID(lr)
	assert.False(t, ok)
	lr.Attributes().PutInt(eventmodel.AttrEventID, 7)
	_, ok = eventID(lr)
	assert.False(t, ok)
	lr.Attributes().PutStr(eventmodel.AttrEventID, strings.Repeat("é", 257)) // 514 bytes
	_, ok = eventID(lr)
	assert.False(t, ok)
	lr.Attributes().PutStr(eventmodel.AttrEventID, strings.Repeat("x", 512))
	_, ok = eventID(lr)
	assert.True(t, ok)
	lr.Attributes().PutStr(eventmodel.AttrEventID, "e-7")
	id, ok := eventID(lr)
	assert.True(t, ok)
	assert.Equal(t, "e-7", id)
}

// appendJSONString must agree with encoding/json on every input, including
// invalid UTF-8.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x1f\x7f", "é€😀", "\xff\xfe", "a\u2028b", "<script>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ours := appendJSONString(nil, s)
		if !json.Valid(ours) {
			t.Fatalf("invalid JSON for %q: %s", s, ours)
		}
		var got, want string
		require.NoError(t, json.Unmarshal(ours, &got))
		std, _ := json.Marshal(s)
		require.NoError(t, json.Unmarshal(std, &want))
		if got != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	})
}

// Whatever the attribute names and values, a document is valid JSON without
// duplicate top-level keys.
func FuzzAppendDocument(f *testing.F) {
	f.Add("url.full", "https://x", "plan", "pro", 3.5)
	f.Add("url", "\xff", "", "\x00", math.Inf(1))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, d float64) {
		lr := plog.NewLogRecord()
		lr.SetEventName(v1)
		a := lr.Attributes()
		a.PutStr(k1, v1)
		a.PutDouble(k2, d)
		m := a.PutEmptyMap(eventmodel.AttrProperties)
		m.PutStr(k2, v2)
		m.PutEmptySlice(k1).AppendEmpty().SetStr(v2)
		doc, index, _ := NewEncoder("p", time.Now(), nil).appendDocument(nil, lr)
		if !json.Valid(doc) {
			t.Fatalf("invalid JSON: %s", doc)
		}
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(doc, &fields))
		require.Contains(t, fields, FieldTimestamp)
		require.True(t, strings.HasPrefix(index, "p-events-"))
	})
}

func TestDeepValuesAreBounded(t *testing.T) {
	lr := plog.NewLogRecord()
	m := lr.Attributes().PutEmptyMap("deep")
	for range 100 {
		m = m.PutEmptyMap("d")
	}
	m.PutStr("leaf", "kept")
	doc, _, _ := NewEncoder("p", time.Now(), nil).appendDocument(nil, lr)
	require.True(t, json.Valid(doc))
	assert.Contains(t, string(doc), `leaf\":\"kept`) // below the depth limit, as JSON text in a string
}

// BenchmarkAppendDocument measures encoding of a typical page view (all
// event-model attributes, four custom properties).
func BenchmarkAppendDocument(b *testing.B) {
	lr := plog.NewLogRecord()
	storetest.PageView(lr, "0f8fad5b-d9cb-469f-a165-70867728950e")
	enc := NewEncoder("webjourney", time.Now(), nil)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for b.Loop() {
		var doc []byte
		doc, _ = enc.Append(buf[:0], lr)
		size = len(doc)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.SetBytes(int64(size))
}
