package attributionprocessor

import (
	"context"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/channel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// handle applies one record to its visitor's journey and returns the
// telemetry result.
func (p *attributionProcessor) handle(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, b *batch) string {
	m := lr.Attributes()
	switch lr.EventName() {
	case eventmodel.EventVisit, eventmodel.EventVisitor, eventmodel.EventAttributionCredit, eventmodel.EventConsentUpdate:
		return resultNotJourney
	case eventmodel.EventErasureRequest:
		// The visitor's journey is forgotten here as it is erased in
		// storage, so that no later record brings it back.
		if key, _ := visitorKey(m); key != "" {
			st := p.stateFor(eventrecord.Str(m, eventmodel.AttrSiteID))
			st.tracker.Forget(key)
			if st.history != nil {
				st.history.tracker.Forget(key)
			}
		}
		return resultNotJourney
	}
	if v, ok := m.Get(eventmodel.AttrBot); ok && v.Type() == pcommon.ValueTypeBool && v.Bool() {
		return resultBot
	}
	key, keyAttr := visitorKey(m)
	if key == "" {
		return resultNoVisitor
	}
	f := readFields(m)
	st := p.stateFor(f.site)
	ev := journey.Event{
		ID:          f.id,
		Visitor:     key,
		Site:        f.site,
		Name:        lr.EventName(),
		Time:        eventrecord.Time(lr),
		Path:        f.path,
		EngagedMs:   f.engagedMs,
		DeviceClass: f.device,
		Country:     f.country,
		History:     f.history,
	}
	var ch channel.Result
	if eventmodel.IsPageView(ev.Name) {
		ch = classify(st.classifier, &f)
		ev.Medium, ev.Source, ev.Partner = ch.Medium, ch.Source, ch.Partner
		ev.Campaign = f.utmCampaign
		ev.Referrer, ev.ReferrerOnly = f.referrerDomain, referrerOnly(&f)
		if ch.Partner != "" {
			ev.PartnerWindow = time.Duration(f.partnerWindowMs) * time.Millisecond
		}
	}
	ref, applied, reason := st.tracker.Touch(ev)
	if reason == journey.ReasonHistoryBehind {
		// History older than the visitor's state: its own tracker
		// builds its visits and credits, the visitor's state stays.
		st = st.historyState()
		ev.History = false // in order there, as any import
		ref, applied, reason = st.tracker.Touch(ev)
	}
	if !applied {
		return reason
	}
	subj := subject{site: f.site, key: key, keyAttr: keyAttr}
	if len(ref.Dropped) > 0 { // rare: only when a visit starts
		b.dropVisits(ref.Dropped, p.emitter != nil)
	}
	putVisitOnEvent(m, &ref, &ch, ev.Path)

	funnels := ref.Funnels
	if len(p.rules.outcomes) > 0 || (len(p.rules.funnels) > 0 && !st.isHistory) {
		tc := ottllog.NewTransformContext(rl, sl, lr)
		if len(p.rules.outcomes) > 0 {
			p.outcomes(ctx, tc, st, subj, ev, &ref, b)
		}
		// Funnels follow the live journey only: the history tracker's
		// attempts would be another record of the same visitor.
		if len(p.rules.funnels) > 0 && !st.isHistory {
			funnels |= p.funnelSteps(ctx, tc, st, &ev, ref.VisitID, eventrecord.Str(m, eventmodel.AttrConsentDecision))
		}
		tc.Close()
	}
	// The visitor record is re-emitted when the visitor changes in
	// substance (a visit starts or is re-entered, an outcome or segment
	// is marked), not on every event: its last_seen moving on is not
	// worth a write per event, the visit record has the latest activity.
	b.visit(st, subj, ref.VisitID, ref.Touched, rider{visits: ref.VisitorVisits, partner: ref.VisitorPartner, outcomes: ref.VisitorOutcomes, version: ref.VisitVersion,
		firstSeen: ref.VisitorFirstSeen, firstMedium: ref.VisitorFirstMedium, firstSource: ref.VisitorFirstSource}, funnels)
	if st.isHistory {
		return journey.ReasonHistoryBehind
	}
	return resultApplied
}

// classify finds the channel of a page view from the parts of its URL,
// referrer and campaign the receiver wrote.
func classify(cl *channel.Classifier, f *fields) channel.Result {
	// Anonymous events keep only the referrer's scheme and domain (the
	// consent processor removes the rest): enough for the channel, not
	// for a search term.
	in := channel.Input{
		LandingHost: f.domain,
		Referrer:    channel.Referrer{Scheme: f.referrerScheme, Host: f.referrerDomain, Path: f.referrerPath, Query: f.referrerQuery},
		UTMSource:   f.utmSource,
		UTMMedium:   f.utmMedium,
		UTMCampaign: f.utmCampaign,
		ClickIDType: f.clickIDType,
	}
	if f.referralLanding {
		// The receiver detected the partner's landing on this page view.
		in.Partner = f.partner
	}
	return cl.Classify(in)
}

// referrerOnly reports whether a page view's channel can rest on nothing
// but its referrer: it has no campaign field, ad click id or partner
// landing of its own. Any of them, even one the classifier ignores, makes
// the page view a new arrival to the journey.
func referrerOnly(f *fields) bool {
	return f.utmSource == "" && f.utmMedium == "" && f.utmCampaign == "" &&
		f.clickIDType == "" && !(f.referralLanding && f.partner != "")
}

// putVisitOnEvent writes the event's visit and the visit's entry channel
// on the event, so that events alone answer "which channel do these pages
// come from". The search term is written only on the visit's landing page
// view, when its channel is the visit's entry.
func putVisitOnEvent(m pcommon.Map, ref *journey.Ref, ch *channel.Result, path string) {
	term := ch.SearchTerm != "" && ref.LandingPage == path && ref.Medium == ch.Medium && ref.Source == ch.Source
	// At most one reallocation for all of them, and none when the
	// attributes have room (the anonymizer reserves
	// eventmodel.AttributionAttrs).
	m.EnsureCapacity(m.Len() + 1 + nonEmpty(ref.Medium, ref.Source, ref.Campaign, ref.Partner) + btoi(term))
	m.PutStr(eventmodel.AttrVisitID, ref.VisitID)
	putChannel(m, ref.Medium, ref.Source, ref.Campaign, ref.Partner)
	if term {
		m.PutStr(eventmodel.AttrChannelSearchTerm, ch.SearchTerm)
	}
}

func nonEmpty(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
