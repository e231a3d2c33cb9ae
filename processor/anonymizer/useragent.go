package anonymizer

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/ua-parser/uap-go/uaparser"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

// userAgent is what the anonymizer keeps of a user agent string.
type userAgent struct {
	name, version, osName, osVersion, device string
}

// userAgents parses user agent strings with ua-parser (uap-core's regexes,
// embedded in uap-go) and caches the reduced result: a site sees few
// distinct user agents, and a parse costs tens of microseconds.
type userAgents struct {
	parser *uaparser.Parser
	cache  *lru.Cache[string, userAgent]
}

func newUserAgents(cacheSize int) (*userAgents, error) {
	// uap-go keeps its own cache (it cannot be turned off; 0 panics): the
	// smallest one, as ours holds the reduced result.
	p, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		return nil, err
	}
	c, err := lru.New[string, userAgent](cacheSize)
	if err != nil {
		return nil, err
	}
	return &userAgents{parser: p, cache: c}, nil
}

// maxUserAgentLen bounds what is parsed; real user agents are far shorter.
const maxUserAgentLen = 512

func (u *userAgents) parse(s string) userAgent {
	if len(s) > maxUserAgentLen {
		s = s[:maxUserAgentLen]
	}
	if ua, ok := u.cache.Get(s); ok {
		return ua
	}
	c := u.parser.Parse(s)
	ua := userAgent{
		name:      known(c.UserAgent.Family),
		version:   c.UserAgent.Major,
		osName:    known(c.Os.Family),
		osVersion: c.Os.Major,
		device:    deviceClass(c, s),
	}
	if ua.name == "" {
		ua.version = ""
	}
	if ua.osName == "" {
		ua.osVersion = ""
	}
	u.cache.Add(strings.Clone(s), ua)
	return ua
}

// known drops ua-parser's "Other" (no match).
func known(family string) string {
	if family == "Other" {
		return ""
	}
	return family
}

// deviceClass maps ua-parser's device family and the OS to a coarse class.
// ua-parser names devices ("iPhone", "Samsung SM-G991B") but has no class,
// so the class comes from well-known markers. It describes the device
// only: whether the event came from a bot is the pixel receiver's decision
// (webjourney.bot.detected), which processRecord applies, so a crawler
// the receiver was told to keep (bots.action: keep) is classed by the
// device it claims to be, like any other user agent.
func deviceClass(c *uaparser.Client, s string) string {
	switch {
	case c.Device.Family == "iPad" || strings.Contains(s, "Tablet") ||
		c.Os.Family == "Android" && !strings.Contains(s, "Mobile"):
		return eventmodel.DeviceTablet
	case strings.Contains(s, "Mobi") || c.Device.Family == "iPhone" || c.Device.Family == "iPod" ||
		c.Os.Family == "iOS" || c.Os.Family == "Windows Phone":
		return eventmodel.DeviceMobile
	case c.Os.Family == "Windows" || c.Os.Family == "Mac OS X" || c.Os.Family == "Linux" ||
		c.Os.Family == "Ubuntu" || c.Os.Family == "Chrome OS" || c.Os.Family == "Fedora" || c.Os.Family == "FreeBSD":
		return eventmodel.DeviceDesktop
	}
	return eventmodel.DeviceOther
}

// put writes the reduced fields. It takes the map itself: an interface
// would box it, an allocation per event.
func (ua userAgent) put(attrs pcommon.Map) {
	for _, kv := range [...][2]string{
		{eventmodel.AttrUserAgentName, ua.name},
		{eventmodel.AttrUserAgentVersion, ua.version},
		{eventmodel.AttrUserAgentOSName, ua.osName},
		{eventmodel.AttrUserAgentOSVersion, ua.osVersion},
		{eventmodel.AttrDeviceClass, ua.device},
	} {
		if kv[1] != "" {
			attrs.PutStr(kv[0], kv[1])
		}
	}
}
