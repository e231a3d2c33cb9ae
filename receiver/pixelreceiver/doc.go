//go:generate mdatagen metadata.yaml

// Package pixelreceiver receives first-party web analytics hits, from an
// image pixel (GET) and from the webjourney tag's JSON beacon (POST), and
// turns every accepted event into one log record that follows the
// webjourney event model (internal/eventmodel).
package pixelreceiver // import "github.com/webjourney/webjourney/receiver/pixelreceiver"
