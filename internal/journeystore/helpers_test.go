package journeystore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/test/storetest"
)

// newTestStore opens a Store on the real Elasticsearch (skipping or failing
// the test as estest decides) for a fresh prefix, with the dead-letter
// index "<prefix>-dead-letter" when withDeadLetter, and returns it with a
// client to look at what was stored.
func newTestStore(t testing.TB, withDeadLetter bool) (*Store, *storetest.Client) {
	t.Helper()
	es, prefix := storetest.NewClient(t)
	l := Layout{Prefix: prefix}
	if withDeadLetter {
		l.DeadLetterIndex = prefix + "-dead-letter"
	}
	st := openStore(t, es.URL, l)
	return st, es
}

// openStore returns a Store on a client of esclient for url (the client
// the exporter and webjourneyctl build).
func openStore(t testing.TB, url string, l Layout) *Store {
	t.Helper()
	c, err := esclient.New(esclient.Options{Endpoints: []string{url}})
	require.NoError(t, err)
	st := New(c.Client, l)
	t.Cleanup(func() { require.NoError(t, st.Close(context.Background())) })
	return st
}

// install installs the store's templates, as the exporter does at start.
func install(t testing.TB, st *Store) []TemplateInstall {
	t.Helper()
	out, err := st.InstallTemplates(context.Background(), false)
	require.NoError(t, err)
	return out
}

// write stores records as the exporter does: an event with create by its
// id, an entity by its id with its version as external version.
func write(t testing.TB, st *Store, fills ...func(plog.LogRecord)) {
	t.Helper()
	enc := NewEncoder(st.layout.Prefix, time.Now(), nil)
	for _, fill := range fills {
		lr := plog.NewLogRecord()
		fill(lr)
		raw, doc := enc.Append(nil, lr)
		require.Empty(t, doc.Problem)
		index := st.es.Index
		opts := []func(*esapi.IndexRequest){index.WithDocumentID(doc.ID), index.WithRefresh("true"), index.WithOpType("create")}
		if doc.Version > 0 {
			opts = append(opts[:2], index.WithVersion(int(doc.Version)), index.WithVersionType("external"))
		}
		_, err := answer("writing " + doc.ID)(index(doc.Index, bytes.NewReader(raw), opts...))
		require.NoError(t, err)
	}
}
