// Command pixelload sends image-pixel hits to a running collector as fast as
// it can over keep-alive connections and reports hits per second. It checks
// every answer (status 200, image/gif, 43 bytes) so a fast error path cannot
// pass for throughput. Loopback targets only (see scripts/load-pixel.sh).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8090/p.gif", "pixel URL")
	site := flag.String("site", "example", "site id")
	conns := flag.Int("c", 16, "concurrent connections")
	duration := flag.Duration("d", 10*time.Second, "test duration")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up before measuring")
	flag.Parse()

	transport := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, DisableCompression: true}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	var ok, bad atomic.Int64
	var measuring atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), *warmup+*duration)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				q := url.Values{}
				q.Set("s", *site)
				q.Set("url", "https://shop.example/products/"+strconv.Itoa(i%500)+"?utm_source=load")
				q.Set("t", "Product "+strconv.Itoa(i%500))
				q.Set("ref", "https://www.google.com/")
				q.Set("vid", "v"+strconv.Itoa(w)+"-"+strconv.Itoa(i%97))
				q.Set("sid", "s"+strconv.Itoa(w))
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *target+"?"+q.Encode(), http.NoBody)
				req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) pixelload/1")
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil && measuring.Load() {
						bad.Add(1)
					}
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if !measuring.Load() {
					continue
				}
				if resp.StatusCode == http.StatusOK && n == 43 && resp.Header.Get("Content-Type") == "image/gif" {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}(w)
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("connections=%d duration=%s hits=%d bad=%d hits/s=%.0f\n",
		*conns, elapsed.Round(time.Millisecond), ok.Load(), bad.Load(), float64(ok.Load())/elapsed.Seconds())
	if bad.Load() > 0 {
		os.Exit(1)
	}
}
