package historysort

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// genLine is a generated input line and what its order is by construction.
type genLine struct {
	source  int
	number  int64
	text    string
	keyed   bool
	site    string
	visitor string
	ts      float64
	id      string
}

// genInputs writes nFiles shuffled history files with few visitors and
// few distinct times (many equal keys), repeated ids and every kind of
// line without a key, and returns the non-blank lines in input order.
func genInputs(rng *rand.Rand, nFiles, nLines int) ([]string, []genLine) {
	var files []string
	var lines []genLine
	for f := range nFiles {
		var b strings.Builder
		var number int64
		for range nLines {
			number++
			eol := "\n"
			if rng.IntN(10) == 0 {
				eol = "\r\n"
			}
			g := genLine{source: f, number: number}
			switch rng.IntN(12) {
			case 0: // a blank line: dropped, but counted in the numbering
				b.WriteString(eol)
				continue
			case 1:
				g.text = fmt.Sprintf(`{"id":"x-%d-%d","ts":%d,"url":"https://shop.example/"}`, f, number, rng.IntN(5))
			case 2:
				g.text = `{"id":"broken` + fmt.Sprint(number)
			case 3:
				g.text = fmt.Sprintf(`{"id":"s-%d","ts":"yesterday","visitor_id":"v1"}`, number)
			case 4:
				g.text = fmt.Sprintf(`{"id":"n-%d","visitor_id":"v2","ts":null}`, number)
			default:
				g.keyed = true
				g.visitor = fmt.Sprintf("v%d", rng.IntN(7))
				g.ts = float64(1_700_000_000_000+rng.IntN(20)) + float64(rng.IntN(3))/4
				g.id = fmt.Sprintf("e%d", rng.IntN(nLines))
				site := ""
				if rng.IntN(8) == 0 {
					g.site = "other"
					site = `"site":"other",`
				}
				g.text = fmt.Sprintf(`{%s"id":%q,"ts":%s,"visitor_id":%q,"url":"https://shop.example/%d"}`,
					site, g.id, fmt.Sprint(g.ts), g.visitor, rng.IntN(100))
			}
			b.WriteString(g.text + eol)
			lines = append(lines, g)
		}
		if rng.IntN(2) == 0 { // no newline after the last line
			files = append(files, strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), "\r"))
		} else {
			files = append(files, b.String())
		}
	}
	return files, lines
}

// want is the order by construction: a stable sort of the input lines.
func want(lines []genLine) []genLine {
	out := append([]genLine(nil), lines...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.keyed != b.keyed {
			return !a.keyed
		}
		if !a.keyed {
			return false
		}
		if a.site != b.site {
			return a.site < b.site
		}
		if a.visitor != b.visitor {
			return a.visitor < b.visitor
		}
		if a.ts != b.ts {
			return a.ts < b.ts
		}
		return a.id < b.id
	})
	return out
}

func sortAll(t *testing.T, opts Options, files []string) ([]Line, Stats) {
	t.Helper()
	s := New(opts)
	defer func() { require.NoError(t, s.Close()) }()
	for i, f := range files {
		require.NoError(t, s.Add(context.Background(), i, strings.NewReader(f)))
	}
	var got []Line
	require.NoError(t, s.Sort(context.Background(), func(l Line) error {
		l.Text = bytes.Clone(l.Text)
		got = append(got, l)
		return nil
	}))
	return got, s.Stats()
}

// Random shuffled files sorted with many runs and several merge passes
// come out as a stable in-memory sort: every line exactly once, each with
// the file and line number it came from.
func TestSortIsAStableSortOfTheInput(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		files, lines := genInputs(rng, 1+rng.IntN(4), 1+rng.IntN(400))
		dir := t.TempDir()
		opts := Options{RunBytes: int64(200 + rng.IntN(4000)), FanIn: 2 + rng.IntN(5), TempDir: dir}
		if seed%5 == 0 {
			opts.RunBytes = 1 << 30 // one run, in memory
		}
		got, stats := sortAll(t, opts, files)
		exp := want(lines)
		require.Len(t, got, len(exp), "seed %d", seed)
		for i := range exp {
			g, e := got[i], exp[i]
			require.Equal(t, e.text, string(g.Text), "seed %d, line %d of the output", seed, i)
			require.Equal(t, [2]int64{int64(e.source), e.number}, [2]int64{int64(g.Source), g.Number}, "seed %d: %s", seed, e.text)
			require.Equal(t, e.keyed, g.Keyed)
			// The line number maps back to the line in the file.
			fileLines := strings.Split(files[g.Source], "\n")
			require.Equal(t, e.text, strings.TrimSuffix(fileLines[g.Number-1], "\r"))
		}
		assert.EqualValues(t, len(lines), stats.Lines)
		if opts.RunBytes < 1<<30 && len(lines) > 50 {
			assert.Greater(t, stats.Runs, opts.FanIn, "seed %d: many runs", seed)
			assert.Greater(t, stats.Passes, 1, "seed %d: several merge passes", seed)
		}
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "Close removes the runs")
	}
}

