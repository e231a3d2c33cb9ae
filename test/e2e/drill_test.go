package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// drillSite is the site of the persistent-state drill.
const drillSite = "drill-shop"

// drillCheckpoint is the attribution processor's checkpoint_interval in the
// drill; config/production.yaml keeps the default, 1m.
const drillCheckpoint = 5 * time.Second

// The drill's visitors, each with an address of its own (sent as
// X-Forwarded-For: the production config trusts the local proxy, which the
// test plays) and a user agent of its own, so that every anonymous visitor
// has a cookieless key of its own.
const (
	drillVisitors = 24
	drillWorkers  = 3 // concurrent senders, so that several requests are in flight at the kill
)

// Kinds of drill visitors.
const (
	consentedBeacon = iota // JSON beacons with analytics consent and a visitor id
	anonymousPixel         // image pixel hits, no consent: anonymous, cookieless key
	anonymousBeacon        // JSON beacons without consent: anonymous, cookieless key
)

var drillKindNames = [...]string{"consented beacon", "anonymous pixel", "anonymous beacon"}

func drillKind(v int) int { return (v / drillWorkers) % 3 }

// drillEventID encodes the visitor in every event id, so that stored
// documents can be grouped by visitor whatever the pipeline did to their
// identifiers.
var drillEventID = regexp.MustCompile(`^drill-v(\d+)-`)

