package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"context"
	"errors"
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
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/metadata"
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
	// ownCORS is false when the operator configured confighttp's cors
	// section; that handler then owns the CORS headers and ours would clash.
	ownCORS bool

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
	return &pixelReceiver{
		cfg:       cfg,
		settings:  set,
		next:      next,
		obsrep:    obsrep,
		telemetry: tb,
		decoder:   newDecoder(cfg),
		ownCORS:   !cfg.ServerConfig.CORS.HasValue() || len(cfg.ServerConfig.CORS.Get().AllowedOrigins) == 0,
	}, nil
}

func newDecoder(cfg *Config) *webevent.Decoder {
	sites := make(map[string]struct{}, len(cfg.Sites))
	for _, s := range cfg.Sites {
		sites[s.ID] = struct{}{}
	}
	return &webevent.Decoder{
		Sites: sites,
		Limits: webevent.Limits{
			MaxEventsPerBeacon: cfg.Limits.MaxEventsPerBeacon,
			MaxStringLength:    cfg.Limits.MaxStringLength,
			MaxProperties:      cfg.Limits.MaxProperties,
		},
	}
}

// Start starts the HTTP server.
func (r *pixelReceiver) Start(ctx context.Context, host component.Host) error {
	var err error
	r.server, err = r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings,
		http.HandlerFunc(r.route), confighttp.WithErrorHandler(r.serverError))
	if err != nil {
		return err
	}
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return err
	}
	r.endpoint = ln.Addr().String()
	r.settings.Logger.Info("Starting pixel receiver", zap.String("endpoint", r.endpoint),
		zap.String("pixel_path", r.cfg.PixelPath), zap.String("iframe_path", r.cfg.IframePath),
		zap.String("beacon_path", r.cfg.BeaconPath))
	r.shutdownWG.Go(func() {
		if errHTTP := r.server.Serve(ln); errHTTP != nil && !errors.Is(errHTTP, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(errHTTP))
		}
	})
	return nil
}

// Shutdown stops the HTTP server; it is safe to call without Start.
func (r *pixelReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	r.telemetry.Shutdown()
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
	default:
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
		r.setBeaconHeaders(w)
		rej := &webevent.Rejection{Reason: webevent.ReasonInvalidRequest, Message: "the body cannot be decoded: " + msg}
		r.reject(req.Context(), channelBeacon, rej, -1)
		writeBeaconError(w, http.StatusBadRequest, rej)
	default:
		http.Error(w, msg, status)
	}
}

// consume sends the events of one request to the pipeline as one plog.Logs.
func (r *pixelReceiver) consume(ctx context.Context, format string, events []webevent.Event) error {
	ld := r.toLogs(events)
	ctx = r.obsrep.StartLogsOp(ctx)
	err := r.next.ConsumeLogs(ctx, ld)
	r.obsrep.EndLogsOp(ctx, format, len(events), err)
	if err != nil {
		r.settings.Logger.Debug("Pipeline refused events", zap.String("format", format), zap.Error(err))
	}
	return err
}

func (r *pixelReceiver) toLogs(events []webevent.Event) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	sl.Scope().SetVersion(r.settings.BuildInfo.Version)
	records := sl.LogRecords()
	records.EnsureCapacity(len(events))
	for i := range events {
		events[i].CopyTo(records.AppendEmpty())
	}
	return ld
}

// Values of the channel attribute of the rejection counter: the event
// model's ingest channels, so telemetry and stored events use the same words.
const (
	channelPixel  = eventmodel.ChannelPixel
	channelIframe = eventmodel.ChannelIframe
	channelBeacon = eventmodel.ChannelBeacon
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

// requestInfo collects the request facts that go into every event.
func requestInfo(req *http.Request, received time.Time) webevent.Request {
	return webevent.Request{
		Received:      received,
		UserAgent:     req.UserAgent(),
		ClientAddress: remoteIP(req.RemoteAddr),
		Referer:       req.Referer(),
	}
}

// remoteIP is the peer address of the connection. X-Forwarded-For is not
// read: without a list of trusted proxies anyone could forge it.
func remoteIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return ""
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	return ip.Unmap().WithZone("").String()
}
