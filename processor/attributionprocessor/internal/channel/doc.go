// Package channel classifies how a web visit arrived — its channel medium
// and source, in the spirit of GA4's default channel groups — from what
// the pixel receiver wrote on the landing page view: the landing host, the
// referrer's parts, the referral partner it detected, the campaign fields
// and the ad click id; and from the site's own domains. It parses no URL:
// the receiver split them once.
//
// # Precedence
//
// Classify applies the first rule that matches:
//
//  1. Partner (Input.Partner): the receiver detected a configured referral
//     partner's landing (its click-id parameter in the landing URL, or a
//     referrer on one of its domains; see the pixel receiver's
//     sites[].referral_partners). Medium "partner", Source the lower-cased
//     partner name, Partner the name as written.
//
//  2. Ad click id (Input.ClickIDType, case-insensitive), looked up in
//     eventmodel.ClickIDs, which gives each id its source and medium:
//     gclid, gbraid, wbraid, dclid: paid/google; msclkid: paid/microsoft;
//     ttclid: paid/tiktok; li_fat_id: paid/linkedin; yclid: paid/yandex;
//     twclid: paid/twitter; epik: paid/pinterest; sccid: paid/snapchat;
//     rdt_cid: paid/reddit. A paid id decides. fbclid is NOT a paid signal:
//     Facebook and Instagram append it to organic outbound links too (GA4
//     likewise does not treat it as paid); its table medium is social. A
//     visit with fbclid goes on to rule 3; if it has no campaign fields it
//     is social, with the referrer's social source (e.g. "instagram") when
//     the referrer is a known social site and "facebook" otherwise. Other
//     click id types are ignored.
//
//  3. Campaign fields (utm_* as extracted by the receiver, which falls back
//     to Matomo's mtm_*). The medium is lower-cased and stripped of
//     everything but a-z and 0-9 ("Paid_Social" -> "paidsocial", "E-Mail"
//     -> "email") and looked up:
//
//     paid      cpc ppc cpm cpv cpa cpp paid paidsearch paidsocial display
//     banner native retargeting remarketing sem ads ad adwords
//     shopping programmatic; otherwise anything containing
//     "paid", "cpc", "ppc" or "cpm"
//     email     email mail newsletter enewsletter edm; otherwise anything
//     containing "email" or "newsletter"
//     social    social socialnetwork socialmedia sm sn organicsocial
//     socialorganic; otherwise anything containing "social"
//     search    organic organicsearch seo search
//     referral  referral referrer ref link affiliate(s) partner; otherwise
//     anything containing "affiliate" or "referral"
//     ai        ai aiassistant llm chatbot
//     (ignored) none direct notset — as if no medium was given
//     any other medium: referral
//
//     Source is utm_source trimmed and lower-cased, as given (the GA
//     placeholders "(direct)", "direct", "(none)", "none" and "(not set)"
//     count as no source); when it is
//     empty, the source the referrer rule would give (not for an internal
//     referrer). With utm_source but no usable medium, the source is looked
//     up: a known platform name ("google", "facebook", "ig", "chatgpt",
//     "newsletter", ...) or a known host ("chatgpt.com", which ChatGPT adds
//     to its citation links) gives that medium and the canonical source
//     name; anything else is referral with source = utm_source. utm_campaign
//     alone is ignored.
//
//  4. Referrer. Empty or unusable (scheme not http, https or android-app;
//     invalid host) -> direct with Source "". Internal when the
//     referrer host equals the landing host, or the referrer host is one of
//     Config.InternalDomains or a subdomain of one, or both hosts share a
//     registrable domain; Source is the referrer's registrable domain.
//     Otherwise the host is looked up in the lists in lists.go, most
//     specific first: first the brand families (google.*, yahoo.*,
//     yandex.*, pinterest.* on any ICANN suffix, e.g. google.co.uk), by the
//     subdomain (www.google.* -> search, mail.google.* -> email,
//     gemini.google.* -> AI, news/play/maps/... .google.* -> referral with
//     source e.g. "google.com"), then the host and each parent domain up to
//     the registrable domain (l.facebook.com -> facebook.com). A known
//     search engine gives search with SearchTerm from its query parameter
//     (q, p, text, wd, query, ...) when present; social, webmail and AI
//     hosts give their medium. Only known webmail hosts are email: an
//     unknown host whose first label is mail, webmail or email is a
//     referral like any other (a company's mail server, a newsletter
//     tool's click tracker). android-app:// referrers are looked up by
//     package name, as GA4 and Matomo do (com.google.android.gm ->
//     email/gmail, com.linkedin.android -> social/linkedin). Anything else
//     (a browser, com.microsoft.teams) is referral with
//     Source the registrable domain (the host for IP addresses, the
//     package name for unknown Android apps).
//
//  5. An invalid landing host is treated as none (no landing host for the
//     internal check); an unusable referrer as no referrer. Classify never
//     panics.
package channel
