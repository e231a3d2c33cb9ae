package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/kibana"
)

const kibanaUsage = `Usage: webjourneyctl kibana import --url URL [--space SPACE] [auth]
                           [--prefix PREFIX | --file PATH]

import uploads the dashboards, data views, saved searches and visualizations
that ship with this version (kibana/saved_objects.ndjson in the repository,
built into webjourneyctl) with Kibana's saved objects import API
(POST [/s/SPACE]/api/saved_objects/_import?overwrite=true): objects that
exist are replaced, so running it again after an upgrade (or twice) gives
the same result. It prints the imported objects per type and each object
Kibana refused, with the reason (missing references are listed).

Options:
  --url URL                 Kibana, http:// or https://, without credentials,
                            with its base path if it has one (required)
  --space SPACE             the Kibana space id (default: the default space)
  --prefix PREFIX           the exporter's index_prefix (default webjourney):
                            the data views' index patterns and the Vega spec's
                            index name the indices of PREFIX
  --file PATH               upload these saved objects (NDJSON) as they are
                            instead, e.g. an edited export
  --api-key-env NAME        read a Kibana (Elasticsearch) API key ("id:key" or
                            the base64 "encoded" form) from environment
                            variable NAME
  --api-key-file PATH       read the API key from a file
  --api-key KEY             the API key itself (visible to other users in the
                            process list: prefer --api-key-env or -file)
  --user USER               HTTP basic authentication user, with
  --password-env NAME       the environment variable holding its password, or
  --password-file PATH      a file holding it
  --bearer-token-env NAME   read a bearer token from environment variable NAME
  --bearer-token-file PATH  read the bearer token from a file
  --ca-file PATH            PEM certificates to trust for https
  --ca-fingerprint HEX      trust the CA certificate with this SHA-256
                            fingerprint in the chain the server presents
  --cert-file PATH          a client certificate (PEM), with
  --key-file PATH           its private key
  --server-name NAME        verify the server's certificate for NAME
  --insecure-skip-verify    do not verify the server's certificate (tests only)
  --timeout DURATION        give up after this long (default 10m)

Exit status: 0 when every object was imported; 1 when Kibana is unreachable,
refuses the credentials or the request, or refused some object; 2 on a bad
command line or a file that is missing or not NDJSON.

Example:
  KIBANA_API_KEY=... webjourneyctl kibana import --url https://kibana:5601 \
      --space marketing --api-key-env KIBANA_API_KEY
`

const maxKibanaAnswer = 16 << 20

// spacePattern is what Kibana accepts as a space id.
var spacePattern = regexp.MustCompile(`^[a-z0-9_-]+$`)

func runKibana(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	sub, code := subcommand("kibana", kibanaUsage, args, stderr, "import")
	if code >= 0 {
		return code
	}
	cmd := "kibana " + sub
	fs := newFlagSet(cmd, kibanaUsage, stderr)
	var f esFlags
	f.register(fs, false)
	var space, file string
	fs.StringVar(&space, "space", "", "Kibana space id")
	fs.StringVar(&file, "file", "", "saved objects NDJSON")
	if code := parseFlags(fs, cmd, args[1:], stderr); code >= 0 {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "webjourneyctl %s: %s\n", cmd, fmt.Sprintf(format, a...))
		return exitUsage
	}
	if f.url == "" {
		return usageErr("--url is required, e.g. --url http://localhost:5601")
	}
	conn, err := f.connection()
	if err != nil {
		return usageErr("%v", err)
	}
	if len(conn.urls) != 1 {
		return usageErr("--url: give one Kibana URL")
	}
	if _, err := f.checkLayout(); err != nil {
		return usageErr("%v", err)
	}
	if space != "" && !spacePattern.MatchString(space) {
		return usageErr("--space: %q is not a Kibana space id (lower-case letters, digits, '_' and '-')", space)
	}
	objects, err := savedObjects(file, f.prefix)
	if err != nil {
		return usageErr("%v", err)
	}

	ctx, cancel := f.context()
	defer cancel()
	return importSavedObjects(ctx, cmd, conn, conn.urls[0], space, objects, stdout, stderr)
}

