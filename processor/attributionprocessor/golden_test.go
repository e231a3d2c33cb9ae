package attributionprocessor

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGoldenJourneys")

const (
	day  = 24 * time.Hour
	site = "https://shop.example"
)

// goldenJourneys are multi-visit journeys; each golden file holds what an
// Elasticsearch with external versioning ends up storing: the annotated
// events, then the newest visit and visitor records, then every credit.
// Review every change to a golden file: it is the processor's contract.
var goldenJourneys = map[string]struct {
	config func(*Config)
	hits   []hit
}{
	// Search, then an email campaign (a campaign change starts a new
	// visit inside the idle timeout), then a direct return that buys:
	// three touches credited under all six models.
	"campaign_change": {hits: []hit{
		{at: 0, visitor: "v1", url: site + "/shoes", ref: "https://www.google.com/search?q=red+shoes"},
		{at: 2 * time.Minute, visitor: "v1", url: site + "/shoes/red", ref: site + "/shoes"},
		{at: 3 * time.Minute, visitor: "v1", name: "webjourney.engagement", engaged: 45_000},
		{at: 10 * time.Minute, visitor: "v1", url: site + "/sale?utm_source=newsletter&utm_medium=email&utm_campaign=winter"},
		{at: 3 * day, visitor: "v1", url: site + "/"},
		{at: 3*day + 5*time.Minute, visitor: "v1", url: site + "/checkout", ref: site + "/"},
		{at: 3*day + 6*time.Minute, visitor: "v1", name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": 120.0}},
	}},
	// A paid click (gclid), then pages reached by internal links and a
	// direct reload inside the visit: the paid entry is kept. The visit
	// that signs up is not a bounce; the second visit, a single page
	// after the idle timeout, is.
	"direct_after_campaign": {hits: []hit{
		{at: 0, visitor: "v2", url: site + "/pricing?gclid=EAIaIQ1"},
		{at: time.Minute, visitor: "v2", url: site + "/features", ref: site + "/pricing"},
		{at: 2 * time.Minute, visitor: "v2", url: site + "/welcome"},
		{at: 90 * time.Minute, visitor: "v2", url: site + "/blog"},
	}},
	// With split_at_midnight in Berlin, a visit running over local
	// midnight (23:00 UTC = 00:00 CET) is split; without it, it is not
	// (the other journeys run with the default).
	"midnight": {
		config: func(c *Config) {
			c.Journey.SplitAtMidnight = true
			c.Journey.TimeZone = "Europe/Berlin"
		},
		hits: []hit{
			{at: 13*time.Hour + 50*time.Minute, visitor: "v3", url: site + "/a", ref: "https://duckduckgo.com/"},
			{at: 13*time.Hour + 58*time.Minute, visitor: "v3", url: site + "/b", ref: site + "/a"},
			{at: 14*time.Hour + 5*time.Minute, visitor: "v3", url: site + "/c", ref: site + "/b"},
		},
	},
	// A partner referral (the receiver detected the landing and names the
	// partner, with its seven-day window, on it and, from its referral
	// cookie, on the events of the next seven days: those are no partner
	// touches), a social visit and a purchase four days later; then a
	// second purchase ten days after the partner touch, outside the
	// partner's window: the partner gets no credit for it.
	"partner": {hits: []hit{
		{at: 0, visitor: "v4", url: site + "/kitchens?__apid=ap-1", ref: "https://archipro.co.nz/products/x", partner: "archipro", landing: true},
		{at: day, visitor: "v4", url: site + "/kitchens/oak", ref: "https://www.instagram.com/", partner: "archipro"},
		{at: 4 * day, visitor: "v4", url: site + "/checkout", partner: "archipro"},
		{at: 4*day + time.Minute, visitor: "v4", name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": "990.50"}, partner: "archipro"},
		{at: 10 * day, visitor: "v4", url: site + "/checkout"},
		{at: 10*day + time.Minute, visitor: "v4", name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": 10}},
	}},
	// Events arriving out of order inside the reorder window, and a
	// duplicate (same event id): the landing page is the earliest page,
	// the duplicate is ignored, the campaign of the late landing wins
	// over the direct entry, and a cookieless visitor is kept apart.
	"out_of_order_and_duplicates": {hits: []hit{
		{at: time.Minute, visitor: "v5", url: site + "/b"},
		{at: 0, visitor: "v5", url: site + "/a?utm_source=bing&utm_medium=cpc"},
		{at: 2 * time.Minute, visitor: "v5", url: site + "/c", id: "dup-1"},
		{at: 2 * time.Minute, visitor: "v5", url: site + "/c", id: "dup-1"},
		{at: 3 * time.Minute, visitor: "~c5", url: site + "/a", ref: "https://chatgpt.com/"},
		{at: 4 * time.Minute, visitor: "~c5", url: site + "/welcome"},
		{at: 5 * time.Minute, visitor: "", url: site + "/x"},
		{at: 5 * time.Minute, visitor: "v6", url: site + "/x", bot: true},
	}},
	// A single-page app whose tracker sends the document's referrer with
	// every in-app page view, as Plausible's does: after a newsletter
	// landing opened in webmail, in-app page views carry only the webmail
	// referrer and continue the campaign visit; a new campaign from the
	// same referrer starts a new visit, whose in-app page views continue
	// it in turn.
	"spa_referrer": {hits: []hit{
		{at: 0, visitor: "v7", url: site + "/?utm_source=newsletter&utm_medium=email&utm_campaign=winter", ref: "https://mail.example.net/"},
		{at: time.Minute, visitor: "v7", url: site + "/shoes", ref: "https://mail.example.net/"},
		{at: 2 * time.Minute, visitor: "v7", url: site + "/shoes/red", ref: "https://mail.example.net/"},
		{at: 5 * time.Minute, visitor: "v7", url: site + "/sale?utm_source=newsletter&utm_medium=email&utm_campaign=spring", ref: "https://mail.example.net/"},
		{at: 6 * time.Minute, visitor: "v7", url: site + "/sale/blue", ref: "https://mail.example.net/"},
	}},
}

func TestGoldenJourneys(t *testing.T) {
	for name, j := range goldenJourneys {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			if j.config != nil {
				j.config(cfg)
			}
			got := run(t, cfg, j.hits...).logs()
			file := filepath.Join("testdata", "golden", name+".yaml")
			if *update {
				// Observed timestamps are the processor's clock (compared
				// with IgnoreObservedTimestamp below): written as zero so
				// that an update's diff shows only what changed.
				forEachRecord(got, func(lr plog.LogRecord) { lr.SetObservedTimestamp(0) })
				require.NoError(t, golden.WriteLogs(t, file, got))
			}
			want, err := golden.ReadLogs(file)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(want, got, plogtest.IgnoreObservedTimestamp()))
		})
	}
}
