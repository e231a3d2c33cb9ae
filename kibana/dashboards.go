package kibana

import (
	"strconv"
	"strings"

	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// panel is one dashboard panel: a by-value Lens visualization or a saved
// visualization or search by reference.
type panel struct {
	key     string // panelIndex suffix, unique in its dashboard
	w, h    int
	lens    *lens
	refType string // "visualization" or "search" for by-reference panels
	refID   string
	title   string // panel title of a by-reference panel ("" = the object's)
	noTitle bool
}

type dashboardDef struct {
	id, title, description string
	about                  string // markdown of the description panel
	panels                 []panel
	// timeFrom is the time range the dashboard opens with ("" = the last
	// 30 days) and refreshSeconds its auto-refresh (0 = paused).
	timeFrom       string
	refreshSeconds int
}

func lp(key string, w, h int, l lens) panel { return panel{key: key, w: w, h: h, lens: &l} }

func q(field string, values ...string) string {
	if len(values) == 1 {
		return field + ` : "` + values[0] + `"`
	}
	return field + ` : ("` + strings.Join(values, `" or "`) + `")`
}

var (
	qPageViews = q(fieldEventName, em.EventPageView)
	qConverted = em.AttrVisitOutcomes + " : *"
	qBounced   = em.AttrVisitBounce + " : true"
	// qOutcome selects one credit record per outcome (every model writes
	// one per touch, credited or not): per-outcome numbers such as the
	// time and visits to convert must not be weighted by touch count.
	qOutcome = q(em.AttrAttributionModel, em.ModelLastTouch) + " and " + em.AttrAttributionTouchIndex + " : 0"
	// qSent selects the postbacks a partner took.
	qSent = q(em.PostbackDecision, em.PostbackSent)
)

// defaultLayout names the indices in the dashboards' descriptions; they
// name the default prefix's whatever the import's prefix.
var defaultLayout = journeystore.Layout{Prefix: journeystore.DefaultPrefix}

var allModels = []string{em.ModelFirstTouch, em.ModelLastTouch, em.ModelLastNonDirect, em.ModelLinear, em.ModelPositionBased, em.ModelTimeDecay}

func visitors(id string) column {
	return sumOf(id, "Visitors",
		"unique_count("+em.AttrVisitorID+") + unique_count("+em.AttrCookielessKey+")",
		metric("unique_count", id+"X0", "Part of Visitors", em.AttrVisitorID, ""),
		metric("unique_count", id+"X1", "Part of Visitors", em.AttrCookielessKey, ""))
}

func dashboardDefs() []dashboardDef {
	medium := func(id string) column { return terms(id, "Medium", em.AttrChannelMedium, 10, "visits") }
	source := func(id string) column { return terms(id, "Source", em.AttrChannelSource, 10, "visits") }
	visits := count("visits", "Visits", "")
	convRate := ratio("conv", "Conversion rate", qConverted, "")
	bounce := ratio("bounce", "Bounce rate", qBounced, "")
	engaged := metric("average", "engaged", "Engaged time per visit", em.AttrVisitEngagedTime, "")
	modelsBy := func(orderBy string) column {
		c := terms("model", "Attribution model", em.AttrAttributionModel, len(allModels), orderBy)
		c.def["params"].(map[string]any)["otherBucket"] = false
		return c
	}
	modelSplit := modelsBy("credit")
	credited := metric("sum", "credit", "Credited conversions", em.AttrAttributionCredit, "")
	credited.def["params"].(map[string]any)["format"] = map[string]any{"id": "number", "params": map[string]any{"decimals": 2}}

	return []dashboardDef{
		{
			id: "webjourney-overview", title: "[webjourney] Overview",
			description: "Visitors, visits, page views, bounce rate, engaged time, top pages, countries and devices over time.",
			about: "### Overview\nHow much traffic the site gets and how engaged it is: **visitors** (distinct visitor ids plus " +
				"cookieless keys of anonymous visitors), **visits**, **page views**, **bounce rate** (visits of one page " +
				"and under 10 s engaged), **engaged time** per visit, the top pages, countries and devices, over time.\n\n" +
				"Visits come from the `" + defaultLayout.Index(journeystore.FamilyVisits) + "` index (one document per visit, timed by its start); page views " +
				"from `" + defaultLayout.Index(journeystore.FamilyEvents) + "`.",
			panels: []panel{
				lp("visitors", 10, 7, metricPanel("Visitors", DataViewVisits, "", visitors("visitors"))),
				lp("visits", 9, 7, metricPanel("Visits", DataViewVisits, "", visits)),
				lp("pageviews", 9, 7, metricPanel("Page views", DataViewEvents, qPageViews, count("pv", "Page views", ""))),
				lp("bounce", 10, 7, metricPanel("Bounce rate", DataViewVisits, "", bounce)),
				lp("engaged", 10, 7, metricPanel("Engaged time per visit", DataViewVisits, "", engaged)),
				lp("overtime", 48, 12, xyPanel("Visits over time by device", DataViewVisits, "", "bar_stacked", overTime("t"),
					ptr(terms("device", "Device", em.AttrDeviceClass, 5, "visits")), visits)),
				lp("pages", 24, 14, tablePanel("Top pages", DataViewEvents, qPageViews, nil,
					terms("path", "Page", em.AttrURLPath, 20, "pv"), count("pv", "Page views", ""),
					metric("unique_count", "uv", "Visits", em.AttrVisitID, ""))),
				lp("countries", 12, 14, tablePanel("Countries", DataViewVisits, "", nil,
					terms("country", "Country", em.AttrGeoCountry, 20, "visits"), visits)),
				lp("devices", 12, 14, tablePanel("Devices and browsers", DataViewEvents, qPageViews, nil,
					terms("device", "Device", em.AttrDeviceClass, 5, "pv"), terms("browser", "Browser", em.AttrUserAgentName, 5, "pv"),
					count("pv", "Page views", ""))),
			},
		},
		{
			id: "webjourney-acquisition", title: "[webjourney] Acquisition",
			description: "Channels (medium and source), referrers, UTM campaigns, AI-assistant and partner traffic, and how each converts.",
			about: "### Acquisition\nWhere visits come from and how each source converts. A visit's **channel** is its entry: " +
				"medium (`direct`, `internal`, `search`, `social`, `email`, `paid`, `referral`, `ai_assistant`, `partner`) " +
				"and source, from campaign parameters, ad click ids, the referrer and referral partners. **Conversion rate** " +
				"is the share of visits that achieved at least one outcome; **bounce rate** the share of one-page visits " +
				"under 10 s engaged.",
			panels: []panel{
				lp("channels", 24, 14, tablePanel("Channels", DataViewVisits, "", nil,
					medium("medium"), source("source"), visits, convRate, bounce)),
				lp("overtime", 24, 14, xyPanel("Visits over time by medium", DataViewVisits, "", "bar_stacked", overTime("t"),
					ptr(medium("medium")), visits)),
				lp("referrers", 16, 14, tablePanel("Referrers", DataViewEvents, qPageViews+" and "+em.AttrReferrerDomain+" : *", nil,
					terms("ref", "Referrer", em.AttrReferrerDomain, 20, "uv"), metric("unique_count", "uv", "Visits", em.AttrVisitID, ""))),
				lp("campaigns", 16, 14, tablePanel("Campaigns (UTM)", DataViewVisits, em.AttrChannelCampaign+" : *", nil,
					terms("campaign", "Campaign", em.AttrChannelCampaign, 20, "visits"), medium("medium"), source("source"), visits, convRate)),
				lp("ai-partner", 16, 14, tablePanel("AI assistants and partners", DataViewVisits,
					q(em.AttrChannelMedium, em.MediumAI, em.MediumPartner), nil,
					medium("medium"), source("source"), visits, convRate)),
			},
		},
		{
			id: "webjourney-outcomes", title: "[webjourney] Outcomes & attribution",
			description: "Outcomes by channel under each attribution model side by side, conversion rate, time and visits to convert.",
			about: "### Outcomes & attribution\nWhich channels earn the outcomes. Each outcome is credited to the visitor's touches " +
				"(visit entries inside the lookback window) under six models: `first_touch`, `last_touch`, `last_non_direct`, " +
				"`linear`, `position_based` and `time_decay`; under each model an outcome's credits sum to 1 and their values " +
				"to the outcome value, so **credited conversions** per channel are comparable across models. Values are in " +
				"the outcome rule's currency (`webjourney.outcome.currency`). Time and visits to convert count from the first " +
				"touch inside the lookback window.",
			panels: []panel{
				lp("conversions", 12, 7, metricPanel("Conversions", DataViewCredits, qOutcome,
					count("n", "Conversions", ""))),
				lp("convrate", 12, 7, metricPanel("Visit conversion rate", DataViewVisits, "", convRate)),
				lp("ttc", 12, 7, metricPanel("Median time to convert", DataViewCredits, qOutcome,
					metric("median", "ttc", "Median time to convert", em.AttrOutcomeTimeToConvert, ""))),
				lp("vtc", 12, 7, metricPanel("Visits to convert (average)", DataViewCredits, qOutcome,
					metric("average", "vtc", "Visits to convert", em.AttrOutcomeVisitsToConvert, ""))),
				lp("bymodel", 48, 14, tablePanel("Credited conversions by channel, per model", DataViewCredits, "",
					map[string]bool{"model": true},
					terms("medium", "Medium", em.AttrChannelMedium, 10, "credit"), modelSplit, credited)),
				lp("valuebymodel", 24, 14, xyPanel("Credited value by channel, per model", DataViewCredits, "", "bar",
					terms("medium", "Medium", em.AttrChannelMedium, 10, "value"), ptr(modelsBy("value")),
					metric("sum", "value", "Credited value", em.AttrAttributionValue, ""))),
				lp("outcomes", 24, 14, tablePanel("Outcomes", DataViewCredits, qOutcome, nil,
					terms("outcome", "Outcome", em.AttrOutcomeName, 10, "n"),
					count("n", "Conversions", ""),
					metric("sum", "value", "Value", em.AttrOutcomeValue, ""),
					metric("median", "ttc", "Median time to convert", em.AttrOutcomeTimeToConvert, ""),
					metric("average", "vtc", "Visits to convert", em.AttrOutcomeVisitsToConvert, ""))),
			},
		},
		{
			id: "webjourney-journeys", title: "[webjourney] Journeys",
			description: "Paths: the N-step Sankey to outcomes, top paths, pages before outcomes, transitions of one page; the visit timeline and a per-visitor drill-down.",
			about: "### Journeys\nHow visits flow, along each visit's **path** (`webjourney.visit.path`: its first pages in time " +
				"order, reloads collapsed). The **Sankey** follows visits through the first " + strconv.Itoa(SankeySteps) + " pages " +
				"of their path (*(exit)* once they left) to the outcome they achieved (or none). **Top paths** are whole " +
				"paths with their visits, conversion rate and median engaged time; **pages before outcome** the last three " +
				"pages before each outcome (one per outcome). **Transitions** show, for the page in its *Page* box, where " +
				"visits came from (the previous page, or their entrance channel in parentheses) and where they went next " +
				"(or *(exit)*). The **visit timeline** lists every event grouped by visit " +
				"in time order. For a **per-visitor drill-down**, click a visitor in *Top visitors* (or filter on " +
				"`webjourney.visitor.id`): the visits list and the timeline narrow to that visitor.",
			panels: []panel{
				{key: "sankey", w: 48, h: 20, refType: "visualization", refID: VisJourneySankey},
				lp("toppaths", 28, 16, tablePanel("Top paths", DataViewVisits, "", nil,
					terms("path", "Path", em.AttrVisitPath, 20, "visits"), visits, convRate,
					metric("median", "engaged", "Median engaged time", em.AttrVisitEngagedTime, ""))),
				lp("beforeoutcome", 20, 16, tablePanel("Pages before outcome", DataViewCredits, qOutcome, nil,
					terms("outcome", "Outcome", em.AttrOutcomeName, 10, "n"),
					terms("before", "Last pages before it", em.AttrOutcomePagesBefore, 20, "n"),
					count("n", "Outcomes", ""))),
				{key: "transitions", w: 48, h: 18, refType: "visualization", refID: VisJourneyTransitions},
				lp("topvisitors", 16, 16, tablePanel("Top visitors", DataViewVisits, em.AttrVisitorID+" : *", nil,
					terms("visitor", "Visitor", em.AttrVisitorID, 20, "visits"), visits,
					metric("sum", "pages", "Pages viewed", em.AttrVisitPagesViewed, ""),
					metric("sum", "engaged", "Engaged time", em.AttrVisitEngagedTime, ""))),
				{key: "visits", w: 32, h: 16, refType: "search", refID: SearchVisitsByVisitor},
				{key: "timeline", w: 48, h: 20, refType: "search", refID: SearchVisitTimeline},
			},
		},
		{
			id: "webjourney-partner", title: "[webjourney] Partner view",
			description: "Anonymised view for a referral partner: referred visitors, their engagement and the conversions credited to the partner.",
			about: "### Partner view\nWhat a referral partner brought: visits that entered through the partner, visitors the " +
				"partner referred, their engagement, and the outcomes credited to the partner under each attribution " +
				"model; and, from the partner_postback exporter's ledger, how many of the conversions credited to each partner " +
				"with a postback were **reported** to it, and why the others were not (skipped by consent or configuration, " +
				"refused by the partner, expired). **No identifiers**: no panel shows or counts a visitor, visit, user or click id. To share it with " +
				"one partner, add the filter `webjourney.channel.partner : \"<partner>\"` (and `webjourney.visitor.partner` " +
				"for the visitors panel) and save a copy in a space the partner can see.",
			panels: []panel{
				lp("referred", 12, 7, metricPanel("Referred visitors", DataViewVisitors, em.AttrVisitorPartner+" : *",
					count("n", "Referred visitors", ""))),
				lp("visits", 12, 7, metricPanel("Partner visits", DataViewVisits, em.AttrChannelPartner+" : *", visits)),
				lp("engaged", 12, 7, metricPanel("Engaged time per visit", DataViewVisits, em.AttrChannelPartner+" : *", engaged)),
				lp("bounce", 12, 7, metricPanel("Bounce rate", DataViewVisits, em.AttrChannelPartner+" : *", bounce)),
				lp("overtime", 24, 12, xyPanel("Partner visits over time", DataViewVisits, em.AttrChannelPartner+" : *", "bar_stacked",
					overTime("t"), ptr(terms("partner", "Partner", em.AttrChannelPartner, 10, "visits")), visits)),
				lp("pages", 24, 12, tablePanel("Landing pages of partner visits", DataViewVisits, em.AttrChannelPartner+" : *", nil,
					terms("partner", "Partner", em.AttrChannelPartner, 10, "visits"),
					terms("landing", "Landing page", em.AttrVisitLandingPage, 10, "visits"), visits,
					metric("average", "pages", "Pages per visit", em.AttrVisitPagesViewed, ""))),
				lp("credits", 48, 12, tablePanel("Conversions credited to the partner, per model", DataViewCredits,
					em.AttrChannelPartner+" : *", map[string]bool{"model": true},
					terms("partner", "Partner", em.AttrChannelPartner, 10, "credit"),
					terms("outcome", "Outcome", em.AttrOutcomeName, 10, "credit"), modelSplit, credited,
					metric("sum", "value", "Credited value", em.AttrAttributionValue, ""))),
				// The postback ledger: one document per outcome credited to
				// a partner with a postback, under the partner's model.
				lp("reported", 24, 12, tablePanel("Conversions credited and reported to the partner", DataViewPostbacks, "", nil,
					terms("partner", "Partner", em.AttrChannelPartner, 10, "credited"),
					terms("model", "Model", em.AttrAttributionModel, 6, "credited"),
					count("credited", "Conversions credited", ""),
					count("reported", "Reported to the partner", qSent),
					count("skipped", "Skipped", q(em.PostbackDecision, em.PostbackSkipped)),
					count("refused", "Refused or expired", q(em.PostbackDecision, em.PostbackFailed, em.PostbackExpired)),
					metric("sum", "value", "Value reported", em.AttrAttributionValue, qSent))),
				lp("notreported", 24, 12, tablePanel("Conversions not reported, by reason", DataViewPostbacks,
					q(em.PostbackDecision, em.PostbackSkipped, em.PostbackFailed, em.PostbackExpired), nil,
					terms("partner", "Partner", em.AttrChannelPartner, 10, "n"),
					terms("decision", "Decision", em.PostbackDecision, 4, "n"),
					terms("reason", "Reason", em.PostbackReason, 20, "n"),
					count("n", "Conversions", ""))),
			},
		},
		{
			id: "webjourney-retention", title: "[webjourney] Retention",
			description: "Cohorts: visitors by the week they were first seen × weeks since, the share who came back; by first channel.",
			about: "### Retention\nDo visitors come back? Each row of the **heatmap** is a cohort: the visitors first seen in " +
				"that week (`webjourney.visitor.first_seen`); each column a week since (`webjourney.visit.weeks_since_first_seen`, " +
				"0 = the first week, whose cell shows the cohort's size); each cell the share of the cohort with a visit that week. " +
				"The time range selects **cohorts** (by first seen), and their later visits count whenever they were. Filter on " +
				"`webjourney.visitor.first_touch.medium` (or `.source`) or `webjourney.visitor.partner` to compare the cohorts of one " +
				"first channel or partner. Only recognised visitors count: anonymous (cookieless) visits carry no visitor id, and a " +
				"visitor first seen before the collector kept state (or after its state was lost) starts a cohort late.",
			timeFrom: "now-" + strconv.Itoa(7*(RetentionWeeks+1)) + "d",
			panels: []panel{
				{key: "heatmap", w: 48, h: 20, refType: "visualization", refID: VisRetention},
				lp("byfirst", 48, 12, tablePanel("Visitors and returning visitors by first channel", DataViewVisits, em.AttrVisitorID+" : *", nil,
					terms("medium", "First medium", em.AttrVisitorFirstMedium, 10, "visitors"),
					metric("unique_count", "visitors", "Visitors", em.AttrVisitorID, ""),
					metric("unique_count", "returning", "Returning visitors", em.AttrVisitorID, em.AttrVisitorReturning+" : true"),
					visits)),
			},
		},
		funnelsDashboard(),
		{
			id: "webjourney-live", title: "[webjourney] Live",
			description: "The last 30 minutes, refreshed every 10 seconds: visitors, page views, top pages now.",
			about: "### Live\nWhat happens on the site now: **visitors** and **page views** of the last 30 minutes and the " +
				"**top pages** now, from the events index, refreshed every 10 seconds (the dashboard's auto-refresh; change the " +
				"time range or the interval in Kibana's time picker). An event is searchable under a second after its beacon " +
				"arrives (the exporter's batching and Elasticsearch's refresh: p50 0.5 s, p95 0.75 s at 2,000 events/s with the " +
				"production configuration, `docs/benchmarks.md`), so the numbers lag the site by that much.",
			timeFrom: "now-30m", refreshSeconds: 10,
			panels: []panel{
				lp("visitors", 16, 7, metricPanel("Visitors (last 30 minutes)", DataViewEvents, "", visitors("visitors"))),
				lp("pageviews", 16, 7, metricPanel("Page views (last 30 minutes)", DataViewEvents, qPageViews, count("pv", "Page views", ""))),
				lp("visits", 16, 7, metricPanel("Visits (last 30 minutes)", DataViewEvents, qPageViews,
					metric("unique_count", "uv", "Visits", em.AttrVisitID, ""))),
				lp("pages", 48, 14, tablePanel("Top pages now", DataViewEvents, qPageViews, nil,
					terms("path", "Page", em.AttrURLPath, 20, "pv"), count("pv", "Page views", ""),
					metric("unique_count", "uv", "Visits", em.AttrVisitID, ""))),
			},
		},
		{
			id: "webjourney-privacy", title: "[webjourney] Privacy & data quality",
			description: "Consent decisions over time, anonymous vs full events, bots, corrected event times, rejected beacons and erasures performed.",
			about: "### Privacy & data quality\nHow consent shapes the data: the consent processor's **decision** per stored " +
				"event (`keep` = full event, `anonymous` = no identifiers), its reason and deciding signal; **bots** kept " +
				"with a mark (`bots.action: mark`); and the **erasures** performed (stored erasure records: how many " +
				"documents each deleted, never whom); and the events whose **time** the receiver corrected: the client's time " +
				"replaced by the receive time or shifted by the client clock's error, by reason (`webjourney.time.correction`: " +
				"`missing`, `missing_send_time`, `in_future`, `too_old`, `skew`).\n\nDropped events never reach Elasticsearch: bots dropped with " +
				"`bots.action: drop`, **rejected beacons** and events consent dropped are counted by the collector's own " +
				"metrics instead: `otelcol_receiver_pixel_rejections{channel,reason}`, `otelcol_receiver_pixel_bots_marked` " +
				"and `otelcol_processor_consent_events{decision,reason}`.",
			panels: []panel{
				lp("anon", 12, 7, metricPanel("Anonymous share of events", DataViewEvents, em.AttrConsentDecision+" : *",
					ratio("anon", "Anonymous events", q(em.AttrConsentDecision, em.DecisionAnonymous), ""))),
				lp("bots", 12, 7, metricPanel("Bot events (marked)", DataViewEvents, em.AttrBot+" : true", count("n", "Bot events", ""))),
				lp("erasures", 12, 7, metricPanel("Erasures performed", DataViewEvents, q(fieldEventName, em.EventErasureRequest),
					count("n", "Erasures", ""))),
				lp("erased", 12, 7, metricPanel("Documents erased", DataViewEvents, q(fieldEventName, em.EventErasureRequest),
					metric("sum", "n", "Documents erased", em.AttrErasureDeleted, ""))),
				lp("decisions", 24, 12, xyPanel("Consent decisions over time", DataViewEvents, em.AttrConsentDecision+" : *", "bar_stacked",
					overTime("t"), ptr(terms("decision", "Decision", em.AttrConsentDecision, 3, "n")), count("n", "Events", ""))),
				lp("reasons", 24, 12, tablePanel("Decision reasons and signals", DataViewEvents, em.AttrConsentDecision+" : *", nil,
					terms("decision", "Decision", em.AttrConsentDecision, 3, "n"), terms("source", "Signal", em.AttrConsentSource, 10, "n"),
					terms("reason", "Reason", em.AttrConsentReason, 20, "n"), count("n", "Events", ""))),
				lp("updates", 24, 12, xyPanel("Consent changes over time (analytics)", DataViewEvents, q(fieldEventName, em.EventConsentUpdate),
					"bar_stacked", overTime("t"), ptr(terms("analytics", "Analytics consent", em.AttrConsentAnalytics, 3, "n")),
					count("n", "Consent updates", ""))),
				lp("botreasons", 24, 12, xyPanel("Bot events over time", DataViewEvents, em.AttrBot+" : true", "bar_stacked",
					overTime("t"), ptr(terms("reason", "Reason", em.AttrBotReason, 3, "n")), count("n", "Bot events", ""))),
				lp("erasuretimeline", 48, 10, xyPanel("Erasures over time", DataViewEvents, q(fieldEventName, em.EventErasureRequest),
					"bar_stacked", overTime("t"), ptr(terms("reason", "Reason", em.AttrConsentReason, 5, "n")),
					count("n", "Erasures", ""), metric("sum", "deleted", "Documents erased", em.AttrErasureDeleted, ""))),
				lp("times", 12, 12, metricPanel("Corrected event times", DataViewEvents, qTimed,
					ratio("corrected", "Corrected event times", em.AttrTimeCorrection+" : *", ""))),
				lp("timereasons", 36, 12, tablePanel("Share of corrected event times by reason", DataViewEvents, qTimed, nil,
					append([]column{terms("channel", "Channel", em.AttrIngestChannel, 5, "n"), count("n", "Events", "")},
						timeCorrectionShares()...)...)),
				lp("timeline", 48, 10, xyPanel("Corrected event times over time", DataViewEvents, em.AttrTimeCorrection+" : *",
					"bar_stacked", overTime("t"), ptr(terms("reason", "Reason", em.AttrTimeCorrection, 5, "n")),
					count("n", "Corrected events", ""))),
			},
		},
	}
}

// qTimed selects the events whose time the receiver decided (events of
// OTLP clients keep their own time and carry no time source).
var qTimed = em.AttrTimeSource + " : *"

// timeCorrectionShares are one column per correction reason: its share of
// the row's events.
func timeCorrectionShares() []column {
	var out []column
	for _, c := range em.TimeCorrections {
		out = append(out, ratio(c, strings.ToUpper(c[:1])+strings.ReplaceAll(c[1:], "_", " "), q(em.AttrTimeCorrection, c), ""))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func dashboards() []Object {
	var out []Object
	for _, d := range dashboardDefs() {
		out = append(out, d.object())
	}
	return out
}

func (d dashboardDef) object() Object {
	about := panel{key: "about", w: 48, h: 7, refType: "visualization", refID: d.id + "-about", noTitle: true}
	all := append([]panel{about}, d.panels...)
	var panels []any
	var refs []Reference
	seenDV := map[string]bool{}
	x, y, rowH := 0, 0, 0
	for _, p := range all {
		if x+p.w > 48 {
			x, y, rowH = 0, y+rowH, 0
		}
		idx := strings.TrimPrefix(d.id, "webjourney-") + "-" + p.key
		pj := map[string]any{
			"panelIndex": idx,
			"gridData":   map[string]any{"x": x, "y": y, "w": p.w, "h": p.h, "i": idx},
		}
		x += p.w
		rowH = max(rowH, p.h)
		switch {
		case p.lens != nil:
			attrs, lrefs := p.lens.attributes()
			pj["type"] = "lens"
			pj["embeddableConfig"] = map[string]any{"attributes": attrs, "enhancements": map[string]any{}}
			for _, r := range lrefs {
				refs = append(refs, Reference{ID: r.ID, Name: idx + ":" + r.Name, Type: r.Type})
				seenDV[r.ID] = true
			}
		default:
			pj["type"] = p.refType
			pj["panelRefName"] = "panel_" + idx
			ec := map[string]any{"enhancements": map[string]any{}}
			if p.noTitle {
				ec["hidePanelTitles"] = true
			}
			if p.title != "" {
				ec["title"] = p.title
			}
			pj["embeddableConfig"] = ec
			refs = append(refs, Reference{ID: p.refID, Name: idx + ":panel_" + idx, Type: p.refType})
		}
		panels = append(panels, pj)
	}
	timeFrom, refresh := "now-30d", map[string]any{"pause": true, "value": 60000}
	if d.timeFrom != "" {
		timeFrom = d.timeFrom
	}
	if d.refreshSeconds > 0 {
		refresh = map[string]any{"pause": false, "value": d.refreshSeconds * 1000}
	}
	return newObject("dashboard", d.id, map[string]any{
		"title":       d.title,
		"description": d.description,
		"panelsJSON":  jsonString(panels),
		"optionsJSON": jsonString(map[string]any{
			"useMargins": true, "syncColors": false, "syncCursor": true, "syncTooltips": false, "hidePanelTitles": false,
		}),
		"timeRestore":     true,
		"timeFrom":        timeFrom,
		"timeTo":          "now",
		"refreshInterval": refresh,
		"version":         1,
		"kibanaSavedObjectMeta": map[string]any{
			"searchSourceJSON": searchSource("", false),
		},
	}, refs)
}
