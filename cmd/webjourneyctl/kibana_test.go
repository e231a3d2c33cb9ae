package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/kibana"
)

const savedObjectsFile = "../../kibana/saved_objects.ndjson"

// kibanaRequest is what the stand-in Kibana recorded of one request.
type kibanaRequest struct {
	method, path, query, xsrf, auth, contentType string
	fileName                                     string
	fileFields                                   []string // names of the multipart fields
	file                                         []byte
}

// fakeKibana stands in for Kibana's saved objects import API (Kibana
// cannot run here): it records each request, parses its multipart body and
// answers with status and body; with body empty it answers like Kibana
// for a full success, from the uploaded objects.
type fakeKibana struct {
	*httptest.Server
	mu       sync.Mutex
	requests []kibanaRequest
	status   int
	body     string
}

func newFakeKibana(t *testing.T, tlsServer bool, status int, body string) *fakeKibana {
	k := &fakeKibana{status: status, body: body}
	h := http.HandlerFunc(k.serve)
	if tlsServer {
		k.Server = httptest.NewTLSServer(h)
	} else {
		k.Server = httptest.NewServer(h)
	}
	t.Cleanup(k.Close)
	return k
}

func (k *fakeKibana) serve(w http.ResponseWriter, r *http.Request) {
	rec := kibanaRequest{
		method: r.Method, path: r.URL.Path, query: r.URL.RawQuery,
		xsrf: r.Header.Get("kbn-xsrf"), auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"),
	}
	if mt, params, err := mime.ParseMediaType(rec.contentType); err == nil && mt == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			rec.fileFields = append(rec.fileFields, p.FormName())
			if p.FormName() == "file" {
				rec.fileName = p.FileName()
				rec.file, _ = io.ReadAll(p)
			}
		}
	}
	k.mu.Lock()
	k.requests = append(k.requests, rec)
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	body := k.body
	if body == "" {
		body = successAnswer(rec.file)
	}
	w.WriteHeader(k.status)
	_, _ = io.WriteString(w, body)
}

func (k *fakeKibana) recorded() []kibanaRequest {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]kibanaRequest(nil), k.requests...)
}

// successAnswer is Kibana's answer when every object of ndjson imports.
func successAnswer(ndjson []byte) string {
	type result struct {
		Type      string            `json:"type"`
		ID        string            `json:"id"`
		Meta      map[string]string `json:"meta"`
		Overwrite bool              `json:"overwrite"`
	}
	var results []result
	for _, line := range bytes.Split(ndjson, []byte("\n")) {
		var o struct {
			Type, ID   string
			Attributes struct{ Title string }
		}
		if json.Unmarshal(line, &o) == nil {
			results = append(results, result{o.Type, o.ID, map[string]string{"title": o.Attributes.Title, "icon": "app"}, true})
		}
	}
	b, _ := json.Marshal(map[string]any{"success": true, "successCount": len(results), "successResults": results, "warnings": []any{}})
	return string(b)
}

func importArgs(url string, extra ...string) []string {
	return append([]string{"kibana", "import", "--url", url, "--file", savedObjectsFile}, extra...)
}

func TestKibanaImportSuccessIdempotent(t *testing.T) {
	k := newFakeKibana(t, false, http.StatusOK, "")
	t.Setenv("WJ_TEST_API_KEY", testAPIKey)
	args := importArgs(k.URL+"/", "--api-key-env", "WJ_TEST_API_KEY")
	first := runCmd("", args...)
	require.Equal(t, exitOK, first.code, first.stderr)
	assert.Empty(t, first.stderr)
	assert.Equal(t, "Imported 31 of 31 saved objects from "+savedObjectsFile+" into Kibana at "+k.URL+":\n"+
		"  index-pattern  6 of 6\n"+
		"  search         2 of 2\n"+
		"  visualization  14 of 14\n"+
		"  dashboard      9 of 9\n", first.stdout)
	assertNoSecrets(t, first, args)

	second := runCmd("", args...)
	assert.Equal(t, first, second, "a second run reports the same")

	want, err := os.ReadFile(savedObjectsFile)
	require.NoError(t, err)
	reqs := k.recorded()
	require.Len(t, reqs, 2)
	r := reqs[0]
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, "/api/saved_objects/_import", r.path)
	assert.Equal(t, "overwrite=true", r.query)
	assert.Equal(t, "true", r.xsrf)
	assert.Equal(t, "ApiKey "+testAPIKey, r.auth)
	assert.True(t, strings.HasPrefix(r.contentType, "multipart/form-data; boundary="), r.contentType)
	assert.Equal(t, []string{"file"}, r.fileFields)
	assert.Equal(t, "saved_objects.ndjson", r.fileName)
	assert.Equal(t, string(want), string(r.file), "the file is sent as it is")
	// The same request again (the multipart boundary is random).
	reqs[1].contentType, r.contentType = "", ""
	assert.Equal(t, r, reqs[1])
}

