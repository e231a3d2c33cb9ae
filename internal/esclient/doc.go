// Package esclient connects webjourney to the Elasticsearch its users run:
// one way, shared by the elasticsearch_journey exporter and webjourneyctl,
// to authenticate (basic, API key, bearer token, each from the
// configuration or a file), to trust the cluster's certificate (a CA file
// or a CA fingerprint), to check what answers (product and version), to
// speak REST API compatibility mode so that 8.x and 9.x answer alike, and
// to turn a refusal into one actionable message that names the node and
// the cause and never holds a secret.
package esclient // import "github.com/webjourney/webjourney/internal/esclient"
