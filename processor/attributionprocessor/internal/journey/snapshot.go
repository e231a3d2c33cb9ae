package journey

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"time"
	"unique"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// The snapshot format is described in the package documentation
// ("Persistence"); keep the two in step.
const (
	snapshotMagic   = "WJJT"
	snapshotVersion = 6
	// maxStringLen bounds every string of a snapshot (Snapshot refuses
	// longer ones, Restore rejects them).
	maxStringLen = 1 << 28
	// ioBuf is the size of the read and write buffers.
	ioBuf = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes the tracker's whole state to w in the format described
// in the package documentation. It holds the tracker's mutex until it has
// written everything, so Apply waits meanwhile: write to something fast
// (a bytes.Buffer) and store it afterwards.
func (t *Tracker) Snapshot(w io.Writer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	vss := t.visitors.Values() // least recently used first

	// First pass: the tables of strings, entries and dims.
	e := encoder{w: w, buf: make([]byte, 0, ioBuf+1024), strs: map[string]uint64{}, entries: map[unique.Handle[entry]]uint64{}, dims: map[unique.Handle[dims]]uint64{}}
	for _, f := range t.cfg.Funnels {
		e.funnelNames = append(e.funnelNames, f.Name)
		e.funnelSteps = append(e.funnelSteps, f.Steps)
	}
	e.consents = append([]string{""}, t.consents...)
	for len(e.consents) < 256 {
		e.consents = append(e.consents, "") // an index beyond the table reads as ""
	}
	var strs []string
	var entries []unique.Handle[entry]
	var dimss []unique.Handle[dims]
	str := func(s string) {
		if _, ok := e.strs[s]; !ok {
			e.strs[s] = uint64(len(strs))
			strs = append(strs, s)
		}
	}
	ent := func(h unique.Handle[entry]) {
		if _, ok := e.entries[h]; !ok && h != (unique.Handle[entry]{}) {
			e.entries[h] = uint64(len(entries))
			entries = append(entries, h)
			en := h.Value()
			str(en.medium)
			str(en.source)
			str(en.campaign)
			str(en.partner)
			str(en.referrer)
		}
	}
	dim := func(h unique.Handle[dims]) {
		if _, ok := e.dims[h]; !ok {
			e.dims[h] = uint64(len(dimss))
			dimss = append(dimss, h)
			d := h.Value()
			str(d.device)
			str(d.country)
		}
	}
	mks := func(m *marks) {
		if m != nil {
			for _, s := range m.outcomes {
				str(s)
			}
			for _, s := range m.segments {
				str(s)
			}
		}
	}
	for _, vs := range vss {
		if len(vs.key) > maxStringLen {
			return fmt.Errorf("journey: snapshot: visitor key of %d bytes is longer than %d", len(vs.key), maxStringLen)
		}
		str(vs.site)
		if vs.partner != (unique.Handle[string]{}) {
			str(vs.partner.Value())
		}
		for i := range vs.touches {
			ent(vs.touches[i].entry)
		}
		ent(vs.firstTouch.entry)
		ent(vs.lastNonDir.entry)
		mks(vs.marks)
		for f := range vs.funnels() {
			fs := &vs.marks.funnels[f]
			if !fs.entered() {
				continue
			}
			str(t.cfg.Funnels[f].Name)
			for _, a := range [...]*attempt{fs.best, fs.cur} {
				if a == nil {
					continue
				}
				str(path(a.next.page))
				ent(a.first.entry)
				dim(a.first.dims)
				str(t.consent(a.first.consent))
			}
			for _, m := range fs.pending {
				str(t.consent(m.consent))
			}
		}
		for _, v := range [...]*visitState{vs.cur, vs.prev} {
			if v == nil {
				continue
			}
			str(path(v.landing))
			str(path(v.second))
			str(path(v.exit))
			if v.path != nil {
				for _, pv := range v.path.views {
					str(path(pv.page))
				}
			}
			ent(v.entry)
			dim(v.dims)
			mks(v.marks)
		}
	}

	// Header and tables.
	e.buf = append(e.buf, snapshotMagic...)
	e.buf = binary.AppendUvarint(e.buf, snapshotVersion)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, t.key)
	e.buf = binary.AppendUvarint(e.buf, uint64(t.evictions))
	e.buf = binary.AppendUvarint(e.buf, uint64(len(strs)))
	for _, s := range strs {
		if len(s) > maxStringLen {
			return fmt.Errorf("journey: snapshot: string of %d bytes is longer than %d", len(s), maxStringLen)
		}
		e.str(s)
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(entries)))
	for _, h := range entries {
		en := h.Value()
		e.ref(en.medium)
		e.ref(en.source)
		e.ref(en.campaign)
		e.ref(en.partner)
		e.uvarint(uint64(en.window))
		e.ref(en.referrer)
		e.buf = append(e.buf, btoi(en.referrerOnly))
		if err := e.flush(false); err != nil {
			return err
		}
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(dimss)))
	for _, h := range dimss {
		d := h.Value()
		e.ref(d.device)
		e.ref(d.country)
		if err := e.flush(false); err != nil {
			return err
		}
	}

	// Visitors.
	e.buf = binary.AppendUvarint(e.buf, uint64(len(vss)))
	for _, vs := range vss {
		e.visitor(vs)
		if err := e.flush(false); err != nil {
			return err
		}
	}
	return e.flush(true)
}

