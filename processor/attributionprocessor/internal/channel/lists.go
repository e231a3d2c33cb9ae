package channel

// The lists below were written for this package from general knowledge of
// the sites concerned; they are not derived from any third-party referrer
// database. Keys are lower-case hosts without "www."; a key also matches
// every subdomain of it (the referrer host is walked up to its registrable
// domain, most specific first).

// entry is what a known host or name classifies as.
type entry struct {
	medium string
	source string   // canonical source name; "" means the registrable domain
	terms  []string // search engines: query parameters holding the search term, in order
}

func se(source string, terms ...string) entry {
	return entry{medium: Search, source: source, terms: terms}
}
func so(source string) entry { return entry{medium: Social, source: source} }
func em(source string) entry { return entry{medium: Email, source: source} }
func ai(source string) entry { return entry{medium: AI, source: source} }

var referral = entry{medium: Referral}

// webmail is an ISP's webmail, named by its registrable domain.
var webmail = entry{medium: Email}

// family is a brand with the same site on many country domains
// (google.de, google.co.uk, yandex.com.tr, yahoo.co.jp, pinterest.fr, ...).
// It applies when the first label of an ICANN registrable domain is the
// family's key. subs is keyed by the host's prefix before the registrable
// domain ("" for the bare domain) and is walked like hosts ("uk.search"
// then "search"); other applies when no prefix matches.
type family struct {
	subs  map[string]entry
	other entry
}

var (
	google = se("google", "q")
	yahoo  = se("yahoo", "p")
	yandex = se("yandex", "text")
)

var families = map[string]family{
	// Google: the search front ends are search; its other products are
	// classified by function. News, Play, Maps, Docs, ... are plain
	// referrals (source: the registrable domain, e.g. "google.com").
	"google": {
		subs: map[string]entry{
			"": google, "www": google, "m": google, "images": google, "encrypted": google,
			"ipv6": google, "lens": google, "scholar": google, "webcache": google,
			"mail": em("gmail"), "inbox": em("gmail"),
			"gemini": ai("gemini"), "bard": ai("gemini"), "notebooklm": ai("notebooklm"),
			"aistudio": ai("gemini"),
		},
		other: referral,
	},
	// Yahoo: search.yahoo.* and its country subdomains (uk.search.yahoo.com,
	// r.search.yahoo.com redirects) are search; the portal is a referral.
	"yahoo": {
		subs: map[string]entry{
			"search": yahoo,
			"mail":   em("yahoo"),
		},
		other: referral,
	},
	// Yandex: the portal front page is the search box; mail is webmail.
	"yandex": {
		subs:  map[string]entry{"mail": em("yandex")},
		other: yandex,
	},
	"pinterest": {other: so("pinterest")},
}

