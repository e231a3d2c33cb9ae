package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/internal/eventmodel"
	"github.com/webjourney/webjourney/internal/journeystore"
)

const hostileSite = "e2e-hostile"

// TestHostileInput (issue 22) runs the built collector against the real
// Elasticsearch: requests with ambiguous HTTP/1.1 framing are refused with
// 400 and a closed connection, and nothing of them, nor of a request
// smuggled in their body, is stored; page views whose TC string is
// malformed or an unfilled ad-server macro are stored, decided as no
// consent with their reason; with gdpr=0 the string is ignored.
func TestHostileInput(t *testing.T) {
	store, prefix, listen := startPipeline(t, pipeline{
		pixel: fmt.Sprintf(`    bots: {action: keep}
    sites:
      - id: %s
        consent: {required: false}`, hostileSite),
		processors: "  consent:\n    default: opt_out\n    tcf: {vendor_id: 0}\n",
		order:      []string{"consent"},
	})

	hidden := func(eid string) string {
		return "GET /p.gif?" + url.Values{"s": {hostileSite}, "eid": {eid}, "url": {"https://shop.example/hidden"}}.Encode() +
			" HTTP/1.1\r\nHost: " + listen + "\r\n\r\n"
	}
	framings := map[string]string{
		"cl-te": "POST /b HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s",
		"cl-cl": "POST /b HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n%s",
		"obs-fold": "POST /b HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nTransfer-Encoding:\r\n chunked\r\n" +
			"Content-Length: 0\r\n\r\n%s",
		"bare-lf": "GET /p.gif?s=" + hostileSite + "&eid=smuggle-bare-lf-outer HTTP/1.1\nHost: %s\n\n%s",
	}
	var refused []string
	for name, raw := range framings {
		eid := "smuggle-" + name
		refused = append(refused, eid)
		status, closed := sendRaw(t, listen, fmt.Sprintf(raw, listen, hidden(eid)))
		if status != http.StatusBadRequest || !closed {
			t.Errorf("%s: answered %d, connection closed %v; want 400 and closed", name, status, closed)
		}
	}
	refused = append(refused, "smuggle-bare-lf-outer")

	// Malformed TC strings and unfilled macros keep the page view.
	tcCases := []struct{ eid, gdpr, tc, reason string }{
		{"tc-macro", "1", "${GDPR_CONSENT_755}", "tcf_unexpanded_macro"},
		{"tc-macro-flag", "${GDPR}", "", "tcf_unexpanded_macro"},
		{"tc-padding", "1", "CPx7lMAPx7lMAAHABBENCZCsAP_AAH_AAAAAIqtf==", "tcf_malformed"},
		{"tc-space", "1", "CPx7lMA Px7lMA", "tcf_malformed"},
		{"tc-gdpr0", "0", "${GDPR_CONSENT_755}", ""},
	}
	for _, tc := range tcCases {
		q := url.Values{"s": {hostileSite}, "eid": {tc.eid}, "url": {"https://shop.example/ad-landing"}, "gdpr": {tc.gdpr}}
		if tc.tc != "" {
			q.Set("gdpr_consent", tc.tc)
		}
		pixel(t, "http://"+listen+"/p.gif?"+q.Encode(), nil)
	}
	// A last, well-formed hit: once it is stored, anything sent before it
	// would be too.
	pixel(t, "http://"+listen+"/p.gif?"+url.Values{"s": {hostileSite}, "eid": {"after"}, "url": {"https://shop.example/"}}.Encode(), nil)

	var docs map[string]map[string]any
	eventually(t, 60*time.Second, "the page views", func() bool {
		docs = store.searchHits(storeIndex(prefix, journeystore.FamilyEvents), map[string]any{"match_all": map[string]any{}})
		return docs["after"] != nil && len(docs) >= len(tcCases)+1
	})
	for _, eid := range refused {
		if docs[eid] != nil {
			t.Errorf("%s: a request refused for its framing was stored: %v", eid, docs[eid])
		}
	}
	for _, tc := range tcCases {
		d := docs[tc.eid]
		if d == nil {
			t.Errorf("%s: the page view with TC string %q was lost", tc.eid, tc.tc)
			continue
		}
		reason, _ := d[eventmodel.AttrConsentReason].(string)
		if tc.reason != "" && reason != tc.reason {
			t.Errorf("%s: consent reason %q, want %q (%v)", tc.eid, reason, tc.reason, d)
		}
		if tc.reason == "" && strings.HasPrefix(reason, "tcf_") {
			t.Errorf("%s: gdpr=0 but the TC string was read: %q", tc.eid, reason)
		}
		for k, v := range d {
			if s, ok := v.(string); ok && strings.Contains(s, "GDPR") {
				t.Errorf("%s: %s = %q: the malformed string was stored", tc.eid, k, s)
			}
		}
	}
	if len(docs) != len(tcCases)+1 {
		t.Errorf("stored %d documents, want %d: %v", len(docs), len(tcCases)+1, docs)
	}
}

// sendRaw writes raw to a new connection and returns the status of the
// first answer and whether the server then closed the connection.
func sendRaw(t *testing.T, addr, raw string) (status int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// A second answer (to the smuggled request) or EOF.
	_, err = br.ReadByte()
	return resp.StatusCode, err == io.EOF
}
