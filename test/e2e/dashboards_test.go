package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/kibana"
	"github.com/webjourney/webjourney/test/panelquery"
)

const (
	dashSite    = "e2e-dashboards"
	dashPartner = "archipro"
	dashUA      = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"
	dashTol     = 1e-9
	// dashTimeDecayTol is the relative tolerance of time-decay credit (see
	// compareRows): far below any error in the model (a wrong half-life or
	// touch time moves credits by percent).
	dashTimeDecayTol = 1e-6
	// dashSkew is how far behind the cookieless visitors' clocks are.
	dashSkew = 3 * time.Hour
)

// dashChannel is one way a visit arrives, and what the attribution
// processor must classify it as.
type dashChannel struct {
	medium, source, partner string
	query, referrer         string // landing query string and referrer
}

var dashChannels = []dashChannel{
	{medium: em.MediumSearch, source: "google", referrer: "https://www.google.com/search?q=oak+table"},
	{medium: em.MediumSocial, source: "instagram", referrer: "https://www.instagram.com/"},
	{medium: em.MediumEmail, source: "newsletter", query: "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"},
	{medium: em.MediumAI, source: "chatgpt", referrer: "https://chatgpt.com/"},
	{medium: em.MediumPartner, source: dashPartner, partner: dashPartner, referrer: "https://www.archipro.co.nz/listing/42"},
	{medium: em.MediumDirect, source: ""},
}

type dashEvent struct {
	id      string
	purpose string // "page", "engagement" or "purchase"
	ago     time.Duration
	url     string
	ref     string
	revenue float64
	engaged int64 // ms, of an engagement event on the landing page
}

type dashVisit struct {
	ch       dashChannel
	pages    int
	purchase bool
	revenue  float64
	engaged  int64 // ms
	events   []dashEvent
}

type dashVisitor struct {
	name       string
	cookieless bool
	// marketing: the visitor also grants marketing consent, so its
	// purchases credited to the partner are reported to it.
	marketing bool
	addr      string // source address (cookieless visitors: one each)
	visits    []dashVisit
}

// dashSeed makes the deterministic journeys: 240 visitors with consent
// (1-4 visits hours apart, 1-4 pages each, engaged time on the landing page
// of visits of several pages, some purchases) and 20 cookieless ones (one
// single-page visit each). Event times are t0 minus the events' ago, in
// steps of 5 s: t0 half-way between two such steps keeps every event
// 2.5 s away from an hour boundary, so hourly buckets are certain.
func dashSeed() []dashVisitor {
	rng := rand.New(rand.NewPCG(20251124, 42))
	var out []dashVisitor
	for i := range 240 {
		v := dashVisitor{name: fmt.Sprintf("dash-v%03d", i)}
		n := 1 + rng.IntN(4)
		for k := range n {
			vis := dashVisit{ch: dashChannels[rng.IntN(len(dashChannels))], pages: 1 + rng.IntN(4)}
			if vis.pages >= 2 && rng.IntN(10) < 3 {
				vis.purchase = true
				vis.revenue = float64(1000+rng.IntN(30000)) / 100
			}
			// Visits 5 h apart (idle timeout 30 min), all within the
			// receiver's 24 h client-delay bound.
			start := 21*time.Hour - time.Duration(k)*5*time.Hour - time.Duration(rng.IntN(120))*time.Minute
			for p := range vis.pages {
				e := dashEvent{id: fmt.Sprintf("%s-k%d-p%d", v.name, k, p), purpose: "page",
					ago: start - time.Duration(p)*45*time.Second, url: fmt.Sprintf("https://shop.example/p/%d", rng.IntN(8))}
				if p == 0 {
					e.url = "https://shop.example/" + vis.ch.query
					e.ref = vis.ch.referrer
				}
				vis.events = append(vis.events, e)
				if p == 0 && vis.pages >= 2 {
					// Engaged on the landing page (a bounce stays a bounce).
					vis.engaged = int64(1+rng.IntN(60)) * 1000
					vis.events = append(vis.events, dashEvent{id: fmt.Sprintf("%s-k%d-e0", v.name, k), purpose: "engagement",
						ago: start - 20*time.Second, url: e.url, engaged: vis.engaged})
				}
			}
			if vis.purchase {
				vis.events = append(vis.events, dashEvent{id: fmt.Sprintf("%s-k%d-buy", v.name, k), purpose: "purchase",
					ago: start - time.Duration(vis.pages)*45*time.Second, url: "https://shop.example/checkout/done", revenue: vis.revenue})
			}
			v.visits = append(v.visits, vis)
		}
		v.marketing = i%2 == 0 // not from rng: the journeys stay as they were
		out = append(out, v)
	}
	for i := range 20 {
		v := dashVisitor{name: fmt.Sprintf("dash-c%02d", i), cookieless: true, addr: fmt.Sprintf("127.0.%d.%d", 90+i, 1+i)}
		// Any channel but the partner: the consent processor removes the
		// full referrer of an anonymous event and keeps its domain, from
		// which the attribution processor still classifies the visit.
		ch := dashChannels[[]int{0, 1, 2, 3, 5}[rng.IntN(5)]]
		ago := time.Duration(1+rng.IntN(600)) * time.Minute
		v.visits = []dashVisit{{ch: ch, pages: 1, events: []dashEvent{{
			id: v.name + "-p0", purpose: "page", ago: ago, url: "https://shop.example/" + ch.query, ref: ch.referrer,
		}}}}
		out = append(out, v)
	}
	return append(out, dashLongVisitors()...)
}

