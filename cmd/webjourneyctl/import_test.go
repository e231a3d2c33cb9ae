package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

	"github.com/webjourney/webjourney/internal/eventmodel"
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
		client: srv.Client(), progress: new(strings.Builder), sleep: func(d time.Duration) { slept = append(slept, d) }, ctx: context.Background(),
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

// Two shuffled files are sent per visitor in time order (the receiver's
// records show it), with a sort budget small enough for many runs on disk;
// rejected lines keep their file and line; the temporary files are gone
// afterwards. --no-sort sends the lines as they are.
func TestImportSortsPerVisitorInTimeOrder(t *testing.T) {
	sink := new(consumertest.LogsSink)
	endpoint := startPixelReceiver(t, sink)
	base := time.Now().Add(-30 * 24 * time.Hour).UnixMilli()
	rng := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	var files []string
	for f := range 2 {
		var b strings.Builder
		for i := range 300 {
			switch {
			case f == 1 && i == 17:
				b.WriteString(`{"id":"broken"` + "\n")
			case f == 0 && i == 120:
				b.WriteString("\n") // blank: skipped, but counted in the numbering
			default:
				fmt.Fprintf(&b, `{"id":"f%d-%d","ts":%d,"url":"https://shop.example/","visitor_id":"v-%d"}`+"\n",
					f, i, base+int64(rng.IntN(5000)), rng.IntN(9))
			}
		}
		files = append(files, filepath.Join(dir, fmt.Sprintf("h%d.ndjson", f)))
		require.NoError(t, os.WriteFile(files[f], []byte(b.String()), 0o600))
	}
	tmp := t.TempDir()
	args := []string{"import", "--endpoint", endpoint, "--site", "shop", "--key-file", importKeyFile(t, testImportKey),
		"--chunk-bytes", "4096", "--sort-memory", "2KiB", "--temp-dir", tmp, "--json"}
	r := runCmd("", append(args, files...)...)
	require.Equal(t, exitFailure, r.code, "a line was rejected: %s %s", r.stdout, r.stderr)
	var sum importTotals
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum), r.stdout)
	assert.Equal(t, 599, sum.Lines)
	assert.Equal(t, 598, sum.Accepted)
	assert.Equal(t, []string{files[1] + ":18: invalid_json: the line is not a JSON object: syntax error at offset 14"}, sum.RejectedLines)
	require.NotNil(t, sum.Sort)
	assert.Greater(t, sum.Sort.Runs, 10)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "the sort's temporary files are removed")

	type seen struct {
		visitor string
		ts      time.Time
	}
	order := func() []seen {
		var out []seen
		for _, ld := range sink.AllLogs() {
			for i := 0; i < ld.ResourceLogs().Len(); i++ {
				sls := ld.ResourceLogs().At(i).ScopeLogs()
				for j := 0; j < sls.Len(); j++ {
					lrs := sls.At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						v, _ := lrs.At(k).Attributes().Get(eventmodel.AttrVisitorID)
						out = append(out, seen{v.Str(), lrs.At(k).Timestamp().AsTime()})
					}
				}
			}
		}
		return out
	}
	got := order()
	require.Equal(t, 598, len(got))
	sorted := slices.IsSortedFunc(got, func(a, b seen) int {
		if c := strings.Compare(a.visitor, b.visitor); c != 0 {
			return c
		}
		return a.ts.Compare(b.ts)
	})
	assert.True(t, sorted, "events reach the pipeline per visitor in time order")

	sink.Reset()
	r = runCmd("", append(args[:len(args)-1], "--no-sort", files[0])...)
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	got = order()
	require.Equal(t, 299, len(got))
	assert.False(t, slices.IsSortedFunc(got, func(a, b seen) int { return strings.Compare(a.visitor, b.visitor) }), "--no-sort keeps the file's order")
	assert.NotContains(t, r.stdout, "sorted")
}

// --dry-run sorts and counts without an endpoint.
func TestImportDryRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "h.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(`{"id":"a","ts":2,"visitor_id":"v"}`+"\n"+`{"id":"b"}`+"\n"), 0o600))
	r := runCmd("", "import", "--dry-run", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "lines       2 (not sent: --dry-run)")
	assert.Contains(t, r.stdout, "unkeyed     1")
	r = runCmd("", "import", "--dry-run", "--sort-memory", "lots", file)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--sort-memory: want a positive number of bytes")
}

// Interrupted (SIGINT) while a request is in flight during the merge: the
// import stops, says so, and removes the sort's temporary files. The
// command runs in a child process (this test binary) so that the signal
// reaches it alone.
func TestImportInterruptRemovesTemporaryFiles(t *testing.T) {
	if os.Getenv("WJ_IMPORT_CHILD") == "1" {
		os.Exit(run(strings.Fields(os.Getenv("WJ_IMPORT_ARGS")), os.Stdin, os.Stdout, os.Stderr))
	}
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select { // hold the request until the test ends or the client gives up
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	dir := t.TempDir()
	file := filepath.Join(dir, "h.ndjson")
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, `{"id":"e-%d","ts":%d,"visitor_id":"v-%d","url":"https://shop.example/"}`+"\n", i, 1_700_000_000_000+i, (i*7919)%101)
	}
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o700))
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportInterruptRemovesTemporaryFiles$")
	cmd.Env = append(os.Environ(), "WJ_IMPORT_CHILD=1", "WJ_IMPORT_ARGS="+strings.Join([]string{"import", "--endpoint", srv.URL + "/wj/import",
		"--site", "shop", "--key-file", importKeyFile(t, testImportKey), "--sort-memory", "4KiB", "--temp-dir", tmp, file}, " "))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("no request arrived: %s %s", stdout.String(), stderr.String())
	}
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "the runs are on disk while the merge sends")
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s %s", stdout.String(), stderr.String())
	assert.Equal(t, exitFailure, exit.ExitCode())
	assert.Contains(t, stdout.String(), "stopped: interrupted")
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "the temporary files are removed")
}
