package journey

import (
	"math"
	"slices"
	"strings"
	"unique"
)

// Defaults and bounds of the page sequence (see "Paths" in the package
// documentation).
const (
	DefaultPathLength = 10
	MaxPathLength     = 50
	// OutcomePages is how many pages before an outcome PagesBefore returns
	// at most; the newest views kept for it.
	OutcomePages = 3
	// pathSlack is how many unsettled page views (within the reorder
	// window of the visit's last activity) a visit keeps beyond its head
	// and tail before it collapses them early.
	pathSlack = 8
	// settleAll is the horizon of compact that settles every view
	// (including one at the greatest time).
	settleAll = math.MaxInt64
)

// pageView is one page view of a visit's path state.
type pageView struct {
	at   int64
	page unique.Handle[string]
}

// before orders page views by time, then by path, so that page views in
// the same nanosecond get the same order whatever their arrival order.
func (a pageView) before(b pageView) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return path(a.page) < path(b.page)
}

// pathState holds the page views a visit's path and its pages before an
// outcome are made of: in time order, consecutive repeats collapsed and
// pages between the head (the first Config.PathLength pages) and the tail
// (the last OutcomePages pages) dropped once no event inside the reorder
// window can fall before them any more. It is nil for a visit with at most
// one page view (the landing page is the whole path): most visits.
type pathState struct {
	views []pageView
	// cut is the number of views of the head when views after it were
	// dropped (the path has more than PathLength pages), else 0.
	cut int32
}

// addPage records page view p of visit v, whose landing (before p) is
// already set; t.mu must be held. It keeps the path state bounded: at
// most PathLength + OutcomePages + pathSlack views.
func (t *Tracker) addPage(v *visitState, p pageView) {
	if v.path == nil {
		if v.pages == 0 {
			return // the landing page is the path
		}
		v.path = &pathState{views: make([]pageView, 1, 8)}
		v.path.views[0] = pageView{at: v.landingAt, page: v.landing}
	}
	ps := v.path
	i := len(ps.views)
	for i > 0 && p.before(ps.views[i-1]) {
		i--
	}
	if n := len(ps.views); n == cap(ps.views) {
		// Grow by doubling, but never beyond the bound.
		vs := make([]pageView, n, max(n+1, min(2*n, t.cfg.PathLength+OutcomePages+pathSlack+1)))
		copy(vs, ps.views)
		ps.views = vs
	}
	ps.views = slices.Insert(ps.views, i, p)
	if ps.cut > 0 && i < int(ps.cut) {
		ps.cut++
	}
	horizon := v.last - t.window
	if horizon > v.last { // wrapped around: a time near the minimum
		horizon = math.MinInt64
	}
	t.compact(ps, horizon, t.cfg.PathLength)
	if len(ps.views) > t.cfg.PathLength+OutcomePages+pathSlack {
		// More page views within the reorder window than a person
		// makes: settle them as if the window had passed.
		t.compact(ps, settleAll, t.cfg.PathLength)
	}
}

// compact drops the views before horizon that no event at or after it
// can need: a repeat of the page before it (it collapses whatever comes
// later), and views after the head's PathLength pages that are not among
// the newest OutcomePages pages before the horizon. Under the reorder
// model (an event arrives at most ReorderWindow after its time) no event
// arrives with a time before the visit's last activity minus the window,
// so the path and the pages before any later outcome come out as from
// in-order delivery.
func (t *Tracker) compact(ps *pathState, horizon int64, n int) {
	vs := ps.views
	if len(vs) < 2 || vs[1].at >= horizon && horizon != settleAll {
		return // at most one settled view: nothing to collapse or drop
	}
	settled := len(vs)
	if horizon != settleAll {
		settled = 0
		for settled < len(vs) && vs[settled].at < horizon {
			settled++
		}
	}
	// Collapse repeats among the settled views (the first of a run stays;
	// the view after the settled ones may repeat the last settled one,
	// that is collapsed when the path is read).
	w := 0
	for r := 0; r < settled; r++ {
		if w > 0 && vs[r].page == vs[w-1].page && (ps.cut == 0 || w != int(ps.cut)) {
			if ps.cut > 0 && r < int(ps.cut) {
				ps.cut--
			}
			continue
		}
		vs[w] = vs[r]
		w++
	}
	vs = append(vs[:w], vs[settled:]...)
	settled = w
	// The settled views are now one per run. Beyond the head, keep the
	// newest OutcomePages settled runs (what an outcome after the horizon
	// may show as its pages before) and drop the runs between.
	head := n
	if ps.cut > 0 {
		head = int(ps.cut)
	}
	if drop := settled - head - OutcomePages; drop > 0 {
		vs = append(vs[:head], vs[head+drop:]...)
		ps.cut = int32(head)
	}
	clear(ps.views[len(vs):])
	ps.views = vs
}

// runs appends the pages of views to out, consecutive repeats collapsed,
// until out holds limit pages; it returns out and whether pages were left
// over.
func runs(out []string, views []pageView, limit int) ([]string, bool) {
	var last unique.Handle[string]
	for i, pv := range views {
		if i > 0 && pv.page == last {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, path(pv.page))
		last = pv.page
	}
	return out, false
}

// pathOf returns visit v's path: its first PathLength pages, consecutive
// repeats collapsed, and whether it had more.
func (t *Tracker) pathOf(v *visitState) ([]string, bool) {
	if v.path == nil {
		if v.pages == 0 {
			return nil, false
		}
		return []string{path(v.landing)}, false
	}
	ps := v.path
	if ps.cut > 0 {
		out, _ := runs(make([]string, 0, ps.cut), ps.views[:ps.cut], t.cfg.PathLength)
		return out, true
	}
	return runs(make([]string, 0, min(len(ps.views), t.cfg.PathLength)), ps.views, t.cfg.PathLength)
}

// PagesBefore returns the last (at most OutcomePages) pages the visitor
// viewed in the visit up to at, consecutive repeats collapsed, oldest
// first: the way to an outcome achieved at that time. self is the page
// of the outcome's own event when it is a page view (it is not a page
// before itself), else "". It returns nil when the visit is not held.
func (t *Tracker) PagesBefore(visitor, visitID string, at int64, self string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, v := t.held(visitor, visitID, false)
	if v == nil || v.pages == 0 {
		return nil
	}
	views := []pageView{{at: v.landingAt, page: v.landing}}
	if ps := v.path; ps != nil {
		views = ps.views
		if ps.cut > 0 {
			// The pages between the head and the tail are gone: a repeat
			// across that gap is no repeat, and an outcome before the
			// tail (a late event) gets what the head has.
			if at < views[ps.cut].at {
				views = views[:ps.cut]
			} else {
				views = views[ps.cut:]
			}
		}
	}
	end := len(views)
	for end > 0 && views[end-1].at > at {
		end--
	}
	skipped := self == ""
	var rev []string // newest first
	var last unique.Handle[string]
	for i := end - 1; i >= 0 && len(rev) < OutcomePages; i-- {
		pv := views[i]
		if !skipped && pv.at == at && path(pv.page) == self {
			skipped = true
			continue
		}
		if len(rev) > 0 && pv.page == last {
			continue
		}
		rev = append(rev, path(pv.page))
		last = pv.page
	}
	slices.Reverse(rev)
	return rev
}

// PathSeparator joins the pages of a path into one keyword
// (eventmodel.AttrVisitPath). URL paths cannot hold it: a space is
// always percent-encoded in a path.
const PathSeparator = " → "

// JoinPath is the one-keyword form of a path.
func JoinPath(pages []string) string { return strings.Join(pages, PathSeparator) }