var hosts = map[string]entry{
	// --- search engines
	"bing.com":            se("bing", "q"),
	"duckduckgo.com":      se("duckduckgo", "q"),
	"ya.ru":               yandex,
	"baidu.com":           se("baidu", "wd", "word"),
	"ecosia.org":          se("ecosia", "q"),
	"qwant.com":           se("qwant", "q"),
	"startpage.com":       se("startpage", "query", "q"),
	"startpage.nl":        se("startpage", "query", "q"),
	"search.brave.com":    se("brave", "q"),
	"search.naver.com":    se("naver", "query"),
	"naver.com":           se("naver", "query"),
	"seznam.cz":           se("seznam", "q"),
	"sogou.com":           se("sogou", "query"),
	"so.com":              se("360", "q"),
	"haosou.com":          se("360", "q"),
	"ask.com":             se("ask", "q"),
	"search.aol.com":      se("aol", "q"),
	"search.aol.co.uk":    se("aol", "q"),
	"daum.net":            se("daum", "q"),
	"mojeek.com":          se("mojeek", "q"),
	"kagi.com":            se("kagi", "q"),
	"coccoc.com":          se("coccoc", "query"),
	"swisscows.com":       se("swisscows", "query"),
	"metager.org":         se("metager", "eingabe"),
	"metager.de":          se("metager", "eingabe"),
	"lilo.org":            se("lilo", "q"),
	"dogpile.com":         se("dogpile", "q"),
	"webcrawler.com":      se("webcrawler", "q"),
	"petalsearch.com":     se("petal", "query"),
	"presearch.com":       se("presearch", "q"),
	"yep.com":             se("yep", "q"),
	"go.mail.ru":          se("mail.ru", "q"),
	"nova.rambler.ru":     se("rambler", "query"),
	"search.goo.ne.jp":    se("goo", "MT"),
	"search.lycos.com":    se("lycos", "q"),
	"search.seznam.cz":    se("seznam", "q"),
	"m.search.naver.com":  se("naver", "query"),
	"duck.com":            se("duckduckgo", "q"),
	"html.duckduckgo.com": se("duckduckgo", "q"),

	// --- AI assistants
	"chatgpt.com":             ai("chatgpt"),
	"chat.openai.com":         ai("chatgpt"),
	"perplexity.ai":           ai("perplexity"),
	"perplexity.com":          ai("perplexity"),
	"claude.ai":               ai("claude"),
	"copilot.microsoft.com":   ai("copilot"),
	"copilot.cloud.microsoft": ai("copilot"),
	"edgeservices.bing.com":   ai("copilot"),
	"you.com":                 ai("you"),
	"phind.com":               ai("phind"),
	"poe.com":                 ai("poe"),
	"deepseek.com":            ai("deepseek"),
	"meta.ai":                 ai("meta_ai"),
	"grok.com":                ai("grok"),
	"chat.mistral.ai":         ai("mistral"),
	"pi.ai":                   ai("pi"),
	"character.ai":            ai("character_ai"),
	"kimi.moonshot.cn":        ai("kimi"),
	"kimi.com":                ai("kimi"),
	"chat.qwen.ai":            ai("qwen"),
	"tongyi.aliyun.com":       ai("qwen"),
	"doubao.com":              ai("doubao"),
	"yiyan.baidu.com":         ai("ernie"),
	"metaso.cn":               ai("metaso"),
	"felo.ai":                 ai("felo"),

	// --- social networks, video, forums and messengers
	"facebook.com":         so("facebook"),
	"fb.com":               so("facebook"),
	"fb.me":                so("facebook"),
	"messenger.com":        so("facebook"),
	"instagram.com":        so("instagram"),
	"threads.net":          so("threads"),
	"threads.com":          so("threads"),
	"t.co":                 so("twitter"),
	"twitter.com":          so("twitter"),
	"x.com":                so("twitter"),
	"linkedin.com":         so("linkedin"),
	"lnkd.in":              so("linkedin"),
	"pin.it":               so("pinterest"),
	"reddit.com":           so("reddit"),
	"redd.it":              so("reddit"),
	"youtube.com":          so("youtube"),
	"youtu.be":             so("youtube"),
	"tiktok.com":           so("tiktok"),
	"bsky.app":             so("bluesky"),
	"mastodon.social":      so("mastodon"),
	"mastodon.online":      so("mastodon"),
	"mstdn.social":         so("mastodon"),
	"fosstodon.org":        so("mastodon"),
	"hachyderm.io":         so("mastodon"),
	"infosec.exchange":     so("mastodon"),
	"news.ycombinator.com": so("hackernews"),
	"lobste.rs":            so("lobsters"),
	"vk.com":               so("vk"),
	"vk.ru":                so("vk"),
	"ok.ru":                so("odnoklassniki"),
	"weibo.com":            so("weibo"),
	"weibo.cn":             so("weibo"),
	"t.cn":                 so("weibo"),
	"wa.me":                so("whatsapp"),
	"whatsapp.com":         so("whatsapp"),
	"t.me":                 so("telegram"),
	"telegram.me":          so("telegram"),
	"telegram.org":         so("telegram"),
	"snapchat.com":         so("snapchat"),
	"tumblr.com":           so("tumblr"),
	"quora.com":            so("quora"),
	"discord.com":          so("discord"),
	"discord.gg":           so("discord"),
	"discordapp.com":       so("discord"),
	"xing.com":             so("xing"),
	"line.me":              so("line"),
	"slack.com":            so("slack"),
	"vimeo.com":            so("vimeo"),
	"twitch.tv":            so("twitch"),
	"dailymotion.com":      so("dailymotion"),
	"nextdoor.com":         so("nextdoor"),
	"medium.com":           so("medium"),
	"flickr.com":           so("flickr"),
	"meetup.com":           so("meetup"),
	"douyin.com":           so("douyin"),
	"bilibili.com":         so("bilibili"),
	"zhihu.com":            so("zhihu"),
	"xiaohongshu.com":      so("xiaohongshu"),
	"douban.com":           so("douban"),
	"tieba.baidu.com":      so("tieba"),
	"blog.naver.com":       so("naver_blog"),
	"cafe.naver.com":       so("naver_cafe"),
	"kakao.com":            so("kakao"),
	"truthsocial.com":      so("truthsocial"),
	"mewe.com":             so("mewe"),
	"tumblr.co":            so("tumblr"),

	// --- webmail
	"outlook.live.com":        em("outlook"),
	"outlook.office.com":      em("outlook"),
	"outlook.office365.com":   em("outlook"),
	"outlook.cloud.microsoft": em("outlook"),
	"mail.aol.com":            em("aol"),
	"mail.proton.me":          em("proton"),
	"mail.protonmail.com":     em("proton"),
	"app.tuta.com":            em("tuta"),
	"mail.tutanota.com":       em("tuta"),
	"mail.zoho.com":           em("zoho"),
	"mail.zoho.eu":            em("zoho"),
	"e.mail.ru":               em("mail.ru"),
	"touch.mail.ru":           em("mail.ru"),
	"gmx.net":                 em("gmx"),
	"gmx.de":                  em("gmx"),
	"gmx.com":                 em("gmx"),
	"web.de":                  em("web.de"),
	"email.t-online.de":       em("t-online"),
	"mail.163.com":            em("163"),
	"mail.126.com":            em("126"),
	"mail.qq.com":             em("qq"),
	"icloud.com":              em("icloud"),
	"fastmail.com":            em("fastmail"),
	"hey.com":                 em("hey"),
	"mail.naver.com":          em("naver"),
	"mail.daum.net":           em("daum"),
	"mail.com":                em("mail.com"),
	"mail.rediff.com":         em("rediff"),
	"mail.seznam.cz":          em("seznam"),
	"email.seznam.cz":         em("seznam"),
	"post.cz":                 em("seznam"),
	"poczta.onet.pl":          em("onet"),
	"poczta.wp.pl":            em("wp"),
	"poczta.interia.pl":       em("interia"),
	"mail.sina.com.cn":        em("sina"),
	"mail.sohu.com":           em("sohu"),
	"mail.rambler.ru":         em("rambler"),
	"posteo.de":               em("posteo"),
	"mailbox.org":             em("mailbox.org"),
	"startmail.com":           em("startmail"),
	"connect.xfinity.com":     em("xfinity"),
	// ISPs' webmail. A host merely starting with mail., webmail. or email.
	// is no webmail: it is as often a company's own mail server, a
	// newsletter tool's click tracker (email.mg.example.com) or a site's
	// subdomain, so only hosts known to be a provider's webmail are listed.
	"webmail.bigpond.com": webmail,
	"webmail.xtra.co.nz":  webmail,
}

