package attributionprocessor

import (
	"time"

	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/journey"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/models"
)

// credit is one touch's share under one model.
type credit struct {
	model        string
	touch        journey.Touch
	index, count int
	credit       float64
	value        float64
	firstTouch   time.Time // first eligible touch, for time to convert
}

// credit distributes the outcome over the visitor's touches under every
// configured model. A partner touch older than the partner's attribution
// window (the one its landing carried) at the time of the outcome is not
// a touch any more.
func (p *attributionProcessor) credit(st *siteState, s subject, o *outcome, b *batch) {
	all := st.tracker.Touches(s.key)
	touches := make([]models.Touch, 0, len(all))
	kept := make([]journey.Touch, 0, len(all))
	for _, t := range all {
		if t.Partner != "" && t.PartnerWindow > 0 && o.time.Sub(t.Time) > t.PartnerWindow {
			continue
		}
		touches = append(touches, models.Touch{Time: t.Time, Medium: t.Medium, Source: t.Source, Campaign: t.Campaign, Partner: t.Partner, VisitID: t.VisitID})
		kept = append(kept, t)
	}
	for _, m := range p.models {
		crs := models.Attribute(m, p.modelCfg, touches, o.time, o.value)
		if len(crs) == 0 {
			continue
		}
		first := kept[crs[0].TouchIndex].Time
		for i, c := range crs {
			b.credits = append(b.credits, creditSnap{subj: s, outcome: *o, credit: credit{
				model:      string(m),
				touch:      kept[c.TouchIndex],
				index:      i,
				count:      len(crs),
				credit:     c.Credit,
				value:      c.Value,
				firstTouch: first,
			}})
		}
	}
}
