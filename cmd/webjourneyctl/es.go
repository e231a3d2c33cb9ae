package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
)

// esOptions is the help text of the connection options every
// Elasticsearch command takes.
const esOptions = `Connection options:
  --url URL                 the Elasticsearch node, http:// or https://, without
                            credentials (required)
  --api-key-env NAME        read an API key (the base64 "encoded" form) from
                            environment variable NAME
  --api-key KEY             the API key itself (visible to other users in the
                            process list: prefer --api-key-env)
  --user USER               HTTP basic authentication user, with
  --password-env NAME       the environment variable holding its password
  --ca-file PATH            PEM certificates to trust for an https URL
  --prefix PREFIX           the exporter's index_prefix (default webjourney)
  --timeout DURATION        give up after this long (default 10m)
`

// esFlags are the connection flags of the Elasticsearch commands.
type esFlags struct {
	url, apiKey, apiKeyEnv, user, passwordEnv, caFile, prefix, deadLetter string
	timeout                                                               time.Duration
}

// register adds the flags to fs; withDeadLetter adds --dead-letter-index.
func (f *esFlags) register(fs *flag.FlagSet, withDeadLetter bool) {
	fs.StringVar(&f.url, "url", "", "Elasticsearch URL")
	fs.StringVar(&f.apiKey, "api-key", "", "API key")
	fs.StringVar(&f.apiKeyEnv, "api-key-env", "", "environment variable holding the API key")
	fs.StringVar(&f.user, "user", "", "basic authentication user")
	fs.StringVar(&f.passwordEnv, "password-env", "", "environment variable holding the password")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of CA certificates")
	fs.StringVar(&f.prefix, "prefix", journeystore.DefaultPrefix, "the exporter's index_prefix")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "overall time limit")
	if withDeadLetter {
		fs.StringVar(&f.deadLetter, "dead-letter-index", "", "the exporter's dead_letter::index")
	}
}

// settingFlags names the flag behind each journeystore.Settings field.
var settingFlags = map[string]string{
	"URL":             "--url",
	"APIKey":          "--api-key",
	"Password":        "--password-env",
	"CACert":          "--ca-file",
	"IndexPrefix":     "--prefix",
	"DeadLetterIndex": "--dead-letter-index",
}

// settings checks the flags and turns them into journeystore.Settings. Its errors
// name the flag and never hold a secret.
func (f *esFlags) settings() (journeystore.Settings, error) {
	s := journeystore.Settings{URL: f.url, User: f.user, IndexPrefix: f.prefix, DeadLetterIndex: f.deadLetter}
	if f.url == "" {
		return s, errors.New("--url is required, e.g. --url http://localhost:9200")
	}
	if f.timeout <= 0 {
		return s, errors.New("--timeout must be positive")
	}
	if f.apiKey != "" && f.apiKeyEnv != "" {
		return s, errors.New("give --api-key or --api-key-env, not both")
	}
	if (f.apiKey != "" || f.apiKeyEnv != "") && (f.user != "" || f.passwordEnv != "") {
		return s, errors.New("give an API key or --user and --password-env, not both")
	}
	if f.passwordEnv != "" && f.user == "" {
		return s, errors.New("--password-env needs --user")
	}
	if f.user != "" && f.passwordEnv == "" {
		return s, errors.New("--user needs --password-env NAME (the password is never taken on the command line)")
	}
	env := func(flagName, name string) (string, error) {
		v, ok := os.LookupEnv(name)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", flagName, name)
		}
		return strings.TrimSpace(v), nil
	}
	var err error
	s.APIKey = f.apiKey
	if f.apiKeyEnv != "" {
		if s.APIKey, err = env("--api-key-env", f.apiKeyEnv); err != nil {
			return s, err
		}
	}
	if f.passwordEnv != "" {
		if s.Password, err = env("--password-env", f.passwordEnv); err != nil {
			return s, err
		}
	}
	if f.caFile != "" {
		if s.CACert, err = os.ReadFile(f.caFile); err != nil {
			return s, fmt.Errorf("--ca-file: %w", err)
		}
	}
	return s, nil
}

// store checks the flags (with the layout's own checks of URL, prefix and
// CA certificates) and opens the store. It does not contact
// Elasticsearch. Its errors name the flag and never hold a secret.
func (f *esFlags) store() (*journeystore.Store, journeystore.Settings, error) {
	s, err := f.settings()
	if err != nil {
		return nil, s, err
	}
	st, err := journeystore.Open(s)
	var se *journeystore.SettingError
	if errors.As(err, &se) {
		err = fmt.Errorf("%s: %w", settingFlags[se.Setting], se.Err)
	}
	return st, s, err
}

// context returns the context of a command: cancelled on SIGINT or
// SIGTERM and after --timeout.
func (f *esFlags) context() (context.Context, context.CancelFunc) {
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(sigCtx, f.timeout)
	return ctx, func() {
		cancel()
		stop()
	}
}

// connect checks the flags, opens the store and checks that
// Elasticsearch answers and takes the credentials. On failure it reports
// on stderr and returns the exit code (usage or failure); on success the
// caller must call done.
func (f *esFlags) connect(cmd string, stderr io.Writer) (st *journeystore.Store, ctx context.Context, done func(), code int) {
	st, _, err := f.store()
	if err != nil {
		fmt.Fprintf(stderr, "webjourneyctl %s: %v\n", cmd, err)
		return nil, nil, nil, exitUsage
	}
	ctx, cancel := f.context()
	done = func() {
		cancel()
		_ = st.Close(context.Background())
	}
	if err := st.Ping(ctx); err != nil {
		done()
		fmt.Fprintf(stderr, "webjourneyctl %s: %v\n", cmd, err)
		return nil, nil, nil, exitFailure
	}
	return st, ctx, done, exitOK
}

// parseFlags parses args into fs, which must take no positional arguments.
// It returns -1 to go on, or the exit code.
func parseFlags(fs *flag.FlagSet, cmd string, args []string, stderr io.Writer) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "webjourneyctl %s: unexpected argument %q (options must come before, and there are no arguments)\n", cmd, fs.Arg(0))
		return exitUsage
	}
	return -1
}

// newFlagSet returns a flag set that prints usage on -h and on errors.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	return fs
}

// subcommand picks the subcommand of command from args[0], one of subs. It
// returns it and -1 to go on, or the exit code after printing help or the
// error.
func subcommand(command, usage string, args []string, stderr io.Writer, subs ...string) (string, int) {
	want := strings.Join(subs, " or ")
	switch {
	case len(args) == 0:
		fmt.Fprintf(stderr, "webjourneyctl %s: give a subcommand: %s\n\n%s", command, want, usage)
		return "", exitUsage
	case isHelp(args[0]):
		fmt.Fprint(stderr, usage)
		return "", exitOK
	case !slices.Contains(subs, args[0]):
		fmt.Fprintf(stderr, "webjourneyctl %s: unknown subcommand %q (want %s)\n", command, args[0], want)
		return "", exitUsage
	}
	return args[0], -1
}
