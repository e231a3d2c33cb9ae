//go:generate mdatagen metadata.yaml

// Package elasticsearchjourneyexporter writes webjourney events and journey
// entities (log records that follow internal/eventmodel) to Elasticsearch:
// events one document each, by event id, into monthly indices; visits,
// visitors and attribution credits one document per entity, by entity id
// with external versioning, into one index per entity family. Mappings come
// from index templates the exporter installs and versions itself; refused
// documents can go to a dead-letter index.
package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"
