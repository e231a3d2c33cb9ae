package anonymizer

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// The routing key of the two-tier layout carries the raw visitor id or
// client address. Whatever the event's decision, the key's type, or the
// configuration, it leaves the anonymizer on no event, and its value
// survives nowhere else in clear text.
func TestRoutingKeyIsAlwaysRemoved(t *testing.T) {
	const rawID, rawAddr = "v-routing-canary-4711", "203.0.113.211"
	record := func(ld plog.Logs, decision, key string) {
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
		lr.SetEventName(eventmodel.EventPageView)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrSiteID, "shop")
		if decision != "" {
			a.PutStr(eventmodel.AttrConsentDecision, decision)
		}
		if decision == eventmodel.DecisionKeep {
			a.PutStr(eventmodel.AttrVisitorID, rawID)
		}
		a.PutStr(eventmodel.AttrClientAddress, rawAddr)
		a.PutStr(eventmodel.AttrUserAgent, "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
		a.PutStr(eventmodel.AttrURLFull, "https://shop.example/")
		a.PutStr(eventmodel.AttrRoutingKey, key)
	}
	events := func() plog.Logs {
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		record(ld, eventmodel.DecisionKeep, rawID)
		record(ld, eventmodel.DecisionAnonymous, rawAddr)
		record(ld, "", rawAddr) // no consent processor in front
		// Over OTLP a client may send any type.
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
		lr.Attributes().PutStr(eventmodel.AttrSiteID, "shop")
		lr.Attributes().PutEmptyMap(eventmodel.AttrRoutingKey).PutStr("id", rawID)
		return ld
	}

	defaults, err := loadConfig(t, "")
	require.NoError(t, err)
	listed, err := loadConfig(t, "golden_recoverable")
	require.NoError(t, err)
	// An owner who lists the key to keep it (pseudonymised or encrypted)
	// does not get it either: it means nothing after the load balancer.
	listed.Pseudonymize = append(listed.Pseudonymize, eventmodel.AttrRoutingKey)
	listed.Recoverable.Attributes = append(listed.Recoverable.Attributes, eventmodel.AttrRoutingKey)

	for name, cfg := range map[string]*Config{"defaults": defaults, "listed in pseudonymize and recoverable": listed} {
		t.Run(name, func(t *testing.T) {
			p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
			defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
			require.NoError(t, p.ConsumeLogs(context.Background(), events()))
			out := sink.AllLogs()[0]
			records := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			require.Equal(t, 4, records.Len())
			for i, lr := range records.All() {
				_, ok := lr.Attributes().Get(eventmodel.AttrRoutingKey)
				assert.False(t, ok, "record %d kept the routing key", i)
				for k, v := range lr.Attributes().All() {
					s := v.AsString()
					assert.NotContains(t, s, rawID, "record %d: %s", i, k)
					assert.NotContains(t, s, rawAddr, "record %d: %s", i, k)
				}
			}
			// The rest of the work still happened.
			kept := records.At(0).Attributes()
			vid, _ := kept.Get(eventmodel.AttrVisitorID)
			assert.True(t, strings.HasPrefix(vid.Str(), "k1:"), "visitor id pseudonymised: %q", vid.Str())
			_, hasKey := records.At(1).Attributes().Get(eventmodel.AttrCookielessKey)
			assert.True(t, hasKey, "the anonymous event got its cookieless key from client.address")
		})
	}
}
