package kibana_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/esclient"
	em "github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/funnelcheck"
	"github.com/webjourney/webjourney/test/storetest"
	"github.com/webjourney/webjourney/test/testenv"
	"github.com/webjourney/webjourney/test/vegarender"
)

// syntheticFunnels are the funnels of the synthetic records: one of each
// scope and order, 3 to 5 steps.
var syntheticFunnels = []struct {
	name, scope, order string
	steps              []string
	gap                time.Duration // typical time between steps
}{
	{"checkout", em.FunnelScopeVisit, em.FunnelOrderAny, []string{"product", "cart", "checkout", "payment"}, 2 * time.Minute},
	{"onboarding", em.FunnelScopeVisitor, em.FunnelOrderAny, []string{"signed_up", "profile", "first_project", "invite", "upgrade"}, 30 * time.Hour},
	{"signup", em.FunnelScopeVisit, em.FunnelOrderStrict, []string{"pricing", "form", "confirm"}, 40 * time.Second},
}

// syntheticFunnelRecords makes funnel records as the attribution processor
// writes them: per funnel 40 to 70 visitors, each stopping at a random
// step (later steps rarer), with channels (direct has no source, so it is
// in no channel row), devices and next pages (or none) of abandoned ones.
func syntheticFunnelRecords(t0 time.Time) []funnelcheck.Record {
	rng := rand.New(rand.NewPCG(20261202, 14))
	channels := [][2]string{{em.MediumSearch, "google"}, {em.MediumSocial, "facebook"}, {em.MediumEmail, "newsletter"}, {em.MediumDirect, ""}, {em.MediumPaid, "google"}}
	devices := []string{em.DeviceDesktop, em.DeviceMobile, em.DeviceTablet}
	pages := []string{"/", "/pricing", "/help/shipping", "/product/2", "", "/contact", "/blog/launch"}
	var out []funnelcheck.Record
	for fi, f := range syntheticFunnels {
		for v := range 40 + 15*fi {
			ch := channels[rng.IntN(len(channels))]
			r := funnelcheck.Record{
				Site: "shop", Visitor: fmt.Sprintf("v-%s-%03d", f.name, v), Funnel: f.name, Scope: f.scope, Order: f.order,
				Steps: f.steps, Attempts: 1 + rng.IntN(2), VisitID: fmt.Sprintf("visit-%s-%03d", f.name, v),
				Medium: ch[0], Source: ch[1], Device: devices[rng.IntN(len(devices))], Country: "NZ",
			}
			at := t0.Add(time.Duration(rng.IntN(20*24)) * time.Hour)
			r.At = append(r.At, at)
			for len(r.At) < len(f.steps) && rng.IntN(100) < 78 {
				at = at.Add(time.Duration(rng.Int64N(int64(2*f.gap))) + time.Second)
				r.At = append(r.At, at)
			}
			if !r.Completed() {
				r.NextPage = pages[rng.IntN(len(pages))]
			}
			out = append(out, r)
		}
	}
	return out
}

// TestFunnelPanelsOnStoredRecords indexes synthetic funnel records (made as
// the attribution processor makes them, encoded by the exporter's encoder)
// into the exporter's funnels index in the real Elasticsearch, then checks
// every panel of the Funnels dashboard against numbers computed from the
// records (funnelcheck): the Vega funnel chart and abandonment panel as the
// real vega package renders them, and the Lens tables' equivalent queries.
// The pictures in docs/ come from test/e2e's TestFunnels (the real
// pipeline); these are rasterised only to prove they can be.
func TestFunnelPanelsOnStoredRecords(t *testing.T) {
	es, prefix := storetest.NewClient(t)
	client, err := esclient.New(esclient.Options{Endpoints: []string{es.URL}})
	require.NoError(t, err)
	store := journeystore.New(client.Client, journeystore.Layout{Prefix: prefix})
	t.Cleanup(func() { require.NoError(t, store.Close(context.Background())) })
	_, err = store.InstallTemplates(context.Background(), false)
	require.NoError(t, err)

	recs := syntheticFunnelRecords(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC))
	enc := journeystore.NewEncoder(prefix, time.Now(), nil)
	for i, r := range recs {
		ld := storetest.MakeLogs(r.Fill(fmt.Sprintf("funnel-%04d", i), int64(1000+i)))
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		doc, d := enc.Append(nil, lr)
		require.Empty(t, d.Problem)
		require.Equal(t, journeystore.FamilyFunnels, d.Family)
		status, body := es.Do(http.MethodPut, fmt.Sprintf("/%s/_doc/%s?version=%d&version_type=external", d.Index, d.ID, d.Version), json.RawMessage(doc))
		require.Less(t, status, 300, string(body))
	}
	es.Do(http.MethodPost, "/"+prefix+"-funnels/_refresh", nil)
	require.Equal(t, len(recs), es.CountIndex(prefix+"-funnels"))

	chart, next := funnelcheck.Check(t, es.Do, prefix, recs)
	writePicture(t, "funnels", chart)
	writePicture(t, "funnels-next", next)
}

// writePicture rasterises a rendered panel with Chromium and writes it
// into a temporary directory.
func writePicture(t *testing.T, name string, res vegarender.Result) {
	t.Helper()
	png, err := vegarender.PNG(testenv.Browser(t, time.Minute), res.SVG)
	require.NoError(t, err, "rasterising %s", name)
	dir := t.TempDir()
	for file, b := range map[string][]byte{name + ".svg": []byte(res.SVG), name + ".png": png} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, file), b, 0o644))
	}
}
