package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// TestCollectorCrash kills the built collector with SIGKILL under a steady
// beacon load, twice, and starts it again with the same config, ports and
// persistent queue (sending_queue::storage with file_storage): no event the
// receiver acknowledged is lost and none is stored twice.
//
//   - Kill 1 happens while Elasticsearch stores what the collector sends
//     but its answers are lost (slow or cut off): the batches in flight are
//     stored but not marked done in the queue, so after the restart they are
//     sent again, answered 409 (already stored) and must not become copies.
//   - Kill 2 happens while Elasticsearch is unreachable, after events were
//     acknowledged that exist nowhere but in the collector's queue on disk:
//     they must be delivered after the restart.
//
// Both conditions are made by a TCP proxy between the collector and the
// shared Elasticsearch (it drops the answers, or goes down: open
// connections are reset, new ones refused), so the test takes seconds
// instead of stopping and starting a server of its own;
// TestElasticsearchOutage stops a real server.
func TestCollectorCrash(t *testing.T) {
	began := time.Now()
	esURL := estest.URL(t)
	collectorBin(t)
	store := es{t: t, url: esURL}
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { store.deleteIndices(prefix) })
	proxy := startProxy(t, esURL[len("http://"):])

	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsPort := freePort(t)
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	// The configuration docs/reliability.md recommends against crashes: a
	// persistent queue in file_storage (fsync on), retries that never give
	// up (the queue's size bounds what is kept).
	p := newProcess(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
  file_storage/queue:
    directory: %s
    fsync: true
receivers:
  pixel:
    endpoint: %s
    bots: {action: keep}
    rate_limit: {requests_per_second: 0}
    sites:
      - id: %s
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
exporters:
  elasticsearch_journey:
    endpoints: ["http://%s"]
    index_prefix: %s
    sending_queue:
      storage: file_storage/queue
      sizer: items
      queue_size: 50000
      num_consumers: 4
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      enabled: true
      initial_interval: 1s
      max_interval: 5s
      max_elapsed_time: 0
service:
  extensions: [health_check, file_storage/queue]
  telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    logs:
      receivers: [pixel]
      processors: [memory_limiter]
      exporters: [elasticsearch_journey]
`, health, t.TempDir(), listen, reliabilitySite, proxy.addr, prefix, metricsPort), health)
	p.start()

	load := startLoad(t, listen, reliabilitySite, "crash", 100*time.Millisecond, 5)
	pattern := storeIndex(prefix, journeystore.FamilyEvents)
	stored := func() int {
		_, total := countByEventID(store, pattern)
		return total
	}
	eventually(t, 60*time.Second, "the first events in Elasticsearch", func() bool { return stored() >= 100 })

	// Kill 1: Elasticsearch stores the batches in flight, their answers are lost.
	proxy.mute()
	ackedAtMute := load.ackedCount()
	eventually(t, 60*time.Second, "events acknowledged while answers are lost", func() bool {
		return load.ackedCount() >= ackedAtMute+100
	})
	p.kill()
	proxy.unmute()
	atKill1 := stored()
	t.Logf("kill 1 (answers lost): %d events acknowledged, %d stored", load.ackedCount(), atKill1)
	p.start()
	// The restarted collector sends the unfinished batches again and is
	// told they are stored already.
	eventually(t, 60*time.Second, "the batches stored before kill 1 to be answered 409 after the restart", func() bool {
		return promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total") > 0
	})
	t.Logf("after restart 1: %v documents answered 409 (stored before the kill)",
		promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total"))
	eventually(t, 60*time.Second, "events flowing after restart 1", func() bool { return stored() >= atKill1+100 })

	// Kill 2: Elasticsearch unreachable, acknowledged events only in the queue.
	proxy.down()
	ackedAtCut := load.ackedCount()
	eventually(t, 60*time.Second, "events acknowledged while Elasticsearch is unreachable", func() bool {
		return load.ackedCount() >= ackedAtCut+200
	})
	p.kill()
	ackedOnlyInQueue := load.ackedCount() - ackedAtCut
	t.Logf("kill 2 (Elasticsearch unreachable): %d events acknowledged since the cut, held only by the killed collector", ackedOnlyInQueue)
	proxy.up()
	p.start()
	ackedAtRestart := load.ackedCount()
	eventually(t, 60*time.Second, "events acknowledged after restart 2", func() bool { return load.ackedCount() >= ackedAtRestart+100 })
	load.stop()
	acked, unacked, failures := load.result()

	restarted := time.Now()
	waitForAll(t, store, pattern, acked, 2*time.Minute)
	drained := time.Now()
	// Stop the collector before the final count: a SIGTERM stop waits for
	// the batches in flight, so nothing can arrive later.
	p.stop()
	counts, total := countByEventID(store, pattern)
	storedUnacked := checkExactlyOnce(t, counts, total, acked, unacked)
	t.Logf("%d events acknowledged, %d not (%v), %d of those stored anyway; %d documents; all acknowledged stored %s after restart 2 (test total %s)",
		len(acked), len(unacked), failures, storedUnacked, total,
		drained.Sub(restarted).Round(100*time.Millisecond), time.Since(began).Round(time.Second))
}
