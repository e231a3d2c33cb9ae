// Engaged time and scroll depth of the current page view. A once-a-second
// tick counts a second when the page is visible and the window has focus
// or saw user activity in the last 30 s, and samples the scroll depth.
import { tr } from './config.js'
import { w, d, on, now } from './env.js'
import { enqueue } from './queue.js'
import { pv } from './pageviews.js'

let url // of the page view
let acc = 0 // ms counted and not yet sent
let last = now() // last user activity
let depth = 0
let sent // an engagement was sent for this page view

// pct is how far down the page the viewport's bottom edge is, 0-100.
const pct = () =>
  (depth = Math.max(depth, Math.min(100, Math.round(((w.scrollY + w.innerHeight) / d.documentElement.scrollHeight) * 100)) || 0))

// eng queues the engagement of the current page view since the last one;
// a zero one only when it would be the page view's first.
export function eng() {
  if (pv && tr('engagement') && (acc || !sent)) {
    enqueue({ type: 'engagement', engaged_ms: acc, scroll_depth: pct(), url })
    sent = 1
    acc = 0
  }
}

// engStart starts counting for a new page view.
export function engStart(u) {
  url = u
  acc = sent = depth = 0
  pct()
}

export function engInit() {
  // Clicks and keys focus the window; an unfocused one sees mouse and wheel.
  on(w, 'scroll mousemove', () => (last = now()))
  setInterval(() => {
    if (!d.hidden && (d.hasFocus() || now() - last < 30000)) {
      acc += 1000
      pct()
    }
  }, 1000)
}
