package webevent

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/randomid"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
)

func testDecoder() *Decoder {
	return &Decoder{
		Sites:  map[string]Site{"shop": {}},
		Limits: Limits{MaxEventsPerBeacon: 3, MaxStringLength: 16, MaxProperties: 2},
	}
}

func TestValidID(t *testing.T) {
	for _, ok := range []string{"a", "A-b_c.d:e", "0f8fad5b-d9cb-469f-a165-70867728950e", strings.Repeat("x", 128)} {
		assert.True(t, ValidID(ok), ok)
	}
	for _, bad := range []string{"", strings.Repeat("x", 129), "a b", "a/b", "é", "a\x00", "user@example.com"} {
		assert.False(t, ValidID(bad), bad)
	}
}

func TestTruncate(t *testing.T) {
	d := testDecoder() // 16 bytes
	assert.Equal(t, "short", d.truncate("short"))
	assert.Equal(t, "0123456789abcdef", d.truncate("0123456789abcdefXYZ"))
	// "é" is 2 bytes: 15 x "a" + "é" would be 17 bytes, so the é goes whole.
	assert.Equal(t, strings.Repeat("a", 15), d.truncate(strings.Repeat("a", 15)+"é"))
	assert.Equal(t, "a\uFFFDb", d.truncate("a\xffb"))
}

// Generated ids (event ids of hits without one, the receiver's visitor
// and session cookies) must pass the receiver's own id check, or a cookie
// it set would be refused when it comes back.
func TestGeneratedIDsAreValid(t *testing.T) {
	for range 1000 {
		require.True(t, ValidID(randomid.New()))
	}
}

func TestScalar(t *testing.T) {
	d := testDecoder()
	tests := []struct {
		raw  string
		want any
		ok   bool
	}{
		{`"pro"`, "pro", true},
		{`"0123456789abcdefXYZ"`, "0123456789abcdef", true},
		{`3`, int64(3), true},
		{`-42`, int64(-42), true},
		{`3.5`, 3.5, true},
		{`1e3`, 1000.0, true},
		{`12345678901234567890`, 12345678901234567890.0, true},
		{`true`, true, true},
		{`false`, false, true},
		{`null`, nil, true},
		{`{"a":1}`, nil, false},
		{`[1]`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			raw := []byte(tt.raw)
			got, ok := d.scalar(newText(raw), raw)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got.AsAny())
		})
	}
}

func TestDecodePixelQueryRules(t *testing.T) {
	d := testDecoder()
	req := Request{Received: time.Unix(100, 0)}
	// First non-empty value wins, malformed pairs and unknown parameters are
	// skipped, escaped keys work.
	ev, rej := d.DecodePixel("s=&s=shop&s=other&url=http%3A%2F%2Fa.b%2F&bad=%zz&%70.k=v&p.k=second&cb=123", req)
	require.Nil(t, rej)
	assert.Equal(t, "shop", ev.SiteID)
	assert.Equal(t, "http://a.b/", ev.URL.Full)
	assert.Equal(t, []Prop{{Key: "k", Value: StringValue("v")}}, ev.Props)
	assert.Equal(t, eventmodel.EventPageView, ev.Name)
	// A pixel has no client clock: its time is the receive time, which
	// replaces nothing.
	assert.Equal(t, eventtime.Time{At: req.Received, Source: eventmodel.TimeSourceReceiveTime}, ev.Time)
	assert.Equal(t, req.Received, ev.Observed)
}

func TestDecodePixelRejections(t *testing.T) {
	d := testDecoder()
	tests := []struct {
		query string
		want  Reason
	}{
		{"url=http://a.b/", ReasonUnknownSite},
		{"s=blog&url=http://a.b/", ReasonUnknownSite},
		{"s=shop", ReasonMissingURL},
		{"s=shop&url=/relative", ReasonInvalidURL},
		{"s=shop&url=http://a.b/" + strings.Repeat("x", 20), ReasonURLTooLong},
		{"s=shop&url=http://a.b/&vid=a%20b", ReasonInvalidID},
		{"s=shop&url=http://a.b/&sid=a/b", ReasonInvalidID},
		{"s=shop&url=http://a.b/&eid=a*b", ReasonInvalidID},
		{"s=shop&url=http://a.b/&e=click", ReasonInvalidType},
		{"s=shop&url=http://a.b/&e=ev", ReasonMissingName},
		{"s=shop&url=http://a.b/&e=ev&n=%20", ReasonMissingName},
		{"s=shop&url=http://a.b/&p.a=1&p.b=2&p.c=3", ReasonTooManyProperties},
		{"s=shop&url=http://a.b/&p.a.b=1", ReasonInvalidProperty},
		{"s=shop&url=http://a.b/&p.=1", ReasonInvalidProperty},
		// The site is checked before anything else.
		{"s=nope&p.a.b=1", ReasonUnknownSite},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, rej := d.DecodePixel(tt.query, Request{})
			require.NotNil(t, rej)
			assert.Equal(t, tt.want, rej.Reason)
			assert.NotEmpty(t, rej.Message)
		})
	}
}

