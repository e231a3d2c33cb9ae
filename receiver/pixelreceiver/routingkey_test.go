package pixelreceiver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Without routing_key (the default) no record carries the routing key.
func TestRoutingKeyOffByDefault(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink)
	e.request(http.MethodGet, pageHit("shop", "https://shop.example/", "vid", "v-1"), "", nil)
	e.request(http.MethodPost, "/b", `{"site":"shop","events":[{"type":"page_view","url":"https://shop.example/"}]}`,
		map[string]string{"Content-Type": "application/json"})
	require.Equal(t, 2, sink.LogRecordCount())
	for _, ld := range sink.AllLogs() {
		_, ok := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(eventmodel.AttrRoutingKey)
		assert.False(t, ok)
	}
}

// With routing_key every record carries the visitor id when the event has
// one, else the client address as the receiver resolved it.
func TestRoutingKey(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.RoutingKey = true
		cfg.TrustedProxies = []string{"127.0.0.1"}
	})
	forwarded := map[string]string{"X-Forwarded-For": "203.0.113.9"}
	beaconHeaders := map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9"}

	for _, tc := range []struct {
		name        string
		method, uri string
		body        string
		header      map[string]string
		want        string
	}{
		{"pixel with visitor id", http.MethodGet, pageHit("shop", "https://shop.example/", "vid", "v-pixel"), "", nil, "v-pixel"},
		{"pixel without visitor id", http.MethodGet, pageHit("shop", "https://shop.example/"), "", nil, "127.0.0.1"},
		{"address from a trusted proxy", http.MethodGet, pageHit("shop", "https://shop.example/"), "", forwarded, "203.0.113.9"},
		{"visitor id wins over the address", http.MethodGet, pageHit("shop", "https://shop.example/", "vid", "v-2"), "", forwarded, "v-2"},
		{"beacon with visitor id", http.MethodPost, "/b",
			`{"site":"shop","visitor_id":"v-beacon","events":[{"type":"page_view","url":"https://shop.example/"}]}`, beaconHeaders, "v-beacon"},
		// A cookieless beacon loses the id it (wrongly) sent: routed by address.
		{"cookieless beacon", http.MethodPost, "/b",
			`{"site":"shop","visitor_id":"v-leak","cookieless":true,"events":[{"type":"page_view","url":"https://shop.example/"}]}`, beaconHeaders, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink.Reset()
			resp := e.request(tc.method, tc.uri, tc.body, tc.header)
			require.Equal(t, http.StatusOK, resp.status, string(resp.body))
			records := onlyRecords(t, sink)
			require.Positive(t, records.Len())
			for _, lr := range records.All() {
				key, ok := lr.Attributes().Get(eventmodel.AttrRoutingKey)
				require.True(t, ok, "no routing key")
				assert.Equal(t, tc.want, key.Str())
				if vid, ok := lr.Attributes().Get(eventmodel.AttrVisitorID); ok {
					assert.Equal(t, vid.Str(), key.Str(), "the key is the visitor id the record carries")
				}
			}
		})
	}
}

// Every event of a beacon carries the key, and a visitor keeps its key
// when its address changes (a phone moving from Wi-Fi to mobile data):
// that is why the key is not visitor id + address.
func TestRoutingKeyStableAcrossAddresses(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.RoutingKey = true
		cfg.TrustedProxies = []string{"127.0.0.1"}
	})
	body := `{"site":"shop","visitor_id":"v-moving","events":[
		{"type":"page_view","url":"https://shop.example/"},
		{"type":"custom","name":"signup","url":"https://shop.example/join"}]}`
	keys := map[string]int{}
	for _, addr := range []string{"198.51.100.7", "2001:db8::7"} {
		resp := e.request(http.MethodPost, "/b", body, map[string]string{"Content-Type": "application/json", "X-Forwarded-For": addr})
		require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	}
	for _, ld := range sink.AllLogs() {
		for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
			key, _ := lr.Attributes().Get(eventmodel.AttrRoutingKey)
			keys[key.Str()]++
		}
	}
	assert.Equal(t, map[string]int{"v-moving": 4}, keys)
}

// In server cookie mode the visitor id comes from the receiver's own
// cookie, set on the first hit: the key is that id from the first hit on.
func TestRoutingKeyFromServerCookie(t *testing.T) {
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) {
		cfg.RoutingKey = true
		shop := testSite("shop")
		shop.Consent.Required = false
		shop.Cookies.Mode = CookieModeServer
		cfg.Sites = []SiteConfig{shop}
	})
	first := e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", nil)
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: first.header}).Cookies() {
		if c.Name == "_wjid" {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "the receiver set its visitor cookie")
	a := lastAttrs(t, sink)
	require.NotEmpty(t, a[eventmodel.AttrVisitorID])
	assert.Equal(t, a[eventmodel.AttrVisitorID], a[eventmodel.AttrRoutingKey])

	e.request(http.MethodGet, pageHit("shop", "https://shop.example/next"), "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	again := lastAttrs(t, sink)
	assert.Equal(t, a[eventmodel.AttrVisitorID], again[eventmodel.AttrVisitorID])
	assert.Equal(t, a[eventmodel.AttrRoutingKey], again[eventmodel.AttrRoutingKey])
}
