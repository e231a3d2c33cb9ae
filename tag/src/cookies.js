// First-party cookies kept by the tag itself (cookies.mode "script" only,
// and only when not cookieless: callers check).
import { cfg } from './config.js'
import { d, loc, rid, ID, now } from './env.js'

const get = (n) => (('; ' + d.cookie).split('; ' + n + '=')[1] || '').split(';')[0]

// set writes a cookie that lives s seconds.
const set = (n, v, s) => {
  d.cookie = n + '=' + v + '; Path=/; SameSite=Lax; Max-Age=' + s + (loc.protocol == 'https:' ? '; Secure' : '')
}

// ids sets the visitor, session and referral ids of beacon h, creating or
// renewing the cookies (the receiver checks the ids' length). The visitor
// cookie is "<id>.<first-set unix seconds>" and always expires max_age_days
// after it was first set, however often it is rewritten (which keeps it
// alive where browsers cap script cookies at days); the session cookie
// slides with every event. While the page is a partner's landing (its URL
// carries the partner's click id, or the referrer is on one of the
// partner's domains: the receiver's rules), the referral cookie
// ("<partner>:<click id>", no click id for a domain) is (re)written first.
export function ids(h) {
  const c = cfg.cookies
  const q = new URLSearchParams(loc.search)
  const host = (d.referrer.split('/')[2] || '').split(':')[0] // a referrer has no user:pass@
  const ps = cfg.referral_partners
  const byParam = (p) => p.param && ID.test(q.get(p.param) || '')
  const byDomain = (p) => p.domains.some((m) => host == m || host.endsWith('.' + m))
  const p = ps.find(byParam) || ps.find(byDomain)
  if (p) set(c.referral, p.name + ':' + (byParam(p) ? q.get(p.param) : ''), p.window_days * 86400)
  const t = (now() / 1000) >>> 0 // unix seconds, good until 2106
  const life = c.max_age_days * 86400
  let v = /^([\w.:-]+)\.(\d+)$/.exec(get(c.visitor))
  // A new visitor when the cookie is missing, expired or from the future.
  if (!v || t - v[2] >= life || v[2] > t + 3600) v = [, rid(), t]
  set(c.visitor, v[1] + '.' + v[2], life - t + +v[2])
  h.visitor_id = v[1]
  let s = get(c.session)
  if (!ID.test(s)) s = rid()
  set(c.session, (h.session_id = s), cfg.session_idle_minutes * 60)
  const r = /^([\w-]+):([\w.:-]*)$/.exec(get(c.referral))
  if (r && ps.some((p) => p.name == r[1])) h.referral = { partner: r[1], click_id: r[2] }
}

// wipe deletes the tag's cookies (consent withdrawn).
export function wipe() {
  const c = cfg.cookies
  ;[c.visitor, c.session, c.referral].forEach((n) => set(n, '', 0))
}