type encoder struct {
	w       io.Writer
	buf     []byte
	sum     uint32
	strs    map[string]uint64
	entries map[unique.Handle[entry]]uint64
	dims    map[unique.Handle[dims]]uint64
	// funnelNames and funnelSteps identify each funnel of the
	// configuration in the snapshot: a restore with another
	// configuration finds a funnel's state by name and keeps it only
	// when its steps are as many.
	funnelNames []string
	funnelSteps []int
	consents    []string // by consent index (Tracker.consents, "" first)
	base        int64    // the current visitor's lastSeen
	err         error    // first write error
}

// flush writes the buffer once it is full, or always when last (then
// followed by the checksum).
func (e *encoder) flush(last bool) error {
	if len(e.buf) < ioBuf && !last {
		return e.err
	}
	e.sum = crc32.Update(e.sum, castagnoli, e.buf)
	if last {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, e.sum)
	}
	if e.err == nil {
		if _, err := e.w.Write(e.buf); err != nil {
			e.err = fmt.Errorf("journey: snapshot: %w", err)
		}
	}
	e.buf = e.buf[:0]
	return e.err
}

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
	if len(e.buf) >= ioBuf {
		_ = e.flush(false) // a write error is kept and returned by the next flush
	}
}

func (e *encoder) ref(s string) { e.uvarint(e.strs[s]) }

// time writes t (a time or version) as the difference from the visitor's
// lastSeen, modulo 2^64.
func (e *encoder) time(t int64) { e.buf = binary.AppendVarint(e.buf, t-e.base) }

func (e *encoder) touch(tc *touch) {
	e.time(tc.time)
	e.uvarint(e.entries[tc.entry])
	e.buf = append(e.buf, tc.id[:]...)
}

// tref writes a touch that is usually one of the history: 0 unset, 1+i
// equal to touches[i], len(touches)+1 followed by the touch.
func (e *encoder) tref(vs *visitorState, tc *touch) {
	if !tc.set() {
		e.uvarint(0)
		return
	}
	for i := len(vs.touches) - 1; i >= 0; i-- {
		if vs.touches[i] == *tc {
			e.uvarint(uint64(i) + 1)
			return
		}
	}
	e.uvarint(uint64(len(vs.touches)) + 1)
	e.touch(tc)
}

func (e *encoder) marks(m *marks) {
	if m == nil {
		e.uvarint(0)
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(m.outcomes)))
	for _, s := range m.outcomes {
		e.ref(s)
	}
	e.uvarint(uint64(len(m.segments)))
	for _, s := range m.segments {
		e.ref(s)
	}
}

