// Package kibana builds the Kibana 8.19 saved objects (data views, saved
// searches, visualizations and dashboards) that show what the
// elasticsearch_journey exporter stores. saved_objects.ndjson is generated
// from this package (go generate ./kibana/...) and committed; a test fails
// when the two differ.
package kibana // import "github.com/webjourney/webjourney/kibana"

//go:generate go run ./gen
