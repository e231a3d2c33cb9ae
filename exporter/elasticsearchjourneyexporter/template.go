package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// templateVersion is the version of every index template the exporter
// installs. Bump it whenever a template changes (a new mapped field, a
// setting): the exporter replaces an installed template only when its
// version is lower. Version 4 added the entity and dead-letter templates and
// the journey names, version 5 the visit's second page.
const templateVersion = 5

// TemplateVersion is the version of the index templates this build
// installs (what `webjourneyctl templates check` expects).
const TemplateVersion = templateVersion

// templatePriority ranks our templates above the built-in templates of a
// full Elasticsearch distribution (priority 100, e.g. logs-*-*), so a prefix
// such as "logs" still gets this mapping.
const templatePriority = 200

// Document fields the exporter writes itself. They are Elasticsearch/ECS
// document fields, not event-model attribute names.
const (
	fieldTimestamp = "@timestamp"     // event time (LogRecord Timestamp)
	fieldIngested  = "event.ingested" // receive time (LogRecord ObservedTimestamp)
	fieldEventName = "event.name"     // LogRecord EventName
)

// Mapping snippets. ignore_above keeps an over-long string in _source but
// out of the index, so it never fails a document (Lucene refuses terms over
// 32766 bytes) and never bloats the terms dictionary.
var (
	mapKeyword     = map[string]any{"type": "keyword", "ignore_above": 1024}
	mapLongKeyword = map[string]any{"type": "keyword", "ignore_above": 2048} // URLs
	mapInteger     = map[string]any{"type": "integer"}
	mapLong        = map[string]any{"type": "long"}
	mapBoolean     = map[string]any{"type": "boolean"}
	mapIP          = map[string]any{"type": "ip"}
	mapDate        = map[string]any{"type": "date"}
	mapDouble      = map[string]any{"type": "double"}
	// Searchable title plus an exact keyword for terms aggregations.
	mapTitle = map[string]any{
		"type":   "text",
		"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 1024}},
	}
	// flattened maps all custom properties as one field, whatever their
	// keys: a site cannot blow up the mapping with its property names.
	mapFlattened = map[string]any{"type": "flattened", "ignore_above": 1024}
)

