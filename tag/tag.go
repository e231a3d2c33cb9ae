// Package tag bundles the webjourney browser tag. The JavaScript sources in
// src/ are embedded in the binary and bundled with esbuild at run time, with
// the collector's global name and paths built in (see docs/tag-protocol.md).
package tag // import "github.com/webjourney/webjourney/tag"

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Defaults used by Build for empty Options fields; they match the pixel
// receiver's defaults.
const (
	DefaultGlobalName = "webjourney"
	DefaultTagPath    = "/wj.js"
	DefaultBeaconPath = "/b"
	DefaultConfigPath = "/wj/config"
)

const (
	entryPoint    = "main.js"
	maxGlobalName = 64
	namespace     = "webjourney-tag"
)

//go:embed src
var sources embed.FS

// Options are the values built into the script. Empty fields take the
// Default* values.
type Options struct {
	// GlobalName is the name of the tag's global command function
	// (window[GlobalName]), and of the pre-load queue GlobalName.q.
	GlobalName string
	// TagPath is the URL path the script is served at. The tag uses it to
	// find its own script element when document.currentScript is not set.
	TagPath string
	// BeaconPath and ConfigPath are the collector paths the tag POSTs
	// beacons to and GETs its per-site config from.
	BeaconPath string
	ConfigPath string
}

// Script is a built tag.
type Script struct {
	// Code is the minified script (an IIFE, ES2017).
	Code []byte
	// ETag is a strong entity tag derived from the SHA-256 of Code,
	// including the double quotes.
	ETag string
	// Integrity is the Subresource Integrity value, "sha384-<base64>".
	Integrity string
	// GzipSize is the size of Code compressed with gzip -9.
	GzipSize int
}

// Build bundles and minifies the tag with the given options. It is
// deterministic: the same options give the same bytes.
func Build(opts Options) (*Script, error) {
	opts = opts.withDefaults()
	if err := ValidGlobalName(opts.GlobalName); err != nil {
		return nil, fmt.Errorf("tag: global name: %w", err)
	}
	for _, p := range []struct{ name, value string }{
		{"tag path", opts.TagPath}, {"beacon path", opts.BeaconPath}, {"config path", opts.ConfigPath},
	} {
		if err := validPath(p.value); err != nil {
			return nil, fmt.Errorf("tag: %s: %w", p.name, err)
		}
	}

	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{entryPoint},
		Bundle:            true,
		Write:             false,
		Format:            api.FormatIIFE,
		Platform:          api.PlatformBrowser,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
		LogLevel:          api.LogLevelSilent,
		Define: map[string]string{
			"__WJ_GLOBAL__":      jsString(opts.GlobalName),
			"__WJ_TAG_PATH__":    jsString(opts.TagPath),
			"__WJ_BEACON_PATH__": jsString(opts.BeaconPath),
			"__WJ_CONFIG_PATH__": jsString(opts.ConfigPath),
		},
		Plugins: []api.Plugin{embedded},
	})
	if len(res.Errors) > 0 {
		msgs := make([]string, 0, len(res.Errors))
		for _, m := range res.Errors {
			msgs = append(msgs, m.Text)
		}
		return nil, fmt.Errorf("tag: esbuild: %s", strings.Join(msgs, "; "))
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("tag: esbuild produced %d files, want 1", len(res.OutputFiles))
	}
	return newScript(res.OutputFiles[0].Contents)
}

func newScript(code []byte) (*Script, error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(code); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum256 := sha256.Sum256(code)
	sum384 := sha512.Sum384(code)
	return &Script{
		Code:      code,
		ETag:      `"` + hex.EncodeToString(sum256[:]) + `"`,
		Integrity: "sha384-" + base64.StdEncoding.EncodeToString(sum384[:]),
		GzipSize:  gz.Len(),
	}, nil
}

func (o Options) withDefaults() Options {
	if o.GlobalName == "" {
		o.GlobalName = DefaultGlobalName
	}
	if o.TagPath == "" {
		o.TagPath = DefaultTagPath
	}
	if o.BeaconPath == "" {
		o.BeaconPath = DefaultBeaconPath
	}
	if o.ConfigPath == "" {
		o.ConfigPath = DefaultConfigPath
	}
	return o
}

// validPath accepts an absolute URL path. The value ends up in a JS string
// literal (JSON-escaped, so any value is safe there); the check only catches
// configuration mistakes.
func validPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t\r\n\"'\\<>") {
		return fmt.Errorf("%q must be an absolute URL path without query, fragment, spaces or quotes", p)
	}
	return nil
}

// jsString is a JSON string literal, which esbuild's Define accepts as is.
func jsString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSpace(b.String())
}

// embedded resolves every import to a file of the embedded src directory,
// so that the build never touches the file system.
var embedded = api.Plugin{
	Name: "webjourney-embedded",
	Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
			p := path.Clean(path.Join(path.Dir("/"+args.Importer), args.Path))
			if args.Kind == api.ResolveEntryPoint {
				p = path.Clean("/" + args.Path)
			}
			if _, err := sources.Open("src" + p); err != nil {
				return api.OnResolveResult{}, fmt.Errorf("%s: not an embedded tag source", args.Path)
			}
			return api.OnResolveResult{Path: p, Namespace: namespace}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: namespace}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
			data, err := sources.ReadFile("src" + args.Path)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			s := string(data)
			return api.OnLoadResult{Contents: &s, Loader: api.LoaderJS}, nil
		})
	},
}

// ValidGlobalName reports whether name can be the tag's global function:
// an ASCII JavaScript identifier of at most 64 characters that is neither a
// reserved word nor a window property the page depends on.
func ValidGlobalName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if len(name) > maxGlobalName {
		return fmt.Errorf("%q is longer than %d characters", name, maxGlobalName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("%q is not a JavaScript identifier: use letters, digits, _ and $, not starting with a digit", name)
		}
	}
	if reserved[name] {
		return fmt.Errorf("%q is a reserved word or a built-in global of the browser", name)
	}
	return nil
}

// reserved holds the JavaScript reserved words (including strict mode and
// literals) and window properties that a page cannot lose or that cannot be
// replaced by a function.
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		await break case catch class const continue debugger default delete do else enum export
		extends false finally for function if import in instanceof new null return super switch
		this throw true try typeof var void while with yield
		implements interface let package private protected public static
		arguments eval undefined NaN Infinity globalThis
		window self top parent frames opener document location history navigator name status
		length closed origin frameElement screen performance crypto console localStorage
		sessionStorage fetch Object Function Array String Number Boolean Symbol Math JSON Date
		Promise Error RegExp Map Set URL`) {
		m[w] = true
	}
	return m
}()
