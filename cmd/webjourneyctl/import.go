package main

import (
	"bufio"
	"bytes"
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
	"sort"
	"strconv"
	"strings"
	"time"
)

const importUsage = `Usage: webjourneyctl import --endpoint URL --site SITE --key-file PATH [options] FILE...

Imports history: NDJSON files of events in webjourney's own event model,
one event a line with its own id and time (docs/import.md), sent to the
pixel receiver's import endpoint in requests of at most --chunk-bytes. The
collector puts them through the same pipeline as live events (consent,
anonymizer, attribution) and stores each under its event id, so importing
a file again stores nothing twice. FILE - reads standard input.

Progress goes to standard error; the summary (accepted, duplicates,
rejected by reason, the first rejected lines) to standard output.

Options:
  --endpoint URL      the import endpoint, e.g. https://collector.example/wj/import
  --site SITE         the site the events belong to
  --key-file PATH     the site's import key (the receiver's sites::import::key)
  --chunk-bytes N     largest request body (default 61440: below the
                      receiver's default max_request_body_size of 64 KiB)
  --ca-file PATH      CA certificate(s) to trust for an https endpoint
  --retries N         attempts per request when the collector is busy (default 10)
  --json              print the summary as JSON

Duplicates are repeated event ids within one request; an event that is
already stored (an earlier import, or a repetition across requests) is
recognised by Elasticsearch and not stored again: the exporter counts it in
otelcol_exporter_elasticsearch_journey_docs_duplicate.

Exit status: 0 when every line was accepted or a duplicate, 1 when lines
were rejected or a request failed, 2 on a bad command line.
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
	switch {
	case *endpoint == "" || *site == "" || *keyFile == "":
		return usage("--endpoint, --site and --key-file are required")
	case fs.NArg() == 0:
		return usage("name at least one FILE (- for standard input)")
	case *chunk < 1024:
		return usage("--chunk-bytes must be at least 1024")
	case *retries < 1:
		return usage("--retries must be at least 1")
	}
	u, err := url.Parse(*endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usage("--endpoint must be an http(s) URL")
	}
	q := u.Query()
	q.Set("site", *site)
	u.RawQuery = q.Encode()
	raw, err := os.ReadFile(*keyFile)
	if err != nil {
		return usage(err.Error())
	}
	im := &importer{
		endpoint: u.String(), key: strings.TrimSpace(string(raw)), chunkBytes: *chunk, retries: *retries,
		progress: stderr, sleep: time.Sleep,
		totals: importTotals{Rejected: map[string]int{}, RejectedLines: []string{}},
	}
	if im.client, err = importClient(*caFile); err != nil {
		return usage(err.Error())
	}
	for _, name := range fs.Args() {
		if err := im.importFile(name, stdin); err != nil {
			im.totals.Failed = err.Error()
			break
		}
	}
	im.report(true)
	im.printSummary(stdout, *asJSON)
	if im.totals.Failed != "" || len(im.totals.Rejected) > 0 {
		return exitFailure
	}
	return exitOK
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

// importFile sends one file in chunks of whole lines, streaming: only the
// current chunk is held.
func (im *importer) importFile(name string, stdin io.Reader) error {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	br := bufio.NewReaderSize(r, 64*1024)
	var chunk bytes.Buffer
	first, next := 1, 1 // file line numbers of the chunk's first line and of the next line
	send := func() error {
		if chunk.Len() == 0 {
			return nil
		}
		err := im.send(name, first, chunk.Bytes())
		chunk.Reset()
		first = next
		return err
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			if chunk.Len() > 0 && chunk.Len()+len(line) > im.chunkBytes {
				if serr := send(); serr != nil {
					return serr
				}
			}
			chunk.Write(line)
			next++
		}
		if err == io.EOF {
			return send()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

// send posts one chunk, again while the collector is busy: events carry
// their ids, so a chunk sent twice is stored once, and only the answer to
// the attempt that went through is counted.
func (im *importer) send(name string, firstLine int, body []byte) error {
	for attempt := 1; ; attempt++ {
		ans, status, retryAfter, err := im.post(body)
		switch {
		case err == nil && status == http.StatusOK:
			im.add(name, firstLine, ans)
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
	}
}

func (im *importer) post(body []byte) (chunkAnswer, int, time.Duration, error) {
	var ans chunkAnswer
	req, err := http.NewRequest(http.MethodPost, im.endpoint, bytes.NewReader(body))
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

func (im *importer) add(name string, firstLine int, ans chunkAnswer) {
	t := &im.totals
	t.Requests++
	t.Lines += ans.Lines
	t.Accepted += ans.Accepted
	t.Duplicates += ans.Duplicates
	for reason, n := range ans.Rejected {
		t.Rejected[reason] += n
	}
	for _, rl := range ans.RejectedLines {
		if len(t.RejectedLines) < maxListedRejections {
			t.RejectedLines = append(t.RejectedLines, fmt.Sprintf("%s:%d: %s: %s", name, firstLine+rl.Line-1, rl.Error, rl.Message))
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
	if t.Failed != "" {
		fmt.Fprintf(w, "stopped: %s\n", t.Failed)
	}
}
