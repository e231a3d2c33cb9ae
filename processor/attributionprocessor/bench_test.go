package attributionprocessor

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

// benchHits is a stream of page views of 10 000 visitors arriving with
// search, social, campaign and internal referrers, one in 20 a purchase.
func benchHits(n int) []plog.Logs {
	refs := []string{"https://www.google.com/search?q=x", "https://www.instagram.com/", "", site + "/", site + "/a"}
	out := make([]plog.Logs, n)
	for i := range out {
		h := hit{
			at:      time.Duration(i) * 50 * time.Millisecond,
			visitor: fmt.Sprintf("k1:visitor-%05d", i%10_000),
			url:     site + fmt.Sprintf("/p/%d", i%50),
			ref:     refs[i%len(refs)],
			id:      fmt.Sprintf("e%d", i),
		}
		if i%7 == 0 {
			h.url += "?utm_source=newsletter&utm_medium=email&utm_campaign=c"
		}
		if i%20 == 0 {
			h = hit{at: h.at, visitor: h.visitor, id: h.id, name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": 10}}
		}
		out[i] = logsOf(h)
	}
	return out
}

// benchInput returns the i-th event of an endless stream: benchHits'
// shapes, with times moving on and fresh event ids, spread over 10 000
// visitors. Building it (a pdata copy) is part of both benchmarks below;
// BenchmarkInputOnly measures it alone, to subtract.
func benchInput() func(i int) plog.Logs {
	shapes := benchHits(1000)
	return func(i int) plog.Logs {
		ld := plog.NewLogs()
		shapes[i%len(shapes)].CopyTo(ld)
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * 50 * time.Millisecond)))
		m := lr.Attributes()
		m.PutStr(eventmodel.AttrEventID, strconv.Itoa(i))
		m.PutStr(eventmodel.AttrVisitorID, visitorNames[i%len(visitorNames)])
		return ld
	}
}

var visitorNames = func() []string {
	out := make([]string, 10_000)
	for i := range out {
		out[i] = fmt.Sprintf("k1:visitor-%05d", i)
	}
	return out
}()

// BenchmarkProcessEvent measures one event per request (a beacon) through
// the processor with the test configuration: channel classification, the
// journey, two outcome rules, two segment rules, and the visit, visitor
// and credit records; rules=false without outcome and segment rules.
func BenchmarkProcessEvent(b *testing.B) {
	for _, rules := range []bool{true, false} {
		b.Run(fmt.Sprintf("rules=%v", rules), func(b *testing.B) {
			cfg := testConfig()
			if !rules {
				cfg.Outcomes, cfg.Segments = nil, nil
			}
			require.NoError(b, cfg.Validate())
			p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
			require.NoError(b, err)
			next := benchInput()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.processLogs(ctx, next(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInputOnly is the cost of making each input of BenchmarkProcessEvent.
func BenchmarkInputOnly(b *testing.B) {
	next := benchInput()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = next(i)
	}
}
