// Command esload compares the elasticsearch_journey exporter with a plain
// go-elasticsearch bulk loader on the same documents and the same local
// Elasticsearch (scripts/bench-exporter.sh starts both and runs it).
//
// It generates -n deterministic web events (page views, engagement, custom
// events with properties, clicks, forms, searches, with the attributes the
// processors leave on them), each both as OTLP log records and as the JSON
// document the exporter writes for it. Then, after an unreported warm-up
// round (-warmup, default n: Elasticsearch's JIT makes its first documents
// several times slower), for -rounds rounds:
//
//   - A, collector: starts the built collector with test/load/esload.yaml
//     (otlp receiver over HTTP -> elasticsearch_journey, no processors),
//     sends the events as OTLP/HTTP protobuf requests of -batch records from
//     -senders concurrent senders, and waits until the collector reports every
//     record exported and a refresh + _count of <prefix>-events-* finds all n;
//   - B, plain loader: the same documents (same _id, same index name, same
//     index template, copied from A's) through esutil.BulkIndexer with create
//     actions, -consumers workers (the exporter's queue consumers) and the
//     default 5 MB flush size, timed the same way.
//
// Time runs from the first request sent to the count reaching n; request
// bodies and documents are built before it starts. After each run it checks
// that the index holds exactly n documents and samples documents, deletes it
// and waits until Elasticsearch is idle; after each round it checks that the
// samples have the same _source in both. It prints a table and the
// ratio of the collector's docs/s to the plain loader's with PASS/FAIL against
// -target; it exits non-zero only on errors, never on the ratio.
//
// Loopback Elasticsearch only.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
)

type options struct {
	esURL      string
	esPID      int
	collector  string
	config     string
	workDir    string
	n          int
	batch      int
	senders    int
	consumers  int
	minSize    int
	maxSize    int
	compress   string
	rounds     int
	warmup     int
	prefix     string
	target     float64
	timeout    time.Duration
	pprofDir   string
	profileDur time.Duration
	samples    int
}

func main() {
	var o options
	flag.StringVar(&o.esURL, "es", "http://127.0.0.1:9200", "Elasticsearch URL (loopback only)")
	flag.IntVar(&o.esPID, "es-pid", 0, "Elasticsearch process id, to report its CPU time")
	flag.StringVar(&o.collector, "collector", "_build/otelcol-webjourney", "collector binary")
	flag.StringVar(&o.config, "config", "test/load/esload.yaml", "collector config (ESLOAD_* variables are set by esload)")
	flag.StringVar(&o.workDir, "work", "", "directory for collector logs (default: a new temporary directory)")
	flag.IntVar(&o.n, "n", 200_000, "documents per run")
	flag.IntVar(&o.batch, "batch", 1000, "log records per OTLP request")
	flag.IntVar(&o.senders, "senders", 4, "concurrent OTLP senders")
	flag.IntVar(&o.consumers, "consumers", 4, "exporter sending_queue::num_consumers, and the plain loader's bulk workers")
	flag.IntVar(&o.minSize, "min-size", 5000, "exporter sending_queue::batch::min_size (items)")
	flag.IntVar(&o.maxSize, "max-size", 5000, "exporter sending_queue::batch::max_size (items)")
	flag.StringVar(&o.compress, "compression", "none", "exporter compression: none or gzip (the plain loader never compresses)")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of (collector, plain loader)")
	flag.IntVar(&o.warmup, "warmup", -1, "documents of an unreported warm-up round first (-1: n, 0: none)")
	flag.StringVar(&o.prefix, "prefix", "esload", "index prefix; each run uses <prefix>-r<round><a|b>")
	flag.Float64Var(&o.target, "target", 0.9, "required collector/plain docs/s ratio (PASS/FAIL only)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "limit per run")
	flag.StringVar(&o.pprofDir, "pprof", "", "directory: take a CPU profile of the collector during round 1")
	flag.DurationVar(&o.profileDur, "profile-duration", 10*time.Second, "length of that profile")
	flag.IntVar(&o.samples, "samples", 500, "documents compared between the two indices per round")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "esload:", err)
		os.Exit(1)
	}
}

// result of one measured run.
type result struct {
	name     string
	docs     int
	elapsed  time.Duration // first send to count == docs
	sent     time.Duration // first send to the last request answered / bulk indexer closed
	requests int           // bulk requests to Elasticsearch
	cpu      cpuUse
}

func (r result) rate() float64 { return float64(r.docs) / r.elapsed.Seconds() }