// TestProductionStateDrill runs the built collector with the shipped
// config/production.yaml itself (its settings from the environment, as the
// package's environment file gives them; its secrets in
// $CREDENTIALS_DIRECTORY; its file_storage in a temporary state directory)
// under a steady load of pixel hits and beacons from 24 visitors, kills it
// with SIGKILL mid-load, and starts it again on the same state directory:
//
//   - no acknowledged event is lost and none is stored twice (every beacon
//     answered 200 with all events accepted, every pixel answered with its
//     GIF: stored exactly once, counted by the event ids the test sends);
//   - visits continue: every visitor's events before and after the kill
//     share one webjourney.visit.id (the attribution processor's state is
//     restored from its last checkpoint);
//   - the cookieless salts are unchanged: every anonymous visitor's
//     webjourney.visitor.cookieless_key is the same before and after.
//
// The one change to the config is a shorter checkpoint_interval for the
// attribution state (5s instead of 1m), so that the test need not run for
// minutes; the test waits until two checkpoints were written after every
// visitor's visit began before it kills the collector. See
// docs/reliability.md ("Persistent-state drill").
func TestProductionStateDrill(t *testing.T) {
	began := time.Now()
	esURL := estest.URL(t)
	collectorBin(t)
	waitOutUTCMidnight(t)
	store := es{t: t, url: esURL}
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { store.deleteIndices(prefix) })

	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsPort := freePort(t)
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	stateDir := t.TempDir()
	creds := t.TempDir()
	for name, content := range map[string]string{
		"anonymizer.secret":      strings.Repeat("5e", 32),
		"elasticsearch.password": "", // none: the test's Elasticsearch has no security
		"elasticsearch.api_key":  "",
	} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	overlay := filepath.Join(t.TempDir(), "drill.yaml")
	if err := os.WriteFile(overlay, []byte(fmt.Sprintf("processors:\n  attribution:\n    checkpoint_interval: %s\n", drillCheckpoint)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newProcessArgs(t, health, []string{
		"WEBJOURNEY_LISTEN=" + listen,
		"WEBJOURNEY_SITE=" + drillSite,
		"WEBJOURNEY_STATE_DIR=" + stateDir,
		"WEBJOURNEY_HEALTH=" + health,
		"WEBJOURNEY_METRICS_HOST=127.0.0.1",
		"WEBJOURNEY_METRICS_PORT=" + strconv.Itoa(metricsPort),
		"WEBJOURNEY_INDEX_PREFIX=" + prefix,
		"ELASTICSEARCH_URL=" + esURL,
		"CREDENTIALS_DIRECTORY=" + creds,
	}, "--config", filepath.Join(repoRoot(t), "config", "production.yaml"), "--config", overlay)
	p.start()

	loads := make([]*hitLoad, drillWorkers)
	for w := range loads {
		loads[w] = startHitLoad(t, 30*time.Millisecond, drillHits(listen, w))
	}
	ackedPerVisitor := func(since []int) []int {
		n := make([]int, drillVisitors)
		for w, l := range loads {
			from := 0
			if since != nil {
				from = since[w]
			}
			for _, id := range l.ackedFrom(from) {
				n[drillVisitorOf(t, id)]++
			}
		}
		return n
	}
	everyVisitor := func(since []int, atLeast int) func() bool {
		return func() bool {
			for _, n := range ackedPerVisitor(since) {
				if n < atLeast {
					return false
				}
			}
			return true
		}
	}
	eventually(t, 60*time.Second, "an acknowledged event of every visitor", everyVisitor(nil, 1))
	visitsBegun := time.Now()

	// The attribution state is saved every checkpoint_interval. Its file is
	// written only then, so two writes after every visit began mean that a
	// checkpoint was taken (not only written) after that: the state the
	// restart loads holds every visitor's visit.
	journeys := filepath.Join(stateDir, "processor_attribution__journeys")
	written := visitsBegun
	for range 2 {
		eventually(t, 60*time.Second, "a checkpoint of the attribution state", func() bool {
			fi, err := os.Stat(journeys)
			if err != nil || !fi.ModTime().After(written) {
				return false
			}
			written = fi.ModTime()
			return true
		})
	}
	pattern := storeIndex(prefix, journeystore.FamilyEvents)
	eventually(t, 60*time.Second, "events in Elasticsearch", func() bool {
		_, total := countByEventID(store, pattern)
		return total >= 200
	})

	// What the queue holds now exists nowhere but in the state directory
	// once the collector is killed (an in-memory queue loses it).
	queued := promValue(t, metrics, "otelcol_exporter_queue_size")
	p.kill()
	ackedAtKill := make([]int, len(loads))
	for w, l := range loads {
		ackedAtKill[w] = l.ackedCount()
	}
	t.Logf("killed with SIGKILL after %s: %d events acknowledged, about %v of them in the exporter's queue",
		time.Since(began).Round(100*time.Millisecond), sum(ackedAtKill), queued)
	p.start()
	restored := regexp.MustCompile(`journey state restored.*"visitors": (\d+)`).FindStringSubmatch(
		p.output.String()[strings.LastIndex(p.output.String(), "===== run 2 ====="):])
	if restored == nil || restored[1] != strconv.Itoa(drillVisitors) {
		t.Errorf("the restarted collector did not restore the %d visitors' journeys (log: %v)", drillVisitors, restored)
	}
	eventually(t, 60*time.Second, "acknowledged events of every visitor after the restart", everyVisitor(ackedAtKill, 3))
	var acked, unacked []string
	failures := map[string]int{}
	for _, l := range loads {
		l.stop()
		a, u, f := l.result()
		acked, unacked = append(acked, a...), append(unacked, u...)
		for k, v := range f {
			failures[k] += v
		}
	}

	waitForAll(t, store, pattern, acked, 2*time.Minute)
	duplicates := promValue(t, metrics, "otelcol_exporter_elasticsearch_journey_docs_duplicate_total")
	// A SIGTERM stop waits for the batches in flight: nothing arrives later.
	p.stop()
	counts, total := countByEventID(store, pattern)
	storedUnacked := checkExactlyOnce(t, counts, total, acked, unacked)

	// Per visitor: the visits, visitor ids and cookieless keys of its
	// stored events.
	visits, visitorIDs, keys := make([]map[string]bool, drillVisitors), make([]map[string]bool, drillVisitors), make([]map[string]bool, drillVisitors)
	for v := range drillVisitors {
		visits[v], visitorIDs[v], keys[v] = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	eachComposite(store, pattern, []string{"log.record.uid", eventmodel.AttrVisitID, eventmodel.AttrVisitorID, eventmodel.AttrCookielessKey},
		func(key []string, _ int) {
			v := drillVisitorOf(t, key[0])
			visits[v][key[1]], visitorIDs[v][key[2]], keys[v][key[3]] = true, true, true
		})
	for v := range drillVisitors {
		kind := drillKindNames[drillKind(v)]
		if len(visits[v]) != 1 || visits[v][""] {
			t.Errorf("visitor %d (%s): events before and after the kill must share one visit, got visit ids %v", v, kind, keysOf(visits[v]))
		}
		switch drillKind(v) {
		case consentedBeacon:
			if len(visitorIDs[v]) != 1 || visitorIDs[v][""] || !keys[v][""] {
				t.Errorf("visitor %d (%s): want one pseudonymous visitor id and no cookieless key, got ids %v, keys %v", v, kind, keysOf(visitorIDs[v]), keysOf(keys[v]))
			}
		default:
			if len(keys[v]) != 1 || keys[v][""] || !visitorIDs[v][""] {
				t.Errorf("visitor %d (%s): the cookieless key must be the same before and after the kill (salts kept), and no visitor id; got keys %v, ids %v", v, kind, keysOf(keys[v]), keysOf(visitorIDs[v]))
			}
		}
	}
	t.Logf("%d events acknowledged (%d after the restart), %d not (%v), %d of those stored anyway; %d documents, %v answered 409 after the restart; test total %s",
		len(acked), len(acked)-sum(ackedAtKill), len(unacked), failures, storedUnacked, total, duplicates, time.Since(began).Round(time.Second))
}

// drillHits is the request builder of drill worker w: its visitors take
// turns, each request carrying events whose ids name the visitor.
func drillHits(listen string, w int) func(seq int) loadHit {
	var mine []int
	for v := w; v < drillVisitors; v += drillWorkers {
		mine = append(mine, v)
	}
	return func(seq int) loadHit {
		v := mine[seq%len(mine)]
		page := fmt.Sprintf("https://shop.example/v%02d/p/%d", v, seq)
		id := func(i int) string { return fmt.Sprintf("drill-v%02d-w%d-%06d-%d", v, w, seq, i) }
		header := http.Header{
			"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", 10+v)},
			"User-Agent":      {fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.%d.0 Safari/537.36", v)},
		}
		switch drillKind(v) {
		case consentedBeacon:
			ids := []string{id(0), id(1)}
			return beaconHit(listen, map[string]any{
				"site": drillSite, "visitor_id": fmt.Sprintf("drill-visitor-%02d", v), "session_id": fmt.Sprintf("drill-session-%02d", v),
				"consent": map[string]any{"analytics": "granted"},
				"events": []map[string]any{
					{"id": ids[0], "type": "page_view", "url": page, "title": "Drill"},
					{"id": ids[1], "type": "custom", "url": page, "name": "drill_step", "props": map[string]any{"seq": seq}},
				},
			}, ids, header)
		case anonymousBeacon:
			ids := []string{id(0), id(1)}
			return beaconHit(listen, map[string]any{
				"site": drillSite,
				"events": []map[string]any{
					{"id": ids[0], "type": "page_view", "url": page, "title": "Drill"},
					{"id": ids[1], "type": "page_view", "url": page + "/more", "title": "Drill"},
				},
			}, ids, header)
		}
		return pixelHit(listen, url.Values{"s": {drillSite}, "eid": {id(0)}, "url": {page}, "t": {"Drill"}}, header)
	}
}

// pixelHit is an image pixel hit carrying one event: acknowledged by its
// GIF. A pixel answers its GIF also when the pipeline refused the hit
// (docs/reliability.md); in the drill nothing refuses, so the GIF means
// the event was taken.
func pixelHit(listen string, query url.Values, header http.Header) loadHit {
	req, _ := http.NewRequest(http.MethodGet, "http://"+listen+"/p.gif?"+query.Encode(), http.NoBody)
	for k, v := range header {
		req.Header[k] = v
	}
	return loadHit{req: req, ids: []string{query.Get("eid")}, check: func(resp *http.Response, _ []byte) string {
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" {
			return fmt.Sprintf("pixel answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return ""
	}}
}

func drillVisitorOf(t *testing.T, eventID string) int {
	t.Helper()
	m := drillEventID.FindStringSubmatch(eventID)
	if m == nil {
		t.Fatalf("event id %q is not one of the drill's", eventID)
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

// waitOutUTCMidnight waits until a UTC midnight less than five minutes
// away has passed: the cookieless salts rotate then by design, which would
// change the anonymous visitors' keys in the middle of the drill.
func waitOutUTCMidnight(t *testing.T) {
	t.Helper()
	now := time.Now().UTC()
	midnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	if wait := midnight.Sub(now); wait < 5*time.Minute {
		t.Logf("waiting %s for the UTC midnight, when the cookieless salts rotate", wait.Round(time.Second))
		time.Sleep(wait + time.Second)
	}
}

func sum(ns []int) int {
	s := 0
	for _, n := range ns {
		s += n
	}
	return s
}
