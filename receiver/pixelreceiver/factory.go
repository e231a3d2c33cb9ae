package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/clientip"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
	"github.com/webjourney/webjourney/tag"
)

const (
	defaultEndpoint   = "localhost:8090"
	defaultPixelPath  = "/p.gif"
	defaultIframePath = "/p.html"
	defaultBeaconPath = "/b"
	defaultImportPath = "/wj/import"
	defaultTagPath    = "/wj.js"
	defaultConfigPath = "/wj/config"
	// A browser sends a handful of requests per page; 20/s sustained with
	// a burst of 100 leaves room for an office behind one NAT address.
	defaultRateLimitRPS   = 20
	defaultRateLimitBurst = 100
	// About 100 bytes per tracked client: 100k clients is ~10 MiB.
	defaultRateLimitClients   = 100_000
	defaultMaxEventsPerBeacon = 50
	defaultMaxStringLength    = 2048
	defaultMaxProperties      = 25
	// A beacon of 50 events with full URLs and titles stays well under
	// 64 KiB; confighttp's own default (20 MiB) is far too generous for a
	// public endpoint.
	defaultMaxRequestBodySize = 64 * 1024
)

// NewFactory creates a factory for the pixel receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	httpCfg := confighttp.NewDefaultServerConfig()
	httpCfg.NetAddr.Endpoint = defaultEndpoint
	httpCfg.MaxRequestBodySize = defaultMaxRequestBodySize
	// Slow clients must not hold connections: a tag request is tiny.
	httpCfg.ReadHeaderTimeout = 10 * time.Second
	httpCfg.ReadTimeout = 30 * time.Second
	httpCfg.IdleTimeout = 60 * time.Second
	return &Config{
		ServerConfig: httpCfg,
		PixelPath:    defaultPixelPath,
		IframePath:   defaultIframePath,
		BeaconPath:   defaultBeaconPath,
		ImportPath:   defaultImportPath,
		TagPath:      defaultTagPath,
		ConfigPath:   defaultConfigPath,
		TagGlobal:    tag.DefaultGlobalName,
		// What nginx, ingress-nginx, Envoy, HAProxy, Traefik, Caddy and the
		// cloud load balancers set by default.
		ClientAddressHeader: clientip.DefaultHeader,
		RateLimit: RateLimitConfig{
			RequestsPerSecond: defaultRateLimitRPS,
			Burst:             defaultRateLimitBurst,
			MaxClients:        defaultRateLimitClients,
		},
		Bots: BotsConfig{Action: BotActionDrop},
		Protocols: ProtocolsConfig{
			Plausible: PlausibleConfig{Path: defaultPlausiblePath},
			Snowplow:  defaultSnowplowConfig(),
			Matomo:    MatomoConfig{Paths: defaultMatomoPaths},
			GA4:       GA4Config{MPPath: defaultGA4MPPath, DebugMPPath: defaultGA4DebugMPPath, CollectPath: defaultGA4CollectPath},
		},
		Limits: LimitsConfig{
			MaxEventsPerBeacon: defaultMaxEventsPerBeacon,
			MaxStringLength:    defaultMaxStringLength,
			MaxProperties:      defaultMaxProperties,
		},
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newPixelReceiver(cfg.(*Config), set, next)
}
