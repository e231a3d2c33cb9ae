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

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
)

// esOptions is the help text of the connection options every
// Elasticsearch command takes.
const esOptions = `Connection options:
  --url URL[,URL...]        Elasticsearch nodes, http:// or https://, without
                            credentials (required); tried in turn
  --api-key-env NAME        read an API key ("id:key" or the base64 "encoded"
                            form) from environment variable NAME
  --api-key-file PATH       read the API key from a file
  --api-key KEY             the API key itself (visible to other users in the
                            process list: prefer --api-key-env or -file)
  --user USER               HTTP basic authentication user, with
  --password-env NAME       the environment variable holding its password, or
  --password-file PATH      a file holding it
  --bearer-token-env NAME   read a bearer token (a service account token or an
                            OAuth2 access token) from environment variable NAME
  --bearer-token-file PATH  read the bearer token from a file
  --ca-file PATH            PEM certificates to trust for https (default: the
                            system's)
  --ca-fingerprint HEX      trust the CA certificate with this SHA-256
                            fingerprint in the chain the server presents
                            (the exporter's ca_trusted_fingerprint)
  --cert-file PATH          a client certificate (PEM), with
  --key-file PATH           its private key
  --server-name NAME        verify the server's certificate for NAME
  --insecure-skip-verify    do not verify the server's certificate (tests only)
  --prefix PREFIX           the exporter's index_prefix (default webjourney)
  --timeout DURATION        give up after this long (default 10m)
`

// esFlags are the connection flags of the Elasticsearch (and Kibana)
// commands.
type esFlags struct {
	url, prefix, deadLetter                  string
	apiKey, apiKeyEnv, apiKeyFile            string
	user, passwordEnv, passwordFile          string
	bearerTokenEnv, bearerTokenFile          string
	caFile, caFingerprint, certFile, keyFile string
	serverName                               string
	insecureSkipVerify                       bool
	timeout                                  time.Duration
}

// register adds the flags to fs; withDeadLetter adds --dead-letter-index.
func (f *esFlags) register(fs *flag.FlagSet, withDeadLetter bool) {
	fs.StringVar(&f.url, "url", "", "Elasticsearch URLs")
	fs.StringVar(&f.apiKey, "api-key", "", "API key")
	fs.StringVar(&f.apiKeyEnv, "api-key-env", "", "environment variable holding the API key")
	fs.StringVar(&f.apiKeyFile, "api-key-file", "", "file holding the API key")
	fs.StringVar(&f.user, "user", "", "basic authentication user")
	fs.StringVar(&f.passwordEnv, "password-env", "", "environment variable holding the password")
	fs.StringVar(&f.passwordFile, "password-file", "", "file holding the password")
	fs.StringVar(&f.bearerTokenEnv, "bearer-token-env", "", "environment variable holding the bearer token")
	fs.StringVar(&f.bearerTokenFile, "bearer-token-file", "", "file holding the bearer token")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of CA certificates")
	fs.StringVar(&f.caFingerprint, "ca-fingerprint", "", "SHA-256 fingerprint of the CA certificate")
	fs.StringVar(&f.certFile, "cert-file", "", "client certificate (PEM)")
	fs.StringVar(&f.keyFile, "key-file", "", "client certificate's key (PEM)")
	fs.StringVar(&f.serverName, "server-name", "", "name to verify the server's certificate for")
	fs.BoolVar(&f.insecureSkipVerify, "insecure-skip-verify", false, "do not verify the server's certificate")
	fs.StringVar(&f.prefix, "prefix", journeystore.DefaultPrefix, "the exporter's index_prefix")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "overall time limit")
	if withDeadLetter {
		fs.StringVar(&f.deadLetter, "dead-letter-index", "", "the exporter's dead_letter::index")
	}
}

// flagKeys names the flags in esclient's messages.
var flagKeys = esclient.Keys{
	User: "--user", Password: "--password-env", PasswordFile: "--password-file",
	APIKey: "--api-key", APIKeyFile: "--api-key-file",
	BearerToken: "--bearer-token-env", BearerTokenFile: "--bearer-token-file",
	CAFile: "--ca-file", CAFingerprint: "--ca-fingerprint", ServerName: "--server-name",
	CertFile: "--cert-file", KeyFile: "--key-file", InsecureSkipTLS: "--insecure-skip-verify",
	Privileges: "webjourneyctl's README lists them under Privileges",
}

