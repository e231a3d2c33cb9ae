package ratelimit

import (
	"net/netip"
	"testing"
)

// BenchmarkAllowKnownParallel is the hot path: a known client, from many
// goroutines (hitting different shards).
func BenchmarkAllowKnownParallel(b *testing.B) {
	l := New(1e9, 1e9, 10_000)
	addrs := make([]netip.Addr, 256)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		l.Allow(addrs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(addrs[i&255])
			i++
		}
	})
}

// BenchmarkAllowSameKeyParallel is the worst case for contention: one
// client (one shard, one limiter) hammered from all goroutines.
func BenchmarkAllowSameKeyParallel(b *testing.B) {
	l := New(1e9, 1e9, 10_000)
	a := netip.MustParseAddr("2001:db8::1")
	l.Allow(a)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow(a)
		}
	})
}

// BenchmarkAllowNewClients measures churn: every call is a new client and,
// once full, an eviction.
func BenchmarkAllowNewClients(b *testing.B) {
	l := New(1, 1, 10_000)
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		i++
	}
}
