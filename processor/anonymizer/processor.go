package anonymizer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/pseudonym"
	"github.com/webjourney/webjourney/internal/sealed"
	"github.com/webjourney/webjourney/internal/storageext"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadata"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/salt"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/scrub"
)

type anonymizerProcessor struct {
	cfg          *Config
	id           component.ID
	pseudonyms   *pseudonym.Pseudonymizer
	pseudonymize map[string]bool
	salts        *salt.Salts
	storage      storage.Client
	userAgents   *userAgents
	scrubber     *scrub.Scrubber
	sealer       *sealed.Sealer // nil without recoverable attributes
	clickSealer  *sealed.Sealer // nil without partner_click_id keys
	recoverable  map[string]bool
	// recoverableProps: some of recoverable are properties, whose full
	// names are then built per property to look them up.
	recoverableProps bool
	kinds            map[string]attrKind // how each known attribute is treated
	telemetry        *metadata.TelemetryBuilder
	redactions       map[string]metric.AddOption
	now              func() time.Time // the salts' clock; tests move it
}

func newAnonymizer(set processor.Settings, cfg *Config) (*anonymizerProcessor, error) {
	secretText, err := cfg.Secret.read("secret")
	if err != nil {
		return nil, err
	}
	secret, err := pseudonym.ParseSecret(secretText)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	ps, err := pseudonym.New(secret, cfg.KeyID, cfg.PseudonymBytes)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	uas, err := newUserAgents(cfg.UserAgent.CacheSize)
	if err != nil {
		return nil, err
	}
	sc, err := scrub.New(scrub.Config{
		Detectors:         cfg.Scrub.Detectors,
		AllowParams:       cfg.Scrub.AllowParams,
		DenyParams:        cfg.Scrub.DenyParams,
		DropUnknownParams: cfg.Scrub.DropUnknownParams,
	})
	if err != nil {
		return nil, fmt.Errorf("scrub::detectors: %w", err)
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &anonymizerProcessor{
		cfg:          cfg,
		id:           set.ID,
		pseudonyms:   ps,
		pseudonymize: map[string]bool{},
		userAgents:   uas,
		scrubber:     sc,
		recoverable:  map[string]bool{},
		telemetry:    tb,
		redactions:   map[string]metric.AddOption{},
		now:          time.Now,
	}
	for _, a := range append([]string{eventmodel.AttrVisitorID, eventmodel.AttrUserID, eventmodel.AttrReferralClickID}, cfg.Pseudonymize...) {
		p.pseudonymize[a] = true
	}
	for _, d := range append(append([]string{}, scrub.AllDetectors...), scrub.Param, scrub.UserInfo, detectorFormValue) {
		p.redactions[d] = metric.WithAttributeSet(attribute.NewSet(attribute.String("detector", d)))
	}
	if r := cfg.Recoverable; len(r.Attributes) > 0 {
		if p.sealer, err = newSealer("recoverable", r.PrimaryKey, r.Keys); err != nil {
			return nil, err
		}
		for _, a := range r.Attributes {
			p.recoverable[a] = true
			p.recoverableProps = p.recoverableProps || strings.HasPrefix(a, eventmodel.AttrProperties+".")
		}
	}
	if pc := cfg.PartnerClickID; len(pc.Keys) > 0 {
		if p.clickSealer, err = newSealer("partner_click_id", pc.PrimaryKey, pc.Keys); err != nil {
			return nil, err
		}
	}
	p.kinds = attrKinds(p.pseudonymize, p.recoverable)
	return p, nil
}

// start loads (or makes) the cookieless salts, from the storage extension
// when one is configured.
func (p *anonymizerProcessor) start(ctx context.Context, host component.Host) error {
	period, err := salt.ParsePeriod(p.cfg.Cookieless.Rotation)
	if err != nil {
		return fmt.Errorf("cookieless::rotation: %w", err)
	}
	var store salt.Store
	if id := p.cfg.Cookieless.Storage; id != nil {
		client, err := storageext.Client(ctx, host, *id, component.KindProcessor, p.id, "salts")
		if err != nil {
			return fmt.Errorf("cookieless::storage: %w", err)
		}
		p.storage, store = client, client
	}
	p.salts, err = salt.New(ctx, period, store, func() time.Time { return p.now() })
	return err
}

func (p *anonymizerProcessor) shutdown(ctx context.Context) error {
	p.telemetry.Shutdown()
	if p.storage != nil {
		return p.storage.Close(ctx)
	}
	return nil
}

func (p *anonymizerProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var counts counter
	var errs []error
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if err := p.processRecord(ctx, lr.Attributes(), lr.Timestamp(), &counts); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for d, n := range counts {
		opt, ok := p.redactions[d]
		if !ok { // a detector the scrubber grew; count it all the same
			opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("detector", d)))
		}
		p.telemetry.ProcessorAnonymizerRedactions.Add(ctx, int64(n), opt)
	}
	if len(errs) > 0 {
		// Only the salt store can fail, and then nothing may pass with a
		// raw address: the pipeline retries or drops the batch.
		return ld, errors.Join(errs...)
	}
	return ld, nil
}