// eventFields is the one table of mapped fields, keyed by dotted field name,
// shared by the events and the entity indices: entity records carry event
// names too (site, visitor, device, country, channel), and one table keeps
// a name's type the same in every index a Kibana view joins. Adding an
// event-model attribute is one line here (a test fails until every
// eventmodel.AttributeNames entry has one, or is in neverStored) plus a bump
// of templateVersion.
var eventFields = map[string]map[string]any{
	fieldTimestamp: mapDate,
	fieldIngested:  mapDate,
	fieldEventName: mapKeyword,

	eventmodel.AttrEventID: mapKeyword,

	eventmodel.AttrURLFull:     mapLongKeyword,
	eventmodel.AttrURLScheme:   mapKeyword,
	eventmodel.AttrURLDomain:   mapKeyword,
	eventmodel.AttrURLPort:     mapInteger,
	eventmodel.AttrURLPath:     mapLongKeyword,
	eventmodel.AttrURLQuery:    mapLongKeyword,
	eventmodel.AttrURLFragment: mapLongKeyword,

	eventmodel.AttrUserAgent:     mapKeyword,
	eventmodel.AttrClientAddress: mapIP,
	eventmodel.AttrSessionID:     mapKeyword,

	eventmodel.AttrSchemaVersion:  mapInteger,
	eventmodel.AttrSiteID:         mapKeyword,
	eventmodel.AttrVisitorID:      mapKeyword,
	eventmodel.AttrPageTitle:      mapTitle,
	eventmodel.AttrReferrerFull:   mapLongKeyword,
	eventmodel.AttrReferrerDomain: mapKeyword,
	eventmodel.AttrCustomName:     mapKeyword,
	eventmodel.AttrProperties:     mapFlattened,
	eventmodel.AttrIngestChannel:  mapKeyword,

	eventmodel.AttrUserID:     mapKeyword,
	eventmodel.AttrGeoCountry: mapKeyword,
	eventmodel.AttrGeoRegion:  mapKeyword,

	eventmodel.AttrPageViewID:     mapKeyword,
	eventmodel.AttrEngagedTime:    mapLong,
	eventmodel.AttrScrollDepth:    mapInteger,
	eventmodel.AttrLinkURL:        mapLongKeyword,
	eventmodel.AttrLinkDomain:     mapKeyword,
	eventmodel.AttrFormID:         mapKeyword,
	eventmodel.AttrFormName:       mapKeyword,
	eventmodel.AttrFormAction:     mapLongKeyword,
	eventmodel.AttrFormFieldCount: mapInteger,
	eventmodel.AttrFormSensitive:  mapBoolean,
	eventmodel.AttrSearchTerm:     mapKeyword,

	eventmodel.AttrCampaignSource:  mapKeyword,
	eventmodel.AttrCampaignMedium:  mapKeyword,
	eventmodel.AttrCampaignName:    mapKeyword,
	eventmodel.AttrCampaignTerm:    mapKeyword,
	eventmodel.AttrCampaignContent: mapKeyword,
	eventmodel.AttrCampaignID:      mapKeyword,
	eventmodel.AttrClickIDType:     mapKeyword,
	eventmodel.AttrClickIDValue:    mapKeyword,
	eventmodel.AttrReferralPartner: mapKeyword,
	eventmodel.AttrReferralClickID: mapKeyword,

	eventmodel.AttrConsentAnalytics:       mapKeyword,
	eventmodel.AttrConsentMarketing:       mapKeyword,
	eventmodel.AttrConsentPersonalization: mapKeyword,
	eventmodel.AttrCookieless:             mapBoolean,
	eventmodel.AttrGPC:                    mapBoolean,
	eventmodel.AttrDNT:                    mapBoolean,
	eventmodel.AttrTCFGDPRApplies:         mapBoolean,
	eventmodel.AttrTCFString:              mapLongKeyword,
	eventmodel.AttrUserAgentName:          mapKeyword,
	eventmodel.AttrUserAgentVersion:       mapKeyword,
	eventmodel.AttrUserAgentOSName:        mapKeyword,
	eventmodel.AttrUserAgentOSVersion:     mapKeyword,
	eventmodel.AttrCookielessKey:          mapKeyword,
	eventmodel.AttrCookielessKeyPrevious:  mapKeyword,
	eventmodel.AttrDeviceClass:            mapKeyword,
	eventmodel.AttrConsentDecision:        mapKeyword,
	eventmodel.AttrConsentReason:          mapKeyword,
	eventmodel.AttrConsentSource:          mapKeyword,
	eventmodel.AttrRetentionMonths:        mapInteger,
	eventmodel.AttrErasureSubject:         mapKeyword,
	eventmodel.AttrErasureDeleted:         mapLong,
	eventmodel.AttrBot:                    mapBoolean,
	eventmodel.AttrBotReason:              mapKeyword,

	// Journey names (attribution processor): on events and entity records.
	eventmodel.AttrEntityID:          mapKeyword,
	eventmodel.AttrEntityVersion:     mapLong, // may be a Unix-nanosecond time
	eventmodel.AttrVisitID:           mapKeyword,
	eventmodel.AttrChannelMedium:     mapKeyword,
	eventmodel.AttrChannelSource:     mapKeyword,
	eventmodel.AttrChannelCampaign:   mapKeyword,
	eventmodel.AttrChannelPartner:    mapKeyword,
	eventmodel.AttrChannelSearchTerm: mapKeyword,

	eventmodel.AttrVisitStart:        mapDate,
	eventmodel.AttrVisitLastActivity: mapDate,
	eventmodel.AttrVisitIdleAt:       mapDate,
	eventmodel.AttrVisitDuration:     mapLong,
	eventmodel.AttrVisitPagesViewed:  mapInteger,
	eventmodel.AttrVisitEngagedTime:  mapLong,
	eventmodel.AttrVisitLandingPage:  mapLongKeyword,
	eventmodel.AttrVisitSecondPage:   mapLongKeyword,
	eventmodel.AttrVisitExitPage:     mapLongKeyword,
	eventmodel.AttrVisitBounce:       mapBoolean,
	eventmodel.AttrVisitNumber:       mapInteger,
	eventmodel.AttrVisitOutcomes:     mapKeyword, // arrays need no mapping of their own
	eventmodel.AttrVisitSegments:     mapKeyword,

	eventmodel.AttrVisitorFirstSeen:      mapDate,
	eventmodel.AttrVisitorLastSeen:       mapDate,
	eventmodel.AttrVisitorVisitCount:     mapInteger,
	eventmodel.AttrVisitorReturning:      mapBoolean,
	eventmodel.AttrVisitorFirstMedium:    mapKeyword,
	eventmodel.AttrVisitorFirstSource:    mapKeyword,
	eventmodel.AttrVisitorFirstCampaign:  mapKeyword,
	eventmodel.AttrVisitorLastNDMedium:   mapKeyword,
	eventmodel.AttrVisitorLastNDSource:   mapKeyword,
	eventmodel.AttrVisitorLastNDCampaign: mapKeyword,
	eventmodel.AttrVisitorPartner:        mapKeyword,
	eventmodel.AttrVisitorOutcomes:       mapKeyword,
	eventmodel.AttrVisitorSegments:       mapKeyword,

	eventmodel.AttrOutcomeName:            mapKeyword, // an array on events, one value on credits
	eventmodel.AttrOutcomeValue:           mapDouble,
	eventmodel.AttrOutcomeCurrency:        mapKeyword,
	eventmodel.AttrOutcomeEventID:         mapKeyword,
	eventmodel.AttrOutcomeVisitID:         mapKeyword,
	eventmodel.AttrOutcomeTimeToConvert:   mapLong,
	eventmodel.AttrOutcomeVisitsToConvert: mapInteger,

	eventmodel.AttrAttributionModel:      mapKeyword,
	eventmodel.AttrAttributionCredit:     mapDouble,
	eventmodel.AttrAttributionValue:      mapDouble,
	eventmodel.AttrAttributionTouchIndex: mapInteger,
	eventmodel.AttrAttributionTouchCount: mapInteger,
	eventmodel.AttrAttributionTouchTime:  mapDate,
}

