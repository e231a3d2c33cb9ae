package eventmodel

// The postback ledger: one document per outcome and partner that the
// partner_postback exporter decided on, written to "<prefix>-postbacks"
// (journeystore.FamilyPostbacks). It is not an event: no pipeline record
// carries these names, so they are not rows of Attributes and not mapped
// in the events indices. Besides them a ledger document carries, under
// their event-model names, the site, partner, outcome (name, event id,
// value, currency), model, summed credit and credited value, the credit
// records' entity ids and the visitor id (so an erasure of the visitor
// finds it); @timestamp is the outcome's time, as on the credit records,
// so one time range covers both. Never the click id, the request URL, its
// body or a secret.
const (
	// PostbackID is the postback's idempotency key, also the document id
	// (string, 32 hex digits).
	PostbackID = "webjourney.postback.id"
	// PostbackDecision is one of the PostbackDecision* values.
	PostbackDecision = "webjourney.postback.decision"
	// PostbackReason says why: the skip reason, "status_<code>" of a
	// refusal, or for an expired postback what its last attempt met
	// ("status_503", "network", "rate_limited"). Empty when sent.
	PostbackReason = "webjourney.postback.reason"
	// PostbackHTTPStatus is the partner's last HTTP status (int); absent
	// when there was no answer or no request.
	PostbackHTTPStatus = "webjourney.postback.http_status"
	// PostbackAttempts is how many requests were made (int; 0 when
	// skipped).
	PostbackAttempts = "webjourney.postback.attempts"
	// PostbackDurationMS is the last request's latency (double, ms).
	PostbackDurationMS = "webjourney.postback.duration_ms"
	// PostbackDecidedAt is when the decision was made (date).
	PostbackDecidedAt = "webjourney.postback.decided_at"
)

// Values of PostbackDecision.
const (
	PostbackSent    = "sent"    // the partner took it (2xx)
	PostbackSkipped = "skipped" // not sent: configuration, consent, erasure, no click id
	PostbackFailed  = "failed"  // refused for good (a 3xx or 4xx other than 429): the dead letters
	PostbackExpired = "expired" // retried (429, 5xx, network) until retry_on_failure ran out
)

// PostbackFields lists the ledger's own fields, in the order
// docs/event-model.md documents them.
var PostbackFields = []string{
	PostbackID, PostbackDecision, PostbackReason, PostbackHTTPStatus,
	PostbackAttempts, PostbackDurationMS, PostbackDecidedAt,
}
