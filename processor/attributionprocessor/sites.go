package attributionprocessor

import (
	"fmt"
	"slices"
	"time"

	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/channel"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
)

// siteState is the journey state of the sites that share one time zone
// and internal-domain list: sites with their own settings get their own.
type siteState struct {
	name       string // storage key suffix
	tracker    *journey.Tracker
	classifier *channel.Classifier
	evictions  int64 // last value reported to telemetry
}

func newSiteState(cfg *Config, site, name string) (*siteState, error) {
	j := cfg.Journey
	tz := j.TimeZone
	if s, ok := cfg.Sites[site]; ok && site != "" && s.TimeZone != "" {
		tz = s.TimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	tr, err := journey.New(journey.Config{
		IdleTimeout:     j.IdleTimeout,
		SplitAtMidnight: j.SplitAtMidnight,
		Location:        loc,
		ReorderWindow:   j.ReorderWindow,
		MaxVisitors:     j.MaxVisitors,
		MaxSeenIDs:      j.MaxSeenIDs,
		MaxTouches:      j.MaxTouches,
	})
	if err != nil {
		return nil, err
	}
	cl, err := cfg.classifierConfig(site).build()
	if err != nil {
		return nil, err
	}
	return &siteState{name: name, tracker: tr, classifier: cl}, nil
}

// states lists every journey state, the default first.
func (p *attributionProcessor) states() []*siteState {
	out := []*siteState{p.def}
	ids := make([]string, 0, len(p.sites))
	for id := range p.sites {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, p.sites[id])
	}
	return out
}

func (p *attributionProcessor) stateFor(site string) *siteState {
	if s, ok := p.sites[site]; ok {
		return s
	}
	return p.def
}

// classifierConfig is the channel classifier's configuration for a site.
type classifierConfig channel.Config

func (c *Config) classifierConfig(site string) classifierConfig {
	internal := c.InternalDomains
	if s, ok := c.Sites[site]; ok && site != "" && len(s.InternalDomains) > 0 {
		internal = s.InternalDomains
	}
	return classifierConfig{InternalDomains: internal}
}

func (cc classifierConfig) build() (*channel.Classifier, error) {
	return channel.New(channel.Config(cc))
}
