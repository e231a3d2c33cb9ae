// Package geoip maps client addresses to a country and region using a
// MaxMind DB (MMDB) file, read with github.com/oschwald/maxminddb-golang/v2.
//
// Two record shapes are understood, so operators can use either a MaxMind
// GeoIP2/GeoLite2 Country or City database or one of the free ip-location-db
// country databases:
//
//	{"country": {"iso_code": "DE"}, "subdivisions": [{"iso_code": "BY"}, ...]}
//	{"country_code": "DE"}
//
// Only the ISO codes are decoded: names and other fields are never touched,
// which keeps lookups cheap (the library caches decoded strings, so a
// lookup does not allocate).
package geoip // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/geoip"

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is an open geolocation database. Lookup is safe for concurrent use,
// also concurrently with Close.
type DB struct {
	// mu guards reader against Close: the file is memory-mapped, so a
	// lookup racing with Close could otherwise read unmapped memory.
	// Lookups take the read lock, which is uncontended in steady state.
	mu     sync.RWMutex
	reader *maxminddb.Reader
}

// record holds the fields read from both supported record shapes.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	CountryCode string `maxminddb:"country_code"`
}

// Open opens (memory-maps) the MMDB file at path.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, err)
	}
	return &DB{reader: r}, nil
}

// DatabaseType returns the database_type from the file's metadata, e.g.
// "GeoLite2-City", for logging; "" after Close.
func (d *DB) DatabaseType() string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.reader == nil {
		return ""
	}
	return d.reader.Metadata.DatabaseType
}

// Lookup returns the ISO 3166-1 alpha-2 country code of ip and, when the
// database has subdivisions (City databases), the ISO 3166-2 code of the
// largest subdivision as "<country>-<subdivision>", e.g. "DE-BY". Both are
// empty when the address is unknown, not globally routable (private,
// loopback, link-local, ...), invalid, or the database is closed: for
// analytics "unknown" is the only sensible answer and errors are not
// actionable per request.
func (d *DB) Lookup(ip netip.Addr) (country, region string) {
	ip = ip.Unmap().WithZone("")
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return "", ""
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.reader == nil {
		return "", ""
	}
	res := d.reader.Lookup(ip)
	if !res.Found() {
		return "", ""
	}
	var rec record
	if err := res.Decode(&rec); err != nil {
		return "", ""
	}
	country = rec.Country.ISOCode
	if country == "" {
		return validCode(rec.CountryCode), ""
	}
	country = validCode(country)
	if country == "" {
		return "", ""
	}
	// Subdivisions are decoded by path rather than as a slice in record,
	// which would allocate on every lookup; country databases simply have
	// no such path.
	var sub string
	if err := res.DecodePath(&sub, "subdivisions", 0, "iso_code"); err == nil && sub != "" && len(sub) <= 3 {
		region = country + "-" + sub
	}
	return country, region
}

// validCode returns c if it looks like an ISO 3166-1 alpha-2 code, else "".
// Some databases use placeholders ("ZZ" for unknown, "" or longer strings);
// only the shape is checked, so "ZZ" and "EU" pass through as the data says.
func validCode(c string) string {
	if len(c) != 2 {
		return ""
	}
	return c
}

// Close unmaps the database. Later lookups return empty results.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reader == nil {
		return nil
	}
	err := d.reader.Close()
	d.reader = nil
	return err
}
