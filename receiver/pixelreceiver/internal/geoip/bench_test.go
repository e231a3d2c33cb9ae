package geoip

import (
	"net/netip"
	"testing"
)

func BenchmarkLookup(b *testing.B) {
	city := writeMMDB(b, "GeoLite2-City", map[string]map[string]any{
		"81.2.69.0/24": {"country": map[string]any{"iso_code": "GB"}, "subdivisions": []any{map[string]any{"iso_code": "ENG"}}},
	})
	dc, err := Open(city)
	if err != nil {
		b.Fatal(err)
	}
	defer dc.Close()
	b.Run("city-shape", func(b *testing.B) {
		ip := netip.MustParseAddr("81.2.69.160")
		b.ReportAllocs()
		for b.Loop() {
			dc.Lookup(ip)
		}
	})
	b.Run("real-country-db", func(b *testing.B) {
		d, err := Open(testDBPath(b))
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		ips := []netip.Addr{netip.MustParseAddr("80.156.0.1"), netip.MustParseAddr("2003::1"), netip.MustParseAddr("8.8.8.8")}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			d.Lookup(ips[i%len(ips)])
			i++
		}
	})
	b.Run("real-country-db-parallel", func(b *testing.B) {
		d, err := Open(testDBPath(b))
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		ip := netip.MustParseAddr("80.156.0.1")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				d.Lookup(ip)
			}
		})
	})
}
