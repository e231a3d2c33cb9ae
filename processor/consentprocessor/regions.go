package consentprocessor

import (
	"fmt"
	"strings"
)

// countries are the ISO 3166-1 alpha-2 codes officially assigned, plus XK
// (Kosovo, user-assigned but used by geolocation databases).
var countries = func() map[string]bool {
	const codes = `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK`
	m := map[string]bool{}
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}()

// regionGroups are names for groups of countries that share a consent law.
var regionGroups = map[string][]string{
	// EU: the 27 member states (GDPR and the ePrivacy Directive).
	"EU": strings.Fields("AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE HU"),
	// EEA: the EU plus Iceland, Liechtenstein and Norway.
	"EEA": strings.Fields("AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE HU IS LI NO"),
}

// expandRegions checks region codes and expands groups: a country (ISO
// 3166-1 alpha-2, "DE"), a subdivision (ISO 3166-2, "US-CA") or a group
// ("EU", "EEA").
func expandRegions(codes []string) ([]string, error) {
	var out []string
	for _, c := range codes {
		if g, ok := regionGroups[c]; ok {
			out = append(out, g...)
			continue
		}
		if !validRegion(c) {
			return nil, fmt.Errorf("%q is not an ISO 3166 country (\"DE\"), subdivision (\"US-CA\") or group (EU, EEA)", c)
		}
		out = append(out, c)
	}
	return out, nil
}

func validRegion(c string) bool {
	country, sub, hasSub := strings.Cut(c, "-")
	if !countries[country] {
		return false
	}
	if !hasSub {
		return true
	}
	if len(sub) < 1 || len(sub) > 3 {
		return false
	}
	for i := 0; i < len(sub); i++ {
		if b := sub[i]; !(b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}