// apps maps Android package names (android-app:// referrers: Chrome on
// Android reports the app a page was opened from) to entries, in lower
// case. Package names are the apps' published identifiers.
var apps = map[string]entry{
	// Search.
	"com.google.android.googlequicksearchbox": google, // also Discover
	"com.google.android.apps.searchlite":      google,
	"com.microsoft.bing":                      se("bing"),
	"com.duckduckgo.mobile.android":           se("duckduckgo"),
	"com.yahoo.mobile.client.android.search":  yahoo,
	"ru.yandex.searchplugin":                  yandex,
	"com.yandex.searchapp":                    yandex,
	"com.baidu.searchbox":                     se("baidu"),
	"com.nhn.android.search":                  se("naver"),
	"com.ecosia.android":                      se("ecosia"),

	// Email.
	"com.google.android.gm":                em("gmail"),
	"com.google.android.gm.lite":           em("gmail"),
	"com.microsoft.office.outlook":         em("outlook"),
	"com.yahoo.mobile.client.android.mail": em("yahoo"),
	"com.samsung.android.email.provider":   em("samsung_email"),
	"com.android.email":                    em("android_email"),
	"ch.protonmail.android":                em("proton"),
	"de.tutao.tutanota":                    em("tuta"),
	"com.zoho.mail":                        em("zoho"),
	"com.readdle.spark":                    em("spark"),
	"me.bluemail.mail":                     em("bluemail"),
	"com.fsck.k9":                          em("k9"),
	"net.thunderbird.android":              em("thunderbird"),
	"de.gmx.mobile.android.mail":           em("gmx"),
	"de.web.mobile.android.mail":           em("web.de"),
	"ru.mail.mailapp":                      em("mail.ru"),
	"ru.yandex.mail":                       em("yandex"),
	"com.aol.mobile.aolapp":                em("aol"),
	"com.tencent.androidqqmail":            em("qq"),
	"com.netease.mail":                     em("163"),

	// Social networks and messengers.
	"com.facebook.katana":        so("facebook"),
	"com.facebook.lite":          so("facebook"),
	"com.facebook.orca":          so("facebook"),
	"com.facebook.mlite":         so("facebook"),
	"com.instagram.android":      so("instagram"),
	"com.instagram.lite":         so("instagram"),
	"com.instagram.barcelona":    so("threads"),
	"com.linkedin.android":       so("linkedin"),
	"com.linkedin.android.lite":  so("linkedin"),
	"com.twitter.android":        so("twitter"),
	"com.twitter.android.lite":   so("twitter"),
	"com.reddit.frontpage":       so("reddit"),
	"com.pinterest":              so("pinterest"),
	"com.google.android.youtube": so("youtube"),
	"com.zhiliaoapp.musically":   so("tiktok"),
	"com.ss.android.ugc.trill":   so("tiktok"),
	"com.snapchat.android":       so("snapchat"),
	"com.tumblr":                 so("tumblr"),
	"com.quora.android":          so("quora"),
	"com.medium.reader":          so("medium"),
	"com.nextdoor":               so("nextdoor"),
	"org.joinmastodon.android":   so("mastodon"),
	"xyz.blueskyweb.app":         so("bluesky"),
	"com.vkontakte.android":      so("vk"),
	"com.xing.android":           so("xing"),
	"com.sina.weibo":             so("weibo"),
	"com.whatsapp":               so("whatsapp"),
	"com.whatsapp.w4b":           so("whatsapp"),
	"org.telegram.messenger":     so("telegram"),
	"org.telegram.messenger.web": so("telegram"),
	"org.thunderdog.challegram":  so("telegram"),
	"com.slack":                  so("slack"),
	"com.discord":                so("discord"),
	"jp.naver.line.android":      so("line"),
	"com.kakao.talk":             so("kakao"),
	"com.tencent.mm":             so("wechat"),
	"com.viber.voip":             so("viber"),
	"org.thoughtcrime.securesms": so("signal"),

	// AI assistants.
	"com.openai.chatgpt":           ai("chatgpt"),
	"ai.perplexity.app.android":    ai("perplexity"),
	"com.anthropic.claude":         ai("claude"),
	"com.google.android.apps.bard": ai("gemini"),
	"com.microsoft.copilot":        ai("copilot"),
	"com.deepseek.chat":            ai("deepseek"),
}

