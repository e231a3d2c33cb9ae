package kibana

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What Kibana does with an imported object's versions, read from the public
// Kibana source (github.com/elastic/kibana; commits are those of the file
// versions read, see README.md "Kibana versions" for the release evidence):
//
//   - The import API creates objects with bulkCreate, which migrates each
//     input document without allowing a downgrade and only then validates its
//     attributes against the type's schema for the migrated version
//     (src/core/packages/saved-objects/api-server-internal/src/lib/apis/bulk_create.ts
//     @ 0703cc83e8d8e6d265fc6262e964986c61798655; MigrationHelper.migrateInputDocument
//     uses allowDowngrade: false).
//   - A typeMigrationVersion above the type's latest version (the highest of
//     its legacy migration keys, model versions and convertToMultiNamespaceTypeVersion)
//     is refused: "Document ... belongs to a more recent version of Kibana"
//     (src/core/packages/saved-objects/migration-server-internal/src/document_migrator/pipelines/upgrade_pipeline.ts
//     @ 2c42016152d6f01864b59139f8571249d5d9e12c, assertCompatibility; latest
//     versions from build_active_migrations.ts @ 023dbe9a5732a251d589a468e6e35f1802afa8b7).
//     A lower one runs every transform above it.
//   - Model version N is the virtual version "10.N.0"
//     (src/core/packages/saved-objects/base-server-internal/src/model_version/constants.ts
//     @ 9e98c9d426b3d3e6f4e1bdeea72275c9d1b94cca: modelVersionVirtualMajor = 10;
//     legacy migrations stop at globalSwitchToModelVersionAt = 8.10.0).
//   - coreMigrationVersion must be semver and not above the Kibana version
//     (pipelines/utils.ts @ 67d5824274397ce1be653fa57b71bcf4ff7d37d0,
//     assertValidCoreVersion); the only core transform is 8.8.0, which moves
//     migrationVersion to typeMigrationVersion and defaults managed to false
//     (document_migrator/migrations/index.ts @ 82ab9ad284d33380a6f7467ef6dc13eab661c4ae).

// lastCoreMigration is the only (and so the last) core transform version.
const lastCoreMigration = "8.8.0"

// typeVersions is what Kibana 8.19 and the newest 9.x in the source snapshot
// know of one saved-object type.
type typeVersions struct {
	// known819 is the highest version established from public sources to
	// be registered in 8.19 (8.19 may know a higher one); newest9 the latest
	// version in the newest 9.x source read.
	known819, newest9 string
	// steps are versions at which both register a transform, from the last
	// legacy migration on: only such versions were ever written by a Kibana,
	// so only they are emitted.
	steps []string
	// createKeys are the attributes the type's create schema for the version
	// 8.19 validates our objects against accepts (config-schema objects
	// forbid unknown keys), with the JSON kind each must have. Nil when the
	// type registers no schema.
	createKeys map[string]string
}

