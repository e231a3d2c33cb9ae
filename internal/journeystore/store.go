package journeystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Store works on the indices of one Layout in one Elasticsearch: it
// installs and checks their templates, erases subjects and applies
// retention. The exporter runs it on its own client; webjourneyctl opens
// one from Settings. It is safe for sequential use.
type Store struct {
	es     *elasticsearch.Client
	layout Layout
	url    string // for messages; never holds credentials
}

// New returns a Store on an existing client, whose layout the caller has
// checked (CheckIndexPrefix, CheckDeadLetterIndex).
func New(es *elasticsearch.Client, l Layout) *Store {
	return &Store{es: es, layout: l}
}

// Settings says where and as whom Open works.
type Settings struct {
	// URL of one Elasticsearch node, http:// or https://, without
	// credentials.
	URL string
	// APIKey is an Elasticsearch API key (the base64 "encoded" form), or
	// User and Password authenticate with HTTP basic authentication.
	APIKey, User, Password string
	// CACert holds PEM certificates to trust for an https URL (empty: the
	// system's).
	CACert []byte
	// IndexPrefix is the exporter's index_prefix.
	IndexPrefix string
	// DeadLetterIndex is the exporter's dead_letter::index; empty when it
	// has none.
	DeadLetterIndex string
}

// SettingError is a bad Settings field; Open returns nothing else.
type SettingError struct {
	Setting string // the Settings field name
	Err     error
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// Open checks s and returns a Store on a client of its own. It does not
// contact Elasticsearch; Ping does.
func Open(s Settings) (*Store, error) {
	if s.URL == "" {
		return nil, &SettingError{"URL", errors.New("required, e.g. http://localhost:9200")}
	}
	if err := CheckURL(s.URL); err != nil {
		return nil, &SettingError{"URL", err}
	}
	if s.APIKey != "" && s.User != "" {
		return nil, &SettingError{"APIKey", errors.New("set either an API key or user and password, not both")}
	}
	if s.Password != "" && s.User == "" {
		return nil, &SettingError{"Password", errors.New("set the user as well")}
	}
	if err := CheckIndexPrefix(s.IndexPrefix); err != nil {
		return nil, &SettingError{"IndexPrefix", err}
	}
	if err := CheckDeadLetterIndex(s.DeadLetterIndex, s.IndexPrefix); err != nil {
		return nil, &SettingError{"DeadLetterIndex", err}
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{s.URL},
		APIKey:    s.APIKey,
		Username:  s.User,
		Password:  s.Password,
		CACert:    s.CACert,
	})
	if err != nil {
		return nil, &SettingError{"CACert", err} // the only setting the client itself reads
	}
	st := New(es, Layout{Prefix: s.IndexPrefix, DeadLetterIndex: s.DeadLetterIndex})
	st.url = strings.TrimRight(s.URL, "/")
	return st, nil
}

// Close releases the client (also one given to New).
func (s *Store) Close(ctx context.Context) error { return s.es.Close(ctx) }

// Ping checks that the URL answers as Elasticsearch and that the
// credentials are accepted. Its errors name the URL: "cannot reach
// Elasticsearch at URL: ..." or "Elasticsearch at URL refused the
// credentials: HTTP 401 security_exception: <reason>". It asks for the
// cluster health (the bare server has no GET /). A 403 is not an error here:
// an API key may lack the monitor privilege this call needs but have the
// index privileges an operation needs.
func (s *Store) Ping(ctx context.Context) error {
	health := s.es.Cluster.Health
	res, err := health(health.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("cannot reach Elasticsearch at %s: %w", s.url, err)
	}
	defer drainAndClose(res.Body)
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("Elasticsearch at %s refused the credentials: %w", s.url, responseError(res.StatusCode, res.Body))
	case res.StatusCode == http.StatusForbidden:
		return nil
	case res.IsError():
		return fmt.Errorf("Elasticsearch at %s: %w", s.url, responseError(res.StatusCode, res.Body))
	}
	return nil
}

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