// counter counts redactions per detector within one batch.
type counter map[string]int

func (c *counter) add(from scrub.Counts) {
	from.Each(func(d string, n int) {
		if n == 0 {
			return
		}
		if *c == nil {
			*c = counter{}
		}
		(*c)[d] += n
	})
}

func (c *counter) inc(d string) {
	if *c == nil {
		*c = counter{}
	}
	(*c)[d]++
}

// at is the event's time (0: unknown): an event older than the salts'
// previous period is keyed under a salt of its own period (salt.PastKey).
func (p *anonymizerProcessor) processRecord(ctx context.Context, attrs pcommon.Map, at pcommon.Timestamp, counts *counter) error {
	// One pass for what the steps below need (Map.Get scans each time).
	// With repeated keys (possible over OTLP) the first wins, as in Get.
	// The partner's click id leaves the URLs first, so that the pass below
	// sees (and scrubs) them without it.
	// Room for what we and the attribution processor after us add, at
	// once, instead of growing the attribute slice (a copy of all of it)
	// in each step. The pixel receiver reserved it already; events from
	// other receivers may not have.
	attrs.EnsureCapacity(attrs.Len() + eventmodel.AnonymizerAttrs + eventmodel.AttributionAttrs)
	click := p.clearClickID(attrs)
	if click != "" {
		stripClickID(attrs, click)
	}
	var page, referrer urlScrub
	var site, decision, reason, marketing, addrStr, uaStr string
	var hasSite, hasDecision, hasReason, hasMarketing, hasTCString, hasAddr, hasUA, hasBot, bot bool
	for k, v := range attrs.All() {
		switch {
		case k == eventmodel.AttrSiteID && !hasSite:
			site, hasSite = strValue(v), true
		case k == eventmodel.AttrConsentDecision && !hasDecision:
			decision, hasDecision = strValue(v), true
		case k == eventmodel.AttrConsentReason && !hasReason:
			reason, hasReason = strValue(v), true
		case k == eventmodel.AttrConsentMarketing && !hasMarketing:
			marketing, hasMarketing = strValue(v), true
		case k == eventmodel.AttrTCFString:
			hasTCString = hasTCString || strValue(v) != ""
		case k == eventmodel.AttrClientAddress && !hasAddr:
			addrStr, hasAddr = v.AsString(), true
		case k == eventmodel.AttrUserAgent && !hasUA:
			uaStr, hasUA = v.AsString(), true
		case k == eventmodel.AttrBot && !hasBot:
			bot, hasBot = v.Type() == pcommon.ValueTypeBool && v.Bool(), true
		case k == eventmodel.AttrURLFull:
			page.see(v)
		case k == eventmodel.AttrReferrerFull:
			referrer.see(v)
		}
	}
	anonymous := decision == eventmodel.DecisionAnonymous

	// Address and user agent: the cookieless key is derived from the raw
	// values first, then they are reduced, or removed entirely for
	// anonymous events.
	// Imported history (an event older than the previous period) gets a
	// salt of its own period: under the current salt, one browser's
	// anonymous events of many weeks would share one key.
	past := ""
	if anonymous && hasAddr && at != 0 {
		past, _ = p.salts.PastKey(site, addrStr, uaStr, at.AsTime())
	}
	if past != "" {
		attrs.PutStr(eventmodel.AttrCookielessKey, past)
	} else if anonymous && hasAddr {
		key, prev, err := p.salts.Keys(ctx, site, addrStr, uaStr, p.cfg.Cookieless.Overlap)
		if err != nil {
			attrs.Remove(eventmodel.AttrClientAddress)
			attrs.Remove(eventmodel.AttrUserAgent)
			return err
		}
		attrs.PutStr(eventmodel.AttrCookielessKey, key)
		if prev != "" {
			attrs.PutStr(eventmodel.AttrCookielessKeyPrevious, prev)
		}
	}
	if hasUA || bot {
		var ua userAgent
		if hasUA {
			ua = p.userAgents.parse(uaStr)
		}
		if bot {
			// The receiver decided; the user agent only describes the device.
			ua.device = eventmodel.DeviceBot
		}
		ua.put(attrs)
	}
	dropUA := anonymous || !p.cfg.UserAgent.KeepOriginal
	reduced, keepAddr := "", false
	if hasAddr && !anonymous && p.cfg.ClientAddress.Action == AddressReduce {
		reduced, keepAddr = reduceAddress(addrStr, p.cfg.ClientAddress.IPv4Octets, p.cfg.ClientAddress.IPv6PrefixBits)
	}

	// Every attribute in one pass: reduce or remove the address and user
	// agent, pseudonymise identifiers, seal or drop recoverable values, drop
	// what looks like a form value, scrub the rest.
	// url.query is the query of url.full, and webjourney.referrer.query
	// that of webjourney.referrer.full: each is scrubbed once, with its full
	// URL, in whatever order the attributes come.
	attrs.RemoveIf(func(k string, v pcommon.Value) bool {
		kind, known := p.kinds[k]
		switch {
		case kind == kindRemove:
			return true
		case k == eventmodel.AttrURLFull && v.Type() == pcommon.ValueTypeStr:
			return p.scrubFull(&page, v, counts)
		case k == eventmodel.AttrURLQuery && v.Type() == pcommon.ValueTypeStr && page.isQuery(p.scrubber, v.Str()):
			return p.setScrubbed(v, page.query, page.scrubbedQuery, scrub.Counts{}, counts)
		case k == eventmodel.AttrReferrerFull && kind == kindURL && v.Type() == pcommon.ValueTypeStr:
			return p.scrubFull(&referrer, v, counts)
		case k == eventmodel.AttrReferrerQuery && kind == kindQuery && v.Type() == pcommon.ValueTypeStr && referrer.isQuery(p.scrubber, v.Str()):
			return p.setScrubbed(v, referrer.query, referrer.scrubbedQuery, scrub.Counts{}, counts)
		case k == eventmodel.AttrURLPath && kind == kindPath && v.Type() == pcommon.ValueTypeStr:
			return p.scrubPath(&page, v, counts)
		case k == eventmodel.AttrReferrerPath && kind == kindPath && v.Type() == pcommon.ValueTypeStr:
			return p.scrubPath(&referrer, v, counts)
		case k == eventmodel.AttrURLFragment && kind == kindQuery && v.Type() == pcommon.ValueTypeStr && !sealed.IsSealed(v.Str()):
			// As the fragment of url.full is scrubbed: as a query, a
			// route or text, whichever it is.
			out, c := p.scrubber.Fragment(v.Str())
			return p.setScrubbed(v, v.Str(), out, c, counts)
		case k == eventmodel.AttrClientAddress:
			if keepAddr {
				v.SetStr(reduced)
			}
			return !keepAddr
		case k == eventmodel.AttrUserAgent:
			return dropUA
		case k == eventmodel.AttrReferralClickIDSealed:
			return !p.keepSealedClickID(site, v)
		case kind == kindPseudonymize:
			if v.Type() != pcommon.ValueTypeStr {
				return true // an id that is not a string is not ours to keep
			}
			if s := v.Str(); !p.pseudonyms.IsPseudonym(s) {
				v.SetStr(p.pseudonyms.Pseudonymize(site, s))
			}
			return false
		case kind == kindRecoverable:
			return !p.seal(site, k, v, decision)
		case kind == kindProperties && v.Type() == pcommon.ValueTypeMap:
			p.scrubProperties(site, decision, v.Map(), counts)
			return false
		case kind == kindSkip:
			return false
		case !known && p.scrubber.DeniedName(k):
			// An OTLP client's attribute named like a form field or a
			// secret: removed like such a query parameter or property.
			counts.inc(detectorFormValue)
			return true
		}
		return p.scrubValue(kind, v, counts)
	})
	if click != "" && p.clickSealer != nil && mayShare(decision, reason, marketing, hasTCString) {
		attrs.PutStr(eventmodel.AttrReferralClickIDSealed,
			p.clickSealer.Seal(click, sealed.AssociatedData(site, eventmodel.AttrReferralClickIDSealed)))
	}
	return nil
}

