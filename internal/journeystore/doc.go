// Package journeystore owns how webjourney stores journeys in
// Elasticsearch: the index families and their names, the index templates
// and mappings, the document of each log record, and the operations on
// what is stored (template installation and checks, erasure of a subject,
// retention). The elasticsearch_journey exporter writes through it;
// webjourneyctl, the Kibana saved objects and the tests name indices with
// it.
//
// Events go one document each, by event id, into monthly indices
// "<prefix>-events-YYYY.MM"; visits, visitors and attribution credits one
// document per entity, by entity id with external versioning, into
// "<prefix>-visits", "<prefix>-visitors" and "<prefix>-credits"; refused
// documents into a dead-letter index. The mapped fields are the table in
// fields.go.
package journeystore // import "github.com/webjourney/webjourney/internal/journeystore"
