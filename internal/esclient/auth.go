package esclient

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
)

// Secret is one credential: given as a value (which a collector
// configuration takes from the environment with ${env:NAME}) or as a file.
// A file is read at start and read again whenever it changes, so a rotated
// key or a corrected password is used without a restart and the events
// waiting in the queue are stored with it.
type Secret struct {
	Value string
	File  string
}

// IsSet reports whether a value or a file is given.
func (s Secret) IsSet() bool { return s.Value != "" || s.File != "" }

// Auth says how requests authenticate: basic authentication (User and
// Password), an API key or a bearer token, or none. Callers check that at
// most one is configured (their messages name their keys).
type Auth struct {
	User        string
	Password    Secret
	APIKey      Secret // "id:key" or the base64 "encoded" form Elasticsearch returns
	BearerToken Secret // a service account token or an OAuth2 access token
}

// method returns how a configures authentication.
func (a Auth) method() authMethod {
	switch {
	case a.APIKey.IsSet():
		return methodAPIKey
	case a.BearerToken.IsSet():
		return methodBearer
	case a.User != "":
		return methodBasic
	}
	return methodNone
}

type authMethod int

const (
	methodNone authMethod = iota
	methodBasic
	methodAPIKey
	methodBearer
)

// NormalizeAPIKey returns an API key in the form the Authorization header
// takes (base64 of "id:key"), from either "id:key" (as Beats take it) or
// that encoded form (as Elasticsearch returns it), and its id, which is not
// secret and names the key in messages. Its errors never hold the key.
func NormalizeAPIKey(key string) (encoded, id string, err error) {
	if i := strings.IndexByte(key, ':'); i >= 0 {
		// The standard base64 alphabet has no ':', so this is id:key.
		if i == 0 || i == len(key)-1 {
			return "", "", errors.New(`must be "id:key" with both parts, or the base64 "encoded" form`)
		}
		return base64.StdEncoding.EncodeToString([]byte(key)), key[:i], nil
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(key)
	}
	i := strings.IndexByte(string(raw), ':')
	if err != nil || i <= 0 || i == len(raw)-1 {
		return "", "", errors.New(`is neither "id:key" nor the base64 "encoded" form of an Elasticsearch API key`)
	}
	return key, string(raw[:i]), nil
}

// source reads one Secret: its value, or its file again whenever the
// file's size or modification time changed.
type source struct {
	value string
	file  string
	key   string // names the setting in messages

	mu        sync.Mutex
	size      int64
	modTime   time.Time
	fromFile  string
	lastError error
}

func newSource(s Secret, valueKey, fileKey string) (*source, error) {
	if s.File == "" {
		return &source{value: strings.TrimSpace(s.Value), key: valueKey}, nil
	}
	src := &source{file: s.File, key: fileKey}
	if _, err := src.get(); err != nil {
		return nil, err
	}
	return src, nil
}

// get returns the secret. A file that cannot be read again keeps its last
// value (a rotation may replace it non-atomically); only a file that was
// never read is an error.
func (s *source) get() (string, error) {
	if s.file == "" {
		return s.value, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.file)
	if err == nil && fi.Size() == s.size && fi.ModTime().Equal(s.modTime) && s.lastError == nil {
		return s.fromFile, nil
	}
	var b []byte
	if err == nil {
		b, err = os.ReadFile(s.file)
	}
	if err != nil {
		if s.modTime.IsZero() {
			// The error names the path, never the content.
			s.lastError = fmt.Errorf("%s: %w", s.key, err)
			return "", s.lastError
		}
		return s.fromFile, nil
	}
	s.size, s.modTime, s.lastError = fi.Size(), fi.ModTime(), nil
	s.fromFile = strings.TrimSpace(string(b))
	return s.fromFile, nil
}

// credentials produce the Authorization header of every request.
type credentials struct {
	method authMethod
	user   string
	secret *source
}

func newCredentials(a Auth, k Keys) (*credentials, error) {
	c := &credentials{method: a.method(), user: a.User}
	var err error
	switch c.method {
	case methodBasic:
		c.secret, err = newSource(a.Password, k.Password, k.PasswordFile)
	case methodAPIKey:
		c.secret, err = newSource(a.APIKey, k.APIKey, k.APIKeyFile)
		if err == nil {
			_, err = c.header()
		}
	case methodBearer:
		c.secret, err = newSource(a.BearerToken, k.BearerToken, k.BearerTokenFile)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// header returns the value of the Authorization header; "" for none. An
// empty secret file sends no credentials (a deployment may provision every
// credential file and fill one).
func (c *credentials) header() (string, error) {
	if c == nil || c.method == methodNone {
		return "", nil
	}
	secret, err := c.secret.get()
	if err != nil || secret == "" {
		return "", err
	}
	switch c.method {
	case methodBasic:
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.user+":"+secret)), nil
	case methodAPIKey:
		encoded, _, err := NormalizeAPIKey(secret)
		if err != nil {
			return "", fmt.Errorf("%s: %w", c.secret.key, err)
		}
		return "ApiKey " + encoded, nil
	default:
		return "Bearer " + secret, nil
	}
}

// String says who the requests authenticate as, for messages: never a
// secret, only the user name or the API key's id.
func (c *credentials) String() string {
	if c == nil {
		return "no credentials"
	}
	switch c.method {
	case methodBasic:
		return fmt.Sprintf("basic authentication as user %q", c.user)
	case methodAPIKey:
		if s, err := c.secret.get(); err == nil {
			if _, id, err := NormalizeAPIKey(s); err == nil {
				return fmt.Sprintf("API key id %q", id)
			}
		}
		return "an API key"
	case methodBearer:
		return "a bearer token"
	}
	return "no credentials"
}

