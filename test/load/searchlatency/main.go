// Command searchlatency measures how long an event takes from its beacon
// to being searchable in Elasticsearch: it sends probe beacons (one page
// view each, a unique event id) on a fixed schedule, searches the events
// indices for the probes still pending every -poll, and reports the
// distribution of the delay from sending a probe to the first search that
// finds it. Run it next to a steady load (test/load/pixelload) to measure
// the latency under that load: scripts/bench-searchable.sh does both.
//
// A search only sees what Elasticsearch has refreshed, so the delay is the
// collector's (receiver, processors, the exporter's batching and bulk
// request) plus Elasticsearch's indexing and refresh, as a dashboard sees
// it. The polling interval bounds the error: each delay is at most -poll
// longer than the truth.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type options struct {
	beacon, es, index, site string
	rate                    float64
	duration, poll, wait    time.Duration
	jsonOut                 bool
}

func main() {
	var o options
	flag.StringVar(&o.beacon, "url", "http://127.0.0.1:8090/b", "the collector's beacon URL")
	flag.StringVar(&o.es, "es", "http://127.0.0.1:9200", "Elasticsearch URL")
	flag.StringVar(&o.index, "index", "webjourney-events-*", "events index pattern to search")
	flag.StringVar(&o.site, "site", "example", "site id of the probes")
	flag.Float64Var(&o.rate, "rate", 5, "probes per second")
	flag.DurationVar(&o.duration, "d", 60*time.Second, "how long to send probes")
	flag.DurationVar(&o.poll, "poll", 50*time.Millisecond, "search interval (the measure's resolution)")
	flag.DurationVar(&o.wait, "wait", 30*time.Second, "how long after the last probe to wait for the pending ones")
	flag.BoolVar(&o.jsonOut, "json", false, "print the result as JSON")
	flag.Parse()
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "searchlatency:", err)
		os.Exit(1)
	}
	if o.jsonOut {
		_ = json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("probes %d, found %d, lost %d; beacon → searchable: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms (resolution %s)\n",
		res.Sent, res.Found, res.Sent-res.Found, res.P50, res.P95, res.P99, res.Max, o.poll)
}

// result is the delay distribution, in milliseconds.
type result struct {
	Sent, Found        int
	P50, P95, P99, Max float64
}

func run(o options) (result, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	pending := map[string]time.Time{} // probe id -> sent
	var delays []float64
	sent := 0
	errs := make(chan error, 1)

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the searcher
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(o.poll):
			}
			mu.Lock()
			ids := make([]string, 0, len(pending))
			for id := range pending {
				ids = append(ids, id)
			}
			mu.Unlock()
			if len(ids) == 0 {
				continue
			}
			found, err := search(client, o, ids)
			now := time.Now()
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				continue
			}
			mu.Lock()
			for _, id := range found {
				if at, ok := pending[id]; ok {
					delays = append(delays, float64(now.Sub(at))/float64(time.Millisecond))
					delete(pending, id)
				}
			}
			mu.Unlock()
		}
	}()

	run := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	every := time.Duration(float64(time.Second) / o.rate)
	start := time.Now()
	for next := start; time.Since(start) < o.duration; next = next.Add(every) {
		time.Sleep(time.Until(next))
		id := fmt.Sprintf("%s-%d", run, sent)
		at := time.Now()
		if err := probe(client, o, id, at); err != nil {
			close(stop)
			return result{}, err
		}
		mu.Lock()
		pending[id] = at
		sent++
		mu.Unlock()
	}
	deadline := time.Now().Add(o.wait)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(pending)
		mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(o.poll)
	}
	close(stop)
	<-done
	select {
	case err := <-errs:
		if len(delays) == 0 {
			return result{}, err
		}
	default:
	}
	slices.Sort(delays)
	res := result{Sent: sent, Found: len(delays)}
	if len(delays) > 0 {
		q := func(p float64) float64 { return delays[min(len(delays)-1, int(p*float64(len(delays))))] }
		res.P50, res.P95, res.P99, res.Max = q(0.50), q(0.95), q(0.99), delays[len(delays)-1]
	}
	return res, nil
}

// probe sends one beacon of one page view with event id id.
func probe(client *http.Client, o options, id string, at time.Time) error {
	body, _ := json.Marshal(map[string]any{
		"site": o.site, "visitor_id": "v-" + id, "session_id": "s-" + id, "sent_at": at.UnixMilli(),
		"consent": map[string]any{"analytics": "granted"},
		"events":  []map[string]any{{"id": id, "type": "page_view", "ts": at.UnixMilli(), "url": "https://shop.example/probe"}},
	})
	req, _ := http.NewRequest(http.MethodPost, o.beacon, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe beacon: %d %s", resp.StatusCode, b)
	}
	return nil
}

// search returns which of ids a search finds (what Elasticsearch has
// refreshed).
func search(client *http.Client, o options, ids []string) ([]string, error) {
	body, _ := json.Marshal(map[string]any{"size": len(ids), "_source": false, "query": map[string]any{"ids": map[string]any{"values": ids}}})
	u := strings.TrimRight(o.es, "/") + "/" + o.index + "/_search?ignore_unavailable=true&allow_no_indices=true"
	resp, err := client.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("search: %d %s", resp.StatusCode, b)
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		out = append(out, h.ID)
	}
	return out, nil
}
