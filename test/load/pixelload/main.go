// Command pixelload is the load generator of scripts/load-pixel.sh and
// scripts/load-compare.sh. Loopback targets only.
//
// Two request kinds:
//
//   - pixel: GET image-pixel hits with realistic, varying query strings
//     (s, url, t, ref, vid, sid). Every answer must be 200, image/gif and 43
//     bytes, so that a fast error path cannot pass for throughput. Used for
//     the pixel receiver and for the bare net/http baseline (test/load/baregif).
//   - otlp: POST of one fixed OTLP/HTTP JSON request (one log record with the
//     attributes the pixel receiver writes for the same page view, named as in
//     internal/eventmodel) to /v1/logs. Every answer must be 2xx.
//   - beacon: POST of the tag's JSON beacon with -events events (a page view
//     and custom events, ids unique per request) to the beacon path. Every
//     answer must be 2xx; CPU is also reported per event.
//
// Two modes:
//
//   - closed loop (default): -c workers, each on its own keep-alive
//     connection, send back to back for -d after -warmup; reports requests/s.
//   - open loop (-rate R): a fixed schedule of R requests/s spread over the -c
//     workers; each request's latency is measured from its scheduled send time,
//     not from when it was actually sent, so a stalled server is charged for
//     the requests it delayed (no coordinated omission). Reports p50/p90/p99/max.
//
// The output is one line of key=value pairs. With -pid the server process's
// CPU time (utime+stime from /proc) over the measured window is reported; with
// -metrics the receiver's otelcol_receiver_accepted_log_records delta is
// reported, which is the only way to see that pixel hits were accepted (the
// pixel answers the GIF even when it rejects a hit).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/load/internal/proccpu"
)

type options struct {
	target   string
	kind     string
	site     string
	conns    int
	duration time.Duration
	warmup   time.Duration
	rate     float64
	pid      int
	metrics  string
	receiver string
	events   int
}

func main() {
	var o options
	flag.StringVar(&o.target, "url", "http://127.0.0.1:8090/p.gif", "target URL (pixel path, or .../v1/logs for -kind otlp)")
	flag.StringVar(&o.kind, "kind", "pixel", "request kind: pixel (GET, GIF answer checked), otlp (POST OTLP/HTTP JSON, 2xx checked) or beacon (POST the tag's JSON beacon, 2xx checked)")
	flag.IntVar(&o.events, "events", 10, "events per beacon (-kind beacon)")
	flag.StringVar(&o.site, "site", "example", "site id (test/load/nop.yaml configures \"example\")")
	flag.IntVar(&o.conns, "c", 16, "concurrent workers, one keep-alive connection each")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before measuring (not counted)")
	flag.Float64Var(&o.rate, "rate", 0, "open loop: requests per second on a fixed schedule (0: closed loop)")
	flag.IntVar(&o.pid, "pid", 0, "server process id: report its CPU time over the measured window")
	flag.StringVar(&o.metrics, "metrics", "", "collector Prometheus metrics URL: report the accepted log records delta")
	flag.StringVar(&o.receiver, "receiver", "pixel", "receiver id whose accepted log records -metrics reports")
	dump := flag.Bool("print-otlp-body", false, "print the OTLP/HTTP JSON body of -kind otlp and exit")
	flag.Parse()

	if *dump {
		os.Stdout.Write(otlpBody(o.site))
		fmt.Println()
		return
	}
	if o.kind != "pixel" && o.kind != "otlp" && o.kind != "beacon" {
		fmt.Fprintf(os.Stderr, "pixelload: -kind must be pixel, otlp or beacon, got %q\n", o.kind)
		os.Exit(2)
	}
	if o.kind == "beacon" && (o.events < 1 || o.events > 50) {
		fmt.Fprintln(os.Stderr, "pixelload: -events must be 1 to 50 (the receiver's batch limit)")
		os.Exit(2)
	}
	if o.conns < 1 {
		fmt.Fprintln(os.Stderr, "pixelload: -c must be at least 1")
		os.Exit(2)
	}
	r := run(o)
	fmt.Println(r)
	if r.errors > 0 {
		os.Exit(1)
	}
}

