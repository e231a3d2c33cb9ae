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
// slides with every event. While the page's URL carries a partner's click
// id (a landing), the referral cookie is (re)written first.
export function ids(h) {
  const c = cfg.cookies
  const q = new URLSearchParams(loc.search)
  cfg.referral_partners.forEach((p) => {
    const id = q.get(p.param)
    if (id && ID.test(id)) set(c.referral, p.name + ':' + id, p.window_days * 86400)
  })
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
  const r = /^([\w-]+):([\w.:-]+)$/.exec(get(c.referral))
  if (r && cfg.referral_partners.some((p) => p.name == r[1])) h.referral = { partner: r[1], click_id: r[2] }
}

// wipe deletes the tag's cookies (consent withdrawn).
export function wipe() {
  const c = cfg.cookies
  ;[c.visitor, c.session, c.referral].forEach((n) => set(n, '', 0))
}