// neverStored lists event-model attributes that no document may hold; the
// encoder leaves them out of every document. The routing key exists only
// for a front collector's load balancer, and names the visitor or, worse,
// the client address in clear.
var neverStored = map[string]bool{
	eventmodel.AttrRoutingKey: true,
}

// eventsTemplateName is the name of the events index template.
func eventsTemplateName(prefix string) string { return prefix + "-events" }

// eventsTemplate returns the body of PUT _index_template/<prefix>-events.
func eventsTemplate(prefix string) map[string]any {
	return indexTemplate([]string{prefix + "-events-*"}, "events", eventsMapping())
}

// entityTemplate returns the body of PUT _index_template/<prefix>-visits
// (and -visitors, -credits): one entity index, the same field table.
func entityTemplate(prefix string, f family) map[string]any {
	return indexTemplate([]string{f.index(prefix)}, f.name(), eventsMapping())
}

// indexTemplate is the body of one of our composable index templates.
func indexTemplate(patterns []string, family string, mapping map[string]any) map[string]any {
	return map[string]any{
		"index_patterns": patterns,
		"priority":       templatePriority,
		"version":        templateVersion,
		"_meta": map[string]any{
			"managed_by":          "webjourney",
			"family":              family,
			"event_model_version": eventmodel.SchemaVersion,
		},
		"template": map[string]any{
			"settings": map[string]any{
				"index": map[string]any{
					// A month of one site's events, or all of its visits,
					// is small; one shard keeps the shard count low. A
					// large site raises it in the template (keeping the
					// version, so the exporter leaves the edit alone).
					"number_of_shards": 1,
					// Green on a single node, one replica as soon as a
					// second node joins.
					"auto_expand_replicas": "0-1",
				},
			},
			"mappings": mapping,
		},
	}
}

