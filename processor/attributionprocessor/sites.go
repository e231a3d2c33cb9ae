package attributionprocessor

import (
	"fmt"
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
	// history attributes imported events older than the state of their
	// visitor (journey.ReasonHistoryBehind): a tracker of its own, made
	// on first use, so that they never change the visitor's state yet
	// still build their visits and credits. It writes no visitor
	// records (the visitor record is the main tracker's), is neither
	// persisted nor counted in evictions. isHistory marks it.
	history    *siteState
	isHistory  bool
	journeyCfg journey.Config
}

// newSiteState makes the journey state of a site with its own settings,
// or with site nil the default state.
func newSiteState(cfg *Config, site *SiteConfig, name string, funnels []journey.FunnelDef) (*siteState, error) {
	j := cfg.Journey
	tz := j.TimeZone
	if site != nil && site.TimeZone != "" {
		tz = site.TimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	jc := journey.Config{
		IdleTimeout:     j.IdleTimeout,
		SplitAtMidnight: j.SplitAtMidnight,
		Location:        loc,
		ReorderWindow:   j.ReorderWindow,
		MaxVisitors:     j.MaxVisitors,
		MaxSeenIDs:      j.MaxSeenIDs,
		MaxTouches:      j.MaxTouches,
		PathLength:      j.PathLength,
		Funnels:         funnels,
	}
	tr, err := journey.New(jc)
	if err != nil {
		return nil, err
	}
	cl, err := cfg.classifierConfig(site).build()
	if err != nil {
		return nil, err
	}
	return &siteState{name: name, tracker: tr, classifier: cl, journeyCfg: jc}, nil
}

// historyState is the site's history tracker, made on first use (the
// configuration was validated with the main tracker's).
func (st *siteState) historyState() *siteState {
	if st.history == nil {
		tr, err := journey.New(st.journeyCfg)
		if err != nil {
			panic("attribution: history tracker: " + err.Error()) // the same config made st.tracker
		}
		st.history = &siteState{name: st.name + "/history", tracker: tr, classifier: st.classifier, isHistory: true, journeyCfg: st.journeyCfg}
	}
	return st.history
}

func (p *attributionProcessor) stateFor(site string) *siteState {
	if s, ok := p.sites[site]; ok {
		return s
	}
	return p.def
}

// classifierConfig is the channel classifier's configuration for a site.
type classifierConfig channel.Config

func (c *Config) classifierConfig(site *SiteConfig) classifierConfig {
	internal := c.InternalDomains
	if site != nil && len(site.InternalDomains) > 0 {
		internal = site.InternalDomains
	}
	return classifierConfig{InternalDomains: internal}
}

func (cc classifierConfig) build() (*channel.Classifier, error) {
	return channel.New(channel.Config(cc))
}
