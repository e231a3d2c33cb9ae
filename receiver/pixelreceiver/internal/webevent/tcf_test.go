package webevent

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// A real TC string (IAB Europe's encoder, consent to purposes 1-10).
const validTC = "CPzHq4APzHq4AAHABBENC-CgAAAAAAAAAAYgAAAAAAAA.YAAAAAAAAAAA"

// MacroTCStrings are ad-server macros left unfilled, as they reach the
// query after its one decoding.
var MacroTCStrings = []string{
	"${GDPR_CONSENT_123}", "${GDPR_CONSENT_755}", "${gdpr_consent}", "${GDPR}", "${TCF_STRING}",
	"%24%7BGDPR_CONSENT_755%7D", "%24%7BGDPR%7D", "$%7BGDPR_CONSENT_1%7D",
	"[GDPR_CONSENT]", "[gdpr_consent_755]", "{{GDPR_CONSENT}}", "{gdpr_consent}", "%%GDPR_CONSENT_755%%",
	"__GDPR_CONSENT__", "##GDPR_CONSENT##", "$GDPR_CONSENT$", "GDPR_CONSENT_755", "GDPR_CONSENT", "gdpr",
	" ${GDPR_CONSENT_123} ",
}

// MalformedTCStrings cannot be TC strings.
var MalformedTCStrings = []string{
	validTC + "==", "CPzHq4A=", "CPz Hq4A", "CPz+Hq4A/AAA", " " + validTC, validTC + "\n", "alice@example.com",
	"Alice Smith", "CPzHq4A;drop table", "<script>", "CPzHq4A%20", "\x00", "Ç", "a b",
	string(make([]byte, 9000)),
}

func decodeTCF(t *testing.T, d *Decoder, channel, gdpr, tcString string) map[string]any {
	t.Helper()
	lr := plog.NewLogRecord()
	switch channel {
	case eventmodel.ChannelPixel, eventmodel.ChannelIframe:
		q := "s=shop&url=" + url.QueryEscape("https://shop.example/") + "&gdpr_consent=" + url.QueryEscape(tcString)
		if gdpr != "" {
			q += "&gdpr=" + url.QueryEscape(gdpr)
		}
		ev, rej := d.DecodeHit(channel, q, Request{})
		require.Nil(t, rej, "the hit is kept")
		ev.CopyTo(lr)
	case eventmodel.ChannelBeacon:
		tcf := map[string]any{"tc_string": tcString}
		switch gdpr {
		case "1":
			tcf["gdpr_applies"] = true
		case "0":
			tcf["gdpr_applies"] = false
		}
		body, err := json.Marshal(map[string]any{"site": "shop", "tcf": tcf, "events": []any{map[string]any{"url": "https://shop.example/"}}})
		require.NoError(t, err)
		b, rej := d.DecodeBeacon(body, Request{})
		require.Nil(t, rej, "the beacon is kept")
		require.Len(t, b.Events, 1, "the event is kept")
		b.Events[0].CopyTo(lr)
	}
	return lr.Attributes().AsRaw()
}

// Every malformed TC string and every unfilled macro, on every surface,
// with every gdpr flag: the event is kept, the string is never passed on,
// and the mark says why; with gdpr=0 the string is ignored.
func TestMalformedTCStrings(t *testing.T) {
	d := wideDecoder()
	for _, channel := range []string{eventmodel.ChannelPixel, eventmodel.ChannelIframe, eventmodel.ChannelBeacon} {
		for _, gdpr := range []string{"1", "", "0"} {
			check := func(tc, wantErr string) {
				a := decodeTCF(t, d, channel, gdpr, tc)
				assert.NotContains(t, a, eventmodel.AttrTCFString, "%s gdpr=%q %q", channel, gdpr, tc)
				if gdpr == "0" {
					assert.Equal(t, false, a[eventmodel.AttrTCFGDPRApplies])
					assert.NotContains(t, a, eventmodel.AttrTCFStringError, "gdpr=0: the string does not matter")
					return
				}
				assert.Equal(t, wantErr, a[eventmodel.AttrTCFStringError], "%s gdpr=%q %q", channel, gdpr, tc)
			}
			for _, tc := range MacroTCStrings {
				check(tc, eventmodel.TCFStringErrorMacro)
			}
			for _, tc := range MalformedTCStrings {
				check(tc, eventmodel.TCFStringErrorMalformed)
			}
			// A valid string is passed on unless GDPR does not apply.
			a := decodeTCF(t, d, channel, gdpr, validTC)
			assert.NotContains(t, a, eventmodel.AttrTCFStringError)
			if gdpr == "0" {
				assert.NotContains(t, a, eventmodel.AttrTCFString)
			} else {
				assert.Equal(t, validTC, a[eventmodel.AttrTCFString])
			}
		}
	}
}

// The gdpr flag itself unfilled: with no usable string the macro is
// reported; a valid string still decides.
func TestMacroGDPRFlag(t *testing.T) {
	d := wideDecoder()
	for _, flag := range []string{"${GDPR}", "%24%7BGDPR%7D", "[GDPR]", "{{gdpr}}"} {
		for _, tc := range []string{"", "${GDPR_CONSENT_755}", "not a string"} {
			a := decodeTCF(t, d, eventmodel.ChannelPixel, flag, tc)
			assert.NotContains(t, a, eventmodel.AttrTCFGDPRApplies)
			assert.Equal(t, eventmodel.TCFStringErrorMacro, a[eventmodel.AttrTCFStringError], "gdpr=%s gdpr_consent=%q", flag, tc)
		}
		a := decodeTCF(t, d, eventmodel.ChannelPixel, flag, validTC)
		assert.Equal(t, validTC, a[eventmodel.AttrTCFString])
		assert.NotContains(t, a, eventmodel.AttrTCFStringError)
	}
	// Another flag value is unknown, not a macro.
	a := decodeTCF(t, d, eventmodel.ChannelPixel, "yes", "")
	assert.NotContains(t, a, eventmodel.AttrTCFStringError)
}

func TestIsMacro(t *testing.T) {
	for _, s := range MacroTCStrings {
		assert.True(t, isMacro(s), s)
	}
	for _, s := range append([]string{validTC, "CPzHq4A", "CO-AAAA.YAAA", "${}", "[]", "{1}", "__", "$$", "gdprx", "consented"}, MalformedTCStrings...) {
		assert.False(t, isMacro(s), s)
	}
}

// FuzzTCF: whatever the parameters, a TC string is passed on only when it
// is made of base64url segments, never together with an error mark, and
// nothing is passed on when GDPR does not apply.
func FuzzTCF(f *testing.F) {
	for _, s := range append(append([]string{validTC, ""}, MacroTCStrings...), MalformedTCStrings[:len(MalformedTCStrings)-1]...) {
		f.Add("1", s)
		f.Add("${GDPR}", s)
	}
	f.Add("0", "${GDPR_CONSENT_755}")
	f.Fuzz(func(t *testing.T, gdpr, tc string) {
		applies, macro := pixelGDPR(gdpr)
		got := newTCF(applies, macro, tc)
		if got.TCString != "" && (got.StringError != "" || !validTCString(got.TCString)) {
			t.Fatalf("passed on %q with error %q", got.TCString, got.StringError)
		}
		if gdpr == "0" && (got.TCString != "" || got.StringError != "") {
			t.Fatalf("gdpr=0 kept %+v", got)
		}
		if tc != "" && gdpr != "0" && got.TCString == "" && got.StringError == "" {
			t.Fatalf("string %q neither passed on nor marked", tc)
		}
	})
}