func (e *encoder) visitor(vs *visitorState) {
	e.str(vs.key)
	e.ref(vs.site)
	e.buf = binary.AppendVarint(e.buf, vs.lastSeen)
	e.base = vs.lastSeen
	e.time(vs.version)
	e.time(vs.firstSeen)
	e.uvarint(uint64(vs.visitCount))
	if vs.partner == (unique.Handle[string]{}) {
		e.uvarint(0)
	} else {
		e.uvarint(e.strs[vs.partner.Value()] + 1)
	}
	e.uvarint(uint64(len(vs.touches)))
	for i := range vs.touches {
		e.touch(&vs.touches[i])
	}
	e.tref(vs, &vs.firstTouch)
	e.tref(vs, &vs.lastNonDir)
	e.uvarint(uint64(len(vs.seen)))
	// Oldest first: the ring is full when seenPos is not 0.
	for _, h := range vs.seen[vs.seenPos:] {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, h)
	}
	for _, h := range vs.seen[:vs.seenPos] {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, h)
	}
	e.marks(vs.marks)
	e.visit(vs.cur)
	e.visit(vs.prev)
	e.funnels(vs)
}

// funnels writes the visitor's funnel states.
func (e *encoder) funnels(vs *visitorState) {
	n := 0
	for f := range vs.funnels() {
		if vs.marks.funnels[f].entered() {
			n++
		}
	}
	e.uvarint(uint64(n))
	for f := range vs.funnels() {
		fs := &vs.marks.funnels[f]
		if !fs.entered() {
			continue
		}
		e.ref(e.funnelNames[f])
		e.uvarint(uint64(e.funnelSteps[f]))
		e.uvarint(uint64(fs.attempts))
		e.buf = binary.LittleEndian.AppendUint32(e.buf, fs.emitted)
		if fs.best == nil { // every match still pending
			e.buf = append(e.buf, 0)
		} else {
			e.buf = append(e.buf, 1)
			e.attempt(fs.best)
		}
		switch {
		case fs.cur == nil:
			e.buf = append(e.buf, 0)
		case fs.cur == fs.best:
			e.buf = append(e.buf, 1)
		default:
			e.buf = append(e.buf, 2)
			e.attempt(fs.cur)
		}
		e.uvarint(uint64(len(fs.pending)))
		for _, m := range fs.pending {
			e.time(m.at)
			e.uvarint(uint64(m.mask))
			e.uvarint(uint64(m.visit))
			e.ref(e.consents[m.consent])
		}
	}
}

func (e *encoder) attempt(a *attempt) {
	e.uvarint(uint64(len(a.times)))
	for _, at := range a.times {
		e.time(at)
	}
	e.uvarint(uint64(a.visit))
	e.uvarint(uint64(a.last))
	e.time(a.first.created)
	e.uvarint(e.entries[a.first.entry])
	e.uvarint(e.dims[a.first.dims])
	e.ref(e.consents[a.first.consent])
	if a.next.at == 0 {
		e.buf = append(e.buf, 0)
	} else {
		e.buf = append(e.buf, 1)
		e.time(a.next.at)
		e.ref(path(a.next.page))
	}
}

func (e *encoder) visit(v *visitState) {
	if v == nil {
		e.buf = append(e.buf, 0)
		return
	}
	e.buf = append(e.buf, 1)
	e.buf = append(e.buf, v.id[:]...)
	e.uvarint(uint64(v.number))
	e.time(v.version)
	e.time(v.start)
	e.time(v.last)
	e.time(v.landingAt)
	if v.second == (unique.Handle[string]{}) {
		e.time(v.landingAt) // secondAt is 0: a short difference instead
	} else {
		e.time(v.secondAt)
	}
	e.time(v.exitAt)
	e.buf = binary.AppendVarint(e.buf, v.engagedMs)
	e.uvarint(uint64(v.pages))
	e.ref(path(v.landing))
	e.ref(path(v.second))
	e.ref(path(v.exit))
	e.uvarint(e.entries[v.entry])
	e.uvarint(e.dims[v.dims])
	e.marks(v.marks)
	e.path(v.path)
	e.time(v.created)
}

