package ratelimit

import (
	"net/netip"
	"sync"
	"testing"
)

func TestDisabled(t *testing.T) {
	for _, l := range []*Limiter{New(0, 1, 10), New(-1, 0, 0), nil, {}} {
		for range 100 {
			if !l.Allow(netip.MustParseAddr("192.0.2.1")) {
				t.Fatal("disabled limiter rejected")
			}
		}
	}
}

func TestBurstThenReject(t *testing.T) {
	l := New(0.001, 3, 100)
	a := netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		if !l.Allow(a) {
			t.Fatalf("request %d rejected within burst", i)
		}
	}
	if l.Allow(a) {
		t.Fatal("request beyond burst allowed")
	}
	if !l.Allow(netip.MustParseAddr("192.0.2.2")) {
		t.Fatal("other client rejected")
	}
}

func TestBurstBelowOne(t *testing.T) {
	l := New(0.001, 0, 10)
	a := netip.MustParseAddr("192.0.2.1")
	if !l.Allow(a) || l.Allow(a) {
		t.Fatal("burst 0 should behave as burst 1")
	}
}

func TestKeying(t *testing.T) {
	tests := []struct{ a, b string }{
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2:ffff:1:2:3"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"fe80::1%eth0", "fe80::2"},
	}
	for _, tt := range tests {
		if Key(netip.MustParseAddr(tt.a)) != Key(netip.MustParseAddr(tt.b)) {
			t.Errorf("%s and %s should share a key", tt.a, tt.b)
		}
	}
	if Key(netip.MustParseAddr("2001:db8:1:2::1")) == Key(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("different /64s share a key")
	}
	if Key(netip.MustParseAddr("192.0.2.1")) == Key(netip.MustParseAddr("192.0.2.2")) {
		t.Error("different IPv4 addresses share a key")
	}

	l := New(0.001, 1, 100)
	if !l.Allow(netip.MustParseAddr("2001:db8:1:2::1")) {
		t.Fatal("first request rejected")
	}
	if l.Allow(netip.MustParseAddr("2001:db8:1:2::dead:beef")) {
		t.Fatal("same /64 got a second bucket")
	}
	if !l.Allow(netip.Addr{}) || l.Allow(netip.Addr{}) {
		t.Fatal("invalid addresses should share one bucket")
	}
}

func TestBoundedMemory(t *testing.T) {
	const maxClients = 1000
	l := New(1, 1, maxClients)
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(a)
	}
	if n := l.Len(); n > maxClients+maxShards || n < maxClients/2 {
		t.Fatalf("remembered %d clients, bound %d", n, maxClients)
	}
	// Tiny bounds still work.
	l = New(1, 1, 1)
	l.Allow(netip.MustParseAddr("192.0.2.1"))
	l.Allow(netip.MustParseAddr("192.0.2.2"))
	if l.Len() != 1 {
		t.Fatalf("len %d, want 1", l.Len())
	}
}

func TestConcurrent(t *testing.T) {
	l := New(1000, 10, 64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10_000 {
				l.Allow(netip.AddrFrom4([4]byte{192, 0, byte(g), byte(i)}))
			}
		})
	}
	wg.Wait()
	if l.Len() > 64+maxShards {
		t.Fatalf("len %d", l.Len())
	}
}
