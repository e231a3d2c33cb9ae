package kibana

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The objects for another index prefix name its indices in the data views
// and the Sankey, and keep every id, so the dashboards' references hold.
func TestObjectsForAnotherPrefix(t *testing.T) {
	titles := map[string]string{}
	var ids []string
	for _, o := range Objects("shop") {
		ids = append(ids, o.ID)
		if o.Type == "index-pattern" {
			titles[o.ID] = o.Attributes["title"].(string)
		}
	}
	assert.Equal(t, map[string]string{
		DataViewEvents: "shop-events-*", DataViewVisits: "shop-visits",
		DataViewVisitors: "shop-visitors", DataViewCredits: "shop-credits",
		DataViewPostbacks: "shop-postbacks", DataViewFunnels: "shop-funnels",
	}, titles)
	var defaultIDs []string
	for _, o := range Objects("webjourney") {
		defaultIDs = append(defaultIDs, o.ID)
	}
	assert.Equal(t, defaultIDs, ids)

	var spec struct {
		Data []struct {
			URL *struct {
				Index string `json:"index"`
			} `json:"url"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(SankeySpec("shop")), &spec))
	assert.Equal(t, "shop-visits", spec.Data[0].URL.Index)
	assert.Equal(t, "shop-visits", DataViewIndex(DataViewVisits, "shop"))
	for _, s := range []string{FunnelSpec("shop"), FunnelNextSpec("shop")} {
		require.NoError(t, json.Unmarshal([]byte(s), &spec))
		assert.Equal(t, "shop-funnels", spec.Data[0].URL.Index)
	}
}
