package geoip

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/webjourney/webjourney/test/testenv"
)

// testDBPath finds the real-world test database (the ip-location-db country
// database, data CC BY 4.0 by the NRO): $WEBJOURNEY_GEOIP_DB, or where
// scripts/fetch-testdata.sh puts it.
func testDBPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("WEBJOURNEY_GEOIP_DB"); p != "" {
		return p
	}
	return testenv.Fetched(t, testenv.GeoCountryDB)
}

func TestRealDatabase(t *testing.T) {
	d, err := Open(testDBPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Registry-allocated ranges of long-lived organisations: stable in
	// whois-derived data.
	tests := []struct{ ip, country string }{
		{"8.8.8.8", "US"},              // Google
		{"2001:4860:4860::8888", "US"}, // Google
		{"193.0.6.139", "NL"},          // RIPE NCC
		{"2001:67c:2e8::1", "NL"},      // RIPE NCC
		{"::ffff:193.0.6.139", "NL"},   // mapped form is unmapped
		{"80.156.0.1", "DE"},           // Deutsche Telekom
		{"2003::1", "DE"},              // Deutsche Telekom
		{"133.0.0.1", "JP"},            // JPNIC-era /8
		{"200.160.0.1", "BR"},          // NIC.br
		{"127.0.0.1", ""},
		{"10.1.2.3", ""},
		{"192.168.1.1", ""},
		{"::1", ""},
		{"fe80::1", ""},
		{"fd00::1", ""},
		{"0.0.0.0", ""},
		{"224.0.0.1", ""},
	}
	for _, tt := range tests {
		c, r := d.Lookup(netip.MustParseAddr(tt.ip))
		if c != tt.country || r != "" {
			t.Errorf("Lookup(%s) = %q, %q; want %q, \"\"", tt.ip, c, r, tt.country)
		}
	}
	if c, r := d.Lookup(netip.Addr{}); c != "" || r != "" {
		t.Errorf("invalid addr: %q %q", c, r)
	}
}

func TestShapes(t *testing.T) {
	city := writeMMDB(t, "GeoLite2-City", map[string]map[string]any{
		"81.2.69.0/24": {
			"country":      map[string]any{"iso_code": "GB", "names": map[string]any{"en": "United Kingdom"}},
			"subdivisions": []any{map[string]any{"iso_code": "ENG"}, map[string]any{"iso_code": "WBK"}},
		},
		"89.160.20.0/24": {"country": map[string]any{"iso_code": "SE"}}, // no subdivisions
		"2.125.160.0/24": {"registered_country": map[string]any{"iso_code": "GB"}},
		"67.43.156.0/24": {"country": map[string]any{"iso_code": "toolong"}},
	})
	cc := writeMMDB(t, "ip-location-db country", map[string]map[string]any{
		"193.0.0.0/21": {"country_code": "NL"},
		"8.8.8.0/24":   {"country_code": ""},
	})
	tests := []struct {
		path, ip, country, region string
	}{
		{city, "81.2.69.160", "GB", "GB-ENG"},
		{city, "89.160.20.1", "SE", ""},
		{city, "2.125.160.1", "", ""},
		{city, "67.43.156.1", "", ""},
		{city, "1.1.1.1", "", ""},
		{city, "2001:db8::1", "", ""}, // IPv6 in an IPv4-only DB: error -> empty
		{cc, "193.0.6.139", "NL", ""},
		{cc, "8.8.8.8", "", ""},
		{cc, "9.9.9.9", "", ""},
	}
	dbs := map[string]*DB{}
	for _, p := range []string{city, cc} {
		d, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		dbs[p] = d
	}
	for _, tt := range tests {
		c, r := dbs[tt.path].Lookup(netip.MustParseAddr(tt.ip))
		if c != tt.country || r != tt.region {
			t.Errorf("%s Lookup(%s) = %q, %q; want %q, %q", dbs[tt.path].DatabaseType(), tt.ip, c, r, tt.country, tt.region)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad); err == nil {
		t.Error("garbage file: no error")
	}
}

func TestCloseAndConcurrency(t *testing.T) {
	path := writeMMDB(t, "test", map[string]map[string]any{"193.0.0.0/21": {"country_code": "NL"}})
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("193.0.0.1")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if c, _ := d.Lookup(ip); c != "NL" && c != "" {
					t.Errorf("got %q", c)
					return
				}
			}
		})
	}
	wg.Go(func() { _ = d.Close() })
	wg.Wait()
	if c, _ := d.Lookup(ip); c != "" {
		t.Errorf("lookup after close: %q", c)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if d.DatabaseType() != "" {
		t.Error("type after close")
	}
}