var kibanaTypeVersions = map[string]typeVersions{
	// src/platform/plugins/shared/data_views/server/saved_objects/data_views.ts
	// @ 385d45e489dcf52d33373d97597e6d331f7154cb: no modelVersions, no schemas,
	// convertToMultiNamespaceTypeVersion 8.0.0; index_pattern_migrations.ts
	// @ 437def57ef40330062e2aac9e390313a077cb5cb: 6.5.0, 7.6.0, 7.11.0.
	"index-pattern": {known819: "8.0.0", newest9: "8.0.0", steps: []string{"7.11.0", "8.0.0"}},

	// src/platform/plugins/shared/saved_search/server/saved_objects/search.ts
	// @ 01a60f27774ae611d9cca9877140546d6f273dd1 (model versions 1-6) and
	// schema_legacy.ts @ 37a128080786e7cb2ce939845bb7ed52e4fb2c87 (1-12),
	// schema.ts @ 0761edb99bf9dacc5fdc0b2f9ba100036aafba8d (13-15; 13 moves
	// the legacy attributes into tabs[0] and removes them),
	// model_versions.ts @ b9fdcaa4a7e6f512c777d1010c6385ee6eef57ef. Version 6
	// (tabs backfill) came with elastic/kibana#228115 (2025-07-15, after 8.19
	// branched; Discover tabs are 9.2), so 8.19's latest is 10.5.0, which
	// 8.x exports of January 2025 already carry.
	"search": {known819: "10.5.0", newest9: "10.15.0",
		steps: []string{"10.1.0", "10.2.0", "10.3.0", "10.4.0", "10.5.0"},
		// SCHEMA_SEARCH_MODEL_VERSION_5 (schema_legacy.ts above).
		createKeys: map[string]string{
			"title": "string", "description": "string", "columns": "array", "sort": "array", "grid": "object",
			"rowHeight": "number", "rowsPerPage": "number", "hideChart": "bool", "breakdownField": "string",
			"kibanaSavedObjectMeta": "object", "isTextBasedQuery": "bool", "usesAdHocDataView": "bool",
			"timeRestore": "bool", "timeRange": "object", "refreshInterval": "object", "viewMode": "string",
			"hideAggregatedPreview": "bool", "hits": "number", "version": "number", "sampleSize": "number",
			"headerRowHeight": "number", "visContext": "object", "density": "string",
		}},

	// src/platform/plugins/shared/visualizations/server/saved_objects/visualization.ts
	// @ 385d45e489dcf52d33373d97597e6d331f7154cb: no modelVersions, schema
	// '8.8.0'; migrations/visualization_saved_object_migrations.ts
	// @ 328b3b5eaa3de0fbcffbf0eb32df686363b03879: last key 8.5.0. Legacy
	// types validate against the schema at or below the Kibana version, so
	// the 8.8.0 schema applies in 8.19 and 9.x.
	"visualization": {known819: "8.5.0", newest9: "8.5.0", steps: []string{"8.5.0"},
		createKeys: map[string]string{
			"title": "string", "description": "string", "version": "number", "kibanaSavedObjectMeta": "object",
			"uiStateJSON": "string", "visState": "string", "savedSearchRefName": "string",
		}},

	// src/platform/plugins/shared/dashboard/server/dashboard_saved_object/dashboard_saved_object.ts
	// @ 04698d03a6525795ce34443b20a85a3dda762d17: model versions 1-4, each
	// a mappings addition (2: controlGroupInput.showApplySelections, 3:
	// sections, 4: accessControl). Version 2 came with elastic/kibana#174714
	// (March 2024, 8.14); 3 with #222450 (collapsible sections, documented
	// for 8.19 and 9.1), not relied on here.
	"dashboard": {known819: "10.2.0", newest9: "10.4.0", steps: []string{"10.1.0", "10.2.0"},
		// schema/v1/v1.ts @ 3c37204bef8a077edf1758caa45474499c2941c7 (unknowns
		// forbidden); v2 (353fb1c25fbd734f5c95b9202fba27613b26a99c), v3
		// (1b722a55d94f32116be2e4a15137ade5a918ecbd) and v4
		// (0e8fb9e753d1b3b7d98dceb6aa692270d706ab38) only add keys.
		createKeys: map[string]string{
			"title": "string", "description": "string", "kibanaSavedObjectMeta": "object", "timeRestore": "bool",
			"timeFrom": "string", "timeTo": "string", "refreshInterval": "object", "controlGroupInput": "object",
			"panelsJSON": "string", "optionsJSON": "string", "hits": "number", "version": "number",
		}},
}

// parseVersion reads a major.minor.patch version.
func parseVersion(t *testing.T, v string) [3]int {
	t.Helper()
	parts := strings.Split(v, ".")
	require.Len(t, parts, 3, "version %q is not major.minor.patch", v)
	var out [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		require.NoError(t, err, "version %q", v)
		out[i] = n
	}
	return out
}

