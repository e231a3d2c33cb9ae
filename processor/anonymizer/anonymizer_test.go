package anonymizer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadata"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/scrub"
)

func TestReduceAddress(t *testing.T) {
	for _, tc := range []struct {
		in         string
		v4, v6     int
		want       string
		wantParsed bool
	}{
		{"203.0.113.77", 3, 48, "203.0.113.0", true},
		{"203.0.113.77", 2, 48, "203.0.0.0", true},
		{"203.0.113.77", 0, 48, "0.0.0.0", true},
		{"2001:db8:1:2:3:4:5:6", 3, 48, "2001:db8:1::", true},
		{"2001:db8:1:2:3:4:5:6", 3, 0, "::", true},
		{"::ffff:192.0.2.200", 3, 48, "192.0.2.0", true},
		{"fe80::1%eth0", 3, 48, "fe80::", true},
		{"not-an-ip", 3, 48, "", false},
		{"", 3, 48, "", false},
		{"203.0.113.77:8080", 3, 48, "", false},
	} {
		got, ok := reduceAddress(tc.in, tc.v4, tc.v6)
		assert.Equal(t, tc.wantParsed, ok, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestUserAgentReduction(t *testing.T) {
	uas, err := newUserAgents(16)
	require.NoError(t, err)
	for ua, want := range map[string]userAgent{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36":                         {"Chrome", "140", "Windows", "10", eventmodel.DeviceDesktop},
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1": {"Mobile Safari", "18", "iOS", "18", eventmodel.DeviceMobile},
		"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1":          {"Mobile Safari", "17", "iOS", "17", eventmodel.DeviceTablet},
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36":                  {"Chrome Mobile", "131", "Android", "14", eventmodel.DeviceMobile},
		"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                          {"Chrome", "131", "Android", "13", eventmodel.DeviceTablet},
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; rv:133.0) Gecko/20100101 Firefox/133.0":                                                  {"Firefox", "133", "Mac OS X", "10", eventmodel.DeviceDesktop},
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                                                {"Googlebot", "2", "", "", eventmodel.DeviceOther},
		"": {"", "", "", "", eventmodel.DeviceOther},
	} {
		assert.Equal(t, want, uas.parse(ua), ua)
		assert.Equal(t, want, uas.parse(ua), "cached: "+ua)
	}
	long := strings.Repeat("Mozilla/5.0 ", 1000)
	assert.NotPanics(t, func() { uas.parse(long) })
}

// Whether an event is a bot is the receiver's decision
// (webjourney.bot.detected): such an event's device class is "bot",
// whatever its user agent claims, and a crawler's user agent on an event
// the receiver did not mark (bots.action: keep) is described as a device.
func TestBotDeviceClassIsTheReceiversDecision(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	const (
		googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
		headless  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36"
	)
	for _, tc := range []struct {
		ua        string
		marked    bool
		wantClass string
	}{
		{googlebot, true, eventmodel.DeviceBot},
		{googlebot, false, eventmodel.DeviceOther},
		{headless, true, eventmodel.DeviceBot}, // automation: a desktop browser, driven
		{headless, false, eventmodel.DeviceDesktop},
		{"", true, eventmodel.DeviceBot},
	} {
		ld := anonymousEvent("198.51.100.9", tc.ua)
		a := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
		if tc.ua == "" {
			a.Remove(eventmodel.AttrUserAgent)
		}
		if tc.marked {
			a.PutBool(eventmodel.AttrBot, true)
		}
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		class, _ := lastAttr(sink, eventmodel.AttrDeviceClass)
		assert.Equal(t, tc.wantClass, class, "%q marked %v", tc.ua, tc.marked)
	}
}

// No event-model attribute may be mistaken for a form value, or the
// anonymizer would drop it. (The one list of personal and secret names is
// scrub's: looksLikeFormValue was merged into it.)
func TestEventModelNamesAreNotFormValues(t *testing.T) {
	looksLikeFormValue := scrub.DeniedByDefault
	for _, n := range eventmodel.AttributeNames {
		if a, _ := eventmodel.Lookup(n); modelKind(a) == kindSkip || n == eventmodel.AttrProperties {
			continue
		}
		assert.False(t, looksLikeFormValue(n), n)
	}
	for _, n := range []string{"email", "user_email", "billingAddress", "first-name", "Phone", "card_number", "postCode", "dateOfBirth"} {
		assert.True(t, looksLikeFormValue(n), n)
	}
	for _, n := range []string{"plan", "seats", "sku", "color", "order", "app.version", "cart_value"} {
		assert.False(t, looksLikeFormValue(n), n)
	}
}

// The anonymizer's treatment of each attribute follows from the event
// model's class and writing stage.
func TestAttributeKindsFollowTheModel(t *testing.T) {
	kinds := attrKinds(map[string]bool{eventmodel.AttrVisitorID: true, eventmodel.AttrRoutingKey: true},
		map[string]bool{eventmodel.AttrSearchTerm: true})
	for name, want := range map[string]attrKind{
		eventmodel.AttrURLFull:          kindURL,
		eventmodel.AttrReferrerFull:     kindURL,
		eventmodel.AttrLinkURL:          kindURL,
		eventmodel.AttrURLPath:          kindPath,
		eventmodel.AttrFormAction:       kindPath,
		eventmodel.AttrURLQuery:         kindQuery,
		eventmodel.AttrURLFragment:      kindQuery,
		eventmodel.AttrReferrerQuery:    kindQuery,
		eventmodel.AttrPageTitle:        kindText,
		eventmodel.AttrCampaignSource:   kindText,
		eventmodel.AttrProperties:       kindProperties,
		eventmodel.AttrSessionID:        kindSkip,
		eventmodel.AttrClickIDValue:     kindSkip,
		eventmodel.AttrTCFString:        kindSkip,
		eventmodel.AttrClientAddress:    kindSkip,
		eventmodel.AttrConsentReason:    kindSkip,
		eventmodel.AttrVisitorID:        kindPseudonymize,
		eventmodel.AttrSearchTerm:       kindRecoverable,
		eventmodel.AttrRoutingKey:       kindRemove, // even when listed in pseudonymize
		eventmodel.AttrVisitLandingPage: kindText,   // the attribution processor's: here only from outside
		eventmodel.AttrChannelMedium:    kindText,
		eventmodel.AttrErasureSubject:   kindText,
	} {
		assert.Equal(t, want, kinds[name], name)
	}
	for _, n := range eventmodel.AttributeNames {
		_, ok := kinds[n]
		assert.True(t, ok, "%s has no kind", n)
	}
}

func newTestAnonymizer(t *testing.T, cfg *Config, host component.Host) (processor.Logs, *consumertest.LogsSink) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), host))
	return p, sink
}

