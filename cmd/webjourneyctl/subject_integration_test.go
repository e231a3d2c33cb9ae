package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/anonymizer"
)

// Raw identifiers a person gives: they must never reach an index, a log
// or the command's output.
const (
	rawUser         = "customer-4711-raw-id"
	rawOldBrowser   = "browser-raw-old-8842"
	rawNewBrowser   = "browser-raw-new-9931"
	rawOtherBrowser = "browser-raw-other-1107"
	rawOtherUser    = "customer-0815-raw-id"
)

// writeKey writes a new random master secret (as webjourneyctl keygen
// prints it) to dir/name.
func writeKey(t *testing.T, dir, name string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600))
	return path
}

// anonymize runs records through the real anonymizer processor configured
// by the processors::anonymizer section of the collector config at path;
// it logs to x.logs.
func (x *testES) anonymize(path string, fills ...func(plog.LogRecord)) []plog.LogRecord {
	t := x.t
	t.Helper()
	cm, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	sub, err := cm.Sub("processors::anonymizer")
	require.NoError(t, err)
	f := anonymizer.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	sink := new(consumertest.LogsSink)
	set := processortest.NewNopSettings(f.Type())
	set.Logger = x.logger
	p, err := f.CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, fill := range fills {
		fill(lrs.AppendEmpty())
	}
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))
	var out []plog.LogRecord
	for _, l := range sink.AllLogs() {
		lrs := l.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range lrs.Len() {
			out = append(out, lrs.At(i))
		}
	}
	return out
}

// copyOf is a fill function that copies lr.
func copyOf(lr plog.LogRecord) func(plog.LogRecord) {
	return func(to plog.LogRecord) { lr.CopyTo(to) }
}

// collectorConfig writes a collector config whose anonymizer has the
// secret of keyFile under keyID.
func collectorConfig(t *testing.T, dir, name, keyFile, keyID string) string {
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`processors:
  anonymizer:
    secret:
      file: %s
    key_id: %s
  consent: {}
`, keyFile, keyID)), 0o600))
	return path
}