// Without --file, the saved objects that ship with webjourneyctl are
// uploaded (the command works outside the repository: the tests run in
// cmd/webjourneyctl), rendered for --prefix.
func TestKibanaImportBuiltInSavedObjects(t *testing.T) {
	k := newFakeKibana(t, false, http.StatusOK, "")
	res := runCmd("", "kibana", "import", "--url", k.URL)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "Imported 31 of 31 saved objects from the built-in saved objects (index prefix webjourney) into Kibana at "+k.URL+":\n"+
		"  index-pattern  6 of 6\n"+
		"  search         2 of 2\n"+
		"  visualization  14 of 14\n"+
		"  dashboard      9 of 9\n", res.stdout)
	want, err := os.ReadFile(savedObjectsFile)
	require.NoError(t, err)
	reqs := k.recorded()
	require.Len(t, reqs, 1)
	assert.Equal(t, "saved_objects.ndjson", reqs[0].fileName)
	assert.Equal(t, string(want), string(reqs[0].file), "the committed file, byte for byte")
}

func TestKibanaImportSpaceBasicAuthPrefix(t *testing.T) {
	k := newFakeKibana(t, false, http.StatusOK, "")
	t.Setenv("WJ_TEST_PASSWORD", testPassword)
	args := []string{"kibana", "import", "--url", k.URL + "/kibana", "--space", "marketing", "--user", "elastic", "--password-env", "WJ_TEST_PASSWORD", "--prefix", "shop"}
	res := runCmd("", args...)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "from the built-in saved objects (index prefix shop) into Kibana at "+k.URL+"/kibana (space marketing):\n")
	assertNoSecrets(t, res, args)
	reqs := k.recorded()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/kibana/s/marketing/api/saved_objects/_import", reqs[0].path)
	user, pass, ok := (&http.Request{Header: http.Header{"Authorization": {reqs[0].auth}}}).BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "elastic", user)
	assert.Equal(t, testPassword, pass)

	orig, err := os.ReadFile(savedObjectsFile)
	require.NoError(t, err)
	sent := reqs[0].file
	want, err := kibana.NDJSON("shop")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(sent))
	assertOnlyIndicesRenamed(t, orig, sent)

	// The default space has no /s/ path.
	res = runCmd("", importArgs(k.URL, "--space", "default")...)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "/api/saved_objects/_import", k.recorded()[1].path)
}

