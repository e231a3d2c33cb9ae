package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/consentgate"
	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/macro"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/sealed"
)

const (
	defaultTimeout = 10 * time.Second
	// maxAnswer is how much of a partner's answer is read (and dropped) so
	// that the connection can be reused.
	maxAnswer = 64 << 10
)

// Skip reasons (the reason attribute of exporter_partner_postback_skipped).
const (
	skipOutcome     = "outcome"
	skipMinCredit   = "min_credit"
	skipNoClickID   = "no_click_id"
	skipUnsafeValue = "unsafe_value"
	skipErased      = "erased"
)

// postback is one outcome reported to one partner: the sum of the
// partner's credit records for the outcome under the partner's model (one
// per credited touch of the partner).
type postback struct {
	p             *partner
	key           string // the idempotency key
	outcomeID     string
	outcome       string
	currency      string
	value, credit float64
	credited      float64
	model         string
	eventTime     time.Time
	click         string // sealed click id of the newest credited touch
	clickTouch    string // its touch time, RFC 3339: the newest wins
	consent       consentgate.Signals
	subject       pcommon.Map // a credit record's attributes: whose outcome it is
	records       []plog.LogRecord
}

// visitorIDKey is the attribute of the credit records whose visitor the
// postback is about.
const visitorIDKey = eventmodel.AttrVisitorID

// entityIDs are the ids of the postback's credit records, which the
// ledger document carries to join them.
func (pb *postback) entityIDs() []string {
	ids := make([]string, 0, len(pb.records))
	for _, lr := range pb.records {
		if id := str(lr.Attributes(), eventmodel.AttrEntityID); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func num(m pcommon.Map, k string) float64 {
	v, ok := m.Get(k)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeInt:
		return float64(v.Int())
	}
	return 0
}

// collect groups the credit records of configured partners into postbacks.
// Records of other events, of partners without a postback and of other
// models are not a partner's postback and are passed over uncounted.
func (e *postbackExporter) collect(ld plog.Logs) []*postback {
	var out []*postback
	index := map[string]*postback{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if lr.EventName() != eventmodel.EventAttributionCredit {
					continue
				}
				m := lr.Attributes()
				site, name := str(m, eventmodel.AttrSiteID), str(m, eventmodel.AttrChannelPartner)
				p := e.partners[[2]string{site, name}]
				if p == nil || str(m, eventmodel.AttrAttributionModel) != p.model {
					continue
				}
				outcome := str(m, eventmodel.AttrOutcomeName)
				outcomeID := str(m, eventmodel.AttrOutcomeEventID)
				if outcomeID == "" {
					// Records of an outcome without an event id: the visit and
					// the time single the outcome out, as in the credit id.
					outcomeID = str(m, eventmodel.AttrOutcomeVisitID) + "@" + strconv.FormatInt(int64(lr.Timestamp()), 10)
				}
				key := idempotencyKey(site, name, outcomeID, outcome, p.model)
				pb := index[key]
				if pb == nil {
					pb = &postback{
						p: p, key: key, outcomeID: outcomeID, outcome: outcome, model: p.model,
						currency:  str(m, eventmodel.AttrOutcomeCurrency),
						value:     num(m, eventmodel.AttrOutcomeValue),
						eventTime: lr.Timestamp().AsTime(),
						consent:   signalsOf(m),
						subject:   m,
					}
					index[key] = pb
					out = append(out, pb)
				}
				pb.credit += num(m, eventmodel.AttrAttributionCredit)
				pb.credited += num(m, eventmodel.AttrAttributionValue)
				if c := str(m, eventmodel.AttrReferralClickIDSealed); c != "" {
					if t := str(m, eventmodel.AttrAttributionTouchTime); pb.click == "" || t > pb.clickTouch {
						pb.click, pb.clickTouch = c, t
					}
				}
				pb.records = append(pb.records, lr)
			}
		}
	}
	// The attribution processor writes a record for every touch under
	// every model, credited or not: a partner whose touches got no credit
	// (an earlier touch under last_touch) did not earn the outcome, so it
	// has no postback to send or skip.
	credited := out[:0]
	for _, pb := range out {
		if pb.credit > 0 {
			credited = append(credited, pb)
		}
	}
	return credited
}

