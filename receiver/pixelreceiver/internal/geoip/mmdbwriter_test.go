package geoip

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// This file holds a minimal MMDB writer (IPv4 search tree, 24-bit records)
// so that tests can cover both record shapes without shipping a third-party
// database. Format: https://maxmind.github.io/MaxMind-DB/

type mmdbNode struct{ rec [2]int } // >=0 node index, -1 empty, <= -2 data -(i+2)

func writeMMDB(t testing.TB, dbType string, data map[string]map[string]any) string {
	t.Helper()
	nodes := []mmdbNode{{rec: [2]int{-1, -1}}}
	var dataSec bytes.Buffer
	prefixes := make([]string, 0, len(data))
	for p := range data {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	var offsets []int
	for i, ps := range prefixes {
		p := netip.MustParsePrefix(ps)
		offsets = append(offsets, dataSec.Len())
		encodeValue(&dataSec, data[ps])
		ip := p.Addr().As4()
		bits := binary.BigEndian.Uint32(ip[:])
		cur := 0
		for b := 0; b < p.Bits(); b++ {
			bit := int(bits>>(31-b)) & 1
			if b == p.Bits()-1 {
				nodes[cur].rec[bit] = -(i + 2)
				break
			}
			if next := nodes[cur].rec[bit]; next >= 0 {
				cur = next
				continue
			}
			nodes = append(nodes, mmdbNode{rec: [2]int{-1, -1}})
			nodes[cur].rec[bit] = len(nodes) - 1
			cur = len(nodes) - 1
		}
	}
	n := len(nodes)
	var out bytes.Buffer
	for _, nd := range nodes {
		for _, r := range nd.rec {
			v := n // empty
			switch {
			case r >= 0:
				v = r
			case r <= -2:
				v = n + 16 + offsets[-r-2]
			}
			out.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)})
		}
	}
	out.Write(make([]byte, 16))
	out.Write(dataSec.Bytes())
	out.WriteString("\xAB\xCD\xEFMaxMind.com")
	encodeValue(&out, map[string]any{
		"node_count":                  uint32(n),
		"record_size":                 uint16(24),
		"ip_version":                  uint16(4),
		"database_type":               dbType,
		"languages":                   []any{},
		"binary_format_major_version": uint16(2),
		"binary_format_minor_version": uint16(0),
		"build_epoch":                 uint64(1700000000),
		"description":                 map[string]any{},
	})
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func ctrl(w *bytes.Buffer, typ, size int) {
	if size >= 29 {
		panic("test writer: size too large")
	}
	if typ <= 7 {
		w.WriteByte(byte(typ<<5 | size))
		return
	}
	w.WriteByte(byte(size))
	w.WriteByte(byte(typ - 7))
}

func encodeUint(w *bytes.Buffer, typ int, v uint64) {
	var b []byte
	for v > 0 {
		b = append([]byte{byte(v)}, b...)
		v >>= 8
	}
	ctrl(w, typ, len(b))
	w.Write(b)
}

func encodeValue(w *bytes.Buffer, v any) {
	switch v := v.(type) {
	case string:
		ctrl(w, 2, len(v))
		w.WriteString(v)
	case uint16:
		encodeUint(w, 5, uint64(v))
	case uint32:
		encodeUint(w, 6, uint64(v))
	case uint64:
		encodeUint(w, 9, v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ctrl(w, 7, len(v))
		for _, k := range keys {
			encodeValue(w, k)
			encodeValue(w, v[k])
		}
	case []any:
		ctrl(w, 11, len(v))
		for _, e := range v {
			encodeValue(w, e)
		}
	default:
		panic("test writer: unsupported type")
	}
}
