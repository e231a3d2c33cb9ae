package pixelreceiver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/clientip"
)

func TestClientAddressHeaderConfig(t *testing.T) {
	for _, tc := range []struct {
		value   string
		wantErr string
	}{
		{"X-Forwarded-For", ""},
		{"forwarded", ""},
		{"X-Real-IP", ""},
		{"", "client_address_header: must name the header"},
		{"X Forwarded For", `client_address_header: "X Forwarded For" is not a header name`},
	} {
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(map[string]any{
			"sites": []any{map[string]any{"id": "shop"}}, "client_address_header": tc.value,
		}).Unmarshal(cfg))
		err := confmap.Validate(cfg)
		if tc.wantErr == "" {
			assert.NoError(t, err, tc.value)
		} else {
			assert.ErrorContains(t, err, tc.wantErr, tc.value)
		}
	}
	assert.Equal(t, "X-Forwarded-For", string(createDefaultConfig().(*Config).ClientAddressHeader))
}

// A browser behind a trusted proxy forges every forwarding header it can
// think of; the proxy passes them on and sets its own. Only the header
// the receiver is told the proxy sets counts.
func TestClientAddressHeaderIgnoresForgeries(t *testing.T) {
	forged := map[string]string{
		"Forwarded":        "for=198.51.100.66;proto=https",
		"X-Real-IP":        "198.51.100.88",
		"True-Client-IP":   "198.51.100.89",
		"CF-Connecting-IP": "198.51.100.90",
		"X-Client-IP":      "198.51.100.91",
	}
	for _, tc := range []struct {
		header string
		set    map[string]string // what the proxy adds
	}{
		// nginx's proxy_add_x_forwarded_for appends the peer to the
		// browser's own list.
		{"X-Forwarded-For", map[string]string{"X-Forwarded-For": "198.51.100.77, 203.0.113.50"}},
		// A proxy that writes Forwarded itself replaces the browser's.
		{"Forwarded", map[string]string{"Forwarded": "for=198.51.100.66, for=203.0.113.50", "X-Forwarded-For": "203.0.113.99"}},
		{"X-Real-IP", map[string]string{"X-Real-IP": "203.0.113.50", "X-Forwarded-For": "198.51.100.77, 203.0.113.99"}},
	} {
		t.Run(tc.header, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			e := startReceiver(t, sink, func(cfg *Config) {
				cfg.TrustedProxies = []string{"127.0.0.1"}
				cfg.ClientAddressHeader = clientip.Header(tc.header)
			})
			h := map[string]string{}
			for k, v := range forged {
				h[k] = v
			}
			for k, v := range tc.set {
				h[k] = v
			}
			requireGIF(t, e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", h))
			assert.Equal(t, "203.0.113.50", lastAttrs(t, sink)[eventmodel.AttrClientAddress])
		})
	}

	// The default reads X-Forwarded-For: a forged Forwarded header that
	// nginx passes on unchanged is ignored.
	sink := new(consumertest.LogsSink)
	e := startReceiver(t, sink, func(cfg *Config) { cfg.TrustedProxies = []string{"127.0.0.1"} })
	requireGIF(t, e.request(http.MethodGet, pageHit("shop", "https://shop.example/"), "", map[string]string{
		"Forwarded": "for=198.51.100.66", "X-Forwarded-For": "203.0.113.50",
	}))
	assert.Equal(t, "203.0.113.50", lastAttrs(t, sink)[eventmodel.AttrClientAddress])
}