// idempotencyKey is stable for an outcome, partner and model, so that a
// resend of the same postback (a retry, a replay of the credit records)
// carries the same key and the partner can recognise it.
func idempotencyKey(site, partner, outcomeID, outcome, model string) string {
	h := sha256.Sum256([]byte(site + "\x00" + partner + "\x00" + outcomeID + "\x00" + outcome + "\x00" + model))
	return hex.EncodeToString(h[:16])
}

// signalsOf reads what a credit record carries about the converting
// visitor's consent (the outcome event's, copied by the attribution
// processor): every credit record of one outcome carries the same.
func signalsOf(m pcommon.Map) consentgate.Signals {
	s := consentgate.Signals{
		Decision:  str(m, eventmodel.AttrConsentDecision),
		Reason:    str(m, eventmodel.AttrConsentReason),
		Marketing: str(m, eventmodel.AttrConsentMarketing),
		TCString:  str(m, eventmodel.AttrOutcomeTCFString),
	}
	if v, ok := m.Get(eventmodel.AttrGPC); ok && v.Type() == pcommon.ValueTypeBool {
		s.GPC = v.Bool()
	}
	if v, ok := m.Get(eventmodel.AttrDNT); ok && v.Type() == pcommon.ValueTypeBool {
		s.DNT = v.Bool()
	}
	if v, ok := m.Get(eventmodel.AttrTCFGDPRApplies); ok && v.Type() == pcommon.ValueTypeBool {
		applies := v.Bool()
		s.GDPRApplies = &applies
	}
	return s
}

// skipReason decides whether the postback goes out: "" to send, else the
// reason it is skipped. The partner's configuration is checked first, so
// that a skip for consent counts only postbacks that would have been sent.
func (e *postbackExporter) skipReason(pb *postback) string {
	switch {
	case !pb.p.outcomes[pb.outcome]:
		return skipOutcome
	case pb.credit < pb.p.cfg.MinCredit:
		return skipMinCredit
	case e.erasures.erased(pb.subject):
		return skipErased
	}
	return consentgate.Decide(pb.consent, pb.p.consent)
}

// clickID opens the postback's sealed click id.
func (e *postbackExporter) clickID(pb *postback) (string, bool) {
	if pb.click == "" || e.opener == nil {
		return "", false
	}
	id, err := e.opener.Open(pb.click, sealed.AssociatedData(pb.p.site, eventmodel.AttrReferralClickIDSealed))
	return id, err == nil && id != ""
}

func formatNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (e *postbackExporter) values(pb *postback, click string) macro.Values {
	return macro.Values{
		macro.ClickID:       click,
		macro.Outcome:       pb.outcome,
		macro.Value:         formatNum(pb.value),
		macro.Currency:      pb.currency,
		macro.Credit:        formatNum(pb.credit),
		macro.CreditedValue: formatNum(pb.credited),
		macro.Model:         pb.model,
		macro.EventTime:     pb.eventTime.UTC().Format(time.RFC3339Nano),
		macro.EventTimeUnix: strconv.FormatInt(pb.eventTime.Unix(), 10),
		macro.OutcomeID:     pb.outcomeID,
		macro.SiteID:        pb.p.site,
		macro.Partner:       pb.p.name,
		macro.PostbackID:    pb.key,
	}
}

// skip counts and records a postback not sent.
func (e *postbackExporter) skip(ctx context.Context, pb *postback, reason string) {
	e.tb.ExporterPartnerPostbackSkipped.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(
		attribute.String("partner", pb.p.name), attribute.String("reason", reason))))
	e.record(pb, eventmodel.PostbackSkipped, reason, e.tries.done(pb.key))
}

