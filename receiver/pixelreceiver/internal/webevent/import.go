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

// unitMillis is the unit of most imported times, for Import.Time.
const unitMillis = "milliseconds since the epoch"

// Import is what every line of one import request shares: the site whose
// import key authenticated the request, when it was received, how old
// the site lets an imported event be (0: any age) and the lines' format.
//
// A protocol decoder (Matomo, Snowplow, GA4, Plausible) that finds it in
// Request.Import decodes a hit "as imported": the builder makes events of
// channel import for this site only, no write key is asked for (the
// import key authenticated the request), and the decoder takes the
// event's time from the hit's own time field with Time, never from the
// live rules.
type Import struct {
	Site     string
	Received time.Time
	MaxAge   time.Duration
	// Format is the lines' format (the import's format parameter:
	// ndjson, matomo, snowplow, ga4, plausible), written to every event
	// as webjourney.ingest.format.
	Format string
}

// Time applies the import's time rule to ms, the hit's own time in
// milliseconds since the epoch (nil when the hit has none): kept as sent
// at any age max_age allows, refused when later than the receive time
// by more than 10 s, never corrected. field names the hit's time field
// in the rejection's message, unit what it holds.
func (imp *Import) Time(field, unit string, ms *float64) (eventtime.Time, *Rejection) {
	at, refused := eventtime.Import(imp.Received, ms, imp.MaxAge, importMaxSkew)
	switch refused {
	case "":
		return at, nil
	case eventmodel.TimeCorrectionMissing:
		return eventtime.Time{}, reject(ReasonMissingTime, field+" ("+unit+") is missing")
	case eventmodel.TimeCorrectionInFuture:
		return eventtime.Time{}, reject(ReasonTimeInFuture, field+" is later than the time the collector received the import")
	}
	return eventtime.Time{}, reject(ReasonTimeTooOld, field+" is older than the site's import max_age (or before 1970)")
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
	req := Request{Received: imp.Received, UserAgent: t.str(w.userAgent), DNT: w.dnt, Import: imp}
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
	at, rej := imp.Time("ts", unitMillis, w.event.TS.float())
	if rej != nil {
		return Event{}, rej
	}
	return d.beaconEvent(t, &c, &w.event, at)
}