// path writes a visit's path state: uvarint(n) n*(at:diff page:ref), then
// cut:uvarint when n > 0.
func (e *encoder) path(ps *pathState) {
	if ps == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(ps.views)))
	for _, pv := range ps.views {
		e.time(pv.at)
		e.ref(path(pv.page))
	}
	e.uvarint(uint64(ps.cut))
}

func btoi(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Restore replaces the tracker's state with a snapshot written by
// Snapshot. The configuration stays the tracker's own; a snapshot holding
// more than the configuration allows is trimmed (see the package
// documentation). On error, which names the problem and its byte offset,
// the tracker is unchanged. Restore does not panic on any input, and what
// it allocates is bounded by a constant times the input's length, plus
// a constant.
func (t *Tracker) Restore(r io.Reader) error {
	d := decoder{r: r, buf: make([]byte, 0, ioBuf)}
	st, err := d.snapshot(&t.cfg)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.key = st.key
	t.evictions = st.evictions
	t.visitors = st.visitors
	t.consents = st.consents
	return nil
}

type restored struct {
	key       uint64
	evictions int64
	visitors  *simplelru.LRU[string, *visitorState]
	consents  []string
}

type decoder struct {
	r      io.Reader
	buf    []byte // buf[p:] is unread; cap(buf) == ioBuf
	p      int
	off    int64  // input offset of buf[0]
	sum    uint32 // CRC-32C of the input before buf[summed]
	summed int
	eof    bool // r returned an error (kept in rerr unless io.EOF)
	rerr   error
	err    error // first error; all reads return zero values after it

	cfg      *Config
	consents []string // the restored funnels' consent decisions (Tracker.consents)
	version  uint64   // of the format: 1 has no second page
	strs     []string
	entries  []unique.Handle[entry]
	dims     []unique.Handle[dims]
	base     int64
	trimmed  int64
	touches  []touch  // scratch, reused for every visitor
	seen     []uint32 // scratch, reused for every visitor
}

// fail records the first error, at the offset of the next unread byte.
func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("journey: restore: "+format+" at byte %d", append(args, d.off+int64(d.p))...)
	}
}

func (d *decoder) truncated() {
	if d.rerr != nil {
		if d.err == nil {
			d.err = fmt.Errorf("journey: restore: reading at byte %d: %w", d.off+int64(len(d.buf)), d.rerr)
		}
		return
	}
	d.fail("truncated input")
}

// checksum adds the bytes read so far to sum.
func (d *decoder) checksum() {
	d.sum = crc32.Update(d.sum, castagnoli, d.buf[d.summed:d.p])
	d.summed = d.p
}

// fill tries to have at least need (<= ioBuf) unread bytes buffered and
// reports whether it has.
func (d *decoder) fill(need int) bool {
	if len(d.buf)-d.p >= need {
		return true
	}
	if d.eof {
		return false
	}
	d.checksum()
	d.off += int64(d.p)
	n := copy(d.buf[:cap(d.buf)], d.buf[d.p:])
	d.buf, d.p, d.summed = d.buf[:n], 0, 0
	m, err := io.ReadAtLeast(d.r, d.buf[n:cap(d.buf)], need-n)
	d.buf = d.buf[:n+m]
	if err != nil {
		d.eof = true
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			d.rerr = err
		}
	}
	return len(d.buf) >= need
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	d.fill(binary.MaxVarintLen64)
	v, n := binary.Uvarint(d.buf[d.p:])
	switch {
	case n == 0:
		d.truncated()
		return 0
	case n < 0:
		d.fail("varint overflows 64 bits")
		return 0
	}
	d.p += n
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a count of items that take at least one byte each; a count
// beyond what can follow fails as the items run out.
func (d *decoder) count(what string) int {
	n := d.uvarint()
	if n > math.MaxInt32 {
		d.fail("%s count %d too large", what, n)
		return 0
	}
	return int(n)
}

