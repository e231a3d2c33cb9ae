package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/webjourney/webjourney/internal/esclient"
)

// A push used to make its own bulk indexer and grow its own document
// buffer. A bulk indexer allocates its whole request buffer (5 MB) when it
// is made and grows it by doubling when the last document of a request
// lands near its end; a document buffer of 6 MB grown from an estimate was
// copied again on every push. Both now outlive the push: the pools below
// keep them for the next one (docs/benchmarks.md, issue 21).

// indexerPool keeps the bulk indexers of finished pushes, at most one per
// sending-queue consumer, so that concurrent pushes never share one: each
// push flushes its indexer and reads its own outcomes from the item
// callbacks. An idle indexer holds its 5 MB buffer: 20 MB with the default
// 4 consumers, which the pushes allocated anyway while they ran.
type indexerPool struct {
	newIndexer func(*pooledIndexer) (esutil.BulkIndexer, error)
	idle       chan *pooledIndexer
}

// pooledIndexer is a bulk indexer with the context of the push that uses
// it, under which its bulk requests run (the attempt's timeout and
// cancellation).
type pooledIndexer struct {
	esutil.BulkIndexer
	ctx atomic.Pointer[context.Context]
}

func newIndexerPool(size int, es func() *esclient.Client) *indexerPool {
	return &indexerPool{
		idle: make(chan *pooledIndexer, max(size, 1)),
		newIndexer: func(pi *pooledIndexer) (esutil.BulkIndexer, error) {
			return esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
				Client:     es().Client,
				NumWorkers: 1,
				FlushBytes: bulkFlushBytes,
				FilterPath: bulkFilterPath,
				// The worker flushes with a background context; run the
				// bulk requests under the push's context instead.
				OnFlushStart: func(ctx context.Context) context.Context {
					if c := pi.ctx.Load(); c != nil {
						return *c
					}
					return ctx
				},
			})
		},
	}
}

// get returns an idle indexer, or a new one, for a push running under ctx.
func (ip *indexerPool) get(ctx context.Context) (*pooledIndexer, error) {
	var pi *pooledIndexer
	select {
	case pi = <-ip.idle:
	default:
		pi = &pooledIndexer{}
		bi, err := ip.newIndexer(pi)
		if err != nil {
			return nil, err
		}
		pi.BulkIndexer = bi
	}
	pi.ctx.Store(&ctx)
	return pi, nil
}

// put gives back the indexer of a finished push. One whose push ended
// before every document was answered may still send them: it is closed
// in the background, never reused.
func (ip *indexerPool) put(pi *pooledIndexer, done bool) {
	if done {
		pi.ctx.Store(nil)
		select {
		case ip.idle <- pi:
			return
		default:
		}
	}
	go func() { _ = pi.Close(context.Background()) }()
}

// close closes the idle indexers (at shutdown, when no push runs).
func (ip *indexerPool) close() {
	for {
		select {
		case pi := <-ip.idle:
			_ = pi.Close(context.Background())
		default:
			return
		}
	}
}

// bufferPool recycles the document buffers of finished pushes and sizes
// new ones from the documents seen so far.
type bufferPool struct {
	pool sync.Pool // of *[]byte, empty
	// perRecord is the bytes of documents per record of the last push;
	// a page view is about 1.2 KB of JSON.
	perRecord atomic.Int64
}

// maxPooledBuffer keeps the buffers of unusually large pushes out of the
// pool: they are left to the garbage collector.
const maxPooledBuffer = 4 * bulkFlushBytes

// get returns an empty buffer for the documents of n records.
func (bp *bufferPool) get(n int) []byte {
	per := bp.perRecord.Load()
	if per == 0 {
		per = 1280
	}
	want := int(per) * n * 9 / 8 // partner copies and larger records
	if b, ok := bp.pool.Get().(*[]byte); ok {
		if cap(*b) >= want {
			return (*b)[:0]
		}
	}
	return make([]byte, 0, want)
}

// put gives back the buffer of a push of n records once nothing reads it.
func (bp *bufferPool) put(buf []byte, n int) {
	if n > 0 && len(buf) > 0 {
		bp.perRecord.Store(int64(len(buf) / n))
	}
	if cap(buf) <= maxPooledBuffer {
		buf = buf[:0]
		bp.pool.Put(&buf)
	}
}
