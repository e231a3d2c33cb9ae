// Package configdoctor reads an otelcol-webjourney collector configuration
// and reports what would hurt in production: state kept in memory, data kept
// for ever, consent or geo settings that contradict each other, secrets
// written into the file. `webjourneyctl doctor` prints its findings.
//
// The configuration is read the way the collector reads it (several files
// merged in order, ${env:NAME:-default} and ${NAME} resolved), with two
// differences that let it run anywhere, before a deployment: environment
// variables come from the given environment (the service's environment file)
// instead of the process, and ${file:...} references are not read, because
// they are where secrets live and only their being references matters.
package configdoctor // import "github.com/webjourney/webjourney/internal/configdoctor"

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"
)

// Config is a configuration as the doctor sees it.
type Config struct {
	// Resolved is the merged configuration with references resolved.
	Resolved map[string]any
	// Raw is the merged configuration as written, references untouched.
	Raw map[string]any
}

// Load reads the configuration files in order (later ones are merged over
// earlier ones, as the collector's repeated --config does). lookup gives
// environment variables; nil uses the process environment.
func Load(paths []string, lookup func(string) (string, bool)) (*Config, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no configuration file given")
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	raw := map[string]any{}
	uris := make([]string, 0, len(paths))
	configs := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(abs)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		merge(raw, m)
		configs[abs] = true
		uris = append(uris, "file:"+abs)
	}
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs: uris,
		ProviderFactories: []confmap.ProviderFactory{
			providerFactory(fileProvider{configs: configs}),
			providerFactory(envProvider{lookup: lookup}),
		},
		DefaultScheme: "env",
	})
	if err != nil {
		return nil, err
	}
	conf, err := resolver.Resolve(context.Background())
	if err != nil {
		return nil, err
	}
	return &Config{Resolved: conf.ToStringMap(), Raw: raw}, nil
}

// merge merges src into dst the way confmap merges configuration files:
// maps key by key, anything else replaced.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// ParseEnvFile reads a systemd EnvironmentFile: KEY=VALUE lines, # and ;
// comments, values optionally in single or double quotes.
func ParseEnvFile(r io.Reader) (map[string]string, error) {
	env := map[string]string{}
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: want KEY=VALUE, got %q", n, line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env, s.Err()
}

// ReadEnvFiles reads environment files in order, later ones winning.
func ReadEnvFiles(paths []string) (map[string]string, error) {
	env := map[string]string{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		m, err := ParseEnvFile(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for k, v := range m {
			env[k] = v
		}
	}
	return env, nil
}

func providerFactory(p confmap.Provider) confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return p })
}

// envProvider resolves ${env:NAME} and ${env:NAME:-default} like the
// collector's env provider (the default only when NAME is unset), from lookup.
type envProvider struct{ lookup func(string) (string, bool) }

func (envProvider) Scheme() string                 { return "env" }
func (envProvider) Shutdown(context.Context) error { return nil }

func (p envProvider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	name, def, hasDefault := strings.Cut(strings.TrimPrefix(uri, "env:"), ":-")
	val, ok := p.lookup(name)
	if !ok && hasDefault {
		if def == "" {
			return confmap.NewRetrieved("")
		}
		val = def
	}
	return confmap.NewRetrievedFromYAML([]byte(val))
}

// fileProvider reads the configuration files themselves; any other
// ${file:PATH} stands for "the contents of PATH", unread.
type fileProvider struct{ configs map[string]bool }

func (fileProvider) Scheme() string                 { return "file" }
func (fileProvider) Shutdown(context.Context) error { return nil }

func (p fileProvider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	path := strings.TrimPrefix(uri, "file:")
	if !p.configs[path] {
		return confmap.NewRetrieved(FileReference(path))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return confmap.NewRetrievedFromYAML(data)
}

// FileReference is what a ${file:PATH} reference resolves to in the doctor.
func FileReference(path string) string { return "<contents of " + path + ">" }
