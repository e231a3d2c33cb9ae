package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/webjourney/webjourney/cmd/webjourneyctl/internal/historysort"
)

const importUsage = `Usage: webjourneyctl import --endpoint URL --site SITE --key-file PATH [options] FILE...

Imports history: NDJSON files of events in webjourney's own event model,
one event a line with its own id and time (docs/import.md), sent to the
pixel receiver's import endpoint in requests of at most --chunk-bytes. The
collector puts them through the same pipeline as live events (consent,
anonymizer, attribution) and stores each under its event id, so importing
a file again stores nothing twice. FILE - reads standard input.

The lines of all FILEs are first sorted per visitor in time order (by
site, visitor_id, ts, id; lines without a visitor id or that cannot be
read go first, in their order), because the collector builds each
visitor's visits from their events in time order. The sort holds at most
--sort-memory of lines at once and spills sorted runs to temporary files
in --temp-dir, removed when the import ends (also on an error or Ctrl-C).
--no-sort sends the lines as they are, for files already in that order.

Progress goes to standard error; the summary (accepted, duplicates,
rejected by reason, the first rejected lines, named by their file and
line) to standard output.

Options:
  --endpoint URL      the import endpoint, e.g. https://collector.example/wj/import
  --site SITE         the site the events belong to
  --key-file PATH     the site's import key (the receiver's sites::import::key)
  --chunk-bytes N     largest request body (default 61440: below the
                      receiver's default max_request_body_size of 64 KiB)
  --ca-file PATH      CA certificate(s) to trust for an https endpoint
  --retries N         attempts per request when the collector is busy (default 10)
  --json              print the summary as JSON
  --no-sort           send the lines in file order (the files are already
                      sorted per visitor in time order)
  --sort-memory SIZE  lines held in memory at once while sorting (default
                      256MiB; a number of bytes, or with KiB, MiB, GiB)
  --temp-dir DIR      where the sort's temporary files go (default $TMPDIR)
  --dry-run           read and sort the files, send nothing: prints the
                      lines and how many have no order key
  --format F          the lines' format (default ndjson): matomo, snowplow, ga4
                      or plausible send a tracker's raw hits, one a line, to
                      the endpoint's format parameter (docs/import.md,
                      Formats); the sort reads each format's visitor and
                      time (Matomo cid/_id and cdt, Snowplow duid/tnuid and
                      ttm/dtm, GA4 client_id and timestamp_micros; Plausible
                      events have no visitor id and keep their order)

Duplicates are repeated event ids within one request; an event that is
already stored (an earlier import, or a repetition across requests) is
recognised by Elasticsearch and not stored again: the exporter counts it in
otelcol_exporter_elasticsearch_journey_docs_duplicate.

Exit status: 0 when every line was accepted or a duplicate, 1 when lines
were rejected, a request failed or the import was interrupted, 2 on a bad
command line.
`

// maxListedRejections bounds the rejected lines the summary names.
const maxListedRejections = 20

