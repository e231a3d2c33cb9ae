package pixelreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

const testBlogImportKey = "blog-import-key-0123456789abcdef"

// withImportFormats maps the trackers' ids of shop (Matomo site 1,
// Snowplow app shop-web, Plausible domain shop.example) and of blog
// (2, blog-web, blog.example) with every protocol switched off: the
// import key is what lets a site list them (its import of a tracker's
// history). shop has a write key, which no line needs.
func withImportFormats(cfg *Config) {
	withImportKey(cfg)
	cfg.Sites[0].Import.MaxAge = 30 * 24 * time.Hour
	cfg.Sites[1].Import.Key = testBlogImportKey
	for i, ids := range []struct {
		matomo    int
		snowplow  string
		plausible string
	}{{1, "shop-web", "shop.example"}, {2, "blog-web", "blog.example"}} {
		p := &cfg.Sites[i].Protocols
		p.Matomo.SiteIDs = []int{ids.matomo}
		p.Snowplow.AppIDs = []string{ids.snowplow}
		p.Plausible.Domains = []string{ids.plausible}
	}
}

// formatLines make one line of each format: a page view of page path by
// visitor n at at. Matomo's cdt is in seconds, with the milliseconds as a
// fraction.
var formatLines = map[string]func(at time.Time, n int, path string) string{
	formatMatomo: func(at time.Time, n int, path string) string {
		return fmt.Sprintf("?idsite=1&rec=1&url=%s&action_name=Page&_id=%016x&cdt=%d.%03d&send_image=0",
			url.QueryEscape("https://shop.example"+path), n+1, at.Unix(), at.Nanosecond()/1e6)
	},
	formatSnowplow: func(at time.Time, n int, path string) string {
		return fmt.Sprintf(`{"e":"pv","aid":"shop-web","p":"web","tv":"js-4.0.0","eid":"5e1f1b2e-0000-4000-8000-%012d","url":"https://shop.example%s","duid":"duid-%d","sid":"sid-%d","dtm":"%d","stm":"%d"}`,
			at.UnixMilli()%1e12, path, n, n, at.UnixMilli(), at.UnixMilli()+5)
	},
	formatGA4: func(at time.Time, n int, path string) string {
		return fmt.Sprintf(`{"client_id":"%d.1700000000","timestamp_micros":%d,"events":[{"name":"page_view","params":{"page_location":"https://shop.example%s"}}]}`,
			1000+n, at.UnixMicro(), path)
	},
	formatPlausible: func(at time.Time, _ int, path string) string {
		return fmt.Sprintf(`{"n":"pageview","u":"https://shop.example%s","d":"shop.example","ts":%d}`, path, at.UnixMilli())
	},
}

// timelessLines are good lines without their time.
var timelessLines = map[string]string{
	formatMatomo:    "idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&_id=0000000000000001",
	formatSnowplow:  "e=pv&aid=shop-web&eid=6f0c7d5e-0000-4000-8000-000000000001&url=https%3A%2F%2Fshop.example%2F&stm=1",
	formatGA4:       `{"client_id":"1.2","events":[{"name":"page_view","params":{"page_location":"https://shop.example/"}}]}`,
	formatPlausible: `{"n":"pageview","u":"https://shop.example/","d":"shop.example"}`,
}

// otherSiteLines name blog (its Matomo site, Snowplow app, Plausible
// domain) in an import of shop. GA4's line names no site.
var otherSiteLines = map[string]string{
	formatMatomo:    "idsite=2&rec=1&url=https%3A%2F%2Fshop.example%2F&cdt=1780000000",
	formatSnowplow:  `{"e":"pv","aid":"blog-web","url":"https://shop.example/","dtm":"1780000000000"}`,
	formatPlausible: `{"n":"pageview","u":"https://shop.example/","d":"blog.example","ts":1780000000000}`,
}

var protocolFormats = []string{formatMatomo, formatSnowplow, formatGA4, formatPlausible}

func newImportTestReceiver(t testing.TB, mutate ...func(*Config)) *pixelReceiver {
	return newImportTestReceiverTo(t, consumertest.NewNop(), mutate...)
}

