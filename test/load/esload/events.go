package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// dataset is the same n events twice: as OTLP/HTTP protobuf requests for the
// collector and as the JSON documents the exporter writes for them, for the
// plain loader. Both are built before any timing starts.
type dataset struct {
	bodies [][]byte // ExportLogsServiceRequest, batch records each
	docs   []doc
	bytes  int // JSON bytes of all documents
}

// doc is one rendered document: its _id and the UTC month of its event
// time, which names its index (journeystore.Layout.EventsIndex).
type doc struct {
	id    string
	month time.Time
	body  []byte
}

// The events lie in November 2026, so they go to one monthly index per run.
var (
	firstEvent = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	eventSpan  = 22 * 24 * time.Hour
)

type site struct{ id, domain, title string }

var (
	sites = []site{
		{"shop", "shop.example.com", "Shop"},
		{"blog", "blog.example.org", "The Example Blog"},
		{"docs", "docs.example.net", "Example Docs"},
		{"archi", "www.archi.example", "Archi — Architecture & Design"},
		{"tracker", "app.tracker.example", "Tracker"},
	}
	paths     = []string{"/", "/pricing", "/products/red-shoes", "/products/blue-jacket", "/blog/2026/11/first-party-analytics", "/docs/getting-started", "/docs/api/events", "/checkout", "/checkout/thank-you", "/search", "/about", "/contact", "/careers/engineering", "/category/outdoor/hiking"}
	titles    = []string{"Home", "Pricing", "Red shoes", "Blue jacket", "First-party analytics, explained", "Getting started", "Events API", "Checkout", "Thank you", "Search results", "About us", "Contact", "Engineering jobs", "Hiking gear"}
	referrers = []string{"https://www.google.com/search?q=red+shoes", "https://www.bing.com/search?q=first+party+analytics", "https://duckduckgo.com/", "https://t.co/xYz12", "https://www.facebook.com/", "https://news.ycombinator.com/item?id=41234567", "https://partner.example/articles/shoes", "https://mail.example.net/"}
	refDomain = []string{"www.google.com", "www.bing.com", "duckduckgo.com", "t.co", "www.facebook.com", "news.ycombinator.com", "partner.example", "mail.example.net"}
	campaigns = [][3]string{{"newsletter", "email", "black-friday"}, {"google", "cpc", "shoes-q4"}, {"facebook", "social", "winter-launch"}, {"partner", "referral", "archipro-2026"}}
	mediums   = []string{"direct", "search", "social", "email", "paid", "referral", "internal"}
	sources   = []string{"(direct)", "google", "facebook", "newsletter", "bing", "partner.example", "shop.example.com"}
	agents    = [][5]string{{"Chrome", "141", "Windows", "10", "desktop"}, {"Safari", "18", "iOS", "18", "mobile"}, {"Chrome", "141", "Android", "15", "mobile"}, {"Firefox", "144", "Linux", "", "desktop"}, {"Edge", "141", "Windows", "11", "desktop"}, {"Safari", "18", "Mac OS X", "15", "desktop"}, {"Chrome", "140", "iPadOS", "18", "tablet"}}
	countries = []string{"DE", "FR", "NZ", "US", "GB", "NL", "ES", "IT", "AU", "SE"}
	customs   = []string{"signup", "add_to_cart", "video_play", "newsletter_optin", "share"}
	plans     = []string{"free", "pro", "team", "enterprise"}
	terms     = []string{"red shoes", "rain jacket", "size guide", "returns", "gift card"}
	forms     = [][3]string{{"signup", "newsletter", "/subscribe"}, {"contact", "contact-us", "/contact/send"}, {"checkout", "payment", "/checkout/pay"}}
)

// generate builds n deterministic events (the same for every seed) in
// requests of batch records.
func generate(n, batch int, seed uint64) (*dataset, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6a6f75726e6579))
	visitors := max(n/8, 1)
	ds := &dataset{docs: make([]doc, 0, n)}
	step := eventSpan / time.Duration(n)
	var buf []byte
	for start := 0; start < n; start += batch {
		ld := plog.NewLogs()
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		sl.Scope().SetName("esload")
		lrs := sl.LogRecords()
		for i := start; i < min(start+batch, n); i++ {
			lr := lrs.AppendEmpty()
			ts := firstEvent.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step))))
			fill(lr, rng, i, rng.IntN(visitors), ts)
			buf = render(buf[:0], lr)
			id, _ := lr.Attributes().Get(eventmodel.AttrEventID)
			month := time.Date(ts.Year(), ts.Month(), 1, 0, 0, 0, 0, time.UTC)
			ds.docs = append(ds.docs, doc{id: id.Str(), month: month, body: append([]byte(nil), buf...)})
			ds.bytes += len(buf)
		}
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		if err != nil {
			return nil, err
		}
		ds.bodies = append(ds.bodies, body)
	}
	return ds, nil
}