// int32 reads a uvarint that must fit an int32.
func (d *decoder) int32(what string) int32 {
	n := d.uvarint()
	if n > math.MaxInt32 {
		d.fail("%s %d too large", what, n)
		return 0
	}
	return int32(n)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if !d.fill(n) {
		d.truncated()
		return nil
	}
	b := d.buf[d.p : d.p+n]
	d.p += n
	return b
}

func (d *decoder) u32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) str() string {
	n := d.uvarint()
	switch {
	case d.err != nil:
		return ""
	case n > maxStringLen:
		d.fail("string length %d exceeds %d", n, maxStringLen)
		return ""
	case n <= ioBuf:
		return string(d.bytes(int(n)))
	}
	// A long string is gathered as it arrives, so that a corrupt length
	// allocates no more than the input that is there.
	b := make([]byte, 0, 2*ioBuf)
	for len(b) < int(n) {
		if !d.fill(1) {
			d.truncated()
			return ""
		}
		k := min(int(n)-len(b), len(d.buf)-d.p)
		b = append(b, d.buf[d.p:d.p+k]...)
		d.p += k
	}
	return string(b)
}

func (d *decoder) ref() string {
	i := d.uvarint()
	if i >= uint64(len(d.strs)) {
		if d.err == nil {
			d.fail("string reference %d out of range (%d strings)", i, len(d.strs))
		}
		return ""
	}
	return d.strs[i]
}

func (d *decoder) entry() unique.Handle[entry] {
	i := d.uvarint()
	if i >= uint64(len(d.entries)) {
		if d.err == nil {
			d.fail("entry reference %d out of range (%d entries)", i, len(d.entries))
		}
		return directEntry
	}
	return d.entries[i]
}