type result struct {
	o          options
	elapsed    time.Duration
	ok, errors int64
	latencies  []time.Duration // open loop only, successful requests
	serverCPU  time.Duration
	clientCPU  time.Duration
	otherCPU   time.Duration // everything else the machine ran meanwhile
	otherOK    bool
	newConns   int64 // connections opened while measuring
	accepted   float64
	acceptedOK bool
	firstErr   string
	maxBehind  time.Duration // open loop: how late the generator sent its latest request
}

func (r result) String() string {
	var b strings.Builder
	mode := "closed"
	if r.o.rate > 0 {
		mode = "open"
	}
	fmt.Fprintf(&b, "kind=%s mode=%s connections=%d duration=%s ok=%d errors=%d rps=%.0f",
		r.o.kind, mode, r.o.conns, r.elapsed.Round(time.Millisecond), r.ok, r.errors,
		float64(r.ok)/r.elapsed.Seconds())
	if r.o.rate > 0 {
		fmt.Fprintf(&b, " target_rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f max_send_lag_ms=%.3f",
			r.o.rate, ms(pct(r.latencies, 50)), ms(pct(r.latencies, 90)), ms(pct(r.latencies, 99)),
			ms(pct(r.latencies, 100)), ms(r.maxBehind))
	}
	if r.o.pid > 0 {
		fmt.Fprintf(&b, " server_cpu_s=%.2f", r.serverCPU.Seconds())
		if r.ok > 0 {
			fmt.Fprintf(&b, " server_cpu_us_per_req=%.1f", float64(r.serverCPU.Microseconds())/float64(r.ok))
			if r.o.kind == "beacon" {
				fmt.Fprintf(&b, " events_per_req=%d server_cpu_us_per_event=%.1f", r.o.events,
					float64(r.serverCPU.Microseconds())/float64(r.ok*int64(r.o.events)))
			}
		}
	}
	fmt.Fprintf(&b, " new_conns=%d client_cpu_s=%.2f", r.newConns, r.clientCPU.Seconds())
	if r.otherOK {
		// As a share of the whole machine over the window: above a few
		// percent, other processes competed with the measurement.
		fmt.Fprintf(&b, " other_cpu_s=%.2f other_cpu_pct=%.0f", r.otherCPU.Seconds(),
			100*r.otherCPU.Seconds()/(r.elapsed.Seconds()*float64(runtime.NumCPU())))
	}
	if r.acceptedOK {
		fmt.Fprintf(&b, " accepted=%.0f", r.accepted)
	}
	if r.firstErr != "" {
		fmt.Fprintf(&b, " first_error=%q", r.firstErr)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pct is the nearest-rank percentile of sorted; 100 is the maximum.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func run(o options) result {
	transport := &http.Transport{
		MaxIdleConns:        o.conns * 2,
		MaxIdleConnsPerHost: o.conns * 2,
		MaxConnsPerHost:     0,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	var body []byte
	if o.kind == "otlp" {
		body = otlpBody(o.site)
	}
	var ok, bad, dials atomic.Int64
	var measuring atomic.Bool
	// Connections opened while measuring: with keep-alive there should be
	// none, and each one costs a handshake (and, if the listen queue
	// overflows, a SYN retransmit of one second) charged to latency.
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !info.Reused && measuring.Load() {
			dials.Add(1)
		}
	}}
	var firstErr atomic.Value
	fail := func(msg string) {
		bad.Add(1)
		firstErr.CompareAndSwap(nil, msg)
	}

	// send sends request number i of worker w and reports whether the answer was right.
	send := func(ctx context.Context, w, i int) (bool, string) {
		ctx = httptrace.WithClientTrace(ctx, trace)
		var req *http.Request
		switch o.kind {
		case "otlp":
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, o.target, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		case "beacon":
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, o.target, bytes.NewReader(beaconBody(o.site, o.events, w, i)))
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8") // what navigator.sendBeacon sends
			req.Header.Set("Origin", "https://shop.example")
		default:
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, o.target+"?"+pixelQuery(o.site, w, i), http.NoBody)
			req.Header.Set("Referer", "https://shop.example/")
		}
		req.Header.Set("User-Agent", userAgent)
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error()
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return false, "status " + resp.Status
		}
		if o.kind == "pixel" && (n != 43 || resp.Header.Get("Content-Type") != "image/gif") {
			return false, fmt.Sprintf("not the 43-byte GIF: %d bytes of %q", n, resp.Header.Get("Content-Type"))
		}
		return true, ""
	}

	start := time.Now()
	measureFrom := start.Add(o.warmup)
	measureTo := measureFrom.Add(o.duration)
	ctx, cancel := context.WithDeadline(context.Background(), measureTo.Add(15*time.Second))
	defer cancel()

	lat := make([][]time.Duration, o.conns)
	behind := make([]time.Duration, o.conns)
	var wg sync.WaitGroup
	for w := 0; w < o.conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if o.rate <= 0 { // closed loop
				for i := 0; time.Now().Before(measureTo); i++ {
					good, msg := send(ctx, w, i)
					if !measuring.Load() {
						continue
					}
					if good {
						ok.Add(1)
					} else {
						fail(msg)
					}
				}
				return
			}
			// Open loop: worker w owns every conns-th slot of the global
			// schedule start + k/rate, so the whole schedule is evenly spaced.
			interval := time.Duration(float64(time.Second) / o.rate)
			for k := w; ; k += o.conns {
				due := start.Add(time.Duration(k) * interval)
				if !due.Before(measureTo) {
					return
				}
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				} else if -d > behind[w] && !due.Before(measureFrom) {
					behind[w] = -d
				}
				good, msg := send(ctx, w, k)
				took := time.Since(due) // from the scheduled time, not the actual send
				if due.Before(measureFrom) {
					continue
				}
				if good {
					ok.Add(1)
					lat[w] = append(lat[w], took)
				} else {
					fail(msg)
				}
			}
		}(w)
	}

	time.Sleep(time.Until(measureFrom))
	cpu0, _ := proccpu.Process(o.pid)
	self0, _ := proccpu.Process(os.Getpid())
	all0, _ := proccpu.MachineBusy()
	acc0, acc0OK := accepted(o.metrics, o.receiver)
	measuring.Store(true)
	time.Sleep(time.Until(measureTo))
	if o.rate <= 0 {
		measuring.Store(false) // closed loop: requests in flight at the end are not counted
	}
	cpu1, _ := proccpu.Process(o.pid)
	self1, _ := proccpu.Process(os.Getpid())
	all1, allOK := proccpu.MachineBusy()
	elapsed := time.Since(measureFrom)
	wg.Wait()
	measuring.Store(false)
	if o.rate > 0 {
		// The open-loop window is the schedule's window: every request
		// scheduled in it is counted, whenever it finished.
		elapsed = o.duration
	}
	acc1, acc1OK := accepted(o.metrics, o.receiver)

	r := result{o: o, elapsed: elapsed, ok: ok.Load(), errors: bad.Load(),
		serverCPU: cpu1 - cpu0, clientCPU: self1 - self0,
		accepted: acc1 - acc0, acceptedOK: acc0OK && acc1OK, newConns: dials.Load()}
	if allOK && o.pid > 0 {
		r.otherCPU, r.otherOK = all1-all0-r.serverCPU-r.clientCPU, true
	}
	if s, isStr := firstErr.Load().(string); isStr {
		r.firstErr = s
	}
	for w := range lat {
		r.latencies = append(r.latencies, lat[w]...)
		r.maxBehind = max(r.maxBehind, behind[w])
	}
	slices.Sort(r.latencies)
	return r
}