// eventsMapping is the mapping of the events and entity indices.
func eventsMapping() map[string]any { return expandMapping(eventFields) }

// expandMapping expands dotted field names into the object structure
// Elasticsearch stores ("url.full" -> url.properties.full). dynamic:false at
// the root (inherited by every object) keeps an unknown attribute in _source
// without ever mapping it: no mapping explosion and no document rejected
// because a new name guessed the wrong type.
func expandMapping(fields map[string]map[string]any) map[string]any {
	root := map[string]any{}
	for name, m := range fields {
		props := root
		parts := strings.Split(name, ".")
		for _, p := range parts[:len(parts)-1] {
			obj, ok := props[p].(map[string]any)
			if !ok {
				obj = map[string]any{"properties": map[string]any{}}
				props[p] = obj
			}
			props = obj["properties"].(map[string]any)
		}
		props[parts[len(parts)-1]] = m
	}
	return map[string]any{"dynamic": false, "properties": root}
}

// fieldShape classifies document field names against the mapping, so the
// encoder can leave out attributes that Elasticsearch would refuse because of
// their name alone (see attributeConflicts).
type fieldShape struct {
	leaves  map[string]bool // mapped field -> true when it takes sub-keys (flattened)
	objects map[string]bool // object paths: "url", "webjourney", "webjourney.page", ...
}

func newFieldShape() *fieldShape {
	s := &fieldShape{leaves: map[string]bool{}, objects: map[string]bool{}}
	for name, m := range eventFields {
		s.leaves[name] = m["type"] == "flattened"
		for i := range len(name) {
			if name[i] == '.' {
				s.objects[name[:i]] = true
			}
		}
	}
	return s
}

// attributeConflicts reports whether a top-level attribute name cannot be
// stored: it is one of the neverStored names (never mapped, so checked off
// the common path), it names one of our own document fields (they are
// written from the LogRecord and must not appear twice), it is a mapped
// object ("url" holding a string), it nests under a mapped value
// ("url.full.x"), or Elasticsearch refuses it as a field name (empty,
// leading '.' or '_', "..", blank). Any but the first would fail the whole
// document.
func (s *fieldShape) attributeConflicts(name string) bool {
	if _, ok := s.leaves[name]; ok {
		// The common case: an event-model attribute.
		return name == fieldTimestamp || name == fieldIngested || name == fieldEventName
	}
	if neverStored[name] || name == "" || name[0] == '.' || name[0] == '_' || strings.Contains(name, "..") || strings.TrimSpace(name) == "" {
		return true
	}
	if s.objects[name] {
		return true
	}
	for i := range len(name) {
		if name[i] == '.' {
			if takesSubKeys, ok := s.leaves[name[:i]]; ok && !takesSubKeys {
				return true
			}
		}
	}
	return false
}

// templateState is what ensureTemplate found and did.
type templateState int

const (
	templateUpToDate  templateState = iota // installed version equals ours
	templateInstalled                      // we PUT it (missing or older)
	templateNewer                          // a newer version is installed; left alone
)

// indexTemplateSpec is one index template the exporter owns.
type indexTemplateSpec struct {
	name string
	body map[string]any
}

