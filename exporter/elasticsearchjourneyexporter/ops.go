package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// Ops runs the exporter's maintenance operations — erasure, retention and
// the index templates — once, outside a collector, on the same code the
// exporter uses. webjourneyctl is its user. It is safe for sequential use.
type Ops struct {
	es         *elasticsearch.Client
	prefix     string
	deadLetter string
	url        string // for messages; never holds credentials
}

// OpsSettings says where and as whom Ops works.
type OpsSettings struct {
	// URL of one Elasticsearch node, http:// or https://, without
	// credentials.
	URL string
	// APIKey is an Elasticsearch API key (the base64 "encoded" form), or
	// User and Password authenticate with HTTP basic authentication.
	APIKey, User, Password string
	// CACert holds PEM certificates to trust for an https URL (empty: the
	// system's).
	CACert []byte
	// IndexPrefix is the exporter's index_prefix.
	IndexPrefix string
	// DeadLetterIndex is the exporter's dead_letter::index; empty when it
	// has none.
	DeadLetterIndex string
}

// SettingError is a bad OpsSettings field; NewOps returns nothing else.
type SettingError struct {
	Setting string // the OpsSettings field name
	Err     error
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// NewOps checks s and returns an Ops. It does not contact Elasticsearch;
// Ping does.
func NewOps(s OpsSettings) (*Ops, error) {
	if s.URL == "" {
		return nil, &SettingError{"URL", errors.New("required, e.g. http://localhost:9200")}
	}
	if err := validateEndpoint(s.URL); err != nil {
		return nil, &SettingError{"URL", err}
	}
	if s.APIKey != "" && s.User != "" {
		return nil, &SettingError{"APIKey", errors.New("set either an API key or user and password, not both")}
	}
	if s.Password != "" && s.User == "" {
		return nil, &SettingError{"Password", errors.New("set the user as well")}
	}
	if err := checkIndexPrefix(s.IndexPrefix); err != nil {
		return nil, &SettingError{"IndexPrefix", err}
	}
	if err := checkDeadLetterIndex(s.DeadLetterIndex, s.IndexPrefix); err != nil {
		return nil, &SettingError{"DeadLetterIndex", err}
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{s.URL},
		APIKey:    s.APIKey,
		Username:  s.User,
		Password:  s.Password,
		CACert:    s.CACert,
	})
	if err != nil {
		return nil, &SettingError{"CACert", err} // the only setting the client itself reads
	}
	return &Ops{es: es, prefix: s.IndexPrefix, deadLetter: s.DeadLetterIndex, url: strings.TrimRight(s.URL, "/")}, nil
}

// Close releases the client.
func (o *Ops) Close(ctx context.Context) error { return o.es.Close(ctx) }

// Ping checks that the URL answers as Elasticsearch and that the
// credentials are accepted. Its errors name the URL: "cannot reach
// Elasticsearch at URL: ..." or "Elasticsearch at URL refused the
// credentials: HTTP 401 security_exception: <reason>". It asks for the
// cluster health (the bare server has no GET /). A 403 is not an error here:
// an API key may lack the monitor privilege this call needs but have the
// index privileges an operation needs.
func (o *Ops) Ping(ctx context.Context) error {
	health := o.es.Cluster.Health
	res, err := health(health.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("cannot reach Elasticsearch at %s: %w", o.url, err)
	}
	defer drainAndClose(res.Body)
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("Elasticsearch at %s refused the credentials: %w", o.url, responseError(res.StatusCode, res.Body))
	case res.StatusCode == http.StatusForbidden:
		return nil
	case res.IsError():
		return fmt.Errorf("Elasticsearch at %s: %w", o.url, responseError(res.StatusCode, res.Body))
	}
	return nil
}

// Index families of the reports, in report order.
const (
	FamilyEvents     = "events"
	FamilyVisits     = "visits"
	FamilyVisitors   = "visitors"
	FamilyCredits    = "credits"
	FamilyDeadLetter = "dead_letter"
	FamilyOther      = "other" // another index under "<prefix>-"
)

// FamilyCount is a number of documents of one index family.
type FamilyCount struct {
	Family    string
	Index     string // the index, or the pattern of the event indices
	Documents int64
}

