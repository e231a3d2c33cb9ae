package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ga4"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// The formats of an import's lines (its format parameter): our own
// event model, or the raw hits of a tracker protocol the receiver serves.
const (
	formatNDJSON    = "ndjson"
	formatMatomo    = eventmodel.ChannelMatomo
	formatSnowplow  = eventmodel.ChannelSnowplow
	formatGA4       = eventmodel.ChannelGA4
	formatPlausible = eventmodel.ChannelPlausible
)

// importFormats lists the values of the format parameter.
var importFormats = []string{formatNDJSON, formatMatomo, formatSnowplow, formatGA4, formatPlausible}

const (
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
	importMediaRejection    = &webevent.Rejection{Reason: webevent.ReasonUnsupportedMediaType, Message: "Content-Type must be application/x-ndjson (or text/plain)"}
	importFormatRejection   = &webevent.Rejection{Reason: webevent.ReasonInvalidRequest, Message: "format must be one of ndjson, matomo, snowplow, ga4, plausible"}
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
	format := req.URL.Query().Get("format")
	if format == "" {
		format = formatNDJSON
	}
	if !slices.Contains(importFormats, format) {
		r.reject(ctx, channelImport, importFormatRejection, -1)
		writeBeaconError(w, http.StatusBadRequest, importFormatRejection)
		return
	}
	// text/plain too: a file of query strings (Matomo's, Snowplow's) is
	// lines of text, and curl --data-binary labels it so unless told.
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || (mt != "application/x-ndjson" && mt != "text/plain") {
		r.reject(ctx, channelImport, importMediaRejection, -1)
		writeBeaconError(w, http.StatusUnsupportedMediaType, importMediaRejection)
		return
	}
	imp := &webevent.Import{Site: s.cfg.ID, Received: time.Now(), MaxAge: s.cfg.Import.MaxAge, Format: format}
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
	// The events of one line, reused: a line is mostly one event, and an
	// Event is too large to allocate per line.
	lineEvents := make([]webevent.Event, 0, 1)
	br := bufio.NewReaderSize(body, 64*1024)
	line := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.consume(ctx, imp.Format, batch)
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
			events, rejs := r.importLine(ctx, raw, tooLong, s, imp, lineEvents[:0])
			for _, rej := range rejs {
				r.importRejected(ctx, sum, line, rej)
			}
			for _, ev := range events {
				if _, dup := seen[ev.ID]; dup {
					sum.Duplicates++
					continue
				}
				if len(seen) < maxTrackedIDs {
					// A copy: the event's id shares the memory of its whole line.
					seen[strings.Clone(ev.ID)] = struct{}{}
				}
				batch = append(batch, ev)
			}
			clear(events) // they hold their line's text
		}
		// A GA4 line holds up to 25 events: the batch may pass its size.
		if len(batch) >= importBatchSize || readErr != nil {
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

// importLine decodes one line in the import's format and applies to its
// events what the receiver applies to a live request's: bot handling, the
// identity rules (a cookieless event loses its identifiers, a partner's
// landing is detected) and geo. No cookie is read or set: there is no
// browser. A line is one event, except in GA4's format, whose line is a
// Measurement Protocol request of up to 25 events, each kept or refused
// on its own.
func (r *pixelReceiver) importLine(ctx context.Context, raw []byte, tooLong bool, s *site, imp *webevent.Import, dst []webevent.Event) ([]webevent.Event, []*webevent.Rejection) {
	if tooLong {
		return nil, []*webevent.Rejection{lineTooLongRejection}
	}
	events, rejs := r.decodeImportLine(raw, imp, dst)
	if len(events) == 0 {
		return nil, rejs
	}
	// The events of a line share their Shared (one visitor, one request).
	sh := events[0].Shared
	if reason := r.botReason(events[0].UserAgent, sh); reason != "" {
		if r.cfg.Bots.Action == BotActionDrop {
			bot := botRejection(reason)
			for range events {
				rejs = append(rejs, bot)
			}
			return nil, rejs
		}
		sh.BotReason = reason
		r.telemetry.ReceiverPixelBotsMarked.Add(ctx, int64(len(events)),
			metric.WithAttributeSet(attribute.NewSet(attribute.String("bot_reason", reason))))
	}
	partner, clickID := landingReferral(s, events)
	if sh.Cookieless {
		for i := range events {
			events[i].Forget()
		}
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
	if r.geo != nil && events[0].ClientAddr != "" {
		if addr, err := netip.ParseAddr(events[0].ClientAddr); err == nil {
			sh.Country, sh.Region = r.geo.Lookup(addr)
		}
	}
	return events, rejs
}

// decodeImportLine decodes one line with the decoder of the import's
// format, "as imported" (Request.Import: channel import, the hit's own
// time under the import's rule, the import key instead of the hit's
// write key). An event whose hit had no id of its own gets one derived
// from the line and its index in it, so that a second import of the line
// is recognised. The events are appended to dst (a GA4 line's come in a
// slice of their own).
func (r *pixelReceiver) decodeImportLine(raw []byte, imp *webevent.Import, dst []webevent.Event) ([]webevent.Event, []*webevent.Rejection) {
	req := webevent.Request{Received: imp.Received, Import: imp}
	one := func(ev webevent.Event, rej *webevent.Rejection) ([]webevent.Event, []*webevent.Rejection) {
		if rej != nil {
			return nil, []*webevent.Rejection{rej}
		}
		if ev.GeneratedID {
			ev.ID = importEventID(imp, raw, 0)
		}
		return append(dst, ev), nil
	}
	switch imp.Format {
	case formatMatomo:
		// A bulk request's member or a web server log's request target.
		return one(r.matomo.Decode(importQuery(raw), req))
	case formatSnowplow:
		if line := bytes.TrimSpace(raw); len(line) > 0 && line[0] == '{' {
			return one(r.snowplow.DecodeMember(line, req))
		}
		return one(r.snowplow.DecodeQuery(importQuery(raw), req, snowplow.Hints{}))
	case formatPlausible:
		return one(r.plausible.Decode(raw, req))
	case formatGA4:
		batch, refusal := r.ga4.DecodeMPImport(raw, req)
		if refusal != nil {
			return nil, []*webevent.Rejection{ga4ImportRejection(refusal)}
		}
		var rejs []*webevent.Rejection
		for i := range batch.Refused {
			rejs = append(rejs, ga4ImportRejection(&batch.Refused[i]))
		}
		// The events are in the order of the line's, less the refused:
		// an event's index counts the refused before it, so that its id
		// does not depend on which others were refused.
		index, refused := 0, batch.Refused
		for i := range batch.Events {
			for len(refused) > 0 && refused[0].Index == index {
				refused, index = refused[1:], index+1
			}
			if batch.Events[i].GeneratedID {
				batch.Events[i].ID = importEventID(imp, raw, index)
			}
			index++
		}
		return batch.Events, rejs
	}
	return one(r.decoder.DecodeImportLine(raw, imp))
}

// importQuery is the query string of a line that is a tracking request's
// query: after its '?' when the line starts with one or with a path or URL
// (the part before the first '?' has no '='), else the whole line, whose
// values may hold an unescaped '?'.
func importQuery(line []byte) string {
	q := strings.TrimSpace(string(line))
	if before, after, ok := strings.Cut(q, "?"); ok && !strings.Contains(before, "=") {
		return after
	}
	return q
}

// ga4ImportRejection is a GA4 refusal as a line's rejection: the message
// names the refused field as Google's validation server does
// ("events[2].timestamp_micros").
func ga4ImportRejection(rf *ga4.Refusal) *webevent.Rejection {
	msg := rf.Message
	if rf.FieldPath != "" {
		msg = rf.FieldPath + ": " + msg
	}
	return &webevent.Rejection{Reason: rf.Reason, Message: msg}
}

// importEventID is the id of the index-th event of an imported line whose
// hit has no id of its own (Matomo's, Plausible's and GA4's hits have
// none; Snowplow's without eid): "imp-" and 32 hex digits of the SHA-256
// of the site, the format and the line (trimmed of surrounding space), then
// the event's index in the line. The same line imported again has the
// same ids, so the store keeps it once; two identical hits in one file
// (which no tracker sends: their times or parameters differ) count as one.
func importEventID(imp *webevent.Import, line []byte, index int) string {
	h := sha256.New()
	h.Write([]byte(imp.Site))
	h.Write([]byte{0})
	h.Write([]byte(imp.Format))
	h.Write([]byte{0})
	h.Write(bytes.TrimSpace(line))
	sum := h.Sum(nil)
	return "imp-" + hex.EncodeToString(sum[:16]) + "-" + strconv.Itoa(index)
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
