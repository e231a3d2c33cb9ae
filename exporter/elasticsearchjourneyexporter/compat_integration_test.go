package elasticsearchjourneyexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

// Every request the exporter sends, whatever it does (cluster check,
// templates and mappings, bulk writes of events, entities and dead
// letters, erasure, retention), is in REST API compatibility mode:
// compatible-with=8 in Accept, and in Content-Type when it has a body, so
// 9.x answers as 8.x does. A recording proxy in front of the real
// Elasticsearch sees them.
func TestEveryRequestIsInCompatibilityMode(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	rec := storetest.NewRecordingProxy(t, es.URL)
	_, set := newTelemetry(t)
	dl := prefix + "-dead-letter"
	exp := newTestExporter(t, set, rec.URL, prefix, func(c *Config) { c.DeadLetter.Index = dl })
	exp.cfg.Retention = RetentionConfig{EventsMonths: 25, VisitsMonths: 25, CheckInterval: time.Hour}

	ld := storetest.MakeLogs(
		storetest.PageViewWithID(storetest.UniqueID(t, 1)),
		storetest.Visit("v-1", 1, "shop", "k1:a"),
		func(lr plog.LogRecord) { // refused by the mapping: dead-lettered
			storetest.PageView(lr, storetest.UniqueID(t, 2))
			lr.Attributes().PutStr(eventmodel.AttrURLPort, "not-a-port")
		},
	)
	require.NoError(t, exp.pushLogs(context.Background(), ld))
	require.Equal(t, 1, es.CountIndex(dl))
	require.NoError(t, exp.pushLogs(context.Background(), storetest.MakeLogs(func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventErasureRequest)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEventID, storetest.UniqueID(t, 3))
		a.PutStr(eventmodel.AttrSiteID, "shop")
		a.PutStr(eventmodel.AttrVisitorID, "k1:a")
	})))
	exp.applyRetention(context.Background(), time.Now())

	paths := map[string]bool{}
	for _, r := range rec.Requests() {
		paths[r.Method+" "+r.Path] = true
		assert.Equal(t, esclient.CompatibleWith8, r.Accept, "%s %s", r.Method, r.Path)
		if r.HasBody {
			assert.Equal(t, esclient.CompatibleWith8, r.ContentType, "%s %s", r.Method, r.Path)
		}
	}
	for _, want := range []string{
		"GET /", "GET /_nodes/_local", "GET /_index_template/" + prefix + "-events", "PUT /_index_template/" + prefix + "-events",
		"POST /_bulk", "POST /" + prefix + "-*," + dl + "/_search", "GET /_cat/indices/" + prefix + "-events-*",
	} {
		assert.True(t, paths[want], "%s not seen among %v", want, paths)
	}
}