// urlScrub is a full URL of the event (url.full, webjourney.referrer.full)
// scrubbed once, with what that made of its query, so that the query
// attribute next to it reuses it instead of being scrubbed again.
type urlScrub struct {
	full string // as first seen; "" when absent, not a string or sealed
	done bool   // scrubbed: the fields below are set
	out  string
	c    scrub.Counts
	// query is the raw query of full and scrubbedQuery what it became;
	// hasQuery is false when full has none or was scrubbed as text.
	query, scrubbedQuery string
	hasQuery             bool
}

// see notes the first value of the full URL attribute.
func (u *urlScrub) see(v pcommon.Value) {
	if u.full == "" && v.Type() == pcommon.ValueTypeStr && !sealed.IsSealed(v.Str()) {
		u.full = v.Str()
	}
}

// scrub scrubs the full URL noted by see, once.
func (u *urlScrub) scrub(s *scrub.Scrubber) {
	if !u.done && u.full != "" {
		u.out, u.c, u.query, u.scrubbedQuery, u.hasQuery = s.URLAndQuery(u.full)
		u.done = true
	}
}

// isQuery reports whether raw is the query of the full URL, which is then
// scrubbed (if it was not yet).
func (u *urlScrub) isQuery(s *scrub.Scrubber, raw string) bool {
	u.scrub(s)
	return u.hasQuery && raw == u.query
}

