package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

const (
	// erasedTTL is how long an erasure cancels postbacks: longer than any
	// sensible retry_on_failure::max_elapsed_time, so that a postback
	// waiting for its partner is cancelled whenever it comes up again.
	erasedTTL = 7 * 24 * time.Hour
	// maxErased bounds the memory the erasures take (about 100 bytes each);
	// past it the oldest are forgotten first.
	maxErased = 100_000
)

// erasures remembers the visitors erased (a consent withdrawal, or a data
// subject's request) that pass through the pipeline, so that their
// postbacks still in the queue are cancelled instead of sent. They are
// kept in memory: the Elasticsearch exporter keeps the durable record.
//
// With a ledger, it also knows the erasure tombstones Elasticsearch keeps
// (journeystore's "<prefix>_erasures", which every erasure records first,
// webjourneyctl erase included): they are keyed by a hash of site, kind
// and id, and loaded before each push that has postbacks (see
// loadTombstones).
type erasures struct {
	mu    sync.Mutex
	at    map[[2]string]time.Time // {site, visitor id} -> when it was seen
	order [][2]string             // insertion order, for the bound
	now   func() time.Time

	tombs     map[journeystore.TombstoneKey]time.Time // -> when it was erased
	tombOrder []journeystore.TombstoneKey
}

func newErasures() *erasures {
	return &erasures{at: map[[2]string]time.Time{}, tombs: map[journeystore.TombstoneKey]time.Time{}, now: time.Now}
}

// addTombstones records tombstones loaded from Elasticsearch.
func (e *erasures) addTombstones(ts []journeystore.Tombstone) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range ts {
		if _, ok := e.tombs[t.Key]; !ok {
			e.tombOrder = append(e.tombOrder, t.Key)
		}
		e.tombs[t.Key] = t.Erased
	}
	for len(e.tombOrder) > maxErased {
		delete(e.tombs, e.tombOrder[0])
		e.tombOrder = e.tombOrder[1:]
	}
}

// note records the erasure requests of ld.
func (e *erasures) note(ld plog.Logs) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if lr.EventName() != eventmodel.EventErasureRequest {
					continue
				}
				m := lr.Attributes()
				if id := str(m, eventmodel.AttrVisitorID); id != "" {
					e.add([2]string{str(m, eventmodel.AttrSiteID), id})
				}
			}
		}
	}
}

func (e *erasures) add(k [2]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.at[k]; !ok {
		e.order = append(e.order, k)
	}
	e.at[k] = e.now()
	for len(e.order) > maxErased {
		delete(e.at, e.order[0])
		e.order = e.order[1:]
	}
}

// erased reports whether the credit record's visitor was erased.
func (e *erasures) erased(m pcommon.Map) bool {
	site, id, user := str(m, eventmodel.AttrSiteID), str(m, eventmodel.AttrVisitorID), str(m, eventmodel.AttrUserID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if id != "" {
		if t, ok := e.at[[2]string{site, id}]; ok && e.now().Sub(t) < erasedTTL {
			return true
		}
	}
	if len(e.tombs) == 0 {
		return false
	}
	// Tombstones expire in Elasticsearch (erasure::tombstone_days); one
	// loaded here is kept as long as the pipeline's own erasures.
	for _, k := range [...]struct{ kind, id string }{{journeystore.KindVisitor, id}, {journeystore.KindUser, user}} {
		if k.id == "" {
			continue
		}
		if t, ok := e.tombs[journeystore.SubjectKey(site, k.kind, k.id)]; ok && e.now().Sub(t) < erasedTTL {
			return true
		}
	}
	return false
}
