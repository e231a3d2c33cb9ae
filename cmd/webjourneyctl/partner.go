package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/kibana"
)

const partnerUsage = `Usage: webjourneyctl partner grant NAME --site SITE --url URL [auth] [--prefix PREFIX]
                           [--kibana-url URL [--space SPACE]]
       webjourneyctl partner revoke NAME --site SITE --url URL [auth] [--prefix PREFIX]

grant gives the referral partner NAME (the partner id of the pixel
receiver's referral settings, as in webjourney.channel.partner) read access
to its own data of SITE, and nothing else:

  - the exporter writes, next to every visit and attribution credit of a
    partner, a partner-facing copy without any visitor, visit, user,
    session, click or event id into <prefix>-partner-visits and
    <prefix>-partner-credits (a filtered alias selects rows, not fields);
    grant copies the partner's visits and credits stored before that too;
  - it creates the filtered alias <prefix>-partner-SITE-NAME over both,
    which returns only the rows of SITE whose webjourney.channel.partner is
    NAME; grant the partner's Elasticsearch role read on that alias only;
  - with --kibana-url, it imports a Kibana data view over the alias (saved
    objects import API, overwrite: running it again is harmless), with the
    same credentials and TLS options as for Elasticsearch.

revoke removes the alias (the copies stay; other partners' aliases and the
retention of visits and credits cover them).

Options:
  --site SITE               the site id (lower-case letters, digits, '_', '-')
  --kibana-url URL          Kibana, with its base path if it has one
  --space SPACE             the Kibana space id (default: the default space);
                            a space per partner keeps their data views apart
` + esOptions + `
Exit status: 0 when done; 1 when Elasticsearch or Kibana failed or refused;
2 on a bad command line.

Example:
  webjourneyctl partner grant archipro --site shop --url https://es.example.com:9200 \
      --api-key-env ES_API_KEY --kibana-url https://kibana.example.com --space archipro
`

func runPartner(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	sub, code := subcommand("partner", partnerUsage, args, stderr, "grant", "revoke")
	if code >= 0 {
		return code
	}
	cmd := "partner " + sub
	args = args[1:]
	name := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs := newFlagSet(cmd, partnerUsage, stderr)
	var es esFlags
	es.register(fs, false)
	site := fs.String("site", "", "site id")
	kibanaURL := fs.String("kibana-url", "", "Kibana URL")
	space := fs.String("space", "", "Kibana space id")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "webjourneyctl %s: %s\n", cmd, fmt.Sprintf(format, a...))
		return exitUsage
	}
	switch {
	case name == "":
		return usage("give the partner's name, e.g. webjourneyctl %s archipro --site shop", cmd)
	case len(rest) > 0:
		return usage("unexpected argument %q", rest[0])
	case *site == "":
		return usage("--site is required")
	case sub == "revoke" && (*kibanaURL != "" || *space != ""):
		return usage("--kibana-url and --space are for grant")
	case *space != "" && *kibanaURL == "":
		return usage("--space goes with --kibana-url")
	case *space != "" && !spacePattern.MatchString(*space):
		return usage("--space: %q is not a Kibana space id (lower-case letters, digits, '_' and '-')", *space)
	}
	alias, err := journeystore.Layout{Prefix: es.prefix}.PartnerAlias(*site, name)
	if err != nil {
		return usage("%v", err)
	}
	if *kibanaURL != "" {
		if err := esclient.CheckURL(*kibanaURL); err != nil {
			return usage("--kibana-url: %v", err)
		}
	}
	s, code := es.connect(cmd, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	st, ctx := s.store, s.ctx

	if sub == "revoke" {
		if _, err := st.RevokePartner(ctx, *site, name); err != nil {
			return s.fail(cmd, err, stderr)
		}
		fmt.Fprintf(stdout, "Removed alias %s from %s (the Kibana data view %s, if imported, now finds no index: delete it in Kibana)\n",
			alias, es.url, kibana.PartnerDataViewID(*site, name))
		return exitOK
	}
	g, err := st.GrantPartner(ctx, *site, name)
	if g != nil {
		for _, f := range []journeystore.Family{journeystore.FamilyPartnerVisits, journeystore.FamilyPartnerCredits} {
			fmt.Fprintf(stdout, "Copied %d stored document(s) of partner %q into %s\n", g.Copied[f], name, journeystore.Layout{Prefix: es.prefix}.Index(f))
		}
	}
	if err != nil {
		return s.fail(cmd, err, stderr)
	}
	fmt.Fprintf(stdout, "Alias %s over %s: rows of site %q with webjourney.channel.partner %q\n", g.Alias, strings.Join(g.Indices, ", "), *site, name)
	if *kibanaURL == "" {
		fmt.Fprintln(stdout, "No --kibana-url: no data view imported")
		return exitOK
	}
	data, err := kibana.PartnerDataView(alias, *site, name)
	if err != nil {
		return s.fail(cmd, err, stderr)
	}
	conn, err := es.connection()
	if err != nil {
		return usage("%v", err)
	}
	objects := &uploads{data: data, keys: []savedObjectKey{{Type: "index-pattern", ID: kibana.PartnerDataViewID(*site, name)}},
		name: "partner-" + *site + "-" + name + ".ndjson", source: "the data view of alias " + alias}
	return importSavedObjects(ctx, cmd, conn, *kibanaURL, *space, objects, stdout, stderr)
}
