package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/botdetect"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/clientip"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/framing"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/geoip"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/matomo"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/plausible"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ratelimit"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// Data formats reported to ObsReport.
const (
	formatPixel = "pixel"
	formatJSON  = "json"
)

// pixelReceiver serves the pixel and beacon endpoints on one HTTP server.
type pixelReceiver struct {
	cfg       *Config
	settings  receiver.Settings
	next      consumer.Logs
	obsrep    *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	decoder   *webevent.Decoder
	plausible *plausible.Decoder
	snowplow  *snowplow.Decoder
	matomo    *matomo.Decoder
	ga4       *ga4.Decoder
	sites     map[string]*site
	// ownCORS is false when the operator configured confighttp's cors
	// section; that handler then owns the CORS headers and ours would clash.
	ownCORS bool

	tag      *servedTag
	proxies  *clientip.Resolver
	limiter  *ratelimit.Limiter
	detectUA bool // bots.action is not keep
	geo      *geoip.DB

	server *http.Server
	// endpoint is the address actually listened on (differs from the
	// configured one for port 0).
	endpoint   string
	shutdownWG sync.WaitGroup
}

func newPixelReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*pixelReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	sites, err := newSites(cfg)
	if err != nil {
		return nil, err
	}
	proxies, err := clientip.NewResolver(cfg.TrustedProxies, clientip.WithHeader(cfg.ClientAddressHeader))
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	decoder := newDecoder(cfg, sites)
	r := &pixelReceiver{
		cfg:       cfg,
		settings:  set,
		next:      next,
		obsrep:    obsrep,
		telemetry: tb,
		decoder:   decoder,
		plausible: &plausible.Decoder{Events: decoder, Domains: plausibleDomains(cfg)},
		snowplow:  newSnowplowDecoder(cfg, decoder),
		matomo:    &matomo.Decoder{Events: decoder, SiteIDs: matomoSiteIDs(cfg)},
		ga4:       &ga4.Decoder{Events: decoder, MeasurementIDs: ga4Sites(cfg)},
		sites:     sites,
		ownCORS:   !cfg.ServerConfig.CORS.HasValue() || len(cfg.ServerConfig.CORS.Get().AllowedOrigins) == 0,
		proxies:   proxies,
		detectUA:  cfg.Bots.Action != BotActionKeep,
	}
	if cfg.RateLimit.RequestsPerSecond > 0 {
		r.limiter = ratelimit.New(cfg.RateLimit.RequestsPerSecond, cfg.RateLimit.Burst, cfg.RateLimit.MaxClients)
	}
	return r, nil
}

func newDecoder(cfg *Config, sites map[string]*site) *webevent.Decoder {
	return &webevent.Decoder{
		Sites: decoderSites(sites),
		Limits: webevent.Limits{
			MaxEventsPerBeacon: cfg.Limits.MaxEventsPerBeacon,
			MaxStringLength:    cfg.Limits.MaxStringLength,
			MaxProperties:      cfg.Limits.MaxProperties,
		},
	}
}

// Start bundles the tag, opens the geo database and starts the HTTP server.
func (r *pixelReceiver) Start(ctx context.Context, host component.Host) error {
	var err error
	if r.tag, err = buildTag(r.cfg); err != nil {
		return fmt.Errorf("bundling the tag: %w", err)
	}
	if r.cfg.GeoIP.Database != "" {
		if r.geo, err = geoip.Open(r.cfg.GeoIP.Database); err != nil {
			return fmt.Errorf("geoip::database: %w", err)
		}
	}
	r.server, err = r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings,
		http.HandlerFunc(r.route), confighttp.WithErrorHandler(r.serverError))
	if err != nil {
		return err
	}
	ln, err := r.listen(ctx)
	if err != nil {
		return err
	}
	r.endpoint = ln.Addr().String()
	r.settings.Logger.Info("Starting pixel receiver", zap.String("endpoint", r.endpoint),
		zap.String("pixel_path", r.cfg.PixelPath), zap.String("iframe_path", r.cfg.IframePath),
		zap.String("beacon_path", r.cfg.BeaconPath), zap.String("import_path", r.cfg.ImportPath), zap.String("config_path", r.cfg.ConfigPath),
		zap.String("tag_path", r.cfg.TagPath), zap.Bool("plausible", r.cfg.Protocols.Plausible.Enabled),
		zap.Bool("snowplow", r.cfg.Protocols.Snowplow.Enabled),
		zap.Bool("matomo", r.cfg.Protocols.Matomo.Enabled), zap.Bool("ga4", r.cfg.Protocols.GA4.Enabled),
		// The SRI hash goes into the site's <script integrity="..."> tag.
		zap.String("tag_integrity", r.tag.script.Integrity), zap.Int("tag_gzip_bytes", len(r.tag.gzip)))
	r.shutdownWG.Go(func() {
		if errHTTP := r.server.Serve(ln); errHTTP != nil && !errors.Is(errHTTP, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(errHTTP))
		}
	})
	return nil
}

