// Package eventmodel is the contract between the webjourney components: every
// event name and attribute name that a receiver writes, a processor reads or
// rewrites, and the exporter maps into Elasticsearch is declared here and
// nowhere else. docs/event-model.md describes each name; a test keeps the two
// in step.
//
// Names follow the OpenTelemetry semantic conventions where one exists
// (url.*, user_agent.original, client.address, session.id, user.id,
// log.record.uid) and use the single project namespace "webjourney." for the
// rest. The event type travels in the LogRecord's own EventName field.
package eventmodel // import "github.com/webjourney/webjourney/internal/eventmodel"
