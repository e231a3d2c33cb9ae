package attributionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/eventrecord"
)

// disclosure is what the outcome event says about sharing the conversion
// with a referral partner: the converting visitor's consent as the consent
// processor decided it, and the partner's click id as the anonymizer
// sealed it. Credit records carry it so that a postback exporter decides
// on the record alone; the attribution processor itself never acts on it.
type disclosure struct {
	decision, reason, marketing, tcString string
	gpc, dnt, gdprApplies                 pcommon.Value // empty when absent
	partner, clickSealed                  string        // the event's referral partner and its sealed click id
}

func boolOf(m pcommon.Map, k string) pcommon.Value {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeBool {
		return v
	}
	return pcommon.NewValueEmpty()
}

func disclosureOf(m pcommon.Map) disclosure {
	return disclosure{
		decision:    eventrecord.Str(m, eventmodel.AttrConsentDecision),
		reason:      eventrecord.Str(m, eventmodel.AttrConsentReason),
		marketing:   eventrecord.Str(m, eventmodel.AttrConsentMarketing),
		tcString:    eventrecord.Str(m, eventmodel.AttrTCFString),
		gpc:         boolOf(m, eventmodel.AttrGPC),
		dnt:         boolOf(m, eventmodel.AttrDNT),
		gdprApplies: boolOf(m, eventmodel.AttrTCFGDPRApplies),
		partner:     eventrecord.Str(m, eventmodel.AttrReferralPartner),
		clickSealed: eventrecord.Str(m, eventmodel.AttrReferralClickIDSealed),
	}
}

// put writes the disclosure on a credit record of a touch of partner.
// The sealed click id goes only on the credits of the partner it belongs
// to: another partner's touch must not carry it.
func (d *disclosure) put(m pcommon.Map, partner string) {
	eventrecord.PutNonEmpty(m, eventmodel.AttrConsentDecision, d.decision)
	eventrecord.PutNonEmpty(m, eventmodel.AttrConsentReason, d.reason)
	eventrecord.PutNonEmpty(m, eventmodel.AttrConsentMarketing, d.marketing)
	for _, b := range [...]struct {
		k string
		v pcommon.Value
	}{{eventmodel.AttrGPC, d.gpc}, {eventmodel.AttrDNT, d.dnt}, {eventmodel.AttrTCFGDPRApplies, d.gdprApplies}} {
		if b.v.Type() == pcommon.ValueTypeBool {
			m.PutBool(b.k, b.v.Bool())
		}
	}
	eventrecord.PutNonEmpty(m, eventmodel.AttrOutcomeTCFString, d.tcString)
	if partner != "" && partner == d.partner {
		eventrecord.PutNonEmpty(m, eventmodel.AttrReferralClickIDSealed, d.clickSealed)
	}
}
