package ratelimit

import (
	"net/netip"
	"testing"
)

// FuzzAllow feeds arbitrary 16-byte addresses (as IPv4 or IPv6) and limiter
// parameters; nothing may panic and the client bound must hold.
func FuzzAllow(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, 1.0, 1, 4)
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0.5, 0, 0)
	f.Fuzz(func(t *testing.T, raw []byte, r float64, burst, maxClients int) {
		if maxClients > 1<<16 {
			maxClients = 1 << 16 // keep allocations test-sized
		}
		l := New(r, burst, maxClients)
		a, _ := netip.AddrFromSlice(raw)
		for range 3 {
			l.Allow(a)
			if a.IsValid() {
				a = a.Next()
			}
		}
		if maxClients > 0 && l.Len() > maxClients+maxShards {
			t.Fatalf("len %d > %d", l.Len(), maxClients)
		}
	})
}