// scrubbedPath returns the decoded path of the scrubbed full URL, when
// the scrub changed the URL and path is the decoded path of the URL as it
// came.
func (u *urlScrub) scrubbedPath(s *scrub.Scrubber, path string) (string, bool) {
	u.scrub(s)
	if !u.done || u.out == u.full {
		return "", false
	}
	orig, err := url.Parse(u.full)
	if err != nil || orig.Path != path && !(orig.Path == "" && path == "/") {
		return "", false
	}
	scrubbed, err := url.Parse(u.out)
	if err != nil {
		return "", false
	}
	if scrubbed.Path == "" {
		return "/", true
	}
	return scrubbed.Path, true
}

// scrubFull scrubs a full URL attribute, reusing u when it is the value u
// noted (a repeated key with another value is scrubbed on its own), and
// reports whether the attribute is to be removed.
func (p *anonymizerProcessor) scrubFull(u *urlScrub, v pcommon.Value, counts *counter) bool {
	in := v.Str()
	if sealed.IsSealed(in) {
		return false
	}
	if in != u.full {
		out, c := p.scrubber.URL(in)
		return p.setScrubbed(v, in, out, c, counts)
	}
	u.scrub(p.scrubber)
	return p.setScrubbed(v, in, u.out, u.c, counts)
}

// scrubPath scrubs a decoded path attribute (url.path,
// webjourney.referrer.path). When its full URL had something removed, the
// path is taken from the scrubbed full URL: decoding can join what the
// URL kept apart ("Handy%200664%2F1234567" is one path segment there, two
// in the decoded path), so the path is scrubbed as the URL was.
func (p *anonymizerProcessor) scrubPath(u *urlScrub, v pcommon.Value, counts *counter) bool {
	in := v.Str()
	if sealed.IsSealed(in) {
		return false
	}
	path := in
	if derived, ok := u.scrubbedPath(p.scrubber, in); ok {
		path = derived
	}
	out, c := p.scrubber.Path(path)
	if out != in && out == path {
		// Only the full URL's scrub changed it; its redactions are counted.
		v.SetStr(out)
		return out == ""
	}
	return p.setScrubbed(v, in, out, c, counts)
}

// seal encrypts a recoverable value of an event kept with consent, and
// reports whether it may stay.
func (p *anonymizerProcessor) seal(site, key string, v pcommon.Value, decision string) bool {
	if decision != eventmodel.DecisionKeep || p.sealer == nil {
		return false
	}
	s := v.AsString()
	if !sealed.IsSealed(s) {
		v.SetStr(p.sealer.Seal(s, sealed.AssociatedData(site, key)))
	}
	return true
}

func (p *anonymizerProcessor) scrubProperties(site, decision string, props pcommon.Map, counts *counter) {
	props.RemoveIf(func(k string, v pcommon.Value) bool {
		switch {
		case p.recoverableProps && p.recoverable[eventmodel.AttrProperties+"."+k]:
			return !p.seal(site, eventmodel.AttrProperties+"."+k, v, decision)
		case p.scrubber.DeniedName(k):
			counts.inc(detectorFormValue)
			return true
		}
		return p.scrubProperty(k, v, counts)
	})
}

