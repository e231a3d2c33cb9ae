package esclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The Elasticsearch versions `make test` runs every integration test
// against; the README says so. A newer one is expected to work (REST API
// compatibility) and is warned about.
const (
	TestedOldest = "8.19"
	TestedNewest = "9.5"
)

// Cluster is what answers at the endpoints.
type Cluster struct {
	Endpoint string // the node that answered
	// Version is the version number ("9.5.4"); empty when it could not be
	// read (see VersionUnknown).
	Version string
	// Distribution is what GET / calls it when that is not Elasticsearch
	// (OpenSearch answers "opensearch").
	Distribution string
	// Product is the X-Elastic-Product header of the answer.
	Product string
	// VersionUnknown says why the version could not be read.
	VersionUnknown string
}

// Probe reads the product and version of what answers: GET / (the version
// and distribution), or, where that is not served (the bare test servers
// answer 405), GET /_nodes/_local?filter_path=nodes.*.version. It bypasses
// the client's own product check so that it can say what answered instead.
// A 401 or 403 answer is an *Error (a 403 to GET / only falls back: the
// exporter may lack the monitor privilege yet still work); a failure to
// connect is an *Error too.
func (c *Client) Probe(ctx context.Context) (Cluster, error) {
	var cl Cluster
	res, err := c.get(ctx, "/")
	if err != nil {
		return cl, err
	}
	cl.Endpoint, cl.Product = endpointOf(res.Request.URL), res.Header.Get("X-Elastic-Product")
	if res.StatusCode == http.StatusOK {
		var root struct {
			Version struct {
				Number       string `json:"number"`
				Distribution string `json:"distribution"`
			} `json:"version"`
		}
		err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&root)
		drain(res)
		if err == nil && root.Version.Number != "" {
			cl.Version, cl.Distribution = root.Version.Number, root.Version.Distribution
			return cl, nil
		}
	} else {
		typ, reason := readErrorBody(res.Body)
		drain(res)
		switch {
		case res.StatusCode == http.StatusUnauthorized:
			return cl, c.Refusal(cl.Endpoint, res.StatusCode, typ, reason)
		case res.StatusCode >= 500:
			// Not an answer about the cluster (a node or proxy in trouble):
			// check again later.
			return cl, &Error{Endpoint: cl.Endpoint, Cause: CauseUnreachable, Err: fmt.Errorf("GET / answered HTTP %d", res.StatusCode)}
		}
	}
	res, err = c.get(ctx, "/_nodes/_local?filter_path=nodes.*.version")
	if err != nil {
		return cl, err
	}
	defer drain(res)
	cl.Endpoint = endpointOf(res.Request.URL)
	if p := res.Header.Get("X-Elastic-Product"); p != "" {
		cl.Product = p
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		typ, reason := readErrorBody(res.Body)
		return cl, c.Refusal(cl.Endpoint, res.StatusCode, typ, reason)
	case res.StatusCode >= 500:
		return cl, &Error{Endpoint: cl.Endpoint, Cause: CauseUnreachable, Err: fmt.Errorf("GET /_nodes/_local answered HTTP %d", res.StatusCode)}
	case res.StatusCode == http.StatusForbidden:
		cl.VersionUnknown = "reading it needs the cluster privilege monitor (HTTP 403)"
		return cl, nil
	case res.StatusCode != http.StatusOK:
		cl.VersionUnknown = fmt.Sprintf("GET / and GET /_nodes/_local answered HTTP %d", res.StatusCode)
		return cl, nil
	}
	var nodes struct {
		Nodes map[string]struct {
			Version string `json:"version"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&nodes); err != nil || len(nodes.Nodes) == 0 {
		cl.VersionUnknown = "GET /_nodes/_local named no version"
		return cl, nil
	}
	for _, n := range nodes.Nodes {
		cl.Version = n.Version
	}
	return cl, nil
}

// get sends GET path through the transport (not the API, whose product
// check would hide what answered) in compatibility mode.
func (c *Client) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", CompatibleWith8)
	return c.Transport.Perform(req)
}

func drain(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	_ = res.Body.Close()
}

// Check decides whether webjourney works with cl: an error (an *Error)
// when it is not Elasticsearch or older than 8; a warning when its version
// is newer than the newest tested or could not be read.
func (cl Cluster) Check() (warning string, err error) {
	major, minor, ok := parseVersion(cl.Version)
	dist := strings.ToLower(cl.Distribution)
	switch {
	case dist != "" && dist != "elasticsearch" && dist != "default":
		return "", &Error{Endpoint: cl.Endpoint, Cause: CauseNotElasticsearch,
			Err:  fmt.Errorf("the server is %s %s, not Elasticsearch", cl.Distribution, cl.Version),
			Hint: "webjourney needs Elasticsearch 8.x or 9.x"}
	case ok && major < 8:
		return "", &Error{Endpoint: cl.Endpoint, Cause: CauseUnsupportedVersion,
			Err:  fmt.Errorf("Elasticsearch %s is too old", cl.Version),
			Hint: fmt.Sprintf("webjourney needs Elasticsearch 8.x or 9.x (tested: %s and %s)", TestedOldest, TestedNewest)}
	case cl.Version != "" && cl.Product != "Elasticsearch":
		// Judged only on an answer that gave a version: a refusal (403)
		// may come from a proxy that does not add the header.
		return "", &Error{Endpoint: cl.Endpoint, Cause: CauseNotElasticsearch,
			Err:  fmt.Errorf("the server does not answer as Elasticsearch (no X-Elastic-Product: Elasticsearch header; version %s)", cl.Version),
			Hint: "point the endpoints at Elasticsearch 8.x or 9.x, or at a proxy that passes its headers on"}
	case !ok:
		why := cl.VersionUnknown
		if why == "" {
			why = fmt.Sprintf("%q is not a version number", cl.Version)
		}
		return fmt.Sprintf("cannot read the version of Elasticsearch at %s (%s); webjourney is tested with %s and %s", cl.Endpoint, why, TestedOldest, TestedNewest), nil
	case newerThanTested(major, minor):
		return fmt.Sprintf("Elasticsearch at %s is version %s, newer than the newest tested (%s); it is expected to work through REST API compatibility (compatible-with=8)", cl.Endpoint, cl.Version, TestedNewest), nil
	}
	return "", nil
}

func newerThanTested(major, minor int) bool {
	nMajor, nMinor, _ := parseVersion(TestedNewest)
	return major > nMajor || (major == nMajor && minor > nMinor)
}

// parseVersion reads major and minor of "9.5.4" (also "9.5", "8.0.0-rc1").
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.SplitN(parts[1], "-", 2)[0])
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, false
	}
	return major, minor, true
}
