package pixelreceiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	nooptrace "go.opentelemetry.io/otel/trace/noop"

	"github.com/webjourney/webjourney/processor/anonymizer"
	"github.com/webjourney/webjourney/processor/attributionprocessor"
	"github.com/webjourney/webjourney/processor/consentprocessor"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
)

// The default pipeline in one process, without the network and the
// exporter: receiver handler -> consent -> anonymizer -> attribution -> nop.
// It measures what the stages cost together per event, including every
// attribute one stage writes and the next one reads, which the per-component
// benchmarks (each with hand-made input) cannot show.

// benchPipelineVisitors is how many visitors the hits cycle through: the
// attribution processor keeps a journey per visitor, as in production.
const benchPipelineVisitors = 10_000

// newBenchPipeline returns a receiver whose events go through the default
// processors; consentDefault is the consent processor's default policy
// (opt_in: events without a consent signal are anonymous; opt_out: kept
// with their pseudonymised ids).
func newBenchPipeline(b *testing.B, consentDefault string) *pixelReceiver {
	b.Helper()
	return newPipeline(b, consentDefault, consumertest.NewNop())
}

// newPipeline is newBenchPipeline with the processors' output going to
// sink.
func newPipeline(b testing.TB, consentDefault string, sink consumer.Logs) *pixelReceiver {
	b.Helper()
	return newPipelineWith(b, consentDefault, sink, componenttest.NewNopTelemetrySettings())
}

// newTelemetryPipeline is newBenchPipeline with the OpenTelemetry SDK's
// meter provider behind every component, as in the built collector: the
// components' own counters and the processor helper's item counts and
// durations are recorded, not dropped by a no-op meter. Traces stay
// no-op, as in a collector without a traces exporter configured.
func newTelemetryPipeline(b *testing.B, consentDefault string) *pixelReceiver {
	b.Helper()
	tel := componenttest.NewTelemetry()
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	ts := tel.NewTelemetrySettings()
	ts.TracerProvider = nooptrace.NewTracerProvider()
	return newPipelineWith(b, consentDefault, consumertest.NewNop(), ts)
}

func newPipelineWith(b testing.TB, consentDefault string, sink consumer.Logs, ts component.TelemetrySettings) *pixelReceiver {
	b.Helper()
	ctx := context.Background()
	host := componenttest.NewNopHost()
	next := sink
	start := func(f processor.Factory, cfg any) {
		set := processortest.NewNopSettings(f.Type())
		set.TelemetrySettings = ts
		p, err := f.CreateLogs(ctx, set, cfg, next)
		if err != nil {
			b.Fatal(err)
		}
		if err = p.Start(ctx, host); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Shutdown(ctx) })
		next = p
	}
	// Built back to front: each processor feeds the one made before it.
	attr := attributionprocessor.NewFactory()
	start(attr, attr.CreateDefaultConfig())

	b.Setenv("WEBJOURNEY_BENCH_SECRET", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	anon := anonymizer.NewFactory()
	anonCfg := anon.CreateDefaultConfig().(*anonymizer.Config)
	anonCfg.Secret.Env = "WEBJOURNEY_BENCH_SECRET"
	start(anon, anonCfg)

	cons := consentprocessor.NewFactory()
	consCfg := cons.CreateDefaultConfig().(*consentprocessor.Config)
	consCfg.Default = consentDefault
	start(cons, consCfg)

	cfg := createDefaultConfig().(*Config)
	cfg.Sites = []SiteConfig{testSite("shop")}
	cfg.RateLimit = benchRateLimit
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = ts
	r, err := newPixelReceiver(cfg, set, next)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// benchPipelineHits are pixel hits of benchPipelineVisitors visitors, the
// benchmark's page view without its event id (the receiver makes one, so
// that the attribution processor sees no duplicates).
func benchPipelineHits() []*http.Request {
	q, _ := url.ParseQuery(benchPixelQuery)
	q.Del("eid")
	reqs := make([]*http.Request, benchPipelineVisitors)
	for i := range reqs {
		q.Set("vid", fmt.Sprintf("%032x", i+1))
		req := httptest.NewRequest(http.MethodGet, "/p.gif?"+q.Encode(), http.NoBody)
		req.Header.Set("User-Agent", benchUA)
		req.RemoteAddr = fmt.Sprintf("198.51.%d.%d:40000", i/250, i%250+1)
		reqs[i] = req
	}
	return reqs
}

// BenchmarkPipelinePixelHit: one pixel page view through the default
// processors, per hit.
func BenchmarkPipelinePixelHit(b *testing.B) {
	for _, policy := range []string{consentprocessor.PolicyOptIn, consentprocessor.PolicyOptOut} {
		b.Run("consent="+policy, func(b *testing.B) { runPipelineHits(b, newBenchPipeline(b, policy)) })
	}
}

// BenchmarkPipelineBeacon: beacons of 10 events through the default
// processors, per event.
func BenchmarkPipelineBeacon(b *testing.B) {
	for _, policy := range []string{consentprocessor.PolicyOptIn, consentprocessor.PolicyOptOut} {
		b.Run("consent="+policy, func(b *testing.B) { runPipelineBeacons(b, newBenchPipeline(b, policy)) })
	}
}

// BenchmarkPipelineTelemetry: the two benchmarks above with the SDK's
// meter provider, so that what each event costs in telemetry (component
// counters, the processor helper's obsreport) is counted as in the
// built collector.
func BenchmarkPipelineTelemetry(b *testing.B) {
	for _, policy := range []string{consentprocessor.PolicyOptIn, consentprocessor.PolicyOptOut} {
		b.Run("pixel/consent="+policy, func(b *testing.B) { runPipelineHits(b, newTelemetryPipeline(b, policy)) })
		b.Run("beacon/consent="+policy, func(b *testing.B) { runPipelineBeacons(b, newTelemetryPipeline(b, policy)) })
	}
}

func runPipelineHits(b *testing.B, r *pixelReceiver) {
	reqs := benchPipelineHits()
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec.Body.Reset()
		r.route(rec, reqs[i%len(reqs)])
		i++
	}
	if !bytes.Equal(rec.Body.Bytes(), transparentGIF) {
		b.Fatal("no GIF")
	}
}

func runPipelineBeacons(b *testing.B, r *pixelReceiver) {
	const events = 10
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		// Each beacon a visitor's own with new event ids, as the
		// attribution processor ignores an event id it has seen.
		b.StopTimer()
		n++
		body := bytes.ReplaceAll(benchBeaconBody(events), []byte(`"id":"evt-`), fmt.Appendf(nil, `"id":"b%d-`, n))
		body = bytes.Replace(body, []byte("3f2b8c1e-9d4a-4f6b-8e2c-1a5d7b9c0e3f"), fmt.Appendf(nil, "%032x", n%benchPipelineVisitors+1), 1)
		b.StartTimer()
		req := httptest.NewRequest(http.MethodPost, "/b", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", benchUA)
		rec := httptest.NewRecorder()
		r.route(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}
