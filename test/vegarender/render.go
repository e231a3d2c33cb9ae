package vegarender

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// renderScript is written to a temporary file for each render: node needs
// a file whose .mjs extension makes it an ES module, and the embedded copy
// keeps the package usable from any working directory.
//
//go:embed render.mjs
var renderScript []byte

// Result is what Render computes.
type Result struct {
	// SVG is the rendered scene as an SVG document.
	SVG string
	// Data holds every named top-level data set of the spec after its
	// transforms (Vega's view.data(name)), made JSON-safe.
	Data map[string][]map[string]any
	// Warnings are the messages Vega logged at warning level (Kibana shows
	// them above the panel), for instance an empty scale domain.
	Warnings []string
}

// Render renders spec (a Vega v5 JSON spec as Kibana's Vega visualization
// stores it) with node and the vega package at vegaDir (the package
// directory, e.g. testenv.Fetched(t, testenv.Vega)).
//
// values maps a data set name to the answer Kibana would have fetched for
// that data set's url (an Elasticsearch search response object): the url is
// replaced by those values and Vega applies the data set's format (e.g.
// {"property": "aggregations.paths.buckets"}) as it does after a fetch. A
// name the spec has no data set for is an error, and so is a data set with a
// Kibana query for url that values does not answer.
//
// width and height are the panel size. The view is sized as Kibana sizes
// it, not as plain Vega would: an unset autosize becomes {"type": "fit",
// "contains": "padding"} (a bare type such as "pad" gets "contains":
// "padding" too), so the SVG is exactly width x height, padding included;
// only autosize "none" (or a signal) keeps the spec's own width/height and
// ignores these. A spec whose marks overflow the view (e.g. thick stroked
// paths, whose bounds Vega pads by the stroke width) therefore shrinks here
// as it does in Kibana.
//
// Errors Vega logs while running the dataflow (it logs rather than throws
// them, and Kibana shows them in the panel) fail the render; warnings are
// returned in Result.Warnings. Only top-level data sets are fed from values
// and returned in Result.Data.
func Render(ctx context.Context, node, vegaDir string, spec []byte, values map[string]any, width, height int) (Result, error) {
	if !json.Valid(spec) {
		return Result{}, errors.New("vegarender: spec is not valid JSON")
	}
	if values == nil {
		values = map[string]any{}
	}
	req, err := json.Marshal(map[string]any{
		"spec":   json.RawMessage(spec),
		"values": values,
		"width":  width,
		"height": height,
	})
	if err != nil {
		return Result{}, fmt.Errorf("vegarender: encoding request: %w", err)
	}

	dir, err := os.MkdirTemp("", "vegarender-")
	if err != nil {
		return Result{}, fmt.Errorf("vegarender: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "render.mjs")
	if err := os.WriteFile(script, renderScript, 0o600); err != nil {
		return Result{}, fmt.Errorf("vegarender: %w", err)
	}
	absVega, err := filepath.Abs(vegaDir)
	if err != nil {
		return Result{}, fmt.Errorf("vegarender: %w", err)
	}

	cmd := exec.CommandContext(ctx, node, script, absVega)
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("vegarender: node render.mjs: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var ans struct {
		SVG      string                      `json:"svg"`
		Data     map[string][]map[string]any `json:"data"`
		Warnings []string                    `json:"warnings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &ans); err != nil {
		return Result{}, fmt.Errorf("vegarender: parsing the answer of render.mjs: %w (stderr: %s)", err, strings.TrimSpace(stderr.String()))
	}
	return Result(ans), nil
}

// PNG rasterises an SVG document with the headless Chromium behind browser
// (a chromedp context, e.g. from testenv.Browser) at the SVG's own
// width/height and a device scale factor of 1, on a white background, and
// returns the PNG bytes. It works in a tab of its own, which it closes, so
// the caller's tab keeps its page.
func PNG(browser context.Context, svg string) ([]byte, error) {
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()

	// Inline SVG rather than an <img>: Chromium draws it with the same
	// fonts and text layout as Kibana's panel (Vega's SVG renderer output
	// in a page). display:block avoids the inline baseline gap below it.
	html := `<!doctype html><html><head><meta charset="utf-8"><style>` +
		`html,body{margin:0;padding:0;background:#fff}svg{display:block}` +
		`</style></head><body>` + svg + `</body></html>`

	var size []float64
	err := chromedp.Do(tab,
		chromedp.Navigate("about:blank"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
			if err != nil {
				return err
			}
			_, err = cdp.Call(ctx, t, page.SetDocumentContent, page.SetDocumentContentParams{
				FrameID: tree.FrameTree.Frame.ID,
				HTML:    html,
			})
			return err
		}),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			var err error
			size, err = chromedp.Evaluate[[]float64](`(() => {
				const svg = document.querySelector('body > svg');
				if (!svg) return [];
				const r = svg.getBoundingClientRect();
				return [r.width, r.height];
			})()`)(ctx, t)
			return err
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("vegarender: loading the SVG in chromium: %w", err)
	}
	if len(size) != 2 || size[0] < 1 || size[1] < 1 {
		return nil, fmt.Errorf("vegarender: the document is not an SVG with a size (got %v)", size)
	}
	w, h := math.Ceil(size[0]), math.Ceil(size[1])

	// The viewport is made the picture's size so the capture needs no
	// scrolling, and the scale factor pinned so that one SVG unit is one
	// pixel whatever the host's display.
	png, err := chromedp.Run(tab, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		if _, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(w), Height: int64(h), DeviceScaleFactor: 1,
		}); err != nil {
			return nil, err
		}
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng,
			Clip:   &page.Viewport{Width: w, Height: h, Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	})
	if err != nil {
		return nil, fmt.Errorf("vegarender: screenshot: %w", err)
	}
	return png, nil
}
