package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/webjourney/webjourney/internal/journeystore"
)

// runCollector is run A: a fresh collector exporting into prefix, fed the
// dataset over OTLP/HTTP.
func runCollector(ctx context.Context, o options, es *esAdmin, ds *dataset, prefix string, profile bool) (result, error) {
	var ports [3]int // otlp, metrics, pprof
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return result{}, err
		}
		ports[i] = p
	}
	otlpURL := fmt.Sprintf("http://127.0.0.1:%d/v1/logs", ports[0])
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[1])
	pprofURL := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile", ports[2])

	logPath := filepath.Join(o.workDir, "collector-"+prefix+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return result{}, err
	}
	defer logFile.Close()
	cmd := exec.Command(o.collector, "--config", o.config)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(),
		"ESLOAD_OTLP_LISTEN="+fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"ESLOAD_METRICS_PORT="+strconv.Itoa(ports[1]),
		"ESLOAD_PPROF_LISTEN="+fmt.Sprintf("127.0.0.1:%d", ports[2]),
		"ESLOAD_ES_URL="+o.esURL,
		"ESLOAD_INDEX_PREFIX="+prefix,
		"ESLOAD_COMPRESSION="+o.compress,
		"ESLOAD_CONSUMERS="+strconv.Itoa(o.consumers),
		"ESLOAD_MIN_SIZE="+strconv.Itoa(o.minSize),
		"ESLOAD_MAX_SIZE="+strconv.Itoa(o.maxSize),
		"ESLOAD_QUEUE_SIZE="+strconv.Itoa(max(100_000, 2*o.maxSize)),
	)
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopCollector(cmd, exited)

	// Ready: the OTLP receiver and the metrics answer, and the exporter has
	// installed its events template (it refuses pushes until then).
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return result{}, fmt.Errorf("collector exited at start (%v):\n%s", err, tail(logPath, 20))
		case <-ctx.Done():
			return result{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if answers(hc, otlpURL) && answers(hc, metricsURL) && es.templateExists(ctx, journeystore.Layout{Prefix: prefix}.TemplateName(journeystore.FamilyEvents)) {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("collector not ready after 60s:\n%s", tail(logPath, 20))
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if profile {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return result{}, err
		}
		go takeProfile(runCtx, pprofURL, o.profileDur, filepath.Join(o.pprofDir, "collector.cpu.pprof"))
	}

	before := sampleCPU(cmd.Process.Pid, o.esPID)
	start := time.Now()
	if err := send(runCtx, otlpURL, ds.bodies, o.senders); err != nil {
		return result{}, err
	}
	sent := time.Since(start)
	// The receiver answers once records are queued; the collector's own
	// counters say when the exporter is done with all of them.
	for {
		done, failed, _ := exporterCounts(hc, metricsURL)
		if failed > 0 {
			return result{}, fmt.Errorf("the exporter failed %d records:\n%s", failed, tail(logPath, 20))
		}
		if done >= len(ds.docs) {
			break
		}
		select {
		case <-runCtx.Done():
			return result{}, fmt.Errorf("exporter sent %d of %d records: %w", done, len(ds.docs), runCtx.Err())
		case err := <-exited:
			exited <- err
			return result{}, fmt.Errorf("collector exited (%v):\n%s", err, tail(logPath, 20))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := es.waitCount(runCtx, journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyEvents), len(ds.docs)); err != nil {
		return result{}, err
	}
	elapsed := time.Since(start)
	cpu := sampleCPU(cmd.Process.Pid, o.esPID).since(before)
	_, _, bulks := exporterCounts(hc, metricsURL)
	return result{docs: len(ds.docs), elapsed: elapsed, sent: sent, requests: bulks, cpu: cpu}, nil
}

// send posts every body once from n concurrent senders; every answer must be
// 200 without rejected records.
func send(ctx context.Context, target string, bodies [][]byte, n int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = n
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	next := make(chan []byte)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for body := range next {
				if err := post(ctx, hc, target, body); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for _, b := range bodies {
		select {
		case next <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

func post(ctx context.Context, hc *http.Client, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("OTLP request answered HTTP %d: %.300s", resp.StatusCode, b)
	}
	er := plogotlp.NewExportResponse()
	if err := er.UnmarshalProto(b); err != nil {
		return fmt.Errorf("OTLP answer: %w", err)
	}
	if ps := er.PartialSuccess(); ps.RejectedLogRecords() != 0 {
		return fmt.Errorf("OTLP partial success: %d records rejected: %s", ps.RejectedLogRecords(), ps.ErrorMessage())
	}
	return nil
}

func answers(hc *http.Client, u string) bool {
	resp, err := hc.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// exporterCounts reads from the collector's Prometheus endpoint how many log
// records the elasticsearch_journey exporter sent and failed, and how many
// bulk requests it made.
func exporterCounts(hc *http.Client, metricsURL string) (sent, failed, bulks int) {
	resp, err := hc.Get(metricsURL)
	if err != nil {
		return 0, 0, 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		// exporterhelper's metrics carry exporter="<id>"; the exporter's
		// own have the component in their name.
		own := strings.HasPrefix(line, "otelcol_exporter_elasticsearch_journey_")
		if strings.HasPrefix(line, "#") || !own && !strings.Contains(line, `exporter="elasticsearch_journey"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "otelcol_exporter_sent_log_records"):
			sent += int(v)
		case strings.HasPrefix(line, "otelcol_exporter_send_failed_log_records"):
			failed += int(v)
		case strings.HasPrefix(line, "otelcol_exporter_elasticsearch_journey_bulk_requests"):
			bulks += int(v)
		}
	}
	return sent, failed, bulks
}

func takeProfile(ctx context.Context, pprofURL string, d time.Duration, path string) {
	secs := max(int(d.Seconds()), 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pprofURL+"?seconds="+strconv.Itoa(secs), nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		logf("profile: %v", err)
		return
	}
	logf("  collector CPU profile (%ds from the first request): %s", secs, path)
}

// stopCollector ends the collector gracefully (it drains its queue), or
// kills it after 30 s.
func stopCollector(cmd *exec.Cmd, exited chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}
