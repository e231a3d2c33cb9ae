package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

const (
	twoTierSite = "e2e-two-tier"
	// A browser's user agent: the front's bot filter (action drop) lets it in.
	twoTierUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"
	// Each visitor views this many pages, one beacon per page view.
	twoTierPages = 6
)

// TestTwoTierConfigsValidate: the shipped two-tier configurations pass
// `otelcol-webjourney validate` with the built distribution, with their
// defaults and with a list of two back collectors.
func TestTwoTierConfigsValidate(t *testing.T) {
	bin := collectorBin(t)
	secret := filepath.Join(t.TempDir(), "anonymizer.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		env  []string
	}{
		{"front.yaml", nil},
		{"front.yaml", []string{"WEBJOURNEY_BACKENDS=[back-1.example:4317, back-2.example:4317]", "WEBJOURNEY_BACK_TLS_INSECURE=false"}},
		{"back.yaml", []string{"WEBJOURNEY_STATE_DIR=" + t.TempDir()}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cmd := exec.Command(bin, "validate", "--config", filepath.Join("..", "..", "config", "two-tier", tc.file))
			cmd.Env = append(os.Environ(), "ELASTICSEARCH_URL=http://127.0.0.1:9200", "WEBJOURNEY_ANONYMIZER_SECRET_FILE="+secret)
			cmd.Env = append(cmd.Env, tc.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("validate %s: %v\n%s", tc.file, err, out)
			}
		})
	}
}

// twoTierVisitor is one simulated browser: a visitor id (empty for a
// cookieless browser) and the source addresses its hits come from, used
// in turn (a phone moving between Wi-Fi and mobile data).
type twoTierVisitor struct {
	name  string // prefix of its event ids
	id    string
	addrs []string
}

func (v twoTierVisitor) eventID(page int) string { return fmt.Sprintf("%s-p%d", v.name, page) }

