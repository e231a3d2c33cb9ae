package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/webjourney/webjourney/internal/configdoctor"
)

const doctorUsage = `Usage: webjourneyctl doctor --config FILE [--config FILE ...] [--env-file FILE ...]

Reads a collector configuration and reports every production hazard it
finds, with the key and a fix: a sending queue in memory, attribution state
or cookieless salts without storage, data kept for ever or longer than the
CNIL exemption allows, region policies without a geo database, consent
opt_out with no opt-in regions, a loopback receiver with no trusted proxy,
secrets written into the file, and (warnings) a pipeline without
memory_limiter or an exporter without a dead-letter index.

Several --config files are merged in order, as the collector merges them.
${env:NAME} and ${env:NAME:-default} are resolved from the --env-file files
(systemd EnvironmentFile syntax, later files win) when any is given, else
from this process's environment; an unset variable takes its default, as
in the collector. ${file:PATH} references are not read: secrets live there,
and only their being references matters.

  webjourneyctl doctor --config /etc/otelcol-webjourney/config.yaml \
      --env-file /etc/otelcol-webjourney/otelcol-webjourney.conf

Exit status: 0 when there is no error (warnings may be printed), 1 when
there is one or more, 2 on a bad command line or an unreadable config.
`

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runDoctor(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var configs, envFiles listFlag
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, doctorUsage) }
	fs.Var(&configs, "config", "collector configuration file (repeatable, merged in order)")
	fs.Var(&envFiles, "env-file", "environment file the service runs with (repeatable)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || len(configs) == 0 {
		fmt.Fprint(stderr, doctorUsage)
		return exitUsage
	}
	var lookup func(string) (string, bool)
	if len(envFiles) > 0 {
		env, err := configdoctor.ReadEnvFiles(envFiles)
		if err != nil {
			fmt.Fprintf(stderr, "webjourneyctl doctor: %v\n", err)
			return exitUsage
		}
		lookup = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
	cfg, err := configdoctor.Load(configs, lookup)
	if err != nil {
		fmt.Fprintf(stderr, "webjourneyctl doctor: %v\n", err)
		return exitUsage
	}
	findings := configdoctor.Check(cfg)
	errs := 0
	for _, f := range findings {
		if f.Severity == configdoctor.Error {
			errs++
		}
		fmt.Fprintf(stdout, "%-8s %s\n         %s\n         fix: %s\n", f.Severity, f.Key, f.Problem, f.Fix)
	}
	name := strings.Join(configs, " + ")
	if len(findings) == 0 {
		fmt.Fprintf(stdout, "%s: no production hazards found\n", name)
		return exitOK
	}
	fmt.Fprintf(stdout, "%s: %s, %s\n", name, plural(errs, "error"), plural(len(findings)-errs, "warning"))
	if errs > 0 {
		return exitFailure
	}
	return exitOK
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