// listen opens the server's listener with the framing checks: every
// request whose HTTP/1.1 framing is ambiguous is refused (400, connection
// closed, counted) before net/http parses it. Under tls the checks need
// the decrypted stream, so TLS is terminated here rather than by
// confighttp's listener, with the same certificates (HTTP/1.1 only).
func (r *pixelReceiver) listen(ctx context.Context) (net.Listener, error) {
	sc := &r.cfg.ServerConfig
	cfg := framing.Config{
		HandshakeTimeout: handshakeTimeout(sc.ReadHeaderTimeout, sc.ReadTimeout, sc.WriteTimeout),
		OnViolation:      r.refuseFraming,
	}
	if !sc.TLS.HasValue() {
		ln, err := sc.ToListener(ctx)
		if err != nil {
			return nil, err
		}
		return framing.NewListener(ln, cfg), nil
	}
	var err error
	if cfg.TLS, err = sc.TLS.Get().LoadTLSConfig(ctx); err != nil {
		return nil, err
	}
	ln, err := sc.NetAddr.Listen(ctx)
	if err != nil {
		return nil, err
	}
	return framing.NewListener(ln, cfg), nil
}

// handshakeTimeout is how net/http bounds a TLS handshake it runs itself:
// by the smallest of its timeouts that is set.
func handshakeTimeout(timeouts ...time.Duration) time.Duration {
	var d time.Duration
	for _, t := range timeouts {
		if t > 0 && (d == 0 || t < d) {
			d = t
		}
	}
	return d
}

// refuseFraming counts a request refused for its framing. It comes from
// the connection, before any handler, so it has no request context.
func (r *pixelReceiver) refuseFraming(v framing.Violation) {
	r.reject(context.Background(), channelHTTP, &webevent.Rejection{
		Reason:  webevent.Reason(v),
		Message: "ambiguous HTTP/1.1 framing; connection closed",
	}, -1)
}

// Shutdown stops the HTTP server; it is safe to call without Start.
func (r *pixelReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	r.telemetry.Shutdown()
	if r.geo != nil {
		err = errors.Join(err, r.geo.Close())
	}
	return err
}

// route matches the exact configured paths. A ServeMux would interpret the
// paths as patterns (and panic on some), which configured paths are not.
func (r *pixelReceiver) route(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case r.cfg.PixelPath:
		r.handlePixel(w, req)
	case r.cfg.IframePath:
		r.handleIframe(w, req)
	case r.cfg.BeaconPath:
		r.handleBeacon(w, req)
	case r.cfg.ImportPath:
		r.handleImport(w, req)
	case r.cfg.TagPath:
		r.handleTag(w, req)
	case r.cfg.ConfigPath:
		r.handleConfig(w, req)
	default:
		if r.cfg.Protocols.Plausible.Enabled && req.URL.Path == r.cfg.Protocols.Plausible.Path {
			r.handlePlausible(w, req)
			return
		}
		if r.isMatomoPath(req.URL.Path) {
			r.handleMatomo(w, req)
			return
		}
		if r.routeSnowplow(w, req) {
			return
		}
		switch r.ga4Path(req.URL.Path) {
		case "mp":
			r.handleGA4MP(w, req, false)
			return
		case "debug":
			r.handleGA4MP(w, req, true)
			return
		case "collect":
			r.handleGA4Collect(w, req)
			return
		}
		http.NotFound(w, req)
	}
}

