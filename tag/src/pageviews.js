// Page views, including the virtual ones of single-page applications.
import { tr } from './config.js'
import { w, d, loc, on, rid } from './env.js'
import { enqueue } from './queue.js'
import { eng, engStart } from './engagement.js'
import { search } from './search.js'

export let pv // the current page view id
export let pe // the current page view event, as sent
let last // the URL of the last page view
let timer

export function page() {
  const url = loc.href
  eng()
  pv = rid()
  enqueue((pe = { type: 'page_view', id: pv, url, referrer: last || d.referrer, title: d.title }))
  last = url
  engStart(url)
  if (tr('search')) search()
}

// auto is a page view unless the last one was for the same URL.
export const auto = () => loc.href != last && page()

// spa counts a history navigation as a page view once the URL settled
// (routers push, then replace, then set the title).
export function spa() {
  const chk = () => {
    clearTimeout(timer)
    timer = setTimeout(auto, 100)
  }
  ;['pushState', 'replaceState'].forEach((k) => {
    const o = history[k]
    history[k] = function () {
      chk()
      return o.apply(this, arguments)
    }
  })
  on(w, 'popstate hashchange', chk)
}
