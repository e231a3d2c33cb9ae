//go:generate mdatagen metadata.yaml

// Package elasticsearchjourneyexporter writes webjourney events (log records
// that follow internal/eventmodel) to Elasticsearch: one document per event,
// with the event id as document id, into monthly indices whose mapping comes
// from an index template the exporter installs and versions itself.
package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"
