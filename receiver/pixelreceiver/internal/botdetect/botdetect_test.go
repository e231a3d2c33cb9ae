package botdetect

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/webjourney/webjourney/test/testenv"
)

// browsers are real user agents of current browsers; none may be a bot.
var browsers = []string{
	// Chrome desktop (Windows, macOS, Linux, ChromeOS)
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	// Chrome Android, Chrome iOS
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
	// Firefox desktop and mobile
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
	"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
	"Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
	// Safari macOS, iOS, iPadOS
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
	// Edge desktop and Android
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64",
	// Samsung Internet
	"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
	// Android WebView
	"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36",
	// Opera, Brave-like, Vivaldi, in-app (Instagram) browser
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Vivaldi/6.7.3329.21",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 329.0.3.25.97 (iPhone14,5; iOS 17_4; en_US; en; scale=3.00; 1170x2532; 590165563)",
}

// bots are well-known bot user agents, checked even without the list's
// instances at hand.
var bots = []string{
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.91 Safari/537.36",
	"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
	"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
	"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
	"curl/8.5.0",
	"Wget/1.21.4",
	"python-requests/2.31.0",
	"Go-http-client/1.1",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
}

func TestBrowsersAreNotBots(t *testing.T) {
	for _, ua := range browsers {
		if p, ok := Match(ua); ok {
			t.Errorf("browser detected as bot by %q: %s", p, ua)
		}
	}
}

func TestKnownBots(t *testing.T) {
	for _, ua := range bots {
		if !IsBot(ua) {
			t.Errorf("not detected: %s", ua)
		}
		// Matching is case-sensitive like the list, but a bot shouting
		// its name is still found when the pattern allows it.
	}
}

func TestEmptyIsNotBot(t *testing.T) {
	if IsBot("") {
		t.Error(`IsBot("") = true; callers decide about empty user agents`)
	}
	for _, ua := range []string{"a", "ab", "abc", "\x00\xff\xfe"} {
		IsBot(ua) // must not panic
	}
}

func TestLongUserAgent(t *testing.T) {
	long := strings.Repeat("Mozilla/5.0 ", 1000) + "Googlebot/2.1"
	if IsBot(long) {
		t.Error("bot name beyond MaxUserAgentLen should not be examined")
	}
	if !IsBot("Googlebot/2.1 " + strings.Repeat("x", 10000)) {
		t.Error("bot name at start of long user agent not found")
	}
}

// bruteForce matches every pattern's regexp, the reference IsBot must agree
// with.
func bruteForce(ua string) bool {
	if len(ua) > MaxUserAgentLen {
		ua = ua[:MaxUserAgentLen]
	}
	for i := range patterns {
		if regexpFor(uint16(i)).MatchString(ua) {
			return true
		}
	}
	return false
}

func TestPrefilterAgreesWithRegexps(t *testing.T) {
	for _, ua := range append(append([]string{}, browsers...), bots...) {
		if IsBot(ua) != bruteForce(ua) {
			t.Errorf("IsBot disagrees with the full list on %q", ua)
		}
	}
}

func loadList(t *testing.T) []struct {
	Pattern   string   `json:"pattern"`
	Instances []string `json:"instances"`
} {
	t.Helper()
	raw, err := os.ReadFile(testenv.Fetched(t, testenv.CrawlerList))
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Pattern   string   `json:"pattern"`
		Instances []string `json:"instances"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestListInstances checks every example user agent the list gives for its
// patterns, and that the generated file matches the installed list.
func TestListInstances(t *testing.T) {
	list := loadList(t)
	if len(list) != len(patterns) {
		t.Fatalf("list has %d patterns, generated file %d: run go generate", len(list), len(patterns))
	}
	n := 0
	for i, e := range list {
		if e.Pattern != patterns[i].re {
			t.Fatalf("pattern %d differs from generated file: run go generate", i)
		}
		re := regexp.MustCompile(e.Pattern)
		for _, ua := range e.Instances {
			n++
			if !re.MatchString(ua) {
				// The list's own example does not match its pattern.
				t.Logf("list inconsistency: %q does not match %q", ua, e.Pattern)
				continue
			}
			if !IsBot(ua) {
				t.Errorf("instance of %q not detected: %s", e.Pattern, ua)
			}
			// Case variants exercise the case-insensitive prefilter
			// against the case-sensitive patterns. The reference is
			// slow (every regexp), so only a sample is checked.
			if n%10 != 0 {
				continue
			}
			for _, v := range []string{strings.ToUpper(ua), strings.ToLower(ua)} {
				if IsBot(v) != bruteForce(v) {
					t.Errorf("IsBot disagrees with the full list on %q", v)
				}
			}
		}
	}
	t.Logf("%d instances of %d patterns checked", n, len(list))
}
