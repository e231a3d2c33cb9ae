package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// erasureGuard makes erasures exact: it knows every erased subject
// (journeystore's tombstones, see tombstones.go there: those this exporter
// recorded and those any other collector or webjourneyctl recorded), so
// that a push drops the records of an erased subject before writing them
// and deletes again, after writing, what it wrote of a subject erased
// meanwhile. Records wait in the sending queue (on disk across restarts),
// in the attribution processor's emitter or in a bulk request while an
// erasure is carried out; without this they would be stored after it.
//
// The set lives in memory: a key (16 bytes) and its erasure time per
// erased id, about 60 bytes each, 6 MB per 100 000 erased ids; tombstones
// older than erasure::tombstone_days are forgotten here and deleted from
// the index by the retention check.
type erasureGuard struct {
	ttl time.Duration

	mu         sync.Mutex
	keys       map[journeystore.TombstoneKey]time.Time // erased ids, when erased
	generation int64                                   // the tombstones of generations up to this are in keys
	pruned     time.Time                               // when expired keys were last dropped

	// loading serialises the loads: each push reads the marker after
	// its own writes (see sync), so pushes cannot share one read.
	loading sync.Mutex
}

func newErasureGuard(tombstoneDays int) *erasureGuard {
	return &erasureGuard{
		ttl:  time.Duration(tombstoneDays) * 24 * time.Hour,
		keys: map[journeystore.TombstoneKey]time.Time{},
	}
}

// sync loads the tombstones recorded since the last load: one real-time
// get of the generation marker when there are none. After it returns, the
// guard knows every erasure whose tombstones were recorded before it was
// called.
func (g *erasureGuard) sync(ctx context.Context, store *journeystore.Store, now time.Time) error {
	g.loading.Lock()
	defer g.loading.Unlock()
	g.mu.Lock()
	after := g.generation
	g.mu.Unlock()
	loaded, generation, err := store.TombstonesSince(ctx, after, now.Add(-g.ttl))
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range loaded {
		if at, ok := g.keys[t.Key]; !ok || t.Erased.After(at) {
			g.keys[t.Key] = t.Erased
		}
	}
	g.generation = max(g.generation, generation)
	if now.Sub(g.pruned) >= time.Hour {
		g.pruned = now
		for k, at := range g.keys {
			if now.Sub(at) > g.ttl {
				delete(g.keys, k)
			}
		}
	}
	return nil
}

// add notes the erasure of er at once, before its tombstones are loaded
// back: the pushes of this exporter drop and sweep its records from now.
func (g *erasureGuard) add(er *journeystore.Erasure, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range er.TombstoneKeys() {
		g.keys[k] = now
	}
}

// empty reports whether no subject is erased, so that records need no
// check at all (the usual case).
func (g *erasureGuard) empty() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.keys) == 0
}

// erased returns the ids of lr that are erased (as an Erasure of its site,
// to delete its documents by), or nil. An erasure request is never erased:
// it is the audit record of an erasure.
func (g *erasureGuard) erased(lr plog.LogRecord) *journeystore.Erasure {
	if lr.EventName() == eventmodel.EventErasureRequest {
		return nil
	}
	attrs := lr.Attributes()
	site := str(attrs, eventmodel.AttrSiteID)
	visitor, user := str(attrs, eventmodel.AttrVisitorID), str(attrs, eventmodel.AttrUserID)
	if visitor == "" && user == "" {
		return nil
	}
	var er *journeystore.Erasure
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.keys[journeystore.SubjectKey(site, journeystore.KindVisitor, visitor)]; ok && visitor != "" {
		er = &journeystore.Erasure{Site: site, Visitors: []string{visitor}}
	}
	if _, ok := g.keys[journeystore.SubjectKey(site, journeystore.KindUser, user)]; ok && user != "" {
		if er == nil {
			er = &journeystore.Erasure{Site: site}
		}
		er.Users = []string{user}
	}
	return er
}

// str returns a string attribute; "" when absent or not a string.
func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// sweep is the erased subjects whose records a push met, to delete their
// documents again: each subject once.
type sweep struct {
	subjects map[string]*journeystore.Erasure
	records  map[string][]int // record positions of each subject
}

func (s *sweep) add(er *journeystore.Erasure, pos int) {
	key := er.Subject()
	if s.subjects == nil {
		s.subjects, s.records = map[string]*journeystore.Erasure{}, map[string][]int{}
	}
	if _, ok := s.subjects[key]; !ok {
		s.subjects[key] = er
	}
	s.records[key] = append(s.records[key], pos)
}

// run deletes the documents of every subject of the sweep and returns the
// positions of the records whose subject could not be swept (they are
// retried: the retry drops them and sweeps again), the number of subjects
// swept and the first error.
func (s *sweep) run(ctx context.Context, store *journeystore.Store) (failed []int, swept int, err error) {
	for key, er := range s.subjects {
		if _, serr := store.DeleteSubjectDocuments(ctx, er); serr != nil {
			failed = append(failed, s.records[key]...)
			if err == nil {
				err = serr
			}
			continue
		}
		swept++
	}
	return failed, swept, err
}

// sweepErased deletes again the documents of the erased subjects a push
// met: those whose records it dropped (an earlier attempt, or another
// collector, may have written them) and those whose records it wrote while
// their erasure was being carried out (the tombstones are read again after
// the writes: an erasure that searched before a write landed is caught
// here, one that searched after it found the write). Records whose subject
// could not be swept, and every written record when the tombstones cannot
// be read, are retried: a retry drops them and sweeps again.
func (e *eventsExporter) sweepErased(ctx context.Context, p *push, t *tally) {
	p.mu.Lock()
	var written []int
	for i, o := range p.outcomes {
		switch o {
		case outcomeIndexed, outcomeDuplicate, outcomeVersionConflict, outcomeRejected:
			written = append(written, i)
		}
	}
	p.mu.Unlock()
	if len(written) > 0 {
		if err := e.guard.sync(ctx, e.store, time.Now()); err != nil {
			for _, i := range written {
				if !t.retry[i] {
					t.retry[i] = true
					t.sweepRetry++
				}
			}
			if t.retryCause == nil {
				t.retryCause = fmt.Errorf("erasures not read again after writing: %w", err)
			}
			return
		}
		if !e.guard.empty() {
			at := 0
			forEachRecord(p.ld, func(i int, lr plog.LogRecord) {
				if at < len(written) && written[at] == i {
					at++
					if er := e.guard.erased(lr); er != nil {
						p.erased.add(er, i)
					}
				}
			})
		}
	}
	if len(p.erased.subjects) == 0 {
		return
	}
	failed, swept, err := p.erased.run(ctx, e.store)
	e.addCount(ctx, e.telemetry.ExporterElasticsearchJourneyErasureSweeps, swept)
	for _, i := range failed {
		if !t.retry[i] {
			t.retry[i] = true
			t.sweepRetry++
		}
	}
	if err != nil && t.retryCause == nil {
		t.retryCause = fmt.Errorf("deleting the documents of an erased subject: %w", err)
	}
}
