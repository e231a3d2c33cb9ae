package anonymizer

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/sealed"
	"github.com/webjourney/webjourney/internal/urlquery"
)

// newSealer reads the keys under key (recoverable, partner_click_id).
func newSealer(key, primary string, srcs map[string]SecretSource) (*sealed.Sealer, error) {
	keys := make(map[string][]byte, len(srcs))
	for id, src := range srcs {
		text, err := src.read(key + "::keys::" + id)
		if err != nil {
			return nil, err
		}
		if keys[id], err = sealed.ParseKey(text); err != nil {
			return nil, fmt.Errorf("%s::keys::%s: %w", key, id, err)
		}
	}
	s, err := sealed.New(primary, keys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
}

// clearClickID returns the partner's click id of the event as the receiver
// wrote it, or "" when there is none or it is a pseudonym already.
func (p *anonymizerProcessor) clearClickID(attrs pcommon.Map) string {
	v, ok := attrs.Get(eventmodel.AttrReferralClickID)
	if !ok || v.Type() != pcommon.ValueTypeStr || p.pseudonyms.IsPseudonym(v.Str()) {
		return ""
	}
	return v.Str()
}

// urlAttrs hold the page's and the referrer's URL and query: the landing
// URL carries the partner's click id in its parameter, and the next page's
// referrer is that landing URL.
var urlAttrs = [...]struct {
	name string
	full bool
}{
	{eventmodel.AttrURLFull, true}, {eventmodel.AttrURLQuery, false},
	{eventmodel.AttrReferrerFull, true}, {eventmodel.AttrReferrerQuery, false},
}

// stripClickID removes, from the event's URLs, every query parameter whose
// value is the partner's click id, whatever the parameter's name: the
// click id is pseudonymised (and perhaps sealed) in its own attribute and
// must not stay in clear next to it.
func stripClickID(attrs pcommon.Map, click string) {
	for _, a := range urlAttrs {
		v, ok := attrs.Get(a.name)
		if !ok || v.Type() != pcommon.ValueTypeStr || !strings.Contains(v.Str(), click) && !strings.Contains(v.Str(), "%") {
			continue
		}
		s := v.Str()
		if !a.full {
			if out, changed := dropValue(s, click); changed {
				v.SetStr(out)
			}
			continue
		}
		q := strings.IndexByte(s, '?')
		if q < 0 {
			continue
		}
		end := len(s)
		if h := strings.IndexByte(s[q:], '#'); h >= 0 {
			end = q + h
		}
		out, changed := dropValue(s[q+1:end], click)
		if !changed {
			continue
		}
		if out == "" {
			v.SetStr(s[:q] + s[end:])
		} else {
			v.SetStr(s[:q+1] + out + s[end:])
		}
	}
}

// dropValue removes the parts of a raw query whose (unescaped) value is
// click; a bare part ("?ap-1") counts as a value.
func dropValue(raw, click string) (string, bool) {
	var kept []string
	changed := false
	for part := range urlquery.Parts(raw) {
		name, value, hasValue := strings.Cut(part, "=")
		if !hasValue {
			value = name
		}
		if urlquery.Unescape(value) == click {
			changed = true
			continue
		}
		kept = append(kept, part)
	}
	if !changed {
		return raw, false
	}
	return strings.Join(kept, "&"), true
}

// mayShare reports whether the event's consent may allow a postback to the
// referral partner, so that its click id is worth keeping, sealed. The
// partner_postback exporter decides per partner (TCF purposes and vendor,
// GPC, DNT); this is only the part every partner needs: a kept event, not
// kept for measurement alone, whose visitor granted marketing in the tag
// or answered a TCF consent prompt. Everywhere else the click id goes.
func mayShare(decision, reason, marketing string, hasTCString bool) bool {
	switch {
	case decision != eventmodel.DecisionKeep,
		reason == eventmodel.ConsentReasonMarketingDenied, reason == eventmodel.ConsentReasonCNILExemption,
		marketing == eventmodel.ConsentDenied:
		return false
	}
	return marketing == eventmodel.ConsentGranted || hasTCString
}

// keepSealedClickID reports whether a sealed click id already on the event
// stays: only one this anonymizer sealed for this site (the event passed
// here before). Anything else under that name came from outside.
func (p *anonymizerProcessor) keepSealedClickID(site string, v pcommon.Value) bool {
	if p.clickSealer == nil || v.Type() != pcommon.ValueTypeStr {
		return false
	}
	_, err := p.clickSealer.Open(v.Str(), sealed.AssociatedData(site, eventmodel.AttrReferralClickIDSealed))
	return err == nil
}
