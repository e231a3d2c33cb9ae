package journeystore

// Data-subject requests, erasure tombstones, partner access and the
// retention of stamped events and dead letters, against the real
// Elasticsearch at ELASTICSEARCH_URL.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/test/storetest"
)

// Tombstones are loaded incrementally: nothing new costs one real-time get
// and returns nothing; concurrent writers each move the generation once,
// and a reader that had generation g finds every tombstone after it.
func TestTombstonesIncremental(t *testing.T) {
	st, _ := newTestStore(t, false)
	ctx := context.Background()
	now := time.Now()

	gen, err := st.TombstoneGeneration(ctx)
	require.NoError(t, err)
	assert.Zero(t, gen, "no index yet")
	got, gen, err := st.TombstonesSince(ctx, 0, now.Add(-time.Hour))
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Zero(t, gen)

	first := SubjectKey("shop", KindVisitor, "k1:first")
	require.NoError(t, st.AddTombstones(ctx, []TombstoneKey{first}, now))
	got, gen, err = st.TombstonesSince(ctx, 0, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, first, got[0].Key)
	assert.EqualValues(t, 1, gen)
	got, gen, err = st.TombstonesSince(ctx, gen, now.Add(-time.Hour))
	require.NoError(t, err)
	assert.Empty(t, got, "nothing new")
	assert.EqualValues(t, 1, gen)

	// Eight erasures at once.
	var wg sync.WaitGroup
	var want []TombstoneKey
	for i := range 8 {
		k := SubjectKey("shop", KindUser, fmt.Sprintf("k1:user-%d", i))
		want = append(want, k)
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, st.AddTombstones(ctx, []TombstoneKey{k}, now))
		}()
	}
	wg.Wait()
	got, gen, err = st.TombstonesSince(ctx, 1, now.Add(-time.Hour))
	require.NoError(t, err)
	assert.EqualValues(t, 9, gen, "each writer moved the generation once")
	var keys []TombstoneKey
	for _, ts := range got {
		keys = append(keys, ts.Key)
	}
	assert.ElementsMatch(t, want, keys)

	// Expired ones are not loaded, and the retention check deletes them.
	old := SubjectKey("shop", KindVisitor, "k1:old")
	require.NoError(t, st.AddTombstones(ctx, []TombstoneKey{old}, now.AddDate(-2, 0, 0)))
	got, _, err = st.TombstonesSince(ctx, 9, now.AddDate(-1, 0, 0))
	require.NoError(t, err)
	assert.Empty(t, got)
	n, err := st.ExpireTombstones(ctx, now.AddDate(-1, 0, 0))
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	got, _, err = st.TombstonesSince(ctx, 0, now.AddDate(-10, 0, 0))
	require.NoError(t, err)
	assert.Len(t, got, 9, "the marker is not a tombstone and stays")
}

// fillPartner puts a referral partner on a visit or credit record.
func fillPartner(fill func(plog.LogRecord), partner string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		fill(lr)
		lr.Attributes().PutStr(eventmodel.AttrChannelPartner, partner)
	}
}

// userEvent is a page view of visitor (and user, when set) on site.
func userEvent(t *testing.T, n int, site, visitor, user string, at time.Time) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		storetest.PageView(lr, storetest.UniqueID(t, n))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		a.Remove(eventmodel.AttrUserID)
		if user != "" {
			a.PutStr(eventmodel.AttrUserID, user)
		}
	}
}

