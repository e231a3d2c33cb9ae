package journeystore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Store works on the indices of one Layout in one Elasticsearch: it
// installs and checks their templates, erases subjects and applies
// retention. The exporter and webjourneyctl run it on their client
// (internal/esclient builds both). It is safe for sequential use.
type Store struct {
	es     *elasticsearch.Client
	layout Layout
}

// New returns a Store on a client, whose layout the caller has checked
// (CheckIndexPrefix, CheckDeadLetterIndex).
func New(es *elasticsearch.Client, l Layout) *Store {
	return &Store{es: es, layout: l}
}

// Close releases the client.
func (s *Store) Close(ctx context.Context) error { return s.es.Close(ctx) }

// answer reads a 2xx answer of an esapi call, or turns anything else into
// an error that names what was attempted (without echoing the body).
func answer(what string) func(*esapi.Response, error) ([]byte, error) {
	return func(res *esapi.Response, err error) ([]byte, error) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		defer drainAndClose(res.Body)
		if res.IsError() {
			return nil, fmt.Errorf("%s: %s", what, responseError(res.StatusCode, res.Body))
		}
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return raw, nil
	}
}

// responseError renders an Elasticsearch error answer as "<status> <type>:
// <reason>" without echoing anything else of the body.
func responseError(status int, body io.Reader) error {
	var e struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if body != nil {
		_ = json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&e)
	}
	if e.Error.Type == "" {
		return fmt.Errorf("HTTP %d", status)
	}
	return fmt.Errorf("HTTP %d %s: %s", status, e.Error.Type, e.Error.Reason)
}

func drainAndClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	_ = body.Close()
}