// importSavedObjects uploads objects to Kibana at kibanaURL (in space, ""
// for the default one) with the TLS setup and credentials of conn,
// reports what Kibana imported and refused, and returns the exit code.
func importSavedObjects(ctx context.Context, cmd string, conn *connection, kibanaURL, space string, objects *uploads, stdout, stderr io.Writer) int {
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "webjourneyctl %s: %s\n", cmd, fmt.Sprintf(format, a...))
		return exitUsage
	}
	kibanaURL = strings.TrimRight(kibanaURL, "/")
	base, where := kibanaURL, "Kibana at "+kibanaURL
	if space != "" && space != "default" {
		base += "/s/" + space
		where += " (space " + space + ")"
	}
	if conn.tls.InsecureSkipVerify {
		fmt.Fprintf(stderr, "webjourneyctl %s: warning: --insecure-skip-verify: the server's certificate is not verified; anyone on the network path can read the credentials\n", cmd)
	}
	// The same TLS setup and credentials as for Elasticsearch.
	tr, err := esclient.NewTransport(ctx, conn.tls, []string{kibanaURL}, conn.keys)
	if err != nil {
		var ee *esclient.Error
		if errors.As(err, &ee) { // fetching the CA of --ca-fingerprint failed
			ee.Server = "Kibana"
			fmt.Fprintf(stderr, "webjourneyctl %s: %v\n", cmd, ee)
			return exitFailure
		}
		return usageErr("%v", err)
	}
	defer tr.CloseIdleConnections()
	rt, err := esclient.Authorize(tr, conn.auth, conn.keys)
	if err != nil {
		return usageErr("%v", err)
	}
	client := &http.Client{Transport: rt}
	req, err := importRequest(ctx, base, objects.name, objects.data)
	if err != nil {
		return usageErr("%v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named below
		}
		if cause, hint, ok := esclient.DescribeTLS(err, conn.keys); ok {
			fmt.Fprintf(stderr, "webjourneyctl %s: TLS connection to %s failed: %v; %s\n", cmd, where, cause, hint)
			return exitFailure
		}
		fmt.Fprintf(stderr, "webjourneyctl %s: cannot reach Kibana at %s: %v\n", cmd, kibanaURL, err)
		return exitFailure
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKibanaAnswer))
	if err != nil {
		fmt.Fprintf(stderr, "webjourneyctl %s: reading the answer of %s: %v\n", cmd, where, err)
		return exitFailure
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "webjourneyctl %s: %s\n", cmd, kibanaStatusError(where, resp.StatusCode, body))
		return exitFailure
	}
	var ans importAnswer
	if err := json.Unmarshal(body, &ans); err != nil || ans.Success == nil {
		fmt.Fprintf(stderr, "webjourneyctl %s: %s answered HTTP %d with %s, not a saved objects import result (is --url Kibana's?)\n",
			cmd, where, resp.StatusCode, snippet(body))
		return exitFailure
	}
	return reportImport(cmd, where, objects, &ans, stdout, stderr)
}

// uploads are the saved objects to import.
type uploads struct {
	data   []byte
	keys   []savedObjectKey // the objects' types and ids, in file order
	name   string           // the upload's file name
	source string           // where they come from, for the report
}

// savedObjects returns the saved objects to upload: those of file as they
// are, or without a file the ones that ship with webjourneyctl, rendered
// for the index prefix. Its errors name the flag.
func savedObjects(file, prefix string) (*uploads, error) {
	if file == "" {
		data, err := kibana.NDJSON(prefix)
		if err != nil {
			return nil, err
		}
		keys, err := parseSavedObjects(data)
		if err != nil {
			return nil, err
		}
		return &uploads{data: data, keys: keys, name: kibana.FileName, source: "the built-in saved objects (index prefix " + prefix + ")"}, nil
	}
	if prefix != journeystore.DefaultPrefix {
		// A file's data views name their own indices: rewriting them here
		// would be a guess.
		return nil, errors.New("--prefix applies to the built-in saved objects; a --file is uploaded as it is (set its data views' index patterns in the file)")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	keys, err := parseSavedObjects(data)
	if err != nil {
		return nil, fmt.Errorf("--file %s: %w", file, err)
	}
	return &uploads{data: data, keys: keys, name: filepath.Base(file), source: file}, nil
}

// savedObjectKey is the type and id of a saved object.
type savedObjectKey struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// parseSavedObjects checks that data is NDJSON of saved objects (an export
// summary line, which Kibana skips, is allowed) and returns their types and
// ids in file order. Its errors name the line.
func parseSavedObjects(data []byte) ([]savedObjectKey, error) {
	var objs []savedObjectKey
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var o struct {
			savedObjectKey
			ExportedCount *int `json:"exportedCount"`
		}
		if err := json.Unmarshal(line, &o); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object: %v", i+1, err)
		}
		if o.ExportedCount != nil && o.Type == "" {
			continue
		}
		if o.Type == "" || o.ID == "" {
			return nil, fmt.Errorf("line %d: not a saved object (it needs a type and an id)", i+1)
		}
		objs = append(objs, o.savedObjectKey)
	}
	if len(objs) == 0 {
		return nil, errors.New("holds no saved objects")
	}
	return objs, nil
}

