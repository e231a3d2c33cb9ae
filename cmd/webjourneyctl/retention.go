package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/webjourney/webjourney/internal/journeystore"
)

const retentionUsage = `Usage: webjourneyctl retention apply --url URL [auth] [--prefix PREFIX]
                           [--events-months N] [--visits-months N]
                           [--visitors-months N] [--credits-months N]
                           [--dead-letter-days INDEX=N] [--dry-run]

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
  stamped events: deletes every <prefix>-events-max<M>m-YYYY.MM index (events
            the consent processor stamped webjourney.retention.max_months M,
            the CNIL exemption) whose month ended M months ago or earlier
            (--events-months when shorter), always, whatever is given
  partner-facing copies: with the visits and credits they copy
  dead letters: deletes the dead letters of INDEX written more than N
            days ago (--dead-letter-days INDEX=N: the exporter's
            dead_letter::index and dead_letter::retention_days, 30 by
            default there)

Options:
  --events-months N         keep events N months (0 to 1200)
  --visits-months N         keep visits N months
  --visitors-months N       keep visitors N months
  --credits-months N        keep attribution credits N months
  --dead-letter-days INDEX=N  keep the dead letters of INDEX (the exporter's
                            dead_letter::index) N days (1 to 36500)
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
	deadLetters := fs.String("dead-letter-days", "", "INDEX=N: keep the dead letters of INDEX N days")
	dryRun := fs.Bool("dry-run", false, "delete nothing")
	if code := parseFlags(fs, cmd, args[1:], stderr); code >= 0 {
		return code
	}
	if *deadLetters != "" {
		index, days, ok := strings.Cut(*deadLetters, "=")
		n, err := strconv.Atoi(days)
		if !ok || index == "" || err != nil {
			fmt.Fprintf(stderr, "webjourneyctl %s: --dead-letter-days: want INDEX=N (the exporter's dead_letter::index and retention_days), e.g. webjourney-dead-letter=30\n", cmd)
			return exitUsage
		}
		if err := journeystore.CheckRetentionDays(n); err != nil || n == 0 {
			fmt.Fprintf(stderr, "webjourneyctl %s: --dead-letter-days: N must be 1 to %d, not %s\n", cmd, journeystore.MaxRetentionDays, days)
			return exitUsage
		}
		es.deadLetter, r.DeadLetterDays = index, n
	}
	some := false
	for _, m := range months {
		if err := journeystore.CheckRetentionMonths(*m.v); err != nil {
			fmt.Fprintf(stderr, "webjourneyctl %s: --%s %v\n", cmd, m.name, err)
			return exitUsage
		}
		some = some || *m.v > 0
	}
	if !some && r.DeadLetterDays == 0 {
		fmt.Fprintf(stderr, "webjourneyctl %s: give at least one of --events-months, --visits-months, --visitors-months, --credits-months, --dead-letter-days\n", cmd)
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
		case f.Family == journeystore.FamilyDeadLetter && f.Days == 0:
			fmt.Fprintf(w, "%s kept for ever\n", head)
			continue
		case f.Family == journeystore.FamilyDeadLetter && f.Err != nil:
			fmt.Fprintf(w, "%s %d days: failed: %v\n", head, f.Days, f.Err)
			continue
		case f.Family == journeystore.FamilyDeadLetter:
			fmt.Fprintf(w, "%s %d days: %s %d documents of %s (%s before %s)\n", head, f.Days, verb, f.Documents, f.Index, f.Field, f.Before.Format(time.RFC3339))
			continue
		case f.Stamp > 0:
			// Kept f.Months: the stamp, or --events-months when shorter.
			head = fmt.Sprintf("  events stamped max_months %d, kept", f.Stamp)
		}
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
