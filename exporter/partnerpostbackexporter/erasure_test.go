package partnerpostbackexporter

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/eventmodel"
)

func erasureRequest(site, visitor string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventmodel.EventErasureRequest)
	lr.Attributes().PutStr(eventmodel.AttrSiteID, site)
	lr.Attributes().PutStr(eventmodel.AttrVisitorID, visitor)
	return ld
}

// A postback waiting in the queue for its partner is cancelled when its
// visitor withdraws consent (an erasure request) in the meantime.
func TestErasureCancelsAQueuedPostback(t *testing.T) {
	ps := newPartnerServer(t, http.StatusServiceUnavailable)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	e := newDirect(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))

	withdrawn, other := purchase("c1"), purchase("c2")
	withdrawn.visitor, other.visitor, other.eventID = "k1:withdrawn", "k1:other", "ev-2"
	err := e.pushLogs(context.Background(), logsOf(t, s, withdrawn))
	var le consumererror.Logs
	require.True(t, errors.As(err, &le), "%v", err)

	require.NoError(t, e.pushLogs(context.Background(), erasureRequest("shop", "k1:withdrawn")))
	require.NoError(t, e.pushLogs(context.Background(), le.Data()), "the retry")
	require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, other)))
	// The same visitor id on another site is another visitor.
	onBlog := erasureRequest("blog", "k1:other")
	require.NoError(t, e.pushLogs(context.Background(), onBlog))

	assert.Len(t, ps.requests(), 2, "the 503, then only the other visitor's postback")
	metadatatest.AssertEqualExporterPartnerPostbackSkipped(t, tt,
		[]metricdata.DataPoint[int64]{{Value: 1, Attributes: partnerSet("reason", skipErased)}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	// An erasure is remembered for erasedTTL.
	e.erasures.now = func() time.Time { return time.Now().Add(erasedTTL + time.Minute) }
	m := logsOf(t, s, withdrawn).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	assert.False(t, e.erasures.erased(m))
}

func TestErasuresAreBounded(t *testing.T) {
	er := newErasures()
	for i := range maxErased + 10 {
		er.add([2]string{"shop", string(rune('a'+i%26)) + time.Duration(i).String()})
	}
	assert.Len(t, er.at, maxErased)
	assert.Len(t, er.order, maxErased)
}