// The memory held is bounded by RunBytes plus one record, whatever the
// input's size; the heap stays small while 64 MiB are sorted with a
// 1 MiB budget.
func TestSortMemoryIsBounded(t *testing.T) {
	const total = 64 << 20
	src := &genReader{remaining: total}
	s := New(Options{RunBytes: 1 << 20, TempDir: t.TempDir()})
	defer s.Close()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
	}
	src.sample = sample
	require.NoError(t, s.Add(context.Background(), 0, src))
	var n int64
	var last Line
	require.NoError(t, s.Sort(context.Background(), func(l Line) error {
		n++
		if n%20000 == 0 {
			sample()
		}
		last = l
		return nil
	}))
	st := s.Stats()
	assert.Equal(t, src.lines, n)
	assert.Equal(t, src.lines, st.Lines)
	assert.Greater(t, st.Runs, 60)
	assert.LessOrEqual(t, st.PeakHeld, int64(1<<20+recordOverhead+MaxLine))
	assert.True(t, last.Keyed)
	grown := int64(peak) - int64(base.HeapAlloc)
	t.Logf("sorted %d lines (%d MiB) in %d runs, %d passes; heap grew by at most %.1f MiB", n, total>>20, st.Runs, st.Passes, float64(grown)/(1<<20))
	assert.Less(t, grown, int64(24<<20), "the heap grows with the run budget, not with the input")
}

