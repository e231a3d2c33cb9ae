// Package historysort orders the lines of history files (NDJSON in
// webjourney's event model, docs/import.md) per visitor in time order
// before webjourneyctl import sends them: the attribution processor keeps
// each visitor's state in time order, and a file exported from another
// tracker is rarely in that order.
//
// The order is by (site, visitor_id, ts, id), then by the line's place in
// the input (files in the order given, lines in file order), so equal keys
// keep their input order: the sort is stable. Lines that have no key (no
// visitor id, no numeric ts, not a JSON object, longer than the receiver
// accepts) come first, in their input order: they are still sent, so that
// the endpoint answers each with its reason (or, for a valid event without
// a visitor, accepts it). Blank lines are dropped (the endpoint skips them
// too).
//
// Memory is bounded whatever the size of the input: lines are collected
// into runs of at most Options.RunBytes, each run is sorted and, when the
// input does not fit in one, written to a temporary file; the runs are then
// merged Options.FanIn at a time (several passes when there are more),
// holding one line per merged run. Close removes every temporary file.
package historysort

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxLine is the longest line the import endpoint accepts (the receiver's
// maxImportLine, plus its \r\n). A longer line is held only up to
// MaxLine+1 bytes: cut there, it is still too long, and the endpoint
// answers it line_too_long as it would the whole line.
const MaxLine = 256*1024 + 2

// Defaults of Options.
const (
	DefaultRunBytes = 256 << 20
	DefaultFanIn    = 64
)

// recordOverhead is what Options.RunBytes counts for a line besides its
// text and key strings: the record struct and its slot in the run.
const recordOverhead = 96

// Options bound the sort.
type Options struct {
	// RunBytes bounds the lines (with their keys) held in memory at once
	// while reading; the merge holds one line per run it merges.
	RunBytes int64
	// FanIn is the number of runs merged at once (open temporary files).
	FanIn int
	// TempDir is where the runs go; "" is os.TempDir(). A directory of
	// its own is made in it and removed by Close.
	TempDir string
	// Format is the lines' format, as the import endpoint's format
	// parameter names it: "" or "ndjson" (our event model), or a
	// tracker's raw hits (see formatKey). It says where a line keeps its
	// visitor and time.
	Format string
}

// Line is one line of the input, in sorted order.
type Line struct {
	Source int   // index of the input (Sorter.Add's source)
	Number int64 // the line's number in its input, from 1, blank lines counted
	Text   []byte
	// Keyed is false for a line sent first because it has no order key.
	Keyed bool
}

// Stats describe a finished sort.
type Stats struct {
	Lines   int64 // non-blank lines read
	Unkeyed int64 // lines without an order key
	Runs    int   // runs written to temporary files (0: sorted in memory)
	Passes  int   // merge passes over temporary files
	// PeakHeld is the most bytes of lines and keys held in memory at
	// once, as RunBytes counts them.
	PeakHeld int64
}

// Sorter collects inputs with Add and emits them in order with Sort.
type Sorter struct {
	opts  Options
	dir   string // "" until the first run is spilled
	run   []*record
	held  int64
	seq   uint64
	runs  []string
	stats Stats
	// Progress, when set, is called after each run is written.
	Progress func(Stats)
}

// New makes a Sorter; zero options take the defaults.
func New(opts Options) *Sorter {
	if opts.RunBytes <= 0 {
		opts.RunBytes = DefaultRunBytes
	}
	if opts.FanIn < 2 {
		opts.FanIn = DefaultFanIn
	}
	return &Sorter{opts: opts}
}

// record is a line with its order key.
type record struct {
	keyed   bool
	site    string
	visitor string
	ts      float64
	id      string
	seq     uint64 // place in the whole input: makes the order total
	source  int
	number  int64
	text    []byte
}

func (r *record) size() int64 {
	return int64(len(r.text)+len(r.site)+len(r.visitor)+len(r.id)) + recordOverhead
}

// less is the order: unkeyed lines first in input order, then by key.
func less(a, b *record) bool {
	if a.keyed != b.keyed {
		return !a.keyed
	}
	if a.keyed {
		if a.site != b.site {
			return a.site < b.site
		}
		if a.visitor != b.visitor {
			return a.visitor < b.visitor
		}
		if a.ts != b.ts {
			return a.ts < b.ts
		}
		if a.id != b.id {
			return a.id < b.id
		}
	}
	return a.seq < b.seq
}

func compare(a, b *record) int {
	switch {
	case less(a, b):
		return -1
	case less(b, a):
		return 1
	}
	return 0
}

// keyFields are the fields of a line that make its order key. encoding/json
// matches names without regard to case where the receiver does not; a line
// that differs only so is merely placed by a key the receiver ignores.
type keyFields struct {
	Site    string          `json:"site"`
	Visitor string          `json:"visitor_id"`
	ID      string          `json:"id"`
	TS      json.RawMessage `json:"ts"`
}

func keyOf(text []byte, r *record) {
	if len(text) > MaxLine {
		return
	}
	var k keyFields
	if err := json.Unmarshal(text, &k); err != nil || k.Visitor == "" || len(k.TS) == 0 {
		return
	}
	ts, err := strconv.ParseFloat(string(k.TS), 64)
	if err != nil || math.IsNaN(ts) || math.IsInf(ts, 0) {
		return // null, a string, ...: the endpoint tells why
	}
	r.keyed, r.site, r.visitor, r.ts, r.id = true, k.Site, k.Visitor, ts, k.ID
}

// Add reads every line of in, input number source. Lines are numbered
// from 1 as in the file, blank lines counted.
func (s *Sorter) Add(ctx context.Context, source int, in io.Reader) error {
	br := bufio.NewReaderSize(in, 64*1024)
	var number int64
	for {
		text, rerr := readLine(br)
		if len(text) > 0 || rerr == nil {
			number++
		}
		if len(text) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := &record{seq: s.seq, source: source, number: number, text: text}
			s.seq++
			if s.opts.Format == "" || s.opts.Format == "ndjson" {
				keyOf(text, r)
			} else {
				formatKey(s.opts.Format, text, r)
			}
			s.stats.Lines++
			if !r.keyed {
				s.stats.Unkeyed++
			}
			s.run = append(s.run, r)
			s.held += r.size()
			s.stats.PeakHeld = max(s.stats.PeakHeld, s.held)
			if s.held >= s.opts.RunBytes {
				if err := s.spill(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// readLine reads one line without its end of line (\n or \r\n); a line
// longer than MaxLine is read to its end but only its first MaxLine+1
// bytes are kept. err is io.EOF after the last line.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		if room := MaxLine + 1 - len(line); room > 0 {
			line = append(line, part[:min(len(part), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil || (err == io.EOF && len(line) > 0) {
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if err == nil && len(line) == 0 {
				return nil, nil // a blank line
			}
			return line, nil
		}
		return nil, err
	}
}

// sortRun sorts the run in memory (the keys are total: no stability needed).
func (s *Sorter) sortRun() {
	slices.SortFunc(s.run, compare)
}

// spill writes the sorted run to a temporary file.
func (s *Sorter) spill() error {
	if len(s.run) == 0 {
		return nil
	}
	s.sortRun()
	if s.dir == "" {
		dir, err := os.MkdirTemp(s.opts.TempDir, "webjourneyctl-sort-")
		if err != nil {
			return fmt.Errorf("sorting: %w", err)
		}
		s.dir = dir
	}
	path, err := s.writeRun(func(yield func(*record) error) error {
		for _, r := range s.run {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	clear(s.run)
	s.run, s.held = s.run[:0], 0
	s.runs = append(s.runs, path)
	s.stats.Runs++
	if s.Progress != nil {
		s.Progress(s.stats)
	}
	return nil
}

// writeRun writes the records each gives to a new file of s.dir.
func (s *Sorter) writeRun(each func(yield func(*record) error) error) (string, error) {
	f, err := os.CreateTemp(s.dir, "run-")
	if err != nil {
		return "", fmt.Errorf("sorting: %w", err)
	}
	w := bufio.NewWriterSize(f, 64*1024)
	var buf []byte
	err = each(func(r *record) error {
		buf = encode(buf[:0], r)
		_, err := w.Write(buf)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("sorting: writing %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// encode appends r as: flags, seq, source, number, ts bits, then site,
// visitor, id and text each with its length (uvarints).
func encode(b []byte, r *record) []byte {
	var flags byte
	if r.keyed {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, r.seq)
	b = binary.AppendUvarint(b, uint64(r.source))
	b = binary.AppendUvarint(b, uint64(r.number))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.ts))
	for _, s := range []string{r.site, r.visitor, r.id} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.text)))
	return append(b, r.text...)
}

// decode reads one record; io.EOF at the end of the run.
func decode(br *bufio.Reader) (*record, error) {
	flags, err := br.ReadByte()
	if err != nil {
		return nil, err // io.EOF: the end
	}
	r := &record{keyed: flags == 1}
	var u [3]uint64
	for i := range u {
		if u[i], err = binary.ReadUvarint(br); err != nil {
			return nil, corrupt(err)
		}
	}
	r.seq, r.source, r.number = u[0], int(u[1]), int64(u[2])
	var bits [8]byte
	if _, err = io.ReadFull(br, bits[:]); err != nil {
		return nil, corrupt(err)
	}
	r.ts = math.Float64frombits(binary.LittleEndian.Uint64(bits[:]))
	var fields [4][]byte
	for i := range fields {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > MaxLine+1 {
			return nil, corrupt(err)
		}
		fields[i] = make([]byte, n)
		if _, err = io.ReadFull(br, fields[i]); err != nil {
			return nil, corrupt(err)
		}
	}
	r.site, r.visitor, r.id, r.text = string(fields[0]), string(fields[1]), string(fields[2]), fields[3]
	return r, nil
}

func corrupt(err error) error {
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("sorting: a temporary run file is damaged: %w", err)
}

// Sort emits every line added, in order. With a single run nothing is
// written to disk. Emit's Line.Text is valid until emit returns.
func (s *Sorter) Sort(ctx context.Context, emit func(Line) error) error {
	if len(s.runs) == 0 {
		s.sortRun()
		for _, r := range s.run {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(Line{Source: r.source, Number: r.number, Text: r.text, Keyed: r.keyed}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.spill(); err != nil {
		return err
	}
	// Merge passes until FanIn runs or fewer are left.
	for len(s.runs) > s.opts.FanIn {
		s.stats.Passes++
		var next []string
		for i := 0; i < len(s.runs); i += s.opts.FanIn {
			group := s.runs[i:min(i+s.opts.FanIn, len(s.runs))]
			path, err := s.writeRun(func(yield func(*record) error) error {
				return s.merge(ctx, group, yield)
			})
			if err != nil {
				return err
			}
			for _, p := range group {
				_ = os.Remove(p) // merged: not needed any more
			}
			next = append(next, path)
		}
		s.runs = next
	}
	s.stats.Passes++
	return s.merge(ctx, s.runs, func(r *record) error {
		return emit(Line{Source: r.source, Number: r.number, Text: r.text, Keyed: r.keyed})
	})
}

// merge yields the records of the run files in order (a k-way merge over
// a heap holding each run's next record).
func (s *Sorter) merge(ctx context.Context, paths []string, yield func(*record) error) error {
	h := &runHeap{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("sorting: %w", err)
		}
		defer f.Close()
		rr := &runReader{br: bufio.NewReaderSize(f, 64*1024)}
		if err := rr.next(); err != nil {
			return err
		}
		if rr.cur != nil {
			h.items = append(h.items, rr)
		}
	}
	heap.Init(h)
	for len(h.items) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		top := h.items[0]
		if err := yield(top.cur); err != nil {
			return err
		}
		if err := top.next(); err != nil {
			return err
		}
		if top.cur == nil {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return nil
}

type runReader struct {
	br  *bufio.Reader
	cur *record
}

func (rr *runReader) next() error {
	r, err := decode(rr.br)
	if err == io.EOF {
		rr.cur = nil
		return nil
	}
	rr.cur = r
	return err
}

type runHeap struct{ items []*runReader }

func (h *runHeap) Len() int           { return len(h.items) }
func (h *runHeap) Less(i, j int) bool { return less(h.items[i].cur, h.items[j].cur) }
func (h *runHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *runHeap) Push(x any)         { h.items = append(h.items, x.(*runReader)) }
func (h *runHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// Stats returns what the sort did so far.
func (s *Sorter) Stats() Stats { return s.stats }

// Dir is the directory of the temporary runs ("" while there is none).
func (s *Sorter) Dir() string { return s.dir }

// Close removes the temporary files; call it on every path (an error, an
// interrupt) once the Sorter is no longer needed.
func (s *Sorter) Close() error {
	s.run, s.runs = nil, nil
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.dir = ""
	return err
}

// formatKey is keyOf for a tracker's raw hits: the visitor and the time
// the import endpoint reads from a line of that format (docs/import.md,
// Formats), the site being the import's. A line without them (a
// Plausible event has no visitor id at all) keeps its place, as an
// unkeyed NDJSON line does.
func formatKey(format string, text []byte, r *record) {
	if len(text) > MaxLine {
		return
	}
	var visitor, id string
	var ts float64
	switch format {
	case "matomo":
		// A tracking request's query, maybe after a path or URL.
		line := strings.TrimSpace(string(text))
		if i := strings.IndexByte(line, '?'); i >= 0 {
			line = line[i+1:]
		}
		q, err := url.ParseQuery(line)
		if err != nil {
			return
		}
		visitor = firstOf(q.Get("cid"), q.Get("_id"))
		ts = matomoTime(q.Get("cdt"))
	case "snowplow":
		fields := map[string]any{}
		if line := strings.TrimSpace(string(text)); strings.HasPrefix(line, "{") {
			if json.Unmarshal(text, &fields) != nil {
				return
			}
		} else {
			if i := strings.IndexByte(line, '?'); i >= 0 {
				line = line[i+1:]
			}
			q, err := url.ParseQuery(line)
			if err != nil {
				return
			}
			for k := range q {
				fields[k] = q.Get(k)
			}
		}
		str := func(k string) string { s, _ := fields[k].(string); return s }
		visitor, id = firstOf(str("duid"), str("tnuid")), str("eid")
		ts = number(firstOf(str("ttm"), str("dtm")), fields["ttm"], fields["dtm"])
	case "ga4":
		var mp struct {
			ClientID  string          `json:"client_id"`
			Timestamp json.RawMessage `json:"timestamp_micros"`
			Events    []struct {
				Timestamp json.RawMessage `json:"timestamp_micros"`
			} `json:"events"`
		}
		if json.Unmarshal(text, &mp) != nil {
			return
		}
		raw := mp.Timestamp
		if len(mp.Events) > 0 && len(mp.Events[0].Timestamp) > 0 {
			raw = mp.Events[0].Timestamp
		}
		micros, err := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64)
		if err != nil {
			return
		}
		visitor, ts = mp.ClientID, micros/1000
	default:
		return
	}
	if visitor == "" || ts == 0 || math.IsNaN(ts) || math.IsInf(ts, 0) {
		return
	}
	r.keyed, r.visitor, r.ts, r.id = true, visitor, ts, id
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// number reads the first of a string or JSON numbers that is a number.
func number(s string, vs ...any) float64 {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	for _, v := range vs {
		if f, ok := v.(float64); ok {
			return f
		}
	}
	return 0
}

// matomoTime reads cdt (Unix seconds or "YYYY-MM-DD HH:MM:SS" UTC) in
// milliseconds; 0 when it is neither.
func matomoTime(cdt string) float64 {
	if secs, err := strconv.ParseFloat(strings.TrimSpace(cdt), 64); err == nil {
		return secs * 1000
	}
	if t, err := time.Parse(time.DateTime, strings.TrimSpace(cdt)); err == nil {
		return float64(t.UnixMilli())
	}
	return 0
}
