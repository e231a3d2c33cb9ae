package e2e

// Helpers of the reliability tests (outage_test.go, crash_test.go,
// drill_test.go): an Elasticsearch of the test's own that it can stop and
// start, a collector process that can be killed with SIGKILL and restarted
// with the same command line, a TCP proxy that cuts the collector off from
// Elasticsearch, a steady load of beacons or pixel hits that records which
// events were acknowledged, and a count of the stored documents by event
// id.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/webjourney/webjourney/test/estest"
)

// requireESTests skips a test that manages its own Elasticsearch unless the
// environment asks for Elasticsearch tests (WEBJOURNEY_REQUIRE_ES=1, as in
// `make test` and CI) or points at a server (ELASTICSEARCH_URL): these
// tests start an Elasticsearch of their own, which takes a JDK and the
// cached server, like the shared one.
func requireESTests(t *testing.T) {
	t.Helper()
	if os.Getenv(estest.EnvRequire) != "1" && os.Getenv(estest.EnvURL) == "" {
		t.Skip("set " + estest.EnvRequire + "=1 (or " + estest.EnvURL + ") to run the Elasticsearch reliability tests")
	}
}

// ownES is an Elasticsearch of the test's own, started with
// scripts/elasticsearch.sh on a free port with its own data directory, so
// that the test can stop it and start it again (on the same port and data)
// without disturbing the server the other tests share.
type ownES struct {
	t       *testing.T
	port    int
	dataDir string
	url     string
	running bool
}

// repoRoot is the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startOwnES starts a fresh Elasticsearch and stops it (and removes its
// data) at the end of the test.
func startOwnES(t *testing.T) *ownES {
	t.Helper()
	// Not t.TempDir(): when the tests run as root the script runs the
	// server as an unprivileged user, which must be able to reach the data
	// directory; t.TempDir's parents are private to the test user.
	dir, err := os.MkdirTemp("", "webjourney-reliability-es.")
	if err != nil {
		t.Fatal(err)
	}
	e := &ownES{t: t, port: freePort(t), dataDir: dir}
	t.Cleanup(func() {
		if e.running {
			e.stop()
		}
		_ = os.RemoveAll(dir)
		if os.Getenv("WEBJOURNEY_CACHE") == "" {
			// The script's pid file and logs for this (random) port.
			_ = os.RemoveAll(filepath.Join(repoRoot(t), ".cache", fmt.Sprintf("elasticsearch-run-%d", e.port)))
		}
	})
	e.start()
	return e
}

// script runs scripts/elasticsearch.sh action for one node: ES_NODES is
// pinned so that a caller's setting cannot make it a cluster.
func (e *ownES) script(action string) (string, error) {
	return e.scriptEnv([]string{"ES_NODES=1"}, action)
}