// assertOnlyIndicesRenamed checks that sent differs from orig exactly in
// the data views' titles and the Vega specs' index, renamed to shop.
func assertOnlyIndicesRenamed(t *testing.T, orig, sent []byte) {
	t.Helper()
	origLines := strings.Split(string(orig), "\n")
	sentLines := strings.Split(string(sent), "\n")
	require.Len(t, sentLines, len(origLines))
	titles, vega := map[string]string{}, 0
	for i := range origLines {
		if origLines[i] == sentLines[i] {
			continue
		}
		var o, s map[string]any
		require.NoError(t, json.Unmarshal([]byte(origLines[i]), &o))
		require.NoError(t, json.Unmarshal([]byte(sentLines[i]), &s))
		oa, sa := o["attributes"].(map[string]any), s["attributes"].(map[string]any)
		switch o["type"] {
		case "index-pattern":
			titles[o["id"].(string)] = sa["title"].(string)
			sa["title"] = oa["title"]
		case "visualization":
			vega++
			var ov, sv map[string]any
			require.NoError(t, json.Unmarshal([]byte(oa["visState"].(string)), &ov))
			require.NoError(t, json.Unmarshal([]byte(sa["visState"].(string)), &sv))
			ospec, sspec := ov["params"].(map[string]any)["spec"].(string), sv["params"].(map[string]any)["spec"].(string)
			renamed := 0
			for _, family := range []string{"visits", "funnels"} {
				from, to := `"index": "webjourney-`+family+`"`, `"index": "shop-`+family+`"`
				assert.Equal(t, strings.Count(ospec, from), strings.Count(sspec, to))
				renamed += strings.Count(sspec, to)
				sspec = strings.ReplaceAll(sspec, to, from)
			}
			assert.Positive(t, renamed, "line %d: a Vega spec without an index", i+1)
			assert.Equal(t, ospec, sspec)
			sa["visState"] = oa["visState"]
		default:
			t.Errorf("line %d (%s %s) was changed", i+1, o["type"], o["id"])
		}
		assert.Equal(t, o, s, "line %d: only the index names change", i+1)
	}
	assert.Equal(t, map[string]string{
		"webjourney-events": "shop-events-*", "webjourney-visits": "shop-visits",
		"webjourney-visitors": "shop-visitors", "webjourney-credits": "shop-credits",
		"webjourney-postbacks": "shop-postbacks", "webjourney-funnels": "shop-funnels",
	}, titles)
	assert.Equal(t, 5, vega, "the Sankey, the Transitions, the retention heatmap, the funnel chart and its next pages")
	assert.Contains(t, string(sent), `"id":"webjourney-visits"`, "ids are kept")
}

const partialAnswer = `{"success":false,"successCount":17,
 "successResults":[` +
	`{"type":"index-pattern","id":"webjourney-events","meta":{"title":"webjourney-events-*","icon":"indexPatternApp"}},` +
	`{"type":"index-pattern","id":"webjourney-visits","meta":{"title":"webjourney-visits","icon":"indexPatternApp"},"destinationId":"0b7c6d2e"},` +
	`{"type":"dashboard","id":"webjourney-overview","meta":{"title":"[webjourney] Overview","icon":"dashboardApp"}}],
 "errors":[
  {"id":"webjourney-partner","type":"dashboard","title":"[webjourney] Partner view","meta":{"title":"[webjourney] Partner view","icon":"dashboardApp"},
   "error":{"type":"missing_references","references":[{"type":"index-pattern","id":"webjourney-visitors"},{"type":"index-pattern","id":"webjourney-credits"}]}},
  {"id":"webjourney-journeys-sankey","type":"visualization","meta":{"title":"[webjourney] Journeys Sankey","icon":"visualizeApp"},"overwrite":true,
   "error":{"type":"conflict","destinationId":"c0ffee"}},
  {"id":"webjourney-privacy","type":"dashboard","meta":{},
   "error":{"type":"unknown","message":"version conflict, document already exists","statusCode":409}}
 ],
 "warnings":[{"type":"simple","message":"Some imported objects need a page reload."}]}`

func TestKibanaImportPartialFailure(t *testing.T) {
	k := newFakeKibana(t, false, http.StatusOK, partialAnswer)
	args := importArgs(k.URL, "--api-key", testAPIKey)
	res := runCmd("", args...)
	assert.Equal(t, exitFailure, res.code)
	assert.Equal(t, "Imported 17 of 31 saved objects from "+savedObjectsFile+" into Kibana at "+k.URL+":\n"+
		"  index-pattern  2 of 6\n"+
		"  search         0 of 2\n"+
		"  visualization  0 of 14\n"+
		"  dashboard      1 of 9\n"+
		"index-pattern/webjourney-visits was imported as index-pattern/0b7c6d2e\n"+
		"warning: Some imported objects need a page reload.\n"+
		"dashboard/webjourney-partner ([webjourney] Partner view): missing_references — it references objects that exist neither in the file nor in Kibana: index-pattern/webjourney-visitors, index-pattern/webjourney-credits\n"+
		"visualization/webjourney-journeys-sankey ([webjourney] Journeys Sankey): conflict — an object with this id exists and was not overwritten (destination id c0ffee)\n"+
		"dashboard/webjourney-privacy: unknown — version conflict, document already exists (HTTP 409)\n", res.stdout)
	assert.Equal(t, "webjourneyctl kibana import: Kibana at "+k.URL+" did not import 3 saved object(s) (listed above)\n", res.stderr)
	assertNoSecrets(t, res, args)
}

