// Shared browser handles, the tag's identity and small helpers.
// __WJ_*__ are replaced at build time by tag.Build (esbuild Define).

export const w = window
export const d = document
export const nav = navigator
export const G = __WJ_GLOBAL__
export const loc = location
export const now = Date.now

export const attr = (e, n) => e.getAttribute(n)

// The beacon's id alphabet (protocol: [A-Za-z0-9._:-]{1,128}).
export const ID = /^[\w.:-]{1,128}$/

// rid returns 128 random bits as 32 hex digits.
export const rid = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join('')

// on listens in the capture phase, so that no page handler can hide an
// event from the tag. The tag never cancels or stops anything.
export const on = (t, types, f) => types.split(' ').forEach((e) => t.addEventListener(e, f, true))

// env holds what the script element says: collector origin, site, key.
export const env = {}
