// Package attributionprocessor turns a stream of web events into journeys:
// visits and visitors (entity records re-emitted with a growing version as
// they change), the channel of every visit's entry, outcomes and segments
// from OTTL rules, and multi-touch attribution credit for every outcome
// under six models. See README.md.
//
//go:generate mdatagen metadata.yaml
package attributionprocessor // import "github.com/webjourney/webjourney/processor/attributionprocessor"
