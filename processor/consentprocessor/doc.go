//go:generate mdatagen metadata.yaml

// Package consentprocessor decides, for every event, whether it is kept,
// made anonymous or dropped, from the consent signals it carries (the tag's
// consent state, IAB TCF v2.2 strings, Global Privacy Control, Do-Not-Track)
// and the site's policy, and records the decision and its reason on the
// event for audit.
package consentprocessor // import "github.com/webjourney/webjourney/processor/consentprocessor"
