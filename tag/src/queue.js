// The event queue: batches events, sends beacons, retries a little.
import { mode } from './config.js'
import { env, nav, loc, rid, now } from './env.js'
import { consent, cookieless, gpc, tcf } from './consent.js'
import { ids } from './cookies.js'
import { userId } from './identify.js'
import { pv } from './pageviews.js'

let q = []
let timer
// How long an event waits for others: the page's first beacon goes at once
// (in server cookie mode its answer sets the visitor cookie, which every
// later beacon of a first visit must carry or the receiver would count
// another visitor), later ones within a second.
let wait

// enqueue stamps an event (every event names the page view it belongs to;
// one sent again keeps its id and time) and sends it within a second (the
// page's first at once), at once from the tenth queued event on. At most
// 100 events wait.
export function enqueue(e) {
  e.id = e.id || rid()
  e.ts = e.ts || now()
  e.url = e.url || loc.href
  e.page_view_id = pv
  if (q.push(e) > 100) q.shift()
  if (q.length > 9) flush()
  else timer = timer || setTimeout(flush, wait)
}

// head is the beacon without its events, for the consent state now. force
// keeps the ids of a consent withdrawal.
function head(force) {
  const cl = !force && cookieless()
  const h = {
    site: env.s,
    key: env.k,
    cookieless: cl,
    consent,
    gpc,
    tcf,
    automation: !!nav.webdriver,
  }
  if (!cl) {
    if (mode() == 'script') ids(h)
    h.user_id = userId()
  }
  return h
}

// flush sends every queued event now; hide means the page is going away.
export function flush(hide, force) {
  clearTimeout(timer)
  timer = 0
  while (q.length) {
    wait = 1000
    const h = head(force)
    h.events = q.splice(0, 50)
    send(h, hide, 0)
  }
}

// send posts one beacon: with sendBeacon when the page hides and
// credentials may go along, else with a keepalive fetch, retried on network
// errors, 429 and 5xx only, at most 3 tries.
function send(h, hide, tries) {
  const retry = () => ++tries < 3 && setTimeout(() => send(h, 0, tries), 2000 * tries)
  h.sent_at = now()
  const body = JSON.stringify(h)
  const url = env.o + __WJ_BEACON_PATH__
  if (hide && !h.cookieless && nav.sendBeacon(url, body)) return
  fetch(url, {
    method: 'POST',
    body,
    keepalive: true,
    // same-origin (the default) sends no cookies to a collector on another origin.
    credentials: h.cookieless ? 'omit' : mode() == 'server' ? 'include' : undefined,
  }).then((r) => /^(429|5)/.test(r.status) && retry(), retry)
}