// dashExpect holds, per panel, the rows the seed implies: row key (the
// bucket values joined by "|") -> column id -> value.
type dashExpect map[string]map[string]map[string]float64

func (x dashExpect) add(panel, row, col string, v float64) {
	if x[panel] == nil {
		x[panel] = map[string]map[string]float64{}
	}
	if x[panel][row] == nil {
		x[panel][row] = map[string]float64{}
	}
	x[panel][row][col] += v
}

func (x dashExpect) set(panel, row, col string, v float64) {
	x.add(panel, row, col, 0)
	x[panel][row][col] = v
}

// dashExpected computes the dashboard numbers from the seed, independently
// of the collector. Date histograms are read in hours (see runPanel).
func dashExpected(seed []dashVisitor, t0 time.Time) (x dashExpect, events, visits int) {
	x = dashExpect{}
	hour := func(ago time.Duration) string { return t0.Add(-ago).UTC().Format("2006-01-02T15") }
	var pages, bounces, converted, visitors, cookieless, keep, anon, referred, timed, skewed int
	var engaged int64
	var ttc []float64 // time to convert of each purchase, ms
	type bucket struct {
		visits, bounces, conv, pages int
		engaged                      int64
	}
	channels := map[string]*bucket{}
	partner := &bucket{}
	pathVisits := map[string]map[string]bool{} // path -> visit keys
	refVisits := map[string]int{}
	for vi, v := range seed {
		if v.cookieless {
			cookieless++
		} else {
			visitors++
		}
		hadPartner := false
		for k, vis := range v.visits {
			visits++
			pages += vis.pages
			engaged += vis.engaged
			events += len(vis.events)
			decision := em.DecisionKeep
			if v.cookieless {
				anon += len(vis.events)
				decision = em.DecisionAnonymous
			} else {
				keep += len(vis.events)
			}
			landing := vis.events[0]
			for _, e := range vis.events {
				x.add("privacy/decisions", hour(e.ago)+"|"+decision, "n", 1)
				timed++
				if v.cookieless { // sent with a clock dashSkew behind: shifted
					skewed++
					x.add("privacy/timeline", hour(e.ago)+"|"+em.TimeCorrectionSkew, "n", 1)
				}
				if e.purpose != "page" {
					continue
				}
				path := dashPath(e.url)
				x.add("overview/pages", path, "pv", 1)
				if pathVisits[path] == nil {
					pathVisits[path] = map[string]bool{}
				}
				pathVisits[path][fmt.Sprint(vi, "/", k)] = true
			}
			x.add("overview/devices", "desktop|Chrome", "pv", float64(vis.pages))
			if landing.ref != "" {
				host := strings.SplitN(strings.TrimPrefix(landing.ref, "https://"), "/", 2)[0]
				refVisits[host]++
			}
			key := vis.ch.medium + "|" + vis.ch.source
			if channels[key] == nil {
				channels[key] = &bucket{}
			}
			b := channels[key]
			b.visits++
			bounced := vis.pages == 1
			if bounced {
				bounces++
				b.bounces++
			}
			if vis.purchase {
				converted++
				b.conv++
			}
			if vis.ch.partner != "" {
				hadPartner = true
				partner.visits++
				partner.pages += vis.pages
				partner.engaged += vis.engaged
				if bounced {
					partner.bounces++
				}
			}
			x.add("overview/visits", "", "visits", 1)
			x.add("overview/overtime", hour(landing.ago)+"|desktop", "visits", 1)
			x.add("acquisition/overtime", hour(landing.ago)+"|"+vis.ch.medium, "visits", 1)
			if vis.ch.partner != "" {
				x.add("partner/visits", "", "visits", 1)
				x.add("partner/overtime", hour(landing.ago)+"|"+vis.ch.partner, "visits", 1)
			}
			if !vis.purchase {
				continue
			}
			// The touches of this purchase: the entries of visits 0..k,
			// at the times of their landing page views.
			touches := v.visits[:k+1]
			buy := vis.events[len(vis.events)-1]
			credits := dashCredits(touches, t0.Add(-buy.ago), t0)
			for i, t := range touches {
				for model, c := range credits[i] {
					x.add("outcomes/bymodel", t.ch.medium+"|"+model, "credit", c)
					x.add("outcomes/valuebymodel", t.ch.medium+"|"+model, "value", c*vis.revenue)
					if t.ch.partner != "" {
						row := t.ch.partner + "|purchase|" + model
						x.add("partner/credits", row, "credit", c)
						x.add("partner/credits", row, "value", c*vis.revenue)
					}
				}
			}
			// The partner's postback: under its model (last touch), the
			// purchase is the partner's when the purchase visit came
			// through it; reported when the visitor granted marketing.
			if last := touches[len(touches)-1]; last.ch.partner != "" {
				row := last.ch.partner + "|" + em.ModelLastTouch
				x.add("partner/reported", row, "credited", 1)
				x.add("partner/reported", row, "refused", 0)
				if v.marketing {
					x.add("partner/reported", row, "reported", 1)
					x.add("partner/reported", row, "value", vis.revenue)
					x.add("partner/reported", row, "skipped", 0)
				} else {
					x.add("partner/reported", row, "skipped", 1)
					x.add("partner/notreported", last.ch.partner+"|"+em.PostbackSkipped+"|no_marketing_consent", "n", 1)
				}
			}
			x.add("outcomes/conversions", "", "n", 1)
			x.add("outcomes/outcomes", "purchase", "n", 1)
			x.add("outcomes/outcomes", "purchase", "value", vis.revenue)
			x.add("outcomes/vtc", "", "vtc", float64(len(touches))) // summed here, averaged below
			ttc = append(ttc, float64(touches[0].events[0].ago-buy.ago)/float64(time.Millisecond))
			x.add("outcomes/outcomes", "purchase", "vtc", float64(len(touches)))
		}
		if hadPartner {
			referred++
		}
	}
	x.set("overview/visitors", "", "visitors", float64(visitors+cookieless))
	x.set("overview/pageviews", "", "pv", float64(pages))
	x.set("overview/bounce", "", "bounce", float64(bounces)/float64(visits))
	x.set("overview/engaged", "", "engaged", float64(engaged)/float64(visits))
	for path, vs := range pathVisits {
		x.set("overview/pages", path, "uv", float64(len(vs)))
	}
	// Loopback addresses have no country: the table is empty.
	x["overview/countries"] = map[string]map[string]float64{}
	for host, n := range refVisits {
		x.set("acquisition/referrers", host, "uv", float64(n))
	}
	x.set("outcomes/convrate", "", "conv", float64(converted)/float64(visits))
	n := x["outcomes/conversions"][""]["n"]
	x.set("outcomes/vtc", "", "vtc", x["outcomes/vtc"][""]["vtc"]/n)
	x.set("outcomes/outcomes", "purchase", "vtc", x["outcomes/outcomes"]["purchase"]["vtc"]/n)
	sort.Float64s(ttc)
	dashMedians["outcomes/ttc||ttc"] = ttc
	dashMedians["outcomes/outcomes|purchase|ttc"] = ttc
	x.set("outcomes/ttc", "", "ttc", ttc[len(ttc)/2])
	x.set("outcomes/outcomes", "purchase", "ttc", ttc[len(ttc)/2])
	for key, b := range channels {
		if strings.HasSuffix(key, "|") {
			continue // no source (direct): Lens shows no bucket for a missing value
		}
		medium, source, _ := strings.Cut(key, "|")
		x.set("acquisition/channels", key, "visits", float64(b.visits))
		x.set("acquisition/channels", key, "bounce", float64(b.bounces)/float64(b.visits))
		x.set("acquisition/channels", key, "conv", float64(b.conv)/float64(b.visits))
		if medium == em.MediumEmail {
			row := "spring|" + key // the seed's only campaign
			x.set("acquisition/campaigns", row, "visits", float64(b.visits))
			x.set("acquisition/campaigns", row, "conv", float64(b.conv)/float64(b.visits))
		}
		if medium == em.MediumAI || medium == em.MediumPartner {
			x.set("acquisition/ai-partner", medium+"|"+source, "visits", float64(b.visits))
			x.set("acquisition/ai-partner", medium+"|"+source, "conv", float64(b.conv)/float64(b.visits))
		}
	}
	x.set("partner/referred", "", "n", float64(referred))
	x.set("partner/engaged", "", "engaged", float64(partner.engaged)/float64(partner.visits))
	x.set("partner/bounce", "", "bounce", float64(partner.bounces)/float64(partner.visits))
	x.set("partner/pages", dashPartner+"|/", "visits", float64(partner.visits))
	x.set("partner/pages", dashPartner+"|/", "pages", float64(partner.pages)/float64(partner.visits))
	x.set("privacy/reasons", em.DecisionKeep+"|tag|tag_granted", "n", float64(keep))
	x.set("privacy/reasons", em.DecisionAnonymous+"|tag|tag_denied", "n", float64(anon))
	x.set("privacy/anon", "", "anon", float64(anon)/float64(keep+anon))
	// Every event is a beacon's; only the cookieless visitors' clocks are off.
	x.set("privacy/times", "", "corrected", float64(skewed)/float64(timed))
	x.set("privacy/timereasons", em.ChannelBeacon, "n", float64(timed))
	for _, c := range em.TimeCorrections {
		x.set("privacy/timereasons", em.ChannelBeacon, c, 0)
	}
	x.set("privacy/timereasons", em.ChannelBeacon, em.TimeCorrectionSkew, float64(skewed)/float64(timed))
	// Nothing in the seed is a bot, a consent change or an erasure: the
	// panels show zero or nothing.
	for _, panel := range []string{"privacy/updates", "privacy/botreasons", "privacy/erasuretimeline"} {
		x[panel] = map[string]map[string]float64{}
	}
	x.set("privacy/bots", "", "n", 0)
	x.set("privacy/erasures", "", "n", 0)
	x.set("privacy/erased", "", "n", 0)
	pathsExpected(x, seed)
	liveExpected(x, visitors+cookieless, pages, visits)
	retentionByFirstExpected(x, seed)
	return x, events, visits
}

