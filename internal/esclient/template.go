package esclient

// systemManagedTemplateKeys are the keys Elasticsearch 9.x adds to every
// composable index template it returns (the dates with ?human, the
// milliseconds always) and refuses in a PUT ("provided a template property
// which is managed by the system"). 8.x adds none of them.
var systemManagedTemplateKeys = []string{"created_date", "created_date_millis", "modified_date", "modified_date_millis"}

// WithoutSystemManaged returns a copy of tpl, an index_template object as
// GET _index_template returns it, without the keys Elasticsearch manages
// itself, so that it compares with what was PUT and can be PUT back. The
// exporter's own template checks read only a template's version and
// mapping and never write a read template back; tools and tests that copy
// or edit an installed template need this.
func WithoutSystemManaged(tpl map[string]any) map[string]any {
	out := make(map[string]any, len(tpl))
	for k, v := range tpl {
		out[k] = v
	}
	for _, k := range systemManagedTemplateKeys {
		delete(out, k)
	}
	return out
}
