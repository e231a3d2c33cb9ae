// Package journey is the visit and visitor state machine of the
// attribution processor. It turns a stream of page events (plain Go
// structs; the caller converts from pdata and classifies each landing with
// the channel package) into visits and visitors, and returns after every
// event the new state of the visit and visitor it touched, with a version
// number so that an exporter can write idempotently (last version wins),
// and can save its state to a snapshot and restore it (see Persistence).
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
//     from the open visit's entry (campaign change, as GA does), unless
//     its entry rests on its referrer alone (Event.ReferrerOnly: no
//     campaign parameters, click id or partner landing) and that
//     referrer domain (Event.Referrer) is the one the visit's entry came
//     through: trackers of single-page apps resend the landing's
//     document.referrer with every in-app page view, which is no new
//     arrival (a real return through the same referrer without a
//     campaign inside the idle timeout thus continues the visit too);
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
// A visit's Number is the visitor's VisitCount when the visit was created
// (1 for the first visit the tracker saw for the visitor).
//
// # Versions
//
// Versions are meant for external versioning (Elasticsearch
// version_type=external): they increase strictly for each visit and each
// visitor, and stay ahead across a restart of the collector even without
// persisted state. Versions start at 0 and, on every change,
//
//   - of a visit by an event at time ts (the event is applied to it):
//     Version = max(Version+1, ts in Unix nanoseconds);
//   - of a visitor by an event at time ts (every applied event):
//     Version = max(Version+1, ts in Unix nanoseconds);
//   - by MarkOutcome or MarkSegment (no event time), of the visit and of
//     the visitor, each only if its set actually grew: Version = Version+1.
//
// A version is thus the greatest time of the events applied so far plus
// the number of changes since that brought no later time (marks, late
// events, events in the same nanosecond). A tracker started afresh without
// state writes higher versions than its predecessor for the same visitor
// (or visit id) as soon as its events are later than the predecessor's
// last version, i.e. than its last event plus those few nanoseconds. A
// replay of old events gives old versions (an external version conflict,
// so the newer document stays).
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
//     entry was direct or internal, or rested on the same referrer alone
//     while the page view has more (an in-app page view of a single-page
//     app that overtook its campaign landing), it becomes the visit's
//     entry and the visit's touch is updated;
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
// # History behind the state
//
// An event marked History (imported history, webjourney.ingest.channel
// import) is applied like any other when it is not older than the
// visitor's open visit's LastActivity: a visitor's history sent in time
// order (webjourneyctl import sorts it so) builds the state live events
// then continue, and a replayed queue newer than the state extends it.
// An older one never changes the state, whatever built it (live events
// or an earlier import): the out-of-order placement above is for a
// browser's stragglers, not for a second source of the same journey.
// Such an event is not applied, after the duplicate check (a repeated
// event stays "duplicate"), with the reason
//
//   - "history_in_live_visit" when it falls into a visit the tracker
//     holds (the open visit from Start - ReorderWindow, or the previous
//     visit from Start - ReorderWindow to LastActivity + IdleTimeout):
//     that visit already covers its time, and attributing it elsewhere
//     would count the time twice;
//   - "history_behind_live" otherwise (older than the held visits, or in
//     the gap between them): the caller attributes it in a tracker of its
//     own (the attribution processor's history tracker), whose visits get
//     the ids and versions these events give (deterministic ids; versions
//     of their own times, so below those of the newer state's visits).
//
// # Duplicates
//
// For each visitor the last Config.MaxSeenIDs event ids of applied events
// are remembered as 32-bit keyed hashes (4 bytes each, to keep a visitor
// under 1 KiB); an event whose id is among them is not applied (reason
// "duplicate"). The price is a false duplicate: a new event is dropped
// with probability at most MaxSeenIDs/2^32 (1.5e-8 with 64 ids), i.e.
// about 15 events per billion. Events without an id are never treated as
// duplicates. Events without a visitor or with a zero time are not
// applied (reason "invalid").
//
// The hash is keyed with a 64-bit key that New draws from crypto/rand and
// snapshots keep, so that a restored tracker recognises the ids seen
// before the snapshot. It is deterministic for a key (unlike hash/maphash,
// whose seed cannot be saved) and reads the id eight bytes at a time
// (FNV-1a, byte by byte, cost 18 ns more per 36-byte id):
//
//	M = 0x9e3779b97f4a7c15, F = 0xff51afd7ed558ccd, arithmetic modulo 2^64
//	h = key XOR (len(id) * M)
//	for each full 8-byte word w of id (little-endian): h = (h XOR w) * M; h ^= h >> 32
//	w = the remaining 0-7 bytes, little-endian, zero-padded
//	h = (h XOR w) * M; h ^= h >> 33; h *= F; h ^= h >> 33
//	hash = h >> 32
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
// back starts afresh (new visit, FirstTouch from that point). Forget
// drops a visitor on purpose (an erasure request); it is not counted as an
// eviction, and the visitor likewise starts afresh.
//
// # Outcomes and segments
//
// Tracker.MarkOutcome and Tracker.MarkSegment record an outcome (e.g. a
// conversion) or a segment (e.g. an audience) on one of the visitor's held
// visits (the open or the previous one, by ID) and on the visitor. Each is
// a set in marking order, kept separately on the visit (Visit.Outcomes,
// Visit.Segments) and on the visitor (Visitor.Outcomes, Visitor.Segments:
// everything marked on any of its visits while held); marking a value a
// set already has changes neither it nor the Version. Both return false
// when the visitor is not held or the visit is neither its open nor its
// previous visit.
//
// # Paths
//
// Visit.Path is the visit's first Config.PathLength (default 10) pages in
// time order (page views in the same nanosecond in path order), consecutive
// repeats collapsed; PathTruncated says it viewed more after them.
// Tracker.PagesBefore returns the last OutcomePages (3) pages of a visit
// up to a time, the same way: the way to an outcome.
//
// A visit keeps its page views (time and interned path, 16 bytes each)
// from its second page view on; a one-page visit keeps nothing more (its
// landing page is its path). Page views are inserted in time order. Those
// older than the visit's last activity minus ReorderWindow are settled:
// under the reorder model (every event arrives at most ReorderWindow after
// its time) no event can arrive before them any more. Among the settled
// views a repeat of the view before it is dropped (it changes no path),
// and so are the views after the path's PathLength pages that are not
// among the last OutcomePages pages (no later outcome can show them). So a
// visit keeps at most PathLength + OutcomePages + 8 views: beyond 8
// unsettled views (more page views within the reorder window than a
// person makes) the oldest are settled early. Under the reorder model,
// out-of-order and duplicate delivery give the path and pages before of
// in-order delivery (TestPathOutOfOrderProperty); an event later than that
// (accepted inside the visit's span, see above) is placed by its time among
// what is kept, which can differ from in-order delivery when it falls
// between pages already collapsed or dropped.
//
// # Memory
//
// State is stored compactly: times as Unix nanoseconds, entry attribution
// (with the referrer it came through) and device/country as unique.Handle
// values (interned, 8 bytes each),
// visit ids as 16 raw bytes, seen ids as a ring of uint32 that grows only
// as needed, outcomes and segments behind one pointer per visit and one
// per visitor (nil until something is marked). Apply builds the returned
// Visit and Visitor as fresh copies that the caller may keep (outcomes and
// segments are shared, never copied: marking writes a new array, so a
// held slice never changes; callers must not assign to its elements);
// the touch history is not
// part of them (copying 10 touches on every event cost three times the
// rest of Apply) and comes from Tracker.Touches when an outcome needs
// credit. See TestMemoryPerVisitor for the measured cost per visitor
// (about 985 bytes with a 10-touch history and a one-page open visit;
// about 925 after a Restore, which shares strings and sizes slices
// exactly; TestMemoryPerVisitorLongVisits: about 1370 with an open visit
// of 41 page views), TestStateSizes for the sizes it relies on, and
// BenchmarkApply (about 0.4 µs, whatever the history length).
//
// # Persistence
//
// Tracker.Snapshot writes the whole state: every held visitor, least
// recently used first, with its open and previous visits, touch history,
// FirstTouch and LastNonDirectTouch, partner, seen ids, outcomes and
// segments, page views (Paths); the evictions counter; the dedupe key. It holds the tracker's
// mutex until it has written everything (Apply waits meanwhile), so write
// to memory and store afterwards; BenchmarkSnapshot measures it (100 000
// visitors with 10 touches each: about 0.15 s, 43 MB).
//
// Tracker.Restore replaces the tracker's state (all of it: visitors,
// evictions counter, dedupe key) with a snapshot. The configuration is the
// tracker's own, never the snapshot's (IdleAt uses the tracker's
// IdleTimeout; with SplitAtMidnight the day of a visit is computed again
// from its Start in the tracker's Location). What exceeds the
// configuration is trimmed: of more than MaxVisitors visitors the most
// recently used are kept and the others count as evictions; of more than
// MaxTouches touches or MaxSeenIDs seen ids of a visitor the newest are
// kept (FirstTouch and LastNonDirectTouch are kept even when their touch
// is not). Restore reads the input as it goes and appends items as they
// arrive, never allocating ahead for a count or length the input may not
// hold; it checks every reference against its table, bounds strings to
// 256 MiB and counts and int32 fields to 2^31-1, and checks the checksum
// and that nothing follows it. It never panics, allocates at most a
// constant times the input's size plus a constant, and on error (which
// names the problem and its byte offset) leaves the tracker unchanged. A
// visitor key that appears twice among those kept is an error.
//
// The format (version 6), where uvarint and varint are encoding/binary's
// (varint zigzag-encoded), str is a uvarint length followed by the bytes,
// ref is a uvarint index into the string table, diff is a varint of the
// value minus the visitor's lastSeen (modulo 2^64), all times are Unix
// nanoseconds and fixed-size integers little-endian:
//
//	snapshot = "WJJT" uvarint(6) key:8 evictions:uvarint
//	           uvarint(n) n*str                   string table (all strings but visitor keys)
//	           uvarint(n) n*(ref ref ref ref uvarint ref flag:1)
//	                                              entry table: medium, source, campaign, partner, partner window (ns),
//	                                              referrer domain, referrer-only (0 or 1)
//	           uvarint(n) n*(ref ref)             dims table: device class, country
//	           uvarint(n) n*visitor               least recently used first
//	           crc:4                              CRC-32C (Castagnoli) of everything before it
//	visitor  = key:str site:ref lastSeen:varint version:diff firstSeen:diff
//	           visitCount:uvarint partner:uvarint (0 none, else 1+ref)
//	           uvarint(n) n*touch                 touch history, oldest first
//	           firstTouch:tref lastNonDirectTouch:tref
//	           uvarint(n) n*hash:4                seen id hashes, oldest first
//	           marks open:visit prev:visit
//	           uvarint(n) n*funnel                the funnels the visitor entered
//	touch    = time:diff entry:uvarint visitID:16
//	tref     = uvarint 0 (unset) | i in 1..n (equal to touch i of the history) | n+1 touch
//	marks    = uvarint(n) n*ref (outcomes) uvarint(m) m*ref (segments), in marking order
//	visit    = 0x00 (none) | 0x01 id:16 number:uvarint version:diff start:diff
//	           lastActivity:diff landingAt:diff secondAt:diff exitAt:diff engagedMs:varint
//	           pages:uvarint landing:ref second:ref exit:ref entry:uvarint dims:uvarint marks path
//	           created:diff                       time of the event that created it (gave its id)
//	funnel   = name:ref steps:uvarint attempts:uvarint emitted:4
//	           (0x00 | 0x01 best:attempt) (0x00 no open attempt | 0x01 best is open | 0x02 open:attempt)
//	           uvarint(n) n*(at:diff mask:uvarint visit:uvarint consent:ref)   pending matches, in order
//	attempt  = uvarint(n) n*at:diff               first time of each step reached
//	           visit:uvarint last:uvarint         numbers of the first and the furthest step's visits
//	           created:diff entry:uvarint dims:uvarint consent:ref   the first step's visit and decision
//	           (0x00 | 0x01 at:diff page:ref)     the page after the furthest step
//	path     = uvarint(0)                       no page views kept (at most one page)
//	         | uvarint(n) n*(at:diff page:ref) cut:uvarint
//	                                              page views in time order; cut: views of the head
//	                                              when views after it were dropped, else 0
//
// entry and dims are indexes into the entry and dims tables; landingAt,
// secondAt and exitAt are the times of the landing, second and exit page
// views (second is "" and secondAt 0 in a single-page visit). An entry's
// referrer domain is that of the page view it came from ("" for direct
// and internal entries), referrer-only whether it rests on it alone
// (rule 3). Version 5, still read, is the same without funnels and the
// visits' creation time (read as their start). Version 4, still read, is the same without the visits' path
// (a visit of several pages gets its landing, second and exit pages as its
// views: the best there is). Version 3 also lacks the entries'
// referrer (read as "": such a visit splits on its referrer as before);
// version 2 also lacks their partner window (read as 0: no window);
// version 1 also lacks secondAt and second. A
// previous visit requires an open one; a visit's start must not be after
// its last activity, nor a visitor's first seen after its last seen.
// TestSnapshotGolden spells out a small snapshot byte by byte. A change of
// the format must change the format version.
//
// # Funnels
//
// Config.Funnels are ordered steps; the caller evaluates each funnel's
// step conditions on every event Touch applied and reports the steps it
// matched (FunnelSteps, a bit mask per funnel). Per visitor and funnel the
// tracker keeps attempts:
//
//   - an attempt starts with a match of step 1 when none is open;
//     FunnelDef.VisitScope confines it to the visit of its first step (a
//     match in another visit closes it), FunnelDef.Window to that long
//     after its first step;
//   - an open attempt at step k moves to k+1 with the first later match
//     of step k+1, one step per event; with FunnelDef.Strict a match of
//     any other step (not a repeat of step k) closes it, and a step-1
//     match then starts a new attempt;
//   - the best attempt is the one with most steps reached, the earliest
//     of those; once an attempt completes nothing changes any more;
//   - the next page of the best attempt (not completed) is the first page
//     view after its furthest step in that step's visit, from the pages
//     the visit holds (its path state) and the page views that follow.
//
// Matches are folded into the attempts in time order (ties by mask, then
// visit) once they are older than the visitor's last event minus the
// reorder window, and before an event that may let go of their visit is
// applied; until then they wait, and Funnel folds them into a copy. So
// events out of order within the reorder window, and duplicates (which
// Touch refuses), give the record of in-order delivery; an event later
// than the window is folded as it comes. Funnel reports a record only when
// its content changed since it last did; its version is the visitor's.
//
// # Light results
//
// Touch applies an event exactly like Apply but returns a Ref (visit id,
// entry channel, landing page, outcomes, Touched) instead of rendering the
// whole Visit and Visitor; State and Visitor render them later, from the
// state at that time. A caller that builds records once per batch or
// interval (the attribution processor) so renders each entity once, not
// once per event. Only a visitor's open and previous visits are held, so
// a Ref also carries, in Dropped, the final state of any visit the event
// made the tracker let go of; State can no longer return those.
//
// A Tracker is safe for concurrent use (one mutex).
package journey
