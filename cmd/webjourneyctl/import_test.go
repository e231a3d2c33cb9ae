package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/webjourney/webjourney/receiver/pixelreceiver"
)

const testImportKey = "import-key-0123456789abcdef"

// startPixelReceiver runs the real pixel receiver with an import key for
// site shop and returns its import endpoint.
func startPixelReceiver(t *testing.T, sink *consumertest.LogsSink) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	f := pixelreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"endpoint":   addr,
		"bots":       map[string]any{"action": "keep"},
		"rate_limit": map[string]any{"requests_per_second": 0},
		"sites":      []any{map[string]any{"id": "shop", "import": map[string]any{"key": testImportKey}}},
	}).Unmarshal(cfg))
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(component.MustNewType("pixel")), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
	return "http://" + addr + "/wj/import"
}

func importKeyFile(t *testing.T, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "import.key")
	require.NoError(t, os.WriteFile(path, []byte(key+"\n"), 0o600))
	return path
}

// A file of 400 lines goes in several requests of whole lines; rejected
// lines are named by their line in the file, not in the request.
func TestImportThroughTheReceiver(t *testing.T) {
	sink := new(consumertest.LogsSink)
	endpoint := startPixelReceiver(t, sink)
	at := time.Now().Add(-90 * 24 * time.Hour).UnixMilli()
	var b strings.Builder
	for i := 1; i <= 400; i++ {
		switch i {
		case 250:
			b.WriteString(`{"id":"broken"` + "\n")
		case 301:
			fmt.Fprintf(&b, `{"id":"e-%d","url":"https://shop.example/"}`+"\n", i)
		case 302:
			fmt.Fprintf(&b, `{"id":"e-%d","ts":%d,"url":"https://shop.example/%d"}`+"\n", 300, at, 300) // e-300 again
		default:
			fmt.Fprintf(&b, `{"id":"e-%d","ts":%d,"url":"https://shop.example/%d","visitor_id":"v-%d"}`+"\n", i, at+int64(i), i, i%7)
		}
	}
	file := filepath.Join(t.TempDir(), "history.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))

	r := runCmd("", "import", "--endpoint", endpoint, "--site", "shop", "--key-file", importKeyFile(t, testImportKey), "--chunk-bytes", "4096", "--json", file)
	require.Equal(t, exitFailure, r.code, "lines were rejected: %s %s", r.stdout, r.stderr)
	var sum importTotals
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum), r.stdout)
	assert.Equal(t, 400, sum.Lines)
	assert.Greater(t, sum.Requests, 5, "4096-byte chunks")
	assert.Equal(t, map[string]int{"invalid_json": 1, "missing_time": 1}, sum.Rejected)
	assert.Equal(t, []string{
		file + ":250: invalid_json: the line is not a JSON object: syntax error at offset 14",
		file + ":301: missing_time: ts (milliseconds since the epoch) is missing",
	}, sum.RejectedLines)
	// e-300 and its repetition on the next line share a request unless a
	// chunk ends between them: either way nothing is stored twice.
	assert.Equal(t, 398, sum.Accepted+sum.Duplicates)
	assert.Equal(t, sum.Accepted, sink.LogRecordCount())
	assert.Contains(t, r.stderr, "import: 400 lines")

	r = runCmd("", "import", "--endpoint", endpoint, "--site", "shop", "--key-file", importKeyFile(t, "not-the-import-key-000"), file)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stdout, "stopped: the collector refused the import key for this site (401)")
}

// A busy collector gets the same chunk again after its Retry-After; only
// the answer that went through counts.
func TestImportRetriesWhenBusy(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer "+testImportKey, r.Header.Get("Authorization"))
		assert.Equal(t, "shop", r.URL.Query().Get("site"))
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"lines":2,"accepted":1,"duplicates":0,"rejected":{},"rejected_lines":[],"error":"pipeline_unavailable"}`)
			return
		}
		fmt.Fprint(w, `{"lines":2,"accepted":2,"duplicates":0,"rejected":{},"rejected_lines":[]}`)
	}))
	defer srv.Close()
	var slept []time.Duration
	im := &importer{endpoint: srv.URL + "/wj/import?site=shop", key: testImportKey, chunkBytes: 1 << 16, retries: 3,
		client: srv.Client(), progress: new(strings.Builder), sleep: func(d time.Duration) { slept = append(slept, d) },
		totals: importTotals{Rejected: map[string]int{}}}
	require.NoError(t, im.importFile("-", strings.NewReader("{\"id\":\"a\"}\n{\"id\":\"b\"}")))
	assert.Equal(t, []time.Duration{5 * time.Second}, slept)
	assert.Equal(t, 2, im.totals.Accepted)
	assert.Equal(t, 1, im.totals.Requests)
}

func TestImportUsage(t *testing.T) {
	r := runCmd("", "import", "--site", "shop", "x.ndjson")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--endpoint, --site and --key-file are required")
	key := importKeyFile(t, testImportKey)
	r = runCmd("", "import", "--endpoint", "ftp://x", "--site", "shop", "--key-file", key, "x.ndjson")
	assert.Equal(t, exitUsage, r.code)
	r = runCmd("", "import", "--endpoint", "http://x/wj/import", "--site", "shop", "--key-file", key)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "at least one FILE")
}