// serverError answers failures that confighttp detects before our handlers
// run (an unsupported or corrupt Content-Encoding).
func (r *pixelReceiver) serverError(w http.ResponseWriter, req *http.Request, msg string, status int) {
	switch req.URL.Path {
	case r.cfg.PixelPath:
		// A pixel hit never needs its body, so it is handled as usual.
		r.handlePixel(w, req)
	case r.cfg.IframePath:
		r.handleIframe(w, req)
	case r.cfg.BeaconPath:
		r.refuseBody(w, req, channelBeacon, msg)
	case r.cfg.ImportPath:
		rej := &webevent.Rejection{Reason: webevent.ReasonInvalidRequest, Message: "the body cannot be decoded: " + msg}
		r.reject(req.Context(), channelImport, rej, -1)
		writeBeaconError(w, http.StatusBadRequest, rej)
	default:
		if r.cfg.Protocols.Plausible.Enabled && req.URL.Path == r.cfg.Protocols.Plausible.Path {
			r.refuseBody(w, req, channelPlausible, msg)
			return
		}
		if r.isMatomoPath(req.URL.Path) {
			if req.Method == http.MethodGet {
				// A GET never needs its body: handled as usual.
				r.handleMatomo(w, req)
				return
			}
			r.refuseBody(w, req, channelMatomo, msg)
			return
		}
		if r.snowplowServerError(w, req, msg) {
			return
		}
		if kind := r.ga4Path(req.URL.Path); kind != "" {
			if kind == "collect" && req.Method == http.MethodGet {
				// A GET never needs its body: handled as usual.
				r.handleGA4Collect(w, req)
				return
			}
			r.refuseBody(w, req, channelGA4, msg)
			return
		}
		http.Error(w, msg, status)
	}
}

// refuseBody answers a POST surface whose body confighttp could not decode.
func (r *pixelReceiver) refuseBody(w http.ResponseWriter, req *http.Request, channel, msg string) {
	r.setBeaconHeaders(w, req, nil)
	rej := &webevent.Rejection{Reason: webevent.ReasonInvalidRequest, Message: "the body cannot be decoded: " + msg}
	r.reject(req.Context(), channel, rej, -1)
	writeBeaconError(w, http.StatusBadRequest, rej)
}

// consume sends the events of one request to the pipeline as one plog.Logs.
func (r *pixelReceiver) consume(ctx context.Context, format string, events []webevent.Event) error {
	r.countTimeCorrections(ctx, events)
	ld := r.toLogs(events)
	ctx = r.obsrep.StartLogsOp(ctx)
	err := r.next.ConsumeLogs(ctx, ld)
	r.obsrep.EndLogsOp(ctx, format, len(events), err)
	if err != nil {
		r.settings.Logger.Debug("Pipeline refused events", zap.String("format", format), zap.Error(err))
	}
	return err
}

// countTimeCorrections counts the events whose client time was replaced or
// shifted (each also says so in its webjourney.time.* attributes), so that a
// broken clock or tag shows in telemetry as well as in the stored data. The
// events of a beacon mostly share their correction (one clock, one
// sent_at): a run of equal ones is one Add.
func (r *pixelReceiver) countTimeCorrections(ctx context.Context, events []webevent.Event) {
	var run timeCorrectionKey
	var n int64
	flush := func() {
		if n > 0 {
			r.telemetry.ReceiverPixelTimeCorrections.Add(ctx, n, timeCorrectionAttrs[run])
		}
	}
	for i := range events {
		k := timeCorrectionKey{events[i].Channel, events[i].Time.Correction}
		if k.correction == "" {
			continue
		}
		if k != run {
			flush()
			run, n = k, 0
		}
		n++
	}
	flush()
}

type timeCorrectionKey struct{ channel, correction string }

// timeCorrectionAttrs holds the counter's attributes for every channel and
// correction, made once: an attribute set is sorted and allocated.
var timeCorrectionAttrs = func() map[timeCorrectionKey]metric.AddOption {
	m := map[timeCorrectionKey]metric.AddOption{}
	for _, ch := range []string{channelPixel, channelIframe, channelBeacon, channelPlausible, channelMatomo, channelSnowplow, channelGA4} {
		for _, c := range eventmodel.TimeCorrections {
			m[timeCorrectionKey{ch, c}] = metric.WithAttributeSet(attribute.NewSet(
				attribute.String("channel", ch), attribute.String("correction", c)))
		}
	}
	return m
}()

func (r *pixelReceiver) toLogs(events []webevent.Event) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	sl.Scope().SetVersion(r.settings.BuildInfo.Version)
	records := sl.LogRecords()
	records.EnsureCapacity(len(events))
	for i := range events {
		lr := records.AppendEmpty()
		events[i].CopyTo(lr)
		if r.cfg.RoutingKey {
			if key := routingKey(&events[i]); key != "" {
				lr.Attributes().PutStr(eventmodel.AttrRoutingKey, key)
			}
		}
	}
	return ld
}