func newImportTestReceiverTo(t testing.TB, next consumer.Logs, mutate ...func(*Config)) *pixelReceiver {
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop"), testSite("blog")}
	cfg.Bots.Action = BotActionKeep
	withImportFormats(cfg)
	for _, m := range mutate {
		m(cfg)
	}
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = componenttest.NewNopTelemetrySettings()
	r, err := newPixelReceiver(cfg, set, next)
	require.NoError(t, err)
	return r
}

// The time rule of an imported hit, walked at its bounds for every
// format: kept as sent at exactly max_age and 10 s ahead, refused one
// millisecond beyond either, refused without a time; never corrected.
func TestImportFormatsTimeBoundaries(t *testing.T) {
	r := newImportTestReceiver(t)
	received := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	maxAge := 30 * 24 * time.Hour
	for _, format := range protocolFormats {
		imp := &webevent.Import{Site: "shop", Received: received, MaxAge: maxAge, Format: format}
		for _, tc := range []struct {
			name   string
			at     time.Time
			reason webevent.Reason
		}{
			{"exactly max_age", received.Add(-maxAge), ""},
			{"one ms older", received.Add(-maxAge - time.Millisecond), webevent.ReasonTimeTooOld},
			{"10 s ahead", received.Add(10 * time.Second), ""},
			{"one ms more ahead", received.Add(10*time.Second + time.Millisecond), webevent.ReasonTimeInFuture},
			{"a minute ago", received.Add(-time.Minute), ""},
		} {
			line := formatLines[format](tc.at, 1, "/")
			events, rejs := r.decodeImportLine([]byte(line), imp, nil)
			if tc.reason != "" {
				require.Len(t, rejs, 1, "%s %s", format, tc.name)
				assert.Equal(t, tc.reason, rejs[0].Reason, "%s %s", format, tc.name)
				assert.Empty(t, events, "%s %s", format, tc.name)
				continue
			}
			require.Empty(t, rejs, "%s %s: %v", format, tc.name, rejs)
			require.Len(t, events, 1, "%s %s", format, tc.name)
			ev := events[0]
			assert.Equal(t, tc.at, ev.Time.At.UTC(), "%s %s", format, tc.name)
			assert.Equal(t, eventmodel.TimeSourceClient, ev.Time.Source, "%s %s", format, tc.name)
			assert.Empty(t, ev.Time.Correction, "%s %s", format, tc.name)
		}
		_, rejs := r.decodeImportLine([]byte(timelessLines[format]), imp, nil)
		require.Len(t, rejs, 1, format)
		assert.Equal(t, webevent.ReasonMissingTime, rejs[0].Reason, format)

		// max_age 0: any age (but not before 1970).
		anyAge := &webevent.Import{Site: "shop", Received: received, Format: format}
		old := time.Date(2009, 3, 1, 0, 0, 0, 0, time.UTC)
		events, rejs := r.decodeImportLine([]byte(formatLines[format](old, 1, "/")), anyAge, nil)
		require.Empty(t, rejs, format)
		assert.Equal(t, old, events[0].Time.At.UTC(), format)
	}
}

