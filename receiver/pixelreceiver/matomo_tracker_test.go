package pixelreceiver

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/testenv"
)

// matomoTracker is the Node.js client of Matomo's HTTP Tracking API
// (npm matomo-tracker, fetched by scripts/fetch-testdata.sh).
const matomoTracker = ".cache/npm/node_modules/matomo-tracker/index.js"

// matomoTrackerScript drives the real client: four single requests (GET,
// the GIF) and one bulk request (POST JSON) with a member the receiver
// must refuse. Node exits when every response has arrived (without
// keep-alive, which Node 20's global agent would hold open); the script
// prints the bulk answer and any error the client saw.
const matomoTrackerScript = `
const http = require('http')
http.globalAgent = new http.Agent({ keepAlive: false })
const MatomoTracker = require(process.argv[2])
const tracker = new MatomoTracker(1, process.argv[3])
const errors = []
tracker.on('error', e => errors.push(String(e)))
const _id = '1a2b3c4d5e6f7a8b'
tracker.track({ url: 'https://shop.example/shoes?pk_campaign=spring&pk_kwd=red', action_name: 'Shoes',
  urlref: 'https://www.google.com/search?q=shoes', _id, uid: 'alice', res: '1920x1080', dimension1: 'gold' })
tracker.track({ url: 'https://shop.example/shoes', e_c: 'Video', e_a: 'Play', e_n: 'Intro', e_v: 12, _id })
tracker.track({ url: 'https://shop.example/thanks', idgoal: 1, revenue: 49.9, _id })
tracker.track({ url: 'https://shop.example/search', search: 'red shoes', search_cat: 'Shoes', search_count: 4, _id })
tracker.trackBulk([
  { url: 'https://shop.example/cart', action_name: 'Cart', _id },
  { url: 'https://shop.example/checkout', idgoal: 0, ec_id: 'A-1', revenue: 64.5,
    ec_items: JSON.stringify([['SKU1', 'Shoe', 'Shoes', 59.5, 1]]), _id },
  { url: '/relative' },
  { url: 'https://shop.example/bye', link: 'https://partner.example/', _id },
], body => console.log(JSON.stringify({ body, errors })))
`

// TestMatomoTrackerClient runs the real matomo-tracker client against the
// receiver: page view, event, goal with revenue, site search and a bulk
// request arrive as our events; the bad bulk member is refused alone.
func TestMatomoTrackerClient(t *testing.T) {
	client := testenv.Fetched(t, matomoTracker)
	node := testenv.Node(t)
	sink := new(consumertest.LogsSink)
	e := matomoEnv(t, sink)

	script := filepath.Join(t.TempDir(), "track.js")
	require.NoError(t, os.WriteFile(script, []byte(matomoTrackerScript), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, script, client, e.base+"/matomo.php").Output()
	require.NoError(t, err, string(out))
	var res struct {
		Body   string
		Errors []string
	}
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	assert.Empty(t, res.Errors, "the client accepted every answer")
	var bulk matomoBulkSummary
	require.NoError(t, json.Unmarshal([]byte(res.Body), &bulk), res.Body)
	assert.Equal(t, "success", bulk.Status)
	assert.Equal(t, 3, bulk.Tracked)
	assert.Equal(t, 1, bulk.Invalid)
	assert.Equal(t, []int{2}, bulk.InvalidIndices)

	// The four single requests arrive in any order; the bulk in one plog.Logs.
	byName := map[string]map[string]any{}
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			a := lrs.At(i).Attributes().AsRaw()
			assert.Equal(t, "matomo", a[eventmodel.AttrIngestChannel])
			assert.Equal(t, "shop", a[eventmodel.AttrSiteID])
			assert.Equal(t, "1a2b3c4d5e6f7a8b", a[eventmodel.AttrVisitorID])
			key := lrs.At(i).EventName()
			if name, ok := a[eventmodel.AttrCustomName].(string); ok {
				key = name
			} else if key == eventmodel.EventPageView {
				key = a[eventmodel.AttrURLPath].(string)
			}
			byName[key] = a
		}
	}
	require.Len(t, byName, 7, "%v", byName)
	landing := byName["/shoes"]
	assert.Equal(t, "spring", landing[eventmodel.AttrCampaignName])
	assert.Equal(t, "red", landing[eventmodel.AttrCampaignTerm])
	assert.Equal(t, "www.google.com", landing[eventmodel.AttrReferrerDomain])
	assert.Equal(t, "Shoes", landing[eventmodel.AttrPageTitle])
	assert.Equal(t, "alice", landing[eventmodel.AttrUserID])
	assert.Equal(t, map[string]any{"screen_resolution": "1920x1080", "dimension1": "gold"}, landing[eventmodel.AttrProperties])
	assert.Equal(t, map[string]any{"event_category": "Video", "event_name": "Intro", "event_value": 12.0}, byName["Play"][eventmodel.AttrProperties])
	assert.Equal(t, map[string]any{"goal_id": int64(1), "revenue": 49.9}, byName["goal"][eventmodel.AttrProperties])
	assert.Equal(t, "red shoes", byName[eventmodel.EventSiteSearch][eventmodel.AttrSearchTerm])
	assert.Equal(t, int64(4), byName[eventmodel.EventSiteSearch][eventmodel.AttrProperties].(map[string]any)["search_count"])
	assert.Contains(t, byName, "/cart")
	assert.Equal(t, 64.5, byName["purchase"][eventmodel.AttrProperties].(map[string]any)["revenue"])
	assert.Equal(t, "partner.example", byName[eventmodel.EventOutboundClick][eventmodel.AttrLinkDomain])
	e.requireRejections(rejection{"matomo", "invalid_url", 1})
}
