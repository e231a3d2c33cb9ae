package anonymizer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/sealed"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadatatest"
)

func leadEvent(decision string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventmodel.EventFormSubmit)
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrSiteID, "shop")
	a.PutStr(eventmodel.AttrConsentDecision, decision)
	p := a.PutEmptyMap(eventmodel.AttrProperties)
	p.PutStr("lead_email", "lead.person@example.com")
	p.PutStr("plan", "pro")
	return ld
}

// A recoverable field is stored encrypted on a consented event, opens with
// the owner's key (what webjourneyctl decrypt does), and is dropped from
// any other event.
func TestRecoverableFields(t *testing.T) {
	cfg, err := loadConfig(t, "golden_recoverable")
	require.NoError(t, err)
	p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	require.NoError(t, p.ConsumeLogs(context.Background(), leadEvent(eventmodel.DecisionKeep)))
	require.NoError(t, p.ConsumeLogs(context.Background(), leadEvent(eventmodel.DecisionAnonymous)))

	props := func(i int) map[string]any {
		lr := sink.AllLogs()[i].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		v, _ := lr.Attributes().Get(eventmodel.AttrProperties)
		return v.Map().AsRaw()
	}
	kept := props(0)
	stored, _ := kept["lead_email"].(string)
	require.True(t, sealed.IsSealed(stored), "stored as %q", stored)
	assert.NotContains(t, stored, "lead.person")
	assert.Equal(t, "pro", kept["plan"])

	keyText, err := os.ReadFile(filepath.Join("testdata", "recover1.key"))
	require.NoError(t, err)
	key, err := sealed.ParseKey(string(keyText))
	require.NoError(t, err)
	s, err := sealed.New("r1", map[string][]byte{"r1": key})
	require.NoError(t, err)
	plain, err := s.Open(stored, sealed.AssociatedData("shop", "webjourney.properties.lead_email"))
	require.NoError(t, err)
	assert.Equal(t, "lead.person@example.com", plain)
	_, err = s.Open(stored, sealed.AssociatedData("blog", "webjourney.properties.lead_email"))
	assert.Error(t, err, "a value moved to another site does not open")

	anon := props(1)
	assert.NotContains(t, anon, "lead_email")
	assert.Equal(t, "pro", anon["plan"])
}

func TestTelemetryCountsRedactions(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	p, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	in, err := golden.ReadLogs(filepath.Join("testdata", "golden", "scrubbing", "input.yaml"))
	require.NoError(t, err)
	require.NoError(t, p.ConsumeLogs(context.Background(), in))
	require.NoError(t, p.Shutdown(context.Background()))

	got := map[string]int64{}
	m, err := tel.GetMetric("otelcol_processor_anonymizer_redactions")
	require.NoError(t, err)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		d, _ := dp.Attributes.Value(attribute.Key("detector"))
		got[d.AsString()] += dp.Value
	}
	// The scrubbing input has each of these at least once; the JWT sits in
	// a denied fragment parameter, so it counts as param.
	for _, d := range []string{"email", "phone", "card", "iban", "token", "param", "userinfo", "form_value"} {
		assert.Positive(t, got[d], "no %s redaction counted: %v", d, got)
	}
}
