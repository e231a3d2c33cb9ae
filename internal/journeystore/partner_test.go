package journeystore

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

// idLike are the event-model names that identify a person, a browser, a
// visit or an event, whatever their class says: never on a partner-facing
// document.
var idLike = map[string]bool{
	eventmodel.AttrEventID: true, eventmodel.AttrPageViewID: true, eventmodel.AttrVisitID: true,
	eventmodel.AttrEntityID: true, eventmodel.AttrEntityVersion: true, eventmodel.AttrOutcomeEventID: true,
	eventmodel.AttrOutcomeVisitID: true, eventmodel.AttrCookielessKey: true, eventmodel.AttrCookielessKeyPrevious: true,
	eventmodel.AttrVisitNumber: true,
}

// Every field a partner may see is in the event model (or the document's
// own), and none identifies anyone: no visitor, user, session or click id,
// no address, no id of a visit or event.
func TestPartnerFieldsHoldNoIdentifier(t *testing.T) {
	for f, fields := range partnerFields {
		for _, name := range fields {
			if name == FieldTimestamp || name == FieldEventName {
				continue
			}
			a, ok := eventmodel.Lookup(name)
			require.True(t, ok, "%s: %s is not in the event model", f, name)
			assert.True(t, a.Stored(), name)
			assert.False(t, a.RemovedWhenAnonymous(), "%s: %s is removed from anonymous events: it identifies or links", f, name)
			assert.NotContains(t, []eventmodel.Class{eventmodel.ClassVisitorID, eventmodel.ClassUserID, eventmodel.ClassMarketingID,
				eventmodel.ClassNetwork, eventmodel.ClassPreciseGeo, eventmodel.ClassTransport}, a.Class, "%s: %s", f, name)
			assert.False(t, idLike[name], "%s: %s identifies", f, name)
		}
		assert.Contains(t, fields, eventmodel.AttrChannelPartner, "the alias filters on it")
		assert.Contains(t, fields, eventmodel.AttrSiteID, "the alias filters on it")
	}
}

