package salt

import (
	"sync"
	"time"
)

// Past periods. An event older than the previous period (imported
// history: the import endpoint keeps an event's own time at any age) must
// not be keyed under the current salt: every anonymous event of one
// browser across weeks of history would then share one key, linked as no
// live event ever is. Nor can it use its own period's salt, destroyed long
// ago. So it is keyed under a salt of its own period made for the purpose:
// random, created on first use, never stored, forgotten pastIdle after its
// last use (and the oldest first beyond maxPast). The events of one past
// period link as they would have live (a visit), those of different
// periods do not. The price: the same history imported again after its
// salt was forgotten (or after a restart) gets new keys, so its anonymous
// visits are built again under new ids (the events themselves are stored
// once, by event id).
const (
	maxPast  = 400
	pastIdle = 24 * time.Hour
)

type pastSalts struct {
	mu      sync.Mutex
	byLabel map[string]*pastEntry
}

type pastEntry struct {
	e    *entry
	used time.Time
}

// PastKey returns the cookieless key of (site, clientAddress, userAgent)
// for an event at t, and true, when t lies before the previous period (see
// "Past periods"); else false, and the caller keys the event as a live one
// (Key, Keys).
//
// Every anonymous event asks, so the common answer costs a comparison
// with the held state's previous-period start, no clock reading. Before
// the state rotates that start is a period early, and an event of the
// period between is keyed as a live one, which it then is.
func (s *Salts) PastKey(site, clientAddress, userAgent string, t time.Time) (string, bool) {
	if !t.Before(s.state.Load().prevStart) {
		return "", false
	}
	now := s.now()
	l := label(s.period, periodStart(s.period, t))
	s.past.mu.Lock()
	if s.past.byLabel == nil {
		s.past.byLabel = map[string]*pastEntry{}
	}
	pe := s.past.byLabel[l]
	if pe == nil {
		s.past.forget(now)
		pe = &pastEntry{e: s.newEntry(l, randomSalt())}
		s.past.byLabel[l] = pe
	}
	pe.used = now
	e := pe.e
	s.past.mu.Unlock()
	return e.key(site, clientAddress, userAgent), true
}

// forget destroys the salts unused for pastIdle and, beyond maxPast-1,
// the least recently used. Called under mu.
func (p *pastSalts) forget(now time.Time) {
	for l, pe := range p.byLabel {
		if now.Sub(pe.used) > pastIdle {
			pe.e.destroy()
			delete(p.byLabel, l)
		}
	}
	for len(p.byLabel) >= maxPast {
		var oldest string
		for l, pe := range p.byLabel {
			if oldest == "" || pe.used.Before(p.byLabel[oldest].used) {
				oldest = l
			}
		}
		p.byLabel[oldest].e.destroy()
		delete(p.byLabel, oldest)
	}
}