// head returns the first k documents (k < 0: all), whole requests of batch
// records.
func (ds *dataset) head(k, batch int) *dataset {
	reqs := len(ds.bodies)
	if k >= 0 {
		reqs = min(reqs, (k+batch-1)/batch)
	}
	h := &dataset{bodies: ds.bodies[:reqs], docs: ds.docs[:min(len(ds.docs), reqs*batch)]}
	for _, d := range h.docs {
		h.bytes += len(d.body)
	}
	return h
}

// fill writes one event as the pipeline (receiver, consent, anonymizer,
// attribution) leaves it: a page view most of the time, else one of the
// other event types with its own attributes.
func fill(lr plog.LogRecord, rng *rand.Rand, i, visitor int, ts time.Time) {
	s := sites[visitor%len(sites)]
	p := rng.IntN(len(paths))
	ua := agents[visitor%len(agents)]
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ts.Add(time.Duration(20+rng.IntN(400)) * time.Millisecond)))

	name := eventmodel.EventPageView
	switch r := rng.IntN(100); {
	case r < 15:
		name = eventmodel.EventEngagement
	case r < 25:
		name = eventmodel.EventCustom
	case r < 30:
		name = eventmodel.EventOutboundClick
	case r < 33:
		name = eventmodel.EventFormSubmit
	case r < 37:
		name = eventmodel.EventSiteSearch
	case r < 40:
		name = eventmodel.EventFileDownload
	}
	lr.SetEventName(name)

	a := lr.Attributes()
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rng.Uint64()^uint64(i))
	a.PutStr(eventmodel.AttrEventID, hex.EncodeToString(id[:]))
	a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
	a.PutStr(eventmodel.AttrSiteID, s.id)
	channel := eventmodel.ChannelBeacon
	if rng.IntN(5) == 0 {
		channel = eventmodel.ChannelPixel
	}
	a.PutStr(eventmodel.AttrIngestChannel, channel)

	query := ""
	camp := -1
	if rng.IntN(7) == 0 {
		camp = rng.IntN(len(campaigns))
		c := campaigns[camp]
		query = "utm_source=" + c[0] + "&utm_medium=" + c[1] + "&utm_campaign=" + c[2]
	} else if rng.IntN(4) == 0 {
		query = "page=" + strconv.Itoa(1+rng.IntN(9))
	}
	full := "https://" + s.domain + paths[p]
	if query != "" {
		full += "?" + query
	}
	a.PutStr(eventmodel.AttrURLFull, full)
	a.PutStr(eventmodel.AttrURLScheme, "https")
	a.PutStr(eventmodel.AttrURLDomain, s.domain)
	a.PutStr(eventmodel.AttrURLPath, paths[p])
	if query != "" {
		a.PutStr(eventmodel.AttrURLQuery, query)
	}
	a.PutStr(eventmodel.AttrPageTitle, titles[p]+" — "+s.title)

	a.PutStr(eventmodel.AttrUserAgentName, ua[0])
	a.PutStr(eventmodel.AttrUserAgentVersion, ua[1])
	a.PutStr(eventmodel.AttrUserAgentOSName, ua[2])
	if ua[3] != "" {
		a.PutStr(eventmodel.AttrUserAgentOSVersion, ua[3])
	}
	a.PutStr(eventmodel.AttrDeviceClass, ua[4])
	a.PutStr(eventmodel.AttrClientAddress, fmt.Sprintf("198.51.%d.0", visitor%256))
	a.PutStr(eventmodel.AttrGeoCountry, countries[visitor%len(countries)])

	var vid [16]byte
	binary.LittleEndian.PutUint64(vid[:8], uint64(visitor)*0x9e3779b97f4a7c15)
	binary.LittleEndian.PutUint64(vid[8:], uint64(visitor)*0xc2b2ae3d27d4eb4f)
	a.PutStr(eventmodel.AttrVisitorID, "k1:"+base64.RawURLEncoding.EncodeToString(vid[:]))
	visit := ts.Unix() / 1800
	a.PutStr(eventmodel.AttrSessionID, "s-"+strconv.FormatInt(visit*1800, 10)+"-"+strconv.Itoa(visitor))
	a.PutStr(eventmodel.AttrVisitID, hex.EncodeToString(vid[:8])+strconv.FormatInt(visit, 16))

	if rng.IntN(5) < 2 {
		r := rng.IntN(len(referrers))
		a.PutStr(eventmodel.AttrReferrerFull, referrers[r])
		a.PutStr(eventmodel.AttrReferrerDomain, refDomain[r])
	}
	if camp >= 0 {
		c := campaigns[camp]
		a.PutStr(eventmodel.AttrCampaignSource, c[0])
		a.PutStr(eventmodel.AttrCampaignMedium, c[1])
		a.PutStr(eventmodel.AttrCampaignName, c[2])
	}
	m := visitor % len(mediums)
	a.PutStr(eventmodel.AttrChannelMedium, mediums[m])
	a.PutStr(eventmodel.AttrChannelSource, sources[m])

	a.PutStr(eventmodel.AttrConsentAnalytics, "granted")
	a.PutStr(eventmodel.AttrConsentDecision, "keep")
	a.PutStr(eventmodel.AttrConsentReason, "tag_granted")
	a.PutStr(eventmodel.AttrConsentSource, "tag")

	pv := hex.EncodeToString(id[4:12])
	switch name {
	case eventmodel.EventEngagement:
		a.PutStr(eventmodel.AttrPageViewID, pv)
		a.PutInt(eventmodel.AttrEngagedTime, int64(500+rng.IntN(120_000)))
		a.PutInt(eventmodel.AttrScrollDepth, int64(rng.IntN(101)))
	case eventmodel.EventCustom:
		a.PutStr(eventmodel.AttrCustomName, customs[rng.IntN(len(customs))])
		props := a.PutEmptyMap(eventmodel.AttrProperties)
		props.PutStr("plan", plans[rng.IntN(len(plans))])
		props.PutInt("seats", int64(1+rng.IntN(50)))
		props.PutDouble("value", float64(rng.IntN(100_000))/100)
		props.PutBool("trial", rng.IntN(2) == 0)
	case eventmodel.EventOutboundClick, eventmodel.EventFileDownload:
		a.PutStr(eventmodel.AttrPageViewID, pv)
		r := rng.IntN(len(refDomain))
		a.PutStr(eventmodel.AttrLinkURL, "https://"+refDomain[r]+"/files/brochure-"+strconv.Itoa(rng.IntN(40))+".pdf")
		a.PutStr(eventmodel.AttrLinkDomain, refDomain[r])
	case eventmodel.EventFormSubmit:
		f := forms[rng.IntN(len(forms))]
		a.PutStr(eventmodel.AttrPageViewID, pv)
		a.PutStr(eventmodel.AttrFormID, f[0])
		a.PutStr(eventmodel.AttrFormName, f[1])
		a.PutStr(eventmodel.AttrFormAction, f[2])
		if f[0] == "checkout" {
			a.PutBool(eventmodel.AttrFormSensitive, true)
		} else {
			a.PutInt(eventmodel.AttrFormFieldCount, int64(2+rng.IntN(6)))
		}
	case eventmodel.EventSiteSearch:
		a.PutStr(eventmodel.AttrPageViewID, pv)
		a.PutStr(eventmodel.AttrSearchTerm, terms[rng.IntN(len(terms))])
	}
}