// liveExpected: the Live dashboard's panels over the whole seed (the test
// runs panels without their time range): visitors, page views, visits and
// the top pages, as the overview counts them from the events.
func liveExpected(x dashExpect, visitors, pages, visits int) {
	x.set("live/visitors", "", "visitors", float64(visitors))
	x.set("live/pageviews", "", "pv", float64(pages))
	x.set("live/visits", "", "uv", float64(visits))
	for path, cols := range x["overview/pages"] {
		for col, v := range cols {
			x.set("live/pages", path, col, v)
		}
	}
}

// retentionByFirstExpected: the Retention dashboard's table, per first
// medium (the medium of a recognised visitor's earliest visit): visitors,
// visitors with more than one visit, and their visits.
func retentionByFirstExpected(x dashExpect, seed []dashVisitor) {
	for _, v := range seed {
		if v.cookieless {
			continue
		}
		first := v.visits[0]
		for _, vis := range v.visits[1:] {
			if vis.events[0].ago > first.events[0].ago {
				first = vis
			}
		}
		row := first.ch.medium
		x.add("retention/byfirst", row, "visitors", 1)
		x.add("retention/byfirst", row, "visits", float64(len(v.visits)))
		returning := 0.0
		if len(v.visits) > 1 {
			returning = 1
		}
		x.add("retention/byfirst", row, "returning", returning)
	}
}

