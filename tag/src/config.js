// The per-site config: fetched once; safe defaults when it cannot be had.
import { env } from './env.js'

// Without its config the tag keeps nothing (cookie mode none: every event
// is cookieless, whatever the consent) and has no search parameter or
// download extension to look for. Every automatic tracker is on unless the
// config turns it off (tr).
export let cfg = { consent: {}, cookies: { mode: 'none' }, search_params: [], download_extensions: [], track: {} }

export const tr = (k) => cfg.track[k] !== false
export const mode = () => cfg.cookies.mode

// load fetches the config and calls done exactly once: with the config, or
// with the defaults after an error or 5 s.
export function load(done) {
  const fin = (j) => done && (Object.assign(cfg, j), done(), (done = 0))
  fetch(env.o + __WJ_CONFIG_PATH__ + '?s=' + env.s, { credentials: 'omit' })
    .then((r) => r.ok && r.json())
    .then(fin, fin) // an Error has no enumerable property to merge
  setTimeout(fin, 5000)
}
