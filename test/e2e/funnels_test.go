package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/funnelcheck"
)

const funnelSite = "e2e-funnels"

// fnFunnel is one funnel of the test's collector configuration: each step
// is a page path, or "+name" for a custom event of that name.
type fnFunnel struct {
	name, scope, order string
	window             time.Duration // scope visitor
	steps              []string      // step names
	match              []string      // what each step matches
}

var fnFunnels = []fnFunnel{
	{name: "checkout", scope: em.FunnelScopeVisit, order: em.FunnelOrderAny,
		steps: []string{"product", "cart", "checkout", "paid"}, match: []string{"/product", "+add_to_cart", "/checkout", "/thanks"}},
	{name: "signup", scope: em.FunnelScopeVisit, order: em.FunnelOrderStrict,
		steps: []string{"pricing", "form", "welcome"}, match: []string{"/pricing", "/signup", "/welcome"}},
	{name: "onboarding", scope: em.FunnelScopeVisitor, order: em.FunnelOrderAny, window: 7 * 24 * time.Hour,
		steps: []string{"welcome", "project", "invite"}, match: []string{"/welcome", "/app/project", "/app/invite"}},
}

// fnConfig is the funnels section of the attribution processor.
func fnConfig() string {
	var b strings.Builder
	b.WriteString("    funnels:\n")
	for _, f := range fnFunnels {
		fmt.Fprintf(&b, "      - name: %s\n        scope: %s\n        order: %s\n", f.name, f.scope, f.order)
		if f.window > 0 {
			fmt.Fprintf(&b, "        window: %s\n", f.window)
		}
		b.WriteString("        steps:\n")
		for k, s := range f.steps {
			cond := fmt.Sprintf(`attributes["url.path"] == "%s" and event_name == "%s"`, f.match[k], em.EventPageView)
			if name, ok := strings.CutPrefix(f.match[k], "+"); ok {
				cond = fmt.Sprintf(`event_name == "%s" and attributes["%s"] == "%s"`, em.EventCustom, em.AttrCustomName, name)
			}
			fmt.Fprintf(&b, "          - name: %s\n            conditions: ['%s']\n", s, cond)
		}
	}
	return b.String()
}

// fnPattern is a journey shape: visits days apart, each a list of page
// paths (page views) and "+name" custom events, what it exercises in
// its name.
type fnPattern struct {
	name   string
	visits []fnPatternVisit
}

type fnPatternVisit struct {
	day    float64 // days after the visitor's first visit
	tokens []string
}

func fv(day float64, tokens ...string) fnPatternVisit { return fnPatternVisit{day, tokens} }

