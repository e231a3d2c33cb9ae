package anonymizer

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/processor/anonymizer/internal/metadata"
)

// FuzzPageURL: a page URL and the parts the pixel receiver derives from it
// (decoded path, raw query, fragment) go through the anonymizer: nothing
// panics, the decoded path is taken from the scrubbed URL only when it is
// that URL's path, and a second pass changes nothing.
func FuzzPageURL(f *testing.F) {
	for _, s := range []string{
		"https://shop.example/contact/Handy%200664%2F1234567?x=1",
		"https://shop.example/contact/call-%2B44%2020%207946%200958/x#call-0612345678",
		"https://shop.example/tickets/1234-5678-90?order_id=0612345678&first_name=Jane",
		"https://wa.me/4915112345678", "/relative/jane%40example.com", "https://shop.example",
		"https://shop.example/%zz/0612345678", "https://shop.example/a;jsessionid=ABC/b?c#/d?phone=1",
	} {
		f.Add(s)
	}
	cfg := createDefaultConfig()
	cfg.Secret.File = "testdata/secret.key"
	p, err := newAnonymizer(processortest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		f.Fatal(err)
	}
	if err := p.start(context.Background(), componenttest.NewNopHost()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = p.shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, raw string) {
		a := pcommon.NewMap()
		a.PutStr(eventmodel.AttrSiteID, "shop")
		a.PutStr(eventmodel.AttrConsentDecision, eventmodel.DecisionKeep)
		a.PutStr(eventmodel.AttrURLFull, raw)
		if u, err := url.Parse(raw); err == nil {
			a.PutStr(eventmodel.AttrURLPath, u.Path)
			a.PutStr(eventmodel.AttrURLQuery, u.RawQuery)
			a.PutStr(eventmodel.AttrURLFragment, u.Fragment)
		}
		var counts counter
		if err := p.processRecord(context.Background(), a, 0, &counts); err != nil {
			t.Fatal(err)
		}
		once := a.AsRaw()
		if err := p.processRecord(context.Background(), a, 0, &counts); err != nil {
			t.Fatal(err)
		}
		for k, v := range a.AsRaw() {
			if s, ok := v.(string); ok && s != once[k] && !strings.HasPrefix(k, "webjourney.visitor") {
				t.Fatalf("%s not a fixed point: %q -> %q (URL %q)", k, once[k], s, raw)
			}
		}
	})
}