// scriptEnv runs scripts/elasticsearch.sh args with the port and data
// directory of e and the extra environment.
func (e *ownES) scriptEnv(extra []string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot(e.t), "scripts", "elasticsearch.sh"), args...)
	// Later entries win: the caller's ES_PORT / ES_DATA_DIR (test.sh
	// exports the shared server's) must not leak in.
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("ES_PORT=%d", e.port), "ES_DATA_DIR="+e.dataDir), extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return "", fmt.Errorf("scripts/elasticsearch.sh %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// start starts the server (again) and waits until it answers.
func (e *ownES) start() {
	e.t.Helper()
	began := time.Now()
	url, err := e.script("start")
	if err != nil {
		e.t.Fatal(err)
	}
	e.url, e.running = url, true
	e.t.Logf("own Elasticsearch up at %s after %s", url, time.Since(began).Round(100*time.Millisecond))
}

// stop stops the server gracefully (SIGTERM, as an operator or a service
// manager would) and waits until the process is gone.
func (e *ownES) stop() {
	e.t.Helper()
	if _, err := e.script("stop"); err != nil {
		e.t.Error(err)
	}
	e.running = false
	if _, err := http.Get(e.url); err == nil {
		e.t.Errorf("Elasticsearch at %s still answers after stop", e.url)
	}
}

// process is a collector run that the test can kill with SIGKILL and start
// again with the same command line (and so the same config, ports and
// storage directory). It is stopped with SIGTERM at the end of the test if
// it still runs.
type process struct {
	t          *testing.T
	args       []string // after the binary: --config ...
	env        []string // added to the test's environment
	healthAddr string
	runs       int

	cmd    *exec.Cmd
	output *syncBuffer
	done   chan error
}

// newProcess runs the collector with config, written to a file.
func newProcess(t *testing.T, config, healthAddr string) *process {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return newProcessArgs(t, healthAddr, nil, "--config", path)
}

// newProcessArgs runs the collector with the given command line arguments
// and environment variables (NAME=value, on top of the test's own), e.g. a
// shipped config with the settings it reads from the environment.
func newProcessArgs(t *testing.T, healthAddr string, env []string, args ...string) *process {
	t.Helper()
	p := &process{t: t, args: args, env: env, healthAddr: healthAddr, output: &syncBuffer{}}
	t.Cleanup(func() {
		if p.cmd != nil {
			p.stop()
		}
		if t.Failed() {
			t.Logf("collector output (all runs):\n%s", p.output.String())
		}
	})
	return p
}

// start runs the collector and waits until its health_check answers.
func (p *process) start() {
	p.t.Helper()
	p.runs++
	fmt.Fprintf(p.output, "===== run %d =====\n", p.runs)
	p.cmd = exec.Command(collectorBin(p.t), p.args...)
	if p.env != nil {
		p.cmd.Env = append(os.Environ(), p.env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(p.cmd, p.done)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.cmd = nil
			p.t.Fatalf("collector exited before becoming healthy (%v):\n%s", err, p.output.String())
		default:
		}
		resp, err := http.Get("http://" + p.healthAddr + "/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("collector not healthy at %s within 60s:\n%s", p.healthAddr, p.output.String())
}

// kill sends SIGKILL: the process gets no chance to drain or close
// anything, like an OOM kill or a power cut of the process alone.
func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	<-p.done
	p.cmd = nil
	fmt.Fprintf(p.output, "===== killed with SIGKILL =====\n")
}

// stop sends SIGTERM, which must make the collector exit 0.
func (p *process) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("collector exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("collector did not stop within 30s of SIGTERM")
	}
	p.cmd = nil
}

// tcpProxy forwards a fixed local address to a target. down() closes the
// listener and every open connection, so that the collector sees the
// server vanish (connection reset, then connection refused) exactly as if
// Elasticsearch had stopped; up() listens again on the same address.
// mute() lets requests through but throws the answers away, so that
// Elasticsearch stores what the collector sends while the collector never
// learns it (as with an answer lost on the network, or a server too slow
// to answer within the timeout); unmute() resets the connections whose
// answers were lost and forwards answers again.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	muted  atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), target: target, conns: map[net.Conn]struct{}{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) up() {
	p.t.Helper()
	var ln net.Listener
	var err error
	// The port was just released by down(); retry briefly in case the
	// kernel has not let go of it yet.
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.pipe(c)
			}()
		}
	}()
}

func (p *tcpProxy) pipe(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down meanwhile
		p.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src net.Conn, answers bool) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !(answers && p.muted.Load()) {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		_ = dst.Close()
		_ = src.Close()
	}
	go cp(server, client, false)
	go cp(client, server, true)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	p.resetLocked()
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *tcpProxy) mute() { p.muted.Store(true) }

func (p *tcpProxy) unmute() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.muted.Store(false)
	p.resetLocked()
}

// resetLocked resets every open connection; p.mu is held.
func (p *tcpProxy) resetLocked() {
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // reset, not a polite close
		}
		_ = c.Close()
	}
}

// hitLoad sends a steady stream of requests, one every tick, each carrying
// events with known, unique ids, and records which ids were acknowledged.
// Ids of requests that got no acknowledgement (refused, connection failed,
// collector killed while handling them) are kept apart: they may or may
// not have reached the pipeline, as a browser that did not get an answer
// cannot know either.
type hitLoad struct {
	t     *testing.T
	every time.Duration
	next  func(seq int) loadHit

	mu       sync.Mutex
	seq      int
	acked    []string
	unacked  []string
	failures map[string]int

	stopCh chan struct{}
	done   chan struct{}
}

// loadHit is one request of a load: the ids of the events it carries, and
// how to tell from the answer that all of them were acknowledged.
type loadHit struct {
	req *http.Request
	ids []string
	// check returns "" when the answer acknowledges every event, else why
	// not (counted in the load's failures).
	check func(resp *http.Response, body []byte) string
}