var fnPatterns = []fnPattern{
	// checkout: visit scope, any order.
	{"c-abandon-1", []fnPatternVisit{fv(0, "/product", "/about")}},
	{"c-abandon-2", []fnPatternVisit{fv(0, "/", "/product", "+add_to_cart", "/faq")}},
	{"c-abandon-3-no-next", []fnPatternVisit{fv(0, "/product", "+add_to_cart", "/checkout")}},
	{"c-complete", []fnPatternVisit{fv(0, "/product", "+add_to_cart", "/checkout", "/thanks", "/account")}},
	{"c-any-order", []fnPatternVisit{fv(0, "/product", "/checkout", "+add_to_cart", "/checkout", "/thanks")}},
	{"c-repeats", []fnPatternVisit{fv(0, "/product", "/product", "+add_to_cart", "+add_to_cart", "/checkout", "/blog")}},
	{"c-retry-worse", []fnPatternVisit{fv(0, "/product", "+add_to_cart", "/x1"), fv(3, "/product", "/y1")}},
	{"c-retry-completes", []fnPatternVisit{fv(0, "/product", "/z1"), fv(8, "/", "/product", "+add_to_cart", "/checkout", "/thanks")}},
	{"c-other-visit-no-advance", []fnPatternVisit{fv(0, "/product", "/about"), fv(1, "/cart", "+add_to_cart", "/checkout")}},
	{"c-never-entered", []fnPatternVisit{fv(0, "/cart", "+add_to_cart", "/checkout")}},
	// signup: visit scope, strict order.
	{"s-complete", []fnPatternVisit{fv(0, "/pricing", "/signup", "/welcome")}},
	{"s-skip-breaks", []fnPatternVisit{fv(0, "/pricing", "/welcome", "/faq")}},
	{"s-repeats", []fnPatternVisit{fv(0, "/pricing", "/pricing", "/signup", "/signup", "/welcome")}},
	{"s-restart-completes", []fnPatternVisit{fv(0, "/pricing", "/signup", "/pricing", "/signup", "/welcome")}},
	{"s-restart-worse", []fnPatternVisit{fv(0, "/pricing", "/signup", "/pricing", "/contact")}},
	{"s-other-page-between", []fnPatternVisit{fv(0, "/pricing", "/about", "/signup")}},
	{"s-abandon-2", []fnPatternVisit{fv(0, "/", "/pricing", "/signup", "/blog")}},
	// onboarding: visitor scope (returning visitors across weeks), 7 days.
	{"o-complete-across-visits", []fnPatternVisit{fv(0, "/welcome", "/docs"), fv(2, "/app/project"), fv(5, "/docs", "/app/invite")}},
	{"o-window-expires-retry", []fnPatternVisit{fv(0, "/welcome", "/docs"), fv(10, "/app/project"), fv(12, "/welcome"), fv(13, "/app/project", "/help")}},
	{"o-weeks", []fnPatternVisit{fv(0, "/welcome"), fv(3, "/app/project", "/pricing"), fv(17, "/app/invite")}},
	{"o-one-visit", []fnPatternVisit{fv(0, "/welcome", "/app/project", "/app/invite")}},
	{"o-abandon-1", []fnPatternVisit{fv(0, "/welcome", "/pricing"), fv(4, "/docs")}},
	{"o-returns-weekly", []fnPatternVisit{fv(0, "/docs"), fv(7, "/welcome"), fv(13.5, "/app/project"), fv(21, "/docs", "/app/invite", "/")}},
}

// fnEvent is one event of the seed.
type fnEvent struct {
	id     string
	at     time.Time
	visit  int
	path   string
	custom string // custom event name ("" = a page view)
}

type fnVisitor struct {
	name    string
	pattern string
	mobile  bool
	bot     bool          // a crawler's user agent: marked, never attributed
	chans   []dashChannel // of each visit
	events  []fnEvent
}

const (
	fnBotUA    = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	fnMobileUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	fnPerShape = 5
)

// fnSeed instantiates every pattern for fnPerShape visitors: first visits
// spread over two weeks starting 40 days ago, each visit on its own day
// (visits are days apart: far beyond the idle timeout), events 20 to 200
// seconds apart, channels and devices varied. The last visitor of each
// shape of the "c-complete", "s-complete" and "o-one-visit" shapes is a
// bot: it goes through every step and must enter no funnel.
func fnSeed(now time.Time) []fnVisitor {
	rng := rand.New(rand.NewPCG(20261202, 20))
	chans := []dashChannel{dashChannels[0], dashChannels[1], dashChannels[2], dashChannels[3], dashChannels[5]}
	base := now.Add(-40 * 24 * time.Hour).Truncate(time.Hour)
	var out []fnVisitor
	for _, p := range fnPatterns {
		for i := range fnPerShape {
			v := fnVisitor{name: fmt.Sprintf("fn-%s-%d", p.name, i), pattern: p.name, mobile: rng.IntN(3) == 0}
			switch p.name {
			case "c-complete", "s-complete", "o-one-visit":
				v.bot = i == fnPerShape-1
			}
			first := base.Add(time.Duration(rng.IntN(14*24)) * time.Hour)
			for k, pv := range p.visits {
				v.chans = append(v.chans, chans[rng.IntN(len(chans))])
				at := first.Add(time.Duration(pv.day * float64(24*time.Hour))).Add(time.Duration(rng.IntN(3600)) * time.Second)
				path := "/"
				for j, tok := range pv.tokens {
					e := fnEvent{id: fmt.Sprintf("%s-k%d-e%d", v.name, k, j), at: at, visit: k}
					if name, ok := strings.CutPrefix(tok, "+"); ok {
						e.path, e.custom = path, name
					} else {
						path, e.path = tok, tok
					}
					v.events = append(v.events, e)
					at = at.Add(time.Duration(20+rng.IntN(180)) * time.Second)
				}
			}
			out = append(out, v)
		}
	}
	return out
}