// ensureTemplate installs one template unless the same (with force: a
// newer) version is already there. PUT _index_template is idempotent; the GET first avoids
// needless cluster-state updates at every collector start and keeps a newer
// collector's template from being downgraded by an older one.
//
// A template reaches only indices created after it, and the entity and
// dead-letter indices are created once and live for ever (this month's
// event index for a month). So after installing a newer version it also
// adds the template's mapping to the existing indices it matches: new
// fields are additive; a changed type is refused by Elasticsearch and
// returned as an error.
func ensureTemplate(ctx context.Context, es *elasticsearch.Client, spec indexTemplateSpec, force bool) (templateState, int64, error) {
	installed, found, err := installedTemplateVersion(ctx, es, spec.name)
	if err != nil {
		return 0, 0, err
	}
	if found && installed == templateVersion && !force {
		return templateUpToDate, installed, nil
	}
	if found && installed > templateVersion {
		return templateNewer, installed, nil
	}
	body, err := json.Marshal(spec.body)
	if err != nil {
		return 0, 0, err
	}
	res, err := es.Indices.PutIndexTemplate(spec.name, bytes.NewReader(body), es.Indices.PutIndexTemplate.WithContext(ctx))
	if err != nil {
		return 0, 0, fmt.Errorf("put index template %s: %w", spec.name, err)
	}
	defer drainAndClose(res.Body)
	if res.IsError() {
		return 0, 0, fmt.Errorf("put index template %s: %s", spec.name, responseError(res.StatusCode, res.Body))
	}
	if err := updateExistingMappings(ctx, es, spec); err != nil {
		return 0, 0, err
	}
	return templateInstalled, installed, nil
}

// updateExistingMappings puts the template's mapping on the existing
// indices of its patterns (none is fine).
func updateExistingMappings(ctx context.Context, es *elasticsearch.Client, spec indexTemplateSpec) error {
	tpl := spec.body["template"].(map[string]any)
	body, err := json.Marshal(tpl["mappings"])
	if err != nil {
		return err
	}
	pm := es.Indices.PutMapping
	_, err = answer("updating the mapping of existing indices of template " + spec.name)(pm(
		spec.body["index_patterns"].([]string), bytes.NewReader(body), pm.WithContext(ctx),
		pm.WithAllowNoIndices(true), pm.WithIgnoreUnavailable(true), pm.WithExpandWildcards("open")))
	return err
}

// installedTemplateVersion returns the version of the installed template
// (0 when it has none) and whether it exists.
func installedTemplateVersion(ctx context.Context, es *elasticsearch.Client, name string) (int64, bool, error) {
	it, err := getInstalledTemplate(ctx, es, name)
	if it == nil || err != nil {
		return 0, false, err
	}
	return it.version, true, nil
}

// installedTemplate is what getInstalledTemplate reads of a template.
type installedTemplate struct {
	version  int64 // 0 when it has none
	mappings map[string]any
}

// getInstalledTemplate reads the installed template name; nil when there
// is none.
func getInstalledTemplate(ctx context.Context, es *elasticsearch.Client, name string) (*installedTemplate, error) {
	res, err := es.Indices.GetIndexTemplate(es.Indices.GetIndexTemplate.WithName(name), es.Indices.GetIndexTemplate.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("get index template %s: %w", name, err)
	}
	defer drainAndClose(res.Body)
	if res.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if res.IsError() {
		return nil, fmt.Errorf("get index template %s: %s", name, responseError(res.StatusCode, res.Body))
	}
	var got struct {
		IndexTemplates []struct {
			Name          string `json:"name"`
			IndexTemplate struct {
				Version  *int64 `json:"version"`
				Template struct {
					Mappings map[string]any `json:"mappings"`
				} `json:"template"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		return nil, fmt.Errorf("get index template %s: decoding the answer: %w", name, err)
	}
	for _, it := range got.IndexTemplates {
		if it.Name == name {
			t := &installedTemplate{mappings: it.IndexTemplate.Template.Mappings}
			if it.IndexTemplate.Version != nil {
				t.version = *it.IndexTemplate.Version
			}
			return t, nil
		}
	}
	return nil, nil
}

// responseError renders an Elasticsearch error answer as "<status> <type>:
// <reason>" without echoing anything else of the body.
func responseError(status int, body io.Reader) error {
	var e struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if body != nil {
		_ = json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&e)
	}
	if e.Error.Type == "" {
		return fmt.Errorf("HTTP %d", status)
	}
	return fmt.Errorf("HTTP %d %s: %s", status, e.Error.Type, e.Error.Reason)
}

func drainAndClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	_ = body.Close()
}

var errTemplateNotInstalled = errors.New("index template not installed yet")
