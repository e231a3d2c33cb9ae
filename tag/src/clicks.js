// Outbound link clicks and file downloads, from one delegated listener
// (clicks and middle clicks). HTML links carry their resolved URL's parts.
import { cfg, tr } from './config.js'
import { d, loc, on } from './env.js'
import { enqueue } from './queue.js'

const click = (e) => {
  const a = e.target.closest && e.target.closest('a[href]')
  if (!a || (e.type == 'auxclick' && e.button != 1) || !/^https?:$/.test(a.protocol)) return
  const x = /\.(\w+)$/.exec(a.pathname)
  const type =
    tr('downloads') && (a.hasAttribute('download') || (x && cfg.download_extensions.includes(x[1].toLowerCase())))
      ? 'file_download'
      : tr('outbound') && a.host != loc.host && 'outbound_click'
  if (type) enqueue({ type, link_url: a.href })
}

export const clicks = () => on(d, 'click auxclick', click)