// fnLines are the seed's import lines, each visitor's in time order.
func fnLines(seed []fnVisitor) []string {
	var lines []string
	for _, v := range seed {
		ua := dashUA
		switch {
		case v.bot:
			ua = fnBotUA
		case v.mobile:
			ua = fnMobileUA
		}
		landed := map[int]bool{}
		for _, e := range v.events {
			ch := v.chans[e.visit]
			ev := map[string]any{
				"id": e.id, "ts": e.at.UnixMilli(), "url": "https://shop.example" + e.path, "visitor_id": v.name,
				"session_id": fmt.Sprintf("%s-s%d", v.name, e.visit), "consent": map[string]any{"analytics": em.ConsentGranted},
				"user_agent": ua,
			}
			if e.custom != "" {
				ev["type"], ev["name"] = "custom", e.custom
			} else {
				ev["type"] = "page_view"
				if !landed[e.visit] {
					// The visit's landing: its channel.
					landed[e.visit] = true
					ev["url"] = "https://shop.example" + e.path + ch.query
					if ch.referrer != "" {
						ev["referrer"] = ch.referrer
					}
				}
			}
			line, _ := json.Marshal(ev)
			lines = append(lines, string(line))
		}
	}
	return lines
}

// fnAttempt is one attempt of the oracle.
type fnAttempt struct {
	visit     int         // of its first step
	times     []time.Time // of each step reached
	lastVisit int         // of its furthest step
	done      bool
}

// fnOracle is the test's own reading of the funnel semantics
// (notes/funnel-spec.md): the visitor's record of funnel f, or nil when
// the visitor never entered it.
func fnOracle(f fnFunnel, v fnVisitor) *funnelcheck.Record {
	if v.bot {
		return nil // bots never count
	}
	matches := func(e fnEvent) []bool {
		m := make([]bool, len(f.match))
		for k, want := range f.match {
			if name, ok := strings.CutPrefix(want, "+"); ok {
				m[k] = e.custom == name
			} else {
				m[k] = e.custom == "" && e.path == want
			}
		}
		return m
	}
	var attempts []*fnAttempt
	var cur *fnAttempt
	start := func(e fnEvent) {
		cur = &fnAttempt{visit: e.visit, times: []time.Time{e.at}, lastVisit: e.visit}
		attempts = append(attempts, cur)
	}
	for _, e := range v.events {
		if cur != nil && cur.done {
			break // a completed attempt is final
		}
		m := matches(e)
		if cur != nil {
			switch f.scope {
			case em.FunnelScopeVisit:
				if e.visit != cur.visit {
					if !m[0] {
						continue // another visit never advances it
					}
					cur = nil // a step 1 in a later visit closes it
				}
			case em.FunnelScopeVisitor:
				if e.at.Sub(cur.times[0]) > f.window {
					cur = nil
				}
			}
		}
		if cur == nil {
			if m[0] {
				start(e)
			}
			continue
		}
		k := len(cur.times) // the next step's index
		if m[k] {
			cur.times = append(cur.times, e.at)
			cur.lastVisit = e.visit
			cur.done = len(cur.times) == len(f.steps)
			continue
		}
		if f.order == em.FunnelOrderStrict {
			for j := range m {
				if m[j] && j != k-1 {
					// Another step in between ends the attempt; a step 1
					// starts the next one.
					cur = nil
					if m[0] {
						start(e)
					}
					break
				}
			}
		}
	}
	if len(attempts) == 0 {
		return nil
	}
	best := attempts[0]
	for _, a := range attempts[1:] {
		if len(a.times) > len(best.times) {
			best = a
		}
	}
	r := &funnelcheck.Record{
		Site: funnelSite, Visitor: v.name, Funnel: f.name, Scope: f.scope, Order: f.order,
		Steps: f.steps, At: best.times, Attempts: len(attempts),
		Medium: v.chans[best.visit].medium, Source: v.chans[best.visit].source, Device: em.DeviceDesktop,
	}
	if v.mobile {
		r.Device = em.DeviceMobile
	}
	if !best.done {
		last := best.times[len(best.times)-1]
		for _, e := range v.events {
			if e.visit == best.lastVisit && e.custom == "" && e.at.After(last) {
				r.NextPage = e.path
				break
			}
		}
	}
	return r
}

