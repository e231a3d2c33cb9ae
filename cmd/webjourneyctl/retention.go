package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
)

const retentionUsage = `Usage: webjourneyctl retention apply --url URL [auth] [--prefix PREFIX]
                           [--events-months N] [--visits-months N]
                           [--visitors-months N] [--credits-months N] [--dry-run]

Applies the elasticsearch_journey exporter's retention once, as its
retention check does, and prints what was deleted (with --dry-run: what
would be). Give the months of the exporter's retention section; a family
whose months are not given (or 0) is kept for ever and not checked.

  events:   deletes every <prefix>-events-YYYY.MM index whose month ended
            --events-months months ago or earlier
  visits:   deletes visits whose webjourney.visit.last_activity is older
  visitors: deletes visitors whose webjourney.visitor.last_seen is older
  credits:  deletes attribution credits whose @timestamp (the outcome's
            time) is older
  (a visit or visitor without its date ages by its @timestamp)

Dead letters are not covered by retention; see the exporter's README.

Options:
  --events-months N         keep events N months (0 to 1200)
  --visits-months N         keep visits N months
  --visitors-months N       keep visitors N months
  --credits-months N        keep attribution credits N months
  --dry-run                 delete nothing; print what would be deleted
` + esOptions + `
Exit status: 0 when applied, 1 when Elasticsearch failed for some family
(the others are still applied), 2 on a bad command line.

Example:
  webjourneyctl retention apply --url http://localhost:9200 \
      --events-months 25 --visits-months 25 --visitors-months 13 --dry-run
`

func runRetention(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if _, code := subcommand("retention", retentionUsage, args, stderr, "apply"); code >= 0 {
		return code
	}
	const cmd = "retention apply"
	fs := newFlagSet(cmd, retentionUsage, stderr)
	var es esFlags
	es.register(fs, false)
	var r journeystore.Retention
	months := []struct {
		name string
		v    *int
	}{
		{"events-months", &r.EventsMonths},
		{"visits-months", &r.VisitsMonths},
		{"visitors-months", &r.VisitorsMonths},
		{"credits-months", &r.CreditsMonths},
	}
	for _, m := range months {
		fs.IntVar(m.v, m.name, 0, "retention in months")
	}
	dryRun := fs.Bool("dry-run", false, "delete nothing")
	if code := parseFlags(fs, cmd, args[1:], stderr); code >= 0 {
		return code
	}
	some := false
	for _, m := range months {
		if err := journeystore.CheckRetentionMonths(*m.v); err != nil {
			fmt.Fprintf(stderr, "webjourneyctl %s: --%s %v\n", cmd, m.name, err)
			return exitUsage
		}
		some = some || *m.v > 0
	}
	if !some {
		fmt.Fprintf(stderr, "webjourneyctl %s: give at least one of --events-months, --visits-months, --visitors-months, --credits-months\n", cmd)
		return exitUsage
	}
	s, code := es.connect(cmd, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	st, ctx := s.store, s.ctx

	rep, err := st.ApplyRetention(ctx, r, time.Now(), *dryRun)
	if rep != nil {
		printRetention(stdout, rep)
	}
	if err != nil {
		return s.fail(cmd, err, stderr)
	}
	return exitOK
}

func printRetention(w io.Writer, rep *journeystore.RetentionReport) {
	verb := "deleted"
	if rep.DryRun {
		verb = "would delete"
		fmt.Fprintf(w, "Retention at %s (dry run: nothing was deleted):\n", rep.Now.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(w, "Retention at %s:\n", rep.Now.UTC().Format(time.RFC3339))
	}
	for _, f := range rep.Families {
		head := fmt.Sprintf("  %-9s", f.Family)
		switch {
		case f.Months == 0:
			fmt.Fprintf(w, "%s kept for ever (no --%s-months)\n", head, f.Family)
			continue
		case f.Err != nil:
			fmt.Fprintf(w, "%s %d months: failed: %v\n", head, f.Months, f.Err)
			continue
		}
		head = fmt.Sprintf("%s %d months:", head, f.Months)
		before := f.Before.Format(time.RFC3339)
		if f.Family == journeystore.FamilyEvents {
			if len(f.Indices) == 0 {
				fmt.Fprintf(w, "%s no index of a month before %s\n", head, f.Before.Format("2006-01"))
				continue
			}
			fmt.Fprintf(w, "%s %s %d index(es) of months before %s, %d documents: %s\n",
				head, verb, len(f.Indices), f.Before.Format("2006-01"), f.Documents, strings.Join(f.Indices, ", "))
			continue
		}
		fmt.Fprintf(w, "%s %s %d documents of %s (%s before %s)\n", head, verb, f.Documents, f.Index, f.Field, before)
	}
}