// render writes lr as the exporter's document (see encode.go in
// internal/journeystore): @timestamp (event time, RFC 3339
// nanoseconds, UTC), event.ingested (observed time), event.name, then every
// attribute under its own name in record order; maps as objects. It covers
// the value types generate produces (string, int, double, bool, map); the
// run compares stored documents of both paths to prove it matches.
func render(buf []byte, lr plog.LogRecord) []byte {
	buf = append(buf, `{"@timestamp":"`...)
	buf = lr.Timestamp().AsTime().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","event.ingested":"`...)
	buf = lr.ObservedTimestamp().AsTime().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","event.name":`...)
	buf = appendString(buf, lr.EventName())
	for k, v := range lr.Attributes().All() {
		buf = append(buf, ',')
		buf = appendString(buf, k)
		buf = append(buf, ':')
		buf = appendValue(buf, v)
	}
	return append(buf, '}')
}

func appendValue(buf []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(buf, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		format := byte('f')
		if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			format = 'e'
		}
		return strconv.AppendFloat(buf, f, format, -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeMap:
		buf = append(buf, '{')
		first := true
		for k, mv := range v.Map().All() {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = appendValue(buf, mv)
		}
		return append(buf, '}')
	default:
		panic("esload: render: value type " + v.Type().String() + " is not generated")
	}
}

// appendString writes s as a JSON string (the generator's strings are valid
// UTF-8 without control characters, but quotes and backslashes are escaped).
func appendString(buf []byte, s string) []byte {
	if !utf8.ValidString(s) {
		panic("esload: invalid UTF-8 in generated data")
	}
	buf = append(buf, '"')
	for i := range len(s) {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, fmt.Sprintf(`\u%04x`, c)...)
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}
