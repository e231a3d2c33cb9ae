// The user id: in memory and sessionStorage, never while cookieless.
import { G } from './env.js'
import { cookieless } from './consent.js'
import { enqueue } from './queue.js'

const K = G + '_uid'
let uid

// store reads (v undefined) or writes sessionStorage, which may throw.
const store = (v) => {
  try {
    return v == null ? sessionStorage[K] : (sessionStorage[K] = v)
  } catch (e) {}
}

export function identify(u) {
  if (cookieless()) return
  store((uid = u == null ? '' : '' + u))
  if (uid) enqueue({ type: 'identify' })
}

// userId is the id to send; callers check cookieless first.
export const userId = () => uid || (uid = store()) || undefined

export const forget = () => store((uid = ''))
