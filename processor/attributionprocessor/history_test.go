package attributionprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadatatest"
)

// imported marks a hit as imported history (channel import).
func imported(h hit) hit {
	h.attrs = map[string]any{eventmodel.AttrIngestChannel: eventmodel.ChannelImport}
	return h
}

// History imported after the visitor's live journey began: older than the
// live state, it never changes the live visits or the visitor record, is
// passed on as events, counted history_behind_live (attributed in the
// history tracker: its visits and credits are those the history alone
// gives) or history_in_live_visit (inside a live visit: not attributed),
// and a live event imported again stays a duplicate.
func TestHistoryBehindLive(t *testing.T) {
	live := []hit{
		{at: 10 * day, visitor: "v1", url: site + "/shoes", ref: "https://www.google.com/search?q=shoes"},
		{at: 10*day + 5*time.Minute, visitor: "v1", url: site + "/shoes/red", ref: site + "/shoes"},
		{at: 10*day + 6*time.Minute, visitor: "v1", name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": 80.0}},
	}
	history := []hit{ // two visits a week earlier, the second buys
		imported(hit{at: 2 * day, visitor: "v1", url: site + "/sale?utm_source=nl&utm_medium=email&utm_campaign=w1"}),
		imported(hit{at: 2*day + time.Minute, visitor: "v1", url: site + "/sale/blue", ref: site + "/sale"}),
		imported(hit{at: 3 * day, visitor: "v1", url: site + "/", ref: "https://archipro.co.nz/"}),
		imported(hit{at: 3*day + 2*time.Minute, visitor: "v1", name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": 30.0}}),
	}
	overlap := []hit{
		imported(hit{at: 10*day + 3*time.Minute, visitor: "v1", url: site + "/shoes/other"}), // inside the live visit
		imported(live[1]), // a live event imported again (same id)
	}

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), testConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	for _, h := range append(append(append([]hit{}, live...), history...), overlap...) {
		require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(h)))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	got := store(sink.AllLogs())
	liveOnly := run(t, testConfig(), live...)
	historyOnly := run(t, testConfig(), history...)

	// Every event passes on.
	assert.Len(t, got.events, len(live)+len(history)+len(overlap))
	// The live visit and the visitor record are the live journey's alone.
	for _, name := range []string{eventmodel.EventVisitor} {
		require.Len(t, got.of(name), 1)
		assert.Equal(t, liveOnly.of(name)[0].Attributes().AsRaw(), got.of(name)[0].Attributes().AsRaw(), "the visitor record")
	}
	visits := map[string]map[string]any{}
	for _, lr := range got.of(eventmodel.EventVisit) {
		visits[attrStr(lr, eventmodel.AttrEntityID)] = lr.Attributes().AsRaw()
	}
	require.Len(t, visits, 3, "the live visit and the two history visits")
	for _, lr := range append(liveOnly.of(eventmodel.EventVisit), historyOnly.of(eventmodel.EventVisit)...) {
		assert.Equal(t, lr.Attributes().AsRaw(), visits[attrStr(lr, eventmodel.AttrEntityID)],
			"visit %s: as the live journey alone or the history alone gives it", attrStr(lr, eventmodel.AttrEntityID))
	}
	// The history's visits are older: lower versions than the live ones.
	assert.Less(t, version(historyOnly.of(eventmodel.EventVisit)[1]), version(liveOnly.of(eventmodel.EventVisit)[0]))
	// Credits: the live purchase's, and the history purchase's over the
	// history's two touches, as the history alone gives them.
	credits := map[string]map[string]any{}
	for _, lr := range got.of(eventmodel.EventAttributionCredit) {
		credits[attrStr(lr, eventmodel.AttrEntityID)] = lr.Attributes().AsRaw()
	}
	want := append(liveOnly.of(eventmodel.EventAttributionCredit), historyOnly.of(eventmodel.EventAttributionCredit)...)
	require.Len(t, credits, len(want))
	for _, lr := range want {
		assert.Equal(t, lr.Attributes().AsRaw(), credits[attrStr(lr, eventmodel.AttrEntityID)])
	}

	dp := func(v string, n int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("result", v)), Value: n}
	}
	metadatatest.AssertEqualProcessorAttributionEvents(t, tel, []metricdata.DataPoint[int64]{
		dp("applied", int64(len(live))),
		dp("history_behind_live", int64(len(history))),
		dp("history_in_live_visit", 1),
		dp("duplicate", 1),
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
