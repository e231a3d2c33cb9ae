package pixelreceiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

const testImportKey = "import-key-0123456789abcdef"

// withImportKey gives site shop an import key (and a write key, which must
// never open the import) and leaves blog without one.
func withImportKey(cfg *Config) {
	cfg.Sites[0].WriteKey = "write-key-0123456789"
	cfg.Sites[0].Import.Key = testImportKey
}

func (e *testEnv) postImport(site, key, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+"/wj/import?site="+site, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return e.do(req)
}

func importLine(id string, at time.Time, extra string) string {
	return fmt.Sprintf(`{"id":%q,"ts":%d,"url":"https://shop.example/%s","visitor_id":"v-1"%s}`, id, at.UnixMilli(), id, extra)
}

func TestImportAuthentication(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, withImportKey)
	line := importLine("e-1", time.Now().Add(-time.Hour), "")
	for _, tc := range []struct{ name, site, key string }{
		{"no key", "shop", ""},
		{"wrong key", "shop", testImportKey + "x"},
		{"a prefix of the key", "shop", testImportKey[:20]},
		{"the public write key", "shop", "write-key-0123456789"},
		{"a site without import", "blog", testImportKey},
		{"an unknown site", "nope", testImportKey},
		{"no site", "", testImportKey},
	} {
		resp := e.postImport(tc.site, tc.key, line)
		assert.Equal(t, http.StatusUnauthorized, resp.status, tc.name)
		assert.Equal(t, `Bearer realm="webjourney import"`, resp.header.Get("WWW-Authenticate"), tc.name)
		assert.Equal(t, string(webevent.ReasonInvalidImportKey), requireJSON(t, resp)["error"], tc.name)
	}
	resp := e.request(http.MethodGet, "/wj/import?site=shop", "", map[string]string{"Authorization": "Bearer " + testImportKey})
	assert.Equal(t, http.StatusMethodNotAllowed, resp.status)
	resp = e.request(http.MethodPost, "/wj/import?site=shop", line, map[string]string{"Authorization": "Bearer " + testImportKey, "Content-Type": "application/json"})
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.status)
	assert.Zero(t, sink.LogRecordCount(), "nothing of a refused import reaches the pipeline")
	e.requireRejections(
		rejection{channelImport, string(webevent.ReasonInvalidImportKey), 7},
		rejection{channelImport, string(webevent.ReasonMethodNotAllowed), 1},
		rejection{channelImport, string(webevent.ReasonUnsupportedMediaType), 1},
	)

	resp = e.postImport("shop", testImportKey, line)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 1, sink.LogRecordCount())
}

func TestImportKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "import.key")
	require.NoError(t, os.WriteFile(path, []byte(testImportKey+"\n"), 0o600))
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) { cfg.Sites[0].Import.KeyFile = path })
	resp := e.postImport("shop", testImportKey, importLine("e-1", time.Now(), ""))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))

	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.Sites[0].Import.KeyFile = filepath.Join(t.TempDir(), "missing.key")
	_, err := newSites(cfg)
	require.ErrorContains(t, err, "sites::shop::import::key_file: ")
	require.NoError(t, os.WriteFile(path, []byte("short\n"), 0o600))
	cfg.Sites[0].Import.KeyFile = path
	_, err = newSites(cfg)
	require.ErrorContains(t, err, "sites::shop::import::key_file: must be 16-256 bytes")
}

