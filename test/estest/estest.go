// Package estest gives integration tests the URL of the real Elasticsearch
// server that `make test` starts (scripts/elasticsearch.sh).
//
// Tests that need Elasticsearch call URL. When ELASTICSEARCH_URL is unset the
// test is skipped, so `go test ./...` works on a laptop without a server;
// `make test` and CI set WEBJOURNEY_REQUIRE_ES=1, which turns the skip into a
// failure so that an integration test can never silently not run.
package estest // import "github.com/webjourney/webjourney/test/estest"

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// EnvURL names the variable holding the Elasticsearch URL.
const EnvURL = "ELASTICSEARCH_URL"

// EnvRequire names the variable that makes a missing server a test failure.
const EnvRequire = "WEBJOURNEY_REQUIRE_ES"

// URL returns the Elasticsearch base URL, or skips (or fails, under
// WEBJOURNEY_REQUIRE_ES=1) when no server is configured or it does not answer.
func URL(tb testing.TB) string {
	tb.Helper()
	u := strings.TrimRight(os.Getenv(EnvURL), "/")
	if u == "" {
		Unavailable(tb, EnvURL+" is not set; run `make test` or scripts/elasticsearch.sh start")
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/_cluster/health", http.NoBody)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		Unavailable(tb, fmt.Sprintf("Elasticsearch at %s does not answer: %v", u, err))
		return ""
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		Unavailable(tb, fmt.Sprintf("Elasticsearch at %s answered %s", u, resp.Status))
		return ""
	}
	return u
}

// Unavailable skips the test, or fails it under WEBJOURNEY_REQUIRE_ES=1, because
// a real part it needs (Elasticsearch, the built collector) is not there.
func Unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatal(why)
	}
	tb.Skip(why)
}

// UniquePrefix returns an index-name prefix that no other test run uses, so
// tests can share one server and clean up after themselves.
func UniquePrefix(tb testing.TB) string {
	tb.Helper()
	name := strings.ToLower(tb.Name())
	var b strings.Builder
	for _, r := range name {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > 24 {
		s = s[:24]
	}
	return fmt.Sprintf("wjtest-%s-%d", s, time.Now().UnixNano()%1_000_000_000)
}
