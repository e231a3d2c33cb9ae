package attributionprocessor

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

// Visits in the benchmark stream have eight steps: a landing (search,
// social, email campaign, AI assistant or direct, by variant), five pages
// reached by internal links, an engagement event and, in one variant in
// forty, a purchase (else another page).
const (
	benchSteps    = 8
	benchVariants = 40
	benchVisitors = 10_000
)

// benchShapes are the events of every step of every variant.
func benchShapes() []plog.Logs {
	landings := []hit{
		{url: site + "/shoes", ref: "https://www.google.com/search?q=red+shoes"},
		{url: site + "/", ref: "https://www.instagram.com/"},
		{url: site + "/sale?utm_source=newsletter&utm_medium=email&utm_campaign=winter"},
		{url: site + "/guide", ref: "https://chatgpt.com/"},
		{url: site + "/"},
	}
	out := make([]plog.Logs, 0, benchSteps*benchVariants)
	for v := 0; v < benchVariants; v++ {
		for step := 0; step < benchSteps; step++ {
			h := hit{visitor: "k1:x", id: "x"}
			switch {
			case step == 0:
				l := landings[v%len(landings)]
				h.url, h.ref = l.url, l.ref
			case step == 6:
				h.name, h.engaged = eventmodel.EventEngagement, 12_000
			case step == 7 && v == 0:
				h.name, h.custom, h.props = eventmodel.EventCustom, "purchase", map[string]any{"revenue": 49.5}
			default:
				h.url, h.ref = site+fmt.Sprintf("/p/%d", step*7+v), site+"/"
			}
			out = append(out, logsOf(h))
		}
	}
	return out
}

// benchInput returns the i-th event of an endless stream: 10 000
// visitors take turns, each going through visits of benchShapes' steps
// (one event of each visitor every 500 s of event time), with the room
// for attributes the anonymizer leaves.
func benchInput() func(i int) plog.Logs {
	shapes := benchShapes()
	return func(i int) plog.Logs {
		visitor, turn := i%benchVisitors, i/benchVisitors
		step, visit := turn%benchSteps, turn/benchSteps
		variant := (visitor + visit) % benchVariants
		ld := plog.NewLogs()
		shapes[variant*benchSteps+step].CopyTo(ld)
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * 50 * time.Millisecond)))
		m := lr.Attributes()
		m.PutStr(eventmodel.AttrEventID, strconv.Itoa(i))
		m.PutStr(eventmodel.AttrVisitorID, visitorNames[visitor])
		// As the anonymizer hands events over in the distribution.
		m.EnsureCapacity(m.Len() + eventmodel.AttributionAttrs)
		return ld
	}
}

var visitorNames = func() []string {
	out := make([]string, benchVisitors)
	for i := range out {
		out[i] = fmt.Sprintf("k1:visitor-%05d", i)
	}
	return out
}()

// BenchmarkProcessEvent measures one event per request (a beacon) through
// the processor with the test configuration: channel classification, the
// journey, two outcome rules (rules=true), two segment rules, and the
// visit, visitor and credit records.
//
//   - emit=batch: emit_interval 0, every request carries its visit's
//     record: the whole cost on the request path;
//   - emit=hot: emit_interval > 0, the request path only (the emitter's
//     flush, every 1000 events, runs outside the timer);
//   - emit=total: the same with the flush timed: all the work per event
//     (this stream has no bursts, so nothing coalesces).
func BenchmarkProcessEvent(b *testing.B) {
	for _, rules := range []bool{true, false} {
		for _, mode := range []string{"batch", "hot", "total"} {
			b.Run(fmt.Sprintf("rules=%v/emit=%s", rules, mode), func(b *testing.B) {
				cfg := testConfig()
				if !rules {
					cfg.Outcomes, cfg.Segments = nil, nil
				}
				require.NoError(b, cfg.Validate())
				p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
				require.NoError(b, err)
				if mode != "batch" {
					p.emitter = newEmitter(p, consumertest.NewNop(), time.Second)
				}
				next := benchInput()
				ctx := context.Background()
				// Inputs are made in chunks with the timer stopped, so
				// the numbers are the processor's alone (their garbage
				// still costs collection time inside the timer).
				chunk := make([]plog.Logs, benchChunk)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%benchChunk == 0 {
						b.StopTimer()
						if p.emitter != nil && mode == "hot" && i > 0 {
							p.emitter.flush(ctx)
						}
						for j := range chunk {
							chunk[j] = next(i + j)
						}
						b.StartTimer()
					}
					if _, err := p.processLogs(ctx, chunk[i%benchChunk]); err != nil {
						b.Fatal(err)
					}
					if p.emitter != nil && mode == "total" && i%benchChunk == benchChunk-1 {
						p.emitter.flush(ctx)
					}
				}
			})
		}
	}
}

// benchChunk is how many inputs are made at a time, and how many events
// the emitter collects between flushes.
const benchChunk = 1000
