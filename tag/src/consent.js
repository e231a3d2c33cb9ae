// Consent state: the consent command, the page's IAB TCF v2 CMP and Global
// Privacy Control decide whether the tag runs cookieless.
import { cfg, mode } from './config.js'
import { w, nav } from './env.js'
import { enqueue, flush } from './queue.js'
import { wipe } from './cookies.js'
import { forget } from './identify.js'
import { pe } from './pageviews.js'

const U = 'unknown'
export const consent = { analytics: U, marketing: U, personalization: U }
export let tcf
export const gpc = !!nav.globalPrivacyControl

// cookieless: no cookie read or written, no visitor, session, user or
// referral id sent, requests without credentials. An explicit analytics
// denial is honoured even when the site does not require consent.
export const cookieless = () => {
  const m = mode()
  const c = cfg.consent
  const a = consent.analytics
  return (m != 'server' && m != 'script') || (c.honor_gpc && gpc) || a == 'denied' || (c.required && a != 'granted')
}

// setConsent merges the granted/denied values of c and, when send is set,
// sends a consent event. Events queued before are sent first, under the
// state they happened in. A withdrawal (ids were allowed, now they are not)
// always sends one, with the ids it withdraws, then deletes the cookies and
// the user id. A grant that ends cookieless mode after the page's page view
// went out without ids sends that page view again, with its id and time:
// the collector stores the event once (by id), and the visitor's journey
// starts on the page it started on, with its referrer, campaign and
// referral partner's click id (a visitor who accepts the banner on a
// partner's landing page is the partner's).
export function setConsent(c, send) {
  flush()
  const had = !cookieless()
  for (const k in consent) if (/^(granted|denied)$/.test(c && c[k])) consent[k] = c[k]
  const cl = cookieless()
  const gone = had && cl
  // (pe went out in a beacon already: sending the same object again is safe.)
  if (pe && !had && !cl) enqueue(pe)
  if (send || gone) enqueue({ type: 'consent' })
  if (gone) {
    flush(0, 1)
    if (mode() == 'script') wipe()
    forget()
  }
}

// tcfStart follows the page's CMP. Purpose 1 (store and/or access
// information on a device) decides analytics where GDPR applies; where it
// does not, TCF asks for no consent. Only a user's action sends a consent
// event; the state a page loads with does not.
export function tcfStart() {
  const f = w.__tcfapi
  if (cfg.consent.tcf && f)
    f('addEventListener', 2, (t, ok) => {
      if (!ok) return
      tcf = { gdpr_applies: t.gdprApplies, tc_string: /^[\w.-]*$/.test(t.tcString) ? t.tcString : undefined }
      if (t.eventStatus == 'cmpuishown') return
      setConsent(
        { analytics: t.gdprApplies === false || t.purpose.consents[1] ? 'granted' : 'denied' },
        t.eventStatus == 'useractioncomplete',
      )
    })
}
