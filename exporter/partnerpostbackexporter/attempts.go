package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"

import (
	"math"
	"sync"
	"time"
)

// maxTracked bounds the postbacks whose retries are tracked (about 150
// bytes each); past it the oldest are forgotten and start counting again.
const maxTracked = 100_000

// expirySlack covers the time between the retry sender starting a
// request and the push taking its start time (microseconds in practice).
const expirySlack = time.Second

// attemptState is what the attempts at one postback met so far.
type attemptState struct {
	// first is when the push that first carried the postback began: the
	// retry sender's max_elapsed_time counts from then.
	first time.Time
	// fails counts failed pushes (the retry sender's retries so far), n
	// the requests made.
	fails, n int
	// status and durationMS are the last request's (0: no answer).
	status     int
	durationMS float64
}

// attempts tracks the postbacks being retried, by idempotency key, so
// that the decision records how many requests it took and a postback the
// retry sender is about to give up is given up, and recorded, by the
// exporter first.
type attempts struct {
	mu    sync.Mutex
	m     map[string]*attemptState
	order []string
}

func newAttempts() *attempts { return &attempts{m: map[string]*attemptState{}} }

func (a *attempts) get(key string, pushStart time.Time) *attemptState {
	st := a.m[key]
	if st == nil {
		st = &attemptState{first: pushStart}
		a.m[key] = st
		a.order = append(a.order, key)
		for len(a.order) > maxTracked {
			delete(a.m, a.order[0])
			a.order = a.order[1:]
		}
	}
	return st
}

// request notes a request made (status 0: no answer) and returns the
// state so far.
func (a *attempts) request(key string, pushStart time.Time, status int, d time.Duration) attemptState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.get(key, pushStart)
	st.n++
	st.status, st.durationMS = status, float64(d)/float64(time.Millisecond)
	return *st
}

// fail notes that the push failed for the postback.
func (a *attempts) fail(key string, pushStart time.Time) attemptState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.get(key, pushStart)
	st.fails++
	return *st
}

// done forgets a decided postback and returns its last state.
func (a *attempts) done(key string) attemptState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.m[key]
	if st == nil {
		return attemptState{}
	}
	delete(a.m, key)
	// order keeps the key until it reaches the front; a key decided again
	// later is added anew.
	if len(a.order) > 2*len(a.m)+1024 {
		kept := a.order[:0]
		for _, k := range a.order {
			if _, ok := a.m[k]; ok {
				kept = append(kept, k)
			}
		}
		a.order = kept
	}
	return *st
}

// expired reports whether the retry sender may not retry the postback
// again, so that the exporter gives it up now and records it: retry is
// off, or the longest backoff it may draw for its next retry (the
// exponential interval after st.fails failures, randomized up, or the
// partner's Retry-After) could end after max_elapsed_time from st.first.
// The retry sender gives up in exactly those cases and in no others, so
// no postback is dropped unrecorded; the price is that one may be given up
// up to one backoff before the retry sender would have.
func (e *postbackExporter) expired(st attemptState, retryAfter time.Duration) bool {
	rc := e.cfg.RetryConfig
	if !rc.Enabled {
		return true
	}
	if rc.MaxElapsedTime <= 0 {
		return false
	}
	interval := float64(rc.InitialInterval) * math.Pow(rc.Multiplier, float64(max(st.fails-1, 0)))
	interval = min(interval, float64(rc.MaxInterval))
	next := max(time.Duration(interval*(1+rc.RandomizationFactor))+1, retryAfter)
	return e.now().Add(next + expirySlack).After(st.first.Add(rc.MaxElapsedTime))
}
