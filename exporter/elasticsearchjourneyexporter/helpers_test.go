package elasticsearchjourneyexporter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/eventmodel"
)

// newTestExporter starts an exporter (without the exporterhelper wrapper,
// so tests see pushLogs' own result) against endpoint.
func newTestExporter(t testing.TB, set exporter.Settings, endpoint, prefix string, modify ...func(*Config)) *eventsExporter {
	t.Helper()
	return newTestExporterOnHost(t, set, componenttest.NewNopHost(), prefix,
		append([]func(*Config){func(c *Config) { c.Endpoints = []string{endpoint} }}, modify...)...)
}

// newTestExporterOnHost starts an exporter on host; modify sets its
// endpoints.
func newTestExporterOnHost(t testing.TB, set exporter.Settings, host component.Host, prefix string, modify ...func(*Config)) *eventsExporter {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.IndexPrefix = prefix
	// confighttp's transport wrappers do not pass CloseIdleConnections
	// through, so without this the pooled connections would outlive the
	// test and trip the package's goleak check.
	cfg.ClientConfig.DisableKeepAlives = true
	for _, m := range modify {
		m(cfg)
	}
	require.NoError(t, cfg.Validate())
	exp, err := newEventsExporter(cfg, set)
	require.NoError(t, err)
	exp.retryMin, exp.retryMax = 20*time.Millisecond, 100*time.Millisecond
	require.NoError(t, exp.start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, exp.shutdown(context.Background())) })
	return exp
}

// statusHost records the component status events an exporter reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func newStatusHost() *statusHost { return &statusHost{Host: componenttest.NewNopHost()} }

func (h *statusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// statuses returns the statuses reported so far, in order.
func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []componentstatus.Status
	for _, e := range h.events {
		out = append(out, e.Status())
	}
	return out
}

func newTelemetry(t testing.TB) (*componenttest.Telemetry, exporter.Settings) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	return tt, metadatatest.NewSettings(tt)
}

// recordIDs lists the event ids of all records of ld, in order.
func recordIDs(ld plog.Logs) []string {
	var ids []string
	forEachRecord(ld, func(_ int, lr plog.LogRecord) {
		id, _ := lr.Attributes().Get(eventmodel.AttrEventID)
		ids = append(ids, id.Str())
	})
	return ids
}
