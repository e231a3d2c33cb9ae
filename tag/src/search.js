// Site search: a page view whose URL has a configured search parameter.
import { cfg } from './config.js'
import { loc } from './env.js'
import { enqueue } from './queue.js'

export function search() {
  const q = new URLSearchParams(loc.search)
  const v = cfg.search_params.map((k) => (q.get(k) || '').trim()).find((v) => v)
  if (v) enqueue({ type: 'site_search', search_term: v })
}
