// Package urlquery walks raw URL query strings: the one way the pipeline's
// stages read the query the pixel receiver split off a URL (url.query,
// webjourney.referrer.query), so that every stage cuts a query the same way.
//
// A query is split at every '&' and each part at its first '='. Names and
// values stay as sent (percent-escaped) unless the caller unescapes them:
// most callers compare names with plain ASCII constants and unescape only
// the value they keep. Nothing here allocates.
package urlquery // import "github.com/webjourney/webjourney/internal/urlquery"

import (
	"iter"
	"net/url"
	"strings"
)

// Parts yields every '&'-separated part of a raw query (without the
// leading '?'), in order and empty ones included, exactly as
// strings.Split(query, "&") would return them: a caller that keeps some
// parts can rebuild the rest of the query from them.
func Parts(query string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for {
			part, rest, more := strings.Cut(query, "&")
			if !yield(part) || !more {
				return
			}
			query = rest
		}
	}
}

// Params yields the raw name and raw value of every non-empty part of a
// raw query, in order. A part without '=' has an empty value.
func Params(query string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for part := range Parts(query) {
			if part == "" {
				continue
			}
			name, value, _ := strings.Cut(part, "=")
			if !yield(name, value) {
				return
			}
		}
	}
}

// Value returns the unescaped value of the first parameter named name
// (compared as sent) that has a non-empty value, and whether there is one.
func Value(query, name string) (string, bool) {
	for k, v := range Params(query) {
		if k == name && v != "" {
			return Unescape(v), true
		}
	}
	return "", false
}

// Unescape decodes a raw query name or value ('+' is a space, %XX a
// byte). A malformed escape leaves the value as it was sent: a query is
// data to read, and a badly escaped parameter is still that parameter.
func Unescape(raw string) string {
	if strings.IndexByte(raw, '%') < 0 && strings.IndexByte(raw, '+') < 0 {
		return raw
	}
	if u, err := url.QueryUnescape(raw); err == nil {
		return u
	}
	return raw
}
