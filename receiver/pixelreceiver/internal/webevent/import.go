package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/eventtime"
)

// importMaxSkew is how far past the receive time an imported event's time
// may be: the exporting machine's clock, not the event, may be a little
// ahead. Anything later is not history.
const importMaxSkew = 10 * time.Second

// Import is what every line of one import request shares: the site whose
// import key authenticated the request, when it was received, and how old
// the site lets an imported event be (0: any age).
type Import struct {
	Site     string
	Received time.Time
	MaxAge   time.Duration
}

// importWire is one NDJSON line of an import: the beacon's request-level
// fields (identity, consent) and one event's fields in one object, plus
// what a live request's headers and connection would say (user agent,
// client address, DNT). importWire.set maps the JSON names; both halves
// are the beacon decoder's own field handling.
type importWire struct {
	header    beaconHeader
	event     eventWire
	userAgent rawString
	address   rawString
	dnt       bool
}

func (w *importWire) set(key string, value []byte) error {
	switch key {
	case "site", "visitor_id", "session_id", "user_id", "referral", "cookieless", "consent", "gpc", "tcf", "automation":
		return w.header.set(key, value, nil)
	case "key", "sent_at", "events":
		// Beacon-only fields: the import is authenticated by its key and
		// each line is one event with its own time.
		return nil
	case "user_agent":
		return w.userAgent.decode(value)
	case "client_address":
		return w.address.decode(value)
	case "dnt":
		return setBool(&w.dnt, value)
	}
	return w.event.set(key, value)
}

// importTimeRejections maps eventtime.Import's refusals to their reasons.
var importTimeRejections = map[string]*Rejection{
	eventmodel.TimeCorrectionMissing:  reject(ReasonMissingTime, "ts (milliseconds since the epoch) is missing"),
	eventmodel.TimeCorrectionInFuture: reject(ReasonTimeInFuture, "ts is later than the time the collector received the import"),
	eventmodel.TimeCorrectionTooOld:   reject(ReasonTimeTooOld, "ts is older than the site's import max_age (or before 1970)"),
}

// DecodeImportLine decodes one NDJSON line of an import into an event of
// channel import that keeps its own time (see docs/import.md for the
// format). The line is copied: the caller may reuse its buffer.
func (d *Decoder) DecodeImportLine(line []byte, imp *Import) (Event, *Rejection) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' || !json.Valid(line) {
		return Event{}, reject(ReasonInvalidJSON, "the line is not a JSON object: "+invalidJSON(line))
	}
	t := newText(line)
	var w importWire
	m := newMembers(t, line)
	for key, value, ok := m.next(); ok; key, value, ok = m.next() {
		if err := w.set(key, value); err != nil {
			return Event{}, reject(ReasonInvalidEvent, "the line is not a valid event: field "+key+" has the wrong JSON type")
		}
	}
	if site := t.str(w.header.Site); site != "" && site != imp.Site {
		return Event{}, reject(ReasonUnknownSite, "the line's site is not the site of the import")
	}
	if t.str(w.event.ID) == "" {
		return Event{}, reject(ReasonInvalidID, "an imported event needs its id: without one a second import would store it twice")
	}
	req := Request{Received: imp.Received, UserAgent: t.str(w.userAgent), DNT: w.dnt}
	if raw := t.str(w.address); raw != "" {
		addr, err := netip.ParseAddr(raw)
		if err != nil || addr.Zone() != "" {
			return Event{}, reject(ReasonInvalidField, "client_address must be an IPv4 or IPv6 address")
		}
		req.ClientAddress = addr.Unmap().String()
	}
	c := common{
		site: imp.Site, visitorID: t.str(w.header.VisitorID), sessionID: t.str(w.header.SessionID),
		channel: eventmodel.ChannelImport, req: req, siteRules: d.Sites[imp.Site], events: 1,
	}
	if rej := c.checkIDs(); rej != nil {
		return Event{}, rej
	}
	shared, rej := d.beaconShared(t, &w.header, req)
	if rej != nil {
		return Event{}, rej
	}
	c.shared = shared
	at, refused := eventtime.Import(imp.Received, w.event.TS.float(), imp.MaxAge, importMaxSkew)
	if refused != "" {
		return Event{}, importTimeRejections[refused]
	}
	return d.beaconEvent(t, &c, &w.event, at)
}