func versionAtMost(t *testing.T, v, limit string) bool {
	a, b := parseVersion(t, v), parseVersion(t, limit)
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return true
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// TestKibanaAcceptsVersions checks every object against the table: Kibana
// 8.19 and the newest 9.x know its type and version (so neither refuses it
// as newer), the version is one a Kibana export carries, and its attributes
// fit the create schema 8.19 validates it with after migrating.
func TestKibanaAcceptsVersions(t *testing.T) {
	for typ, kv := range kibanaTypeVersions {
		for _, s := range kv.steps {
			assert.True(t, versionAtMost(t, s, kv.known819) && versionAtMost(t, s, kv.newest9),
				"%s: step %s is above what 8.19 or 9.x knows", typ, s)
		}
	}
	for _, o := range readFile(t) {
		key := o.Type + "/" + o.ID
		kv, ok := kibanaTypeVersions[o.Type]
		if !assert.True(t, ok, "%s: type unknown to the version table", key) {
			continue
		}
		assert.Equal(t, lastCoreMigration, o.CoreMigrationVersion, key)
		assert.True(t, versionAtMost(t, o.CoreMigrationVersion, "8.19.0"), "%s: coreMigrationVersion above 8.19", key)
		assert.False(t, o.Managed, "%s: imported objects are the user's to edit", key)
		v := o.TypeMigrationVersion
		assert.Contains(t, kv.steps, v, "%s: typeMigrationVersion is no migration step both 8.19 and 9.x register", key)
		assert.True(t, versionAtMost(t, v, kv.known819), "%s: %s is newer than 8.19's %s", key, v, kv.known819)
		assert.True(t, versionAtMost(t, v, kv.newest9), "%s: %s is newer than 9.x's %s", key, v, kv.newest9)
		if kv.createKeys == nil {
			continue
		}
		for k, val := range o.Attributes {
			want, ok := kv.createKeys[k]
			if assert.True(t, ok, "%s: attribute %q is not in the type's create schema", key, k) {
				assert.Equal(t, want, jsonKind(val), "%s: attribute %q", key, k)
			}
		}
	}
}

// TestLensByValueStateVersion: by-value Lens attributes carry no item
// `version`. Kibana 8.19 has none (the lens type gained the `version`
// mapping and model version 1 with elastic/kibana#229534, September 2025, 9.2,
// x-pack/platform/plugins/shared/lens/server/saved_objects.ts
// @ 0a99e16cd1833e40f0dc9013d2343444364f3936), and 9.x upgrades attributes
// from `version ?? 0` through every Lens item version on read
// (x-pack/platform/plugins/shared/lens/common/content_management/upgrade.ts
// @ 1609a14012f4bcd19bcbbc94deebd4c26ec2b9bf). The state is the 8.9.0
// shape (the last legacy Lens migration, migrations/saved_object_migrations.ts
// @ 3ab0fa13492bec220f9614e6bfcabb96301b591e): datasource `formBased`
// (renamed from `indexpattern` at 8.6.0). No legacy migration runs on it at
// import (the dashboards are at a model version) nor in the browser: since
// late 2024, before 8.19 (elastic/kibana#186642), Lens is a React
// embeddable, for which the dashboard runs no client-side factory
// migrations.
func TestLensByValueStateVersion(t *testing.T) {
	for _, o := range readFile(t) {
		if o.Type != "dashboard" {
			continue
		}
		var panels []map[string]any
		parseJSONAttr(t, o.Attributes["panelsJSON"].(string), o.ID, &panels)
		for _, p := range panels {
			if p["type"] != "lens" {
				continue
			}
			where := o.ID + " panel " + p["panelIndex"].(string)
			attrs := p["embeddableConfig"].(map[string]any)["attributes"].(map[string]any)
			assert.NotContains(t, attrs, "version", "%s: 8.19 knows no Lens item version; 9.x upgrades from 0", where)
			ds := attrs["state"].(map[string]any)["datasourceStates"].(map[string]any)
			assert.NotContains(t, ds, "indexpattern", "%s: pre-8.6 datasource key", where)
		}
	}
}