func anonymousEvent(addr, ua string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventmodel.EventPageView)
	a := lr.Attributes()
	a.PutStr(eventmodel.AttrSiteID, "shop")
	a.PutStr(eventmodel.AttrConsentDecision, eventmodel.DecisionAnonymous)
	a.PutStr(eventmodel.AttrClientAddress, addr)
	a.PutStr(eventmodel.AttrUserAgent, ua)
	return ld
}

func lastAttr(sink *consumertest.LogsSink, k string) (string, bool) {
	all := sink.AllLogs()
	lr := all[len(all)-1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	v, ok := lr.Attributes().Get(k)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// An anonymous event keeps neither address nor user agent, only the
// cookieless key, which is the same for the same browser within the period.
func TestAnonymousEventsKeepNoAddressOrUserAgent(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	cfg.UserAgent.KeepOriginal = true // never for anonymous events
	p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"
	keys := map[string]bool{}
	for _, addr := range []string{"198.51.100.9", "198.51.100.9", "198.51.100.10"} {
		require.NoError(t, p.ConsumeLogs(context.Background(), anonymousEvent(addr, chrome)))
		_, hasAddr := lastAttr(sink, eventmodel.AttrClientAddress)
		_, hasUA := lastAttr(sink, eventmodel.AttrUserAgent)
		assert.False(t, hasAddr)
		assert.False(t, hasUA)
		class, _ := lastAttr(sink, eventmodel.AttrDeviceClass)
		assert.Equal(t, eventmodel.DeviceDesktop, class)
		key, ok := lastAttr(sink, eventmodel.AttrCookielessKey)
		require.True(t, ok)
		assert.NotContains(t, key, "198.51")
		keys[key] = true
	}
	assert.Len(t, keys, 2, "same browser, same key; another address, another key")
}

// With a storage extension the salts, and so the cookieless keys, survive
// a restart; the real file_storage extension keeps them.
func TestCookielessKeySurvivesRestartWithStorage(t *testing.T) {
	dir := t.TempDir()
	storageID := component.MustNewID("file_storage")
	startHost := func() (component.Host, extension.Extension) {
		f := filestorage.NewFactory()
		scfg := f.CreateDefaultConfig().(*filestorage.Config)
		scfg.Directory = dir
		ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), scfg)
		require.NoError(t, err)
		require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
		return hostWith{storageID: ext}, ext
	}
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	cfg.Cookieless.Storage = &storageID

	const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
	key := func() string {
		host, ext := startHost()
		p, sink := newTestAnonymizer(t, cfg, host)
		require.NoError(t, p.ConsumeLogs(context.Background(), anonymousEvent("192.0.2.1", ua)))
		require.NoError(t, p.Shutdown(context.Background()))
		require.NoError(t, ext.Shutdown(context.Background()))
		k, _ := lastAttr(sink, eventmodel.AttrCookielessKey)
		return k
	}
	first := key()
	require.NotEmpty(t, first)
	assert.Equal(t, first, key(), "the salt came back from file_storage")

	// Without the storage, a restart means a new salt.
	cfg.Cookieless.Storage = nil
	p, sink := newTestAnonymizer(t, cfg, componenttest.NewNopHost())
	require.NoError(t, p.ConsumeLogs(context.Background(), anonymousEvent("192.0.2.1", ua)))
	require.NoError(t, p.Shutdown(context.Background()))
	other, _ := lastAttr(sink, eventmodel.AttrCookielessKey)
	assert.NotEqual(t, first, other)
}