func TestKibanaImportErrorAnswers(t *testing.T) {
	t.Setenv("WJ_TEST_API_KEY", testAPIKey)
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{http.StatusUnauthorized, `{"statusCode":401,"error":"Unauthorized","message":"[security_exception]: unable to authenticate with provided credentials and anonymous access is not allowed for this request"}`,
			" refused the credentials: HTTP 401 Unauthorized: [security_exception]: unable to authenticate with provided credentials and anonymous access is not allowed for this request\n"},
		{http.StatusForbidden, `{"statusCode":403,"error":"Forbidden","message":"Unable to bulk_create index-pattern,search,visualization,dashboard"}`,
			" refused the import: HTTP 403 Forbidden: Unable to bulk_create index-pattern,search,visualization,dashboard (the user or API key needs"},
		{http.StatusBadRequest, `{"statusCode":400,"error":"Bad Request","message":"Invalid file extension .txt"}`,
			" answered HTTP 400 Bad Request: Invalid file extension .txt\n"},
		{http.StatusNotFound, `{"statusCode":404,"error":"Not Found","message":"Not Found"}`,
			" answered HTTP 404 Not Found: Not Found (is --url Kibana's, with its base path, and does --space exist?)\n"},
		{http.StatusInternalServerError, `{"statusCode":500,"error":"Internal Server Error","message":"An internal server error occurred."}`,
			" answered HTTP 500 Internal Server Error: An internal server error occurred.\n"},
		{http.StatusBadGateway, "<html>\n<body>bad gateway</body></html>",
			` answered HTTP 502 Bad Gateway: "<html> <body>bad gateway</body></html>"` + "\n"},
		{http.StatusOK, `{"cluster_name":"es","tagline":"You Know, for Search"}`,
			` answered HTTP 200 with "{\"cluster_name\":\"es\",\"tagline\":\"You Know, for Search\"}", not a saved objects import result (is --url Kibana's?)` + "\n"},
	} {
		k := newFakeKibana(t, false, tc.status, tc.body)
		args := importArgs(k.URL, "--api-key-env", "WJ_TEST_API_KEY")
		res := runCmd("", args...)
		assert.Equal(t, exitFailure, res.code, tc.status)
		assert.Empty(t, res.stdout, tc.status)
		assert.Contains(t, res.stderr, "webjourneyctl kibana import: Kibana at "+k.URL+tc.want, tc.status)
		assertNoSecrets(t, res, args)
		require.Len(t, k.recorded(), 1)
	}
}

func TestKibanaImportUnreachable(t *testing.T) {
	u := closedURL(t)
	res := runCmd("", importArgs(u)...)
	assert.Equal(t, exitFailure, res.code)
	assert.Contains(t, res.stderr, "webjourneyctl kibana import: cannot reach Kibana at "+u+": ")
	assert.Contains(t, res.stderr, "connection refused")
	assert.Empty(t, res.stdout)
}

func TestKibanaImportTLS(t *testing.T) {
	k := newFakeKibana(t, true, http.StatusOK, "")
	res := runCmd("", importArgs(k.URL)...)
	assert.Equal(t, exitFailure, res.code, "the test certificate is not trusted without --ca-file")
	assert.Contains(t, res.stderr, "TLS connection to Kibana at "+k.URL+" failed: x509: certificate signed by unknown authority; ")
	assert.Contains(t, res.stderr, "set --ca-file to the CA certificate that signed it")

	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Certificate().Raw}), 0o600))
	res = runCmd("", importArgs(k.URL, "--ca-file", ca)...)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "Imported 31 of 31")
	assert.Len(t, k.recorded(), 1, "the untrusted connection sent nothing")
}

