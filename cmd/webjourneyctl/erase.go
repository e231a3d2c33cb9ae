package main

import (
	"fmt"
	"io"
)

const eraseUsage = `Usage: webjourneyctl erase --url URL [auth] [--prefix PREFIX]
                           [--dead-letter-index INDEX]
                           --site SITE (--visitor PSEUDONYM | --user-id PSEUDONYM)

Deletes everything the elasticsearch_journey exporter stored about one
visitor or site user of one site, as the exporter does for an erasure
request. It first records the ids' erasure tombstones in <prefix>_erasures
(hashes of site and id), so that no collector stores anything of them
afterwards, whatever it still has queued; then it deletes their events in
every month's index, their visits, visitor record and attribution credits,
the partner-facing copies of those visits and credits, and their dead
letters. It prints how many documents went per index family and stores an
audit record in this month's event index: a webjourney.erasure_request
event that names only a hash of the ids (webjourney.erasure.subject) and
the number of documents deleted. Running it again is harmless.

The ids are the pseudonyms as stored, not the raw ids: the anonymizer
processor replaces webjourney.visitor.id and user.id with keyed pseudonyms
("k1:3q2-7wAAAB..."). From the identifier the person gives (their account
id, the visitor id their browser shows), use webjourneyctl subject erase,
which derives the pseudonyms with the anonymizer's secret. With both
--visitor and --user-id, documents with either id go.

Options:
  --site SITE               the site id (webjourney.site.id); required
  --visitor PSEUDONYM       the stored webjourney.visitor.id
  --user-id PSEUDONYM       the stored user.id
  --dead-letter-index INDEX the exporter's dead_letter::index; without it,
                            dead letters are not searched
` + esOptions + `
Exit status: 0 when erased, 1 when Elasticsearch failed (run it again), 2 on
a bad command line.

Example:
  ES_API_KEY=... webjourneyctl erase --url https://es.example.com:9200 \
      --api-key-env ES_API_KEY --dead-letter-index webjourney-dead-letter \
      --site shop --visitor k1:3q2-7wAAABe3Rk9P0y1dA
`

func runErase(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("erase", eraseUsage, stderr)
	var es esFlags
	es.register(fs, true)
	site := fs.String("site", "", "site id")
	visitor := fs.String("visitor", "", "stored visitor id pseudonym")
	userID := fs.String("user-id", "", "stored user id pseudonym")
	if code := parseFlags(fs, "erase", args, stderr); code >= 0 {
		return code
	}
	if *site == "" {
		fmt.Fprintln(stderr, "webjourneyctl erase: --site is required")
		return exitUsage
	}
	if *visitor == "" && *userID == "" {
		fmt.Fprintln(stderr, "webjourneyctl erase: give --visitor PSEUDONYM or --user-id PSEUDONYM (the ids as stored; see webjourneyctl help erase)")
		return exitUsage
	}
	s, code := es.connect("erase", stderr)
	if s == nil {
		return code
	}
	defer s.close()
	st, ctx := s.store, s.ctx

	rep, err := st.Erase(ctx, *site, *visitor, *userID)
	printErasure(stdout, &es, fmt.Sprintf("site %q", *site), rep, err)
	if err != nil {
		return s.fail("erase", err, stderr)
	}
	return exitOK
}