// Each format's hit decodes with its protocol's mapping, on channel
// import with the format kept, and the same line always gets the same id.
func TestImportFormatsDecode(t *testing.T) {
	r := newImportTestReceiver(t)
	received := time.Now()
	at := received.Add(-48 * time.Hour).Truncate(time.Millisecond)
	for _, tc := range []struct {
		format, line string
		name, url    string
		visitor, id  string // id "": derived from the line
	}{
		{formatMatomo, formatLines[formatMatomo](at, 7, "/shoes"), eventmodel.EventPageView, "https://shop.example/shoes", "0000000000000008", ""},
		{formatMatomo, "https://matomo.example/matomo.php?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fa&_id=00000000000000ab&e_c=Video&e_a=play&cdt=" +
			url.QueryEscape(at.UTC().Format(time.DateTime)) + "&token_auth=not-the-key",
			eventmodel.EventCustom, "https://shop.example/a", "00000000000000ab", ""},
		{formatSnowplow, formatLines[formatSnowplow](at, 3, "/x"), eventmodel.EventPageView, "https://shop.example/x", "duid-3",
			fmt.Sprintf("5e1f1b2e-0000-4000-8000-%012d", at.UnixMilli()%1e12)},
		{formatSnowplow, fmt.Sprintf("?e=se&aid=shop-web&se_ca=video&se_ac=play&url=https%%3A%%2F%%2Fshop.example%%2Fv&duid=d-9&ttm=%d&dtm=1&k=wrong", at.UnixMilli()),
			eventmodel.EventCustom, "https://shop.example/v", "d-9", ""},
		{formatGA4, formatLines[formatGA4](at, 5, "/g"), eventmodel.EventPageView, "https://shop.example/g", "1005.1700000000", ""},
		{formatPlausible, formatLines[formatPlausible](at, 0, "/p"), eventmodel.EventPageView, "https://shop.example/p", "", ""},
	} {
		imp := &webevent.Import{Site: "shop", Received: received, MaxAge: 30 * 24 * time.Hour, Format: tc.format}
		events, rejs := r.decodeImportLine([]byte(tc.line), imp, nil)
		require.Empty(t, rejs, "%s %s", tc.format, tc.line)
		require.Len(t, events, 1)
		ev := events[0]
		assert.Equal(t, tc.name, ev.Name, tc.line)
		assert.Equal(t, tc.url, ev.URL.Full, tc.line)
		assert.Equal(t, tc.visitor, ev.VisitorID, tc.line)
		want := at
		if strings.Contains(tc.line, "e_c=Video") {
			want = at.Truncate(time.Second) // YYYY-MM-DD HH:MM:SS
		}
		assert.Equal(t, want, ev.Time.At, tc.line)
		assert.Equal(t, eventmodel.ChannelImport, ev.Channel, tc.line)
		assert.Equal(t, tc.format, ev.ImportFormat, tc.line)
		if tc.id != "" {
			assert.Equal(t, tc.id, ev.ID, "the protocol's own event id")
			assert.False(t, ev.GeneratedID)
			continue
		}
		require.True(t, ev.GeneratedID, tc.line)
		// Through importLine: the id derived from the line, twice the same.
		s := r.sites["shop"]
		first, rejs := r.importLine(context.Background(), []byte(tc.line), false, s, imp, nil)
		require.Empty(t, rejs)
		again, _ := r.importLine(context.Background(), []byte(" "+tc.line+" "), false, s, imp, nil)
		assert.Regexp(t, `^imp-[0-9a-f]{32}-0$`, first[0].ID)
		assert.Equal(t, first[0].ID, again[0].ID, "same line, same id")
		changed := tc.line + "&z=1"
		if strings.HasPrefix(tc.line, "{") {
			changed = `{"z":1,` + tc.line[1:]
		}
		other, _ := r.importLine(context.Background(), []byte(changed), false, s, imp, nil)
		assert.NotEqual(t, first[0].ID, other[0].ID, "another line, another id")
	}
}

// Matomo's authenticated overrides hold for an import (its key
// authenticates as token_auth would): cip and ua become the event's
// address and user agent; a GA4 line's ip_override too.
func TestImportFormatsOverrides(t *testing.T) {
	r := newImportTestReceiver(t)
	received := time.Now()
	imp := &webevent.Import{Site: "shop", Received: received, Format: formatMatomo}
	line := fmt.Sprintf("idsite=1&rec=1&url=https%%3A%%2F%%2Fshop.example%%2F&cdt=%d&cip=203.0.113.9&ua=%s",
		received.Add(-time.Hour).Unix(), url.QueryEscape("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"))
	events, rejs := r.decodeImportLine([]byte(line), imp, nil)
	require.Empty(t, rejs)
	assert.Equal(t, "203.0.113.9", events[0].ClientAddr)
	assert.Equal(t, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", events[0].UserAgent)

	imp.Format = formatGA4
	events, rejs = r.decodeImportLine([]byte(fmt.Sprintf(`{"client_id":"1.2","ip_override":"198.51.100.7","timestamp_micros":%d,"events":[{"name":"page_view","params":{"page_location":"https://shop.example/"}}]}`,
		received.Add(-time.Hour).UnixMicro())), imp, nil)
	require.Empty(t, rejs)
	assert.Equal(t, "198.51.100.7", events[0].ClientAddr)
}

func (e *testEnv) postImportFormat(site, key, format, body string) importSummary {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+"/wj/import?site="+site+"&format="+format, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+key)
	resp := e.do(req)
	require.Equal(e.t, http.StatusOK, resp.status, string(resp.body))
	var sum importSummary
	require.NoError(e.t, json.Unmarshal(resp.body, &sum))
	return sum
}