// importRequest builds the saved objects import request: the NDJSON as
// the multipart form field "file".
func importRequest(ctx context.Context, base, name string, data []byte) (*http.Request, error) {
	if !strings.HasSuffix(name, ".ndjson") {
		name += ".ndjson" // Kibana refuses other file extensions
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/saved_objects/_import?overwrite=true", &body)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("kbn-xsrf", "true")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// kibanaStatusError describes an error answer, with Kibana's message
// ({"statusCode":..,"error":..,"message":..}).
func kibanaStatusError(where string, status int, body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	detail := snippet(body)
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		detail = e.Message
	}
	head := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	switch status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("%s refused the credentials: %s: %s", where, head, detail)
	case http.StatusForbidden:
		return fmt.Sprintf("%s refused the import: %s: %s (the user or API key needs write privileges in the space for dashboards, visualizations, saved searches and data views)", where, head, detail)
	case http.StatusNotFound:
		return fmt.Sprintf("%s answered %s: %s (is --url Kibana's, with its base path, and does --space exist?)", where, head, detail)
	}
	return fmt.Sprintf("%s answered %s: %s", where, head, detail)
}

// snippet renders the start of an answer that is not what was expected.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if s == "" {
		return "an empty body"
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// importAnswer is the answer of the saved objects import API.
type importAnswer struct {
	Success        *bool `json:"success"`
	SuccessCount   int   `json:"successCount"`
	SuccessResults []struct {
		savedObjectKey
		DestinationID string `json:"destinationId"`
	} `json:"successResults"`
	Errors   []importFailure `json:"errors"`
	Warnings []struct {
		Message string `json:"message"`
	} `json:"warnings"`
}

// importFailure is one object Kibana did not import.
type importFailure struct {
	savedObjectKey
	Title string `json:"title"` // deprecated, before meta.title
	Meta  struct {
		Title string `json:"title"`
	} `json:"meta"`
	Error struct {
		Type          string           `json:"type"`
		References    []savedObjectKey `json:"references"`
		DestinationID string           `json:"destinationId"`
		Destinations  []struct {
			ID string `json:"id"`
		} `json:"destinations"`
		Message    string `json:"message"`
		StatusCode int    `json:"statusCode"`
	} `json:"error"`
}

// String renders the failure as "type/id (title): error type — details".
func (f importFailure) String() string {
	title := f.Meta.Title
	if title == "" {
		title = f.Title
	}
	s := f.Type + "/" + f.ID
	if title != "" {
		s += " (" + title + ")"
	}
	e := f.Error
	var detail string
	switch e.Type {
	case "missing_references":
		refs := make([]string, len(e.References))
		for i, r := range e.References {
			refs[i] = r.Type + "/" + r.ID
		}
		detail = "it references objects that exist neither in the file nor in Kibana: " + strings.Join(refs, ", ")
	case "conflict":
		detail = "an object with this id exists and was not overwritten"
		if e.DestinationID != "" {
			detail += " (destination id " + e.DestinationID + ")"
		}
	case "ambiguous_conflict":
		ids := make([]string, len(e.Destinations))
		for i, d := range e.Destinations {
			ids[i] = d.ID
		}
		detail = "it matches several existing objects: " + strings.Join(ids, ", ")
	case "unsupported_type":
		detail = "this Kibana does not know the type (an older Kibana, or its plugin is disabled)"
	default:
		detail = e.Message
		if e.StatusCode != 0 {
			detail += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
		}
	}
	return fmt.Sprintf("%s: %s — %s", s, e.Type, strings.TrimSpace(detail))
}

// reportImport prints what Kibana imported and refused and returns the
// exit code.
func reportImport(cmd, where string, up *uploads, ans *importAnswer, stdout, stderr io.Writer) int {
	objs := up.keys
	var types []string
	for _, o := range objs {
		if !slices.Contains(types, o.Type) {
			types = append(types, o.Type)
		}
	}
	imported := map[string]int{}
	for _, r := range ans.SuccessResults {
		if !slices.Contains(types, r.Type) {
			types = append(types, r.Type)
		}
		imported[r.Type]++
	}
	fmt.Fprintf(stdout, "Imported %d of %d saved objects from %s into %s:\n", ans.SuccessCount, len(objs), up.source, where)
	if len(ans.SuccessResults) > 0 {
		inFile := map[string]int{}
		for _, o := range objs {
			inFile[o.Type]++
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, t := range types {
			fmt.Fprintf(tw, "  %s\t%d of %d\n", t, imported[t], inFile[t])
		}
		_ = tw.Flush()
	}
	for _, r := range ans.SuccessResults {
		if r.DestinationID != "" && r.DestinationID != r.ID {
			fmt.Fprintf(stdout, "%s/%s was imported as %s/%s\n", r.Type, r.ID, r.Type, r.DestinationID)
		}
	}
	for _, w := range ans.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w.Message)
	}
	for _, e := range ans.Errors {
		fmt.Fprintln(stdout, e)
	}
	switch {
	case len(ans.Errors) > 0:
		fmt.Fprintf(stderr, "webjourneyctl %s: %s did not import %d saved object(s) (listed above)\n", cmd, where, len(ans.Errors))
		return exitFailure
	case !*ans.Success:
		fmt.Fprintf(stderr, "webjourneyctl %s: %s reported the import as failed, without naming an object\n", cmd, where)
		return exitFailure
	}
	return exitOK
}
