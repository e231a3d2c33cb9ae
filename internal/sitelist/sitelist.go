// Package sitelist is the one shape of per-site settings in every
// component's configuration: a list under the key sites whose elements name
// their site with id,
//
//	sites:
//	  - id: shop
//	    time_zone: Pacific/Auckland
//
// A list rather than a map keyed by site id because the collector expands
// ${env:...} references in values but not in keys, and a deployment takes
// its site id from the environment (config/default.yaml: WEBJOURNEY_SITE).
// Errors about a site are keyed the way confmap prints paths
// (sites::0::time_zone) and name the site after the message.
package sitelist // import "github.com/webjourney/webjourney/internal/sitelist"

import (
	"errors"
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/confmap"
)

// Key is the configuration key of the list.
const Key = "sites"

// RefuseMap returns an error when conf holds sites as a map keyed by site
// id, the shape before 0.2, saying how to write it now; nil otherwise. The
// collector's own error for it would only say that a list was expected.
func RefuseMap(conf *confmap.Conf) error {
	m, ok := conf.Get(Key).(map[string]any)
	if !ok {
		return nil
	}
	example := "shop"
	if len(m) > 0 {
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		example = slices.Min(ids)
	}
	return fmt.Errorf("%s: a list of sites with an id since 0.2, not a map keyed by site id; write \"- id: %s\" followed by the keys of the site, one list element per site (as the pixel receiver's sites)", Key, example)
}

// ElementKey is the key of the i-th site: sites::<i>.
func ElementKey(i int) string { return fmt.Sprintf("%s::%d", Key, i) }

// CheckIDs checks the ids of the listed sites, in list order: each must be
// valid, and listed once. valid is the component's rule for an id (its
// error says what is wrong with the id); nil only refuses an empty id.
// The i-th result is true when the i-th id is sound, so that a caller can
// leave the settings of a site it cannot name unchecked.
func CheckIDs(ids []string, valid func(id string) error) (ok []bool, errs []error) {
	if valid == nil {
		valid = nonEmpty
	}
	ok = make([]bool, len(ids))
	first := make(map[string]int, len(ids))
	for i, id := range ids {
		if err := valid(id); err != nil {
			errs = append(errs, fmt.Errorf("%s::id: %w", ElementKey(i), err))
			continue
		}
		if j, dup := first[id]; dup {
			errs = append(errs, fmt.Errorf("%s::id: duplicate %q (also %s::id); list each site once", ElementKey(i), id, ElementKey(j)))
			continue
		}
		first[id] = i
		ok[i] = true
	}
	return ok, errs
}

func nonEmpty(id string) error {
	if id == "" {
		return errors.New("must not be empty; it is the webjourney.site.id of the site's events")
	}
	return nil
}

// Errors puts the errors in err, whose messages start with a key relative
// to the site ("time_zone: ..."), under the i-th site's key and names the
// site: `sites::2::time_zone: ... (site "nz")`.
func Errors(i int, id string, err error) []error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range unjoin(err) {
		out = append(out, fmt.Errorf("%s::%w (site %q)", ElementKey(i), e, id))
	}
	return out
}

// unjoin flattens errors.Join trees, so that each error gets its own key.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
