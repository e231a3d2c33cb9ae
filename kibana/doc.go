// Package kibana builds the Kibana saved objects (data views, saved
// searches, visualizations and dashboards, in Kibana 8.19's format, which
// 9.x migrates on import) that show what the elasticsearch_journey exporter
// stores. saved_objects.ndjson is generated from this package (go generate
// ./kibana/...) and committed; a test fails when the two differ.
package kibana // import "github.com/webjourney/webjourney/kibana"

//go:generate go run ./gen