// connection is what the flags say about reaching Elasticsearch (or
// Kibana): where, as whom, with which TLS setup.
type connection struct {
	urls []string
	auth esclient.Auth
	tls  esclient.TLS
	keys esclient.Keys
}

// connection checks the connection flags. Its errors name the flag and
// never hold a secret.
func (f *esFlags) connection() (*connection, error) {
	if f.url == "" {
		return nil, errors.New("--url is required, e.g. --url http://localhost:9200")
	}
	if f.timeout <= 0 {
		return nil, errors.New("--timeout must be positive")
	}
	c := &connection{keys: flagKeys}
	if f.apiKeyEnv != "" {
		c.keys.APIKey = "--api-key-env" // messages name the flag that was given
	}
	for _, u := range strings.Split(f.url, ",") {
		u = strings.TrimSpace(u)
		if err := esclient.CheckURL(u); err != nil {
			return nil, fmt.Errorf("--url: %w", err)
		}
		c.urls = append(c.urls, u)
	}
	var err error
	if c.auth, err = f.authentication(); err != nil {
		return nil, err
	}
	c.tls = esclient.TLS{CAFile: f.caFile, CertFile: f.certFile, KeyFile: f.keyFile, ServerName: f.serverName, InsecureSkipVerify: f.insecureSkipVerify}
	if f.caFingerprint != "" {
		if c.tls.CAFingerprint, err = esclient.ParseFingerprint(f.caFingerprint); err != nil {
			return nil, fmt.Errorf("--ca-fingerprint: %w", err)
		}
		if f.caFile != "" || f.insecureSkipVerify {
			return nil, errors.New("--ca-fingerprint: give it or --ca-file or --insecure-skip-verify, not several")
		}
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return nil, errors.New("--cert-file and --key-file: give both or neither")
	}
	return c, nil
}

// authentication checks the credential flags: one way to authenticate,
// each secret from one source, never the password on the command line.
func (f *esFlags) authentication() (esclient.Auth, error) {
	a := esclient.Auth{User: f.user}
	var methods []string
	if f.apiKey != "" || f.apiKeyEnv != "" || f.apiKeyFile != "" {
		methods = append(methods, "an API key")
	}
	if f.user != "" || f.passwordEnv != "" || f.passwordFile != "" {
		methods = append(methods, "--user and --password-env")
	}
	if f.bearerTokenEnv != "" || f.bearerTokenFile != "" {
		methods = append(methods, "a bearer token")
	}
	switch {
	case len(methods) > 1:
		return a, fmt.Errorf("give %s, not both", strings.Join(methods, " or "))
	case count(f.apiKey, f.apiKeyEnv, f.apiKeyFile) > 1:
		return a, errors.New("give --api-key, --api-key-env or --api-key-file, not both")
	case count(f.passwordEnv, f.passwordFile) > 1:
		return a, errors.New("give --password-env or --password-file, not both")
	case count(f.bearerTokenEnv, f.bearerTokenFile) > 1:
		return a, errors.New("give --bearer-token-env or --bearer-token-file, not both")
	case (f.passwordEnv != "" || f.passwordFile != "") && f.user == "":
		return a, errors.New("--password-env needs --user")
	case f.user != "" && f.passwordEnv == "" && f.passwordFile == "":
		return a, errors.New("--user needs --password-env NAME or --password-file PATH (the password is never taken on the command line)")
	}
	var err error
	if a.Password, err = secret("--password-env", f.passwordEnv, f.passwordFile); err != nil {
		return a, err
	}
	if a.BearerToken, err = secret("--bearer-token-env", f.bearerTokenEnv, f.bearerTokenFile); err != nil {
		return a, err
	}
	if a.APIKey, err = secret("--api-key-env", f.apiKeyEnv, f.apiKeyFile); err != nil {
		return a, err
	}
	if f.apiKey != "" {
		a.APIKey.Value = f.apiKey
	}
	if a.APIKey.Value != "" {
		if _, _, err := esclient.NormalizeAPIKey(a.APIKey.Value); err != nil {
			return a, fmt.Errorf("the API key %w", err)
		}
	}
	return a, nil
}

