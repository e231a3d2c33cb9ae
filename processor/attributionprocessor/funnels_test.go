package attributionprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

func pathIs(p string) []string { return []string{fmt.Sprintf(`attributes["url.path"] == %q`, p)} }

func checkoutFunnel() FunnelConfig {
	return FunnelConfig{
		Name: "checkout",
		Steps: []FunnelStepConfig{
			{Name: "product", Conditions: pathIs("/product")},
			{Name: "cart", Conditions: []string{`event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "add_to_cart"`}},
			{Name: "pay", Conditions: pathIs("/pay")},
		},
	}
}

func TestFunnelConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *FunnelConfig)
		want   string
	}{
		{"name", func(f *FunnelConfig) { f.Name = "Check Out" }, "funnels::0::name: must be lower-case"},
		{"one step", func(f *FunnelConfig) { f.Steps = f.Steps[:1] }, "funnels::checkout::steps: a funnel has 2 to 10 steps (got 1)"},
		{"eleven steps", func(f *FunnelConfig) {
			for len(f.Steps) < 11 {
				f.Steps = append(f.Steps, FunnelStepConfig{Name: fmt.Sprintf("s%d", len(f.Steps)), Conditions: pathIs("/x")})
			}
		}, "funnels::checkout::steps: a funnel has 2 to 10 steps (got 11)"},
		{"scope", func(f *FunnelConfig) { f.Scope = "session" }, `funnels::checkout::scope: must be visit or visitor (got "session")`},
		{"order", func(f *FunnelConfig) { f.Order = "loose" }, `funnels::checkout::order: must be any or strict (got "loose")`},
		{"window", func(f *FunnelConfig) { f.Window = -time.Hour }, "funnels::checkout::window: must not be negative"},
		{"step name twice", func(f *FunnelConfig) { f.Steps[2].Name = "product" }, `funnels::checkout::steps::2::name: "product" is the name of an earlier step`},
		{"step without condition", func(f *FunnelConfig) { f.Steps[1].Conditions = nil }, "funnels::checkout::steps::1::conditions: at least one OTTL condition is needed"},
		{"bad condition", func(f *FunnelConfig) { f.Steps[2].Conditions = []string{`attributes["url.path"] ==`} }, "funnels::checkout::steps::2::conditions::0:"},
		{"empty site", func(f *FunnelConfig) { f.Sites = []string{""} }, "funnels::checkout::sites::0: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			f := checkoutFunnel()
			tt.change(&f)
			cfg.Funnels = []FunnelConfig{f}
			assert.ErrorContains(t, cfg.Validate(), tt.want)
		})
	}
	cfg := testConfig()
	cfg.Funnels = []FunnelConfig{checkoutFunnel(), checkoutFunnel()}
	assert.ErrorContains(t, cfg.Validate(), "funnels::checkout::name: configured twice")
}

func TestFunnelConfigFromYAML(t *testing.T) {
	cfg, err := loadConfig(t, "funnels")
	require.NoError(t, err)
	require.Len(t, cfg.Funnels, 2)
	f := cfg.Funnels[1]
	assert.Equal(t, "signup", f.Name)
	assert.Equal(t, "visitor", f.Scope)
	assert.Equal(t, "strict", f.Order)
	assert.Equal(t, 72*time.Hour, f.Window)
	assert.Equal(t, []string{"shop"}, f.Sites)
	assert.Len(t, f.Steps, 3)
}

