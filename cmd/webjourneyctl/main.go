// Command webjourneyctl is the site owner's tool for a webjourney
// deployment: it makes keys, reads back the values the anonymizer
// processor sealed, and erases, ages out and checks what the
// elasticsearch_journey exporter stored, imports the Kibana
// dashboards, and imports history through the collector.
//
// Usage:
//
//	webjourneyctl keygen
//	webjourneyctl decrypt --key-file KEYID=PATH --site SITE --attribute NAME [VALUE ...]
//	webjourneyctl erase --url URL --site SITE (--visitor ID | --user-id ID)
//	webjourneyctl subject export|erase --url URL --site SITE (--user-id ID | --visitor-id ID) --config FILE
//	webjourneyctl import --endpoint URL --site SITE --key-file PATH FILE...
//	webjourneyctl partner grant|revoke NAME --url URL --site SITE [--kibana-url URL]
//	webjourneyctl retention apply --url URL --events-months N ... [--dry-run]
//	webjourneyctl templates check|install --url URL
//	webjourneyctl kibana import --url URL [--space SPACE] [--prefix PREFIX]
//	webjourneyctl doctor --config FILE [--env-file FILE]
//	webjourneyctl version
//	webjourneyctl help [COMMAND]
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // the command ran but some work failed (Elasticsearch unreachable or refusing, ...)
	exitUsage    = 2 // bad command line
	exitNotReady = 3 // templates check: some index template is missing, older or drifted
)

// command is one subcommand.
type command struct {
	summary string
	usage   string // full help text
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands lists the subcommands; add new ones here.
var commands map[string]command

func init() {
	commands = map[string]command{
		"decrypt":   {summary: "open sealed (encrypted) attribute values", usage: decryptUsage, run: runDecrypt},
		"doctor":    {summary: "report the production hazards of a collector config", usage: doctorUsage, run: runDoctor},
		"erase":     {summary: "delete everything stored about one visitor or user (Elasticsearch)", usage: eraseUsage, run: runErase},
		"import":    {summary: "import history (NDJSON events) through the collector's import endpoint", usage: importUsage, run: runImport},
		"kibana":    {summary: "kibana import: the dashboards and data views (Kibana saved objects API)", usage: kibanaUsage, run: runKibana},
		"keygen":    {summary: "print a new random 32-byte key as 64 hex characters", usage: keygenUsage, run: runKeygen},
		"partner":   {summary: "partner grant|revoke: a referral partner's filtered alias and Kibana data view", usage: partnerUsage, run: runPartner},
		"retention": {summary: "retention apply: delete expired events and entities (Elasticsearch)", usage: retentionUsage, run: runRetention},
		"subject":   {summary: "subject export|erase: a data subject's request, from their raw identifier", usage: subjectUsage, run: runSubject},
		"templates": {summary: "templates check|install: the exporter's index templates (Elasticsearch)", usage: templatesUsage, run: runTemplates},
		"version":   {summary: "print the version, commit and build date", usage: versionUsage, run: runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args (without the program name) and returns
// the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	name := args[0]
	if name == "--version" {
		name = "version"
	}
	if isHelp(name) {
		if len(args) > 1 {
			cmd, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "webjourneyctl: unknown command %q\n\n", args[1])
				printUsage(stderr)
				return exitUsage
			}
			fmt.Fprint(stdout, cmd.usage)
			return exitOK
		}
		printUsage(stdout)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "webjourneyctl: unknown command %q\n\n", name)
		printUsage(stderr)
		return exitUsage
	}
	return cmd.run(args[1:], stdin, stdout, stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: webjourneyctl COMMAND [OPTIONS] [ARGS]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "print this help, or a command's (help COMMAND)")
	fmt.Fprint(w, "\nExit status: 0 on success, 1 when some work failed, 2 on a bad command line,\n3 when templates check finds a template missing, older or drifted.\n")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}