// A person's request, from their account id: webjourneyctl derives the
// pseudonyms the real anonymizer stored, under the current key id (from
// the collector config) and the one the secret was rotated away from (a
// --secret-file), finds the browsers the account was used on, and exports
// then erases exactly the person's documents; without the old secret it
// says what it cannot find. The raw id is in no index, log or output.
func TestSubjectRequestFromRawIdentifier(t *testing.T) {
	x := newTestES(t)
	dir := t.TempDir()
	k1, k2 := writeKey(t, dir, "k1.secret"), writeKey(t, dir, "k2.secret")
	oldConfig := collectorConfig(t, dir, "old.yaml", k1, "k1")
	config := collectorConfig(t, dir, "config.yaml", k2, "k2")
	now := time.Now().UTC()

	// Before the rotation (k1) and after it (k2), as the anonymizer wrote them.
	old := x.anonymize(oldConfig,
		x.event("shop", rawOldBrowser, rawUser, now.AddDate(0, -2, 0)),
		x.event("shop", rawOldBrowser, "", now.AddDate(0, -2, 0)),
	)
	current := x.anonymize(config,
		x.event("shop", rawNewBrowser, rawUser, now),
		x.event("shop", rawNewBrowser, "", now),
		x.event("shop", rawOtherBrowser, rawOtherUser, now),
		x.event("blog", rawNewBrowser, rawUser, now), // another site: another person as far as the store knows
	)
	newBrowser, _ := current[1].Attributes().Get(eventmodel.AttrVisitorID)
	otherBrowser, _ := current[2].Attributes().Get(eventmodel.AttrVisitorID)
	require.True(t, strings.HasPrefix(newBrowser.Str(), "k2:"))
	var fills []func(plog.LogRecord)
	for _, lr := range append(old, current...) {
		fills = append(fills, copyOf(lr))
	}
	withPartner := func(fill func(plog.LogRecord)) func(plog.LogRecord) {
		return func(lr plog.LogRecord) {
			fill(lr)
			lr.Attributes().PutStr(eventmodel.AttrChannelPartner, "archipro")
		}
	}
	fills = append(fills,
		withPartner(entity(eventmodel.EventVisit, "visit-of-the-person", "shop", newBrowser.Str(), now)),
		withPartner(entity(eventmodel.EventAttributionCredit, "credit-of-the-person", "shop", newBrowser.Str(), now)),
		withPartner(entity(eventmodel.EventVisit, "visit-of-someone-else", "shop", otherBrowser.Str(), now)),
		entity(eventmodel.EventVisitor, "visitor-record-of-the-person", "shop", newBrowser.Str(), now),
		func(lr plog.LogRecord) { // refused by the server: a dead letter of the person
			current[1].CopyTo(lr)
			lr.Attributes().PutStr(eventmodel.AttrEventID, x.prefix+"-refused")
			lr.Attributes().PutStr(eventmodel.AttrURLPort, "not-a-port")
		},
	)
	x.export(fills...)
	require.Len(t, x.docs(x.prefix+"-partner-*"), 3)
	require.Len(t, x.docs(x.deadLetter), 1)

	var outputs []string // of every command, checked for raw ids at the end
	runLogged := func(stdin string, args ...string) result {
		r := runCmd(stdin, args...)
		outputs = append(outputs, r.stdout+r.stderr)
		return r
	}
	base := append([]string{"--site", "shop", "--user-id", "-", "--config", config}, x.connDeadLetter...)
	withOld := append(append([]string(nil), base...), "--secret-file", "k1="+k1)

	// Without the old secret: the k2 documents, and a warning about k1.
	out := filepath.Join(dir, "export-k2.jsonl")
	r := runLogged(rawUser+"\n", append([]string{"subject", "export", "--output", out}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, `document(s) of site "shop" carry pseudonyms of key id k1, whose secret was not given`)
	assert.Contains(t, r.stdout, "pseudonyms under key id(s) k2; 1 visitor id(s) linked through the user id")
	assert.Contains(t, r.stdout, "  events              2  "+x.prefix+"-events-*\n")

	// With it: every document of the person, one line each.
	out = filepath.Join(dir, "export.jsonl")
	r = runLogged(rawUser+"\n", append([]string{"subject", "export", "--output", out}, withOld...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "warning")
	want := fmt.Sprintf("Exported to %s from %s (site \"shop\"; pseudonyms under key id(s) k1, k2; 2 visitor id(s) linked through the user id):\n", out, x.url) +
		fmt.Sprintf("  events              4  %s-events-*\n", x.prefix) +
		fmt.Sprintf("  visits              1  %s-visits\n", x.prefix) +
		fmt.Sprintf("  visitors            1  %s-visitors\n", x.prefix) +
		fmt.Sprintf("  credits             1  %s-credits\n", x.prefix) +
		fmt.Sprintf("  funnels             0  %s-funnels\n", x.prefix) +
		fmt.Sprintf("  dead_letter         1  %s\n", x.deadLetter) +
		fmt.Sprintf("  %-12s %8d  %s-partner-visits\n", "partner_visits", 1, x.prefix) +
		fmt.Sprintf("  %-12s %8d  %s-partner-credits\n", "partner_credits", 1, x.prefix) +
		"  total              10\n"
	assert.Equal(t, want, r.stdout)
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the export holds personal data")
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 10)
	families := map[string]int{}
	for _, line := range lines {
		var l struct {
			Family, Index, ID string
			Document          map[string]any
		}
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		families[l.Family]++
		assert.NotEmpty(t, l.Index)
		assert.NotEmpty(t, l.ID)
		assert.NotEqual(t, otherBrowser.Str(), l.Document[eventmodel.AttrVisitorID])
		assert.NotEqual(t, "blog", l.Document[eventmodel.AttrSiteID])
	}
	assert.Equal(t, map[string]int{"events": 4, "visits": 1, "visitors": 1, "credits": 1, "dead_letter": 1, "partner_visits": 1, "partner_credits": 1}, families)

	// By the visitor id of a browser: that browser's documents only.
	r = runLogged("", append([]string{"subject", "export", "--site", "shop", "--visitor-id", rawOtherBrowser, "--config", config}, x.conn...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, 3, strings.Count(r.stdout, "\n"), "its event, its visit and the visit's partner-facing copy: %s", r.stdout)
	assert.Contains(t, r.stderr, fmt.Sprintf("  %-12s %8d  ", "partner_visits", 1))

	// Erase, then a record of the person still queued in a collector.
	r = runLogged(rawUser, append([]string{"subject", "erase"}, withOld...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  total              10\n")
	assert.Contains(t, r.stdout, "Audit record: ")
	assert.Empty(t, x.docs(x.deadLetter))
	x.export(copyOf(current[0]), copyOf(current[1]))
	assert.ElementsMatch(t, []string{
		"shop/" + otherBrowser.Str() + "/" + str(current[2], eventmodel.AttrUserID),
		"blog/" + str(current[3], eventmodel.AttrVisitorID) + "/" + str(current[3], eventmodel.AttrUserID),
		"audit", "visit-of-someone-else",
		"shop/<nil>/<nil>", // the partner-facing copy of that visit: it carries no id
	}, x.ids(x.prefix+"-*"))
	assert.Len(t, x.docs(x.prefix+"-partner-*"), 1)

	// Again: nothing left.
	r = runLogged(rawUser, append([]string{"subject", "erase"}, withOld...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  total               0\n")

	// No raw id anywhere: every index of the test (the tombstones and the
	// audit record too, hidden or not), the logs of the anonymizer and the
	// exporters, what the commands printed, the export.
	tombstones := x.docs(x.prefix + "_erasures")
	require.NotEmpty(t, tombstones)
	all := x.rawSources(x.prefix + "*")
	require.Contains(t, all, otherBrowser.Str(), "the search reads the stored documents")
	logs, _ := json.Marshal(x.logs.All())
	require.NotZero(t, x.logs.Len())
	for _, raw := range []string{rawUser, rawOldBrowser, rawNewBrowser, rawOtherBrowser, rawOtherUser} {
		assert.NotContains(t, all, raw)
		assert.NotContains(t, string(logs), raw)
		assert.NotContains(t, string(data), raw)
		for _, out := range outputs {
			assert.NotContains(t, out, raw)
		}
	}
}

// rawSources returns the answer of a search for every document of pattern,
// hidden indices included, as the server sent it.
func (x *testES) rawSources(pattern string) string {
	x.t.Helper()
	rf := x.es.Indices.Refresh
	x.call(rf(rf.WithIndex(pattern), rf.WithExpandWildcards("all")))(nil)
	s := x.es.Search
	var raw json.RawMessage
	x.call(s(s.WithIndex(pattern), s.WithSize(10000), s.WithExpandWildcards("all")))(&raw)
	return string(raw)
}

func str(lr plog.LogRecord, key string) string {
	v, _ := lr.Attributes().Get(key)
	return v.AsString()
}
