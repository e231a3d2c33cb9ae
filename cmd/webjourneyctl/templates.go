package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/webjourney/webjourney/internal/journeystore"
)

const templatesUsage = `Usage: webjourneyctl templates check --url URL [auth] [--prefix PREFIX]
                           [--dead-letter-index INDEX]
       webjourneyctl templates install [--force] --url URL [auth] [--prefix PREFIX]
                           [--dead-letter-index INDEX]

check compares the index templates installed in Elasticsearch with the ones
this version of the elasticsearch_journey exporter installs: <prefix>-events,
<prefix>-visits, <prefix>-visitors, <prefix>-credits and, with
--dead-letter-index, the dead-letter index's. It prints per template the
expected and the installed version and a status:

  ok       the expected version with the expected mapping
  missing  not installed
  older    an older version (the collector upgrades it at start)
  newer    a newer version, from a newer webjourney (left alone)
  drift    the expected version, but a different mapping (each differing
           field is listed); templates install --force repairs it

install installs what is missing or older, as the collector does at start,
and adds the new mapping to the existing indices. With --force it also
replaces templates of the same version (repairing drift). A newer version is
never replaced.

Options:
  --dead-letter-index INDEX the exporter's dead_letter::index, if it has one
  --force                   (install) replace templates of the same version
` + esOptions + `
Exit status: 0 when every template is ok or newer (check) or installed
(install); 3 when some template is missing, older or drifted (check), so a
deploy can wait for it; 1 when Elasticsearch failed; 2 on a bad command line.

Example:
  webjourneyctl templates check --url http://localhost:9200 \
      --dead-letter-index webjourney-dead-letter || exit $?
`

func runTemplates(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	sub, code := subcommand("templates", templatesUsage, args, stderr, "check", "install")
	if code >= 0 {
		return code
	}
	install := sub == "install"
	cmd := "templates " + sub
	fs := newFlagSet(cmd, templatesUsage, stderr)
	var es esFlags
	es.register(fs, true)
	force := false
	if install {
		fs.BoolVar(&force, "force", false, "replace templates of the same version")
	}
	if code := parseFlags(fs, cmd, args[1:], stderr); code >= 0 {
		return code
	}
	s, code := es.connect(cmd, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	st, ctx := s.store, s.ctx

	if install {
		results, err := st.InstallTemplates(ctx, force)
		for _, t := range results {
			switch {
			case t.Outcome == journeystore.TemplateUpToDate || t.Outcome == journeystore.TemplateLeftNewer:
				fmt.Fprintf(stdout, "%s: %s (version %d), left alone\n", t.Name, t.Outcome, t.Previous)
			case t.Previous == 0:
				fmt.Fprintf(stdout, "%s: %s (was not installed or had no version)\n", t.Name, t.Outcome)
			default:
				fmt.Fprintf(stdout, "%s: %s (was version %d)\n", t.Name, t.Outcome, t.Previous)
			}
		}
		if err != nil {
			return s.fail(cmd, err, stderr)
		}
		return exitOK
	}

	rep, err := st.CheckTemplates(ctx)
	if err != nil {
		return s.fail(cmd, err, stderr)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tFAMILY\tEXPECTED\tINSTALLED\tSTATUS")
	notReady, newer := 0, 0
	for _, t := range rep.Templates {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", t.Name, t.Family, t.Expected, version(t.Installed, t.Status != journeystore.TemplateMissing), t.Status)
		switch t.Status {
		case journeystore.TemplateOK:
		case journeystore.TemplateNewer:
			newer++
		default:
			notReady++
		}
	}
	_ = tw.Flush()
	for _, t := range rep.Templates {
		for _, d := range t.MappingDrift {
			fmt.Fprintf(stdout, "%s: mapping drift: %s\n", t.Name, d)
		}
	}
	if newer > 0 {
		fmt.Fprintf(stdout, "%d template(s) are newer than this version's (from a newer webjourney); collectors of this version leave them alone.\n", newer)
	}
	if notReady > 0 {
		fmt.Fprintf(stderr, "webjourneyctl %s: %d of %d templates are missing, older or drifted; the collector installs missing and older ones at start, or run webjourneyctl templates install (--force for drift)\n",
			cmd, notReady, len(rep.Templates))
		return exitNotReady
	}
	return exitOK
}

// version renders an installed template version; "-" when there is none.
func version(v int64, found bool) string {
	if !found {
		return "-"
	}
	return strconv.FormatInt(v, 10)
}
