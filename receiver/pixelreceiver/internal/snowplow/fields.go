package snowplow // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/snowplow"

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// fields are one event's tracker-protocol parameters, as sent: the query
// of a GET /i, or one member of a POST's payload_data. Parameters this
// package does not read (cs, cd, ds beyond its height, fp, cookie, f_*,
// ...) are ignored, as Snowplow's enrich ignores the ones it does not know.
type fields struct {
	e, aid, eid, dtm, stm, ttm, tz, lang, res, vp, ds string
	duid, sid, vid, uid, tnuid, url, page, refr       string
	co, cx, uePr, uePx                                string
	seCa, seAc, seLa, sePr, seVa                      string
	ppMay                                             string
	trID, trAf, trTt, trTx, trSh, trCi, trSt          string
	trCo, trCu                                        string
	tiID, tiSk, tiNm, tiCa, tiPr, tiQu, tiCu          string
	// k is not Snowplow's: a site with a write_key needs it (docs/migrate.md).
	k string
	// A POST member's co and ue_pr as JSON bytes: within the body when
	// inBody (no copy), else unescaped from the member's string.
	coJSON, uePrJSON     []byte
	coInBody, uePrInBody bool
}

// setJSON keeps a POST member's co or ue_pr, a JSON string holding a
// document (as the trackers send it) or the document itself.
func (f *fields) setJSON(key string, value []byte) {
	dst, inBody := &f.coJSON, &f.coInBody
	if key == "ue_pr" {
		dst, inBody = &f.uePrJSON, &f.uePrInBody
	}
	if *dst != nil {
		return
	}
	switch {
	case value[0] != '"':
		*dst, *inBody = value, true
	case bytes.IndexByte(value, '\\') < 0:
		*dst, *inBody = value[1:len(value)-1], true
	default:
		*dst = unescape(value)
	}
}

// doc returns a plain document field (co, ue_pr) as bytes and the body
// they lie in (nil when they are a copy).
func doc(json []byte, inBody bool, plain string, body *webevent.JSONBody) ([]byte, *webevent.JSONBody) {
	switch {
	case json != nil && inBody:
		return json, body
	case json != nil:
		return json, nil
	case plain != "":
		return []byte(plain), nil
	}
	return nil, nil
}

// set stores one parameter; the first of a repeated name wins.
func (f *fields) set(key, value string) {
	if dst := f.field(key); dst != nil && *dst == "" {
		*dst = value
	}
}

// field is where the parameter key goes; nil for one this package does
// not read.
func (f *fields) field(key string) *string {
	var dst *string
	switch key {
	case "e":
		dst = &f.e
	case "aid":
		dst = &f.aid
	case "eid":
		dst = &f.eid
	case "dtm":
		dst = &f.dtm
	case "stm":
		dst = &f.stm
	case "ttm":
		dst = &f.ttm
	case "tnuid":
		dst = &f.tnuid
	case "tz":
		dst = &f.tz
	case "lang":
		dst = &f.lang
	case "res":
		dst = &f.res
	case "vp":
		dst = &f.vp
	case "ds":
		dst = &f.ds
	case "duid":
		dst = &f.duid
	case "sid":
		dst = &f.sid
	case "vid":
		dst = &f.vid
	case "uid":
		dst = &f.uid
	case "url":
		dst = &f.url
	case "page":
		dst = &f.page
	case "refr":
		dst = &f.refr
	case "co":
		dst = &f.co
	case "cx":
		dst = &f.cx
	case "ue_pr":
		dst = &f.uePr
	case "ue_px":
		dst = &f.uePx
	case "se_ca":
		dst = &f.seCa
	case "se_ac":
		dst = &f.seAc
	case "se_la":
		dst = &f.seLa
	case "se_pr":
		dst = &f.sePr
	case "se_va":
		dst = &f.seVa
	case "pp_may":
		dst = &f.ppMay
	case "tr_id":
		dst = &f.trID
	case "tr_af":
		dst = &f.trAf
	case "tr_tt":
		dst = &f.trTt
	case "tr_tx":
		dst = &f.trTx
	case "tr_sh":
		dst = &f.trSh
	case "tr_ci":
		dst = &f.trCi
	case "tr_st":
		dst = &f.trSt
	case "tr_co":
		dst = &f.trCo
	case "tr_cu":
		dst = &f.trCu
	case "ti_id":
		dst = &f.tiID
	case "ti_sk":
		dst = &f.tiSk
	case "ti_nm", "ti_na":
		dst = &f.tiNm
	case "ti_ca":
		dst = &f.tiCa
	case "ti_pr":
		dst = &f.tiPr
	case "ti_qu":
		dst = &f.tiQu
	case "ti_cu":
		dst = &f.tiCu
	case "k":
		dst = &f.k
	}
	return dst
}

// setQuery fills f from a URL query. It splits the query itself rather
// than through url.ParseQuery, which allocates a map and a slice per
// parameter; only the values it reads are unescaped, and only when they
// are escaped. A value read that cannot be unescaped is a rejection, not
// a silent empty value.
func (f *fields) setQuery(q string) bool {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		key, value, _ := strings.Cut(kv, "=")
		dst := f.field(key)
		if dst == nil || *dst != "" {
			continue // not read, or repeated: left as it is
		}
		if strings.IndexByte(value, '%') >= 0 || strings.IndexByte(value, '+') >= 0 {
			v, err := url.QueryUnescape(value)
			if err != nil {
				return false
			}
			value = v
		}
		*dst = value
	}
	return true
}