// chunkAnswer is the receiver's answer to one request (see
// receiver/pixelreceiver's importSummary).
type chunkAnswer struct {
	Lines         int            `json:"lines"`
	Accepted      int            `json:"accepted"`
	Duplicates    int            `json:"duplicates"`
	Rejected      map[string]int `json:"rejected"`
	RejectedLines []struct {
		Line    int    `json:"line"`
		Error   string `json:"error"`
		Message string `json:"message"`
	} `json:"rejected_lines"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// importTotals is the summary of a whole import.
type importTotals struct {
	Lines         int            `json:"lines"`
	Accepted      int            `json:"accepted"`
	Duplicates    int            `json:"duplicates"`
	Rejected      map[string]int `json:"rejected"`
	RejectedLines []string       `json:"rejected_lines"`
	Requests      int            `json:"requests"`
	Failed        string         `json:"failed,omitempty"`
	// Sort is what the sort did (absent with --no-sort).
	Sort *sortTotals `json:"sort,omitempty"`
}

// sortTotals describe the sort of an import.
type sortTotals struct {
	// Unkeyed lines have no visitor id or time (or are no JSON object):
	// sent first, in file order.
	Unkeyed int64 `json:"unkeyed"`
	// Runs is the number of sorted runs written to temporary files (0:
	// the lines fitted in --sort-memory).
	Runs int `json:"runs"`
}

// lineRef is where a line sent came from, to name a rejected line by its
// file and line whatever order it was sent in.
type lineRef struct {
	file string
	line int64
}

type importer struct {
	endpoint   string
	key        string
	chunkBytes int
	retries    int
	client     *http.Client
	progress   io.Writer
	lastReport time.Time
	totals     importTotals
	// sleep waits before a retry (replaced in tests).
	sleep func(time.Duration)
	ctx   context.Context
	// dryRun counts the lines instead of sending them.
	dryRun bool

	chunk bytes.Buffer
	refs  []lineRef // of the chunk's lines, in the order sent
}

func runImport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage) }
	endpoint := fs.String("endpoint", "", "import endpoint URL")
	site := fs.String("site", "", "site id")
	keyFile := fs.String("key-file", "", "file holding the site's import key")
	chunk := fs.Int("chunk-bytes", 60*1024, "largest request body")
	caFile := fs.String("ca-file", "", "CA certificates for https")
	retries := fs.Int("retries", 10, "attempts per request")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	noSort := fs.Bool("no-sort", false, "send the lines in file order")
	sortMemory := fs.String("sort-memory", "256MiB", "lines held in memory while sorting")
	tempDir := fs.String("temp-dir", "", "directory for the sort's temporary files")
	dryRun := fs.Bool("dry-run", false, "read and sort, send nothing")
	format := fs.String("format", "ndjson", "the lines' format: ndjson, matomo, snowplow, ga4 or plausible")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "webjourneyctl import: %s\n", msg)
		return exitUsage
	}
	runBytes, err := parseSize(*sortMemory)
	switch {
	case !*dryRun && (*endpoint == "" || *site == "" || *keyFile == ""):
		return usage("--endpoint, --site and --key-file are required")
	case err != nil:
		return usage("--sort-memory: " + err.Error())
	case fs.NArg() == 0:
		return usage("name at least one FILE (- for standard input)")
	case *chunk < 1024:
		return usage("--chunk-bytes must be at least 1024")
	case *retries < 1:
		return usage("--retries must be at least 1")
	case !slices.Contains([]string{"ndjson", "matomo", "snowplow", "ga4", "plausible"}, *format):
		return usage("--format must be ndjson, matomo, snowplow, ga4 or plausible, not " + strconv.Quote(*format))
	}
	// Ctrl-C or a TERM stops the import cleanly: the request in flight is
	// abandoned, the sort's temporary files are removed, the summary says
	// how far it got.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// A second Ctrl-C ends the process at once (e.g. while it waits
		// for standard input, which does not notice the first).
		stop()
	}()
	im := &importer{
		chunkBytes: *chunk, retries: *retries, progress: stderr, sleep: time.Sleep, ctx: ctx, dryRun: *dryRun,
		totals: importTotals{Rejected: map[string]int{}, RejectedLines: []string{}},
	}
	if !*dryRun {
		u, err := url.Parse(*endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usage("--endpoint must be an http(s) URL")
		}
		q := u.Query()
		q.Set("site", *site)
		if *format != "ndjson" {
			q.Set("format", *format)
		}
		u.RawQuery = q.Encode()
		raw, err := os.ReadFile(*keyFile)
		if err != nil {
			return usage(err.Error())
		}
		im.endpoint, im.key = u.String(), strings.TrimSpace(string(raw))
		if im.client, err = importClient(*caFile); err != nil {
			return usage(err.Error())
		}
	}
	if *noSort {
		err = im.importInOrder(fs.Args(), stdin)
	} else {
		err = im.importSorted(fs.Args(), stdin, historysort.Options{RunBytes: runBytes, TempDir: *tempDir, Format: *format})
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		im.totals.Failed = err.Error()
	}
	im.report(true)
	im.printSummary(stdout, *asJSON)
	if im.totals.Failed != "" || len(im.totals.Rejected) > 0 {
		return exitFailure
	}
	return exitOK
}

// parseSize reads a number of bytes, optionally with a KiB, MiB or GiB
// suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 || n > (1<<50)/mult {
		return 0, errors.New("want a positive number of bytes, e.g. 268435456 or 256MiB")
	}
	return n * mult, nil
}

// openInput opens a FILE argument ("-" is stdin).
func openInput(name string, stdin io.Reader) (io.Reader, func(), error) {
	if name == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// importSorted reads every file into the sort, then sends the lines in
// sorted order, naming each by its file and line.
func (im *importer) importSorted(names []string, stdin io.Reader, opts historysort.Options) error {
	s := historysort.New(opts)
	defer s.Close()
	s.Progress = func(st historysort.Stats) {
		if time.Since(im.lastReport) >= time.Second {
			im.lastReport = time.Now()
			fmt.Fprintf(im.progress, "import: sorting: %d lines read, %d runs written\n", st.Lines, st.Runs)
		}
	}
	for i, name := range names {
		r, done, err := openInput(name, stdin)
		if err != nil {
			return err
		}
		err = s.Add(im.ctx, i, r)
		done()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	st := s.Stats()
	im.totals.Sort = &sortTotals{Unkeyed: st.Unkeyed, Runs: st.Runs}
	err := s.Sort(im.ctx, func(l historysort.Line) error {
		return im.addLine(names[l.Source], l.Number, l.Text)
	})
	if err == nil {
		err = im.flush()
	}
	im.totals.Sort.Runs = s.Stats().Runs
	return err
}

// importInOrder sends the files' lines as they are, streaming: only the
// current chunk is held.
func (im *importer) importInOrder(names []string, stdin io.Reader) error {
	for _, name := range names {
		r, done, err := openInput(name, stdin)
		if err != nil {
			return err
		}
		err = im.importFile(name, r)
		done()
		if err != nil {
			return err
		}
	}
	return nil
}

func importClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// importFile sends one file's lines in file order, in chunks of whole
// lines, streaming: only the current chunk is held.
func (im *importer) importFile(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64*1024)
	var number int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			number++
			if aerr := im.addLine(name, number, bytes.TrimSuffix(line, []byte("\n"))); aerr != nil {
				return aerr
			}
		}
		if err == io.EOF {
			return im.flush()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if cerr := im.ctx.Err(); cerr != nil {
			return cerr
		}
	}
}

// addLine adds a line (without its end of line) to the chunk, sending the
// chunk first when the line would not fit.
func (im *importer) addLine(name string, number int64, text []byte) error {
	if im.chunk.Len() > 0 && im.chunk.Len()+len(text)+1 > im.chunkBytes {
		if err := im.flush(); err != nil {
			return err
		}
	}
	im.chunk.Write(text)
	im.chunk.WriteByte('\n')
	im.refs = append(im.refs, lineRef{file: name, line: number})
	return nil
}

// flush sends the chunk.
func (im *importer) flush() error {
	if im.chunk.Len() == 0 {
		return nil
	}
	err := im.send(im.refs, im.chunk.Bytes())
	im.chunk.Reset()
	im.refs = im.refs[:0]
	return err
}

// send posts one chunk, again while the collector is busy: events carry
// their ids, so a chunk sent twice is stored once, and only the answer to
// the attempt that went through is counted.
func (im *importer) send(refs []lineRef, body []byte) error {
	if im.dryRun {
		im.totals.Requests++
		im.totals.Lines += len(refs)
		im.report(false)
		return nil
	}
	first := refs[0]
	name, firstLine := first.file, first.line
	for attempt := 1; ; attempt++ {
		ans, status, retryAfter, err := im.post(body)
		if cerr := im.ctx.Err(); cerr != nil {
			return cerr
		}
		switch {
		case err == nil && status == http.StatusOK:
			im.add(refs, ans)
			im.report(false)
			return nil
		case err == nil && status == http.StatusUnauthorized:
			return errors.New("the collector refused the import key for this site (401)")
		case err == nil && status == http.StatusRequestEntityTooLarge:
			return fmt.Errorf("%s:%d: the request is larger than the collector's max_request_body_size; lower --chunk-bytes", name, firstLine)
		case err == nil && status != http.StatusServiceUnavailable && status < 500:
			return fmt.Errorf("%s:%d: the collector answered %d: %s %s", name, firstLine, status, ans.Error, ans.Message)
		}
		if attempt == im.retries {
			if err != nil {
				return fmt.Errorf("%s:%d: %w", name, firstLine, err)
			}
			return fmt.Errorf("%s:%d: the collector answered %d after %d attempts: %s", name, firstLine, status, attempt, ans.Message)
		}
		im.sleep(retryAfter)
		if cerr := im.ctx.Err(); cerr != nil {
			return cerr
		}
	}
}

func (im *importer) post(body []byte) (chunkAnswer, int, time.Duration, error) {
	var ans chunkAnswer
	req, err := http.NewRequestWithContext(im.ctx, http.MethodPost, im.endpoint, bytes.NewReader(body))
	if err != nil {
		return ans, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+im.key)
	resp, err := im.client.Do(req)
	if err != nil {
		return ans, 0, time.Second, err
	}
	defer resp.Body.Close()
	retryAfter := time.Second
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ans); err != nil && resp.StatusCode == http.StatusOK {
		return ans, 0, retryAfter, fmt.Errorf("unreadable answer: %w", err)
	}
	return ans, resp.StatusCode, retryAfter, nil
}

func (im *importer) add(refs []lineRef, ans chunkAnswer) {
	t := &im.totals
	t.Requests++
	t.Lines += ans.Lines
	t.Accepted += ans.Accepted
	t.Duplicates += ans.Duplicates
	for reason, n := range ans.Rejected {
		t.Rejected[reason] += n
	}
	for _, rl := range ans.RejectedLines {
		// rl.Line counts the body's lines from 1, blank ones too; refs has
		// one entry for every line of the body.
		if len(t.RejectedLines) < maxListedRejections && rl.Line >= 1 && rl.Line <= len(refs) {
			ref := refs[rl.Line-1]
			t.RejectedLines = append(t.RejectedLines, fmt.Sprintf("%s:%d: %s: %s", ref.file, ref.line, rl.Error, rl.Message))
		}
	}
}

func (t *importTotals) rejected() int {
	n := 0
	for _, c := range t.Rejected {
		n += c
	}
	return n
}

// report prints progress at most once a second, and at the end.
func (im *importer) report(final bool) {
	if !final && time.Since(im.lastReport) < time.Second {
		return
	}
	im.lastReport = time.Now()
	t := &im.totals
	if im.dryRun {
		fmt.Fprintf(im.progress, "import: %d lines read (--dry-run: nothing sent)\n", t.Lines)
		return
	}
	fmt.Fprintf(im.progress, "import: %d lines, %d accepted, %d duplicates, %d rejected (%d requests)\n",
		t.Lines, t.Accepted, t.Duplicates, t.rejected(), t.Requests)
}

func (im *importer) printSummary(w io.Writer, asJSON bool) {
	t := &im.totals
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(t)
		return
	}
	if im.dryRun {
		fmt.Fprintf(w, "lines       %d (not sent: --dry-run)\n", t.Lines)
		if t.Sort != nil {
			fmt.Fprintf(w, "unkeyed     %d (no visitor id or time: sent first)\nruns        %d\n", t.Sort.Unkeyed, t.Sort.Runs)
		}
		return
	}
	fmt.Fprintf(w, "lines       %d\naccepted    %d\nduplicates  %d\nrejected    %d\n", t.Lines, t.Accepted, t.Duplicates, t.rejected())

	reasons := make([]string, 0, len(t.Rejected))
	for r := range t.Rejected {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-20s %d\n", r, t.Rejected[r])
	}
	if len(t.RejectedLines) > 0 {
		fmt.Fprintln(w, "first rejected lines:")
		for _, l := range t.RejectedLines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if t.Sort != nil {
		fmt.Fprintf(w, "sorted per visitor and time: %d runs on disk, %d lines without a visitor or time sent first\n", t.Sort.Runs, t.Sort.Unkeyed)
	}
	if t.Failed != "" {
		fmt.Fprintf(w, "stopped: %s\n", t.Failed)
	}
}
