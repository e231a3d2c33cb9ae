// Package journey is the visit and visitor state machine of the
// attribution processor. It turns a stream of page events (plain Go
// structs; the caller converts from pdata and classifies each landing with
// the channel package) into visits and visitors, and returns after every
// event the new state of the visit and visitor it touched, with a version
// number so that an exporter can write idempotently (last version wins).
//
// # Visits
//
// An event of a visitor starts a new visit when
//
//  1. the visitor has no open visit (first event, or the visitor was
//     evicted from the LRU);
//  2. it is idle-expired: event time > LastActivity + IdleTimeout. The
//     boundary is exclusive: an event exactly IdleTimeout after the last
//     activity still belongs to the visit (29m59s and 30m00s stay, 30m01s
//     splits with the default 30 minutes);
//  3. it is a page view (webjourney.page_view or webjourney.site_search)
//     whose entry attribution is a real source — Medium not "", "direct"
//     or "internal" — and whose (Medium, Source, Campaign, Partner) differs
//     from the open visit's entry (campaign change, as GA does);
//  4. Config.SplitAtMidnight is set and the event's local date in
//     Config.Location differs from the visit start's local date.
//
// A direct or internal arrival never overwrites the entry of the visit in
// progress. A visit started by an event that is not a page view, or by a
// page view with an empty Medium, gets the entry Medium "direct". A visit
// whose landing was classified "internal" keeps Medium "internal" (the
// caller's classification); for the visitor's LastNonDirectTouch both
// "direct" and "internal" count as direct.
//
// Engagement events (webjourney.engagement) extend the activity and add
// EngagedMs but are not pages. Other events (custom, clicks, forms, ...)
// only extend the activity. Bounce is true when the visit has exactly one
// page view and less than 10 seconds (10 000 ms) of engaged time; a visit
// without page views is not a bounce.
//
// The visit ID is the first 16 bytes of SHA-256 over site, visitor and the
// start time (Unix nanoseconds) of the event that created the visit, in
// lower-case hex (32 characters). A replay of the same events in the same
// order gives the same ids. The id is fixed when the visit is created: if
// an out-of-order event later moves Start earlier the id does not change
// (changing it would orphan the document already written under the old
// id), so a replay in a different arrival order may give a different id.
//
// Every change of a visit (event applied to it, outcome marked) increases
// its Version by one, starting at 1; every applied event increases the
// visitor's Version by one, starting at 1.
//
// # Out-of-order and late events
//
// Events are applied in arrival order; there is no buffering and so no
// added latency. An event whose time is before the open visit's
// LastActivity is placed as follows:
//
//   - within the open visit's span [Start, LastActivity]: counted in that
//     visit; it becomes the landing page if it is a page view earlier than
//     the current landing page, and the exit page only if later than the
//     current exit page;
//   - before the open visit's Start: if the previous visit is still held
//     and the event falls into it (Start - ReorderWindow <= t <=
//     LastActivity + IdleTimeout of that visit) it is applied to the
//     previous visit; else if t >= Start - ReorderWindow (and, with
//     SplitAtMidnight, on the same local date) it is merged into the open
//     visit, moving Start (and the landing page for a page view) earlier;
//     if that page view has a real source (see rule 3) and the visit's
//     entry was direct or internal, it becomes the visit's entry and the
//     visit's touch is updated;
//   - anything else is not applied and reported as "late".
//
// Limits of this approach: an out-of-order event never creates a visit in
// the past and never merges two visits that would have been one had the
// events come in order (e.g. a late event that closes an idle gap), and a
// page view with a different campaign that arrives out of order inside a
// visit's span does not split it. The previous visit is held only until
// the visitor's newest event is more than IdleTimeout past the previous
// visit's IdleAt; events for older visits are late.
//
// # Duplicates
//
// For each visitor the last Config.MaxSeenIDs event ids of applied events
// are remembered as 32-bit hashes (hash/maphash with a per-process seed,
// truncated, to keep a visitor under 1 KiB); an event whose id is among
// them is not applied (reason "duplicate"). The price is a false
// duplicate: a new event is dropped with probability at most
// MaxSeenIDs/2^32 (1.5e-8 with 64 ids), i.e. about 15 events per billion. Events
// without an id are never treated as duplicates. Events without a visitor
// or with a zero time are not applied (reason "invalid").
//
// # Visitors
//
// Each visit's entry is one Touch (its Time is the visit's creation time,
// VisitID its id); Tracker.Touches returns the newest Config.MaxTouches of them,
// oldest dropped. FirstTouch is the entry of the first visit the tracker
// saw for the visitor (even if direct), LastNonDirectTouch the newest
// entry that is not direct or internal, Partner the partner of the newest
// partner touch. Visitors are keyed by the Visitor key alone (the
// anonymizer's pseudonyms are per site); Site is taken from the first
// event. At most Config.MaxVisitors visitors are held; the least recently
// used is evicted and counted in Evictions. An evicted visitor that comes
// back starts afresh (new visit, FirstTouch from that point).
//
// # Memory
//
// State is stored compactly: times as Unix nanoseconds, entry attribution
// and device/country as unique.Handle values (interned, 8 bytes each),
// visit ids as 16 raw bytes, seen ids as a ring of uint32 that grows only
// as needed. Apply builds the returned Visit and Visitor as fresh copies
// that the caller may keep; the touch history is not part of them
// (copying 10 touches on every event cost three times the rest of Apply)
// and comes from Tracker.Touches when an outcome needs credit. See
// TestMemoryPerVisitor for the measured cost per visitor (about 980 bytes
// with a 10-touch history) and BenchmarkApply (about 0.4 µs, whatever the
// history length).
//
// A Tracker is safe for concurrent use (one mutex).
package journey
