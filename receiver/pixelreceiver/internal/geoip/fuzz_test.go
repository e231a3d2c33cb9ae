package geoip

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLookup looks up arbitrary addresses in a City-shaped test database
// and checks the output shape.
func FuzzLookup(f *testing.F) {
	f.Add([]byte{81, 2, 69, 160})
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	path := writeMMDB(f, "GeoLite2-City", map[string]map[string]any{
		"81.2.69.0/24": {"country": map[string]any{"iso_code": "GB"}, "subdivisions": []any{map[string]any{"iso_code": "ENG"}}},
		"193.0.0.0/8":  {"country_code": "NL"},
	})
	d, err := Open(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	f.Fuzz(func(t *testing.T, raw []byte) {
		ip, _ := netip.AddrFromSlice(raw)
		c, r := d.Lookup(ip)
		if len(c) != 0 && len(c) != 2 || r != "" && (c == "" || len(r) < 4 || r[:3] != c+"-") {
			t.Fatalf("Lookup(%v) = %q, %q", ip, c, r)
		}
	})
}

// FuzzOpenCorrupt opens arbitrary bytes as a database (corruption, a
// truncated download) and looks something up: errors are fine, panics not.
func FuzzOpenCorrupt(f *testing.F) {
	f.Add([]byte("\xAB\xCD\xEFMaxMind.com"))
	good, err := os.ReadFile(writeMMDB(f, "seed", map[string]map[string]any{"193.0.0.0/8": {"country_code": "NL"}}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "db.mmdb")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := Open(p)
		if err != nil {
			return
		}
		defer d.Close()
		d.Lookup(netip.MustParseAddr("193.0.0.1"))
		d.Lookup(netip.MustParseAddr("2001:db8::1"))
	})
}
