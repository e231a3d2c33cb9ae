package vegarender_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"image/png"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webjourney/webjourney/test/testenv"
	"github.com/webjourney/webjourney/test/vegarender"
)

// barSpec is a small Kibana-style spec: its data set queries Elasticsearch
// (a url Vega itself cannot load) and takes the buckets of the answer via
// format.property; "total" derives from it.
const barSpec = `{
  "$schema": "https://vega.github.io/schema/vega/v5.json",
  "padding": 5,
  "data": [
    {
      "name": "pages",
      "url": {"index": "webjourney-visits", "%context%": true, "%timefield%": "@timestamp",
              "body": {"size": 0, "aggs": {"a": {"terms": {"field": "page"}}}}},
      "format": {"property": "aggregations.a.buckets"},
      "transform": [{"type": "formula", "as": "visits", "expr": "datum.doc_count * 10"}]
    },
    {
      "name": "total",
      "source": "pages",
      "transform": [{"type": "aggregate", "fields": ["visits"], "ops": ["sum"], "as": ["sum"]}]
    }
  ],
  "scales": [
    {"name": "x", "type": "band", "domain": {"data": "pages", "field": "key"}, "range": "width", "padding": 0.1},
    {"name": "y", "type": "linear", "domain": {"data": "pages", "field": "visits"}, "range": "height", "zero": true}
  ],
  "marks": [
    {"type": "rect", "from": {"data": "pages"}, "encode": {"update": {
      "x": {"scale": "x", "field": "key"}, "width": {"scale": "x", "band": 1},
      "y": {"scale": "y", "field": "visits"}, "y2": {"scale": "y", "value": 0},
      "fill": {"value": "steelblue"}}}},
    {"type": "text", "from": {"data": "pages"}, "encode": {"update": {
      "x": {"scale": "x", "field": "key"}, "y": {"scale": "y", "field": "visits", "offset": -3},
      "text": {"field": "key"}}}}
  ]
}`

// searchResponse is what Elasticsearch answers to the query of barSpec.
func searchResponse() map[string]any {
	return map[string]any{
		"took":      3,
		"timed_out": false,
		"hits":      map[string]any{"total": map[string]any{"value": 12, "relation": "eq"}, "hits": []any{}},
		"aggregations": map[string]any{"a": map[string]any{"buckets": []any{
			map[string]any{"key": "/home", "doc_count": 7},
			map[string]any{"key": "/pricing", "doc_count": 4},
			map[string]any{"key": "/signup", "doc_count": 1},
		}}},
	}
}

func render(t *testing.T, spec string, values map[string]any) (vegarender.Result, error) {
	t.Helper()
	node := testenv.Node(t)
	vega := testenv.Fetched(t, testenv.Vega)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return vegarender.Render(ctx, node, vega, []byte(spec), values, 300, 120)
}

