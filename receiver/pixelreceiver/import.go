package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

const (
	formatNDJSON = "ndjson"
	// channelImport counts the import endpoint's rejections.
	channelImport = eventmodel.ChannelImport

	// importBatchSize events go to the pipeline at a time: the memory an
	// import holds is this batch and one line, whatever the body's size.
	importBatchSize = 500
	// maxImportLine bounds one line: an event with every string field at
	// the default max_string_length and its properties fits many times.
	maxImportLine = 256 * 1024
	// maxTrackedIDs bounds the event ids one request remembers to report
	// duplicates within it (about 100 bytes each). Repetitions beyond it,
	// or across requests, are the store's to recognise: the exporter
	// creates each event under its id, and a second copy is a 409.
	maxTrackedIDs = 100_000
	// maxListedRejections bounds the rejected lines the answer names; the
	// counts by reason are complete.
	maxListedRejections = 100
)

var (
	importMethodRejection   = &webevent.Rejection{Reason: webevent.ReasonMethodNotAllowed, Message: "use POST"}
	importKeyRejection      = &webevent.Rejection{Reason: webevent.ReasonInvalidImportKey, Message: "the import needs ?site=SITE and the site's import key as Authorization: Bearer KEY"}
	importMediaRejection    = &webevent.Rejection{Reason: webevent.ReasonUnsupportedMediaType, Message: "Content-Type must be application/x-ndjson"}
	importTooLargeRejection = &webevent.Rejection{Reason: webevent.ReasonBodyTooLarge, Message: "the body is larger than max_request_body_size; send smaller requests"}
	importReadRejection     = &webevent.Rejection{Reason: webevent.ReasonInvalidRequest, Message: "the body could not be read to its end"}
	lineTooLongRejection    = &webevent.Rejection{Reason: webevent.ReasonLineTooLong, Message: "the line is longer than 262144 bytes"}
)

// importSummary is the answer to an import request.
type importSummary struct {
	// Lines counts the non-empty lines read (blank lines are skipped).
	Lines    int `json:"lines"`
	Accepted int `json:"accepted"`
	// Duplicates are lines whose event id an earlier line of the same
	// request had; they are not forwarded.
	Duplicates int `json:"duplicates"`
	// Rejected counts rejected lines by reason; RejectedLines names the
	// first of them by line number (1-based, in this request's body,
	// blank lines counted).
	Rejected      map[string]int `json:"rejected"`
	RejectedLines []rejectedLine `json:"rejected_lines"`
	// Error and Message are set when the import stopped before the end
	// of the body (the pipeline refused, or the body was cut off): the
	// lines counted so far were handled, the rest were not read.
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}