// A user's request finds the browsers the user was seen on; export lists
// every document about the person, partner-facing copies and dead letters
// included; erase deletes exactly those, records tombstones for every id
// and an audit record without them.
func TestExportAndEraseSubject(t *testing.T) {
	st, es := newTestStore(t, true)
	prefix, dl := st.layout.Prefix, st.layout.DeadLetterIndex
	install(t, st)
	ctx := context.Background()
	now := time.Now().UTC()
	const user, v1, v2, other = "k1:user", "k1:browser-1", "k1:browser-2", "k1:someone-else"
	write(t, st,
		userEvent(t, 1, "shop", v1, "", now.AddDate(0, -1, 0)), // before login, another month
		userEvent(t, 2, "shop", v1, user, now),
		userEvent(t, 3, "shop", v2, user, now),
		userEvent(t, 4, "shop", other, "", now),
		userEvent(t, 5, "blog", v1, user, now), // another site: another subject
		fillPartner(storetest.Visit("visit-1", 1, "shop", v1), "archipro"),
		storetest.Visitor("visitor-1", 1, "shop", v1, now),
		fillPartner(storetest.Credit("credit-1", "shop", v1, now), "archipro"),
		fillPartner(storetest.Visit("visit-other", 1, "shop", other), "archipro"),
	)
	// The partner's copies (of visit-1, credit-1 and visit-other).
	_, err := st.GrantPartner(ctx, "shop", "archipro")
	require.NoError(t, err)
	require.Equal(t, 2, es.CountIndex(prefix+"-partner-visits"))
	// A dead letter of the user.
	lr := plog.NewLogRecord()
	userEvent(t, 6, "shop", v2, user, now)(lr)
	r := Refusal{Index: prefix + "-events-x", ID: "e-6", Status: 400, Type: "document_parsing_exception", Reason: "test"}
	doc := r.AppendDeadLetter(nil, lr, []byte(`{}`), now)
	status, raw := es.Do(http.MethodPut, "/"+dl+"/_doc/"+r.DeadLetterID([]byte(`{}`))+"?refresh=true", json.RawMessage(doc))
	require.Equal(t, http.StatusCreated, status, string(raw))

	visitors, err := st.LinkedVisitors(ctx, "shop", []string{user})
	require.NoError(t, err)
	assert.Equal(t, []string{v1, v2}, visitors)
	er := &Erasure{Site: "shop", Visitors: visitors, Users: []string{user}}

	var docs []SubjectDocument
	rep, err := st.ExportSubject(ctx, er, func(d SubjectDocument) error {
		docs = append(docs, d)
		return nil
	})
	require.NoError(t, err)
	counts := map[Family]int64{}
	for _, f := range rep.Families {
		counts[f.Family] = f.Documents
	}
	assert.Equal(t, map[Family]int64{FamilyEvents: 3, FamilyVisits: 1, FamilyVisitors: 1, FamilyCredits: 1, FamilyFunnels: 0, FamilyDeadLetter: 1,
		FamilyPartnerVisits: 1, FamilyPartnerCredits: 1}, counts)
	assert.EqualValues(t, 9, rep.Total)
	require.Len(t, docs, 9)
	for _, d := range docs {
		assert.True(t, json.Valid(d.Source), d.ID)
		assert.NotContains(t, string(d.Source), other, "nobody else's document")
	}

	erased, err := st.EraseAll(ctx, er)
	require.NoError(t, err)
	assert.EqualValues(t, 9, erased.Total)
	assert.Equal(t, 3, es.Count(prefix), "the other visitor's and the other site's events stay, with the audit record")
	assert.Equal(t, 1, es.CountIndex(prefix+"-partner-visits"), "the other visitor's copy stays")
	assert.Zero(t, es.CountIndex(prefix+"-partner-credits"))
	assert.Zero(t, es.CountIndex(dl))
	for _, d := range es.Search(prefix+"-*", nil) {
		if d[eventmodel.AttrSiteID] == "blog" {
			continue // another site: another subject
		}
		raw, _ := json.Marshal(d)
		for _, id := range []string{v1, v2, user} {
			assert.False(t, bytes.Contains(raw, []byte(`"`+id+`"`)), "%s is still stored: %s", id, raw)
		}
	}

	// A tombstone per id, none holding an id.
	got, _, err := st.TombstonesSince(ctx, 0, now.Add(-time.Hour))
	require.NoError(t, err)
	var keys []TombstoneKey
	for _, ts := range got {
		keys = append(keys, ts.Key)
	}
	assert.ElementsMatch(t, er.TombstoneKeys(), keys)
	tombs, _ := json.Marshal(es.Search(st.layout.ErasuresIndex(), nil))
	assert.NotContains(t, string(tombs), "k1:")
}

