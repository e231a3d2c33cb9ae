package anonymizer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadata"
)

// typicalPageViews is a batch of page views as the pixel receiver and the
// consent processor leave them: an anonymous one has no visitor or session
// id and no full referrer (the consent processor removed them).
func typicalPageViews(n int, decision string) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetEventName(eventmodel.EventPageView)
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEventID, "3f1c2a9e0b6d4e55a1c7d2f08e9b6a41")
		a.PutInt(eventmodel.AttrSchemaVersion, 1)
		a.PutStr(eventmodel.AttrSiteID, "shop")
		a.PutStr(eventmodel.AttrIngestChannel, eventmodel.ChannelBeacon)
		a.PutStr(eventmodel.AttrURLFull, "https://shop.example/products/red-shoes?utm_source=newsletter&utm_medium=email&color=red&size=42#reviews")
		a.PutStr(eventmodel.AttrURLScheme, "https")
		a.PutStr(eventmodel.AttrURLDomain, "shop.example")
		a.PutStr(eventmodel.AttrURLPath, "/products/red-shoes")
		a.PutStr(eventmodel.AttrURLQuery, "utm_source=newsletter&utm_medium=email&color=red&size=42")
		a.PutStr(eventmodel.AttrURLFragment, "reviews")
		a.PutStr(eventmodel.AttrPageTitle, "Red running shoes — Shop")
		if decision != eventmodel.DecisionAnonymous {
			a.PutStr(eventmodel.AttrReferrerFull, "https://www.google.com/")
		}
		a.PutStr(eventmodel.AttrReferrerDomain, "www.google.com")
		a.PutStr(eventmodel.AttrCampaignSource, "newsletter")
		a.PutStr(eventmodel.AttrCampaignMedium, "email")
		a.PutStr(eventmodel.AttrUserAgent, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36")
		a.PutStr(eventmodel.AttrClientAddress, "203.0.113.77")
		if decision != eventmodel.DecisionAnonymous {
			a.PutStr(eventmodel.AttrVisitorID, "8c1d0e2f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
			a.PutStr(eventmodel.AttrSessionID, "f31e4a0d-6455-470a-bd7b-70d17229f95e")
		}
		a.PutStr(eventmodel.AttrConsentAnalytics, eventmodel.ConsentGranted)
		a.PutStr(eventmodel.AttrGeoCountry, "DE")
		a.PutStr(eventmodel.AttrConsentDecision, decision)
		a.PutStr(eventmodel.AttrConsentReason, "tag_granted")
		a.PutStr(eventmodel.AttrConsentSource, "tag")
	}
	return ld
}

// BenchmarkProcess reports the cost per typical page view, in batches of
// 100. Each iteration first copies a fresh batch (stopping the timer for
// it costs more than the copy): ns/event includes the copy (copy_only
// measures it alone), processing-ns/event is timed around the processor
// only. Allocations include the copy's 24 per event. User agents are parsed once and then cached,
// as on a real site.
func BenchmarkProcess(b *testing.B) {
	for _, decision := range []string{"copy_only", eventmodel.DecisionKeep, eventmodel.DecisionAnonymous} {
		b.Run(decision, func(b *testing.B) {
			cfg := createDefaultConfig()
			cfg.Secret = SecretSource{File: "testdata/secret.key"}
			p, err := newAnonymizer(processortest.NewNopSettings(metadata.Type), cfg)
			require.NoError(b, err)
			require.NoError(b, p.start(context.Background(), componenttest.NewNopHost()))
			const n = 100
			src := typicalPageViews(n, decision)
			batch := plog.NewLogs()
			b.ReportAllocs()
			b.ResetTimer()
			var processing time.Duration // the processor's own time, without the copy
			for i := 0; i < b.N; i++ {
				src.CopyTo(batch)
				if decision == "copy_only" {
					continue
				}
				start := time.Now()
				if _, err := p.processLogs(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				processing += time.Since(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
			b.ReportMetric(float64(processing.Nanoseconds())/float64(b.N*n), "processing-ns/event")
		})
	}
}