// dashPath is the page path of a seeded URL, as the receiver stores it.
func dashPath(u string) string {
	if p, err := url.Parse(u); err == nil && p.Path != "" {
		return p.Path
	}
	return "/"
}

// dashMedians holds, by panel|row|column, the sorted values whose median
// a column shows. Elasticsearch computes a median (Lens' median, a
// percentiles aggregation) with a t-digest, which is close in rank but not
// exact in value, so such a column is checked by rank: at most
// dashMedianRank of the values may lie between the answer and the exact
// median.
var dashMedians = map[string][]float64{}

const dashMedianRank = 0.02

// medianRankOK reports whether v is, by rank among the sorted values, within
// dashMedianRank of their median.
func medianRankOK(sorted []float64, v float64) bool {
	below := sort.SearchFloat64s(sorted, v)                                       // values < v
	atMost := sort.Search(len(sorted), func(i int) bool { return sorted[i] > v }) // values <= v
	half, slack := float64(len(sorted))/2, dashMedianRank*float64(len(sorted))+1
	return float64(below) <= half+slack && float64(atMost) >= half-slack
}

// dashTopVisitors is what the Top visitors table must show: the 20
// visitors with the most visits (ties in Elasticsearch's terms order, by
// key), with their visits, pages and engaged time. Its rows are keyed by
// the pseudonymous visitor id, so the seed's names are matched to the
// stored ids through the events' ids (the seed names each event after its
// visitor).
func dashTopVisitors(t *testing.T, store es, prefix string, seed []dashVisitor) map[string]map[string]float64 {
	t.Helper()
	pseudonym := map[string]string{} // seed name -> stored visitor id
	for _, v := range eventTerms(t, store, prefix, em.AttrVisitorID, 1000, em.AttrEventID, 1) {
		if len(v.sub) > 0 {
			name, _, _ := strings.Cut(v.sub[0], "-k")
			pseudonym[name] = v.key
		}
	}
	type row struct {
		id                   string
		visits, pages, engag int
	}
	var rows []row
	for _, v := range seed {
		if v.cookieless {
			continue
		}
		id, ok := pseudonym[v.name]
		if !ok {
			t.Fatalf("no stored visitor id for %s", v.name)
		}
		r := row{id: id, visits: len(v.visits)}
		for _, vis := range v.visits {
			r.pages += vis.pages
			r.engag += int(vis.engaged)
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].visits != rows[j].visits {
			return rows[i].visits > rows[j].visits
		}
		return rows[i].id < rows[j].id
	})
	out := map[string]map[string]float64{}
	for _, r := range rows[:20] {
		out[r.id] = map[string]float64{"visits": float64(r.visits), "pages": float64(r.pages), "engaged": float64(r.engag)}
	}
	return out
}