// startLoad sends a beacon every tick with per page views, from 50
// visitors in turn (no consent signal, the same user agent).
func startLoad(t *testing.T, listen, site, idPrefix string, every time.Duration, per int) *hitLoad {
	t.Helper()
	return startHitLoad(t, every, func(seq int) loadHit {
		ids := make([]string, per)
		events := make([]map[string]any, per)
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%06d-%d", idPrefix, seq, i)
			events[i] = map[string]any{
				"id": ids[i], "type": "page_view",
				"url":   fmt.Sprintf("https://shop.example/p/%d", seq),
				"title": "Reliability",
			}
		}
		return beaconHit(listen, map[string]any{
			"site": site, "visitor_id": fmt.Sprintf("v-%d", seq%50), "session_id": fmt.Sprintf("s-%d", seq%50),
			"events": events,
		}, ids, http.Header{"User-Agent": {"webjourney-e2e/1.0"}})
	})
}

// startHitLoad sends next(1), next(2), ... one every tick until the end of
// the test or stop.
func startHitLoad(t *testing.T, every time.Duration, next func(seq int) loadHit) *hitLoad {
	t.Helper()
	l := &hitLoad{
		t: t, every: every, next: next,
		failures: map[string]int{}, stopCh: make(chan struct{}), done: make(chan struct{}),
	}
	go l.run()
	t.Cleanup(l.stop)
	return l
}

// beaconHit is a JSON beacon to the receiver at listen carrying the events
// ids: acknowledged by a 200 that accepts them all.
func beaconHit(listen string, beacon map[string]any, ids []string, header http.Header) loadHit {
	body, _ := json.Marshal(beacon)
	req, _ := http.NewRequest(http.MethodPost, "http://"+listen+"/b", bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	return loadHit{req: req, ids: ids, check: func(resp *http.Response, answer []byte) string {
		var summary struct {
			Accepted int   `json:"accepted"`
			Rejected []any `json:"rejected"`
		}
		switch {
		case resp.StatusCode != http.StatusOK:
			return fmt.Sprintf("status %d", resp.StatusCode)
		case json.Unmarshal(answer, &summary) != nil || summary.Accepted != len(ids) || len(summary.Rejected) != 0:
			// A 200 that does not accept every event means the test
			// sends something the receiver does not take: a test bug.
			return fmt.Sprintf("200 with unexpected answer %s", answer)
		}
		return ""
	}}
}

func (l *hitLoad) run() {
	defer close(l.done)
	client := &http.Client{Timeout: 15 * time.Second}
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	for {
		select {
		case <-l.stopCh:
			return
		case <-tick.C:
		}
		l.send(client)
	}
}

func (l *hitLoad) send(client *http.Client) {
	l.mu.Lock()
	l.seq++
	seq := l.seq
	l.mu.Unlock()
	hit := l.next(seq)
	resp, err := client.Do(hit.req)
	outcome := ""
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			outcome = "network: " + op.Op
		} else {
			outcome = "error"
		}
	} else {
		answer, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		outcome = hit.check(resp, answer)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if outcome == "" {
		l.acked = append(l.acked, hit.ids...)
		return
	}
	l.unacked = append(l.unacked, hit.ids...)
	l.failures[outcome]++
}

// stop ends the load and waits for the request in flight.
func (l *hitLoad) stop() {
	select {
	case <-l.stopCh:
	default:
		close(l.stopCh)
	}
	<-l.done
}

// ackedCount is the number of acknowledged events so far.
func (l *hitLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// ackedFrom returns the ids acknowledged after the first n.
func (l *hitLoad) ackedFrom(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked[n:]...)
}

// result returns the acknowledged and unacknowledged ids and the reasons
// requests were not acknowledged; call it after stop.
func (l *hitLoad) result() (acked, unacked []string, failures map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...), append([]string(nil), l.unacked...), l.failures
}

// countByEventID returns, for every event id stored in the indices matching
// pattern, the number of documents with that log.record.uid (across all of
// them, so a copy in another monthly index would count too), and the total
// number of documents.
func countByEventID(store es, pattern string) (map[string]int, int) {
	store.t.Helper()
	counts := map[string]int{}
	total := eachComposite(store, pattern, []string{"log.record.uid"}, func(key []string, n int) {
		counts[key[0]] += n
	})
	return counts, total
}

