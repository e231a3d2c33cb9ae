package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/sitelist"
)

// Snowplow's conventional collector paths, as its trackers default to them.
const (
	defaultSnowplowPixelPath = "/i"
	defaultSnowplowPostPath  = "/com.snowplowanalytics.snowplow/tp2"
	// The JavaScript tracker's documented heartbeat example, and what
	// most sites copy: enableActivityTracking({heartbeatDelay: 10}).
	defaultSnowplowPagePing = 10 * time.Second
	// Snowplow's collector names its network_userid cookie sp.
	defaultSnowplowNetworkCookie = "sp"
)

// SnowplowConfig serves Snowplow's tracker protocol, so that a site keeps
// its Snowplow tracker and points its collector URL at this collector.
type SnowplowConfig struct {
	// Enabled serves PixelPath and PostPath; at least one site must list
	// its Snowplow app ids.
	Enabled bool `mapstructure:"enabled"`
	// PixelPath is where trackers send GET requests (and <img> pixels).
	PixelPath string `mapstructure:"pixel_path"`
	// PostPath is where trackers POST their batches (the tracker's postPath).
	PostPath string `mapstructure:"post_path"`
	// PagePingInterval is the tracker's heartbeatDelay: the engaged time
	// one page ping stands for (pings do not say it).
	PagePingInterval time.Duration `mapstructure:"page_ping_interval"`
	// NetworkCookie is the name of the first-party cookie that carries the
	// collector's network_userid, the visitor id of events without the
	// tracker's domain user id; "" sets no cookie.
	NetworkCookie string `mapstructure:"network_cookie"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SiteSnowplowConfig maps Snowplow app ids to the site.
type SiteSnowplowConfig struct {
	// AppIDs are the tracker's appId values (aid) whose events belong to
	// the site.
	AppIDs []string `mapstructure:"app_ids"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func defaultSnowplowConfig() SnowplowConfig {
	return SnowplowConfig{
		PixelPath:        defaultSnowplowPixelPath,
		PostPath:         defaultSnowplowPostPath,
		PagePingInterval: defaultSnowplowPagePing,
		NetworkCookie:    defaultSnowplowNetworkCookie,
	}
}

// validateSnowplow checks protocols::snowplow and the sites' app ids.
func (cfg *Config) validateSnowplow() error {
	p := &cfg.Protocols.Snowplow
	var errs []error
	for _, path := range []struct{ key, v string }{{"protocols::snowplow::pixel_path", p.PixelPath}, {"protocols::snowplow::post_path", p.PostPath}} {
		if err := validatePath(path.key, path.v); err != nil {
			errs = append(errs, err)
		}
	}
	if p.PagePingInterval <= 0 || p.PagePingInterval > time.Hour {
		errs = append(errs, fmt.Errorf("protocols::snowplow::page_ping_interval: %s must be between 1s and 1h: the tracker's heartbeatDelay (e.g. 10s)", p.PagePingInterval))
	}
	if p.NetworkCookie != "" && !validCookieName(p.NetworkCookie) {
		errs = append(errs, fmt.Errorf("protocols::snowplow::network_cookie: %q is not a valid cookie name; use letters, digits, - and _ (Snowplow's collector uses sp), or \"\" for no cookie", p.NetworkCookie))
	}
	owner := map[string]int{}
	for i := range cfg.Sites {
		key := sitelist.ElementKey(i) + "::protocols::snowplow::app_ids"
		ids := cfg.Sites[i].Protocols.Snowplow.AppIDs
		if len(ids) > 0 && !p.Enabled && !cfg.Sites[i].Import.accepts() {
			errs = append(errs, fmt.Errorf("%s: set, but protocols::snowplow::enabled is false; enable the protocol, give the site an import key (the app ids then serve its imports of snowplow hits only) or remove the app ids", key))
			continue
		}
		for j, id := range ids {
			k := fmt.Sprintf("%s::%d", key, j)
			if strings.TrimSpace(id) != id || id == "" || len(id) > 255 {
				errs = append(errs, fmt.Errorf("%s: %q must be the tracker's appId exactly, 1-255 characters without surrounding spaces", k, id))
				continue
			}
			if first, dup := owner[id]; dup {
				errs = append(errs, fmt.Errorf("%s: %q is already listed by %s; an app id reports to one site", k, id, sitelist.ElementKey(first)))
				continue
			}
			owner[id] = i
		}
	}
	if p.Enabled && len(owner) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("protocols::snowplow::enabled: no site lists its Snowplow app ids; add sites::N::protocols::snowplow::app_ids (e.g. [shop]) to the site that receives them"))
	}
	return errors.Join(errs...)
}

// snowplowAppIDs maps each configured app id to its site id.
func snowplowAppIDs(cfg *Config) map[string]string {
	m := map[string]string{}
	for i := range cfg.Sites {
		for _, id := range cfg.Sites[i].Protocols.Snowplow.AppIDs {
			m[id] = cfg.Sites[i].ID
		}
	}
	return m
}

// snowplowPaths are the Snowplow endpoints for the distinct-paths check.
func (cfg *Config) snowplowPaths() []struct{ key, path string } {
	if !cfg.Protocols.Snowplow.Enabled {
		return nil
	}
	return []struct{ key, path string }{
		{"protocols::snowplow::pixel_path", cfg.Protocols.Snowplow.PixelPath},
		{"protocols::snowplow::post_path", cfg.Protocols.Snowplow.PostPath},
	}
}