// Bad command lines and files exit 2, naming the flag, path or line,
// before anything is sent.
func TestKibanaImportUsageErrors(t *testing.T) {
	k := newFakeKibana(t, false, http.StatusOK, "")
	t.Setenv("WJ_TEST_PASSWORD", testPassword)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	badJSON := write("bad.ndjson", "{\"type\":\"index-pattern\",\"id\":\"a\",\"attributes\":{}}\n\n{\"type\":\"dashboard\",\n")
	noID := write("noid.ndjson", `{"type":"dashboard","attributes":{}}`)
	empty := write("empty.ndjson", "\n")
	missing := filepath.Join(dir, "missing.ndjson")
	u := []string{"--url", k.URL}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kibana"}, "webjourneyctl kibana: give a subcommand: import"},
		{[]string{"kibana", "export"}, `unknown subcommand "export"`},
		{[]string{"kibana", "import"}, "--url is required, e.g. --url http://localhost:5601"},
		{[]string{"kibana", "import", "--url", "http://elastic:" + testPassword + "@kibana:5601"}, "--url: credentials in the URL are not allowed"},
		{[]string{"kibana", "import", "--url", "kibana:5601"}, "--url: "},
		{append(u, "--space", "Marketing"), `--space: "Marketing" is not a Kibana space id`},
		{append(u, "--prefix", "Shop"), `--prefix: "Shop" is not a valid Elasticsearch index name start`},
		{append(u, "--api-key", testAPIKey, "--user", "u", "--password-env", "WJ_TEST_PASSWORD"), "give an API key or --user and --password-env, not both"},
		{append(u, "--user", "elastic"), "--user needs --password-env NAME"},
		{append(u, "--api-key-env", "WJ_TEST_UNSET_VARIABLE"), "--api-key-env: environment variable WJ_TEST_UNSET_VARIABLE is not set"},
		{append(u, "--ca-file", write("ca.pem", "not a certificate")), "--ca-file: "},
		{append(u, "--timeout", "0s"), "--timeout must be positive"},
		{append(u, "--dead-letter-index", "x"), "flag provided but not defined: -dead-letter-index"},
		{append(u, "now"), `unexpected argument "now"`},
		{append(u, "--file", savedObjectsFile, "--prefix", "shop"), "--prefix applies to the built-in saved objects; a --file is uploaded as it is"},
		{append(u, "--file", missing), "--file: open " + missing + ": no such file or directory\n"},
		{append(u, "--file", dir), "--file: read " + dir + ": is a directory"},
		{append(u, "--file", badJSON), "--file " + badJSON + ": line 3: not a JSON object: unexpected end of JSON input\n"},
		{append(u, "--file", noID), "--file " + noID + ": line 1: not a saved object (it needs a type and an id)\n"},
		{append(u, "--file", empty), "--file " + empty + ": holds no saved objects\n"},
	} {
		args := tc.args
		if len(args) > 0 && args[0] == "--url" {
			args = append([]string{"kibana", "import"}, args...)
		}
		res := runCmd("", args...)
		assert.Equal(t, exitUsage, res.code, "%q: %s", args, res.stderr)
		assert.Contains(t, res.stderr, tc.want, args)
		assert.Empty(t, res.stdout, args)
		assertNoSecrets(t, res, args)
	}
	assert.Empty(t, k.recorded(), "nothing was sent")
}

func TestKibanaHelp(t *testing.T) {
	for _, args := range [][]string{{"kibana", "-h"}, {"kibana", "import", "--help"}} {
		res := runCmd("", args...)
		assert.Equal(t, exitOK, res.code, args)
		assert.Contains(t, res.stderr, "--space SPACE", args)
		assert.Contains(t, res.stderr, "overwrite=true", args)
	}
	res := runCmd("", "help", "kibana")
	assert.Equal(t, exitOK, res.code)
	assert.Contains(t, res.stdout, "--api-key-env NAME")
	res = runCmd("", "help")
	assert.Contains(t, res.stdout, "kibana import")
}
