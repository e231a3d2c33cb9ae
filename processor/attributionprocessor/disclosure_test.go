package attributionprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Credit records carry the outcome event's consent and, on the partner's
// own touches only, its sealed click id: what a postback exporter decides on.
func TestCreditsCarryTheOutcomesDisclosure(t *testing.T) {
	const sealedClick = "enc:v1:k1:c2VhbGVkLWNsaWNrLWlkLWZvci10ZXN0cw"
	s := run(t, testConfig(),
		hit{at: 0, visitor: "d", url: site + "/?__apid=77", ref: "https://archipro.co.nz/", partner: "archipro", landing: true},
		hit{at: day, visitor: "d", url: site + "/", ref: "https://www.instagram.com/"},
		hit{at: day + time.Minute, visitor: "d", name: "webjourney.custom", custom: "purchase", props: map[string]any{"revenue": 10}, partner: "archipro",
			attrs: map[string]any{
				eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tcf_consent",
				eventmodel.AttrConsentMarketing: "granted", eventmodel.AttrGPC: false, eventmodel.AttrTCFGDPRApplies: true,
				eventmodel.AttrTCFString: "CQtAQoAQtAQoAAHABBENBgFgAP_gAAAAAAAAAAAAAAAA", eventmodel.AttrReferralClickIDSealed: sealedClick,
			}},
	)
	credits := s.of(eventmodel.EventAttributionCredit)
	require.NotEmpty(t, credits)
	partnerTouches, others := 0, 0
	for _, c := range credits {
		assert.Equal(t, "keep", attrStr(c, eventmodel.AttrConsentDecision))
		assert.Equal(t, "tcf_consent", attrStr(c, eventmodel.AttrConsentReason))
		assert.Equal(t, "granted", attrStr(c, eventmodel.AttrConsentMarketing))
		assert.Equal(t, "CQtAQoAQtAQoAAHABBENBgFgAP_gAAAAAAAAAAAAAAAA", attrStr(c, eventmodel.AttrOutcomeTCFString))
		gpc, ok := c.Attributes().Get(eventmodel.AttrGPC)
		require.True(t, ok)
		assert.False(t, gpc.Bool())
		_, dnt := c.Attributes().Get(eventmodel.AttrDNT)
		assert.False(t, dnt, "an absent signal stays absent")
		if attrStr(c, eventmodel.AttrChannelPartner) == "archipro" {
			partnerTouches++
			assert.Equal(t, sealedClick, attrStr(c, eventmodel.AttrReferralClickIDSealed))
		} else {
			others++
			assert.Empty(t, attrStr(c, eventmodel.AttrReferralClickIDSealed), "another touch never carries the partner's click id")
		}
	}
	assert.Positive(t, partnerTouches)
	assert.Positive(t, others)
}