// Through the endpoint, per format: good lines accepted, a line repeated
// counted as a duplicate, and every bad line rejected with its reason and
// line number in the summary and in the receiver's telemetry under
// channel import. No line needs the site's write key.
func TestImportFormatsSummary(t *testing.T) {
	for _, format := range protocolFormats {
		t.Run(format, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			e := startReceiver(t, sink, withImportFormats)
			now := time.Now()
			good := formatLines[format]
			lines := []string{
				good(now.Add(-time.Hour), 1, "/a"),
				good(now.Add(-time.Hour+time.Second), 2, "/b"),
				good(now.Add(-time.Hour), 1, "/a"), // line 1 again
				timelessLines[format],
				good(now.Add(-40*24*time.Hour), 1, "/old"),
				"",
				good(now.Add(time.Hour), 1, "/future"),
				"{not a hit",
			}
			want := map[string]int{"missing_time": 1, "time_too_old": 1, "time_in_future": 1}
			wantLines := []int{4, 5, 7, 8}
			if other, ok := otherSiteLines[format]; ok {
				lines = append(lines, other)
				want["unknown_site"] = 1
				wantLines = append(wantLines, 9)
			}
			switch format {
			case formatMatomo:
				want["invalid_request"] = 1 // no rec=1
			case formatSnowplow, formatPlausible, formatGA4:
				want["invalid_json"] = 1
			}
			sum := e.postImportFormat("shop", testImportKey, format, strings.Join(lines, "\n"))
			assert.Equal(t, 2, sum.Accepted)
			assert.Equal(t, 1, sum.Duplicates)
			assert.Equal(t, want, sum.Rejected)
			var got []int
			for _, rl := range sum.RejectedLines {
				got = append(got, rl.Line)
				assert.NotEmpty(t, rl.Message)
			}
			assert.Equal(t, wantLines, got)
			var rejections []rejection
			for reason, n := range want {
				rejections = append(rejections, rejection{channelImport, reason, int64(n)})
			}
			e.requireRejections(rejections...)

			records := allRecords(sink)
			require.Len(t, records, 2)
			for _, lr := range records {
				a := lr.Attributes().AsRaw()
				assert.Equal(t, eventmodel.ChannelImport, a[eventmodel.AttrIngestChannel])
				assert.Equal(t, format, a[eventmodel.AttrIngestFormat])
				assert.Equal(t, eventmodel.TimeSourceClient, a[eventmodel.AttrTimeSource])
			}
			// blog's import key imports blog's hits only, and shop's lines
			// are not blog's.
			if _, ok := otherSiteLines[format]; ok {
				sum = e.postImportFormat("blog", testBlogImportKey, format, lines[0])
				assert.Equal(t, map[string]int{"unknown_site": 1}, sum.Rejected)
			}
		})
	}
}

// A GA4 line is a request of several events: each is kept or refused on
// its own, and the ids are the line's and the event's index.
func TestImportGA4Events(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, withImportFormats)
	now := time.Now()
	line := fmt.Sprintf(`{"client_id":"77.1","events":[`+
		`{"name":"page_view","timestamp_micros":%d,"params":{"page_location":"https://shop.example/"}},`+
		`{"name":"sign_up","params":{"page_location":"https://shop.example/"}},`+
		`{"name":"purchase","timestamp_micros":%d,"params":{"page_location":"https://shop.example/thanks","value":12.5,"currency":"EUR"}}]}`,
		now.Add(-2*time.Hour).UnixMicro(), now.Add(-time.Hour).UnixMicro())
	sum := e.postImportFormat("shop", testImportKey, formatGA4, line)
	assert.Equal(t, 2, sum.Accepted)
	assert.Equal(t, map[string]int{"missing_time": 1}, sum.Rejected)
	require.Len(t, sum.RejectedLines, 1)
	assert.Equal(t, 1, sum.RejectedLines[0].Line)
	assert.Contains(t, sum.RejectedLines[0].Message, "events[1].timestamp_micros")
	records := allRecords(sink)
	require.Len(t, records, 2)
	id0 := records[0].Attributes().AsRaw()[eventmodel.AttrEventID].(string)
	id2 := records[1].Attributes().AsRaw()[eventmodel.AttrEventID].(string)
	assert.Regexp(t, `^imp-[0-9a-f]{32}-0$`, id0)
	assert.Equal(t, strings.TrimSuffix(id0, "-0")+"-2", id2, "the event's index in the line, refused events counted")
}