func TestFunnelRecords(t *testing.T) {
	cfg := testConfig()
	visitorFunnel := checkoutFunnel()
	visitorFunnel.Name, visitorFunnel.Scope, visitorFunnel.Window = "checkout_any_visit", "visitor", 48*time.Hour
	other := checkoutFunnel()
	other.Name, other.Sites = "elsewhere", []string{"other-site"}
	cfg.Funnels = []FunnelConfig{checkoutFunnel(), visitorFunnel, other}
	s := run(t, cfg,
		// v1 adds to cart and leaves for the help page; comes back the
		// next day and pays: the visitor-scope funnel completes.
		hit{at: 0, visitor: "v1", url: "https://shop.example/product", ref: "https://www.google.com/"},
		hit{at: time.Minute, visitor: "v1", name: eventmodel.EventCustom, custom: "add_to_cart"},
		hit{at: 2 * time.Minute, visitor: "v1", url: "https://shop.example/help"},
		hit{at: 24 * time.Hour, visitor: "v1", url: "https://shop.example/pay"},
		// v2 pays at once.
		hit{at: 0, visitor: "v2", url: "https://shop.example/product"},
		hit{at: 30 * time.Second, visitor: "v2", name: eventmodel.EventCustom, custom: "add_to_cart"},
		hit{at: time.Minute, visitor: "v2", url: "https://shop.example/pay"},
		// v3 never enters.
		hit{at: 0, visitor: "v3", url: "https://shop.example/pay"},
	)
	recs := map[string]plog.LogRecord{}
	for _, lr := range s.of(eventmodel.EventFunnel) {
		recs[attrStr(lr, eventmodel.AttrVisitorID)+"/"+attrStr(lr, eventmodel.AttrFunnelName)] = lr
	}
	require.Len(t, recs, 4, "v1 and v2 in two funnels; none for v3 or the other site's funnel")

	r := recs["v1/checkout"]
	assert.Equal(t, int64(2), attrInt(r, eventmodel.AttrFunnelStepsReached))
	assert.Equal(t, "02 cart", attrStr(r, eventmodel.AttrFunnelLastStep))
	assert.Equal(t, `["01 product","02 cart"]`, attrStr(r, eventmodel.AttrFunnelReached))
	assert.Equal(t, "false", attrStr(r, eventmodel.AttrFunnelCompleted))
	assert.Equal(t, "/help", attrStr(r, eventmodel.AttrFunnelNextPage))
	assert.Equal(t, int64(1), attrInt(r, eventmodel.AttrFunnelAttempts))
	assert.Equal(t, "search", attrStr(r, eventmodel.AttrChannelMedium))
	assert.Equal(t, "google", attrStr(r, eventmodel.AttrChannelSource))
	assert.Equal(t, eventmodel.DeviceDesktop, attrStr(r, eventmodel.AttrDeviceClass))
	assert.Equal(t, int64(60_000), attrInt(r, eventmodel.AttrFunnelStepAfter[1]))
	assert.Equal(t, "visit", attrStr(r, eventmodel.AttrFunnelScope))
	assert.Equal(t, "any", attrStr(r, eventmodel.AttrFunnelOrder))
	assert.Equal(t, int64(3), attrInt(r, eventmodel.AttrFunnelStepCount))
	assert.Equal(t, base, r.Timestamp().AsTime())
	assert.Len(t, attrStr(r, eventmodel.AttrVisitID), 32)

	r = recs["v1/checkout_any_visit"]
	assert.Equal(t, "true", attrStr(r, eventmodel.AttrFunnelCompleted))
	assert.Equal(t, int64(3), attrInt(r, eventmodel.AttrFunnelStepsReached))
	assert.Equal(t, (24*time.Hour - time.Minute).Milliseconds(), attrInt(r, eventmodel.AttrFunnelStepAfter[2]))
	assert.Equal(t, (24 * time.Hour).Milliseconds(), attrInt(r, eventmodel.AttrFunnelDuration))
	assert.Empty(t, attrStr(r, eventmodel.AttrFunnelNextPage))

	r = recs["v2/checkout"]
	assert.Equal(t, "true", attrStr(r, eventmodel.AttrFunnelCompleted))
	assert.Equal(t, "direct", attrStr(r, eventmodel.AttrChannelMedium))
	assert.Equal(t, base.Add(time.Minute).Format(time.RFC3339Nano), attrStr(r, eventmodel.AttrFunnelLastAt))
}

// BenchmarkFunnels is BenchmarkProcessEvent's request path (emit=hot, the
// outcome and segment rules) with two funnels of five steps each on the
// stream's pages: the cost the funnels add per event.
func BenchmarkFunnels(b *testing.B) {
	for _, funnels := range []int{0, 2} {
		b.Run(fmt.Sprintf("funnels=%d", funnels), func(b *testing.B) {
			cfg := testConfig()
			for f := range funnels {
				fc := FunnelConfig{Name: fmt.Sprintf("f%d", f)}
				if f == 1 {
					fc.Scope, fc.Order = "visitor", "strict"
				}
				for k := range 5 {
					// Steps on pages of the stream: /p/<step*7+variant>.
					fc.Steps = append(fc.Steps, FunnelStepConfig{Name: fmt.Sprintf("s%d", k), Conditions: pathIs(fmt.Sprintf("/p/%d", (k+1)*7+f))})
				}
				cfg.Funnels = append(cfg.Funnels, fc)
			}
			require.NoError(b, cfg.Validate())
			p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
			require.NoError(b, err)
			p.emitter = newEmitter(p, consumertest.NewNop(), time.Second)
			next := benchInput()
			ctx := context.Background()
			chunk := make([]plog.Logs, benchChunk)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%benchChunk == 0 {
					b.StopTimer()
					if i > 0 {
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
			}
		})
	}
}
