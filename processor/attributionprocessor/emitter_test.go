package attributionprocessor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadatatest"
)

func entityCount(lds []plog.Logs) int {
	n := 0
	for _, ld := range lds {
		s := store([]plog.Logs{ld})
		n += len(s.entities)
	}
	return n
}

// With emit_interval, events pass at once and carry no entity records;
// the emitter sends each changed entity once per interval, at its newest
// version, and what is pending at shutdown.
func TestEmitterCoalesces(t *testing.T) {
	cfg := testConfig()
	cfg.EmitInterval = time.Hour // only the shutdown flush sends
	p, sink := newTestProcessor(t, cfg)
	hits := goldenJourneys["campaign_change"].hits
	for _, h := range hits {
		require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(h)))
	}
	require.Len(t, sink.AllLogs(), len(hits))
	assert.Zero(t, entityCount(sink.AllLogs()), "no entity record on the request path")

	require.NoError(t, p.Shutdown(context.Background()))
	all := sink.AllLogs()
	require.Len(t, all, len(hits)+1, "one flush")
	flushed := store(all[len(hits):])
	assert.Len(t, flushed.of(eventmodel.EventVisit), 3)
	assert.Len(t, flushed.of(eventmodel.EventVisitor), 1)
	assert.Len(t, flushed.of(eventmodel.EventAttributionCredit), 3*6)

	// The same final state as entity records in every batch, the
	// visitor fields a visit record carries included: they are the
	// visitor's as of the visit's latest event, not as of the emission
	// (visit 2 was last sent after visit 3 began).
	sync := run(t, testConfig(), hits...)
	for _, name := range []string{eventmodel.EventVisit, eventmodel.EventVisitor} {
		a, b := flushed.of(name), sync.of(name)
		require.Len(t, a, len(b))
		for i := range a {
			assert.Equal(t, b[i].Attributes().AsRaw(), a[i].Attributes().AsRaw())
		}
	}
}

// A visitor's whole history in one request (as an import sends it, sorted
// per visitor) gives the visit records it gives event by event: each
// visit carries the visitor as of that visit (visit 1 of a returning
// visitor is not returning, has no later outcome, no later partner).
func TestVisitRecordsCarryTheVisitorAsOfTheVisit(t *testing.T) {
	for name, j := range goldenJourneys {
		cfg := testConfig()
		if j.config != nil {
			j.config(cfg)
		}
		each := run(t, cfg, j.hits...)
		p, sink := newTestProcessor(t, cfg)
		require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(j.hits...)))
		once := store(sink.AllLogs())
		a, b := once.of(eventmodel.EventVisit), each.of(eventmodel.EventVisit)
		require.Len(t, a, len(b), name)
		for i := range a {
			for _, k := range []string{eventmodel.AttrVisitorVisitCount, eventmodel.AttrVisitorReturning, eventmodel.AttrVisitorOutcomes, eventmodel.AttrVisitorPartner} {
				assert.Equal(t, rawAttr(b[i], k), rawAttr(a[i], k), "%s: visit %d: %s", name, i, k)
			}
		}
	}
}

func rawAttr(lr plog.LogRecord, k string) any {
	if v, ok := lr.Attributes().Get(k); ok {
		return v.AsRaw()
	}
	return nil
}

func TestEmitterSendsOnItsTicker(t *testing.T) {
	cfg := testConfig()
	cfg.EmitInterval = 10 * time.Millisecond
	p, sink := newTestProcessor(t, cfg)
	require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(hit{visitor: "t", url: site + "/"})))
	require.Eventually(t, func() bool { return entityCount(sink.AllLogs()) == 2 }, 10*time.Second, 5*time.Millisecond,
		"the visit and visitor records arrive without a shutdown")
}

