package webevent // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"

// Reason is the machine-readable code of a rejection. It is the value of the
// "reason" attribute of the rejection counter and the "error" field of beacon
// responses, so the set is small and fixed: a counter attribute must never
// take values chosen by the sender.
type Reason string

// Rejections of a whole request (pixel hit or beacon).
const (
	ReasonMethodNotAllowed     Reason = "method_not_allowed"
	ReasonInvalidRequest       Reason = "invalid_request"
	ReasonUnsupportedMediaType Reason = "unsupported_media_type"
	ReasonBodyTooLarge         Reason = "body_too_large"
	ReasonInvalidJSON          Reason = "invalid_json"
	ReasonUnknownSite          Reason = "unknown_site"
	ReasonNoEvents             Reason = "no_events"
	ReasonTooManyEvents        Reason = "too_many_events"
)

// Rejections of one event. A pixel hit is one event, so these reject the hit.
const (
	ReasonInvalidEvent      Reason = "invalid_event"
	ReasonInvalidID         Reason = "invalid_id"
	ReasonInvalidType       Reason = "invalid_type"
	ReasonMissingURL        Reason = "missing_url"
	ReasonInvalidURL        Reason = "invalid_url"
	ReasonURLTooLong        Reason = "url_too_long"
	ReasonMissingName       Reason = "missing_name"
	ReasonTooManyProperties Reason = "too_many_properties"
	ReasonInvalidProperty   Reason = "invalid_property"
	ReasonInvalidField      Reason = "invalid_field"
)

// Rejections of one imported line (see DecodeImportLine); the whole
// import request is rejected with ReasonInvalidImportKey.
const (
	ReasonLineTooLong  Reason = "line_too_long"
	ReasonMissingTime  Reason = "missing_time"
	ReasonTimeInFuture Reason = "time_in_future"
	ReasonTimeTooOld   Reason = "time_too_old"
)

// Rejections decided by the receiver around the decoder.
const (
	ReasonInvalidWriteKey  Reason = "invalid_write_key"
	ReasonInvalidImportKey Reason = "invalid_import_key"
	ReasonOriginNotAllowed Reason = "origin_not_allowed"
	ReasonRateLimited      Reason = "rate_limited"
	ReasonBot              Reason = "bot"
)

// Reasons lists every Reason, for documentation and tests.
var Reasons = []Reason{
	ReasonMethodNotAllowed, ReasonInvalidRequest, ReasonUnsupportedMediaType, ReasonBodyTooLarge,
	ReasonInvalidJSON, ReasonUnknownSite, ReasonNoEvents, ReasonTooManyEvents,
	ReasonInvalidEvent, ReasonInvalidID, ReasonInvalidType, ReasonMissingURL, ReasonInvalidURL,
	ReasonURLTooLong, ReasonMissingName, ReasonTooManyProperties, ReasonInvalidProperty, ReasonInvalidField,
	ReasonLineTooLong, ReasonMissingTime, ReasonTimeInFuture, ReasonTimeTooOld,
	ReasonInvalidWriteKey, ReasonInvalidImportKey, ReasonOriginNotAllowed, ReasonRateLimited, ReasonBot,
}

// Rejection says why something was not accepted. Message is meant for the
// developer of the sending page; it names the offending field but never
// repeats its value, so that rejections can be logged and answered without
// echoing visitor data (which may be PII) back or into logs.
type Rejection struct {
	Reason  Reason
	Message string
}

func (r *Rejection) Error() string { return string(r.Reason) + ": " + r.Message }

func reject(reason Reason, msg string) *Rejection {
	return &Rejection{Reason: reason, Message: msg}
}
