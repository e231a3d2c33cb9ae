package anonymizer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/sealed"
)

const partnerClick = "ap-77c1-canary"

// partnerEvent is a landing page view from a partner link, after the
// consent processor, with the consent attributes given.
func partnerEvent(consent map[string]any) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventmodel.EventPageView)
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrSiteID, "shop")
	a.PutStr(eventmodel.AttrURLFull, "https://shop.example/?utm_source=archipro&__apid="+partnerClick+"&x=1#top")
	a.PutStr(eventmodel.AttrURLQuery, "utm_source=archipro&__apid="+partnerClick+"&x=1")
	a.PutStr(eventmodel.AttrReferrerFull, "https://shop.example/landing?__apid="+partnerClick)
	a.PutStr(eventmodel.AttrReferrerQuery, "__apid="+partnerClick)
	a.PutStr(eventmodel.AttrReferralPartner, "archipro")
	a.PutStr(eventmodel.AttrReferralClickID, partnerClick)
	for k, v := range consent {
		_ = a.PutEmpty(k).FromRaw(v)
	}
	return ld
}

func clickOpener(t *testing.T) *sealed.Sealer {
	text, err := os.ReadFile(filepath.Join("testdata", "recover1.key"))
	require.NoError(t, err)
	key, err := sealed.ParseKey(string(text))
	require.NoError(t, err)
	s, err := sealed.New("c1", map[string][]byte{"c1": key})
	require.NoError(t, err)
	return s
}

// The partner's click id is sealed where a postback may follow, dropped
// elsewhere, and never left in clear: not in its own attribute (a
// pseudonym), not in the page's or the referrer's URL.
func TestPartnerClickIDIsSealedOrDropped(t *testing.T) {
	cfg, err := loadConfig(t, "partner_click_id")
	require.NoError(t, err)
	p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
	opener := clickOpener(t)

	cases := []struct {
		name    string
		consent map[string]any
		sealed  bool
	}{
		{"tag marketing grant", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tag_granted", eventmodel.AttrConsentMarketing: "granted"}, true},
		{"tcf", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tcf_consent", eventmodel.AttrTCFString: "CP4bJcAP4bJc"}, true},
		{"analytics only", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "tag_granted", eventmodel.AttrConsentMarketing: "unknown"}, false},
		{"marketing denied", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "marketing_denied", eventmodel.AttrConsentMarketing: "denied"}, false},
		{"cnil exemption", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentReason: "cnil_exemption", eventmodel.AttrConsentMarketing: "granted"}, false},
		{"no consent processor", map[string]any{eventmodel.AttrConsentMarketing: "granted"}, false},
		{"forged sealed value", map[string]any{eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentMarketing: "unknown",
			eventmodel.AttrReferralClickIDSealed: "enc:v1:c1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, false},
	}
	for i, c := range cases {
		require.NoError(t, p.ConsumeLogs(context.Background(), partnerEvent(c.consent)))
		attrs := sink.AllLogs()[i].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
		for k, v := range attrs.All() {
			assert.NotContains(t, v.AsString(), partnerClick, "%s: %s holds the click id in clear", c.name, k)
		}
		assert.Equal(t, "https://shop.example/?utm_source=archipro&x=1#top", str(attrs, eventmodel.AttrURLFull), c.name)
		assert.Equal(t, "utm_source=archipro&x=1", str(attrs, eventmodel.AttrURLQuery), c.name)
		assert.Equal(t, "https://shop.example/landing", str(attrs, eventmodel.AttrReferrerFull), c.name)
		assert.Empty(t, str(attrs, eventmodel.AttrReferrerQuery), c.name)
		got, ok := attrs.Get(eventmodel.AttrReferralClickIDSealed)
		assert.Equal(t, c.sealed, ok, c.name)
		if ok {
			id, err := opener.Open(got.Str(), sealed.AssociatedData("shop", eventmodel.AttrReferralClickIDSealed))
			require.NoError(t, err, c.name)
			assert.Equal(t, partnerClick, id, c.name)
			_, err = opener.Open(got.Str(), sealed.AssociatedData("blog", eventmodel.AttrReferralClickIDSealed))
			assert.ErrorIs(t, err, sealed.ErrAuth, "bound to the site")
		}
	}
}

// An event that passes a second time keeps its sealed click id (its
// click id is a pseudonym by then).
func TestPartnerClickIDSurvivesASecondPass(t *testing.T) {
	cfg, err := loadConfig(t, "partner_click_id")
	require.NoError(t, err)
	p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
	require.NoError(t, p.ConsumeLogs(context.Background(), partnerEvent(map[string]any{
		eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentMarketing: "granted"})))
	first := sink.AllLogs()[0]
	sealedFirst := str(first.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes(), eventmodel.AttrReferralClickIDSealed)
	require.NotEmpty(t, sealedFirst)
	require.NoError(t, p.ConsumeLogs(context.Background(), first))
	again := str(sink.AllLogs()[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes(), eventmodel.AttrReferralClickIDSealed)
	assert.Equal(t, sealedFirst, again)
}

// Without partner_click_id keys nothing is sealed, and the URLs still lose
// the click id.
func TestPartnerClickIDWithoutKeys(t *testing.T) {
	cfg, err := loadConfig(t, "golden_recoverable")
	require.NoError(t, err)
	p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
	require.NoError(t, p.ConsumeLogs(context.Background(), partnerEvent(map[string]any{
		eventmodel.AttrConsentDecision: "keep", eventmodel.AttrConsentMarketing: "granted"})))
	attrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	_, ok := attrs.Get(eventmodel.AttrReferralClickIDSealed)
	assert.False(t, ok)
	assert.Equal(t, "https://shop.example/?utm_source=archipro&x=1#top", str(attrs, eventmodel.AttrURLFull))
}

func TestPartnerClickIDConfig(t *testing.T) {
	_, err := loadConfig(t, "bad_partner_click_id")
	require.Error(t, err)
	assert.ErrorContains(t, err, `partner_click_id::primary_key: "c2" is not one of partner_click_id::keys`)
	assert.ErrorContains(t, err, `partner_click_id::keys::C1: key id "C1" must be`)
	assert.ErrorContains(t, err, "partner_click_id::keys::C1: set exactly one of env")
}

func TestDropValue(t *testing.T) {
	for raw, want := range map[string]string{
		"a=1&c=ap-1&b=2": "a=1&b=2",
		"c=ap%2D1":       "",
		"ap-1":           "",
		"a=ap-12":        "a=ap-12",
		"a=1;c=ap-1":     "a=1;c=ap-1", // ; is no separator here: urlquery.Parts splits on & only
	} {
		out, _ := dropValue(raw, "ap-1")
		assert.Equal(t, want, out, raw)
	}
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}