func TestImportFormatParameter(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, withImportFormats)
	resp := e.request(http.MethodPost, "/wj/import?site=shop&format=csv", "x", map[string]string{"Authorization": "Bearer " + testImportKey, "Content-Type": "text/plain"})
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, string(webevent.ReasonInvalidRequest), requireJSON(t, resp)["error"])
	e.requireRejections(rejection{channelImport, string(webevent.ReasonInvalidRequest), 1})
	assert.Zero(t, sink.LogRecordCount())
}

// A site that lists a tracker's ids with the protocol off must take
// imports (have an import key): else the ids would serve nothing.
func TestImportFormatsConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.Sites[0].Protocols.Matomo.SiteIDs = []int{1}
	cfg.Sites[0].Protocols.Snowplow.AppIDs = []string{"a"}
	cfg.Sites[0].Protocols.Plausible.Domains = []string{"shop.example"}
	err := cfg.Validate()
	require.Error(t, err)
	for _, key := range []string{"matomo::site_ids", "snowplow::app_ids", "plausible::domains"} {
		assert.ErrorContains(t, err, "sites::0::protocols::"+key+": set, but protocols::")
	}
	assert.ErrorContains(t, err, "give the site an import key")
	cfg.Sites[0].Import.Key = testImportKey
	require.NoError(t, cfg.Validate())
}

// FuzzImportFormats feeds any body to the import in every format: never
// a crash; every line is counted once as accepted, duplicate or rejected
// (a GA4 line per event); every event that goes on is of channel import,
// keeps the format, has a valid id and its own time within the import's
// rule.
func FuzzImportFormats(f *testing.F) {
	at := time.Now().Add(-time.Hour)
	for i, format := range importFormats {
		if format == formatNDJSON {
			f.Add(uint8(i), []byte(importLine("e-1", at, "")+"\n"+importLine("e-1", at, "")))
			continue
		}
		f.Add(uint8(i), []byte(formatLines[format](at, 1, "/a")+"\n"+formatLines[format](at, 2, "/b")+"\n"+timelessLines[format]))
		f.Add(uint8(i), []byte(formatLines[format](at.Add(time.Hour), 1, "/\xff")+"\r\n\n"+otherSiteLines[format]))
	}
	f.Add(uint8(1), []byte("idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&cdt=1e308&cip=fe80::1%25eth0&ua=%ff&idgoal=0&ec_items=[[1]]"))
	f.Add(uint8(2), []byte(`{"e":"ue","aid":"shop-web","ue_pr":"{\"schema\":1}","co":{"data":[null]},"ttm":"-1","dtm":"x","url":"https://shop.example/"}`))
	f.Add(uint8(3), []byte(`{"client_id":"1.2","timestamp_micros":"1e300","events":[{"name":"_x","timestamp_micros":-5},null,{"name":"page_view","params":{"page_location":"javascript:1"}}]}`))
	f.Add(uint8(4), []byte(`{"n":"pageview","u":"https://shop.example/","d":"shop.example,blog.example","ts":"1"}`))
	received := time.Now()
	sink := new(consumertest.LogsSink)
	r := newImportTestReceiverTo(f, sink, func(cfg *Config) {
		cfg.Limits.MaxStringLength = fuzzMaxString
		cfg.Sites[0].Import.MaxAge = 0
	})
	s := r.sites["shop"]
	f.Fuzz(func(t *testing.T, format uint8, body []byte) {
		sink.Reset()
		imp := &webevent.Import{Site: "shop", Received: received, Format: importFormats[int(format)%len(importFormats)]}
		sum, status := r.importBody(context.Background(), s, imp, bytes.NewReader(body))
		if status != http.StatusOK {
			t.Fatalf("status %d: %+v", status, sum)
		}
		records := allRecords(sink)
		if sum.Accepted != len(records) {
			t.Fatalf("accepted %d, forwarded %d", sum.Accepted, len(records))
		}
		rejected := 0
		for _, n := range sum.Rejected {
			rejected += n
		}
		if imp.Format != formatGA4 && sum.Accepted+sum.Duplicates+rejected != sum.Lines {
			t.Fatalf("lines %d != accepted %d + duplicates %d + rejected %d", sum.Lines, sum.Accepted, sum.Duplicates, rejected)
		}
		for _, lr := range records {
			a := lr.Attributes().AsRaw()
			id, _ := a[eventmodel.AttrEventID].(string)
			if a[eventmodel.AttrIngestChannel] != eventmodel.ChannelImport || a[eventmodel.AttrIngestFormat] != imp.Format ||
				!webevent.ValidID(id) || a[eventmodel.AttrSiteID] != "shop" || a[eventmodel.AttrTimeSource] != eventmodel.TimeSourceClient {
				t.Fatalf("record %v", a)
			}
			if at := lr.Timestamp().AsTime(); at.After(received.Add(10*time.Second)) || at.Before(time.Unix(0, 0)) {
				t.Fatalf("time %v", at)
			}
		}
	})
}

