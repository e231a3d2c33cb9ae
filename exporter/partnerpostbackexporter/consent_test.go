package partnerpostbackexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadatatest"
	"github.com/webjourney/webjourney/internal/eventmodel"
)

// A TC string from IAB Europe's encoder (internal/consentgate/testdata/
// tcstrings.mjs) with purposes 1, 8 only: no purpose 7.
const tcWithoutPurpose7 = "CP4bJcAP4bJcAEsACBENBoEAAIEAAAAAAAYgAFABAAAAAAAA.IAPgBAAAIAAA"

// The journeys of the issue that must not reach the partner, as their
// credit records arrive: each is skipped, and counted by its reason.
func TestConsentGate(t *testing.T) {
	ps := newPartnerServer(t)
	keyFile, s := clickKeys(t)
	tt := componenttest.NewTelemetry()
	e := newDirect(t, tt, testConfig(t, ps, keyFile, PartnerConfig{}))

	cases := []struct {
		id      string
		consent map[string]any
	}{
		{"no-marketing", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tag_granted", eventmodel.AttrConsentMarketing: "unknown"}},
		{"marketing-denied", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "marketing_denied", eventmodel.AttrConsentMarketing: "denied"}},
		{"gpc", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tag_granted", eventmodel.AttrConsentMarketing: "granted", eventmodel.AttrGPC: true}},
		{"tcf-purposes", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tcf_consent", eventmodel.AttrTCFGDPRApplies: true, eventmodel.AttrOutcomeTCFString: tcWithoutPurpose7}},
		{"cookieless", map[string]any{eventmodel.AttrConsentDecision: "anonymous", eventmodel.AttrConsentReason: "cookieless"}},
		{"no-consent-processor", map[string]any{eventmodel.AttrConsentMarketing: "granted"}},
	}
	var recs []creditRecord
	for _, c := range cases {
		r := purchase("click-" + c.id)
		r.eventID, r.consent = c.id, c.consent
		recs = append(recs, r)
	}
	require.NoError(t, e.pushLogs(context.Background(), logsOf(t, s, recs...)))
	assert.Empty(t, ps.requests())
	metadatatest.AssertEqualExporterPartnerPostbackSkipped(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: partnerSet("reason", "anonymous")},
		{Value: 1, Attributes: partnerSet("reason", "gpc")},
		{Value: 1, Attributes: partnerSet("reason", "marketing_denied")},
		{Value: 1, Attributes: partnerSet("reason", "no_consent")},
		{Value: 1, Attributes: partnerSet("reason", "no_marketing_consent")},
		{Value: 1, Attributes: partnerSet("reason", "tcf_purposes")},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestConsentConfig(t *testing.T) {
	r := ConsentConfig{}.rules()
	assert.Equal(t, []uint8{1, 7}, r.Purposes)
	assert.True(t, r.DenyOnGPC)
	assert.False(t, r.DenyOnDNT)
	r = ConsentConfig{TCFPurposes: []uint8{1, 7, 9}, IABVendorID: 755, GPC: "ignore", DNT: "deny"}.rules()
	assert.Equal(t, []uint8{1, 7, 9}, r.Purposes)
	assert.EqualValues(t, 755, r.VendorID)
	assert.False(t, r.DenyOnGPC)
	assert.True(t, r.DenyOnDNT)

	_, err := compile("p", &PartnerConfig{URL: "https://x.example/", Outcomes: []string{"a"}, SecretEnv: "S",
		Consent: ConsentConfig{TCFPurposes: []uint8{0}, GPC: "maybe"}})
	assert.ErrorContains(t, err, "p::client::timeout: must be positive")
	assert.ErrorContains(t, err, "p::consent::tcf_purposes::0: 0 is not a TCF purpose")
	assert.ErrorContains(t, err, `p::consent::gpc: "maybe": use deny or ignore`)
}
