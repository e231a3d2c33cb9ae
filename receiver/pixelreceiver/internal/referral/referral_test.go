package referral

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"
	"github.com/webjourney/webjourney/receiver/pixelreceiver/internal/webevent"
)

// testPartners is the configuration testdata/partners.tsv is labelled for.
func testPartners() *Detector {
	return New([]Partner{
		{Name: "ArchiPro", Param: "__apid", Domains: []string{"archipro.co.nz", "archipro.com.au"}, Window: 720 * time.Hour},
		{Name: "Trackier", Param: "tk_click", Domains: []string{"trackier.io"}, Window: 24 * time.Hour},
	})
}

// landing runs the detector on a page view as the receiver does: on the
// parts its URL parser split the page URL and the referrer into.
func landing(t testing.TB, d *Detector, pageURL, referrer string) (*Partner, string) {
	page, err := pageurl.Parse(pageURL)
	require.NoError(t, err)
	var refHost string
	if referrer != "" {
		ref, err := pageurl.Parse(referrer)
		require.NoError(t, err)
		refHost = ref.Domain
	}
	return d.Landing(page.Query, refHost, webevent.ValidID)
}

func TestLabelledLandings(t *testing.T) {
	f, err := os.Open("testdata/partners.tsv")
	require.NoError(t, err)
	defer f.Close()
	d := testPartners()
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		require.Len(t, cols, 3, line)
		ref := cols[2]
		if ref == "-" {
			ref = ""
		}
		p, _ := landing(t, d, cols[1], ref)
		got := "-"
		if p != nil {
			got = p.Name
		}
		assert.Equal(t, cols[0], got, "landing %s, referrer %s", cols[1], cols[2])
		rows++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 16, rows)
}

func TestLanding(t *testing.T) {
	d := testPartners()
	for _, tc := range []struct {
		name, url, referrer string
		partner, clickID    string
	}{
		{"click id", "https://shop.example/?__apid=ap-1", "", "ArchiPro", "ap-1"},
		{"escaped click id", "https://shop.example/?tk_click=a%2Eb", "", "Trackier", "a.b"},
		{"the first partner parameter in the query wins", "https://shop.example/?tk_click=t1&__apid=a1", "", "Trackier", "t1"},
		{"an invalid click id is no landing", "https://shop.example/?__apid=a%20b", "", "", ""},
		{"the click id wins over the referrer", "https://shop.example/?tk_click=t1", "https://archipro.co.nz/", "Trackier", "t1"},
		{"referrer: no click id", "https://shop.example/", "https://blog.archipro.com.au/x", "ArchiPro", ""},
		{"referrer with a trailing dot", "https://shop.example/", "https://archipro.co.nz./", "ArchiPro", ""},
		{"neither", "https://shop.example/?gclid=x", "https://www.google.com/", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, id := landing(t, d, tc.url, tc.referrer)
			name := ""
			if p != nil {
				name = p.Name
			}
			assert.Equal(t, tc.partner, name)
			assert.Equal(t, tc.clickID, id)
		})
	}
	var none *Detector
	p, _ := none.Landing("__apid=1", "archipro.co.nz", webevent.ValidID)
	assert.Nil(t, p, "a site without partners")
	assert.Nil(t, none.ByName("ArchiPro"))
	assert.Equal(t, 720*time.Hour, d.ByName("ArchiPro").Window)
	assert.Nil(t, d.ByName("archipro"), "names are exact, like the referral cookie")
}

func TestStripClickIDs(t *testing.T) {
	d := testPartners()
	for _, tc := range []struct{ query, want string }{
		{"__apid=ap-1", ""},
		{"utm_source=x&__apid=ap-1&q=2", "utm_source=x&q=2"},
		{"tk_click=t1&__apid=a1", ""},
		{"__apid=a%20b&__apid", ""}, // any value, even none: it is the partner's parameter
		{"apid=1&x__apid=2", "apid=1&x__apid=2"},
		{"", ""},
	} {
		got, changed := d.StripClickIDs(tc.query)
		assert.Equal(t, tc.want, got, tc.query)
		assert.Equal(t, tc.want != tc.query, changed, tc.query)
	}
	var none *Detector
	got, changed := none.StripClickIDs("__apid=1")
	assert.Equal(t, "__apid=1", got)
	assert.False(t, changed)
}

func TestCheckDomain(t *testing.T) {
	for _, ok := range []string{"archipro.co.nz", "Partner.Example", "a-b.example.com", "localhost"} {
		assert.NoError(t, CheckDomain(ok), ok)
	}
	for _, bad := range []string{"", "co.nz", "com", "github.io", "https://partner.example/", "partner.example:8080", ".partner.example", "partner.example.", "*.partner.example", "a..b"} {
		assert.Error(t, CheckDomain(bad), bad)
	}
}

func BenchmarkLanding(b *testing.B) {
	d := testPartners()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = d.Landing("color=red&utm_source=newsletter&utm_medium=email&page=2", "www.google.com", webevent.ValidID)
	}
}