func TestEmitterCountsRefusedRecords(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := testConfig()
	cfg.EmitInterval = time.Hour
	p, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewErr(errors.New("queue full")))
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	_ = p.ConsumeLogs(context.Background(), logsOf(hit{visitor: "t", url: site + "/"}))
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorAttributionRecordsDropped(t, tel, []metricdata.DataPoint[int64]{{Value: 2}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// A visit the tracker lets go of while a flush that holds it is under way
// still gets its record: the flush finds its final state among the drops
// noted in the pending set (found by the seeded dashboards test as an
// occasional missing visit document).
func TestFlushFindsVisitsDroppedMeanwhile(t *testing.T) {
	cfg := testConfig()
	cfg.EmitInterval = time.Hour
	p, err := newProcessor(processortestSettings(), cfg)
	require.NoError(t, err)
	sink := new(consumertest.LogsSink)
	p.emitter = newEmitter(p, sink, time.Hour)
	ctx := context.Background()
	consume := func(h hit) {
		_, err := p.processLogs(ctx, logsOf(h))
		require.NoError(t, err)
	}
	consume(hit{at: 0, visitor: "d", url: site + "/a", ref: "https://www.google.com/"})
	consume(hit{at: time.Minute, visitor: "d", url: site + "/b", ref: site + "/a"})

	// A flush takes the pending set...
	e := p.emitter
	e.mu.Lock()
	taken := e.pending
	e.pending = batch{}
	e.mu.Unlock()
	// ...and before it reads visit A, two more visits make the tracker drop A.
	consume(hit{at: time.Hour, visitor: "d", url: site + "/c?utm_source=nl&utm_medium=email"})
	consume(hit{at: 2 * time.Hour, visitor: "d", url: site + "/d", ref: "https://www.instagram.com/"})

	ld := plog.NewLogs()
	p.emit(ctx, ld, &taken, e.droppedVisit)
	visits := store([]plog.Logs{ld}).of(eventmodel.EventVisit)
	require.Len(t, visits, 1, "visit A is written from its final state")
	assert.Equal(t, int64(2), attrInt(visits[0], eventmodel.AttrVisitPagesViewed))
	assert.Equal(t, "search", attrStr(visits[0], eventmodel.AttrChannelMedium))
}

func processortestSettings() processor.Settings { return processortest.NewNopSettings(metadata.Type) }

// A visit that changes after a flush took the pending set but before the
// flush read it is written by the next flush only, with the visitor fields
// that go with its newest state: an external version is stored once, and
// the taken set's rider is older than the visit it would read (found by
// the e2e history test as an occasional visit record without the
// visitor's new outcome).
func TestFlushLeavesVisitsChangedMeanwhileToTheNext(t *testing.T) {
	cfg := testConfig()
	cfg.EmitInterval = time.Hour
	p, err := newProcessor(processortestSettings(), cfg)
	require.NoError(t, err)
	sink := new(consumertest.LogsSink)
	p.emitter = newEmitter(p, sink, time.Hour)
	ctx := context.Background()
	consume := func(h hit) {
		_, err := p.processLogs(ctx, logsOf(h))
		require.NoError(t, err)
	}
	consume(hit{at: 0, visitor: "r", url: site + "/a", ref: "https://www.google.com/"})

	e := p.emitter
	e.mu.Lock()
	taken := e.pending
	e.pending = batch{}
	e.mu.Unlock()
	// The purchase arrives between taking the set and reading the visit.
	consume(hit{at: time.Minute, visitor: "r", name: eventmodel.EventCustom, custom: "purchase", props: map[string]any{"revenue": 10.0}})

	first := plog.NewLogs()
	p.emit(ctx, first, &taken, e.droppedVisit)
	assert.Empty(t, store([]plog.Logs{first}).of(eventmodel.EventVisit), "the taken set leaves the changed visit to the next flush")
	assert.Len(t, store([]plog.Logs{first}).of(eventmodel.EventVisitor), 1, "the visitor record of the visit's start is still written")

	e.flush(ctx)
	visits := store(sink.AllLogs()).of(eventmodel.EventVisit)
	require.Len(t, visits, 1)
	v, _ := visits[0].Attributes().Get(eventmodel.AttrVisitorOutcomes)
	assert.Equal(t, []any{"purchase"}, v.Slice().AsRaw(), "the visit record carries the visitor's outcome of its newest state")
	v, _ = visits[0].Attributes().Get(eventmodel.AttrVisitOutcomes)
	assert.Equal(t, []any{"purchase"}, v.Slice().AsRaw())
}
