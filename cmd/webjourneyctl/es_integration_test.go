package main

// Integration tests against the real Elasticsearch at ELASTICSEARCH_URL
// (skipped when unset, failed under WEBJOURNEY_REQUIRE_ES=1). Documents are
// written by the elasticsearch_journey exporter itself; each command runs
// through run, as from the shell.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	ejx "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"
	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// testES is the real server and a fresh index prefix (its dead-letter index
// is "<prefix>-dead-letter"), deleted when the test ends.
type testES struct {
	t              *testing.T
	url, prefix    string
	deadLetter     string
	es             *elasticsearch.Client
	seq            int
	conn           []string // the connection flags of a command
	connDeadLetter []string // the same with --dead-letter-index
	// logs holds what the exporters of export logged, at every level.
	logs   *observer.ObservedLogs
	logger *zap.Logger
}

func newTestES(t *testing.T) *testES {
	u := estest.URL(t)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{u}})
	require.NoError(t, err)
	prefix := estest.UniquePrefix(t)
	core, logs := observer.New(zap.DebugLevel)
	x := &testES{t: t, url: u, prefix: prefix, deadLetter: prefix + "-dead-letter", es: es,
		conn: []string{"--url", u, "--prefix", prefix}, logs: logs}
	x.logger = zap.New(core)
	x.connDeadLetter = append(append([]string(nil), x.conn...), "--dead-letter-index", x.deadLetter)
	t.Cleanup(x.deleteAll)
	return x
}

// call checks one esapi answer; the function it returns decodes it into v
// (if not nil).
func (x *testES) call(res *esapi.Response, err error) func(v any) {
	x.t.Helper()
	require.NoError(x.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	require.False(x.t, res.IsError(), string(raw))
	return func(v any) {
		if v != nil {
			require.NoError(x.t, json.Unmarshal(raw, v), string(raw))
		}
	}
}

// deleteAll removes the prefix's indices and templates one by one
// (wildcard deletes of indices are refused by default).
func (x *testES) deleteAll() {
	var indices []struct {
		Index string `json:"index"`
	}
	cat := x.es.Cat.Indices
	x.call(cat(cat.WithIndex(x.prefix+"*"), cat.WithFormat("json"), cat.WithH("index"), cat.WithExpandWildcards("all")))(&indices)
	for _, ix := range indices {
		x.call(x.es.Indices.Delete([]string{ix.Index}))(nil)
	}
	var templates struct {
		IndexTemplates []struct {
			Name string `json:"name"`
		} `json:"index_templates"`
	}
	g := x.es.Indices.GetIndexTemplate
	res, err := g(g.WithName(x.prefix + "*"))
	if err == nil && res.StatusCode == http.StatusNotFound {
		res.Body.Close()
		return
	}
	x.call(res, err)(&templates)
	for _, it := range templates.IndexTemplates {
		x.call(x.es.Indices.DeleteIndexTemplate(it.Name))(nil)
	}
}

// export writes the records through the exporter (no queue, no retry), as
// a collector configured with the test prefix and dead-letter index would.
func (x *testES) export(fills ...func(plog.LogRecord)) {
	x.t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, f := range fills {
		f(lrs.AppendEmpty())
	}
	f := ejx.NewFactory()
	cfg := f.CreateDefaultConfig().(*ejx.Config)
	cfg.Endpoints = []string{x.url}
	cfg.IndexPrefix = x.prefix
	cfg.DeadLetter.Index = x.deadLetter
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	ctx := context.Background()
	set := exportertest.NewNopSettings(f.Type())
	set.Logger = x.logger
	exp, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(x.t, err)
	require.NoError(x.t, exp.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(x.t, exp.Shutdown(ctx)) }()
	require.NoError(x.t, exp.ConsumeLogs(ctx, ld))
}

// docs returns the _source of every document of pattern (after a refresh).
func (x *testES) docs(pattern string) []map[string]any {
	x.t.Helper()
	rf := x.es.Indices.Refresh
	x.call(rf(rf.WithIndex(pattern), rf.WithAllowNoIndices(true), rf.WithIgnoreUnavailable(true)))(nil)
	var out struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	s := x.es.Search
	x.call(s(s.WithIndex(pattern), s.WithSize(1000), s.WithAllowNoIndices(true), s.WithIgnoreUnavailable(true)))(&out)
	var docs []map[string]any
	for _, h := range out.Hits.Hits {
		docs = append(docs, h.Source)
	}
	return docs
}

// ids returns, of every document of pattern, the site/visitor or entity id.
func (x *testES) ids(pattern string) []string {
	var ids []string
	for _, d := range x.docs(pattern) {
		switch {
		case d[eventmodel.AttrEntityID] != nil:
			ids = append(ids, d[eventmodel.AttrEntityID].(string))
		case d["event.name"] == eventmodel.EventErasureRequest:
			ids = append(ids, "audit")
		case d["dead_letter.id"] != nil:
			ids = append(ids, "dead:"+d["dead_letter.id"].(string))
		default:
			ids = append(ids, fmt.Sprint(d[eventmodel.AttrSiteID], "/", d[eventmodel.AttrVisitorID], "/", d[eventmodel.AttrUserID]))
		}
	}
	return ids
}

// event makes a page view of site, visitor and user (may be empty) at t.
func (x *testES) event(site, visitor, user string, t time.Time) func(plog.LogRecord) {
	x.seq++
	id := fmt.Sprintf("%s-%d", x.prefix, x.seq)
	return func(lr plog.LogRecord) {
		lr.SetEventName(eventmodel.EventPageView)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEventID, id)
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		if user != "" {
			a.PutStr(eventmodel.AttrUserID, user)
		}
	}
}