func run(ctx context.Context, o options) error {
	if err := loopbackOnly(o.esURL); err != nil {
		return err
	}
	if o.n <= 0 || o.batch <= 0 || o.senders <= 0 || o.consumers <= 0 || o.rounds <= 0 {
		return errors.New("-n, -batch, -senders, -consumers and -rounds must be positive")
	}
	if o.workDir == "" {
		d, err := os.MkdirTemp("", "esload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.workDir = d
	}
	var err error
	if o.collector, err = filepath.Abs(o.collector); err != nil {
		return err
	}
	if o.config, err = filepath.Abs(o.config); err != nil {
		return err
	}
	es := newAdmin(o.esURL)

	start := time.Now()
	ds, err := generate(o.n, o.batch, 1)
	if err != nil {
		return err
	}
	reqBytes := 0
	for _, b := range ds.bodies {
		reqBytes += len(b)
	}
	logf("generated %d events in %.1fs: %d OTLP requests (%.1f MB protobuf), %.1f MB of JSON documents (%.0f B each)",
		o.n, time.Since(start).Seconds(), len(ds.bodies), mb(reqBytes), mb(ds.bytes), float64(ds.bytes)/float64(o.n))

	if o.warmup != 0 {
		w := ds.head(o.warmup, o.batch)
		logf("warm-up round (%d documents each way, not reported): Elasticsearch's JIT needs it, the first runs are much slower", len(w.docs))
		if _, _, err := round(ctx, o, es, w, o.prefix+"-w", false); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}

	var results []result
	for r := 1; r <= o.rounds; r++ {
		a, b, err := round(ctx, o, es, ds, fmt.Sprintf("%s-r%d", o.prefix, r), r == 1 && o.pprofDir != "")
		if err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		a.name, b.name = fmt.Sprintf("A%d collector", r), fmt.Sprintf("B%d plain", r)
		results = append(results, a, b)
	}
	report(o, ds, results)
	return nil
}

// round measures A then B on ds and verifies that each index holds exactly
// the n documents and that sampled documents have the same _source in both.
// A's indices are deleted before B runs (Elasticsearch would otherwise go on
// merging them meanwhile), B's after.
func round(ctx context.Context, o options, es *esAdmin, ds *dataset, prefix string, profile bool) (result, result, error) {
	pa, pb := prefix+"a", prefix+"b"
	samples := min(o.samples, len(ds.docs))
	ids := map[time.Time][]string{} // by month
	for i := range samples {
		d := ds.docs[i*len(ds.docs)/samples]
		ids[d.month] = append(ids[d.month], d.id)
	}
	check := func(p string) (map[string]any, error) {
		defer settle(ctx, o.esPID)
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 5*time.Second {
				logf("  (verifying and deleting %s took %.1fs)", p, d.Seconds())
			}
		}()
		layout := journeystore.Layout{Prefix: p}
		events := layout.Index(journeystore.FamilyEvents)
		n, err := es.refreshCount(ctx, events)
		if err != nil {
			return nil, err
		}
		if n != len(ds.docs) {
			return nil, fmt.Errorf("%s holds %d documents, want %d", events, n, len(ds.docs))
		}
		all := map[string]any{}
		for month, mids := range ids {
			got, err := es.sources(ctx, layout.EventsIndex(month), mids)
			if err != nil {
				return nil, err
			}
			maps.Copy(all, got)
		}
		if len(all) != samples {
			return nil, fmt.Errorf("%s: found %d of %d sampled documents", p, len(all), samples)
		}
		return all, es.deleteIndices(ctx, p+"-*")
	}

	a, err := runCollector(ctx, o, es, ds, pa, profile)
	if err != nil {
		return a, result{}, fmt.Errorf("collector run: %w", err)
	}
	logf("  %-14s %7d docs %7.2fs %8.0f docs/s (all requests answered after %.2fs, %d bulk requests)",
		pa, a.docs, a.elapsed.Seconds(), a.rate(), a.sent.Seconds(), a.requests)
	srcA, err := check(pa)
	if err != nil {
		return a, result{}, err
	}
	b, err := runPlain(ctx, o, es, ds, pa, pb)
	if err != nil {
		return a, b, fmt.Errorf("plain run: %w", err)
	}
	logf("  %-14s %7d docs %7.2fs %8.0f docs/s (indexer closed after %.2fs, %d bulk requests)",
		pb, b.docs, b.elapsed.Seconds(), b.rate(), b.sent.Seconds(), b.requests)
	srcB, err := check(pb)
	if err != nil {
		return a, b, err
	}
	for id, sa := range srcA {
		if sb := srcB[id]; !reflect.DeepEqual(sa, sb) {
			ja, _ := json.Marshal(sa)
			jb, _ := json.Marshal(sb)
			return a, b, fmt.Errorf("the plain loader's documents differ from the exporter's (fix render in events.go): _id %s:\n  collector: %s\n  plain:     %s", id, ja, jb)
		}
	}
	logf("  verified: both held exactly %d documents; %d sampled _source documents identical", len(ds.docs), samples)
	return a, b, nil
}