// The summary counts every line: accepted, repeated ids, rejections by
// reason with their line numbers; the events go on with their own times,
// on channel import, and the rules of live events (cookieless) apply.
func TestImportSummary(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, withImportKey, func(cfg *Config) {
		cfg.Sites[0].Import.MaxAge = 400 * 24 * time.Hour
		cfg.ServerConfig.MaxRequestBodySize = 1 << 20 // the long line
	})
	old := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	if time.Since(old) > 400*24*time.Hour {
		t.Skip("the fixture's time is outside max_age")
	}
	body := strings.Join([]string{
		importLine("e-1", old, ""),
		"",
		importLine("e-2", old.Add(time.Minute), `,"cookieless":true,"user_id":"u-1"`) + "\r",
		importLine("e-1", old, ""), // the same event again
		`{"id":"e-3"`,
		importLine("e-4", old.AddDate(-2, 0, 0), ""),
		`{"id":"e-5","url":"https://shop.example/"}`,
		`{"id":"e-6","ts":1,"url":"https://shop.example/` + strings.Repeat("x", maxImportLine) + `"}`,
		importLine("e-7", old.Add(2*time.Minute), `,"type":"custom","name":"signup"`),
	}, "\n")
	resp := e.postImport("shop", testImportKey, body)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	var sum importSummary
	require.NoError(t, json.Unmarshal(resp.body, &sum))
	assert.Equal(t, importSummary{
		Lines: 8, Accepted: 3, Duplicates: 1,
		Rejected: map[string]int{"invalid_json": 1, "time_too_old": 1, "missing_time": 1, "line_too_long": 1},
		RejectedLines: []rejectedLine{
			{Line: 5, Error: "invalid_json", Message: "the line is not a JSON object: syntax error at offset 11"},
			{Line: 6, Error: "time_too_old", Message: "ts is older than the site's import max_age (or before 1970)"},
			{Line: 7, Error: "missing_time", Message: "ts (milliseconds since the epoch) is missing"},
			{Line: 8, Error: "line_too_long", Message: "the line is longer than 262144 bytes"},
		},
	}, sum)

	records := allRecords(sink)
	require.Len(t, records, 3)
	for i, want := range []struct {
		id string
		at time.Time
	}{{"e-1", old}, {"e-2", old.Add(time.Minute)}, {"e-7", old.Add(2 * time.Minute)}} {
		lr := records[i]
		a := lr.Attributes().AsRaw()
		assert.Equal(t, want.id, a[eventmodel.AttrEventID])
		assert.Equal(t, want.at, lr.Timestamp().AsTime())
		assert.Equal(t, eventmodel.ChannelImport, a[eventmodel.AttrIngestChannel])
		assert.Equal(t, eventmodel.TimeSourceClient, a[eventmodel.AttrTimeSource])
	}
	cookieless := records[1].Attributes().AsRaw()
	assert.NotContains(t, cookieless, eventmodel.AttrVisitorID, "a cookieless import loses its identifiers as a live event does")
	assert.NotContains(t, cookieless, eventmodel.AttrUserID)
	e.requireRejections(
		rejection{channelImport, "invalid_json", 1},
		rejection{channelImport, "time_too_old", 1},
		rejection{channelImport, "missing_time", 1},
		rejection{channelImport, "line_too_long", 1},
	)
	_, err := e.tel.GetMetric("otelcol_receiver_pixel_time_corrections")
	require.Error(t, err, "an imported time is kept or refused, never corrected")
}

// Imported user agents meet bots::action as live ones do.
func TestImportBots(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, withImportKey, func(cfg *Config) { cfg.Bots.Action = BotActionDrop })
	at := time.Now().Add(-time.Hour)
	body := importLine("e-1", at, `,"user_agent":"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"`) + "\n" +
		importLine("e-2", at, `,"automation":true`) + "\n" +
		importLine("e-3", at, `,"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"`)
	resp := e.postImport("shop", testImportKey, body)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	var sum importSummary
	require.NoError(t, json.Unmarshal(resp.body, &sum))
	assert.Equal(t, 1, sum.Accepted)
	assert.Equal(t, map[string]int{"bot": 2}, sum.Rejected)
	e.requireRejections(rejection{channelImport, "bot", 2})
}