// sourceNames classifies a bare utm_source/mtm_source (no medium given)
// that is a well-known platform name rather than a domain.
var sourceNames = map[string]entry{
	"google": google, "bing": se("bing", "q"), "yahoo": yahoo, "duckduckgo": se("duckduckgo", "q"),
	"baidu": se("baidu", "wd"), "yandex": yandex, "ecosia": se("ecosia", "q"), "naver": se("naver", "query"),
	"facebook": so("facebook"), "fb": so("facebook"), "instagram": so("instagram"), "ig": so("instagram"),
	"twitter": so("twitter"), "x": so("twitter"), "linkedin": so("linkedin"), "pinterest": so("pinterest"),
	"reddit": so("reddit"), "youtube": so("youtube"), "tiktok": so("tiktok"), "threads": so("threads"),
	"bluesky": so("bluesky"), "mastodon": so("mastodon"), "whatsapp": so("whatsapp"), "telegram": so("telegram"),
	"snapchat": so("snapchat"), "hackernews": so("hackernews"),
	"chatgpt": ai("chatgpt"), "openai": ai("chatgpt"), "perplexity": ai("perplexity"), "gemini": ai("gemini"),
	"claude": ai("claude"), "copilot": ai("copilot"), "deepseek": ai("deepseek"),
	"newsletter": em("newsletter"), "email": em("email"), "e-mail": em("email"), "mailchimp": em("mailchimp"),
	"klaviyo": em("klaviyo"), "brevo": em("brevo"), "sendinblue": em("brevo"), "gmail": em("gmail"),
	"outlook": em("outlook"),
}

// mediums maps a campaign medium, lower-cased with every character other
// than a-z and 0-9 removed ("Paid_Social" -> "paidsocial", "e-mail" ->
// "email"), to a channel medium. Media not listed fall back to the rules in
// campaignMedium.
var mediums = map[string]string{
	// paid
	"cpc": Paid, "ppc": Paid, "cpm": Paid, "cpv": Paid, "cpa": Paid, "cpp": Paid, "paid": Paid,
	"paidsearch": Paid, "paidsocial": Paid, "display": Paid, "banner": Paid, "native": Paid,
	"retargeting": Paid, "remarketing": Paid, "sem": Paid, "ads": Paid, "ad": Paid, "adwords": Paid,
	"shopping": Paid, "programmatic": Paid,
	// email
	"email": Email, "mail": Email, "newsletter": Email, "enewsletter": Email, "edm": Email,
	// social
	"social": Social, "socialnetwork": Social, "socialmedia": Social, "sm": Social,
	"organicsocial": Social, "socialorganic": Social, "sn": Social,
	// search
	"organic": Search, "organicsearch": Search, "seo": Search, "search": Search,
	// referral
	"referral": Referral, "referrer": Referral, "ref": Referral, "link": Referral,
	"affiliate": Referral, "affiliates": Referral, "partner": Referral,
	// AI assistants
	"ai": AI, "aiassistant": AI, "llm": AI, "chatbot": AI,
	// "no medium": ignored, the visit is classified by source or referrer
	"none": "", "direct": "", "notset": "",
}