// ErasureReport is what Erase did.
type ErasureReport struct {
	// Families lists the documents deleted per family: events, visits,
	// visitors, credits, dead_letter (when a dead-letter index is set) and
	// other (only when some were).
	Families []FamilyCount
	// Indices holds the documents deleted by index.
	Indices map[string]int64
	Total   int64
	// The audit record: its index, id and webjourney.erasure.subject.
	AuditIndex, AuditID, Subject string
}

// errNoSubject is Erase's error without a visitor or user id.
var errNoSubject = errors.New("give a visitor id or a user id to erase")

// Erase deletes every document of site whose webjourney.visitor.id is
// visitorID or whose user.id is userID (either may be empty, not both)
// from the events, entity and dead-letter indices, as the exporter does for
// an erasure request, and then stores the audit record the exporter stores:
// a webjourney.erasure_request event with webjourney.erasure.subject and
// .deleted instead of the ids (consent reason "operator_request"). The ids
// are the pseudonyms as stored. Erasing again is harmless.
//
// It refuses to run when the events index template of the prefix is not
// installed: the prefix is then wrong (or nothing was ever exported), and
// the audit record would create an index without its mapping.
func (o *Ops) Erase(ctx context.Context, site, visitorID, userID string) (*ErasureReport, error) {
	if site == "" {
		return nil, errors.New("give the site id to erase from")
	}
	if visitorID == "" && userID == "" {
		return nil, errNoSubject
	}
	name := eventsTemplateName(o.prefix)
	if _, found, err := installedTemplateVersion(ctx, o.es, name); err != nil {
		return nil, err
	} else if !found {
		return nil, fmt.Errorf("index template %s is not installed: is the index prefix %q right? (webjourneyctl templates check)", name, o.prefix)
	}
	er := &erasure{site: site, visitor: visitorID, user: userID}
	deleted, err := o.erase(ctx, er)
	rep := o.erasureReport(deleted)
	if err != nil {
		return rep, err
	}
	er.deleted = rep.Total
	rep.Subject = er.subject()
	rep.AuditIndex, rep.AuditID, err = o.storeErasureAudit(ctx, er, time.Now())
	return rep, err
}

// erasureReport sorts deleted counts into families.
func (o *Ops) erasureReport(byIndex map[string]int64) *ErasureReport {
	rep := &ErasureReport{Indices: byIndex}
	counts := map[string]int64{}
	for index, n := range byIndex {
		counts[o.familyOfIndex(index)] += n
		rep.Total += n
	}
	add := func(family, index string) {
		rep.Families = append(rep.Families, FamilyCount{Family: family, Index: index, Documents: counts[family]})
	}
	add(FamilyEvents, o.prefix+"-events-*")
	for _, f := range entityFamilies {
		add(f.name(), f.index(o.prefix))
	}
	if o.deadLetter != "" {
		add(FamilyDeadLetter, o.deadLetter)
	}
	if counts[FamilyOther] > 0 {
		add(FamilyOther, o.prefix+"-*")
	}
	return rep
}

// familyOfIndex names the family of one of the indices erasure searches.
func (o *Ops) familyOfIndex(index string) string {
	if index == o.deadLetter {
		return FamilyDeadLetter
	}
	if _, ok := eventIndexMonth(index, o.prefix+"-events-"); ok {
		return FamilyEvents
	}
	for _, f := range entityFamilies {
		if index == f.index(o.prefix) {
			return f.name()
		}
	}
	return FamilyOther
}

// storeErasureAudit writes the audit record of a finished erasure, encoded
// as the exporter encodes the erasure request of a push, and returns its
// index and id.
func (o *Ops) storeErasureAudit(ctx context.Context, er *erasure, now time.Time) (string, string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	lr := plog.NewLogRecord()
	lr.SetEventName(eventmodel.EventErasureRequest)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrEventID, id)
	a.PutInt(eventmodel.AttrSchemaVersion, eventmodel.SchemaVersion)
	a.PutStr(eventmodel.AttrSiteID, er.site)
	if er.visitor != "" {
		a.PutStr(eventmodel.AttrVisitorID, er.visitor) // left out by the encoder
	}
	if er.user != "" {
		a.PutStr(eventmodel.AttrUserID, er.user) // left out by the encoder
	}
	a.PutStr(eventmodel.AttrConsentReason, "operator_request")
	a.PutStr(eventmodel.AttrConsentSource, "operator")
	enc := newEncoder(o.prefix, newFieldShape(), now)
	enc.erased = map[string]*erasure{id: er}
	doc, index, _ := enc.appendDocument(nil, lr)
	create := o.es.Create
	_, err := answer("storing the erasure audit record")(create(index, id, bytes.NewReader(doc), create.WithContext(ctx)))
	return index, id, err
}

