package journeystore

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// The ledger's mapping is versioned with the other templates: a change
// needs a bump of TemplateVersion (an installed template of the same
// version is never replaced) and
// go test ./internal/journeystore -run TestPostbacksMapping -update-mapping.
func TestPostbacksMappingChangesBumpTheVersion(t *testing.T) {
	type golden struct {
		TemplateVersion int            `json:"template_version"`
		Mapping         map[string]any `json:"mapping"`
	}
	path := filepath.Join("testdata", "postbacks-mapping.json")
	current, err := json.Marshal(postbacksMapping())
	require.NoError(t, err)
	now := golden{TemplateVersion: TemplateVersion}
	require.NoError(t, json.Unmarshal(current, &now.Mapping))
	if *updateMapping {
		b, err := json.MarshalIndent(now, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var was golden
	require.NoError(t, json.Unmarshal(raw, &was))
	require.Equal(t, was.TemplateVersion, TemplateVersion, "run with -update-mapping")
	require.Equal(t, was.Mapping, now.Mapping, "the ledger mapping changed: bump TemplateVersion, then run with -update-mapping")
}

// Every field a ledger document holds is mapped, and every one it
// shares with the credits has the credits' mapping.
func TestPostbackDocumentFieldsAreMapped(t *testing.T) {
	p := Postback{ID: "k", Decision: eventmodel.PostbackFailed, Reason: "status_404", HTTPStatus: 404, Attempts: 1, DurationMS: 2,
		Site: "s", Partner: "p", Visitor: "v", Outcome: "o", OutcomeID: "e", Currency: "EUR", Model: "last_touch",
		Value: 1, Credit: 1, Credited: 1, EntityIDs: []string{"c1", "c2"}}
	var doc map[string]any
	require.NoError(t, json.Unmarshal(AppendPostback(nil, &p), &doc))
	for k := range doc {
		m, ok := postbackFields[k]
		if assert.True(t, ok, "%s is not mapped", k) && eventFields[k] != nil {
			assert.Equal(t, eventFields[k], m, k)
		}
	}
	for _, f := range eventmodel.PostbackFields {
		assert.Contains(t, postbackFields, f)
	}
}

func TestPostbacksIndexInTheLayout(t *testing.T) {
	l := Layout{Prefix: "shop"}
	assert.Equal(t, "shop-postbacks", l.Index(FamilyPostbacks))
	assert.Equal(t, "shop-postbacks", l.TemplateName(FamilyPostbacks))
	assert.Equal(t, FamilyPostbacks, l.familyOfIndex("shop-postbacks"))
	assert.Error(t, CheckDeadLetterIndex("shop-postbacks", "shop"), "the ledger is not a dead-letter index")
	assert.NotContains(t, l.Families(), FamilyPostbacks, "elasticsearch_journey does not install it")
}

// An erasure of a visitor deletes its ledger documents with the rest (the
// ledger lies under the prefix and carries the visitor id), and counts
// them under their family.
func TestErasureDeletesTheLedger(t *testing.T) {
	st, es := newTestStore(t, false)
	install(t, st)
	ctx := context.Background()
	require.NoError(t, st.InstallPostbacksTemplate(ctx))
	index := st.layout.Index(FamilyPostbacks)
	for _, v := range []string{"k1:gone", "k1:kept"} {
		p := Postback{ID: "pb-" + v[3:], Decision: eventmodel.PostbackSent, Site: "shop", Visitor: v, Partner: "archipro",
			DecidedAt: time.Now(), OutcomeTime: time.Now()}
		status, raw := es.Do(http.MethodPut, "/"+index+"/_doc/"+p.ID+"?refresh=true", json.RawMessage(AppendPostback(nil, &p)))
		require.Equal(t, http.StatusCreated, status, string(raw))
	}
	rep, err := st.Erase(ctx, "shop", "k1:gone", "")
	require.NoError(t, err)
	assert.EqualValues(t, 1, rep.Indices[index])
	var counted bool
	for _, f := range rep.Families {
		if f.Family == FamilyPostbacks {
			counted = f.Documents == 1
		}
	}
	assert.True(t, counted, "reported under postbacks: %+v", rep.Families)
	assert.Equal(t, 1, es.CountIndex(index))
	status, _ := es.Do(http.MethodGet, "/"+index+"/_doc/pb-kept", nil)
	assert.Equal(t, http.StatusOK, status)
}

// The ledger goes with the credits it reports on: credits_months expires
// its documents by their outcome time.
func TestRetentionExpiresTheLedgerWithTheCredits(t *testing.T) {
	st, es := newTestStore(t, false)
	install(t, st)
	ctx := context.Background()
	require.NoError(t, st.InstallPostbacksTemplate(ctx))
	index := st.layout.Index(FamilyPostbacks)
	now := time.Now()
	for id, at := range map[string]time.Time{"old": now.AddDate(0, -3, 0), "new": now.AddDate(0, 0, -1)} {
		p := Postback{ID: id, Decision: eventmodel.PostbackSent, Site: "shop", OutcomeTime: at, DecidedAt: at}
		status, raw := es.Do(http.MethodPut, "/"+index+"/_doc/"+id+"?refresh=true", json.RawMessage(AppendPostback(nil, &p)))
		require.Equal(t, http.StatusCreated, status, string(raw))
	}
	rep, err := st.ApplyRetention(ctx, Retention{CreditsMonths: 2}, now, false)
	require.NoError(t, err)
	var got *RetentionFamily
	for i := range rep.Families {
		if rep.Families[i].Family == FamilyPostbacks {
			got = &rep.Families[i]
		}
	}
	require.NotNil(t, got, "the ledger is in the report")
	assert.EqualValues(t, 1, got.Documents)
	assert.Equal(t, 2, got.Months)
	assert.Equal(t, 1, es.CountIndex(index))
	status, _ := es.Do(http.MethodGet, "/"+index+"/_doc/new", nil)
	assert.Equal(t, http.StatusOK, status)
	// Without a ledger index the check passes over it.
	st2, _ := newTestStore(t, false)
	_, err = st2.ApplyRetention(ctx, Retention{CreditsMonths: 2}, now, false)
	require.NoError(t, err)
}