func (d *decoder) snapshot(cfg *Config) (*restored, error) {
	d.cfg = cfg
	if m := d.bytes(len(snapshotMagic)); d.err == nil && string(m) != snapshotMagic {
		d.fail("not a journey snapshot (magic %q)", m)
	}
	// Versions 1 (before visits had a second page), 2 (before entries
	// had a partner window) and 3 (before entries had a referrer) are
	// still read: a restart after an upgrade keeps its journeys.
	if d.version = d.uvarint(); d.err == nil && (d.version < 1 || d.version > snapshotVersion) {
		d.fail("unsupported snapshot format version %d (want 1 to %d)", d.version, snapshotVersion)
	}
	st := &restored{}
	if b := d.bytes(8); b != nil {
		st.key = binary.LittleEndian.Uint64(b)
	}
	ev := d.uvarint()
	if ev > math.MaxInt64 {
		d.fail("evictions %d too large", ev)
	}
	st.evictions = int64(ev)

	n := d.count("string")
	d.strs = make([]string, 0, min(n, 4096))
	for i := 0; i < n && d.err == nil; i++ {
		d.strs = append(d.strs, d.str())
	}
	n = d.count("entry")
	d.entries = make([]unique.Handle[entry], 0, min(n, 4096))
	for i := 0; i < n && d.err == nil; i++ {
		en := entry{medium: d.ref(), source: d.ref(), campaign: d.ref(), partner: d.ref()}
		if d.version >= 3 {
			w := d.uvarint()
			if w > math.MaxInt64 {
				d.fail("partner window %d too large", w)
			}
			en.window = time.Duration(w)
		}
		if d.version >= 4 {
			en.referrer = d.ref()
			switch b := d.bytes(1); {
			case b == nil:
			case b[0] > 1:
				d.p--
				d.fail("referrer-only flag %d is neither 0 nor 1", b[0])
			default:
				en.referrerOnly = b[0] == 1
			}
		}
		d.entries = append(d.entries, unique.Make(en))
	}
	n = d.count("dims")
	d.dims = make([]unique.Handle[dims], 0, min(n, 4096))
	for i := 0; i < n && d.err == nil; i++ {
		dm := dims{device: d.ref(), country: d.ref()}
		d.dims = append(d.dims, unique.Make(dm))
	}

	lru, err := simplelru.NewLRU[string, *visitorState](cfg.MaxVisitors, nil)
	if err != nil {
		return nil, fmt.Errorf("journey: restore: %w", err)
	}
	n = d.count("visitor")
	for i := 0; i < n && d.err == nil; i++ {
		vs := d.visitor()
		if d.err != nil {
			break
		}
		held := lru.Len()
		if lru.Add(vs.key, vs) {
			d.trimmed++
		} else if lru.Len() == held { // replaced a visitor of the same key
			d.fail("visitor %q appears twice", vs.key)
		}
	}
	if d.err == nil && d.fill(5) {
		d.fail("trailing data after the visitors")
	}
	if d.err == nil {
		d.checksum()
		if want := d.u32(); d.err == nil && want != d.sum {
			d.p -= 4
			d.fail("checksum mismatch (stored %08x, computed %08x)", want, d.sum)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if st.evictions > math.MaxInt64-d.trimmed {
		st.evictions = math.MaxInt64
	} else {
		st.evictions += d.trimmed
	}
	st.visitors = lru
	st.consents = d.consents
	return st, nil
}

func (d *decoder) touch() touch {
	var tc touch
	tc.time = d.base + d.varint()
	tc.entry = d.entry()
	if b := d.bytes(16); b != nil {
		copy(tc.id[:], b)
	}
	return tc
}

func (d *decoder) tref(touches []touch) touch {
	i := d.uvarint()
	switch {
	case i == 0:
		return touch{}
	case i <= uint64(len(touches)):
		return touches[i-1]
	case i == uint64(len(touches))+1:
		return d.touch()
	}
	d.fail("touch reference %d out of range (%d touches)", i, len(touches))
	return touch{}
}

func (d *decoder) marks() *marks {
	var m marks
	n := d.count("outcome")
	for i := 0; i < n && d.err == nil; i++ {
		m.outcomes = append(m.outcomes, d.ref())
	}
	n = d.count("segment")
	for i := 0; i < n && d.err == nil; i++ {
		m.segments = append(m.segments, d.ref())
	}
	if len(m.outcomes) == 0 && len(m.segments) == 0 {
		return nil
	}
	return &m
}

// keepNewest returns the last limit elements of s in a slice of their own.
func keepNewest[T any](s []T, limit int) []T {
	if len(s) == 0 {
		return nil
	}
	if len(s) > limit {
		s = s[len(s)-limit:]
	}
	return append(make([]T, 0, len(s)), s...)
}

func (d *decoder) visitor() *visitorState {
	vs := &visitorState{}
	vs.key = d.str()
	if d.err == nil && vs.key == "" {
		d.fail("empty visitor key")
	}
	vs.site = d.ref()
	vs.lastSeen = d.varint()
	d.base = vs.lastSeen
	vs.version = d.base + d.varint()
	vs.firstSeen = d.base + d.varint()
	vs.visitCount = d.int32("visit count")
	if p := d.uvarint(); p > 0 {
		if p > uint64(len(d.strs)) {
			d.fail("partner reference %d out of range (%d strings)", p-1, len(d.strs))
		} else {
			vs.partner = unique.Make(d.strs[p-1])
		}
	}
	n := d.count("touch")
	d.touches = d.touches[:0]
	for i := 0; i < n && d.err == nil; i++ {
		d.touches = append(d.touches, d.touch())
	}
	vs.firstTouch = d.tref(d.touches)
	vs.lastNonDir = d.tref(d.touches)
	vs.touches = keepNewest(d.touches, d.cfg.MaxTouches)
	n = d.count("seen id")
	d.seen = d.seen[:0]
	for i := 0; i < n && d.err == nil; i++ {
		d.seen = append(d.seen, d.u32())
	}
	vs.seen = keepNewest(d.seen, d.cfg.MaxSeenIDs)
	vs.marks = d.marks()
	vs.cur = d.visit()
	vs.prev = d.visit()
	if d.version >= 6 {
		d.funnels(vs)
	}
	if d.err == nil {
		switch {
		case vs.firstSeen > vs.lastSeen:
			d.fail("visitor %q: first seen after last seen", vs.key)
		case vs.cur == nil && vs.prev != nil:
			d.fail("visitor %q: previous visit without an open visit", vs.key)
		}
	}
	return vs
}

func (d *decoder) visit() *visitState {
	b := d.bytes(1)
	if b == nil || b[0] == 0 {
		return nil
	}
	if b[0] != 1 {
		d.p--
		d.fail("visit flag %d is neither 0 nor 1", b[0])
		return nil
	}
	v := &visitState{}
	if b := d.bytes(16); b != nil {
		copy(v.id[:], b)
	}
	v.number = d.int32("visit number")
	v.version = d.base + d.varint()
	v.start = d.base + d.varint()
	v.last = d.base + d.varint()
	v.landingAt = d.base + d.varint()
	if d.version >= 2 {
		v.secondAt = d.base + d.varint()
	}
	v.exitAt = d.base + d.varint()
	v.engagedMs = d.varint()
	v.pages = d.int32("page count")
	v.landing = page(d.ref())
	if d.version >= 2 {
		if v.second = page(d.ref()); v.second == (unique.Handle[string]{}) {
			v.secondAt = 0
		}
	}
	v.exit = page(d.ref())
	v.entry = d.entry()
	i := d.uvarint()
	if i >= uint64(len(d.dims)) {
		if d.err == nil {
			d.fail("dims reference %d out of range (%d dims)", i, len(d.dims))
		}
		v.dims = noDims
	} else {
		v.dims = d.dims[i]
	}
	v.marks = d.marks()
	if d.version >= 5 {
		v.path = d.path(v)
	} else if v.pages > 1 {
		v.path = oldPath(v)
	}
	// The time that created the visit gives its id: before format 6 it is
	// not known, its start is the best guess (a funnel record of the
	// visit may then name another id).
	v.created = v.start
	if d.version >= 6 {
		v.created = d.base + d.varint()
	}
	if d.err == nil && v.start > v.last {
		d.fail("visit %x: start after last activity", v.id)
	}
	if d.err == nil && d.cfg.SplitAtMidnight {
		loc := d.cfg.Location
		y, m, dd := time.Unix(0, v.start).In(loc).Date()
		v.dayStart = time.Date(y, m, dd, 0, 0, 0, 0, loc).UnixNano()
		v.dayEnd = time.Date(y, m, dd+1, 0, 0, 0, 0, loc).UnixNano()
	}
	return v
}

// path reads a visit's path state (format 5). Its views must be in order
// and within the configured bounds, cut inside them; beyond the
// configuration's bounds the head is kept.
func (d *decoder) path(v *visitState) *pathState {
	n := d.count("path view")
	if n == 0 || d.err != nil {
		return nil
	}
	ps := &pathState{views: make([]pageView, 0, min(n, MaxPathLength+OutcomePages+pathSlack))}
	for i := 0; i < n && d.err == nil; i++ {
		pv := pageView{at: d.base + d.varint(), page: page(d.ref())}
		if len(ps.views) > 0 && pv.before(ps.views[len(ps.views)-1]) {
			d.fail("visit %x: path views out of order", v.id)
		}
		ps.views = append(ps.views, pv)
	}
	cut := d.int32("path cut")
	if d.err == nil && int(cut) >= len(ps.views) {
		d.fail("visit %x: path cut %d beyond its %d views", v.id, cut, len(ps.views))
	}
	ps.cut = cut
	if limit := d.cfg.PathLength + OutcomePages + pathSlack; len(ps.views) > limit {
		// A snapshot of a tracker with a longer path: keep the head.
		ps.views = ps.views[:limit:limit]
		if int(ps.cut) >= limit {
			ps.cut = 0
		}
	}
	return ps
}

// oldPath is the path state of a visit read from a snapshot older than
// format 5: its landing, second and exit pages, the best a visit of more
// pages can get.
func oldPath(v *visitState) *pathState {
	ps := &pathState{views: []pageView{{at: v.landingAt, page: v.landing}}}
	if v.second != (unique.Handle[string]{}) {
		ps.views = append(ps.views, pageView{at: v.secondAt, page: v.second})
	}
	if v.exitAt > ps.views[len(ps.views)-1].at {
		ps.views = append(ps.views, pageView{at: v.exitAt, page: v.exit})
	}
	return ps
}

// funnels reads a visitor's funnel states (format 6). A state whose
// funnel the configuration no longer has, or has with another number of
// steps, is dropped: the funnel changed, its attempts mean nothing now.
func (d *decoder) funnels(vs *visitorState) {
	n := d.count("funnel")
	for i := 0; i < n && d.err == nil; i++ {
		name := d.ref()
		steps := d.uvarint()
		if d.err == nil && (steps < 2 || steps > MaxFunnelSteps) {
			d.fail("funnel %q: %d steps", name, steps)
			return
		}
		fs := funnelState{}
		fs.attempts = d.int32("funnel attempts")
		fs.emitted = d.u32()
		if d.flag("funnel best attempt") {
			fs.best = d.attempt(int(steps))
		}
		switch b := d.bytes(1); {
		case b == nil:
		case b[0] == 1 && fs.best != nil:
			fs.cur = fs.best
		case b[0] == 2 && fs.best != nil:
			fs.cur = d.attempt(int(steps))
		case b[0] != 0:
			d.p--
			d.fail("funnel cursor flag %d", b[0])
		}
		np := d.count("funnel match")
		for j := 0; j < np && d.err == nil; j++ {
			m := funnelMatch{at: d.base + d.varint()}
			mask := d.uvarint()
			if mask >= 1<<steps {
				d.fail("funnel match mask %x", mask)
			}
			m.mask = uint16(mask)
			m.visit = d.int32("funnel match visit")
			m.consent = internConsent(&d.consents, d.ref())
			if j > 0 && m.before(fs.pending[j-1]) {
				d.fail("funnel %q: matches out of order", name)
			}
			fs.pending = append(fs.pending, m)
		}
		if d.err != nil {
			return
		}
		for f, def := range d.cfg.Funnels {
			if def.Name == name && def.Steps == int(steps) {
				if vs.marks == nil {
					vs.marks = new(marks)
				}
				if vs.marks.funnels == nil {
					vs.marks.funnels = make([]funnelState, len(d.cfg.Funnels))
				}
				vs.marks.funnels[f] = fs
				break
			}
		}
	}
}

func (d *decoder) attempt(steps int) *attempt {
	a := &attempt{}
	n := d.count("funnel step")
	if d.err == nil && (n < 1 || n > steps) {
		d.fail("funnel attempt with %d of %d steps", n, steps)
		return a
	}
	a.times = make([]int64, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		a.times = append(a.times, d.base+d.varint())
	}
	a.visit = d.int32("funnel visit")
	a.last = d.int32("funnel visit")
	{
		fi := &a.first
		fi.created = d.base + d.varint()
		fi.entry = d.entry()
		i := d.uvarint()
		if i >= uint64(len(d.dims)) {
			if d.err == nil {
				d.fail("dims reference %d out of range (%d dims)", i, len(d.dims))
			}
			fi.dims = noDims
		} else {
			fi.dims = d.dims[i]
		}
		fi.consent = internConsent(&d.consents, d.ref())
	}
	if d.flag("funnel next page") {
		a.next = pageView{at: d.base + d.varint(), page: page(d.ref())}
	}
	return a
}

// flag reads a byte that must be 0 or 1.
func (d *decoder) flag(what string) bool {
	b := d.bytes(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.p--
		d.fail("%s flag %d is neither 0 nor 1", what, b[0])
		return false
	}
	return b[0] == 1
}
