package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// Phases of TestElasticsearchNodeLoss.
const (
	nodeLossPhase = 30 * time.Second // load measured before and after
	nodeDown      = 45 * time.Second // the killed node stays down
)

// TestElasticsearchNodeLoss is the node-loss drill of docs/reliability.md:
// a three-node loopback cluster (all nodes master-eligible data nodes), the
// exporter's indices with one replica, a steady beacon load through the
// built collector listing all three nodes under endpoints. The node that
// holds the primary of this month's event index is killed (SIGKILL), stays
// down, and is started again. Every acknowledged event is stored exactly
// once (counted by event id), and the exporter's telemetry shows requests
// failing on the dead node and being retried on another one. Events/s
// stored before, during and after are logged (docs/reliability.md records
// them).
//
// It runs on the version of ES_VERSION (make test runs it on 9.x).
func TestElasticsearchNodeLoss(t *testing.T) {
	requireESTests(t)
	collectorBin(t)
	began := time.Now()
	cl := startOwnCluster(t, 3)
	store := es{t: t, url: cl.urls[0]}
	prefix := estest.UniquePrefix(t)

	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsPort := freePort(t)
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	endpoints, _ := json.Marshal(cl.urls)
	startCollector(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
receivers:
  pixel:
    endpoint: %s
    bots: {action: keep}
    rate_limit: {requests_per_second: 0}
    sites:
      - id: %s
exporters:
  elasticsearch_journey:
    endpoints: %s
    index_prefix: %s
    sending_queue:
      sizer: items
      queue_size: 50000
      num_consumers: 4
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      enabled: true
      initial_interval: 1s
      max_interval: 5s
      max_elapsed_time: 10m
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    logs:
      receivers: [pixel]
      exporters: [elasticsearch_journey]
`, health, listen, reliabilitySite, endpoints, prefix, metricsPort), health)

	// 20 beacons a second with 5 events each: 100 events/s.
	load := startLoad(t, listen, reliabilitySite, "nodeloss", 50*time.Millisecond, 5)
	pattern := storeIndex(prefix, journeystore.FamilyEvents)
	stored := func() int {
		_, total := countByEventID(store, pattern)
		return total
	}
	eventually(t, 60*time.Second, "the first events in Elasticsearch", func() bool { return stored() >= 100 })
	index := cl.waitGreen(store, pattern)

	rate := func(phase string, d time.Duration) float64 {
		from, at := stored(), time.Now()
		time.Sleep(d)
		r := float64(stored()-from) / time.Since(at).Seconds()
		t.Logf("%s: %.1f events/s stored", phase, r)
		return r
	}
	before := rate("before", nodeLossPhase)

	// Kill the node that holds the index's primary: its replica on
	// another node is promoted.
	victim := cl.primaryNode(store, index)
	if victim == 0 {
		store.url = cl.urls[1] // keep counting on a live node
	}
	t.Logf("index %s: primary on node %d (%s); killing it", index, victim, cl.urls[victim])
	cl.kill(victim)
	killed := time.Now()
	// The first seconds show the failover itself; the rest, the cluster
	// working on with two nodes (the replica promoted to primary).
	first := rate("during, first 10 s", 10*time.Second)
	during := rate("during, the rest", nodeDown-10*time.Second)
	failedOnVictim := promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_requests_total",
		`endpoint="`+cl.urls[victim]+`"`, `outcome="unreachable"`)
	retries := promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_request_retries_total")
	cl.startNode(victim)
	back := time.Now()
	cl.waitGreen(store, pattern)
	green := time.Now()
	t.Logf("node %d down %s; green again %s after its start (replica recovered)",
		victim, back.Sub(killed).Round(time.Second), green.Sub(back).Round(time.Second))
	after := rate("after", nodeLossPhase)

	load.stop()
	acked, unacked, failures := load.result()
	waitForAll(t, store, pattern, acked, 3*time.Minute)
	eventually(t, 60*time.Second, "an empty sending queue", func() bool {
		return promValue(t, metrics, "otelcol_exporter_queue_size", `exporter="elasticsearch_journey"`) == 0
	})
	counts, total := countByEventID(store, pattern)
	checkExactlyOnce(t, counts, total, acked, unacked)
	if len(unacked) > 0 {
		t.Errorf("%d events were not acknowledged, want none: %v", len(unacked), failures)
	}
	for _, m := range []string{"otelcol_exporter_send_failed_log_records_total", "otelcol_exporter_enqueue_failed_log_records_total"} {
		if v := promValue(t, metrics, m, `exporter="elasticsearch_journey"`); v != 0 {
			t.Errorf("%s = %v, want 0: records were dropped", m, v)
		}
	}
	if failedOnVictim == 0 {
		t.Error("the exporter's telemetry shows no request failing on the killed node (requests{outcome=unreachable})")
	}
	if retries == 0 {
		t.Error("the exporter's telemetry shows no request retried on another node (request_retries)")
	}
	t.Logf("drill: %d events acknowledged, %d stored once each; events/s before %.1f, during %.1f (first 10 s %.1f), after %.1f; "+
		"requests failed on the killed node %v, retried on another node %v, documents retried %v; total %s",
		len(acked), total, before, during, first, after, failedOnVictim, retries,
		promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_failed_total"), time.Since(began).Round(time.Second))
}

// ownCluster is a loopback cluster of the test's own (scripts/elasticsearch.sh
// with ES_NODES), stopped at the end of the test.
type ownCluster struct {
	t       *testing.T
	port    int // HTTP port of node 0; node i has port+i
	nodes   int
	dataDir string
	urls    []string
}

func startOwnCluster(t *testing.T, nodes int) *ownCluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "webjourney-cluster-es.")
	if err != nil {
		t.Fatal(err)
	}
	// HTTP ports port..port+n-1, transport ports port+n..port+2n-1.
	c := &ownCluster{t: t, port: freePortRange(t, 2*nodes), nodes: nodes, dataDir: dir}
	t.Cleanup(func() {
		if _, err := c.script("stop"); err != nil {
			t.Error(err)
		}
		_ = os.RemoveAll(dir)
		if os.Getenv("WEBJOURNEY_CACHE") == "" {
			for i := range nodes {
				_ = os.RemoveAll(c.runDir(i))
			}
		}
	})
	began := time.Now()
	if _, err := c.script("start"); err != nil {
		t.Fatal(err)
	}
	urls, err := c.script("urls")
	if err != nil {
		t.Fatal(err)
	}
	c.urls = strings.Split(urls, ",")
	t.Logf("%d-node cluster up at %v after %s", nodes, c.urls, time.Since(began).Round(time.Second))
	return c
}

func (c *ownCluster) script(args ...string) (string, error) {
	e := &ownES{t: c.t, port: c.port, dataDir: c.dataDir}
	return e.scriptEnv([]string{"ES_NODES=" + strconv.Itoa(c.nodes), "ES_TRANSPORT_PORT=" + strconv.Itoa(c.port+c.nodes)}, args...)
}

// runDir is the directory of node i's pid file and logs.
func (c *ownCluster) runDir(i int) string {
	cache := os.Getenv("WEBJOURNEY_CACHE")
	if cache == "" {
		cache = filepath.Join(repoRoot(c.t), ".cache")
	}
	return filepath.Join(cache, fmt.Sprintf("elasticsearch-run-%d", c.port+i))
}

// kill kills node i with SIGKILL, as a crash of the machine would.
func (c *ownCluster) kill(i int) {
	c.t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.runDir(i), "elasticsearch.pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *ownCluster) startNode(i int) {
	c.t.Helper()
	began := time.Now()
	if _, err := c.script("start-node", strconv.Itoa(i)); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("node %d started again after %s", i, time.Since(began).Round(time.Second))
}

// waitGreen waits until every index of pattern is green (primary and
// replica assigned) and returns the name of the newest one.
func (c *ownCluster) waitGreen(store es, pattern string) string {
	c.t.Helper()
	status, body := store.do(http.MethodGet, "/_cluster/health/"+pattern+"?wait_for_status=green&timeout=180s", nil)
	var h struct {
		Status        string `json:"status"`
		NumberOfNodes int    `json:"number_of_nodes"`
	}
	if err := json.Unmarshal(body, &h); err != nil || status != http.StatusOK || h.Status != "green" {
		c.t.Fatalf("%s not green: %d %s", pattern, status, body)
	}
	_, body = store.do(http.MethodGet, "/_cat/indices/"+pattern+"?format=json&h=index,rep", nil)
	var indices []struct {
		Index string `json:"index"`
		Rep   string `json:"rep"`
	}
	if err := json.Unmarshal(body, &indices); err != nil || len(indices) == 0 {
		c.t.Fatalf("no index of %s: %s", pattern, body)
	}
	newest := indices[0]
	for _, ix := range indices {
		if ix.Index > newest.Index {
			newest = ix
		}
	}
	if newest.Rep != "1" {
		c.t.Fatalf("index %s has %s replicas, want 1 (auto_expand_replicas 0-1 on a cluster)", newest.Index, newest.Rep)
	}
	return newest.Index
}

// primaryNode returns the node that holds the primary shard of index.
func (c *ownCluster) primaryNode(store es, index string) int {
	c.t.Helper()
	_, body := store.do(http.MethodGet, "/_cat/shards/"+index+"?format=json&h=prirep,node,state", nil)
	var shards []struct {
		PriRep, Node, State string
	}
	if err := json.Unmarshal(body, &shards); err != nil {
		c.t.Fatal(err)
	}
	for _, s := range shards {
		if s.PriRep == "p" {
			// Nodes are named node-<http port>.
			port, err := strconv.Atoi(strings.TrimPrefix(s.Node, "node-"))
			if err == nil && port >= c.port && port < c.port+c.nodes {
				return port - c.port
			}
		}
	}
	c.t.Fatalf("no primary of %s on a known node: %s", index, body)
	return 0
}

// freePortRange returns the first of n consecutive free loopback ports.
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := freePort(t)
		ok := true
		for i := 1; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				continue
			}
			_ = l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}
