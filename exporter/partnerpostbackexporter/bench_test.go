package partnerpostbackexporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/test/estest"
	"github.com/webjourney/webjourney/test/storetest"
)

// BenchmarkPostback sends signed postbacks to a local partner server over
// TLS with keep-alive, 64 per push (one credit record each, as the
// attribution processor emits them): one op is one postback, from the
// credit record to the partner's 200. The server runs in the same process,
// so ns/op includes its side of the exchange too.
func BenchmarkPostback(b *testing.B) {
	e, batches := benchExporter(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += perPush {
		if err := e.pushLogs(context.Background(), batches[(i/perPush)%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostbackParallel runs four pushes at a time, as the default
// sending queue's four consumers do.
func BenchmarkPostbackParallel(b *testing.B) {
	e, batches := benchExporter(b)
	b.ReportAllocs()
	b.ResetTimer()
	pushes := int64((b.N + perPush - 1) / perPush)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < pushes; i = next.Add(1) - 1 {
				if err := e.pushLogs(context.Background(), batches[i%int64(len(batches))]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkPostbackLedger is BenchmarkPostback without and with the
// ledger (the real Elasticsearch of ELASTICSEARCH_URL): the difference is
// what recording a decision costs the collector per postback (the
// document, the background bulk writes, the tombstone check per push);
// Elasticsearch's own work is another process. Compare the two by CPU time
// (scripts/bench-cpu.py): the writes run in the background, and the
// shutdown at the end flushes them.
func BenchmarkPostbackLedger(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run("ledger="+strconv.FormatBool(on), func(b *testing.B) {
			var esURL string
			if on {
				esURL = estest.URL(b)
			}
			e, batches := benchExporterWith(b, esURL)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += perPush {
				if err := e.pushLogs(context.Background(), batches[(i/perPush)%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const perPush = 64

func benchExporter(b *testing.B) (*postbackExporter, []plog.Logs) { return benchExporterWith(b, "") }

// benchExporterWith is the benchmarks' exporter, with a ledger in the
// Elasticsearch at esURL unless it is empty.
func benchExporterWith(b *testing.B, esURL string) (*postbackExporter, []plog.Logs) {
	t := b
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	ps := &partnerServer{Server: srv}
	ps.caFile = writeCA(b, srv)
	keyFile, s := clickKeys(t)
	cfg := testConfig(t, ps, keyFile, PartnerConfig{RateLimit: RateLimitConfig{RequestsPerSecond: 1e9, Burst: 1 << 20}})
	if esURL != "" {
		prefix := estest.UniquePrefix(b)
		l := defaultLedgerConfig()
		l.Endpoints, l.IndexPrefix = []string{esURL}, prefix
		// As in the tests: confighttp's wrappers do not pass
		// CloseIdleConnections on, and goleak checks the package.
		l.ClientConfig.DisableKeepAlives = true
		cfg.Ledger = configoptional.Some(l)
		b.Cleanup(func() { storetest.Connect(b, esURL).DeleteAll(prefix) })
	}
	e, err := newPostbackExporter(cfg, metadatatest.NewSettings(componenttest.NewTelemetry()))
	require.NoError(b, err)
	require.NoError(b, e.start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { _ = e.shutdown(context.Background()) })

	batches := make([]plog.Logs, 16)
	for i := range batches {
		recs := make([]creditRecord, perPush)
		for j := range recs {
			recs[j] = purchase("ap-" + strconv.Itoa(j))
			recs[j].eventID = "ev-" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
		}
		batches[i] = logsOf(t, s, recs...)
	}
	return e, batches
}