const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// pixelQuery is the query string of a realistic image-pixel hit; the counter
// makes URLs, titles and visitors differ between requests.
func pixelQuery(site string, w, i int) string {
	page := strconv.Itoa(i % 500)
	q := url.Values{}
	q.Set("s", site)
	q.Set("url", "https://shop.example/products/"+page+"?utm_source=load&variant="+strconv.Itoa(i))
	q.Set("t", "Product "+page+" | Shop Example")
	q.Set("ref", "https://www.google.com/")
	q.Set("vid", "v"+strconv.Itoa(w)+"-"+strconv.Itoa(i%97))
	q.Set("sid", "s"+strconv.Itoa(w)+"-"+strconv.Itoa(i%13))
	return q.Encode()
}

// otlpBody is one OTLP/HTTP JSON logs request carrying one page-view record
// with the attributes the pixel receiver writes for a hit of pixelQuery.
func otlpBody(site string) []byte {
	str := func(k, v string) map[string]any {
		return map[string]any{"key": k, "value": map[string]any{"stringValue": v}}
	}
	integer := func(k string, v int) map[string]any {
		return map[string]any{"key": k, "value": map[string]any{"intValue": strconv.Itoa(v)}}
	}
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	record := map[string]any{
		"timeUnixNano":         now,
		"observedTimeUnixNano": now,
		"eventName":            eventmodel.EventPageView,
		"attributes": []any{
			str(eventmodel.AttrEventID, "0b6f3c52-8f0e-4c8e-9a53-2d7f1e6b4a91"),
			integer(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion),
			str(eventmodel.AttrSiteID, site),
			str(eventmodel.AttrIngestChannel, eventmodel.ChannelPixel),
			str(eventmodel.AttrURLFull, "https://shop.example/products/42?utm_source=load&variant=42"),
			str(eventmodel.AttrURLScheme, "https"),
			str(eventmodel.AttrURLDomain, "shop.example"),
			str(eventmodel.AttrURLPath, "/products/42"),
			str(eventmodel.AttrURLQuery, "utm_source=load&variant=42"),
			str(eventmodel.AttrReferrerFull, "https://www.google.com/"),
			str(eventmodel.AttrReferrerDomain, "www.google.com"),
			str(eventmodel.AttrPageTitle, "Product 42 | Shop Example"),
			str(eventmodel.AttrVisitorID, "v3-42"),
			str(eventmodel.AttrSessionID, "s3-3"),
			str(eventmodel.AttrUserAgent, userAgent),
			str(eventmodel.AttrClientAddress, "127.0.0.1"),
			str(eventmodel.AttrCampaignSource, "load"),
		},
	}
	req := map[string]any{"resourceLogs": []any{map[string]any{
		"resource": map[string]any{},
		"scopeLogs": []any{map[string]any{
			"scope":      map[string]any{"name": "github.com/webjourney/webjourney/receiver/pixelreceiver"},
			"logRecords": []any{record},
		}},
	}}}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		panic(err)
	}
	return bytes.TrimSpace(b.Bytes())
}

