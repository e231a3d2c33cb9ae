// Package funnelcheck checks the Funnels dashboard's panels against funnel
// records known in advance: it computes, independently of the saved
// objects, what each panel must show for a set of records (step counts,
// share of step 1 and drop-off, conversion by channel and device, median
// time between steps, next pages after abandonment), runs each panel's
// query on the real Elasticsearch (panelquery) and, for the Vega panels,
// renders the spec with the real vega package, then compares. The kibana
// package's test feeds it records indexed directly, the end-to-end test
// the records its own model of the funnel semantics expects the collector
// to store.
package funnelcheck // import "github.com/webjourney/webjourney/test/funnelcheck"

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/kibana"
	"github.com/webjourney/webjourney/test/panelquery"
	"github.com/webjourney/webjourney/test/vegarender"
)

// Panel sizes of the Vega panels as the dashboard lays them out (48
// columns wide; a grid row is about 20 px).
const (
	ChartWidth, ChartHeight = 1100, 470
	NextWidth, NextHeight   = 1100, 640
)

// Record is one funnel record: one visitor's best attempt at one funnel.
type Record struct {
	Site, Visitor, Funnel string
	Scope, Order          string
	Steps                 []string    // the funnel's step names, in order
	At                    []time.Time // when each step reached was reached: len(At) is steps_reached
	NextPage              string      // "" = none (or completed)
	Attempts              int
	VisitID               string
	Medium, Source        string
	Device, Country       string
}

// Reached is the furthest step reached (1-based).
func (r Record) Reached() int { return len(r.At) }

// Completed reports whether every step was reached.
func (r Record) Completed() bool { return len(r.At) == len(r.Steps) }

// ReachedSteps is webjourney.funnel.reached: "NN name" of every step reached.
func (r Record) ReachedSteps() []string {
	var out []string
	for i := range r.At {
		out = append(out, kibana.FunnelStep(i+1, r.Steps[i]))
	}
	return out
}

// LastStep is webjourney.funnel.last_step.
func (r Record) LastStep() string {
	n := r.Reached()
	return kibana.FunnelStep(n, r.Steps[n-1])
}

// AfterMS is webjourney.funnel.step_<n>.after_ms (n >= 2, reached).
func (r Record) AfterMS(n int) int64 { return r.At[n-1].Sub(r.At[n-2]).Milliseconds() }

// DurationMS is webjourney.funnel.duration_ms.
func (r Record) DurationMS() int64 { return r.At[len(r.At)-1].Sub(r.At[0]).Milliseconds() }

// Fill fills lr as the attribution processor writes a funnel record
// (docs/event-model.md), with entity id id and version version.
func (r Record) Fill(id string, version int64) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetEventName(em.EventFunnel)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(r.At[0]))
		a := lr.Attributes()
		a.PutStr(em.AttrEntityID, id)
		a.PutInt(em.AttrEntityVersion, version)
		a.PutInt(em.AttrSchemaVersion, em.SchemaVersion)
		a.PutStr(em.AttrSiteID, r.Site)
		a.PutStr(em.AttrVisitorID, r.Visitor)
		a.PutStr(em.AttrFunnelName, r.Funnel)
		a.PutStr(em.AttrFunnelScope, r.Scope)
		a.PutStr(em.AttrFunnelOrder, r.Order)
		a.PutInt(em.AttrFunnelStepCount, int64(len(r.Steps)))
		a.PutInt(em.AttrFunnelStepsReached, int64(r.Reached()))
		reached := a.PutEmptySlice(em.AttrFunnelReached)
		for _, s := range r.ReachedSteps() {
			reached.AppendEmpty().SetStr(s)
		}
		a.PutStr(em.AttrFunnelLastStep, r.LastStep())
		a.PutBool(em.AttrFunnelCompleted, r.Completed())
		a.PutStr(em.AttrFunnelEnteredAt, r.At[0].UTC().Format(time.RFC3339Nano))
		a.PutStr(em.AttrFunnelLastAt, r.At[len(r.At)-1].UTC().Format(time.RFC3339Nano))
		a.PutInt(em.AttrFunnelDuration, r.DurationMS())
		for n := 1; n <= r.Reached(); n++ {
			a.PutStr(em.AttrFunnelStepAt[n-1], r.At[n-1].UTC().Format(time.RFC3339Nano))
			if n > 1 {
				a.PutInt(em.AttrFunnelStepAfter[n-1], r.AfterMS(n))
			}
		}
		if r.NextPage != "" {
			a.PutStr(em.AttrFunnelNextPage, r.NextPage)
		}
		a.PutInt(em.AttrFunnelAttempts, int64(r.Attempts))
		a.PutStr(em.AttrVisitID, r.VisitID)
		put := func(k, v string) {
			if v != "" {
				a.PutStr(k, v)
			}
		}
		put(em.AttrChannelMedium, r.Medium)
		put(em.AttrChannelSource, r.Source)
		put(em.AttrDeviceClass, r.Device)
		put(em.AttrGeoCountry, r.Country)
		a.PutStr(em.AttrConsentDecision, em.DecisionKeep)
	}
}

