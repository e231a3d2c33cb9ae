package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/webjourney/webjourney/internal/journeystore"
)

// runPlain is run B: the dataset's documents through go-elasticsearch's bulk
// indexer into prefix, with the template of templateFrom (the exporter's).
func runPlain(ctx context.Context, o options, es *esAdmin, ds *dataset, templateFrom, prefix string) (result, error) {
	if err := es.copyEventsTemplate(ctx, templateFrom, prefix); err != nil {
		return result{}, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.consumers
	client, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{o.esURL}, Transport: tr})
	if err != nil {
		return result{}, err
	}
	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:     client,
		NumWorkers: o.consumers,
		OnError:    func(_ context.Context, err error) { fail(err) },
	})
	if err != nil {
		return result{}, err
	}
	onFailure := func(_ context.Context, item esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
		if err == nil {
			err = fmt.Errorf("%s/%s: HTTP %d %s: %s", item.Index, item.DocumentID, res.Status, res.Error.Type, res.Error.Reason)
		}
		fail(err)
	}

	runCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	index := map[time.Time]string{} // by month
	before := sampleCPU(-1, o.esPID)
	start := time.Now()
	for _, d := range ds.docs {
		name, ok := index[d.month]
		if !ok {
			name = journeystore.Layout{Prefix: prefix}.EventsIndex(d.month)
			index[d.month] = name
		}
		if err := bi.Add(runCtx, esutil.BulkIndexerItem{
			Index:      name,
			Action:     "create",
			DocumentID: d.id,
			Body:       bytes.NewReader(d.body),
			OnFailure:  onFailure,
		}); err != nil {
			return result{}, err
		}
	}
	if err := bi.Close(runCtx); err != nil {
		return result{}, err
	}
	sent := time.Since(start)
	st := bi.Stats()
	if firstErr != nil || st.NumFailed != 0 || st.NumCreated != uint64(len(ds.docs)) {
		return result{}, fmt.Errorf("bulk indexer: %d created, %d failed of %d: %v", st.NumCreated, st.NumFailed, len(ds.docs), firstErr)
	}
	if err := es.waitCount(runCtx, journeystore.Layout{Prefix: prefix}.Index(journeystore.FamilyEvents), len(ds.docs)); err != nil {
		return result{}, err
	}
	elapsed := time.Since(start)
	cpu := sampleCPU(-1, o.esPID).since(before)
	return result{docs: len(ds.docs), elapsed: elapsed, sent: sent, requests: int(st.NumRequests), cpu: cpu}, nil
}
