package anonymizer

import (
	"net/netip"
)

// reduceAddress keeps the configured network prefix of an IP address: the
// leading octets of an IPv4 address (the rest zeroed, 203.0.113.7 ->
// 203.0.113.0 with 3 octets) or the leading bits of an IPv6 address
// (2001:db8:1:2::5 -> 2001:db8:1:: with 48 bits). An IPv4-mapped IPv6
// address is reduced as IPv4. Anything that is not an address is dropped
// (ok false): it may be whatever a client put there.
func reduceAddress(s string, ipv4Octets, ipv6Bits int) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	a = a.Unmap().WithZone("")
	bits := ipv6Bits
	if a.Is4() {
		bits = 8 * ipv4Octets
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return "", false
	}
	return p.Addr().String(), true
}