// secret reads a secret from the environment variable env, or names the
// file it is in.
func secret(envFlag, env, file string) (esclient.Secret, error) {
	if file != "" {
		return esclient.Secret{File: file}, nil
	}
	if env == "" {
		return esclient.Secret{}, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok || strings.TrimSpace(v) == "" {
		return esclient.Secret{}, fmt.Errorf("%s: environment variable %s is not set", envFlag, env)
	}
	return esclient.Secret{Value: strings.TrimSpace(v)}, nil
}

func count(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

// checkLayout checks --prefix and --dead-letter-index.
func (f *esFlags) checkLayout() (journeystore.Layout, error) {
	if err := journeystore.CheckIndexPrefix(f.prefix); err != nil {
		return journeystore.Layout{}, fmt.Errorf("--prefix: %w", err)
	}
	if err := journeystore.CheckDeadLetterIndex(f.deadLetter, f.prefix); err != nil {
		return journeystore.Layout{}, fmt.Errorf("--dead-letter-index: %w", err)
	}
	return journeystore.Layout{Prefix: f.prefix, DeadLetterIndex: f.deadLetter}, nil
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

// session is a command's connection to Elasticsearch.
type session struct {
	store *journeystore.Store
	ctx   context.Context
	rec   *esclient.Recorder
	close func()
}

// fail reports err on stderr, with what a refusal the requests met says
// (the node, whom they authenticated as, what to do), and returns the
// failure exit code.
func (s *session) fail(cmd string, err error, stderr io.Writer) int {
	if r := s.rec.Refusal(); r != nil {
		err = fmt.Errorf("%w; Elasticsearch at %s, as %s: %s", err, r.Endpoint, r.As, r.Hint)
	}
	fmt.Fprintf(stderr, "webjourneyctl %s: %v\n", cmd, err)
	return exitFailure
}

// connect checks the flags, connects (fetching the CA of
// --ca-fingerprint) and checks that Elasticsearch 8.x or 9.x answers and
// takes the credentials. On failure it reports on stderr and returns nil
// and the exit code (usage or failure).
func (f *esFlags) connect(cmd string, stderr io.Writer) (*session, int) {
	usage := func(err error) (*session, int) {
		fmt.Fprintf(stderr, "webjourneyctl %s: %v\n", cmd, err)
		return nil, exitUsage
	}
	conn, err := f.connection()
	if err != nil {
		return usage(err)
	}
	layout, err := f.checkLayout()
	if err != nil {
		return usage(err)
	}
	if conn.tls.InsecureSkipVerify {
		fmt.Fprintf(stderr, "webjourneyctl %s: warning: --insecure-skip-verify: the server's certificate is not verified; anyone on the network path can read the credentials\n", cmd)
	}
	ctx, cancel := f.context()
	ctx, rec := esclient.WithRecorder(ctx)
	failed := func(err error) (*session, int) {
		cancel()
		fmt.Fprintf(stderr, "webjourneyctl %s: %v\n", cmd, err)
		var ee *esclient.Error
		if errors.As(err, &ee) {
			return nil, exitFailure
		}
		return nil, exitUsage // a local file (CA, certificate, secret) that cannot be read
	}
	tr, err := esclient.NewTransport(ctx, conn.tls, conn.urls, conn.keys)
	if err != nil {
		return failed(err)
	}
	c, err := esclient.New(esclient.Options{Endpoints: conn.urls, Auth: conn.auth, Keys: conn.keys, Transport: tr})
	if err != nil {
		return failed(err)
	}
	s := &session{store: journeystore.New(c.Client, layout), ctx: ctx, rec: rec, close: func() {
		cancel()
		_ = c.Close(context.Background())
		tr.CloseIdleConnections()
	}}
	cl, err := c.Probe(ctx)
	if err == nil {
		var warning string
		if warning, err = cl.Check(); warning != "" {
			fmt.Fprintf(stderr, "webjourneyctl %s: warning: %s\n", cmd, warning)
		}
	}
	if err != nil {
		s.close()
		fmt.Fprintf(stderr, "webjourneyctl %s: %v\n", cmd, err)
		return nil, exitFailure
	}
	return s, exitOK
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