// A partner's alias returns only that partner's rows of that site, and no
// row holds an identifier: not as a field, not as the document id.
func TestPartnerAliasReturnsOnlyThePartnersRowsWithoutIDs(t *testing.T) {
	st, es := newTestStore(t, false)
	prefix := st.layout.Prefix
	install(t, st)
	ctx := context.Background()
	now := time.Now().UTC()
	withIDs := func(fill func(plog.LogRecord)) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			fill(lr)
			a := lr.Attributes()
			a.PutStr(eventmodel.AttrUserID, "k1:user-id-value")
			a.PutStr(eventmodel.AttrSessionID, "session-id-value")
			a.PutStr(eventmodel.AttrReferralClickID, "k1:click-id-value")
			a.PutStr(eventmodel.AttrClickIDValue, "gclid-value")
			a.PutStr(eventmodel.AttrOutcomeEventID, "event-id-value")
			a.PutStr(eventmodel.AttrOutcomeVisitID, "visit-id-value")
		}
	}
	write(t, st,
		withIDs(fillPartner(storetest.Visit("v-archipro-1", 1, "shop", "k1:visitor-a"), "archipro")),
		withIDs(fillPartner(storetest.Visit("v-archipro-2", 2, "shop", "k1:visitor-b"), "archipro")),
		withIDs(fillPartner(storetest.Credit("c-archipro-1", "shop", "k1:visitor-a", now), "archipro")),
		withIDs(fillPartner(storetest.Visit("v-houzz-1", 1, "shop", "k1:visitor-c"), "houzz")),
		withIDs(fillPartner(storetest.Credit("c-houzz-1", "shop", "k1:visitor-c", now), "houzz")),
		withIDs(fillPartner(storetest.Visit("v-archipro-blog", 1, "blog", "k1:visitor-d"), "archipro")),
		withIDs(storetest.Visit("v-direct", 1, "shop", "k1:visitor-e")),
	)
	g, err := st.GrantPartner(ctx, "shop", "archipro")
	require.NoError(t, err)
	assert.Equal(t, prefix+"-partner-shop-archipro", g.Alias)
	assert.Equal(t, map[Family]int64{FamilyPartnerVisits: 2, FamilyPartnerCredits: 1}, g.Copied)
	_, err = st.GrantPartner(ctx, "shop", "houzz")
	require.NoError(t, err)

	var res struct {
		Hits struct {
			Hits []struct {
				Index  string         `json:"_index"`
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	es.Do(http.MethodPost, "/"+prefix+"-partner-*/_refresh", nil)
	es.Decode(http.MethodPost, "/"+g.Alias+"/_search", map[string]any{"size": 100}, &res)
	require.Len(t, res.Hits.Hits, 3, "two visits and a credit of archipro on shop")
	allowed := append(slices.Clone(partnerFields[FamilyPartnerVisits]), partnerFields[FamilyPartnerCredits]...)
	raw, _ := json.Marshal(res)
	for _, h := range res.Hits.Hits {
		assert.Equal(t, "archipro", h.Source[eventmodel.AttrChannelPartner])
		assert.Equal(t, "shop", h.Source[eventmodel.AttrSiteID])
		for k := range h.Source {
			assert.Contains(t, allowed, k)
		}
	}
	for _, id := range []string{"visitor-", "v-archipro", "c-archipro", "user-id-value", "session-id-value", "click-id-value",
		"gclid-value", "event-id-value", "visit-id-value", "houzz", "blog"} {
		assert.NotContains(t, string(raw), id, "the partner sees %s", id)
	}
	// The mapping a partner may read through the alias holds id fields
	// (one mapping for the family), but no document has a value in them.
	for _, field := range []string{eventmodel.AttrVisitorID, eventmodel.AttrUserID, eventmodel.AttrSessionID, eventmodel.AttrVisitID,
		eventmodel.AttrReferralClickID, eventmodel.AttrClickIDValue, eventmodel.AttrEntityID, eventmodel.AttrEventID} {
		var c struct {
			Count int `json:"count"`
		}
		es.Decode(http.MethodPost, "/"+prefix+"-partner-*/_count", map[string]any{"query": map[string]any{"exists": map[string]any{"field": field}}}, &c)
		assert.Zero(t, c.Count, field)
	}

	// Granting again copies again, harmlessly; revoking removes the alias.
	_, err = st.GrantPartner(ctx, "shop", "archipro")
	require.NoError(t, err)
	assert.Equal(t, 5, es.CountIndex(prefix+"-partner-*"), "each copy once")
	_, err = st.RevokePartner(ctx, "shop", "archipro")
	require.NoError(t, err)
	status, _ := es.Do(http.MethodGet, "/_alias/"+g.Alias, nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// Stamped events expire with their stamp whatever events_months says
// (kept for ever here); dead letters after their days; partner-facing
// copies with their visits and credits.
func TestRetentionOfStampedEventsDeadLettersAndPartnerCopies(t *testing.T) {
	st, es := newTestStore(t, true)
	prefix, dl := st.layout.Prefix, st.layout.DeadLetterIndex
	install(t, st)
	ctx := context.Background()
	now := time.Now().UTC()
	stamped := func(n, months int, at time.Time) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			userEvent(t, n, "shop", "k1:v", "", at)(lr)
			lr.Attributes().PutInt(eventmodel.AttrRetentionMonths, int64(months))
		}
	}
	write(t, st,
		stamped(1, 13, now.AddDate(0, -15, 0)), // expired: kept at most 13 months
		stamped(2, 25, now.AddDate(0, -15, 0)), // kept: 25
		stamped(3, 13, now),
		userEvent(t, 4, "shop", "k1:v", "", now.AddDate(0, -40, 0)), // unstamped, no events_months: kept
		fillPartner(func(lr plog.LogRecord) {
			storetest.Visit("visit-old", 1, "shop", "k1:v")(lr)
			lr.Attributes().PutStr(eventmodel.AttrVisitLastActivity, now.AddDate(0, -26, 0).Format(time.RFC3339Nano))
		}, "archipro"),
	)
	_, err := st.GrantPartner(ctx, "shop", "archipro")
	require.NoError(t, err)
	for i, at := range []time.Time{now.AddDate(0, 0, -31), now.AddDate(0, 0, -29)} {
		lr := plog.NewLogRecord()
		userEvent(t, 10+i, "shop", "k1:v", "", at)(lr)
		r := Refusal{Index: "x", ID: fmt.Sprint(i), Type: "t", Reason: "r"}
		status, raw := es.Do(http.MethodPut, "/"+dl+"/_doc/"+fmt.Sprint(i)+"?refresh=true", json.RawMessage(r.AppendDeadLetter(nil, lr, []byte(`{}`), at)))
		require.Equal(t, http.StatusCreated, status, string(raw))
	}

	rep, err := st.ApplyRetention(ctx, Retention{VisitsMonths: 25, DeadLetterDays: 30}, now, false)
	require.NoError(t, err)
	byName := map[string]RetentionFamily{}
	for _, f := range rep.Families {
		key := f.Family.String()
		if f.Stamp > 0 {
			key = fmt.Sprintf("stamped-%d", f.Stamp)
		}
		byName[key] = f
	}
	assert.Zero(t, byName["events"].Months)
	assert.Empty(t, byName["events"].Indices)
	old13 := prefix + "-events-max13m-" + now.AddDate(0, -15, 0).Format("2006.01")
	assert.Equal(t, []string{old13}, byName["stamped-13"].Indices)
	assert.Equal(t, 13, byName["stamped-13"].Months)
	assert.Equal(t, prefix+"-events-max13m-*", byName["stamped-13"].Index)
	assert.Empty(t, byName["stamped-25"].Indices)
	assert.EqualValues(t, 1, byName["visits"].Documents)
	assert.EqualValues(t, 1, byName["partner_visits"].Documents)
	assert.EqualValues(t, 1, byName["dead_letter"].Documents)
	assert.Equal(t, 30, byName["dead_letter"].Days)

	var left []string
	for _, d := range es.Search(prefix+"-events-*", nil) {
		left = append(left, fmt.Sprint(d[eventmodel.AttrRetentionMonths]))
	}
	sort.Strings(left)
	assert.Equal(t, []string{"13", "25", "<nil>"}, left)
	assert.Equal(t, 1, es.CountIndex(dl))
	assert.Zero(t, es.CountIndex(prefix+"-partner-visits"))

	// With events_months shorter than a stamp, the shorter one applies.
	rep, err = st.ApplyRetention(ctx, Retention{EventsMonths: 12}, now, true)
	require.NoError(t, err)
	for _, f := range rep.Families {
		if f.Stamp == 25 {
			assert.Equal(t, 12, f.Months)
			assert.Len(t, f.Indices, 1)
		}
	}
}

// Documents under key ids that were not given are found and counted.
func TestOtherKeyIDs(t *testing.T) {
	st, _ := newTestStore(t, false)
	install(t, st)
	now := time.Now().UTC()
	const enc22 = "AAAAAAAAAAAAAAAAAAAAAA" // 16 bytes in base64url
	write(t, st,
		userEvent(t, 1, "shop", "k1:"+enc22, "", now),
		userEvent(t, 2, "shop", "k0:"+enc22, "", now),
		userEvent(t, 3, "shop", "k0:"+enc22, "", now),
		userEvent(t, 4, "shop", "k1:"+enc22, "old:"+enc22, now),
		userEvent(t, 5, "shop", "not-a-pseudonym", "", now),
		userEvent(t, 6, "blog", "k9:"+enc22, "", now),
	)
	got, err := st.OtherKeyIDs(context.Background(), "shop", []string{"k1"}, len(enc22))
	require.NoError(t, err)
	sort.Slice(got, func(i, j int) bool { return got[i].KeyID < got[j].KeyID })
	assert.Equal(t, []KeyIDCount{{"k0", 2}, {"old", 1}}, got)
	got, err = st.OtherKeyIDs(context.Background(), "shop", []string{"k0", "k1", "old"}, len(enc22))
	require.NoError(t, err)
	assert.Empty(t, got)
}
