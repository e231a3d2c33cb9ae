package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/kibana"
)

// partner grant: the partner's filtered alias returns only its rows of
// the site, with no identifier field, and its data view is imported into
// Kibana (the recording stand-in) over that alias.
func TestPartnerGrantIntegration(t *testing.T) {
	x := newTestES(t)
	now := time.Now().UTC()
	partnerVisit := func(id, site, visitor, partner string) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			entity(eventmodel.EventVisit, id, site, visitor, now)(lr)
			a := lr.Attributes()
			a.PutStr(eventmodel.AttrChannelPartner, partner)
			a.PutStr(eventmodel.AttrVisitID, id)
			a.PutStr(eventmodel.AttrUserID, "k1:user-of-"+id)
			a.PutStr(eventmodel.AttrSessionID, "session-of-"+id)
		}
	}
	partnerCredit := func(id, site, visitor, partner string) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			entity(eventmodel.EventAttributionCredit, id, site, visitor, now)(lr)
			a := lr.Attributes()
			a.PutStr(eventmodel.AttrChannelPartner, partner)
			a.PutStr(eventmodel.AttrOutcomeName, "purchase")
			a.PutDouble(eventmodel.AttrOutcomeValue, 120)
			a.PutStr(eventmodel.AttrOutcomeVisitID, "visit-x")
		}
	}
	x.export(
		partnerVisit("v-1", "shop", "k1:visitor-1", "archipro"),
		partnerVisit("v-2", "shop", "k1:visitor-2", "archipro"),
		partnerCredit("c-1", "shop", "k1:visitor-1", "archipro"),
		partnerVisit("v-3", "shop", "k1:visitor-3", "houzz"),
		partnerVisit("v-4", "blog", "k1:visitor-4", "archipro"),
	)
	k := newFakeKibana(t, false, http.StatusOK, "")
	r := runCmd("", append([]string{"partner", "grant", "archipro", "--site", "shop", "--kibana-url", k.URL, "--space", "archipro"}, x.conn...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	alias := x.prefix + "-partner-shop-archipro"
	assert.Contains(t, r.stdout, fmt.Sprintf("Alias %s over %s-partner-visits, %s-partner-credits: rows of site \"shop\" with webjourney.channel.partner \"archipro\"\n", alias, x.prefix, x.prefix))
	assert.Contains(t, r.stdout, "Imported 1 of 1 saved objects from the data view of alias "+alias+" into Kibana at "+k.URL+" (space archipro)")

	// What the partner reads through its alias.
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	rf := x.es.Indices.Refresh
	x.call(rf(rf.WithIndex(alias)))(nil)
	s := x.es.Search
	x.call(s(s.WithIndex(alias), s.WithSize(100)))(&res)
	require.Len(t, res.Hits.Hits, 3)
	raw, _ := json.Marshal(res)
	for _, h := range res.Hits.Hits {
		assert.Equal(t, "archipro", h.Source[eventmodel.AttrChannelPartner])
		assert.Equal(t, "shop", h.Source[eventmodel.AttrSiteID])
		for field := range h.Source {
			a, ok := eventmodel.Lookup(field)
			if !ok {
				continue // @timestamp, event.name
			}
			assert.NotContains(t, []eventmodel.Class{eventmodel.ClassVisitorID, eventmodel.ClassUserID, eventmodel.ClassMarketingID}, a.Class, field)
			assert.NotContains(t, []string{eventmodel.AttrVisitID, eventmodel.AttrEntityID, eventmodel.AttrOutcomeVisitID}, field)
		}
	}
	for _, id := range []string{"visitor-", "user-of", "session-of", `"v-1"`, `"c-1"`, "visit-x", "houzz", "blog"} {
		assert.NotContains(t, string(raw), id)
	}

	// The data view Kibana got: the alias, its time field.
	reqs := k.recorded()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/s/archipro/api/saved_objects/_import", reqs[0].path)
	var dv struct {
		Type, ID   string
		Attributes map[string]any
	}
	require.NoError(t, json.Unmarshal(reqs[0].file, &dv))
	assert.Equal(t, "index-pattern", dv.Type)
	assert.Equal(t, kibana.PartnerDataViewID("shop", "archipro"), dv.ID)
	assert.Equal(t, alias, dv.Attributes["title"])
	assert.Equal(t, "@timestamp", dv.Attributes["timeFieldName"])

	// Revoked: the alias is gone.
	r = runCmd("", append([]string{"partner", "revoke", "archipro", "--site", "shop"}, x.conn...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	res2, err := x.es.Indices.GetAlias(x.es.Indices.GetAlias.WithName(alias))
	require.NoError(t, err)
	res2.Body.Close()
	assert.Equal(t, http.StatusNotFound, res2.StatusCode)
}

func TestPrivacyCommandsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	key := writeKey(t, dir, "k1.secret")
	closed := "http://127.0.0.1:1"
	subj := func(extra ...string) []string {
		return append([]string{"subject", "export", "--url", closed, "--site", "shop", "--user-id", "u", "--secret-file", "k1=" + key}, extra...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"subject"}, "give a subcommand: export or erase"},
		{[]string{"subject", "--site", "s", "drop"}, "give a subcommand: export or erase"},
		{[]string{"subject", "export", "--url", closed, "--user-id", "u"}, "--site is required"},
		{[]string{"subject", "erase", "--url", closed, "--site", "s"}, "give --user-id ID or --visitor-id ID"},
		{[]string{"subject", "erase", "--url", closed, "--site", "s", "--user-id", "u", "--visitor-id", "v"}, "give --user-id ID or --visitor-id ID"},
		{[]string{"subject", "erase", "--url", closed, "--site", "s", "--user-id", "u"}, "give the anonymizer's secret: --config FILE"},
		{append([]string{"subject", "erase"}, subj("--output", "x")[2:]...), "--output is for export"},
		{subj("--secret-file", "k1="+key), `a secret of key id "k1" is given twice`},
		{subj("--secret-file", "k2="+dir+"/missing"), "--secret-file k2: open"},
		{subj("--secret-file", "K2="+key), `key id "K2" must be 1 to 16 characters`},
		{subj("--secret-env", "k2=WJ_TEST_UNSET_VARIABLE"), "--secret-env k2: environment variable WJ_TEST_UNSET_VARIABLE is not set"},
		{subj("--pseudonym-bytes", "7"), "pseudonym length must be between 8 and 32 bytes, got 7"},
		{subj("--anonymizer", "anonymizer/x"), "--env-file and --anonymizer go with --config"},
		{subj("--config", dir+"/missing.yaml"), "--config: "},
		{[]string{"subject", "export", "--url", closed, "--site", "shop", "--user-id", "-", "--secret-file", "k1=" + key}, "the identifier from standard input: nothing there"},
		{[]string{"subject", "export", "--url", closed, "--site", "shop", "--visitor-id", "v", "--no-linked-visitors", "--secret-file", "k1=" + key}, "--no-linked-visitors goes with --user-id"},

		{[]string{"partner"}, "give a subcommand: grant or revoke"},
		{[]string{"partner", "grant", "--url", closed, "--site", "shop"}, "give the partner's name"},
		{[]string{"partner", "grant", "p", "--url", closed}, "--site is required"},
		{[]string{"partner", "grant", "Arch Pro", "--url", closed, "--site", "shop"}, `partner "Arch Pro" cannot be part of an alias name`},
		{[]string{"partner", "grant", "p", "--url", closed, "--site", "Shop"}, `site "Shop" cannot be part of an alias name`},
		{[]string{"partner", "grant", "p", "--url", closed, "--site", "shop", "--space", "x"}, "--space goes with --kibana-url"},
		{[]string{"partner", "grant", "p", "--url", closed, "--site", "shop", "--kibana-url", "ftp://k"}, "--kibana-url: "},
		{[]string{"partner", "revoke", "p", "--url", closed, "--site", "shop", "--kibana-url", "http://k"}, "--kibana-url and --space are for grant"},
		{[]string{"partner", "grant", "p", "extra", "--url", closed, "--site", "shop"}, `unexpected argument "extra"`},

		{[]string{"retention", "apply", "--url", closed, "--dead-letter-days", "30"}, "--dead-letter-days: want INDEX=N"},
		{[]string{"retention", "apply", "--url", closed, "--dead-letter-days", "dl=0"}, "--dead-letter-days: N must be 1 to 36500, not 0"},
		{[]string{"retention", "apply", "--url", closed, "--dead-letter-days", "webjourney-visits=3"}, `--dead-letter-index: "webjourney-visits" is one of the exporter's own`},
	} {
		r := runCmd("", tc.args...)
		assert.Equal(t, exitUsage, r.code, "%q: %s", tc.args, r.stderr)
		assert.Contains(t, r.stderr, tc.want, tc.args)
		assert.Empty(t, r.stdout, tc.args)
	}
}

// retention apply --dead-letter-days deletes the dead letters older than
// the days given, and nothing else of the dead-letter index.
func TestRetentionDeadLettersIntegration(t *testing.T) {
	x := newTestES(t)
	x.export(func(lr plog.LogRecord) { // refused: dead-lettered now
		x.event("shop", "k1:a", "", time.Now())(lr)
		lr.Attributes().PutStr(eventmodel.AttrURLPort, "not-a-port")
	})
	require.Len(t, x.docs(x.deadLetter), 1)
	args := append([]string{"retention", "apply", "--dead-letter-days", x.deadLetter + "=30"}, x.conn...)
	r := runCmd("", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("  dead_letter 30 days: deleted 0 documents of %s (@timestamp before ", x.deadLetter))
	assert.Contains(t, r.stdout, "  events    kept for ever (no --events-months)\n")
	require.Len(t, x.docs(x.deadLetter), 1)
	// One day of retention, 31 days on: gone. (The command's clock is now;
	// the document's time is moved back instead.)
	var hits struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	s := x.es.Search
	x.call(s(s.WithIndex(x.deadLetter)))(&hits)
	up := x.es.Update
	body := fmt.Sprintf(`{"doc":{"@timestamp":%q}}`, time.Now().AddDate(0, 0, -31).UTC().Format(time.RFC3339Nano))
	x.call(up(x.deadLetter, hits.Hits.Hits[0].ID, strings.NewReader(body), up.WithRefresh("true")))(nil)
	r = runCmd("", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("  dead_letter 30 days: deleted 1 documents of %s", x.deadLetter))
	assert.Empty(t, x.docs(x.deadLetter))
}
