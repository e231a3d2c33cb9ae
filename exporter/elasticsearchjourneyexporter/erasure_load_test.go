package elasticsearchjourneyexporter

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

// switchProxy stands between the exporter and the real Elasticsearch and
// can be taken down: every connection is then closed unanswered, as when
// the cluster is unreachable (the shared test server cannot be stopped).
type switchProxy struct {
	*httptest.Server
	down atomic.Bool
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &switchProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.Close()
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

type storageHost map[component.ID]component.Component

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h }

var queueStorageID = component.MustNewID("file_storage")

// collectorLife is one run of an exporter with a persistent queue in dir.
type collectorLife struct {
	exp exporter.Logs
	ext extension.Extension
}

func startCollectorLife(t *testing.T, set exporter.Settings, dir, endpoint, prefix string) *collectorLife {
	t.Helper()
	f := filestorage.NewFactory()
	scfg := f.CreateDefaultConfig().(*filestorage.Config)
	scfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), scfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))

	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints, cfg.IndexPrefix = []string{endpoint}, prefix
	cfg.DeadLetter.Index = prefix + "-dead-letter"
	cfg.ClientConfig.DisableKeepAlives = true // see newTestExporter
	cfg.ClientConfig.Timeout = 5 * time.Second
	q := defaultQueueConfig()
	q.StorageID = &queueStorageID
	q.QueueSize = 200_000
	b := q.Batch.Get()
	b.FlushTimeout, b.MinSize, b.MaxSize = 50*time.Millisecond, 200, 1000
	cfg.QueueConfig = configoptional.Some(q)
	// Retried until Elasticsearch is back, as docs/reliability.md says.
	cfg.RetryConfig.InitialInterval, cfg.RetryConfig.MaxInterval, cfg.RetryConfig.MaxElapsedTime = 20*time.Millisecond, 200*time.Millisecond, 0
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), storageHost{queueStorageID: ext}))
	return &collectorLife{exp: exp, ext: ext}
}

func (c *collectorLife) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.exp.Shutdown(context.Background()))
	require.NoError(t, c.ext.Shutdown(context.Background()))
}

// Erasure is exact under load with a persistent queue, whatever is in
// flight: while Elasticsearch is unreachable, thousands of events pile up
// in the queue on disk, among them a visitor's and a user's (on a browser
// of theirs) before and after two erasures: one by the operator straight
// in Elasticsearch (webjourneyctl), one as an erasure request in the
// pipeline, queued behind them. The collector is restarted on the same
// queue while Elasticsearch is still down. Once it is back and the queue
// has drained, nothing of either subject is stored anywhere (events,
// entities, partner-facing copies, dead letters), and every other
// visitor's event is stored exactly once.
func TestErasureExactUnderLoadWithPersistentQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	es, prefix := storetest.NewClient(t)
	dl := prefix + "-dead-letter"
	proxy := newSwitchProxy(t, es.URL)
	dir := t.TempDir()
	tt1, set1 := newTelemetry(t)
	life := startCollectorLife(t, set1, dir, proxy.URL, prefix)

	const (
		senders       = 16
		batchesEach   = 50
		eventsInBatch = 25
		goneVisitor   = "k1:gone-visitor"
		goneBrowser   = "k1:gone-browser"
		goneUser      = "k1:gone-user"
	)
	var others atomic.Int64
	// phase sends one third of the load: each sender's batches mix other
	// visitors' events with the subjects' events and snapshots.
	phase := func(c *collectorLife, n int) {
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batchesEach / 3 {
					var fills []func(plog.LogRecord)
					for e := range eventsInBatch {
						id := fmt.Sprintf("%s-%d-%d-%d-%d", prefix, n, s, b, e)
						switch {
						case e == 3:
							fills = append(fills, visitorEvent(id, "shop", goneVisitor, ""))
						case e == 7:
							fills = append(fills, visitorEvent(id, "shop", goneBrowser, goneUser))
						case e == 11:
							fills = append(fills, visitorEvent(id, "shop", goneBrowser, ""))
						case e == 13 && b%4 == 0:
							// The emitter's snapshots of the subjects, of a partner.
							fills = append(fills, func(lr plog.LogRecord) {
								storetest.Visit(fmt.Sprintf("visit-gone-%d-%d-%d", n, s, b), int64(n*1000+b+1), "shop", goneVisitor)(lr)
								lr.Attributes().PutStr(eventmodel.AttrChannelPartner, "archipro")
							}, storetest.Credit(fmt.Sprintf("credit-gone-%d-%d-%d", n, s, b), "shop", goneBrowser, storetest.VisitStart))
						default:
							fills = append(fills, visitorEvent(id, "shop", fmt.Sprintf("k1:other-%d-%d", s, e), ""))
							others.Add(1)
						}
					}
					assert.NoError(t, c.exp.ConsumeLogs(context.Background(), storetest.MakeLogs(fills...)))
				}
			}()
		}
		wg.Wait()
	}

	phase(life, 1) // Elasticsearch up
	proxy.down.Store(true)
	phase(life, 2) // piling up in the queue

	// The operator erases the visitor, straight in Elasticsearch.
	op := operatorStore(t, es.URL, prefix, dl)
	_, err := op.Erase(context.Background(), "shop", goneVisitor, "")
	require.NoError(t, err)
	// The user withdraws consent: the consent processor's erasure
	// request, queued behind the user's events.
	require.NoError(t, life.exp.ConsumeLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventErasureRequest)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEventID, prefix+"-erasure-request")
		a.PutStr(eventmodel.AttrSiteID, "shop")
		a.PutStr(eventmodel.AttrVisitorID, goneBrowser)
		a.PutStr(eventmodel.AttrUserID, goneUser)
		a.PutStr(eventmodel.AttrConsentReason, "consent_withdrawn")
	})))
	phase(life, 3) // more of both subjects after the erasures, queued

	// The collector restarts on its queue while Elasticsearch is away.
	life.stop(t)
	tt2, set2 := newTelemetry(t)
	life = startCollectorLife(t, set2, dir, proxy.URL, prefix)
	proxy.down.Store(false)

	want := int(others.Load())
	require.Eventually(t, func() bool {
		return es.Count(prefix) >= want+2 // the others, and two audit records
	}, 3*time.Minute, 200*time.Millisecond, "the queue drains once Elasticsearch is back")
	life.stop(t)

	for _, id := range []string{goneVisitor, goneBrowser, goneUser} {
		assert.Empty(t, subjectDocs(es, prefix, dl, id), "%s is stored after its erasure", id)
	}
	assert.Zero(t, es.CountIndex(prefix+"-partner-*"), "no partner-facing copy of an erased visitor")
	assert.Zero(t, es.CountIndex(prefix+"-visits,"+prefix+"-credits"), "no snapshot of an erased visitor")
	assert.Equal(t, want+2, es.Count(prefix), "every other event once, and the two audit records")
	erased := total(t, tt1, "exporter_elasticsearch_journey_docs_erased") + total(t, tt2, "exporter_elasticsearch_journey_docs_erased")
	assert.Positive(t, erased, "queued records of the subjects were dropped")
	t.Logf("%d other events stored; %d records of erased subjects dropped; %d sweeps",
		want, erased, total(t, tt1, "exporter_elasticsearch_journey_erasure_sweeps")+total(t, tt2, "exporter_elasticsearch_journey_erasure_sweeps"))
}