// entity makes a visit, visitor or credit record dated t (by the family's
// retention date).
func entity(name, id, site, visitor string, t time.Time) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetEventName(name)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
		a := lr.Attributes()
		a.PutStr(eventmodel.AttrEntityID, id)
		a.PutInt(eventmodel.AttrEntityVersion, 1)
		a.PutStr(eventmodel.AttrSiteID, site)
		a.PutStr(eventmodel.AttrVisitorID, visitor)
		switch name {
		case eventmodel.EventVisit:
			a.PutStr(eventmodel.AttrVisitLastActivity, t.Format(time.RFC3339Nano))
		case eventmodel.EventVisitor:
			a.PutStr(eventmodel.AttrVisitorLastSeen, t.Format(time.RFC3339Nano))
		}
	}
}

func TestTemplatesCommandsIntegration(t *testing.T) {
	x := newTestES(t)
	check := func(wantCode int, extra ...string) result {
		t.Helper()
		r := runCmd("", append(append([]string{"templates", "check"}, x.connDeadLetter...), extra...)...)
		require.Equal(t, wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		return r
	}
	const current = journeystore.TemplateVersion
	row := func(name, family, installed, status string) string {
		return fmt.Sprintf("%-*s  %-11s  %-8d  %-9s  %s\n", len(x.deadLetter), name, family, current, installed, status)
	}
	r := check(exitNotReady)
	assert.Equal(t, fmt.Sprintf("%-*s  FAMILY       EXPECTED  INSTALLED  STATUS\n", len(x.deadLetter), "TEMPLATE")+
		row(x.prefix+"-events", "events", "-", "missing")+
		row(x.prefix+"-visits", "visits", "-", "missing")+
		row(x.prefix+"-visitors", "visitors", "-", "missing")+
		row(x.prefix+"-credits", "credits", "-", "missing")+
		row(x.prefix+"-funnels", "funnels", "-", "missing")+
		row(x.deadLetter, "dead_letter", "-", "missing"), r.stdout)
	assert.Contains(t, r.stderr, "6 of 6 templates are missing, older or drifted")

	// The exporter installs all but the dead-letter template (not configured here).
	r = runCmd("", append([]string{"templates", "install"}, x.conn...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, x.prefix+"-events: installed (was not installed or had no version)\n")
	r = check(exitNotReady)
	assert.Contains(t, r.stdout, row(x.prefix+"-credits", "credits", strconv.Itoa(current), "ok"))
	assert.Contains(t, r.stdout, row(x.deadLetter, "dead_letter", "-", "missing"))
	assert.Contains(t, r.stderr, "1 of 6 templates")
	require.Equal(t, exitOK, runCmd("", append([]string{"templates", "install"}, x.connDeadLetter...)...).code)
	r = check(exitOK)
	assert.Equal(t, 6, strings.Count(r.stdout, " ok\n"), r.stdout)
	assert.Empty(t, r.stderr)

	// Tamper with the installed templates: an older version, a newer one,
	// and the same version with another mapping.
	put := func(name string, edit func(tpl map[string]any)) {
		var got struct {
			IndexTemplates []struct {
				IndexTemplate map[string]any `json:"index_template"`
			} `json:"index_templates"`
		}
		g := x.es.Indices.GetIndexTemplate
		x.call(g(g.WithName(name)))(&got)
		tpl := esclient.WithoutSystemManaged(got.IndexTemplates[0].IndexTemplate)
		edit(tpl)
		raw, _ := json.Marshal(tpl)
		x.call(x.es.Indices.PutIndexTemplate(name, bytes.NewReader(raw)))(nil)
	}
	put(x.prefix+"-visits", func(tpl map[string]any) { tpl["version"] = current - 1 })
	put(x.prefix+"-visitors", func(tpl map[string]any) { tpl["version"] = 99 })
	put(x.prefix+"-credits", func(tpl map[string]any) {
		props := tpl["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
		props["url"].(map[string]any)["properties"].(map[string]any)["port"] = map[string]any{"type": "long"}
		delete(props, "session")
	})
	r = check(exitNotReady)
	assert.Contains(t, r.stdout, row(x.prefix+"-visits", "visits", strconv.Itoa(current-1), "older"))
	assert.Contains(t, r.stdout, row(x.prefix+"-visitors", "visitors", "99", "newer"))
	assert.Contains(t, r.stdout, row(x.prefix+"-credits", "credits", strconv.Itoa(current), "drift"))
	assert.Contains(t, r.stdout, x.prefix+`-credits: mapping drift: session.id: expected {"ignore_above":1024,"type":"keyword"}, installed none`+"\n")
	assert.Contains(t, r.stdout, x.prefix+`-credits: mapping drift: url.port: expected {"type":"integer"}, installed {"type":"long"}`+"\n")
	assert.Contains(t, r.stdout, "1 template(s) are newer")
	assert.Contains(t, r.stderr, "2 of 6 templates are missing, older or drifted")

	// install upgrades the older one; --force repairs the drift; the newer
	// one is never replaced.
	r = runCmd("", append([]string{"templates", "install"}, x.connDeadLetter...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("%s-visits: installed (was version %d)\n", x.prefix, current-1))
	assert.Contains(t, r.stdout, x.prefix+"-visitors: newer (version 99), left alone\n")
	assert.Contains(t, r.stdout, fmt.Sprintf("%s-credits: up to date (version %d), left alone\n", x.prefix, current))
	check(exitNotReady)
	r = runCmd("", append([]string{"templates", "install", "--force"}, x.connDeadLetter...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("%s-credits: replaced (was version %d)\n", x.prefix, current))
	assert.Contains(t, r.stdout, x.prefix+"-visitors: newer (version 99), left alone\n")
	r = check(exitOK)
	assert.Contains(t, r.stdout, row(x.prefix+"-visitors", "visitors", "99", "newer"))
}

// erase deletes exactly the subject's documents from every family, prints
// the counts and stores the exporter's audit record; a second run deletes
// nothing.
func TestEraseCommandIntegration(t *testing.T) {
	x := newTestES(t)
	now := time.Now().UTC()
	const gone, stays, user = "k1:gone-visitor", "k1:stays-visitor", "k1:gone-user"
	x.export(
		x.event("shop", gone, "", now),
		x.event("shop", gone, "", now.AddDate(0, -2, 0)), // another month's index
		x.event("shop", "k1:other-browser", user, now),   // the user on another browser
		x.event("shop", stays, "", now),
		x.event("blog", gone, "", now), // another site
		entity(eventmodel.EventVisit, "visit-gone", "shop", gone, now),
		entity(eventmodel.EventVisitor, "visitor-gone", "shop", gone, now),
		entity(eventmodel.EventAttributionCredit, "credit-gone", "shop", gone, now),
		entity(eventmodel.EventFunnel, "funnel-gone", "shop", gone, now),
		entity(eventmodel.EventVisit, "visit-stays", "shop", stays, now),
		func(lr plog.LogRecord) { // refused: a dead letter of the erased visitor
			entity(eventmodel.EventVisit, "visit-bad", "shop", gone, now)(lr)
			lr.Attributes().PutStr(eventmodel.AttrVisitIdleAt, "not-a-date")
		},
	)
	require.Len(t, x.docs(x.deadLetter), 1)

	args := append([]string{"erase", "--site", "shop", "--visitor", gone, "--user-id", user}, x.connDeadLetter...)
	r := runCmd("", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	want := fmt.Sprintf("Erased from %s (site \"shop\"):\n", x.url) +
		fmt.Sprintf("  events              3  %s-events-*\n", x.prefix) +
		fmt.Sprintf("  visits              1  %s-visits\n", x.prefix) +
		fmt.Sprintf("  visitors            1  %s-visitors\n", x.prefix) +
		fmt.Sprintf("  credits             1  %s-credits\n", x.prefix) +
		fmt.Sprintf("  funnels             1  %s-funnels\n", x.prefix) +
		fmt.Sprintf("  dead_letter         1  %s\n", x.deadLetter) +
		"  total               8\n"
	require.True(t, strings.HasPrefix(r.stdout, want), r.stdout)
	assert.NotContains(t, r.stdout, gone, "the ids are not echoed")

	assert.ElementsMatch(t, []string{"shop/" + stays + "/<nil>", "blog/" + gone + "/<nil>", "audit", "visit-stays"},
		x.ids(x.prefix+"-*"))
	assert.Empty(t, x.docs(x.deadLetter))

	// The audit record is the exporter's: no ids, a subject hash, the count.
	var audit map[string]any
	for _, d := range x.docs(x.prefix + "-events-*") {
		if d["event.name"] == eventmodel.EventErasureRequest {
			audit = d
		}
	}
	require.NotNil(t, audit)
	raw, _ := json.Marshal(audit)
	assert.NotContains(t, string(raw), "gone-", "the audit record names the erased ids")
	assert.EqualValues(t, 8, audit[eventmodel.AttrErasureDeleted])
	assert.Equal(t, "shop", audit[eventmodel.AttrSiteID])
	assert.Equal(t, "operator_request", audit[eventmodel.AttrConsentReason])
	subject := audit[eventmodel.AttrErasureSubject].(string)
	assert.Len(t, subject, 32)
	assert.Contains(t, r.stdout, fmt.Sprintf("Audit record: %s-events-%s/%s (webjourney.erasure.subject %s)\n",
		x.prefix, now.Format("2006.01"), audit[eventmodel.AttrEventID], subject))

	// Again: nothing left to delete; a second audit record.
	r = runCmd("", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  total               0\n")
	assert.Len(t, x.docs(x.prefix+"-events-*"), 4)

	// Without --dead-letter-index, by user id only; a prefix without
	// templates is refused before anything is deleted.
	r = runCmd("", append([]string{"erase", "--site", "blog", "--user-id", "k1:nobody"}, x.conn...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "(dead letters not searched: no --dead-letter-index)\n")
	r = runCmd("", "erase", "--url", x.url, "--prefix", x.prefix+"-typo", "--site", "blog", "--visitor", gone)
	assert.Equal(t, exitFailure, r.code)
	assert.Equal(t, fmt.Sprintf("webjourneyctl erase: index template %s-typo-events is not installed: is the index prefix %q right? (webjourneyctl templates check)\n",
		x.prefix, x.prefix+"-typo"), r.stderr)
	assert.Contains(t, x.ids(x.prefix+"-events-*"), "blog/"+gone+"/<nil>")
}

// retention apply --dry-run reports and deletes nothing; without it each
// family loses exactly what is older than its months.
func TestRetentionCommandIntegration(t *testing.T) {
	x := newTestES(t)
	now := time.Now().UTC()
	monthsAgo := func(m int) time.Time { return now.AddDate(0, -m, -1) } // a day more than m months
	x.export(
		x.event("shop", "k1:a", "", monthsAgo(40)),
		x.event("shop", "k1:a", "", monthsAgo(40)),
		x.event("shop", "k1:b", "", monthsAgo(30)),
		x.event("shop", "k1:c", "", now),
		entity(eventmodel.EventVisit, "visit-old", "shop", "k1:a", monthsAgo(25)),
		entity(eventmodel.EventVisit, "visit-kept", "shop", "k1:a", monthsAgo(24)),
		entity(eventmodel.EventVisitor, "visitor-old", "shop", "k1:a", monthsAgo(13)),
		entity(eventmodel.EventVisitor, "visitor-kept", "shop", "k1:c", monthsAgo(1)),
		entity(eventmodel.EventAttributionCredit, "credit-old", "shop", "k1:a", monthsAgo(40)),
	)
	all := x.ids(x.prefix + "-*")
	require.Len(t, all, 9)
	old40, old30 := x.prefix+"-events-"+monthsAgo(40).Format("2006.01"), x.prefix+"-events-"+monthsAgo(30).Format("2006.01")
	// Event indices of months before this one are expired.
	keptFrom := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -25, 0).Format("2006-01")

	args := append([]string{"retention", "apply", "--events-months", "25", "--visits-months", "25", "--visitors-months", "13"}, x.conn...)
	r := runCmd("", append(args, "--dry-run")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "(dry run: nothing was deleted):\n")
	assert.Contains(t, r.stdout, fmt.Sprintf("  events    25 months: would delete 2 index(es) of months before %s, 3 documents: %s, %s\n",
		keptFrom, old40, old30))
	assert.Contains(t, r.stdout, fmt.Sprintf("  visits    25 months: would delete 1 documents of %s-visits (webjourney.visit.last_activity before ", x.prefix))
	assert.Contains(t, r.stdout, fmt.Sprintf("  visitors  13 months: would delete 1 documents of %s-visitors (webjourney.visitor.last_seen before ", x.prefix))
	assert.Contains(t, r.stdout, "  credits   kept for ever (no --credits-months)\n")
	assert.ElementsMatch(t, all, x.ids(x.prefix+"-*"), "a dry run deletes nothing")

	r = runCmd("", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "dry run")
	assert.Contains(t, r.stdout, fmt.Sprintf("  events    25 months: deleted 2 index(es) of months before %s, 3 documents: %s, %s\n",
		keptFrom, old40, old30))
	assert.Contains(t, r.stdout, "  visits    25 months: deleted 1 documents of ")
	assert.ElementsMatch(t, []string{"shop/k1:c/<nil>", "visit-kept", "visitor-kept", "credit-old"}, x.ids(x.prefix+"-*"))
	res, err := x.es.Indices.Exists([]string{old40})
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	// Now the credits; nothing else is left to expire.
	r = runCmd("", append(args, "--credits-months", "37")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  events    25 months: no index of a month before ")
	assert.Contains(t, r.stdout, "  visits    25 months: deleted 0 documents")
	assert.Contains(t, r.stdout, fmt.Sprintf("  credits   37 months: deleted 1 documents of %s-credits (@timestamp before ", x.prefix))
	assert.ElementsMatch(t, []string{"shop/k1:c/<nil>", "visit-kept", "visitor-kept"}, x.ids(x.prefix+"-*"))
}