func (e *postbackExporter) failed(ctx context.Context, p *partner, status string) {
	e.tb.ExporterPartnerPostbackFailed.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(
		attribute.String("partner", p.name), attribute.String("status", status))))
}

// pushLogs sends one postback per outcome and partner. Postbacks that
// failed for a reason that may pass (429, 5xx, network, rate limit) go back
// to the queue alone, through consumererror.Logs, so a retry does not
// resend the ones the partner already took; other refusals are permanent.
func (e *postbackExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	var retry []*postback
	var retryErrs, permErrs []error
	// The retry sender's max_elapsed_time counts from the start of the
	// request's first push: see attempts.go.
	pushStart := e.now()
	// Erasures first: a withdrawal that arrives with (or before) the
	// outcome it follows cancels its postback.
	e.erasures.note(ld)
	pbs := e.collect(ld)
	if len(pbs) > 0 {
		// And those recorded in Elasticsearch (webjourneyctl erase), when
		// there is a ledger to read them with.
		e.loadTombstones(ctx)
	}
	for _, pb := range pbs {
		err := e.send(ctx, pb, pushStart)
		switch {
		case err == nil:
		case consumererror.IsPermanent(err):
			permErrs = append(permErrs, err)
		default:
			retry = append(retry, pb)
			retryErrs = append(retryErrs, err)
		}
	}
	if len(permErrs) > 0 {
		e.logger.Warn("Postbacks given up (refused by the partner, or retried until retry_on_failure::max_elapsed_time); they are not retried", zap.Errors("errors", permErrs))
	}
	if len(retry) > 0 {
		err := errors.Join(retryErrs...)
		if d := maxThrottle(retryErrs); d > 0 {
			err = exporterhelper.NewThrottleRetry(err, d)
		}
		return consumererror.NewLogs(err, recordsOf(retry))
	}
	if len(permErrs) > 0 {
		return consumererror.NewPermanent(errors.Join(permErrs...))
	}
	return nil
}

// recordsOf copies the credit records of the postbacks into a new request.
func recordsOf(pbs []*postback) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, pb := range pbs {
		for _, lr := range pb.records {
			lr.CopyTo(lrs.AppendEmpty())
		}
	}
	return ld
}