// genReader produces history lines of many visitors in no order without
// holding them.
type genReader struct {
	remaining int
	lines     int64
	buf       []byte
	rng       *rand.Rand
	sample    func()
	reads     int
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.rng == nil {
		g.rng = rand.New(rand.NewPCG(1, 2))
	}
	for len(g.buf) < len(p) && g.remaining > 0 {
		line := fmt.Sprintf(`{"id":"e-%d","ts":%d,"visitor_id":"v-%d","url":"https://shop.example/%s"}`+"\n",
			g.lines, 1_700_000_000_000+g.rng.IntN(1e9), g.rng.IntN(50000), strings.Repeat("p", g.rng.IntN(200)))
		g.buf = append(g.buf, line...)
		g.remaining -= len(line)
		g.lines++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	if g.reads++; g.reads%64 == 0 && g.sample != nil {
		g.sample()
	}
	return n, nil
}

// A line longer than the endpoint accepts is held cut, and sent first
// (no key): the endpoint answers it line_too_long.
func TestSortCutsOverlongLines(t *testing.T) {
	long := `{"id":"a","ts":1,"visitor_id":"v","url":"https://shop.example/` + strings.Repeat("x", 300*1024) + `"}`
	got, _ := sortAll(t, Options{RunBytes: 1024, TempDir: t.TempDir()}, []string{`{"id":"b","ts":2,"visitor_id":"v"}` + "\n" + long + "\n"})
	require.Len(t, got, 2)
	assert.False(t, got[0].Keyed)
	assert.EqualValues(t, 2, got[0].Number)
	assert.Len(t, got[0].Text, MaxLine+1)
	assert.EqualValues(t, 1, got[1].Number)
}

type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// A read error or an interrupt while runs are on disk: Close removes them.
func TestSortRemovesItsFilesOnErrors(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{RunBytes: 4096, TempDir: dir})
	broken := errors.New("disk gone")
	err := s.Add(context.Background(), 0, &failingReader{r: &genReader{remaining: 1 << 20}, n: 200_000, err: broken})
	require.ErrorIs(t, err, broken)
	require.NotEmpty(t, s.Dir())
	entries, _ := os.ReadDir(s.Dir())
	require.NotEmpty(t, entries, "runs were written")
	require.NoError(t, s.Close())
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)

	// Interrupted during the merge.
	s = New(Options{RunBytes: 4096, FanIn: 4, TempDir: dir})
	require.NoError(t, s.Add(context.Background(), 0, &genReader{remaining: 1 << 20}))
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = s.Sort(ctx, func(Line) error {
		if n++; n == 100 {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, s.Close())
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// A damaged run file is an error that names it, not a crash.
func TestSortDamagedRun(t *testing.T) {
	s := New(Options{RunBytes: 4096, TempDir: t.TempDir()})
	defer s.Close()
	require.NoError(t, s.Add(context.Background(), 0, &genReader{remaining: 64 << 10}))
	require.NoError(t, s.spill())
	require.NoError(t, os.Truncate(s.runs[0], 1000))
	err := s.Sort(context.Background(), func(Line) error { return nil })
	require.ErrorContains(t, err, "damaged")
}

// BenchmarkSort measures the sort alone (reading, keys, runs on disk,
// merge) of generated lines of about 140 bytes, with a 16 MiB budget.
func BenchmarkSort(b *testing.B) {
	const total = 128 << 20
	b.SetBytes(total)
	for b.Loop() {
		s := New(Options{RunBytes: 16 << 20, TempDir: b.TempDir()})
		src := &genReader{remaining: total}
		if err := s.Add(context.Background(), 0, src); err != nil {
			b.Fatal(err)
		}
		if err := s.Sort(context.Background(), func(Line) error { return nil }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(src.lines), "lines/op")
		s.Close()
	}
}

// FuzzSort: any input, any budget: every non-blank line comes out once
// (cut at MaxLine+1 bytes), named by its line number, never a crash.
func FuzzSort(f *testing.F) {
	f.Add([]byte("{\"id\":\"b\",\"ts\":2,\"visitor_id\":\"v\"}\n{\"id\":\"a\",\"ts\":1,\"visitor_id\":\"v\"}\r\n\n{broken\n"), uint16(64))
	f.Add([]byte(`{"ts":1e400,"visitor_id":"v"}`+"\n"+`{"ts":-0,"visitor_id":"\u0000"}`), uint16(1))
	f.Fuzz(func(t *testing.T, input []byte, budget uint16) {
		s := New(Options{RunBytes: int64(budget) + 1, FanIn: 2, TempDir: t.TempDir()})
		defer s.Close()
		require.NoError(t, s.Add(context.Background(), 0, bytes.NewReader(input)))
		want := map[int64]string{}
		for i, l := range strings.Split(string(input), "\n") {
			l = strings.TrimSuffix(l, "\r")
			if l != "" {
				want[int64(i+1)] = l[:min(len(l), MaxLine+1)]
			}
		}
		got := map[int64]string{}
		require.NoError(t, s.Sort(context.Background(), func(l Line) error {
			_, dup := got[l.Number]
			require.False(t, dup, "line %d twice", l.Number)
			got[l.Number] = string(l.Text)
			return nil
		}))
		require.Equal(t, want, got)
	})
}

// Tracker formats: each format's visitor and time order the lines (the
// import's site is the site); a line without them keeps its place first.
func TestSortTrackerFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		lines  []string // shuffled
		want   []int    // the lines' indices in sorted order
	}{
		{"matomo", []string{
			"idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fb&_id=bbbbbbbbbbbbbbbb&cdt=1764000100",
			"/matomo.php?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fa2&_id=aaaaaaaaaaaaaaaa&cdt=2025-11-24+16%3A03%3A00",
			"?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fa1&_id=aaaaaaaaaaaaaaaa&cdt=1764000000",
			"idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2Fnone",
		}, []int{3, 2, 1, 0}},
		{"snowplow", []string{
			`{"e":"pv","eid":"e3","duid":"v2","dtm":"1764000000000","url":"https://shop.example/"}`,
			`{"e":"pv","eid":"e2","duid":"v1","dtm":"1764000500000","ttm":"1764000200000","url":"https://shop.example/"}`,
			"e=pv&eid=e1&duid=v1&dtm=1764000100000&url=https%3A%2F%2Fshop.example%2F",
			`{"e":"pv","eid":"e4","tnuid":"v0","dtm":1764000900000,"url":"https://shop.example/"}`,
		}, []int{3, 2, 1, 0}},
		{"ga4", []string{
			`{"client_id":"2.2","timestamp_micros":"1764000000000000","events":[{"name":"page_view"}]}`,
			`{"client_id":"1.1","events":[{"name":"purchase","timestamp_micros":1764000300000000}]}`,
			`{"client_id":"1.1","timestamp_micros":1764000100000000,"events":[{"name":"page_view"}]}`,
			`{"events":[{"name":"page_view"}]}`,
		}, []int{3, 2, 1, 0}},
		{"plausible", []string{
			`{"n":"pageview","u":"https://shop.example/b","d":"shop.example","ts":1764000100000}`,
			`{"n":"pageview","u":"https://shop.example/a","d":"shop.example","ts":1764000000000}`,
		}, []int{0, 1}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			got, _ := sortAll(t, Options{Format: tc.format}, []string{strings.Join(tc.lines, "\n") + "\n"})
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				assert.Equal(t, tc.lines[w], string(got[i].Text), "place %d", i)
				assert.EqualValues(t, w+1, got[i].Number)
			}
		})
	}
}