func TestAppendPartnerDocument(t *testing.T) {
	enc := NewEncoder("wj", time.Now(), nil)
	lr := plog.NewLogRecord()
	storetest.Visit("visit-1", 7, "shop", "k1:visitor")(lr)
	lr.Attributes().PutStr(eventmodel.AttrChannelPartner, "archipro")
	lr.Attributes().PutStr(eventmodel.AttrUserID, "k1:user")
	lr.Attributes().PutStr(eventmodel.AttrSessionID, "s-1")
	lr.Attributes().PutStr(eventmodel.AttrReferralClickID, "k1:click")
	lr.Attributes().PutInt(eventmodel.AttrVisitNumber, 3)
	src, _ := enc.Append(nil, lr)

	doc, err := AppendPartnerDocument(nil, FamilyPartnerVisits, src)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(doc, &got), string(doc))
	assert.Equal(t, map[string]any{
		"@timestamp":                     "2026-11-23T09:00:00Z",
		"event.name":                     eventmodel.EventVisit,
		eventmodel.AttrSchemaVersion:     float64(eventmodel.SchemaVersion),
		eventmodel.AttrSiteID:            "shop",
		eventmodel.AttrChannelPartner:    "archipro",
		eventmodel.AttrChannelMedium:     eventmodel.MediumSearch,
		eventmodel.AttrChannelSource:     "google",
		eventmodel.AttrDeviceClass:       eventmodel.DeviceMobile,
		eventmodel.AttrVisitStart:        "2026-11-23T09:00:00Z",
		eventmodel.AttrVisitLastActivity: "2026-11-23T09:12:00.4Z",
		eventmodel.AttrVisitDuration:     float64(760400),
		eventmodel.AttrVisitPagesViewed:  float64(7),
		eventmodel.AttrVisitBounce:       false,
		eventmodel.AttrVisitLandingPage:  "/pricing",
		eventmodel.AttrVisitOutcomes:     []any{"purchase"},
	}, got)
	for _, id := range []string{"visit-1", "k1:visitor", "k1:user", "s-1", "k1:click"} {
		assert.NotContains(t, string(doc), id)
	}

	// A repeated key counts once, the first (as the encoder keeps it);
	// the order of the listed fields is kept.
	doc, err = AppendPartnerDocument([]byte("x"), FamilyPartnerCredits, []byte(`{"webjourney.site.id":"a","webjourney.site.id":"b","webjourney.visitor.id":"k1:v","@timestamp":"t"}`))
	require.NoError(t, err)
	assert.Equal(t, `x{"@timestamp":"t","webjourney.site.id":"a"}`, string(doc))

	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1}{}`, `{"a":1`, `"x"`, `{"a":1} x`} {
		_, err := AppendPartnerDocument(nil, FamilyPartnerVisits, []byte(bad))
		assert.Error(t, err, bad)
	}
	_, err = AppendPartnerDocument(nil, FamilyVisits, []byte(`{}`))
	assert.ErrorContains(t, err, "not a partner-facing family")
}

func FuzzAppendPartnerDocument(f *testing.F) {
	f.Add([]byte(`{"@timestamp":"2026-11-23T09:00:00Z","webjourney.channel.partner":"p","webjourney.visitor.id":"k1:v"}`), true)
	f.Add([]byte(`{"webjourney.outcome.value":1e400,"webjourney.site.id":{"a":[1,2]}}`), false)
	f.Add([]byte(`{"a":"\ud800","webjourney.site.id":"\u0000"}`), true)
	f.Fuzz(func(t *testing.T, src []byte, visits bool) {
		family := FamilyPartnerCredits
		if visits {
			family = FamilyPartnerVisits
		}
		doc, err := AppendPartnerDocument(nil, family, src)
		if err != nil {
			return
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(doc, &got); err != nil {
			t.Fatalf("not a JSON object: %q from %q", doc, src)
		}
		for k := range got {
			if !slices.Contains(partnerFields[family], k) {
				t.Fatalf("field %q is not a partner field: %q", k, doc)
			}
		}
	})
}

func TestPartnerAliasAndID(t *testing.T) {
	l := Layout{Prefix: "wj"}
	alias, err := l.PartnerAlias("shop", "archipro")
	require.NoError(t, err)
	assert.Equal(t, "wj-partner-shop-archipro", alias)
	for _, bad := range [][2]string{{"Shop", "p"}, {"shop", "Arch Pro"}, {"", "p"}, {"shop", ""}, {"shop", "-p"}, {"sh*p", "p"}} {
		_, err := l.PartnerAlias(bad[0], bad[1])
		assert.Error(t, err, bad)
	}
	assert.Equal(t, PartnerDocumentID("visit-1"), PartnerDocumentID("visit-1"))
	assert.NotEqual(t, PartnerDocumentID("visit-1"), PartnerDocumentID("visit-2"))
	assert.NotContains(t, PartnerDocumentID("visit-1"), "visit")
	assert.Len(t, PartnerDocumentID("visit-1"), 32)

	assert.Equal(t, FamilyPartnerVisits, l.familyOfIndex("wj-partner-visits"))
	assert.Equal(t, FamilyPartnerCredits, l.familyOfIndex("wj-partner-credits"))
	index, id, ok := (&Store{layout: l}).partnerCopy("wj-credits", "c-1")
	assert.True(t, ok)
	assert.Equal(t, "wj-partner-credits", index)
	assert.Equal(t, PartnerDocumentID("c-1"), id)
	_, _, ok = (&Store{layout: l}).partnerCopy("wj-visitors", "r-1")
	assert.False(t, ok, "visitors have no partner-facing copy")
	assert.Error(t, CheckDeadLetterIndex("wj-partner-visits", "wj"))
	assert.Error(t, CheckDeadLetterIndex("wj_erasures", "wj"))
}
