// webjourney browser tag: entry point. Finds its own script element, replaces
// the pre-load stub with the command function, fetches the site's config and
// starts automatic tracking. See docs/tag-protocol.md.
import { w, d, G, env, on } from './env.js'
import { tr, load } from './config.js'
import { enqueue, flush } from './queue.js'
import { setConsent, tcfStart } from './consent.js'
import { identify } from './identify.js'
import { auto, spa } from './pageviews.js'
import { eng, engInit } from './engagement.js'
import { clicks } from './clicks.js'
import { forms } from './forms.js'

// track sends a custom event; props keeps string, number and boolean values.
function track(name, props) {
  const p = {}
  for (const k in props) {
    const v = props[k]
    if (Number.isFinite(v) || /^(string|boolean)$/.test(typeof v)) p[k] = v
  }
  enqueue({ type: 'custom', name: '' + name, props: p })
}

// page is a page view unless the last one was for the same URL.
const cmds = { track, page: auto, identify, consent: (c) => setConsent(c, 1) }

// run runs one command: an array or the arguments object of a stub call.
const run = ([c, ...a]) => cmds[c] && cmds[c](...a)

const me = d.currentScript || [...d.querySelectorAll('script[src*="' + __WJ_TAG_PATH__ + '"]')].pop()
const stub = w[G]
env.s = me && me.dataset.site

// Start once: a second copy of the tag finds the command function in place.
if (env.s && !(stub && stub.track)) {
  env.o = new URL(me.src).origin
  env.k = me.dataset.key
  let pend = (stub && stub.q) || []
  const api = (...a) => (pend ? pend.push(a) : run(a))
  for (const c in cmds) api[c] = (...a) => api(c, ...a)
  w[G] = api
  load(() => {
    const p = pend
    pend = 0
    tcfStart()
    // Queued consent applies to the first page view, other queued commands
    // follow it.
    p.forEach((a) => a[0] == 'consent' && run(a))
    engInit()
    on(w, 'pagehide visibilitychange', (e) => {
      if (e.type == 'pagehide' || d.hidden) {
        eng()
        flush(1)
      }
    })
    if (tr('page_views')) {
      auto()
      if (tr('spa')) spa()
    }
    clicks()
    if (tr('forms')) forms()
    p.forEach((a) => a[0] != 'consent' && run(a))
  })
}
