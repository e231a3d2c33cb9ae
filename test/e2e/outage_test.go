package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// reliabilitySite is the site of the reliability tests' beacons.
const reliabilitySite = "reliability-shop"

// outageLength is how long Elasticsearch is down in TestElasticsearchOutage.
const outageLength = 60 * time.Second

// TestElasticsearchOutage runs the built collector under a steady beacon
// load, stops its Elasticsearch for 60 seconds and starts it again on the
// same port and data: every event the receiver acknowledged is then stored
// exactly once, and every request was acknowledged (the queue rode out the
// outage without refusing or dropping anything).
//
// The test starts an Elasticsearch of its own (scripts/elasticsearch.sh on a
// free port with its own data directory): stopping the shared one would
// break the other tests.
func TestElasticsearchOutage(t *testing.T) {
	requireESTests(t)
	collectorBin(t)
	began := time.Now()
	own := startOwnES(t)
	store := es{t: t, url: own.url}
	prefix := estest.UniquePrefix(t)

	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsPort := freePort(t)
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	// The settings docs/reliability.md recommends for riding out an outage
	// with the in-memory queue: retries that outlast it, with a short
	// max_interval so that delivery resumes soon after Elasticsearch is
	// back, and a queue that holds the outage's events.
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
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
exporters:
  elasticsearch_journey:
    endpoints: [%q]
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
      processors: [memory_limiter]
      exporters: [elasticsearch_journey]
`, health, listen, reliabilitySite, own.url, prefix, metricsPort), health)

	// 10 beacons a second with 5 events each: 50 events/s, ~4,000 held in
	// the queue while Elasticsearch is down.
	load := startLoad(t, listen, reliabilitySite, "outage", 100*time.Millisecond, 5)
	pattern := storeIndex(prefix, journeystore.FamilyEvents)
	stored := func() int {
		_, total := countByEventID(store, pattern)
		return total
	}
	eventually(t, 60*time.Second, "the first events in Elasticsearch", func() bool { return stored() >= 100 })

	// The outage.
	own.stop()
	down := time.Now()
	ackedAtStop := load.ackedCount()
	t.Logf("Elasticsearch stopped; %d events acknowledged so far", ackedAtStop)
	time.Sleep(outageLength)
	ackedDuringOutage := load.ackedCount() - ackedAtStop
	failedAttempts := promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_failed_total", `reason="request_failed"`)
	restart := time.Now()
	own.start()
	up := time.Now()
	t.Logf("Elasticsearch was down for %s (%s before the restart began); %d events acknowledged meanwhile, %v documents failed to send",
		up.Sub(down).Round(100*time.Millisecond), restart.Sub(down).Round(100*time.Millisecond), ackedDuringOutage, failedAttempts)
	if ackedDuringOutage == 0 {
		t.Fatal("no event was acknowledged while Elasticsearch was down: the load did not run")
	}
	if failedAttempts == 0 {
		t.Fatal("the exporter never failed to send while Elasticsearch was down: the outage did not reach the pipeline")
	}

	// A little more load after the restart, then everything must arrive.
	ackedAtRestart := load.ackedCount()
	eventually(t, 60*time.Second, "events acknowledged after the restart", func() bool { return load.ackedCount() >= ackedAtRestart+100 })
	load.stop()
	acked, unacked, failures := load.result()
	waitForAll(t, store, pattern, acked, 3*time.Minute)
	drained := time.Now()
	// Late retries of a request that timed out must not add anything: wait
	// for the queue to be empty before the final count.
	eventually(t, 60*time.Second, "an empty sending queue", func() bool {
		return promValue(t, metrics, "otelcol_exporter_queue_size", `exporter="elasticsearch_journey"`) == 0
	})
	counts, total := countByEventID(store, pattern)
	t.Logf("%d events acknowledged, %d documents stored, all of them %s after Elasticsearch answered again (test total %s)",
		len(acked), total, drained.Sub(up).Round(100*time.Millisecond), time.Since(began).Round(time.Second))

	checkExactlyOnce(t, counts, total, acked, unacked)
	if len(unacked) > 0 {
		t.Errorf("%d events were not acknowledged, want none (the queue must hold the outage): %v", len(unacked), failures)
	}
	for _, m := range []string{"otelcol_exporter_send_failed_log_records_total", "otelcol_exporter_enqueue_failed_log_records_total"} {
		if v := promValue(t, metrics, m, `exporter="elasticsearch_journey"`); v != 0 {
			t.Errorf("%s = %v, want 0: records were dropped", m, v)
		}
	}
	t.Logf("replays answered 409 (already stored): %v",
		promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total"))
}