func TestDecodeBeaconRejections(t *testing.T) {
	d := testDecoder()
	whole := []struct {
		body string
		want Reason
	}{
		{``, ReasonInvalidJSON},
		{`null`, ReasonInvalidJSON},
		{`[]`, ReasonInvalidJSON},
		{`{"site":"shop"`, ReasonInvalidJSON},
		{`{"site":1}`, ReasonInvalidJSON},
		{`{"site":"shop","events":{}}`, ReasonInvalidJSON},
		{`{"site":"shop","sent_at":"now","events":[{}]}`, ReasonInvalidJSON},
		{`{"events":[{}]}`, ReasonUnknownSite},
		{`{"site":"blog","events":[{}]}`, ReasonUnknownSite},
		{`{"site":"shop","visitor_id":"a b","events":[{}]}`, ReasonInvalidID},
		{`{"site":"shop"}`, ReasonNoEvents},
		{`{"site":"shop","events":[]}`, ReasonNoEvents},
		{`{"site":"shop","events":[{},{},{},{}]}`, ReasonTooManyEvents},
	}
	for _, tt := range whole {
		t.Run(tt.body, func(t *testing.T) {
			_, rej := d.DecodeBeacon([]byte(tt.body), Request{})
			require.NotNil(t, rej)
			assert.Equal(t, tt.want, rej.Reason, rej.Message)
		})
	}

	events := []struct {
		event string
		want  Reason
	}{
		{`null`, ReasonInvalidEvent},
		{`"page"`, ReasonInvalidEvent},
		{`{"url":5}`, ReasonInvalidEvent},
		{`{"ts":"yesterday","url":"http://a.b/"}`, ReasonInvalidEvent},
		{`{"props":[1],"url":"http://a.b/"}`, ReasonInvalidEvent},
		{`{"id":"a b","url":"http://a.b/"}`, ReasonInvalidID},
		{`{"type":"click","url":"http://a.b/"}`, ReasonInvalidType},
		{`{}`, ReasonMissingURL},
		{`{"url":"a.example/page"}`, ReasonInvalidURL},
		{`{"url":"http://a.b/0123456789"}`, ReasonURLTooLong},
		{`{"type":"custom","url":"http://a.b/"}`, ReasonMissingName},
		{`{"url":"http://a.b/","props":{"a":1,"b":2,"c":3}}`, ReasonTooManyProperties},
		{`{"url":"http://a.b/","props":{"a":{"b":1}}}`, ReasonInvalidProperty},
		{`{"url":"http://a.b/","props":{"a":[1]}}`, ReasonInvalidProperty},
		{`{"url":"http://a.b/","props":{"a b":1}}`, ReasonInvalidProperty},
	}
	for _, tt := range events {
		t.Run(tt.event, func(t *testing.T) {
			b, rej := d.DecodeBeacon([]byte(`{"site":"shop","events":[{"url":"http://a.b/"},`+tt.event+`]}`), Request{})
			require.Nil(t, rej)
			require.Len(t, b.Events, 1)
			require.Len(t, b.Rejected, 1)
			assert.Equal(t, 1, b.Rejected[0].Index)
			assert.Equal(t, tt.want, b.Rejected[0].Reason, b.Rejected[0].Message)
		})
	}
}

func TestRejectionMessagesDoNotEchoValues(t *testing.T) {
	d := testDecoder()
	secret := "alice@example.com"
	_, rej := d.DecodePixel("s=shop&url="+secret+"&vid="+secret, Request{})
	require.NotNil(t, rej)
	assert.NotContains(t, rej.Error(), secret)
	b, rej := d.DecodeBeacon([]byte(`{"site":"shop","events":[{"url":"`+secret+`"},{"id":"`+secret+`"}]}`), Request{})
	require.Nil(t, rej)
	for _, r := range b.Rejected {
		assert.NotContains(t, r.Error(), secret)
	}
}

func TestReasonsAreUnique(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons {
		require.False(t, seen[r], r)
		require.Regexp(t, `^[a-z_]+$`, string(r))
		seen[r] = true
	}
}
