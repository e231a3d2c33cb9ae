package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/webjourney/webjourney/internal/sitelist"
)

// defaultMatomoPaths are where Matomo's trackers send: matomo.php, and
// piwik.php for trackers set up before the rename.
var defaultMatomoPaths = []string{"/matomo.php", "/piwik.php"}

// MatomoConfig serves Matomo's HTTP Tracking API, so that a site keeps its
// Matomo tracker and points its tracker URL at the collector.
type MatomoConfig struct {
	// Enabled serves Paths; at least one site must list its Matomo site ids.
	Enabled bool `mapstructure:"enabled"`
	// Paths are the tracking endpoints (each answers GET and POST, single
	// and bulk requests).
	Paths []string `mapstructure:"paths"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SiteMatomoConfig maps Matomo's numeric site ids to the site.
type SiteMatomoConfig struct {
	// SiteIDs are the site's ids in Matomo (the tracker's setSiteId, the
	// idsite parameter).
	SiteIDs []int `mapstructure:"site_ids"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// validateMatomo checks protocols::matomo and the sites' Matomo blocks.
func (cfg *Config) validateMatomo() error {
	p := &cfg.Protocols.Matomo
	var errs []error
	if p.Enabled && len(p.Paths) == 0 {
		errs = append(errs, errors.New(`protocols::matomo::paths: empty; list at least one path, e.g. ["/matomo.php"]`))
	}
	for i, path := range p.Paths {
		if err := validatePath(fmt.Sprintf("protocols::matomo::paths::%d", i), path); err != nil {
			errs = append(errs, err)
		}
	}
	owner := map[int]int{}
	for i := range cfg.Sites {
		key := sitelist.ElementKey(i) + "::protocols::matomo::site_ids"
		ids := cfg.Sites[i].Protocols.Matomo.SiteIDs
		if len(ids) > 0 && !p.Enabled && !cfg.Sites[i].Import.accepts() {
			errs = append(errs, fmt.Errorf("%s: set, but protocols::matomo::enabled is false; enable the protocol, give the site an import key (the site ids then serve its imports of matomo hits only) or remove the site ids", key))
			continue
		}
		for j, id := range ids {
			k := fmt.Sprintf("%s::%d", key, j)
			if id < 1 {
				errs = append(errs, fmt.Errorf("%s: %d must be a Matomo site id, a whole number from 1", k, id))
				continue
			}
			if first, dup := owner[id]; dup {
				errs = append(errs, fmt.Errorf("%s: %d is already listed by %s; a Matomo site id reports to one site", k, id, sitelist.ElementKey(first)))
				continue
			}
			owner[id] = i
		}
	}
	if p.Enabled && len(owner) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("protocols::matomo::enabled: no site lists its Matomo site ids; add sites::N::protocols::matomo::site_ids (e.g. [1]) to the site that receives them"))
	}
	return errors.Join(errs...)
}

// matomoPaths are the Matomo endpoints for the distinct-path check.
func (cfg *Config) matomoPaths() []struct{ key, path string } {
	if !cfg.Protocols.Matomo.Enabled {
		return nil
	}
	out := make([]struct{ key, path string }, len(cfg.Protocols.Matomo.Paths))
	for i, p := range cfg.Protocols.Matomo.Paths {
		out[i] = struct{ key, path string }{fmt.Sprintf("protocols::matomo::paths::%d", i), p}
	}
	return out
}

// matomoSiteIDs maps each configured Matomo idsite, as the decimal the
// tracker sends, to its site id.
func matomoSiteIDs(cfg *Config) map[string]string {
	m := map[string]string{}
	for i := range cfg.Sites {
		for _, id := range cfg.Sites[i].Protocols.Matomo.SiteIDs {
			m[strconv.Itoa(id)] = cfg.Sites[i].ID
		}
	}
	return m
}

// isMatomoPath reports whether path is one of the enabled Matomo endpoints.
func (r *pixelReceiver) isMatomoPath(path string) bool {
	if !r.cfg.Protocols.Matomo.Enabled {
		return false
	}
	for _, p := range r.cfg.Protocols.Matomo.Paths {
		if p == path {
			return true
		}
	}
	return false
}