type rejectedLine struct {
	Line    int    `json:"line"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// handleImport takes history from the site's owner: NDJSON, one event a
// line, each with its own id and time, read as a stream and handed to the
// pipeline in batches, so that a body of any size is held one batch at a
// time. The events go through the same pipeline as live ones (consent,
// anonymizer, attribution). The import is not rate limited: the import
// key, not the client address, bounds who sends it.
func (r *pixelReceiver) handleImport(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	ctx := req.Context()
	if req.Method != http.MethodPost {
		r.reject(ctx, channelImport, importMethodRejection, -1)
		h.Set("Allow", "POST")
		writeBeaconError(w, http.StatusMethodNotAllowed, importMethodRejection)
		return
	}
	s := r.importSite(req)
	if s == nil {
		r.reject(ctx, channelImport, importKeyRejection, -1)
		h.Set("WWW-Authenticate", `Bearer realm="webjourney import"`)
		writeBeaconError(w, http.StatusUnauthorized, importKeyRejection)
		return
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/x-ndjson" {
		r.reject(ctx, channelImport, importMediaRejection, -1)
		writeBeaconError(w, http.StatusUnsupportedMediaType, importMediaRejection)
		return
	}
	imp := &webevent.Import{Site: s.cfg.ID, Received: time.Now(), MaxAge: s.cfg.Import.MaxAge}
	sum, status := r.importBody(ctx, s, imp, req.Body)
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	writeJSON(w, status, sum)
}

// importSite is the site whose import key the request carries, nil when
// the site is unknown, accepts no import or the key is wrong (one answer
// for all three, so that a prober learns nothing).
func (r *pixelReceiver) importSite(req *http.Request) *site {
	s := r.sites[req.URL.Query().Get("site")]
	key, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if s == nil || s.importKey == nil || !ok {
		return nil
	}
	// Constant time: the comparison must not tell how much of a guessed
	// key was right.
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), s.importKey) != 1 {
		return nil
	}
	return s
}

// importBody reads body line by line into batches for the pipeline and
// returns the summary and its status: 200 when the whole body was read,
// else the status of what stopped it.
func (r *pixelReceiver) importBody(ctx context.Context, s *site, imp *webevent.Import, body io.Reader) (*importSummary, int) {
	sum := &importSummary{Rejected: map[string]int{}, RejectedLines: []rejectedLine{}}
	seen := make(map[string]struct{})
	batch := make([]webevent.Event, 0, importBatchSize)
	br := bufio.NewReaderSize(body, 64*1024)
	line := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.consume(ctx, formatNDJSON, batch)
		if err == nil {
			sum.Accepted += len(batch)
		}
		clear(batch) // the events hold their line's text
		batch = batch[:0]
		return err
	}
	for {
		raw, tooLong, readErr := readLine(br, maxImportLine)
		if readErr != nil && readErr != io.EOF {
			raw, tooLong = nil, false // cut off: not a line
		}
		if readErr == nil || len(raw) > 0 || tooLong {
			line++ // lines are numbered as in the body, blank ones too
		}
		if len(raw) > 0 || tooLong {
			sum.Lines++
			if ev, rej := r.importLine(ctx, raw, tooLong, s, imp); rej != nil {
				r.importRejected(ctx, sum, line, rej)
			} else if _, dup := seen[ev.ID]; dup {
				sum.Duplicates++
			} else {
				if len(seen) < maxTrackedIDs {
					// A copy: the event's id shares the memory of its whole line.
					seen[strings.Clone(ev.ID)] = struct{}{}
				}
				batch = append(batch, ev)
			}
		}
		if len(batch) == importBatchSize || readErr != nil {
			if err := flush(); err != nil {
				status, be := consumerError(err)
				sum.Error, sum.Message = be.Error, be.Message
				return sum, status
			}
		}
		if readErr == io.EOF {
			return sum, http.StatusOK
		}
		if readErr != nil {
			status, rej := http.StatusBadRequest, importReadRejection
			var maxErr *http.MaxBytesError
			if errors.As(readErr, &maxErr) {
				status, rej = http.StatusRequestEntityTooLarge, importTooLargeRejection
			}
			r.reject(ctx, channelImport, rej, -1)
			sum.Error, sum.Message = string(rej.Reason), rej.Message
			return sum, status
		}
	}
}

// importLine decodes one line and applies to it what the receiver applies
// to a live request's events: bot handling, the identity rules (a
// cookieless event loses its identifiers, a partner's landing is
// detected) and geo. No cookie is read or set: there is no browser.
func (r *pixelReceiver) importLine(ctx context.Context, raw []byte, tooLong bool, s *site, imp *webevent.Import) (webevent.Event, *webevent.Rejection) {
	if tooLong {
		return webevent.Event{}, lineTooLongRejection
	}
	ev, rej := r.decoder.DecodeImportLine(raw, imp)
	if rej != nil {
		return ev, rej
	}
	sh := ev.Shared
	if reason := r.botReason(ev.UserAgent, sh); reason != "" {
		if r.cfg.Bots.Action == BotActionDrop {
			return ev, botRejection(reason)
		}
		sh.BotReason = reason
		r.telemetry.ReceiverPixelBotsMarked.Add(ctx, 1,
			metric.WithAttributeSet(attribute.NewSet(attribute.String("bot_reason", reason))))
	}
	events := []webevent.Event{ev}
	partner, clickID := landingReferral(s, events)
	if sh.Cookieless {
		events[0].Forget()
		// Which partner a landing came from is no identifier (see
		// applyIdentity); its click id is.
		clickID = ""
	}
	if partner != nil {
		sh.ReferralPartner, sh.ReferralClickID = partner.Name, clickID
	}
	if p := s.referrals.ByName(sh.ReferralPartner); p != nil {
		sh.ReferralWindow = p.Window
	}
	if r.geo != nil && ev.ClientAddr != "" {
		if addr, err := netip.ParseAddr(ev.ClientAddr); err == nil {
			sh.Country, sh.Region = r.geo.Lookup(addr)
		}
	}
	return events[0], nil
}

// importRejected counts a rejected line and lists it while the list is short.
func (r *pixelReceiver) importRejected(ctx context.Context, sum *importSummary, line int, rej *webevent.Rejection) {
	r.reject(ctx, channelImport, rej, line)
	sum.Rejected[string(rej.Reason)]++
	if len(sum.RejectedLines) < maxListedRejections {
		sum.RejectedLines = append(sum.RejectedLines, rejectedLine{Line: line, Error: string(rej.Reason), Message: rej.Message})
	}
}

// readLine reads one line without its end of line. A line longer than max
// is skipped to its end and reported as tooLong; err is io.EOF after the
// last line.
func readLine(br *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > limit+2 { // the line's end may be \r\n
				tooLong, buf = true, nil
			} else if errors.Is(err, bufio.ErrBufferFull) || buf != nil {
				buf = append(buf, chunk...)
			} else {
				buf = chunk
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			return nil, true, err
		}
		return trimEOL(buf), false, err
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