// fnStored is what the test compares of a stored funnel record.
func fnStored(d map[string]any) string {
	str := func(k string) string {
		if v, ok := d[k]; ok {
			return fmt.Sprint(v)
		}
		return ""
	}
	var at []string
	for n := range em.MaxFunnelSteps {
		if s := str(em.AttrFunnelStepAt[n]); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return "bad time " + s
			}
			at = append(at, t.UTC().Format(time.RFC3339Nano))
		}
	}
	return fmt.Sprintf("reached=%s completed=%s attempts=%s next=%q last=%q steps=%v medium=%s source=%s device=%s scope=%s order=%s count=%s",
		str(em.AttrFunnelStepsReached), str(em.AttrFunnelCompleted), str(em.AttrFunnelAttempts), str(em.AttrFunnelNextPage),
		str(em.AttrFunnelLastStep), at, str(em.AttrChannelMedium), str(em.AttrChannelSource), str(em.AttrDeviceClass),
		str(em.AttrFunnelScope), str(em.AttrFunnelOrder), str(em.AttrFunnelStepCount))
}

// fnWant is fnStored of an expected record.
func fnWant(r funnelcheck.Record) string {
	var at []string
	for _, t := range r.At {
		at = append(at, t.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("reached=%d completed=%v attempts=%d next=%q last=%q steps=%v medium=%s source=%s device=%s scope=%s order=%s count=%d",
		r.Reached(), r.Completed(), r.Attempts, r.NextPage, r.LastStep(), at, r.Medium, r.Source, r.Device, r.Scope, r.Order, len(r.Steps))
}

// fnCompare compares the stored funnel records with the oracle's.
func fnCompare(got map[string]map[string]any, nameOf, wantBy map[string]string) []string {
	var diffs []string
	seen := map[string]bool{}
	for _, d := range got {
		key := nameOf[fmt.Sprint(d[em.AttrVisitorID])] + "|" + fmt.Sprint(d[em.AttrFunnelName])
		seen[key] = true
		if g, w := fnStored(d), wantBy[key]; g != w {
			diffs = append(diffs, fmt.Sprintf("%s:\n   got  %s\n   want %s", key, g, w))
		}
	}
	for key := range wantBy {
		if !seen[key] {
			diffs = append(diffs, key+": no record")
		}
	}
	return diffs
}

// TestFunnels imports weeks of journeys through the built collector's
// import endpoint with three funnels configured (visit scope any order,
// visit scope strict, visitor scope across visits) and journeys that enter
// and abandon at every step, complete, break the strict order, repeat
// steps, come back in later visits and weeks and retry. The test's own
// model of the funnel semantics (fnOracle) gives each visitor's record:
// every stored record must be it (steps reached and their times,
// completed, attempts, next page, channel, device), and every panel of the
// Funnels dashboard must show the numbers those records imply
// (funnelcheck: the Vega funnel chart and next pages rendered by the real
// vega package, the Lens tables' queries).
func TestFunnels(t *testing.T) {
	store, prefix, listen := importPipeline(t, funnelSite, "    bots: {action: mark}\n", fnConfig())

	seed := fnSeed(time.Now())
	lines := fnLines(seed)
	total := len(lines)
	importAll(t, listen, funnelSite, lines)

	var want []funnelcheck.Record
	wantBy := map[string]string{} // visitor name|funnel -> fnWant
	for _, v := range seed {
		for _, f := range fnFunnels {
			if r := fnOracle(f, v); r != nil {
				want = append(want, *r)
				wantBy[v.name+"|"+f.name] = fnWant(*r)
			}
		}
	}
	funnels := storeIndex(prefix, journeystore.FamilyFunnels)
	eventually(t, 90*time.Second, "every event and every funnel record stored", func() bool {
		return dashCount(store, storeIndex(prefix, journeystore.FamilyEvents)) == total && dashCount(store, funnels) == len(want)
	})

	// The stored visitor ids are pseudonyms: find each seed visitor's by
	// its first event.
	var firstIDs []string
	for _, v := range seed {
		firstIDs = append(firstIDs, v.events[0].id)
	}
	nameOf := map[string]string{}
	for id, d := range store.searchHits(storeIndex(prefix, journeystore.FamilyEvents), map[string]any{"ids": map[string]any{"values": firstIDs}}) {
		nameOf[fmt.Sprint(d[em.AttrVisitorID])] = id[:strings.LastIndex(id, "-k")]
	}
	if len(nameOf) != len(seed) {
		t.Fatalf("found the stored ids of %d of %d visitors", len(nameOf), len(seed))
	}
	// Records are re-emitted as attempts move on: compare once the last
	// versions are in.
	var diffs []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		diffs = fnCompare(store.searchHits(funnels, map[string]any{"match_all": map[string]any{}}), nameOf, wantBy)
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	if t.Failed() {
		return
	}
	t.Logf("funnels: %d records of %d visitors as the oracle says", len(want), len(seed))

	chart, next := funnelcheck.Check(t, store.do, prefix, want)
	writePicture(t, "funnels", chart.SVG)
	writePicture(t, "funnels-next", next.SVG)

	// The whole history again (a second import of the same files): every
	// event is one the processor has applied or older than the visitor's
	// state, so no record may change. A new visitor imported after it
	// enters checkout: once its record is stored, the pipeline has
	// handled the repeat before it.
	lines = fnLines(seed)
	importAll(t, listen, funnelSite, lines)
	sentinel := fnVisitor{name: "fn-sentinel", chans: []dashChannel{dashChannels[5]}, events: []fnEvent{
		{id: "fn-sentinel-k0-e0", at: time.Now().Add(-time.Hour), path: "/product"},
	}}
	importAll(t, listen, funnelSite, fnLines([]fnVisitor{sentinel}))
	eventually(t, 60*time.Second, "the sentinel's funnel record", func() bool { return dashCount(store, funnels) == len(want)+1 })
	if n := dashCount(store, storeIndex(prefix, journeystore.FamilyEvents)); n != total+1 {
		t.Errorf("%d events stored after the second import, want %d (each once)", n, total+1)
	}
	got := store.searchHits(funnels, map[string]any{"bool": map[string]any{"must_not": map[string]any{"terms": map[string]any{
		em.AttrVisitorID: []string{fmt.Sprint(store.searchHits(storeIndex(prefix, journeystore.FamilyEvents),
			map[string]any{"ids": map[string]any{"values": []string{"fn-sentinel-k0-e0"}}})["fn-sentinel-k0-e0"][em.AttrVisitorID])},
	}}}})
	for _, d := range fnCompare(got, nameOf, wantBy) {
		t.Errorf("after the second import: %s", d)
	}
}