// accepted sums otelcol_receiver_accepted_log_records* for receiver id from
// the collector's Prometheus endpoint.
func accepted(metricsURL, receiver string) (float64, bool) {
	if metricsURL == "" {
		return 0, false
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_receiver_accepted_log_records") ||
			!strings.Contains(line, `receiver="`+receiver+`"`) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// beaconBody is one beacon of the tag with events events of worker w's
// request i: a page view, then custom events, with ids unique per request
// (the attribution processor drops repeated event ids) and visitors that
// vary like pixelQuery's. The times are now, so the receiver's clock
// correction has nothing to correct.
func beaconBody(site string, events, w, i int) []byte {
	now := time.Now().UnixMilli()
	page := strconv.Itoa(i % 500)
	var b bytes.Buffer
	b.Grow(160 + events*300)
	fmt.Fprintf(&b, `{"site":%q,"visitor_id":"v%d-%d","session_id":"s%d-%d","sent_at":%d,"events":[`, site, w, i%97, w, i%13, now)
	for e := range events {
		if e > 0 {
			b.WriteByte(',')
		}
		typ, name := "custom", `,"name":"add_to_cart","props":{"plan":"pro","qty":2,"price":19.99,"gift":false}`
		if e == 0 {
			typ, name = "page_view", ""
		}
		fmt.Fprintf(&b, `{"id":"w%d-r%d-e%d","type":%q,"ts":%d,"url":"https://shop.example/products/%s?utm_source=load","referrer":"https://www.google.com/","title":"Product %s | Shop Example"%s}`,
			w, i, e, typ, now, page, page, name)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
