//go:generate mdatagen metadata.yaml

// Package anonymizer pseudonymises identifiers with per-site keyed hashes,
// derives a cookieless visitor key for anonymous events, reduces the client
// address and user agent, scrubs personal data out of URLs, titles, search
// terms and properties, and encrypts the attributes the owner marks as
// recoverable. It runs after the consent processor and before attribution.
package anonymizer // import "github.com/webjourney/webjourney/processor/anonymizer"