// Check runs every panel of the Funnels dashboard on the stored records
// (the prefix's funnels index) and compares its numbers with recs. It
// returns the rendered funnel chart and abandonment panel.
func Check(t *testing.T, do panelquery.Do, prefix string, recs []Record) (chart, next vegarender.Result) {
	t.Helper()
	checkLens(t, do, prefix, recs)
	return CheckChart(t, do, prefix, recs), CheckNext(t, do, prefix, recs)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }

// xmlEscape escapes a label as it appears in the SVG's text.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// CheckChart renders the funnel chart: per funnel, every step reached by
// some record must have a bar with the records that reached it, their
// share of step 1 and the drop-off from the previous step, labelled in the
// picture; the heading counts the records that entered and completed.
func CheckChart(t *testing.T, do panelquery.Do, prefix string, recs []Record) vegarender.Result {
	t.Helper()
	type stepKey struct{ funnel, label string }
	want := map[stepKey]float64{}
	entered, completed, stepCount := map[string]float64{}, map[string]float64{}, map[string]int{}
	for _, r := range recs {
		entered[r.Funnel]++
		if r.Completed() {
			completed[r.Funnel]++
		}
		stepCount[r.Funnel] = len(r.Steps)
		for _, s := range r.ReachedSteps() {
			want[stepKey{r.Funnel, s}]++
		}
	}
	res := panelquery.RenderVega(t, do, kibana.FunnelSpec(prefix), ChartWidth, ChartHeight)
	got := map[stepKey]map[string]any{}
	for _, row := range res.Data["steps"] {
		got[stepKey{fmt.Sprint(row["funnel"]), fmt.Sprint(row["label"])}] = row
	}
	for k, n := range want {
		row, ok := got[k]
		if !ok {
			t.Errorf("funnel chart %s step %s: no bar, want %v records", k.funnel, k.label, n)
			continue
		}
		step, _ := strconv.Atoi(k.label[:2])
		ofFirst, dropoff := n/entered[k.funnel], 0.0
		if step > 1 {
			dropoff = 1 - n/want[stepKey{k.funnel, labelOf(recs, k.funnel, step-1)}]
		}
		if row["records"] != n || !near(row["ofFirst"].(float64), ofFirst) || !near(row["dropoff"].(float64), dropoff) {
			t.Errorf("funnel chart %s step %s: records %v, of step 1 %v, drop-off %v; want %v, %v, %v",
				k.funnel, k.label, row["records"], row["ofFirst"], row["dropoff"], n, ofFirst, dropoff)
		}
		if text := fmt.Sprint(row["text"]); !strings.Contains(res.SVG, xmlEscape(text)) {
			t.Errorf("funnel chart %s step %s: label %q not in the picture", k.funnel, k.label, text)
		}
	}
	for k, row := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("funnel chart %s step %s: unexpected bar %v", k.funnel, k.label, row)
		}
	}
	for _, row := range res.Data["funnels"] {
		f := fmt.Sprint(row["funnel"])
		if row["entered"] != entered[f] || row["completed"] != completed[f] || row["stepCount"] != float64(stepCount[f]) {
			t.Errorf("funnel chart %s: entered %v, completed %v, steps %v; want %v, %v, %v",
				f, row["entered"], row["completed"], row["stepCount"], entered[f], completed[f], stepCount[f])
		}
		delete(entered, f)
	}
	for f := range entered {
		t.Errorf("funnel chart: funnel %s missing", f)
	}
	return res
}