func report(o options, ds *dataset, rs []result) {
	fmt.Printf("\nesload: n=%d docs (%.0f B JSON each), OTLP/HTTP protobuf %d records/request x %d senders, "+
		"exporter num_consumers=%d batch min/max=%d/%d compression=%s, plain BulkIndexer workers=%d flush=5MB, cores=%d\n",
		o.n, float64(ds.bytes)/float64(o.n), o.batch, o.senders, o.consumers, o.minSize, o.maxSize, o.compress, o.consumers, numCPU())
	fmt.Printf("%-13s %8s %8s %9s %6s %9s %10s %9s %9s %9s %11s\n",
		"run", "docs", "seconds", "docs/s", "bulks", "docs/bulk", "loader CPU", "coll. CPU", "ES CPU", "other CPU", "CPU us/doc")
	noisyRuns := 0
	var sum [2]struct {
		docs int
		secs float64
	}
	for i, r := range rs {
		coll := "-"
		if r.cpu.collector >= 0 {
			coll = fmt.Sprintf("%.1fs", r.cpu.collector.Seconds())
		}
		fmt.Printf("%-13s %8d %8.2f %9.0f %6d %9.0f %9.1fs %9s %8s %8.1fs %11s\n",
			r.name, r.docs, r.elapsed.Seconds(), r.rate(), r.requests, float64(r.docs)/float64(max(r.requests, 1)),
			r.cpu.self.Seconds(), coll, cpuStr(r.cpu.es), r.cpu.other().Seconds(), perDoc(r))
		if noisy(r) {
			noisyRuns++
		}
		sum[i%2].docs += r.docs
		sum[i%2].secs += r.elapsed.Seconds()
	}
	fmt.Println("(CPU: seconds of CPU time during the run; ES CPU needs -es-pid; other = the rest of the machine, should be near 0;")
	fmt.Println(" CPU us/doc = loader + collector + Elasticsearch CPU per document, the steadier comparison on a shared machine)")
	if noisyRuns > 0 {
		fmt.Printf("WARNING: in %d of %d runs other processes used more than 10%% of the machine: those numbers are skewed; re-run on a quiet machine\n", noisyRuns, len(rs))
	}
	for i := 0; i+1 < len(rs); i += 2 {
		fmt.Printf("round %d: A/B = %.3f\n", i/2+1, rs[i].rate()/rs[i+1].rate())
	}
	a, b := float64(sum[0].docs)/sum[0].secs, float64(sum[1].docs)/sum[1].secs
	ratio := a / b
	verdict := "PASS"
	if ratio < o.target {
		verdict = "FAIL"
	}
	fmt.Printf("overall: collector %.0f docs/s, plain loader %.0f docs/s, A/B = %.3f: %s (target >= %.2f x)\n", a, b, ratio, verdict, o.target)
}

// settle waits until Elasticsearch is idle (below 10 % of a core over a
// second: merges, flushes and deletions of the previous run are done), at
// most 60 s, so that no run pays for the one before.
func settle(ctx context.Context, esPID int) {
	if procCPU(esPID) < 0 {
		time.Sleep(2 * time.Second)
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		before := procCPU(esPID)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if procCPU(esPID)-before < 100*time.Millisecond {
			return
		}
	}
	logf("  (Elasticsearch still busy after 60s; going on)")
}

// noisy reports whether other processes used more than 10 % of the
// machine's CPU during the run.
func noisy(r result) bool {
	return r.cpu.machine >= 0 && r.cpu.other() > time.Duration(0.1*float64(numCPU())*float64(r.elapsed))
}

// perDoc is the CPU time loader, collector and Elasticsearch spent per
// document, in microseconds.
func perDoc(r result) string {
	if r.cpu.es < 0 || r.cpu.self < 0 {
		return "-"
	}
	t := r.cpu.self + r.cpu.es + max(r.cpu.collector, 0)
	return fmt.Sprintf("%.1f", float64(t.Microseconds())/float64(r.docs))
}

func cpuStr(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func mb(n int) float64 { return float64(n) / (1 << 20) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-es %s: only a loopback Elasticsearch may be load-tested", raw)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(string(bytes.Join(lines, []byte("\n"))))
}