// routingKey is what a front collector routes the event on: its visitor
// id (after identity was applied, so a cookieless event has none), else
// the client address as resolved through trusted_proxies. Both are what
// the stateful tier keys a journey on (a visitor id; for an anonymous
// event the cookieless key, derived from the address), so one journey
// always reaches one back collector. "" when the event has neither.
func routingKey(ev *webevent.Event) string {
	if ev.VisitorID != "" {
		return ev.VisitorID
	}
	return ev.ClientAddr
}

// Values of the channel attribute of the rejection counter: the event
// model's ingest channels, so telemetry and stored events use the same words.
const (
	channelPixel  = eventmodel.ChannelPixel
	channelIframe = eventmodel.ChannelIframe
	channelBeacon = eventmodel.ChannelBeacon
	// channelHTTP counts requests refused for their HTTP framing, before
	// they reached a surface.
	channelHTTP = "http"
)

// reject counts a rejection and logs it at debug level only: rejections are
// driven by whoever sends traffic, and hostile traffic must not flood logs.
// index is the event's position in a beacon, -1 for a whole request.
func (r *pixelReceiver) reject(ctx context.Context, channel string, rej *webevent.Rejection, index int) {
	r.telemetry.ReceiverPixelRejections.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(
		attribute.String("channel", channel),
		attribute.String("reason", string(rej.Reason)),
	)))
	if ce := r.settings.Logger.Check(zap.DebugLevel, "Rejected"); ce != nil {
		fields := []zap.Field{zap.String("channel", channel), zap.String("reason", string(rej.Reason)), zap.String("message", rej.Message)}
		if index >= 0 {
			fields = append(fields, zap.Int("index", index))
		}
		ce.Write(fields...)
	}
}

// client is what the receiver knows about the sender of a request.
type client struct {
	addr  netip.Addr // invalid when unknown
	https bool       // the browser used HTTPS (directly or to a trusted proxy)
	info  webevent.Request
}

// newClient collects the request facts that go into every event. Forwarded
// headers count only from trusted_proxies.
func (r *pixelReceiver) newClient(req *http.Request, received time.Time) client {
	addr, https := r.proxies.Resolve(req.RemoteAddr, req.Header)
	c := client{addr: addr, https: https || req.TLS != nil}
	c.info = webevent.Request{
		Received:  received,
		UserAgent: req.UserAgent(),
		Referer:   req.Referer(),
		GPC:       req.Header.Get("Sec-GPC") == "1",
		DNT:       req.Header.Get("DNT") == "1",
	}
	if addr.IsValid() {
		c.info.ClientAddress = addr.String()
	}
	return c
}

// allow applies the per-client rate limit.
func (r *pixelReceiver) allow(c *client) bool {
	return r.limiter == nil || !c.addr.IsValid() || r.limiter.Allow(c.addr)
}

// botReason says why a request looks automated, "" when it does not.
func (r *pixelReceiver) botReason(userAgent string, sh *webevent.Shared) string {
	if !r.detectUA {
		return ""
	}
	if sh != nil && sh.Automation {
		return eventmodel.BotReasonAutomation
	}
	if botdetect.IsBot(userAgent) {
		return eventmodel.BotReasonUserAgent
	}
	return ""
}

// enrich runs the receive-time steps shared by all surfaces on decoded
// events: bot handling, identity and cookies, geo. It returns the bot
// reason when the events must be dropped.
func (r *pixelReceiver) enrich(w http.ResponseWriter, req *http.Request, c *client, s *site, events []webevent.Event) (dropReason string) {
	if len(events) == 0 {
		return ""
	}
	sh := events[0].Shared
	if reason := r.botReason(c.info.UserAgent, sh); reason != "" {
		if r.cfg.Bots.Action == BotActionDrop {
			return reason
		}
		sh.BotReason = reason
		r.telemetry.ReceiverPixelBotsMarked.Add(req.Context(), int64(len(events)),
			metric.WithAttributeSet(attribute.NewSet(attribute.String("bot_reason", reason))))
	}
	r.applyIdentity(w, req, s, events, c.https)
	if r.geo != nil && c.addr.IsValid() {
		sh.Country, sh.Region = r.geo.Lookup(c.addr)
	}
	return ""
}