// settingKeys names the settings that hold these credentials.
func (c *credentials) settingKeys(k Keys) string {
	if c == nil {
		return ""
	}
	switch c.method {
	case methodBasic:
		return k.User + " and " + c.secret.key
	case methodAPIKey, methodBearer:
		return c.secret.key
	}
	return ""
}

// Authorize returns a transport that sends every request over next with
// the credentials of a (Kibana takes the same as Elasticsearch). It reads
// a secret file now; its errors name the setting and never hold a secret.
func Authorize(next http.RoundTripper, a Auth, k Keys) (http.RoundTripper, error) {
	creds, err := newCredentials(a, k)
	if err != nil {
		return nil, err
	}
	return &authorizer{next: next, creds: creds}, nil
}

// authorizer sets the Authorization header of every request. The
// transport's own credentials options are not used, so that a file-backed
// secret is read again when it changes.
type authorizer struct {
	next  http.RoundTripper
	creds *credentials
}

func (a *authorizer) RoundTrip(req *http.Request) (*http.Response, error) {
	h, err := a.creds.header()
	if err != nil {
		return nil, err
	}
	if h == "" {
		return a.next.RoundTrip(req)
	}
	// A RoundTripper must not change the caller's request.
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", h)
	return a.next.RoundTrip(r)
}

// CloseIdleConnections passes the call on, so http.Client's reaches the
// pooled connections.
func (a *authorizer) CloseIdleConnections() {
	if c, ok := a.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// CheckAuth checks a configured Auth: at most one way to authenticate,
// each secret given once (value or file), a user with a password and a
// password with a user, an API key in a known form. Messages name the keys
// as k spells them. Whether the credentials compete with another
// authenticator (an auth extension, an Authorization header) is the
// caller's to check.
func CheckAuth(a Auth, k Keys) []error {
	var errs []error
	var methods []string
	for _, m := range []struct {
		name, valueKey, fileKey string
		secret                  Secret
	}{
		{k.User, k.Password, k.PasswordFile, a.Password},
		{k.APIKey, k.APIKey, k.APIKeyFile, a.APIKey},
		{k.BearerToken, k.BearerToken, k.BearerTokenFile, a.BearerToken},
	} {
		if m.secret.Value != "" && m.secret.File != "" {
			errs = append(errs, fmt.Errorf("%s: set %s or %s, not both", m.valueKey, m.valueKey, m.fileKey))
		}
		if m.secret.IsSet() || (m.name == k.User && a.User != "") {
			methods = append(methods, m.name)
		}
	}
	if len(methods) > 1 {
		errs = append(errs, fmt.Errorf("%s: set one way to authenticate, not both %s and %s: %s with %s (or %s), %s (or %s), or %s (or %s)",
			methods[1], methods[0], methods[1], k.User, k.Password, k.PasswordFile, k.APIKey, k.APIKeyFile, k.BearerToken, k.BearerTokenFile))
	}
	if a.User != "" && !a.Password.IsSet() {
		errs = append(errs, fmt.Errorf("%s: set %s (e.g. %s: ${env:ES_PASSWORD}) or %s as well", k.User, k.Password, k.Password, k.PasswordFile))
	}
	if a.Password.IsSet() && a.User == "" {
		errs = append(errs, fmt.Errorf("%s: set %s as well", k.Password, k.User))
	}
	if a.APIKey.Value != "" {
		if _, _, err := NormalizeAPIKey(a.APIKey.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k.APIKey, err))
		}
	}
	return errs
}

// Credentials are the configuration keys of an Auth, as the collector
// components that write to Elasticsearch take them (squashed into their
// configuration: user, password, password_file, api_key, api_key_file,
// bearer_token, bearer_token_file). Values are configopaque, so they are
// never printed with the configuration.
type Credentials struct {
	// User and Password (or PasswordFile) authenticate with HTTP basic
	// authentication.
	User         string              `mapstructure:"user"`
	Password     configopaque.String `mapstructure:"password"`
	PasswordFile string              `mapstructure:"password_file"`
	// APIKey is an Elasticsearch API key, "id:key" or the base64 form that
	// Elasticsearch returns as "encoded"; or APIKeyFile holds it.
	APIKey     configopaque.String `mapstructure:"api_key"`
	APIKeyFile string              `mapstructure:"api_key_file"`
	// BearerToken is a service account token or an OAuth2 access token
	// (Authorization: Bearer); or BearerTokenFile holds it.
	BearerToken     configopaque.String `mapstructure:"bearer_token"`
	BearerTokenFile string              `mapstructure:"bearer_token_file"`
}

// AuthOf returns the credentials for New. (A function, not a method:
// Credentials is embedded in configurations, and the collector's
// configuration decoder cannot build a struct that embeds a type with
// methods in any but its first field.)
func AuthOf(c Credentials) Auth {
	return Auth{
		User:        c.User,
		Password:    Secret{Value: string(c.Password), File: c.PasswordFile},
		APIKey:      Secret{Value: string(c.APIKey), File: c.APIKeyFile},
		BearerToken: Secret{Value: string(c.BearerToken), File: c.BearerTokenFile},
	}
}