func TestStorageMustExist(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	id := component.MustNewID("file_storage")
	cfg.Cookieless.Storage = &id
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	assert.ErrorContains(t, p.Start(context.Background(), componenttest.NewNopHost()), `cookieless::storage: no extension "file_storage"`)
}

type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

// A visit across midnight: in the first minutes of a day, anonymous events
// also carry the key under yesterday's salt, which equals the key their
// browser had yesterday; later in the day they do not.
func TestCookielessKeyAcrossMidnight(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	set := processortest.NewNopSettings(metadata.Type)
	p, err := newAnonymizer(set, cfg)
	require.NoError(t, err)
	clock := time.Date(2026, 11, 23, 23, 50, 0, 0, time.UTC)
	p.now = func() time.Time { return clock }
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))

	const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
	keys := func() (cur, prev string) {
		ld := anonymousEvent("192.0.2.1", ua)
		_, err := p.processLogs(context.Background(), ld)
		require.NoError(t, err)
		a := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
		c, _ := a.Get(eventmodel.AttrCookielessKey)
		if v, ok := a.Get(eventmodel.AttrCookielessKeyPrevious); ok {
			prev = v.Str()
		}
		return c.Str(), prev
	}
	before, prev := keys()
	assert.Empty(t, prev, "late in the day, no previous key")
	clock = clock.Add(20 * time.Minute) // 00:10 the next day
	after, prev := keys()
	assert.NotEqual(t, before, after, "a new day, a new salt")
	assert.Equal(t, before, prev, "the previous key joins the visit")
	clock = clock.Add(time.Hour)
	_, prev = keys()
	assert.Empty(t, prev, "after the overlap, no previous key")
}

// A query attribute and its full URL are scrubbed the same way, and their
// redactions counted once, whatever order the attributes come in (an OTLP
// client may send url.query before url.full), and the referrer's parts
// are scrubbed like the page URL's.
func TestURLPartsScrubbedOnceInAnyOrder(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	p, err := newAnonymizer(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.shutdown(context.Background())) })

	const query = "email=jane%40example.com&color=red&note=call+%2B44+7700+900123"
	parts := [][2]string{
		{eventmodel.AttrURLFull, "https://shop.example/p?" + query},
		{eventmodel.AttrURLQuery, query},
		{eventmodel.AttrReferrerFull, "https://mail.example/inbox/jane@example.com?" + query},
		{eventmodel.AttrReferrerPath, "/inbox/jane@example.com"},
		{eventmodel.AttrReferrerQuery, query},
	}
	scrubbed := func(order []int) (map[string]any, counter) {
		a := pcommon.NewMap()
		a.PutStr(eventmodel.AttrSiteID, "shop")
		for _, i := range order {
			a.PutStr(parts[i][0], parts[i][1])
		}
		var c counter
		require.NoError(t, p.processRecord(context.Background(), a, 0, &c))
		return a.AsRaw(), c
	}
	want, wantCounts := scrubbed([]int{0, 1, 2, 3, 4})
	for _, order := range [][]int{{1, 0, 4, 3, 2}, {4, 1, 2, 0, 3}} {
		got, counts := scrubbed(order)
		assert.Equal(t, want, got, "order %v", order)
		assert.Equal(t, wantCounts, counts, "order %v: redactions counted once", order)
	}
	for k, v := range want {
		assert.NotContains(t, v, "jane", k)
		assert.NotContains(t, v, "7700", k)
	}
	assert.Equal(t, "color=red&note=call+[phone]", want[eventmodel.AttrURLQuery])
	assert.Equal(t, want[eventmodel.AttrURLQuery], want[eventmodel.AttrReferrerQuery])
	assert.Equal(t, "/inbox/[email]", want[eventmodel.AttrReferrerPath])
}

// Imported history: an anonymous event older than the salts' previous
// period is keyed under a salt of its own period, so one browser's
// anonymous events link within a past day (a visit) and not across days,
// nor with its live events; it carries no previous-period key.
func TestCookielessKeyOfPastEvents(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	p, err := newAnonymizer(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))

	const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
	keyAt := func(at time.Time) string {
		ld := anonymousEvent("192.0.2.1", ua)
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
		_, err := p.processLogs(context.Background(), ld)
		require.NoError(t, err)
		assert.NotContains(t, lr.Attributes().AsRaw(), eventmodel.AttrCookielessKeyPrevious)
		k, ok := lr.Attributes().Get(eventmodel.AttrCookielessKey)
		require.True(t, ok)
		return k.Str()
	}
	live := keyAt(now.Add(-time.Minute))
	day1a, day1b := keyAt(time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)), keyAt(time.Date(2026, 10, 5, 9, 20, 0, 0, time.UTC))
	day2 := keyAt(time.Date(2026, 10, 12, 9, 0, 0, 0, time.UTC))
	assert.Equal(t, day1a, day1b, "one past day: one key")
	assert.NotEqual(t, day1a, day2, "two past days: not linked")
	assert.NotEqual(t, day1a, live, "history and live: not linked")
	assert.NotEqual(t, day2, live)
	assert.Equal(t, live, keyAt(now.Add(-2*time.Hour)), "live events keep the current salt")
}
