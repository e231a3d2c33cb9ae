package scrub

import (
	"strings"

	"github.com/webjourney/webjourney/internal/urlquery"
)

// Parameter names are compared after normalisation: ASCII lower case with
// the separators - _ . space and brackets removed, so "user_email",
// "userEmail", "user-email" and "user[email]" all become "useremail".
func normalizeName(name string) string {
	var buf [64]byte
	return string(normName(buf[:0], name))
}

func normName(dst []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '-', '_', '.', ' ', '[', ']', '+':
			continue
		}
		if isUpper(c) {
			c |= 0x20
		}
		dst = append(dst, c)
	}
	return dst
}

// deniedExact are normalised parameter names that are always removed.
//
// Decisions on ambiguous names:
//   - "key" is NOT denied: it is common in ordinary URLs (sort keys,
//     i18n keys, cache keys). Its value is still scrubbed, and real API
//     keys are caught by the token detector (AIza..., AKIA..., entropy).
//     apikey / api_key / x-api-key and *secretkey, *privatekey,
//     *accesskey, *authkey, *sessionkey are denied.
//   - "sid" is NOT denied: in analytics and affiliate links it is mostly a
//     site, source or sub id (GA4 hits even use it for a session start
//     timestamp). Session identifiers are long random values that the
//     token detector removes; sessionid, session_id, sessid, phpsessid,
//     jsessionid and "session" are denied by name.
//   - "code" is denied only when the same query also carries "state",
//     "session_state" or "scope" (an OAuth 2.0 / OIDC authorization
//     response). Otherwise it is usually a promo, country or product code.
//     auth_code, authorization_code, otp, verification_code and similar
//     are always denied.
//   - "state" and "nonce" are kept (random CSRF values, not personal; long
//     ones are removed as tokens anyway).
//   - "cc" is denied (card number shorthand in form posts) although it is
//     sometimes a country code; "tel" and "mobile" are denied only as exact
//     names ("hotel", "is_mobile" are kept).
//   - "ticket" (CAS service tickets), "sig"/"signature"/"hmac" (signed
//     URLs: S3, GCS, CloudFront), "credential" (X-Amz-Credential) and
//     SAMLRequest/SAMLResponse (base64 XML that carries e-mail addresses)
//     are denied.
//   - names, addresses, user names and logins are out of scope for this
//     list (they are not one of the detected classes); configure them in
//     DenyParams or use DropUnknownParams.
var deniedExact = map[string]struct{}{}

func init() {
	for _, n := range []string{
		"email", "mail", "token", "auth", "authorization", "bearer", "jwt",
		"password", "passwd", "pwd", "pass", "passcode", "passphrase", "pin",
		"secret", "apikey", "session", "sess", "sessid", "sessionid",
		"phone", "tel", "telephone", "mobile", "mobilephone", "msisdn", "fax",
		"ssn", "socialsecuritynumber", "card", "cc", "ccnum", "ccnumber", "cardnumber",
		"cardno", "pan", "cvv", "cvv2", "cvc", "cvc2", "iban", "otp", "totp", "mfacode",
		"authcode", "authorizationcode", "verificationcode", "verifycode",
		"resetcode", "confirmationcode", "signature", "sig", "hmac",
		"credential", "credentials", "samlresponse", "samlrequest", "ticket",
		"dob", "dateofbirth", "birthdate", "accountnumber", "bankaccount",
		"routingnumber",
	} {
		deniedExact[n] = struct{}{}
	}
}

// Normalised names containing one of these are denied:
// user_email, access_token, id_token, refresh_token, client_secret,
// x-amz-signature, x-amz-security-token, new_password, PHPSESSID ...
var deniedContains = []string{
	"email", "token", "password", "passwd", "secret", "apikey", "sessionid",
	"sessid", "cardnumber", "creditcard", "signature", "credential",
	"phonenumber", "iban",
}

// ... or ending in one of these: cellphone, home_phone, user_ssn,
// card_cvv, private_key, auth_key, one_time_pwd.
var deniedSuffix = []string{
	"phone", "ssn", "cvv", "cvc", "privatekey", "secretkey", "accesskey",
	"authkey", "sessionkey", "signingkey", "authcode", "pwd", "otp",
}

func builtinDenied(n []byte) bool {
	if _, ok := deniedExact[string(n)]; ok {
		return true
	}
	str := string(n) // no allocation: only used for comparisons below
	for _, w := range deniedContains {
		if len(str) > len(w) && strings.Contains(str, w) {
			return true
		}
	}
	for _, w := range deniedSuffix {
		if len(str) > len(w) && strings.HasSuffix(str, w) {
			return true
		}
	}
	return false
}

type verdict uint8

const (
	keep verdict = iota
	remove
)

// decide returns whether parameter rawName is removed. query is the full
// query the parameter belongs to (for the OAuth "code" rule), or "".
func (s *Scrubber) decide(name string, query string, dropUnknown bool) verdict {
	// Sites use a handful of parameter names over and over; remember the
	// verdicts that do not depend on the rest of the query.
	cacheable := !dropUnknown && len(name) <= maxCachedName
	if cacheable {
		if v, ok := s.verdicts.Load(name); ok {
			return v.(verdict)
		}
	}
	v := s.decideUncached(name, query, dropUnknown)
	if cacheable && !isCode(name) && s.cached.Add(1) <= maxCachedNames {
		s.verdicts.Store(strings.Clone(name), v)
	}
	return v
}

// maxCachedNames bounds the verdict cache: parameter names come from the
// internet, and a flood of invented ones must not grow memory.
const (
	maxCachedNames = 4096
	maxCachedName  = 64
)

// isCode reports whether name normalises to "code", whose verdict depends
// on the rest of the query (OAuth responses).
func isCode(name string) bool {
	var buf [64]byte
	return string(normName(buf[:0], name)) == "code"
}

func (s *Scrubber) decideUncached(name string, query string, dropUnknown bool) verdict {
	var buf [64]byte
	n := normName(buf[:0], name)
	if len(s.deny) > 0 {
		if _, ok := s.deny[string(n)]; ok {
			return remove
		}
	}
	if len(name) >= 4 && (strings.EqualFold(name[:4], "utm_") || strings.EqualFold(name[:4], "mtm_")) {
		return keep
	}
	if len(s.allow) > 0 {
		if _, ok := s.allow[string(n)]; ok {
			return keep
		}
	}
	if builtinDenied(n) {
		return remove
	}
	if string(n) == "code" && query != "" && oauthResponse(query) {
		return remove
	}
	if dropUnknown {
		return remove
	}
	return keep
}

func oauthResponse(q string) bool {
	for name := range urlquery.Params(q) {
		switch strings.ToLower(name) {
		case "state", "session_state", "scope":
			return true
		}
	}
	return false
}
