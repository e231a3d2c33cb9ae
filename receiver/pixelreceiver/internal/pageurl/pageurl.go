// Package pageurl splits a page or referrer URL reported by a browser into
// the url.* parts of the event model. Page URLs must be absolute http(s)
// URLs: anything else cannot be the address of a web page a visitor looked
// at. A referrer may also name the Android app a page was opened from
// (ParseAndroidApp).
package pageurl // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/pageurl"

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is returned for a URL that is not an absolute http(s) URL with a host.
var ErrInvalid = errors.New("not an absolute http(s) URL")

// URL is a parsed page URL.
type URL struct {
	// Full is the URL as reported, minus any user:password@ part.
	Full string
	// Scheme is "http" or "https".
	Scheme string
	// Domain is the host name in lower case, without port and without the
	// brackets of an IPv6 literal.
	Domain string
	// Port is the explicit port, 0 when the URL names none.
	Port int
	// Path is the decoded path; "/" when the URL has none.
	Path string
	// Query is the raw query without the leading "?", as sent, so that
	// consumers can parse it with url.ParseQuery.
	Query string
	// Fragment is the decoded fragment without the leading "#".
	Fragment string
}

// Parse parses raw, which must be an absolute http or https URL with a host.
func Parse(raw string) (URL, error) {
	if !utf8.ValidString(raw) {
		// Browsers percent-encode everything that is not UTF-8, so raw bytes
		// here mean a forged or corrupted URL.
		return URL{}, ErrInvalid
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return URL{}, ErrInvalid
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return URL{}, ErrInvalid
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return URL{}, ErrInvalid
	}
	port, err := parsePort(u.Port())
	if err != nil {
		return URL{}, err
	}
	full := raw
	if u.User != nil {
		// Credentials in a URL are never analytics data; drop them before
		// the URL is stored anywhere.
		full = stripUserinfo(raw)
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	return URL{
		Full:     full,
		Scheme:   u.Scheme,
		Domain:   host,
		Port:     port,
		Path:     toValidUTF8(p),
		Query:    u.RawQuery,
		Fragment: toValidUTF8(u.Fragment),
	}, nil
}

// SetQuery replaces the raw query (without the '?'; "" removes it) in
// Query and in Full, keeping Full's fragment.
func (u *URL) SetQuery(q string) {
	full, frag, hasFrag := strings.Cut(u.Full, "#")
	base, _, _ := strings.Cut(full, "?")
	if q != "" {
		base += "?" + q
	}
	if hasFrag {
		base += "#" + frag
	}
	u.Full, u.Query = base, q
}

// SchemeAndroidApp is the scheme of the referrer Chrome on Android reports
// for a page opened from an app: android-app://<package>[/<scheme>/<host>/<path>].
const SchemeAndroidApp = "android-app"

// maxPackageName is Android's limit on a package name.
const maxPackageName = 255

// ParseAndroidApp parses an android-app:// referrer. Domain is the app's
// package name in lower case (com.google.android.gm); Path and Query are
// what follows it, as for an http(s) URL (the app's deep link, if any).
func ParseAndroidApp(raw string) (URL, error) {
	if !utf8.ValidString(raw) {
		return URL{}, ErrInvalid
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || !strings.EqualFold(u.Scheme, SchemeAndroidApp) || u.User != nil || u.Port() != "" {
		return URL{}, ErrInvalid
	}
	pkg := strings.ToLower(u.Host)
	if !validPackageName(pkg) {
		return URL{}, ErrInvalid
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	return URL{
		Full:     raw,
		Scheme:   SchemeAndroidApp,
		Domain:   pkg,
		Path:     toValidUTF8(p),
		Query:    u.RawQuery,
		Fragment: toValidUTF8(u.Fragment),
	}, nil
}

// validPackageName reports whether s (lower case) is an Android package
// name: at least two dot-separated segments, each a letter followed by
// letters, digits or underscores.
func validPackageName(s string) bool {
	if len(s) > maxPackageName {
		return false
	}
	segments := 0
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" || seg[0] < 'a' || seg[0] > 'z' {
			return false
		}
		for i := 1; i < len(seg); i++ {
			if c := seg[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
				return false
			}
		}
		segments++
	}
	return segments >= 2
}

// stripUserinfo cuts "user:password@" out of the authority of raw, which
// url.Parse has accepted and found userinfo in. It works on the text rather
// than re-serialising with url.URL.String, which would re-escape the rest and
// could make the URL longer than the limit it was checked against.
func stripUserinfo(raw string) string {
	start := strings.Index(raw, "//") + 2
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	// Like url.Parse: the userinfo ends at the last "@" of the authority.
	at := strings.LastIndex(raw[start:end], "@")
	if at < 0 {
		return raw
	}
	return raw[:start] + raw[start+at+1:]
}

// parsePort returns 0 for an absent port. url.Parse has already checked that
// a present port is all digits.
func parsePort(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, ErrInvalid
	}
	return n, nil
}

// toValidUTF8 guards decoded parts: "%ff" decodes to a byte that is not UTF-8.
func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