func allRecords(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for i := range ld.ResourceLogs().Len() {
			for j := range ld.ResourceLogs().At(i).ScopeLogs().Len() {
				lrs := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
				for k := range lrs.Len() {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// A pipeline that refuses stops the import where it is: the answer says
// how far it got, and that a retry is welcome.
func TestImportPipelineRefuses(t *testing.T) {
	var calls atomic.Int64
	next, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if calls.Add(1) > 1 {
			return errors.New("queue full")
		}
		return nil
	})
	require.NoError(t, err)
	e := startReceiver(t, next, withImportKey)
	lines := make([]string, importBatchSize*3)
	for i := range lines {
		lines[i] = importLine(fmt.Sprintf("e-%d", i), time.Now().Add(-time.Hour), "")
	}
	resp := e.postImport("shop", testImportKey, strings.Join(lines, "\n"))
	require.Equal(t, http.StatusServiceUnavailable, resp.status)
	assert.Equal(t, "5", resp.header.Get("Retry-After"))
	var sum importSummary
	require.NoError(t, json.Unmarshal(resp.body, &sum))
	assert.Equal(t, importBatchSize, sum.Accepted)
	assert.Equal(t, errorPipelineUnavailable, sum.Error)
}

// ndjsonSource writes n import lines on demand: a body of any size
// without holding it.
type ndjsonSource struct {
	n, next int
	at      time.Time
	pending []byte
}

func (s *ndjsonSource) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.next == s.n {
			return 0, io.EOF
		}
		s.pending = fmt.Appendf(s.pending[:0],
			`{"id":"evt-%012d","ts":%d,"type":"page_view","url":"https://shop.example/catalogue/item-%d?ref=import","title":"An item of the catalogue, imported","visitor_id":"v-%d"}`+"\n",
			s.next, s.at.UnixMilli()+int64(s.next), s.next%5000, s.next%997)
		s.next++
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// A body far larger than what the import may hold streams through: the
// heap in use stays bounded (one batch and one line) however long the body
// is. Measured with runtime.MemStats at every batch, no timing involved.
func TestImportStreamsWithBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 128 MiB")
	}
	var events atomic.Int64
	var peak atomic.Uint64
	next, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		events.Add(int64(ld.LogRecordCount()))
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > peak.Load() {
			peak.Store(ms.HeapAlloc)
		}
		return nil
	})
	require.NoError(t, err)
	e := startReceiver(t, next, withImportKey, func(cfg *Config) {
		cfg.ServerConfig.MaxRequestBodySize = 1 << 40
		// One request carries the whole body here; on a busy machine it
		// takes longer than the default read_timeout (30 s), which bounds
		// a request, not memory. webjourneyctl sends small requests.
		cfg.ServerConfig.ReadTimeout = 0
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	const lines = 650_000 // about 128 MiB, far above the bound below
	src := &ndjsonSource{n: lines, at: time.Now().Add(-30 * 24 * time.Hour)}
	req, err := http.NewRequest(http.MethodPost, e.base+"/wj/import?site=shop", src)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+testImportKey)
	resp := e.do(req)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	var sum importSummary
	require.NoError(t, json.Unmarshal(resp.body, &sum))
	assert.Equal(t, lines, sum.Accepted)
	assert.Equal(t, int64(lines), events.Load())

	grew := int64(peak.Load()) - int64(before.HeapAlloc)
	t.Logf("body ~%d MiB; heap before %d MiB, peak %d MiB during the import", lines*200>>20, before.HeapAlloc>>20, peak.Load()>>20)
	// The duplicate check remembers up to maxTrackedIDs ids (~100 bytes
	// each); beyond that, one batch and one line. Far below the body.
	assert.Less(t, grew, int64(48<<20), "the heap grew by %d MiB", grew>>20)
}

// BenchmarkImport is the receiver's cost per imported line (decode, the
// receive-time rules, conversion to pdata, the duplicate check), in
// bodies of 10 000 lines into a nop consumer.
func BenchmarkImport(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.Sites[0].Import.Key = testImportKey
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = componenttest.NewNopTelemetrySettings()
	r, err := newPixelReceiver(cfg, set, consumertest.NewNop())
	require.NoError(b, err)
	s := r.sites["shop"]
	const lines = 10_000
	b.ReportAllocs()
	for b.Loop() {
		imp := &webevent.Import{Site: "shop", Received: time.Now()}
		sum, status := r.importBody(context.Background(), s, imp, &ndjsonSource{n: lines, at: time.Now().Add(-time.Hour)})
		if status != http.StatusOK || sum.Accepted != lines {
			b.Fatalf("%d %+v", status, sum)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}

// A body over max_request_body_size is handled up to the limit and then
// stopped with 413; the line cut off by the limit is not decoded.
func TestImportBodyTooLarge(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, withImportKey, func(cfg *Config) { cfg.ServerConfig.MaxRequestBodySize = 4096 })
	var lines []string
	for i := range 100 { // about 10 KiB
		lines = append(lines, importLine(fmt.Sprintf("e-%d", i), time.Now().Add(-time.Hour), ""))
	}
	resp := e.postImport("shop", testImportKey, strings.Join(lines, "\n"))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.status, string(resp.body))
	var sum importSummary
	require.NoError(t, json.Unmarshal(resp.body, &sum))
	assert.Equal(t, string(webevent.ReasonBodyTooLarge), sum.Error)
	assert.Positive(t, sum.Accepted)
	assert.Less(t, sum.Accepted, 100)
	assert.Empty(t, sum.Rejected, "the cut-off line is no rejected line")
	assert.Equal(t, sum.Accepted, sink.LogRecordCount())
	e.requireRejections(rejection{channelImport, string(webevent.ReasonBodyTooLarge), 1})
}