// RetentionReport is what ApplyRetention did (or, in a dry run, would do).
type RetentionReport struct {
	DryRun   bool
	Now      time.Time
	Families []RetentionFamily // events, visits, visitors, credits
}

// RetentionFamily is the retention of one family.
type RetentionFamily struct {
	Family string
	Index  string // the index, or the pattern of the event indices
	Months int    // 0: kept for ever, not checked
	// Field is the date that ages an entity document ("@timestamp" when it
	// has none of its own); empty for events.
	Field string
	// Before: the event indices of months that began before it, or the
	// entities dated before it, are expired.
	Before time.Time
	// Indices lists the expired monthly event indices, in name order.
	Indices []string
	// Documents counts the expired documents (for event indices as far as
	// the index statistics know).
	Documents int64
	Err       error // this family failed; the others were still applied
}

// ApplyRetention applies r (its *_months; check_interval is not used) once
// at now, as the exporter's retention check does: it deletes every monthly
// event index whose month ended more than r.EventsMonths months ago and
// every entity document older than its family's retention. With dryRun it
// deletes nothing and reports what it would delete. A family that fails
// does not stop the others; the error joins their errors.
func (o *Ops) ApplyRetention(ctx context.Context, r RetentionConfig, now time.Time, dryRun bool) (*RetentionReport, error) {
	if errs := r.checkMonths(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rep := &RetentionReport{DryRun: dryRun, Now: now}
	ev := RetentionFamily{Family: FamilyEvents, Index: o.prefix + "-events-*", Months: r.EventsMonths}
	if ev.Months > 0 {
		y, m, _ := now.UTC().Date()
		// The months whose end plus the retention is not after now.
		ev.Before = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, -ev.Months, 0)
		var gone []expiredIndex
		gone, ev.Err = o.expireEventIndices(ctx, ev.Months, now, dryRun)
		for _, g := range gone {
			ev.Indices = append(ev.Indices, g.name)
			ev.Documents += g.docs
		}
	}
	rep.Families = append(rep.Families, ev)
	for _, f := range entityFamilies {
		rf := RetentionFamily{Family: f.name(), Index: f.index(o.prefix)}
		rf.Months, rf.Field = entityAge(r, f)
		if rf.Months > 0 {
			rf.Before = entityCutoff(rf.Months, now)
			rf.Documents, rf.Err = o.expireEntities(ctx, f, r, now, dryRun)
		}
		rep.Families = append(rep.Families, rf)
	}
	var errs []error
	for _, f := range rep.Families {
		if f.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Family, f.Err))
		}
	}
	return rep, errors.Join(errs...)
}

// Template states of a TemplateCheck.
const (
	TemplateOK      = "ok"      // the expected version, with the expected mapping
	TemplateMissing = "missing" // not installed
	TemplateOlder   = "older"   // an older version: the collector (or InstallTemplates) upgrades it
	TemplateNewer   = "newer"   // a newer version (a newer webjourney); left alone
	TemplateDrift   = "drift"   // the expected version, but its mapping differs
)

// TemplateCheck is the state of one index template.
type TemplateCheck struct {
	Name      string
	Family    string // events, visits, visitors, credits, dead_letter
	Expected  int64  // the version this code installs
	Installed int64  // the installed version; 0 when missing or without one
	Status    string // one of the Template* states
	// MappingDrift lists, for an installed template of the expected
	// version, every mapped field whose mapping differs from the expected
	// one, as "field: expected X, installed Y" (X or Y "none").
	MappingDrift []string
}

// TemplateReport is the state of every index template of the prefix (and
// of the dead-letter index, when set).
type TemplateReport struct {
	Templates []TemplateCheck
}

// Ready reports whether every template is ok or newer: nothing is missing,
// older or drifted.
func (r *TemplateReport) Ready() bool {
	for _, t := range r.Templates {
		if t.Status != TemplateOK && t.Status != TemplateNewer {
			return false
		}
	}
	return true
}