// The example line of each format in docs/import.md imports as it says.
func TestImportFormatsDocExamples(t *testing.T) {
	raw, err := os.ReadFile("../../docs/import.md")
	require.NoError(t, err)
	doc := string(raw)
	r := newImportTestReceiver(t)
	for _, format := range protocolFormats {
		_, section, ok := strings.Cut(doc, "\n### "+format+"\n")
		require.True(t, ok, format)
		_, block, ok := strings.Cut(section, "```")
		require.True(t, ok, format)
		_, block, _ = strings.Cut(block, "\n") // the fence's language
		line, _, _ := strings.Cut(block, "\n```")
		imp := &webevent.Import{Site: "shop", Received: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Format: format}
		events, rejs := r.decodeImportLine([]byte(line), imp, nil)
		require.Empty(t, rejs, "%s: %s", format, line)
		require.NotEmpty(t, events, format)
		for _, ev := range events {
			assert.Equal(t, "https://shop.example", ev.URL.Scheme+"://"+ev.URL.Domain, format)
		}
		assert.Equal(t, time.Date(2025, 3, 10, 12, 55, 36, 0, time.UTC), events[0].Time.At.UTC().Truncate(time.Second), format)
	}
}

func TestImportQuery(t *testing.T) {
	for line, want := range map[string]string{
		"idsite=1&rec=1":                               "idsite=1&rec=1",
		"?idsite=1&rec=1":                              "idsite=1&rec=1",
		" /matomo.php?idsite=1&rec=1\r":                "idsite=1&rec=1",
		"https://m.example/piwik.php?idsite=1&rec=1":   "idsite=1&rec=1",
		"idsite=1&rec=1&url=https://shop.example/?a=b": "idsite=1&rec=1&url=https://shop.example/?a=b",
		"/i?e=pv&aid=a":                                "e=pv&aid=a",
	} {
		assert.Equal(t, want, importQuery([]byte(line)), line)
	}
}

// formatSource writes n lines of one tracker format on demand.
type formatSource struct {
	format  string
	n, next int
	at      time.Time
	pending []byte
}

func (s *formatSource) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.next == s.n {
			return 0, io.EOF
		}
		line := formatLines[s.format](s.at.Add(time.Duration(s.next)*time.Second), s.next%997, fmt.Sprintf("/catalogue/item-%d", s.next%5000))
		s.pending = append(append(s.pending[:0], line...), '\n')
		s.next++
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// BenchmarkImportFormats is the receiver's cost per imported line of each
// tracker format (decode with the protocol's decoder, the import's rules,
// pdata, the duplicate check), in bodies of 10 000 lines into a nop
// consumer; BenchmarkImport is the same for NDJSON.
func BenchmarkImportFormats(b *testing.B) {
	r := newImportTestReceiver(b)
	s := r.sites["shop"]
	const lines = 10_000
	for _, format := range protocolFormats {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				imp := &webevent.Import{Site: "shop", Received: time.Now(), Format: format}
				sum, status := r.importBody(context.Background(), s, imp, &formatSource{format: format, n: lines, at: time.Now().Add(-20 * 24 * time.Hour)})
				if status != http.StatusOK || sum.Accepted != lines {
					b.Fatalf("%d %+v", status, sum)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
			b.ReportMetric(0, "ns/op")
		})
	}
}
