package ledger

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
)

type counts struct {
	mu      sync.Mutex
	written int
	retried int
	dropped map[string]int
}

func (c *counts) Written(n int) { c.mu.Lock(); c.written += n; c.mu.Unlock() }
func (c *counts) Retried()      { c.mu.Lock(); c.retried++; c.mu.Unlock() }
func (c *counts) Dropped(r string) {
	c.mu.Lock()
	c.dropped[r]++
	c.mu.Unlock()
}

func (c *counts) droppedFor(r string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped[r]
}

// newWriter is a writer to an Elasticsearch that is not there (nothing
// listens on port 1): its template never installs, so decisions wait.
func newWriter(t *testing.T, queue int) (*Writer, *counts) {
	es, err := esclient.New(esclient.Options{Endpoints: []string{"http://127.0.0.1:1"}})
	require.NoError(t, err)
	c := &counts{dropped: map[string]int{}}
	return New(Options{Client: es, Layout: journeystore.Layout{Prefix: "t"}, FlushInterval: time.Second, MaxRetries: 1,
		QueueSize: queue, RetryBackoff: time.Millisecond, Logger: zap.NewNop(), Telemetry: c}), c
}

// Write never waits: past queue_size a decision is dropped and counted.
func TestFullQueueDropsAndCounts(t *testing.T) {
	w, c := newWriter(t, 2)
	for range 5 {
		w.Write(journeystore.Postback{ID: "x"})
	}
	assert.Equal(t, 3, c.droppedFor(DropQueueFull))
}

// An Elasticsearch that never answers does not hold the shutdown: what
// waits is dropped and counted, and a decision after Close too.
func TestShutdownWhileUnreachable(t *testing.T) {
	w, c := newWriter(t, 10)
	require.NoError(t, w.Start())
	for range 3 {
		w.Write(journeystore.Postback{ID: "x"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, w.Close(ctx))
	assert.Equal(t, 3, c.droppedFor(DropShutdown))
	w.Write(journeystore.Postback{ID: "y"})
	assert.Equal(t, 4, c.droppedFor(DropShutdown))
	assert.Zero(t, c.written)
}
