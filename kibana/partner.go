package kibana

import (
	"bytes"
	"encoding/json"
)

// PartnerDataViewID is the id of the data view over the alias of partner
// on site (webjourneyctl partner grant): stable, so granting again
// overwrites it.
func PartnerDataViewID(site, partner string) string {
	return "webjourney-partner-" + site + "-" + partner
}

// PartnerDataView renders, in Kibana's import format, the data view of a
// referral partner over its filtered alias: the partner-facing copies of
// its visits and credits (journeystore's partner families), nothing else.
func PartnerDataView(alias, site, partner string) ([]byte, error) {
	dv := dataView(PartnerDataViewID(site, partner), alias, "webjourney partner "+partner+" ("+site+")", journeyFormats())
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dv); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