// dashCredits is each touch's credit under each model for an outcome at
// time buy, by the models' definitions: first, last and last non-direct
// touch take all; linear shares equally; position-based gives 40 % to the
// first and last touch and splits 20 % over the others (halves for two
// touches, all for one); time-decay weighs each touch by
// 2^(-age/7 days) and normalises.
func dashCredits(touches []dashVisit, buy, t0 time.Time) []map[string]float64 {
	n := len(touches)
	out := make([]map[string]float64, n)
	var decay []float64
	var total float64
	for _, t := range touches {
		age := buy.Sub(t0.Add(-t.events[0].ago))
		w := math.Exp2(-float64(age) / float64(7*24*time.Hour))
		decay = append(decay, w)
		total += w
	}
	for i := range touches {
		c := map[string]float64{em.ModelLinear: 1 / float64(n), em.ModelFirstTouch: 0, em.ModelLastTouch: 0, em.ModelLastNonDirect: 0}
		if i == 0 {
			c[em.ModelFirstTouch] = 1
		}
		if i == n-1 {
			c[em.ModelLastTouch] = 1
		}
		if i == lastNonDirect(touches) {
			c[em.ModelLastNonDirect] = 1
		}
		switch {
		case n == 1:
			c[em.ModelPositionBased] = 1
		case n == 2:
			c[em.ModelPositionBased] = 0.5
		case i == 0 || i == n-1:
			c[em.ModelPositionBased] = 0.4
		default:
			c[em.ModelPositionBased] = 0.2 / float64(n-2)
		}
		c[em.ModelTimeDecay] = decay[i] / total
		out[i] = c
	}
	return out
}