// labelOf returns "NN name" of step n of funnel as the records name it.
func labelOf(recs []Record, funnel string, n int) string {
	for _, r := range recs {
		if r.Funnel == funnel {
			return kibana.FunnelStep(n, r.Steps[n-1])
		}
	}
	return ""
}

// CheckNext renders the abandonment panel: per funnel and last step of the
// records not completed, the FunnelNextPagesShown most frequent next pages
// (by records, then by page; no next page is kibana.FunnelNoNextPage), each
// with its records and share of the abandoned records at that step; the
// rest counted in the heading.
func CheckNext(t *testing.T, do panelquery.Do, prefix string, recs []Record) vegarender.Result {
	t.Helper()
	type group struct{ funnel, last string }
	pages := map[group]map[string]float64{}
	for _, r := range recs {
		if r.Completed() {
			continue
		}
		g := group{r.Funnel, r.LastStep()}
		if pages[g] == nil {
			pages[g] = map[string]float64{}
		}
		p := r.NextPage
		if p == "" {
			p = kibana.FunnelNoNextPage
		}
		pages[g][p]++
	}
	type rowKey struct{ funnel, last, page string }
	want := map[rowKey][2]float64{} // records, share
	others := map[group]float64{}
	for g, byPage := range pages {
		var list []string
		abandoned := 0.0
		for p, n := range byPage {
			list = append(list, p)
			abandoned += n
		}
		sort.Slice(list, func(a, b int) bool {
			if byPage[list[a]] != byPage[list[b]] {
				return byPage[list[a]] > byPage[list[b]]
			}
			return list[a] < list[b]
		})
		for i, p := range list {
			if i < kibana.FunnelNextPagesShown {
				want[rowKey{g.funnel, g.last, p}] = [2]float64{byPage[p], byPage[p] / abandoned}
			} else {
				others[g] += byPage[p]
			}
		}
	}
	res := panelquery.RenderVega(t, do, kibana.FunnelNextSpec(prefix), NextWidth, NextHeight)
	seen := map[rowKey]bool{}
	for _, row := range res.Data["pageRows"] {
		k := rowKey{fmt.Sprint(row["funnel"]), fmt.Sprint(row["lastStep"]), fmt.Sprint(row["page"])}
		seen[k] = true
		w, ok := want[k]
		if !ok {
			t.Errorf("next pages: unexpected row %v", row)
			continue
		}
		if row["records"] != w[0] || !near(row["share"].(float64), w[1]) {
			t.Errorf("next pages %s after %s → %s: %v records (share %v), want %v (%v)", k.funnel, k.last, k.page, row["records"], row["share"], w[0], w[1])
		}
		if g := (group{k.funnel, k.last}); row["others"] != others[g] {
			t.Errorf("next pages %s after %s: others %v, want %v", k.funnel, k.last, row["others"], others[g])
		}
		if !strings.Contains(res.SVG, xmlEscape("→ "+k.page)) {
			t.Errorf("next pages %s after %s: %q not in the picture", k.funnel, k.last, k.page)
		}
	}
	for k, w := range want {
		if !seen[k] {
			t.Errorf("next pages %s after %s → %s: missing, want %v records", k.funnel, k.last, k.page, w[0])
		}
	}
	for _, row := range res.Data["headingRows"] {
		if !strings.Contains(res.SVG, xmlEscape(fmt.Sprint(row["text"]))) {
			t.Errorf("next pages: heading %q not in the picture", row["text"])
		}
	}
	if len(res.Data["headingRows"]) != len(pages) {
		t.Errorf("next pages: %d headings, want %d (funnel × last step)", len(res.Data["headingRows"]), len(pages))
	}
	return res
}