// send delivers one postback, or decides not to, and records the
// decision in the ledger: sent, skipped, failed (refused for good) or
// expired (retryable failures until the retry sender would give up). A
// retryable failure that is not the last is not a decision: the postback
// comes back with the retry.
func (e *postbackExporter) send(ctx context.Context, pb *postback, pushStart time.Time) error {
	p := pb.p
	if r := e.skipReason(pb); r != "" {
		e.skip(ctx, pb, r)
		return nil
	}
	click, ok := e.clickID(pb)
	if p.needClick && !ok {
		e.skip(ctx, pb, skipNoClickID)
		return nil
	}
	// The rate limit first: the signature's timestamp is the moment the
	// request leaves, not when it started to wait.
	if err := p.limiter.Wait(ctx); err != nil {
		e.failed(ctx, p, "rate_limited")
		return e.retryLater(ctx, pb, pushStart, "rate_limited", fmt.Errorf("partner %s: rate limit: %w", p.name, err))
	}
	req, err := e.request(ctx, pb, e.values(pb, click))
	if errors.Is(err, macro.ErrUnsafeHeader) {
		e.skip(ctx, pb, skipUnsafeValue)
		return nil
	}
	if err != nil {
		e.record(pb, eventmodel.PostbackFailed, "request", e.tries.done(pb.key))
		return consumererror.NewPermanent(err)
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	took := time.Since(start)
	e.tb.ExporterPartnerPostbackDuration.Record(ctx, float64(took)/float64(time.Millisecond), p.attrs)
	if err != nil {
		e.tries.request(pb.key, pushStart, 0, took)
		e.failed(ctx, p, "network")
		return e.retryLater(ctx, pb, pushStart, "network", fmt.Errorf("partner %s: %w", p.name, redact(err)))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	_ = resp.Body.Close()
	code := resp.StatusCode
	e.tries.request(pb.key, pushStart, code, took)
	switch {
	case code >= 200 && code < 300:
		e.tb.ExporterPartnerPostbackSent.Add(ctx, 1, p.attrs)
		e.record(pb, eventmodel.PostbackSent, "", e.tries.done(pb.key))
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		e.failed(ctx, p, strconv.Itoa(code))
		return e.retryLater(ctx, pb, pushStart, statusReason(code),
			&retryableStatus{partner: p.name, code: code, after: retryAfter(resp.Header.Get("Retry-After"))})
	default:
		e.failed(ctx, p, strconv.Itoa(code))
		e.record(pb, eventmodel.PostbackFailed, statusReason(code), e.tries.done(pb.key))
		return consumererror.NewPermanent(fmt.Errorf("partner %s answered %d to postback %s", p.name, code, pb.key))
	}
}

// statusReason is the ledger's reason for an HTTP answer.
func statusReason(code int) string { return "status_" + strconv.Itoa(code) }

// retryLater returns err for the retry sender, unless the postback has
// run out of retries: then it is expired, counted, recorded and given up.
func (e *postbackExporter) retryLater(ctx context.Context, pb *postback, pushStart time.Time, reason string, err error) error {
	st := e.tries.fail(pb.key, pushStart)
	if !e.expired(st, maxThrottle([]error{err})) {
		return err
	}
	e.tb.ExporterPartnerPostbackExpired.Add(ctx, 1, pb.p.attrs)
	e.record(pb, eventmodel.PostbackExpired, reason, e.tries.done(pb.key))
	return consumererror.NewPermanent(fmt.Errorf("postback %s expired after %d attempts: %w", pb.key, st.n, err))
}

// request builds the signed request.
func (e *postbackExporter) request(ctx context.Context, pb *postback, v macro.Values) (*http.Request, error) {
	p := pb.p
	u := p.url.Expand(v)
	var body []byte
	if p.body != nil {
		body = p.body.Expand(v)
	}
	req, err := http.NewRequestWithContext(ctx, p.method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("partner %s: %w", p.name, err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for _, h := range p.headers {
		s, err := h.tmpl.Expand(v)
		if err != nil {
			return nil, err
		}
		req.Header.Set(h.name, s)
	}
	if p.contentType != "" {
		req.Header.Set("Content-Type", p.contentType)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set(HeaderIdempotencyKey, pb.key)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, "v1="+Sign(p.secret, p.method, req.URL.RequestURI(), ts, body))
	return req, nil
}

// Sign returns the hex HMAC-SHA256, under secret, of the canonical string
//
//	METHOD "\n" REQUEST-URI "\n" TIMESTAMP "\n" BODY
//
// where REQUEST-URI is the path and query exactly as sent on the request
// line and TIMESTAMP the X-Webjourney-Timestamp header (Unix seconds). The
// partner recomputes it to check that a postback comes from the site and
// was not altered or replayed later.
func Sign(secret []byte, method, requestURI, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(method + "\n" + requestURI + "\n" + timestamp + "\n"))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// retryableStatus is a 429 or 5xx answer.
type retryableStatus struct {
	partner string
	code    int
	after   time.Duration
}

func (r *retryableStatus) Error() string {
	return fmt.Sprintf("partner %s answered %d", r.partner, r.code)
}

// retryAfter reads a Retry-After header in seconds (the HTTP-date form is
// rare for postback endpoints and falls back to the backoff).
func retryAfter(h string) time.Duration {
	s, err := strconv.Atoi(h)
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, 5*time.Minute)
}

func maxThrottle(errs []error) time.Duration {
	var d time.Duration
	for _, err := range errs {
		var r *retryableStatus
		if errors.As(err, &r) {
			d = max(d, r.after)
		}
	}
	return d
}

// redact drops the URL from a client error: its query carries the click
// id and other macro values, which do not belong in logs.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
