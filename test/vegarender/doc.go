// Package vegarender renders Kibana Vega visualizations outside Kibana, for
// tests: Render runs a spec with the real vega npm package under Node.js,
// feeding it Elasticsearch responses in place of the queries Kibana would
// send, and returns the SVG and the computed data sets; PNG turns that SVG
// into a picture with headless Chromium.
//
// The vega package and the browser come from test/testenv
// (testenv.Fetched(t, testenv.Vega), testenv.Node, testenv.Browser).
package vegarender // import "github.com/webjourney/webjourney/test/vegarender"