// medianOK reports whether v is, by rank among values, the median (give
// or take Elasticsearch's t-digest: within 2% of the ranks, plus one).
func medianOK(values []float64, v float64) bool {
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	below := sort.SearchFloat64s(sorted, v)
	atMost := sort.Search(len(sorted), func(i int) bool { return sorted[i] > v })
	half, slack := float64(len(sorted))/2, 0.02*float64(len(sorted))+1
	return float64(below) <= half+slack && float64(atMost) >= half-slack
}

// checkLens runs the dashboard's Lens panels: conversion by channel
// (funnel × medium × source) and by device (funnel × device): records
// entered, completed and the completion rate; median time between steps
// per funnel (and to complete).
func checkLens(t *testing.T, do panelquery.Do, prefix string, recs []Record) {
	t.Helper()
	type counts struct{ entered, completed float64 }
	byChannel, byDevice := map[string]*counts{}, map[string]*counts{}
	add := func(m map[string]*counts, key string, r Record) {
		if m[key] == nil {
			m[key] = &counts{}
		}
		m[key].entered++
		if r.Completed() {
			m[key].completed++
		}
	}
	times := map[string]map[string][]float64{} // funnel -> column -> values
	enteredBy := map[string]float64{}
	for _, r := range recs {
		if r.Medium != "" && r.Source != "" {
			add(byChannel, r.Funnel+"|"+r.Medium+"|"+r.Source, r)
		}
		if r.Device != "" {
			add(byDevice, r.Funnel+"|"+r.Device, r)
		}
		enteredBy[r.Funnel]++
		if times[r.Funnel] == nil {
			times[r.Funnel] = map[string][]float64{}
		}
		for n := 2; n <= r.Reached(); n++ {
			times[r.Funnel]["after"+strconv.Itoa(n)] = append(times[r.Funnel]["after"+strconv.Itoa(n)], float64(r.AfterMS(n)))
		}
		if r.Completed() {
			times[r.Funnel]["total"] = append(times[r.Funnel]["total"], float64(r.DurationMS()))
		}
	}
	conversion := func(key string, m map[string]*counts) {
		p, ok := kibana.Panel(kibana.DashboardFunnels, key)
		if !ok {
			t.Fatalf("no panel %s/%s", kibana.DashboardFunnels, key)
		}
		got := panelquery.Run(t, do, prefix, p)
		for row, c := range m {
			g := got[row]
			if g == nil || g["entered"] != c.entered || g["completed"] != c.completed || !near(g["rate"], c.completed/c.entered) {
				t.Errorf("%s [%s]: %v, want entered %v, completed %v, rate %v", key, row, g, c.entered, c.completed, c.completed/c.entered)
			}
		}
		for row := range got {
			if m[row] == nil {
				t.Errorf("%s: unexpected row [%s] %v", key, row, got[row])
			}
		}
	}
	// Every Lens panel of the dashboard is one of those checked here.
	for _, p := range kibana.Panels() {
		if p.Dashboard == kibana.DashboardFunnels && p.Key != "bychannel" && p.Key != "bydevice" && p.Key != "steptimes" {
			t.Errorf("panel %s/%s: funnelcheck does not check it", p.Dashboard, p.Key)
		}
	}
	conversion("bychannel", byChannel)
	conversion("bydevice", byDevice)

	p, ok := kibana.Panel(kibana.DashboardFunnels, "steptimes")
	if !ok {
		t.Fatalf("no panel %s/steptimes", kibana.DashboardFunnels)
	}
	got := panelquery.Run(t, do, prefix, p)
	for f, cols := range times {
		g := got[f]
		if g == nil || g["entered"] != enteredBy[f] {
			t.Errorf("steptimes [%s]: %v, want entered %v", f, g, enteredBy[f])
			continue
		}
		for col, values := range cols {
			if v, ok := g[col]; !ok || !medianOK(values, v) {
				t.Errorf("steptimes [%s] %s = %v (present %v), not the median of %v", f, col, v, ok, values)
			}
		}
		for col := range g {
			if _, ok := cols[col]; !ok && col != "entered" {
				t.Errorf("steptimes [%s] %s = %v, want no value (no record reached that step)", f, col, g[col])
			}
		}
	}
	for row := range got {
		if times[row] == nil {
			t.Errorf("steptimes: unexpected row [%s] %v", row, got[row])
		}
	}
}