// TestDashboardNumbers writes seeded journeys through the built collector
// into the real Elasticsearch and runs, for the dashboard panels, the
// Elasticsearch query equivalent to the panel (data view, KQL query,
// buckets and metrics read from the kibana package's panel definitions),
// expecting exactly the numbers the seed implies.
func TestDashboardNumbers(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("3c", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The partner's postback endpoint (TLS, checking signatures): the
	// partner_postback exporter reports to it and writes its ledger, which
	// the Partner view's postback panels read.
	const partnerSecret = "dash-partner-secret"
	partner := newE2EPartner(t, partnerSecret)
	dir := t.TempDir()
	store, prefix, listen := startPipeline(t, pipeline{
		exporters: fmt.Sprintf(`  partner_postback:
    sites:
      %s:
        %s:
          url: "%s/pb?event={outcome}&value={credited_value}&id={postback_id}"
          outcomes: [purchase]
          secret_file: %q
          rate_limit: {requests_per_second: 1000}
          client:
            tls: {ca_file: %q}
    ledger:
      endpoints: ["@ES_URL@"]
      index_prefix: "@PREFIX@"
      flush_interval: 200ms
`, dashSite, dashPartner, partner.URL, writeLine(t, dir, "partner.secret", partnerSecret), writeLine(t, dir, "ca.pem", partner.caPEM())),
		exporterNames: []string{"partner_postback"},
		pixel: fmt.Sprintf(`    bots: {action: keep}
    rate_limit: {requests_per_second: 0}
    sites:
      - id: %s
        referral_partners:
          - name: %s
            domains: [archipro.co.nz]
            attribution_window: 720h`, dashSite, dashPartner),
		processors: fmt.Sprintf(`  consent:
  anonymizer:
    secret: {file: %q}
  attribution:
    emit_interval: 100ms
    internal_domains: [shop.example]
    outcomes:
      - name: purchase
        conditions:
          - event_name == "webjourney.custom" and attributes["webjourney.custom.name"] == "purchase"
        value: attributes["webjourney.properties"]["revenue"]
        currency: EUR
        count: every_event
`, secretFile),
		order: []string{"consent", "anonymizer", "attribution"},
	})

	seed := dashSeed()
	t0 := time.Now().Truncate(5 * time.Second).Add(-2500 * time.Millisecond)
	want, wantEvents, wantVisits := dashExpected(seed, t0)
	start := time.Now()
	for _, v := range seed {
		for k, vis := range v.visits {
			dashSend(t, "http://"+listen+"/b", t0, v, k, vis)
		}
	}
	t.Logf("sent %d events in %d visits of %d visitors in %s", wantEvents, wantVisits, len(seed), time.Since(start).Round(time.Millisecond))

	// Checks runs every panel's query and lists what differs.
	check := func() []string {
		var diffs []string
		if n := dashCount(store, storeIndex(prefix, journeystore.FamilyEvents)); n != wantEvents {
			return []string{fmt.Sprintf("events: %d documents, want %d", n, wantEvents)}
		}
		if n := dashCount(store, storeIndex(prefix, journeystore.FamilyVisits)); n != wantVisits {
			return []string{fmt.Sprintf("visits: %d documents, want %d", n, wantVisits)}
		}
		if _, ok := want["journeys/topvisitors"]; !ok {
			want["journeys/topvisitors"] = dashTopVisitors(t, store, prefix, seed)
		}
		names := make([]string, 0, len(want))
		for name := range want {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			dash, key, _ := strings.Cut(name, "/")
			spec, ok := kibana.Panel("webjourney-"+dash, key)
			if !ok {
				t.Fatalf("no panel %s in the kibana package", name)
			}
			got := runPanel(t, store, prefix, spec)
			diffs = append(diffs, compareRows(name, want[name], got)...)
		}
		return diffs
	}
	deadline := time.Now().Add(dashWait())
	var diffs []string
	for {
		diffs = check()
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	if len(diffs) > 0 {
		dashMissingVisits(t, store, prefix)
	}
	if len(diffs) == 0 {
		t.Logf("all %d panels of %d matched %s after the first beacon", len(want), len(kibana.Panels()), time.Since(start).Round(time.Millisecond))
	}
	checkPartnerPostbacks(t, partner, want)
	checkNoAnonymousSkew(t, store, prefix)
	checkSankey(t, store, prefix, seed)
	for _, page := range []string{kibana.TransitionsPage, "/p/3"} {
		checkTransitions(t, store, prefix, seed, page)
	}
}

// checkPartnerPostbacks: the partner received, signed and once each, as
// many postbacks as the seed credits it with and the ledger reports sent.
func checkPartnerPostbacks(t *testing.T, partner *e2ePartner, want dashExpect) {
	t.Helper()
	reported := 0
	for _, row := range want["partner/reported"] {
		reported += int(row["reported"])
	}
	if reported == 0 {
		t.Fatal("the seed reports no postback: the check would prove nothing")
	}
	keys := map[string]bool{}
	for _, r := range partner.requests() {
		if !r.signed {
			t.Errorf("postback %s: the signature does not verify", r.uri)
		}
		if keys[r.key] {
			t.Errorf("postback %s sent twice", r.key)
		}
		keys[r.key] = true
	}
	if len(keys) != reported {
		t.Errorf("the partner received %d postbacks, the seed and the ledger say %d", len(keys), reported)
	}
}

// checkNoAnonymousSkew: the cookieless visitors' times were shifted and say
// so, but the clock's error is a fingerprint an anonymous event must not
// keep.
func checkNoAnonymousSkew(t *testing.T, store es, prefix string) {
	t.Helper()
	index := storeIndex(prefix, journeystore.FamilyEvents)
	count := func(query map[string]any) int {
		status, body := store.do(http.MethodPost, "/"+index+"/_count", map[string]any{"query": query})
		if status != http.StatusOK {
			t.Fatalf("count on %s: %d %s", index, status, body)
		}
		var r struct {
			Count int `json:"count"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		return r.Count
	}
	skewed := count(map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"term": map[string]any{em.AttrTimeCorrection: em.TimeCorrectionSkew}},
		map[string]any{"term": map[string]any{em.AttrConsentDecision: em.DecisionAnonymous}},
	}}})
	if skewed == 0 {
		t.Error("no anonymous event with a skew-corrected time: the seed's cookieless clocks are behind")
	}
	if n := count(map[string]any{"exists": map[string]any{"field": em.AttrTimeSkew}}); n != 0 {
		t.Errorf("%d events keep %s; only anonymous events were skewed and they must not", n, em.AttrTimeSkew)
	}
}

// lastNonDirect is the index of the touch last_non_direct credits: the
// last one that is not direct, else the last one.
func lastNonDirect(touches []dashVisit) int {
	for i := len(touches) - 1; i >= 0; i-- {
		if touches[i].ch.medium != em.MediumDirect {
			return i
		}
	}
	return len(touches) - 1
}

func dashSend(t *testing.T, u string, t0 time.Time, v dashVisitor, k int, vis dashVisit) {
	t.Helper()
	var events []map[string]any
	for _, e := range vis.events {
		ev := map[string]any{"id": e.id, "ts": t0.Add(-e.ago).UnixMilli(), "url": e.url}
		switch e.purpose {
		case "purchase":
			ev["type"], ev["name"], ev["props"] = "custom", "purchase", map[string]any{"revenue": e.revenue}
		case "engagement":
			ev["type"], ev["page_view_id"], ev["engaged_ms"] = "engagement", vis.events[0].id, e.engaged
		default:
			ev["type"] = "page_view"
			if e.ref != "" {
				ev["referrer"] = e.ref
			}
		}
		events = append(events, ev)
	}
	b := map[string]any{"site": dashSite, "sent_at": time.Now().UnixMilli(), "events": events}
	client := http.DefaultClient
	if v.cookieless {
		// A browser whose clock is behind: the receiver shifts its times
		// back onto the collector's clock and says so.
		b["sent_at"] = time.Now().Add(-dashSkew).UnixMilli()
		for _, ev := range events {
			ev["ts"] = ev["ts"].(int64) - dashSkew.Milliseconds()
		}
		b["cookieless"] = true
		b["consent"] = map[string]any{"analytics": em.ConsentDenied}
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(v.addr)}}).DialContext,
		}}
	} else {
		b["consent"] = map[string]any{"analytics": em.ConsentGranted}
		if v.marketing {
			b["consent"] = map[string]any{"analytics": em.ConsentGranted, "marketing": em.ConsentGranted}
		}
		b["visitor_id"] = v.name
		b["session_id"] = fmt.Sprintf("%s-s%d", v.name, k)
	}
	body, _ := json.Marshal(b)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", dashUA)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("beacon of %s: %v", v.name, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), fmt.Sprintf(`"accepted":%d`, len(events))) {
		t.Fatalf("beacon of %s: %d %s", v.name, resp.StatusCode, out)
	}
}

func dashCount(store es, index string) int {
	store.do(http.MethodPost, "/"+index+"/_refresh?ignore_unavailable=true&allow_no_indices=true", nil)
	status, body := store.do(http.MethodGet, "/"+index+"/_count?ignore_unavailable=true&allow_no_indices=true", nil)
	if status != http.StatusOK {
		return -1
	}
	var r struct {
		Count int `json:"count"`
	}
	_ = json.Unmarshal(body, &r)
	return r.Count
}

// runPanel runs the Elasticsearch query equivalent to a Lens panel (see
// panelquery.Run).
func runPanel(t *testing.T, store es, prefix string, p kibana.PanelSpec) map[string]map[string]float64 {
	t.Helper()
	return panelquery.Run(t, store.do, prefix, p)
}

func compareRows(panel string, want, got map[string]map[string]float64) []string {
	var diffs []string
	for row, cols := range want {
		for col, w := range cols {
			g, ok := got[row][col]
			if !ok {
				if w == 0 {
					continue // e.g. no credit of a model for a channel
				}
				diffs = append(diffs, fmt.Sprintf("%s [%s] %s: missing, want %v", panel, row, col, w))
				continue
			}
			tol := dashTol
			if strings.HasSuffix(row, "|"+em.ModelTimeDecay) {
				// Event times are the client's own (its clock is right),
				// unless a slow request took the receiver past its skew
				// tolerance and the times were shifted by the transit (a
				// few ms off t0's clock); a weight 2^(-age/7 d) moves by
				// about 1e-9 per ms of age.
				tol = dashTimeDecayTol * math.Abs(w)
			}
			if sorted, ok := dashMedians[panel+"|"+row+"|"+col]; ok {
				if !medianRankOK(sorted, g) {
					diffs = append(diffs, fmt.Sprintf("%s [%s] %s = %v, not the median by rank (exact %v)", panel, row, col, g, w))
				}
				continue
			}
			if math.Abs(g-w) > tol {
				diffs = append(diffs, fmt.Sprintf("%s [%s] %s = %v, want %v", panel, row, col, g, w))
			}
		}
	}
	for row := range got {
		if _, ok := want[row]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: unexpected row [%s] %v", panel, row, got[row]))
		}
	}
	sort.Strings(diffs)
	return diffs
}

func dashWait() time.Duration { return 45 * time.Second }

// dashMissingVisits logs the visits that events name but the visits index
// does not hold (the visit entity record never arrived).
func dashMissingVisits(t *testing.T, store es, prefix string) {
	t.Helper()
	stored := store.searchHits(storeIndex(prefix, journeystore.FamilyVisits), map[string]any{"match_all": map[string]any{}})
	ids := map[string]bool{}
	for _, d := range stored {
		ids[fmt.Sprint(d[em.AttrVisitID])] = true
	}
	for _, v := range eventTerms(t, store, prefix, em.AttrVisitID, 5000, em.AttrSessionID, 3) {
		if !ids[v.key] {
			t.Logf("visit %s (%d events, sessions %v) has no document in %s", v.key, v.n, v.sub, storeIndex(prefix, journeystore.FamilyVisits))
		}
	}
}

// termBucket is a bucket of eventTerms: a value, its event count and the
// top values of the second field among those events.
type termBucket struct {
	key string
	n   int
	sub []string
}

// eventTerms runs, on the events indices, a terms aggregation on field with
// a terms aggregation on subField inside each bucket.
func eventTerms(t *testing.T, store es, prefix, field string, size int, subField string, subSize int) []termBucket {
	t.Helper()
	status, b := store.do(http.MethodPost, "/"+storeIndex(prefix, journeystore.FamilyEvents)+"/_search", map[string]any{"size": 0, "aggs": map[string]any{
		"v": map[string]any{"terms": map[string]any{"field": field, "size": size},
			"aggs": map[string]any{"s": map[string]any{"terms": map[string]any{"field": subField, "size": subSize}}}},
	}})
	var res struct {
		Aggregations struct {
			V struct {
				Buckets []struct {
					Key      string `json:"key"`
					DocCount int    `json:"doc_count"`
					S        struct {
						Buckets []struct {
							Key string `json:"key"`
						} `json:"buckets"`
					} `json:"s"`
				} `json:"buckets"`
			} `json:"v"`
		} `json:"aggregations"`
	}
	if err := json.Unmarshal(b, &res); status != http.StatusOK || err != nil {
		t.Fatalf("terms of %s on %s: %d %v %s", field, storeIndex(prefix, journeystore.FamilyEvents), status, err, b)
	}
	var out []termBucket
	for _, v := range res.Aggregations.V.Buckets {
		tb := termBucket{key: v.Key, n: v.DocCount}
		for _, s := range v.S.Buckets {
			tb.sub = append(tb.sub, s.Key)
		}
		out = append(out, tb)
	}
	return out
}