// scrubProperty scrubs a property's value; its key says what a number at
// the start of the value is ("ticket": 1234-5678-90 is no phone number).
func (p *anonymizerProcessor) scrubProperty(key string, v pcommon.Value, counts *counter) bool {
	if v.Type() != pcommon.ValueTypeStr || sealed.IsSealed(v.Str()) {
		return p.scrubValue(kindText, v, counts)
	}
	s := v.Str()
	out, c := p.scrubber.TextAfter(key, s)
	return p.setScrubbed(v, s, out, c, counts)
}

// scrubValue scrubs a string value in place, and reports whether the
// attribute is to be removed (nothing was left of it). URL-shaped
// attributes get the URL scrubber (query parameters by name, userinfo), the
// others the text detectors. Numbers and booleans carry no text.
func (p *anonymizerProcessor) scrubValue(kind attrKind, v pcommon.Value, counts *counter) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
	case pcommon.ValueTypeSlice, pcommon.ValueTypeMap, pcommon.ValueTypeBytes:
		// Only OTLP clients send these; scrub them as text.
		v.SetStr(v.AsString())
	default:
		return false
	}
	s := v.Str()
	if sealed.IsSealed(s) {
		return false
	}
	var out string
	var c scrub.Counts
	switch kind {
	case kindURL:
		out, c = p.scrubber.URL(s)
	case kindQuery:
		out, c = p.scrubber.Query(s)
	case kindPath:
		out, c = p.scrubber.Path(s)
	default:
		out, c = p.scrubber.Text(s)
	}
	return p.setScrubbed(v, s, out, c, counts)
}

// setScrubbed stores a scrubbed value and its redaction counts, and reports
// whether the attribute is to be removed (nothing was left of it).
func (p *anonymizerProcessor) setScrubbed(v pcommon.Value, in, out string, c scrub.Counts, counts *counter) bool {
	if out != in {
		v.SetStr(out)
		counts.add(c)
	}
	return out == "" && in != ""
}

const detectorFormValue = "form_value"

// attrKind says how the anonymizer treats an attribute.
type attrKind uint8

const (
	kindText attrKind = iota // scrubbed with the text detectors
	kindURL
	kindQuery
	kindPath
	kindSkip // made by the pipeline, no free text
	kindPseudonymize
	kindRecoverable
	kindProperties
	kindRemove // removed from every event, whatever the configuration says
)

// attrKinds builds the one lookup table processRecord needs per attribute.
// Event-model names are known, so only foreign names are checked for
// looking like form values.
func attrKinds(pseudonymize, recoverable map[string]bool) map[string]attrKind {
	m := map[string]attrKind{}
	for i := range eventmodel.Attributes {
		a := &eventmodel.Attributes[i]
		m[a.Name] = modelKind(a)
	}
	for n := range pseudonymize {
		m[n] = kindPseudonymize
	}
	for n := range recoverable {
		m[n] = kindRecoverable
	}
	// A transport attribute (the two-tier routing key: the raw visitor id
	// or client address, for the front tier's load balancer only) goes,
	// even when listed in pseudonymize or recoverable.
	for _, n := range eventmodel.Names(func(a *eventmodel.Attribute) bool { return a.Class == eventmodel.ClassTransport }) {
		m[n] = kindRemove
	}
	return m
}

// modelKind is how an event-model attribute is scrubbed, from its class.
func modelKind(a *eventmodel.Attribute) attrKind {
	if a.SetBy > eventmodel.StageAnonymizer {
		// A later stage writes it, so on an event here it came from
		// outside the pipeline (an OTLP client): free text until that
		// stage rewrites it.
		return kindText
	}
	switch a.Class {
	case eventmodel.ClassURL:
		return kindURL
	case eventmodel.ClassURLPath:
		return kindPath
	case eventmodel.ClassURLQuery:
		return kindQuery
	case eventmodel.ClassText:
		return kindText
	case eventmodel.ClassProperties:
		return kindProperties
	case eventmodel.ClassTransport:
		return kindRemove
	}
	// Codes, numbers, dates, locations, identifiers (pseudonymised by
	// configuration) and the connection (reduced on its own): no free
	// text to scrub. The ad platform's click id stays as it is: it is
	// uploaded back to the platform with conversions (the consent
	// processor removes it without marketing consent).
	return kindSkip
}

func strValue(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}