// CheckTemplates reads every index template the exporter installs and
// compares it with the one this code would install: version and, at the
// same version, the mapping (settings are not compared: the operator may
// tune shards and replicas).
func (o *Ops) CheckTemplates(ctx context.Context) (*TemplateReport, error) {
	rep := &TemplateReport{}
	for _, spec := range templateSpecs(o.prefix, o.deadLetter) {
		c := TemplateCheck{Name: spec.name, Family: spec.body["_meta"].(map[string]any)["family"].(string), Expected: templateVersion}
		it, err := getInstalledTemplate(ctx, o.es, spec.name)
		if err != nil {
			return nil, err
		}
		switch {
		case it == nil:
			c.Status = TemplateMissing
		case it.version < templateVersion:
			c.Installed, c.Status = it.version, TemplateOlder
		case it.version > templateVersion:
			c.Installed, c.Status = it.version, TemplateNewer
		default:
			c.Installed, c.Status = it.version, TemplateOK
			want := spec.body["template"].(map[string]any)["mappings"].(map[string]any)
			if c.MappingDrift, err = mappingDrift(want, it.mappings); err != nil {
				return nil, err
			}
			if len(c.MappingDrift) > 0 {
				c.Status = TemplateDrift
			}
		}
		rep.Templates = append(rep.Templates, c)
	}
	return rep, nil
}

// Outcomes of TemplateInstall.
const (
	TemplateInstalled = "installed"  // was missing or older
	TemplateReplaced  = "replaced"   // was the same version; force replaced it
	TemplateUpToDate  = "up to date" // the same version; left alone
	TemplateLeftNewer = "newer"      // a newer version; left alone
)

// TemplateInstall is what InstallTemplates did to one template.
type TemplateInstall struct {
	Name     string
	Outcome  string // one of the outcome constants above
	Previous int64  // the version that was installed before (0: none)
}

// InstallTemplates installs every index template that is missing or older,
// as the exporter does at start, and puts the mapping of an installed one
// on its existing indices. With force it also replaces templates of the
// same version (repairing mapping drift); a newer version is never
// replaced. It stops at the first error.
func (o *Ops) InstallTemplates(ctx context.Context, force bool) ([]TemplateInstall, error) {
	var out []TemplateInstall
	for _, spec := range templateSpecs(o.prefix, o.deadLetter) {
		state, previous, err := ensureTemplate(ctx, o.es, spec, force)
		if err != nil {
			return out, err
		}
		ti := TemplateInstall{Name: spec.name, Previous: previous}
		switch {
		case state == templateNewer:
			ti.Outcome = TemplateLeftNewer
		case state == templateUpToDate:
			ti.Outcome = TemplateUpToDate
		case previous == templateVersion:
			ti.Outcome = TemplateReplaced
		default:
			ti.Outcome = TemplateInstalled
		}
		out = append(out, ti)
	}
	return out, nil
}

// mappingDrift compares two mappings field by field (dotted names; "."
// for the root's own keys such as dynamic) and describes every difference.
func mappingDrift(want, got map[string]any) ([]string, error) {
	raw, err := json.Marshal(want)
	if err != nil {
		return nil, err
	}
	var wantJSON map[string]any // the types a decoded answer has
	if err := json.Unmarshal(raw, &wantJSON); err != nil {
		return nil, err
	}
	w, g := flattenMapping(wantJSON), flattenMapping(got)
	var drift []string
	for field, wv := range w {
		if gv, ok := g[field]; !ok {
			drift = append(drift, fmt.Sprintf("%s: expected %s, installed none", field, wv))
		} else if gv != wv {
			drift = append(drift, fmt.Sprintf("%s: expected %s, installed %s", field, wv, gv))
		}
	}
	for field, gv := range g {
		if _, ok := w[field]; !ok {
			drift = append(drift, fmt.Sprintf("%s: expected none, installed %s", field, gv))
		}
	}
	sort.Strings(drift)
	return drift, nil
}

// flattenMapping maps every field of a mapping to the JSON of its own
// mapping (an object field: to its keys other than properties, if any).
func flattenMapping(m map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(path string, node map[string]any)
	walk = func(path string, node map[string]any) {
		own := map[string]any{}
		for k, v := range node {
			if k != "properties" {
				own[k] = v
			}
		}
		if len(own) > 0 {
			raw, _ := json.Marshal(own) // sorted keys: comparable text
			out[path] = string(raw)
		}
		props, _ := node["properties"].(map[string]any)
		for name, v := range props {
			child, _ := v.(map[string]any)
			p := name
			if path != "." {
				p = path + "." + name
			}
			walk(p, child)
		}
	}
	walk(".", m)
	return out
}