// eachComposite calls fn with every combination of the values of fields
// (keywords) found in the indices matching pattern, "" for a missing one,
// and its number of documents, and returns the total number of documents.
// It pages through a composite aggregation, so it sees every combination
// however many there are.
func eachComposite(store es, pattern string, fields []string, fn func(key []string, n int)) int {
	store.t.Helper()
	store.do(http.MethodPost, "/"+pattern+"/_refresh?ignore_unavailable=true&allow_no_indices=true", nil)
	sources := make([]any, len(fields))
	for i, f := range fields {
		sources[i] = map[string]any{f: map[string]any{"terms": map[string]any{"field": f, "missing_bucket": true}}}
	}
	var after map[string]any
	for {
		comp := map[string]any{"size": 10000, "sources": sources}
		if after != nil {
			comp["after"] = after
		}
		var status int
		var body []byte
		for try := 0; ; try++ {
			status, body = store.do(http.MethodPost, "/"+pattern+"/_search?ignore_unavailable=true&allow_no_indices=true",
				map[string]any{"size": 0, "track_total_hits": true, "aggs": map[string]any{"keys": map[string]any{"composite": comp}}})
			if status != http.StatusServiceUnavailable || try == 50 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if status != http.StatusOK {
			store.t.Fatalf("aggregating %v in %s: %d %s", fields, pattern, status, body)
		}
		var res struct {
			Hits struct {
				Total struct {
					Value int `json:"value"`
				} `json:"total"`
			} `json:"hits"`
			Aggregations struct {
				Keys struct {
					AfterKey map[string]any `json:"after_key"`
					Buckets  []struct {
						Key      map[string]any `json:"key"`
						DocCount int            `json:"doc_count"`
					} `json:"buckets"`
				} `json:"keys"`
			} `json:"aggregations"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			store.t.Fatal(err)
		}
		for _, b := range res.Aggregations.Keys.Buckets {
			key := make([]string, len(fields))
			for i, f := range fields {
				if v, ok := b.Key[f].(string); ok {
					key[i] = v
				}
			}
			fn(key, b.DocCount)
		}
		if len(res.Aggregations.Keys.Buckets) == 0 || res.Aggregations.Keys.AfterKey == nil {
			return res.Hits.Total.Value
		}
		after = res.Aggregations.Keys.AfterKey
	}
}

// waitForAll waits until every id in acked is stored or the timeout passes
// (without failing: checkExactlyOnce then names what is missing) and
// returns the last count.
func waitForAll(t *testing.T, store es, pattern string, acked []string, timeout time.Duration) (map[string]int, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		counts, total := countByEventID(store, pattern)
		missing := 0
		for _, id := range acked {
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return counts, total
		}
		if time.Now().After(deadline) {
			t.Errorf("after %s, %d of %d acknowledged events are still not in Elasticsearch", timeout, missing, len(acked))
			return counts, total
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkExactlyOnce fails the test unless every acknowledged id is stored
// exactly once, no id is stored twice, every stored document is one the
// test sent (acked or not), and the documents add up. It returns how many
// unacknowledged events were stored anyway.
func checkExactlyOnce(t *testing.T, counts map[string]int, total int, acked, unacked []string) int {
	t.Helper()
	sent := map[string]bool{}
	for _, id := range acked {
		sent[id] = true
	}
	storedUnacked := 0
	for _, id := range unacked {
		sent[id] = true
		if counts[id] > 0 {
			storedUnacked++
		}
	}
	var missing, dup, unknown []string
	for _, id := range acked {
		if counts[id] == 0 {
			missing = append(missing, id)
		}
	}
	sum := 0
	for id, n := range counts {
		sum += n
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s x%d", id, n))
		}
		if !sent[id] {
			unknown = append(unknown, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged events are missing, e.g. %v", len(missing), len(acked), first(missing, 10))
	}
	if len(dup) > 0 {
		t.Errorf("%d event ids are stored more than once, e.g. %v", len(dup), first(dup, 10))
	}
	if len(unknown) > 0 {
		t.Errorf("%d stored event ids were never sent, e.g. %v", len(unknown), first(unknown, 10))
	}
	if sum != total {
		t.Errorf("%d documents in total but %d counted by event id (documents without log.record.uid?)", total, sum)
	}
	if want := len(acked) + storedUnacked; total != want {
		t.Errorf("%d documents, want %d (%d acknowledged + %d unacknowledged that arrived)", total, want, len(acked), storedUnacked)
	}
	return storedUnacked
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
