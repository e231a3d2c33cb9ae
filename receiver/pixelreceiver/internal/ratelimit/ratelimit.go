// Package ratelimit limits how many requests each client may send, with a
// token bucket per client and a hard bound on the memory used for clients.
//
// Buckets are golang.org/x/time/rate limiters kept in least-recently-used
// caches (github.com/hashicorp/golang-lru/v2/simplelru). The cache is split
// into shards, each with its own mutex, instead of using the library's
// single-mutex thread-safe lru.Cache: every Allow is a cache hit that moves
// the entry to the front of the list, i.e. a write, so one global lock would
// serialize all request goroutines. Sharding by a hash of the key keeps the
// LRU order exact within a shard and approximate overall, which is all the
// bound needs. When a shard is full its least recently seen client is
// forgotten; if that client returns it starts again with a full bucket, so
// maxClients should exceed the number of clients active within one refill
// period (burst/rate seconds).
package ratelimit // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/ratelimit"

import (
	"net/netip"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// maxShards bounds the shard count; 16 shards make lock contention
// negligible on the machines this runs on while keeping per-shard LRUs
// large enough to be meaningful.
const maxShards = 16

// DefaultMaxClients is used when New is given maxClients <= 0.
const DefaultMaxClients = 100_000

// Limiter is a per-client rate limiter. It is safe for concurrent use.
// The zero value and a nil *Limiter allow everything.
type Limiter struct {
	limit  rate.Limit
	burst  int
	shards []shard
	mask   uint64
	shift  uint
}

type shard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[netip.Addr, *rate.Limiter]
	_   [40]byte // keep shards on separate cache lines
}

// New returns a Limiter that lets each client send ratePerSecond requests
// per second on average with bursts of up to burst requests, remembering at
// most maxClients clients (DefaultMaxClients when <= 0). ratePerSecond <= 0
// disables limiting: Allow always returns true. A burst below 1 is raised
// to 1, since a bucket that holds no token would reject every request.
func New(ratePerSecond float64, burst int, maxClients int) *Limiter {
	if ratePerSecond <= 0 {
		return &Limiter{}
	}
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	n := 1
	for n < maxShards && n*2 <= maxClients {
		n *= 2
	}
	perShard := (maxClients + n - 1) / n
	l := &Limiter{
		limit:  rate.Limit(ratePerSecond),
		burst:  max(burst, 1),
		shards: make([]shard, n),
		mask:   uint64(n - 1),
	}
	for i := range l.shards {
		// NewLRU only fails for a size <= 0, which perShard never is.
		l.shards[i].lru, _ = simplelru.NewLRU[netip.Addr, *rate.Limiter](perShard, nil)
	}
	return l
}

// Allow reports whether the client at addr may send a request now, and
// takes a token from its bucket if so. IPv6 clients are keyed by their /64
// prefix, because a single host or home network owns a whole /64 and can
// pick any address in it; IPv4 clients (including IPv4-mapped IPv6) by
// address. All invalid addresses share one bucket.
func (l *Limiter) Allow(addr netip.Addr) bool {
	if l == nil || l.shards == nil {
		return true
	}
	key := Key(addr)
	s := &l.shards[hash(key)&l.mask]
	s.mu.Lock()
	lim, ok := s.lru.Get(key)
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		s.lru.Add(key, lim)
	}
	s.mu.Unlock()
	// The limiter has its own lock; taking the token outside the shard lock
	// keeps the shard's critical section to the map and list update.
	return lim.Allow()
}

// Len returns the number of clients currently remembered.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// Key returns the rate-limiting key of addr: the address itself for IPv4,
// the /64 network for IPv6. Zones are dropped and IPv4-mapped addresses
// unmapped so that one client has one key.
func Key(addr netip.Addr) netip.Addr {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.WithZone("").Prefix(64)
		return p.Addr()
	}
	return addr
}

// hash mixes the address bits (Fibonacci hashing) so that shards are
// evenly used even though IPv6 keys have zero low bits.
func hash(a netip.Addr) uint64 {
	b := a.As16()
	var h uint64
	for i := range 8 {
		h = h<<8 | uint64(b[i]^b[i+8])
	}
	return (h * 0x9E3779B97F4A7C15) >> 32
}