func TestRender(t *testing.T) {
	res, err := render(t, barSpec, map[string]any{"pages": searchResponse()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}

	pages := res.Data["pages"]
	want := []struct {
		key    string
		visits float64
	}{{"/home", 70}, {"/pricing", 40}, {"/signup", 10}}
	if len(pages) != len(want) {
		t.Fatalf("pages = %v, want %d rows", pages, len(want))
	}
	for i, w := range want {
		if pages[i]["key"] != w.key || pages[i]["visits"] != w.visits {
			t.Errorf("pages[%d] = %v, want key %q visits %v", i, pages[i], w.key, w.visits)
		}
	}
	if total := res.Data["total"]; len(total) != 1 || total[0]["sum"] != 120.0 {
		t.Errorf("total = %v, want [{sum: 120}]", total)
	}

	svg := parseSVG(t, res.SVG)
	// Vega's SVG renderer draws a rect mark as a <path> in a group of
	// class "mark-rect".
	if n := len(svg.marks["mark-rect"]); n != len(want) {
		t.Errorf("%d rect mark items, want %d", n, len(want))
	}
	for _, w := range want {
		if !svg.texts[w.key] {
			t.Errorf("label %q missing from the SVG (texts: %v)", w.key, svg.texts)
		}
	}
	// Kibana's default autosize (fit, padding included) makes the whole
	// picture the panel's size.
	if svg.width != 300 || svg.height != 120 {
		t.Errorf("SVG is %vx%v, want the panel size 300x120", svg.width, svg.height)
	}
}

// TestRenderAutosize checks that the view is sized as Kibana sizes it:
// Kibana makes a bare autosize type {type, contains: "padding"} and, unless
// the type is "none", replaces the spec's width/height by the panel's.
func TestRenderAutosize(t *testing.T) {
	values := map[string]any{"pages": searchResponse()}
	for _, tc := range []struct {
		name, autosize string
		w, h           float64 // the size, or with grow the least size
		grow, warn     bool
	}{
		{name: "unset", w: 300, h: 120, warn: true},
		// "pad" grows the panel size to fit the label above the top bar.
		{name: "pad", autosize: `"pad"`, w: 300, h: 120, grow: true, warn: true},
		// The spec's 200x50, which includes the padding.
		{name: "none", autosize: `"none"`, w: 200, h: 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := strings.Replace(barSpec, `"padding": 5,`, `"padding": 5, "width": 200, "height": 50,`, 1)
			if tc.autosize != "" {
				spec = strings.Replace(spec, `"padding": 5,`, `"padding": 5, "autosize": `+tc.autosize+`,`, 1)
			}
			res, err := render(t, spec, values)
			if err != nil {
				t.Fatal(err)
			}
			svg := parseSVG(t, res.SVG)
			if exact := svg.width == tc.w && svg.height == tc.h; !exact &&
				(!tc.grow || svg.width < tc.w || svg.height <= tc.h) {
				t.Errorf("SVG is %vx%v, want %vx%v (grown: %v)", svg.width, svg.height, tc.w, tc.h, tc.grow)
			}
			if warned := len(res.Warnings) > 0; warned != tc.warn {
				t.Errorf("warnings %q, want some: %v", res.Warnings, tc.warn)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		values     map[string]any
		want       string
	}{
		{
			name:   "unknown data set in values",
			spec:   barSpec,
			values: map[string]any{"pages": searchResponse(), "pagez": searchResponse()},
			want:   `values given for data set "pagez"`,
		},
		{
			name: "query without values",
			spec: barSpec,
			want: `data set "pages" has a Kibana url`,
		},
		{
			name: "unknown transform",
			spec: `{"data": [{"name": "a", "values": [{"x": 1}], "transform": [{"type": "nosuch"}]}]}`,
			want: `Unrecognized transform type: "nosuch"`,
		},
		{
			// Vega logs this one during the dataflow run instead of throwing.
			name: "failing expression",
			spec: `{"data": [{"name": "a", "values": [{"x": 1}], "transform": [{"type": "formula", "as": "y", "expr": "datum.x.y.z"}]}]}`,
			want: "Cannot read properties of undefined",
		},
		{
			name:   "format property missing from the response",
			spec:   strings.Replace(barSpec, "aggregations.a.buckets", "aggregations.b.buckets", 1),
			values: map[string]any{"pages": searchResponse()},
			want:   "vega: ",
		},
		{
			name: "not JSON",
			spec: `{"data": [`,
			want: "not valid JSON",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, tc.spec, tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPNG(t *testing.T) {
	res, err := render(t, barSpec, map[string]any{"pages": searchResponse()})
	if err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, res.SVG)
	browser := testenv.Browser(t, 60*time.Second)
	b, err := vegarender.PNG(browser, res.SVG)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding the PNG: %v", err)
	}
	bounds := img.Bounds()
	if float64(bounds.Dx()) != svg.width || float64(bounds.Dy()) != svg.height {
		t.Errorf("PNG is %dx%d, SVG is %vx%v", bounds.Dx(), bounds.Dy(), svg.width, svg.height)
	}
	white, blue := 0, 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			switch {
			case r == 0xffff && g == 0xffff && b == 0xffff:
				white++
			case b > 0xa000 && r < 0x6000: // steelblue is #4682b4
				blue++
			}
		}
	}
	if total := bounds.Dx() * bounds.Dy(); white == total || white < total/4 {
		t.Errorf("%d of %d pixels are white; want a white background with a chart on it", white, total)
	}
	if blue == 0 {
		t.Error("no steelblue bar pixels in the PNG")
	}
}

// svgDoc is what the tests read from an SVG document.
type svgDoc struct {
	width, height float64
	marks         map[string][]string // mark class -> element names of its items
	texts         map[string]bool
}

// parseSVG checks that s is well-formed XML with an <svg> root and collects
// its size, the items of each mark group and the text contents.
func parseSVG(t *testing.T, s string) svgDoc {
	t.Helper()
	doc := svgDoc{marks: map[string][]string{}, texts: map[string]bool{}}
	dec := xml.NewDecoder(strings.NewReader(s))
	var stack []string // mark class of each open element ("" outside marks)
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, s)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			if len(stack) == 0 {
				if el.Name.Local != "svg" {
					t.Fatalf("root element is <%s>, want <svg>", el.Name.Local)
				}
				doc.width, _ = strconv.ParseFloat(attr("width"), 64)
				doc.height, _ = strconv.ParseFloat(attr("height"), 64)
			}
			if n := len(stack); n > 0 && stack[n-1] != "" {
				doc.marks[stack[n-1]] = append(doc.marks[stack[n-1]], el.Name.Local)
			}
			class := ""
			if el.Name.Local == "g" {
				for _, c := range strings.Fields(attr("class")) {
					if strings.HasPrefix(c, "mark-") {
						class = c
					}
				}
			}
			stack = append(stack, class)
			inText = el.Name.Local == "text"
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			inText = false
		case xml.CharData:
			if inText {
				doc.texts[string(el)] = true
			}
		}
	}
	if doc.width == 0 || doc.height == 0 {
		t.Fatalf("SVG has no width/height: %.200s", s)
	}
	return doc
}