// TestTwoTier runs the two-tier layout of docs/two-tier.md with the shipped
// configurations: two front collectors (config/two-tier/front.yaml: pixel
// receiver with routing_key, load_balancing exporter) and two back
// collectors (config/two-tier/back.yaml: otlp, consent, anonymizer,
// attribution, elasticsearch_journey), each back writing under its own
// index prefix so that the test sees which back handled what.
//
// Every visitor's page views alternate between the two fronts (and the
// id'd visitors' also between two addresses), so a visit survives only if
// the routing key sends all of them to one back: each visitor must end up
// with exactly one visit of all its pages, on one back. Both backs must
// have had visitors, so the test fails if everything went to one back.
//
// Two controls on a third front show that the assertions can fail: without
// the routing key every record goes to the same back (all id-less traffic
// would pile onto one collector), and routing that ignores the visitor
// (traceID, which is random for log records without a trace) splits
// journeys across the backs.
func TestTwoTier(t *testing.T) {
	esURL := estest.URL(t)
	collectorBin(t)
	store := es{t: t, url: esURL}
	base := estest.UniquePrefix(t)
	// Registered first, so it runs after every collector has stopped.
	t.Cleanup(func() { store.deleteIndices(base) })

	secret := filepath.Join(t.TempDir(), "anonymizer.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("4e", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Two back collectors: the shipped back.yaml, configured through its
	// environment variables (the child process inherits them at start).
	prefixes := []string{base + "-a", base + "-b"}
	var backends []string
	for i, prefix := range prefixes {
		otlp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		backends = append(backends, otlp)
		setEnv(t, map[string]string{
			"WEBJOURNEY_OTLP_LISTEN":            otlp,
			"WEBJOURNEY_HEALTH":                 health,
			"WEBJOURNEY_METRICS_PORT":           fmt.Sprint(freePort(t)),
			"WEBJOURNEY_STATE_DIR":              filepath.Join(t.TempDir(), fmt.Sprintf("back-%d", i)),
			"WEBJOURNEY_ANONYMIZER_SECRET_FILE": secret, // the same on every back
			"ELASTICSEARCH_URL":                 esURL,
			"WEBJOURNEY_INDEX_PREFIX":           prefix,
		})
		startCollector(t, readShipped(t, "back.yaml"), health)
	}

	// Two front collectors: the shipped front.yaml, listing both backs.
	var fronts []string
	for range 2 {
		listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		setEnv(t, map[string]string{
			"WEBJOURNEY_LISTEN":       listen,
			"WEBJOURNEY_HEALTH":       health,
			"WEBJOURNEY_METRICS_PORT": fmt.Sprint(freePort(t)),
			"WEBJOURNEY_SITE":         twoTierSite,
			"WEBJOURNEY_BACKENDS":     "[" + strings.Join(backends, ", ") + "]",
		})
		startCollector(t, readShipped(t, "front.yaml"), health)
		fronts = append(fronts, "http://"+listen+"/b")
	}

	// The control front: one collector, two pipelines to the same backs.
	noKey := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	byTrace := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	controlHealth := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startCollector(t, fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
receivers:
  pixel/no_key:
    endpoint: %s
    sites: [{id: %s}]
  pixel/by_trace:
    endpoint: %s
    routing_key: true
    sites: [{id: %s}]
exporters:
  load_balancing/attributes:
    routing_key: attributes
    routing_attributes: [%s]
    protocol: {otlp: {tls: {insecure: true}}}
    resolver: {static: {hostnames: [%s]}}
  load_balancing/trace:
    routing_key: traceID
    protocol: {otlp: {tls: {insecure: true}}}
    resolver: {static: {hostnames: [%s]}}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs/no_key:
      receivers: [pixel/no_key]
      exporters: [load_balancing/attributes]
    logs/by_trace:
      receivers: [pixel/by_trace]
      exporters: [load_balancing/trace]
`, controlHealth, noKey, twoTierSite, byTrace, twoTierSite, eventmodel.AttrRoutingKey,
		strings.Join(backends, ", "), strings.Join(backends, ", ")), controlHealth)

	// 40 visitors with ids, each hit alternating between two addresses;
	// 16 cookieless browsers, one address each (all of 127.0.0.0/8 is
	// loopback, so each can be a distinct client of the receiver).
	var visitors, cookieless, ctlNoKey, ctlByTrace []twoTierVisitor
	for i := range 40 {
		visitors = append(visitors, twoTierVisitor{
			name: fmt.Sprintf("tt-v%02d", i), id: fmt.Sprintf("tt-visitor-%02d", i),
			addrs: []string{fmt.Sprintf("127.0.1.%d", i+1), fmt.Sprintf("127.0.2.%d", i+1)},
		})
	}
	for i := range 16 {
		cookieless = append(cookieless, twoTierVisitor{name: fmt.Sprintf("tt-c%02d", i), addrs: []string{fmt.Sprintf("127.0.3.%d", i+1)}})
	}
	for i := range 8 {
		ctlNoKey = append(ctlNoKey, twoTierVisitor{
			name: fmt.Sprintf("tt-nokey-v%02d", i), id: fmt.Sprintf("tt-nokey-visitor-%02d", i),
			addrs: []string{fmt.Sprintf("127.0.4.%d", i+1)},
		})
		ctlNoKey = append(ctlNoKey, twoTierVisitor{name: fmt.Sprintf("tt-nokey-c%02d", i), addrs: []string{fmt.Sprintf("127.0.5.%d", i+1)}})
		ctlByTrace = append(ctlByTrace, twoTierVisitor{
			name: fmt.Sprintf("tt-trace-v%02d", i), id: fmt.Sprintf("tt-trace-visitor-%02d", i),
			addrs: []string{fmt.Sprintf("127.0.6.%d", i+1)},
		})
	}

	// One round per page: every visitor's page n, then page n+1, so each
	// visitor's events arrive in order. Event times are spread over the
	// last two minutes (ts is sent_at minus how long ago the view was).
	for page := range twoTierPages {
		ago := time.Duration(twoTierPages-1-page) * 20 * time.Second
		for i, v := range visitors {
			sendTwoTierBeacon(t, fronts[(i+page)%2], v, page, ago)
		}
		for i, v := range cookieless {
			sendTwoTierBeacon(t, fronts[(i+page)%2], v, page, ago)
		}
		for _, v := range ctlNoKey {
			sendTwoTierBeacon(t, "http://"+noKey+"/b", v, page, ago)
		}
		for _, v := range ctlByTrace {
			sendTwoTierBeacon(t, "http://"+byTrace+"/b", v, page, ago)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// Wait for every event, on whichever back.
	all := append(append(append(append([]twoTierVisitor{}, visitors...), cookieless...), ctlNoKey...), ctlByTrace...)
	want := len(all) * twoTierPages
	var events [2]map[string]map[string]any
	eventually(t, 90*time.Second, fmt.Sprintf("%d events in Elasticsearch", want), func() bool {
		n := 0
		for b, prefix := range prefixes {
			events[b] = store.searchHits(storeIndex(prefix, journeystore.FamilyEvents), map[string]any{"match_all": map[string]any{}})
			n += len(events[b])
		}
		return n >= want
	})

	// Where each visitor's events went: back index, visit ids, visitor keys.
	type placement struct {
		backs, visitIDs, keys map[string]bool
		missing               int
	}
	place := func(v twoTierVisitor) placement {
		p := placement{backs: map[string]bool{}, visitIDs: map[string]bool{}, keys: map[string]bool{}}
		for page := range twoTierPages {
			found := false
			for b := range prefixes {
				d, ok := events[b][v.eventID(page)]
				if !ok {
					continue
				}
				found = true
				p.backs[prefixes[b]] = true
				if id, _ := d[eventmodel.AttrVisitID].(string); id != "" {
					p.visitIDs[id] = true
				}
				key, _ := d[eventmodel.AttrVisitorID].(string)
				if v.id == "" {
					key, _ = d[eventmodel.AttrCookielessKey].(string)
				}
				p.keys[key] = true
			}
			if !found {
				p.missing++
			}
		}
		return p
	}

	// Visits, by visit id, on both backs. The latest snapshot of a visit
	// replaces the earlier ones (written by id), so wait until every
	// visitor's visit counts all its pages.
	var visits map[string][]map[string]any
	readVisits := func() {
		visits = map[string][]map[string]any{}
		for _, prefix := range prefixes {
			for _, d := range store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"match_all": map[string]any{}}) {
				d["_back"] = prefix
				id, _ := d[eventmodel.AttrVisitID].(string)
				visits[id] = append(visits[id], d)
			}
		}
	}
	pagesOf := func(visitID string) int {
		n := -1
		for _, d := range visits[visitID] {
			if f, ok := d[eventmodel.AttrVisitPagesViewed].(float64); ok && int(f) > n {
				n = int(f)
			}
		}
		return n
	}
	tracked := append(append([]twoTierVisitor{}, visitors...), cookieless...)
	eventually(t, 90*time.Second, "a visit of all pages for every visitor", func() bool {
		readVisits()
		for _, v := range tracked {
			p := place(v)
			if len(p.visitIDs) != 1 {
				return true // a split: report it below
			}
			for id := range p.visitIDs {
				if pagesOf(id) != twoTierPages {
					return false
				}
			}
		}
		return true
	})

	perBack := map[string]map[string]int{} // kind -> back -> visitors
	for _, v := range tracked {
		kind := "id"
		if v.id == "" {
			kind = "cookieless"
		}
		p := place(v)
		if p.missing > 0 || len(p.backs) != 1 || len(p.visitIDs) != 1 || len(p.keys) != 1 {
			t.Errorf("%s visitor %s: %d of %d events missing, events on backs %v, visits %v, visitor keys %v; want all on one back, in one visit",
				kind, v.name, p.missing, twoTierPages, keysOf(p.backs), keysOf(p.visitIDs), keysOf(p.keys))
			continue
		}
		back, visitID, key := only(p.backs), only(p.visitIDs), only(p.keys)
		if perBack[kind] == nil {
			perBack[kind] = map[string]int{}
		}
		perBack[kind][back]++
		docs := visits[visitID]
		if len(docs) != 1 {
			t.Errorf("%s visitor %s: visit %s has %d documents, want 1", kind, v.name, visitID, len(docs))
			continue
		}
		d := docs[0]
		if d["_back"] != back || pagesOf(visitID) != twoTierPages {
			t.Errorf("%s visitor %s: visit on %v with %v pages viewed, want %s with %d", kind, v.name, d["_back"], d[eventmodel.AttrVisitPagesViewed], back, twoTierPages)
		}
		if v.id != "" && d[eventmodel.AttrVisitorID] != key {
			t.Errorf("visitor %s: visit names visitor %v, its events %s", v.name, d[eventmodel.AttrVisitorID], key)
		}
	}
	// Exactly one visit per id'd visitor, across both backs: no second,
	// partial visit anywhere.
	visitsOf := map[any]int{}
	for _, docs := range visits {
		for _, d := range docs {
			visitsOf[d[eventmodel.AttrVisitorID]]++
		}
	}
	for _, v := range visitors {
		if p := place(v); len(p.keys) == 1 {
			if n := visitsOf[only(p.keys)]; n != 1 {
				t.Errorf("visitor %s has %d visit documents, want exactly 1", v.name, n)
			}
		}
	}
	// Both backs did work, for id'd and for cookieless visitors.
	for _, kind := range []string{"id", "cookieless"} {
		for _, prefix := range prefixes {
			if perBack[kind][prefix] == 0 {
				t.Errorf("back %s got no %s visitor (%v): routing does not spread them", prefix, kind, perBack[kind])
			}
		}
	}
	t.Logf("visitors per back: %v", perBack)

	// Control 1: without the routing key, every record has the same key
	// ("missing"), so one back gets all of it.
	noKeyBacks := map[string]bool{}
	for _, v := range ctlNoKey {
		for b := range place(v).backs {
			noKeyBacks[b] = true
		}
	}
	if len(noKeyBacks) != 1 {
		t.Errorf("without the routing key, events went to backs %v; want all on one", keysOf(noKeyBacks))
	}
	// Control 2: routing that ignores the visitor splits journeys. Each
	// visitor's six events land on one back with probability 1/32; all
	// eight visitors unsplit would be a 1-in-10^12 accident.
	split := 0
	for _, v := range ctlByTrace {
		if len(place(v).backs) > 1 {
			split++
		}
	}
	if split == 0 {
		t.Errorf("random routing split no journey: the test could not tell sticky routing from luck")
	}
	t.Logf("control: random routing split %d of %d journeys", split, len(ctlByTrace))

	// The routing key and the raw ids and addresses it carried are stored
	// nowhere: the anonymizer removed the key, pseudonymised the ids and
	// reduced or removed the addresses.
	for _, prefix := range prefixes {
		docs := store.searchHits(storeIndex(prefix, journeystore.FamilyOther), map[string]any{"match_all": map[string]any{}})
		raw, _ := json.Marshal(docs)
		text := string(raw)
		if strings.Contains(text, eventmodel.AttrRoutingKey) {
			t.Errorf("%s: a stored document has %s", prefix, eventmodel.AttrRoutingKey)
		}
		for _, v := range all {
			if v.id != "" && strings.Contains(text, `"`+v.id+`"`) {
				t.Errorf("%s: raw visitor id %s is stored", prefix, v.id)
			}
			for _, a := range v.addrs {
				if strings.Contains(text, `"`+a+`"`) {
					t.Errorf("%s: raw client address %s is stored", prefix, a)
				}
			}
		}
	}
}

// sendTwoTierBeacon posts one page view of visitor v to a front collector,
// from the visitor's address for that page.
func sendTwoTierBeacon(t *testing.T, front string, v twoTierVisitor, page int, ago time.Duration) {
	t.Helper()
	now := time.Now().UnixMilli()
	b := map[string]any{
		"site":    twoTierSite,
		"consent": map[string]any{"analytics": eventmodel.ConsentGranted},
		"sent_at": now,
		"events": []map[string]any{{
			"id": v.eventID(page), "type": "page_view", "ts": now - ago.Milliseconds(),
			"url": fmt.Sprintf("https://shop.example/page-%d", page), "title": fmt.Sprintf("Page %d", page),
		}},
	}
	if v.id == "" {
		b["cookieless"] = true
	} else {
		b["visitor_id"] = v.id
		b["session_id"] = "session-" + v.name
	}
	body, _ := json.Marshal(b)
	addr := v.addrs[page%len(v.addrs)]
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}}).DialContext,
	}}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, front, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", twoTierUA)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("beacon from %s to %s: %v", addr, front, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"accepted":1`) {
		t.Fatalf("beacon %s from %s to %s: %d %s", v.eventID(page), addr, front, resp.StatusCode, out)
	}
}

// setEnv sets environment variables for the rest of the test; a collector
// started afterwards inherits them.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func readShipped(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "two-tier", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// only returns the single key of a one-element set.
func only(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}
