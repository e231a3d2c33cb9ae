package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/webjourney/webjourney/internal/configdoctor"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/internal/pseudonym"
)

const subjectUsage = `Usage: webjourneyctl subject export|erase --url URL [auth] [--prefix PREFIX]
                           [--dead-letter-index INDEX]
                           --site SITE (--user-id ID | --visitor-id ID)
                           (--config FILE ... [--env-file FILE ...] [--anonymizer NAME]
                            | --secret-file KEYID=PATH ... [--pseudonym-bytes N])
                           [--secret-file KEYID=PATH | --secret-env KEYID=NAME ...]
                           [--no-linked-visitors] [--output FILE]

Carries out a data subject's request from the identifier the person gives
(their account id on the site, or the visitor id their browser shows):

  export  writes every document stored about the person, one JSON object per
          line ({"family","index","id","document"}), to --output (default
          standard output) and a summary per index family (GDPR Art. 15 and
          20: access and portability);
  erase   deletes them, as the exporter does for an erasure request: it
          first records the subject's tombstones, so that no collector
          stores anything of them afterwards, whatever it still has queued,
          then deletes their events, visits, visitor records, credits, the
          partner-facing copies and dead letters, and stores the audit record
          (GDPR Art. 17). Running it again is harmless.

The anonymizer stores pseudonyms, not the identifier: webjourneyctl derives
them exactly as the anonymizer does (HMAC of the identifier under the
site's key, derived from the master secret), under every key id given, so
that documents written before the secret was rotated are found too. The
identifier is never stored, logged or printed; only the pseudonyms are
searched for. Pseudonyms of key ids that were not given are looked for and
reported (their documents cannot be found without their secret).

With --user-id, the visitor ids stored with the user's events (the user's
browsers) are included: their documents without the user id (before login,
visits, credits) are about the same person. --no-linked-visitors leaves
them out (a shared computer).

Options:
  --site SITE               the site id (webjourney.site.id); required
  --user-id ID              the site's account id of the person (user.id), or
                            - to read it from the first line of standard input
                            (keeps it out of the process list)
  --visitor-id ID           the visitor id of the person's browser, or -
  --config FILE             the collector config with the anonymizer processor
                            (repeatable, merged in order as the collector does);
                            its secret, key_id and pseudonym_bytes are used
  --env-file FILE           environment file the collector runs with, to
                            resolve ${env:...} in --config (repeatable)
  --anonymizer NAME         which anonymizer processor of --config (e.g.
                            anonymizer/tier2), when there are several
  --secret-file KEYID=PATH  a master secret of key id KEYID from a file
                            (repeatable: the secrets of earlier key ids after a
                            rotation; without --config, also the current one)
  --secret-env KEYID=NAME   a master secret from an environment variable
  --pseudonym-bytes N       the anonymizer's pseudonym_bytes (default 16;
                            from --config when given)
  --no-linked-visitors      with --user-id: only the documents with the user id
  --output FILE             export: write the documents to FILE (created with
                            mode 0600) instead of standard output
  --dead-letter-index INDEX the exporter's dead_letter::index; without it,
                            dead letters are not searched
` + esOptions + `
Exit status: 0 when done; 1 when Elasticsearch failed (run it again); 2 on a
bad command line, config or secret.

Example:
  webjourneyctl subject erase --url https://es.example.com:9200 --api-key-env ES_API_KEY \
      --config /etc/otelcol-webjourney/config.yaml --secret-file k1=/etc/webjourney/k1.secret \
      --dead-letter-index webjourney-dead-letter --site shop --user-id - <<< "customer-4711"
`

// subjectFlags are the flags of the subject command besides the connection.
type subjectFlags struct {
	site, userID, visitorID string
	configs, envFiles       listFlag
	anonymizer              string
	files, envs             *keySpecs
	pseudonymBytes          int
	noLinked                bool
	output                  string
}

func runSubject(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The subcommand comes first or after the options.
	sub := ""
	if len(args) > 0 && (args[0] == "export" || args[0] == "erase") {
		sub, args = args[0], args[1:]
	}
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, subjectUsage)
		return exitOK
	}
	fs := newFlagSet("subject", subjectUsage, stderr)
	var es esFlags
	es.register(fs, true)
	sf := subjectFlags{files: &keySpecs{kind: "file"}, envs: &keySpecs{kind: "env"}}
	fs.StringVar(&sf.site, "site", "", "site id")
	fs.StringVar(&sf.userID, "user-id", "", "the person's user id (- reads it from standard input)")
	fs.StringVar(&sf.visitorID, "visitor-id", "", "the person's visitor id (- reads it from standard input)")
	fs.Var(&sf.configs, "config", "collector configuration file (repeatable)")
	fs.Var(&sf.envFiles, "env-file", "environment file of the collector (repeatable)")
	fs.StringVar(&sf.anonymizer, "anonymizer", "", "the anonymizer processor of --config")
	fs.Var(sf.files, "secret-file", "KEYID=PATH of a master secret (repeatable)")
	fs.Var(sf.envs, "secret-env", "KEYID=ENVNAME of a master secret (repeatable)")
	fs.IntVar(&sf.pseudonymBytes, "pseudonym-bytes", 0, "the anonymizer's pseudonym_bytes")
	fs.BoolVar(&sf.noLinked, "no-linked-visitors", false, "leave out the visitors linked through the user id")
	fs.StringVar(&sf.output, "output", "", "export: write the documents to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if sub == "" && len(rest) > 0 {
		sub, rest = rest[0], rest[1:]
	}
	cmd := "subject " + sub
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "webjourneyctl %s: %s\n", strings.TrimSpace(cmd), fmt.Sprintf(format, a...))
		return exitUsage
	}
	switch {
	case sub != "export" && sub != "erase":
		return usage("give a subcommand: export or erase (webjourneyctl help subject)")
	case len(rest) > 0:
		return usage("unexpected argument %q", rest[0])
	case sf.site == "":
		return usage("--site is required")
	case (sf.userID == "") == (sf.visitorID == ""):
		return usage("give --user-id ID or --visitor-id ID (one of them)")
	case sf.output != "" && sub != "export":
		return usage("--output is for export")
	case sf.noLinked && sf.userID == "":
		return usage("--no-linked-visitors goes with --user-id")
	}
	raw, err := rawID(sf.userID+sf.visitorID, stdin)
	if err != nil {
		return usage("%v", err)
	}
	keys, err := sf.keyring()
	if err != nil {
		return usage("%v", err)
	}
	ids := keys.Pseudonyms(sf.site, raw)
	raw = "" // only the pseudonyms from here on
	er := &journeystore.Erasure{Site: sf.site}
	if sf.userID != "" {
		er.Users = ids
	} else {
		er.Visitors = ids
	}

	s, code := es.connect(cmd, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	st, ctx := s.store, s.ctx

	linked := 0
	if len(er.Users) > 0 && !sf.noLinked {
		visitors, err := st.LinkedVisitors(ctx, er.Site, er.Users)
		if err != nil {
			return s.fail(cmd, err, stderr)
		}
		er.Visitors, linked = visitors, len(visitors)
	}
	// Documents of key ids without a secret here cannot be found.
	others, err := st.OtherKeyIDs(ctx, er.Site, keys.KeyIDs(), keys.EncodedLen())
	if err != nil {
		return s.fail(cmd, err, stderr)
	}
	for _, o := range others {
		fmt.Fprintf(stderr, "webjourneyctl %s: warning: %d document(s) of site %q carry pseudonyms of key id %s, whose secret was not given: "+
			"the person's documents under it are not found (give it with --secret-file %s=PATH)\n", cmd, o.Documents, er.Site, o.KeyID, o.KeyID)
	}
	about := fmt.Sprintf("site %q; pseudonyms under key id(s) %s", er.Site, strings.Join(keys.KeyIDs(), ", "))
	if sf.userID != "" && !sf.noLinked {
		about += fmt.Sprintf("; %d visitor id(s) linked through the user id", linked)
	}

	if sub == "erase" {
		rep, err := st.EraseAll(ctx, er)
		printErasure(stdout, &es, about, rep, err)
		if err != nil {
			return s.fail(cmd, err, stderr)
		}
		return exitOK
	}

	out, summary, closeOut, err := exportOutput(sf.output, stdout, stderr)
	if err != nil {
		return usage("%v", err)
	}
	w := bufio.NewWriterSize(out, 64<<10)
	rep, err := st.ExportSubject(ctx, er, func(d journeystore.SubjectDocument) error {
		line, err := json.Marshal(exportLine{Family: d.Family.String(), Index: d.Index, ID: d.ID, Document: d.Source})
		if err != nil {
			return err
		}
		w.Write(line)
		return w.WriteByte('\n')
	})
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("writing the documents: %w", ferr)
	}
	if cerr := closeOut(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the documents: %w", cerr)
	}
	if rep != nil {
		where := "standard output"
		if sf.output != "" {
			where = sf.output
		}
		verb := "Exported"
		if err != nil {
			verb = "Exported before the failure"
		}
		fmt.Fprintf(summary, "%s to %s from %s (%s):\n", verb, where, es.url, about)
		printFamilies(summary, rep.Families, rep.Total)
		if es.deadLetter == "" {
			fmt.Fprintln(summary, "  (dead letters not searched: no --dead-letter-index)")
		}
	}
	if err != nil {
		return s.fail(cmd, err, stderr)
	}
	return exitOK
}

// exportLine is one line of an export.
type exportLine struct {
	Family   string          `json:"family"`
	Index    string          `json:"index"`
	ID       string          `json:"id"`
	Document json.RawMessage `json:"document"`
}

// exportOutput opens where the documents go and where the summary goes: a
// file (mode 0600: it holds personal data) and standard output, or
// standard output and standard error.
func exportOutput(path string, stdout, stderr io.Writer) (out, summary io.Writer, closeOut func() error, err error) {
	if path == "" || path == "-" {
		return stdout, stderr, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--output: %w", err)
	}
	return f, stdout, f.Close, nil
}

// printErasure prints what an erasure deleted (all of it, or what it
// deleted before err) and its audit record; about says what was erased.
func printErasure(w io.Writer, es *esFlags, about string, rep *journeystore.ErasureReport, err error) {
	if rep == nil {
		return
	}
	if err != nil {
		fmt.Fprintf(w, "Deleted before the failure, from %s (%s):\n", es.url, about)
	} else {
		fmt.Fprintf(w, "Erased from %s (%s):\n", es.url, about)
	}
	printFamilies(w, rep.Families, rep.Total)
	if es.deadLetter == "" {
		fmt.Fprintln(w, "  (dead letters not searched: no --dead-letter-index)")
	}
	if err == nil {
		fmt.Fprintf(w, "Audit record: %s/%s (webjourney.erasure.subject %s)\n", rep.AuditIndex, rep.AuditID, rep.Subject)
	}
}

// printFamilies prints document counts per family.
func printFamilies(w io.Writer, families []journeystore.FamilyCount, total int64) {
	for _, f := range families {
		fmt.Fprintf(w, "  %-12s %8d  %s\n", f.Family, f.Documents, f.Index)
	}
	fmt.Fprintf(w, "  %-12s %8d\n", "total", total)
}

// rawID returns the identifier given as a flag, or read from the first line
// of stdin for "-", without surrounding white space (the receiver trims it
// too before the anonymizer sees it). Its errors never hold the identifier.
func rawID(flagValue string, stdin io.Reader) (string, error) {
	v := flagValue
	if v == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", errors.New("reading the identifier from standard input: nothing there")
		}
		v = line
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errors.New("the identifier is empty")
	}
	return v, nil
}

// keyring builds the pseudonymisation keys: the anonymizer's current
// secret from --config, and every --secret-file and --secret-env.
func (sf *subjectFlags) keyring() (*pseudonym.Keyring, error) {
	secrets := map[string][]byte{}
	length := pseudonym.DefaultLength
	if len(sf.configs) > 0 {
		a, err := anonymizerSettings(sf.configs, sf.envFiles, sf.anonymizer)
		if err != nil {
			return nil, err
		}
		text, err := readSecret(a.Key+"::secret", a.SecretEnv, a.SecretFile)
		if err != nil {
			return nil, err
		}
		if secrets[a.KeyID], err = pseudonym.ParseSecret(text); err != nil {
			return nil, fmt.Errorf("%s::secret: %w", a.Key, err)
		}
		length = a.PseudonymBytes
		if sf.pseudonymBytes != 0 && sf.pseudonymBytes != length {
			return nil, fmt.Errorf("--pseudonym-bytes %d contradicts %s::pseudonym_bytes %d", sf.pseudonymBytes, a.Key, length)
		}
	} else if len(sf.envFiles) > 0 || sf.anonymizer != "" {
		return nil, errors.New("--env-file and --anonymizer go with --config")
	}
	if sf.pseudonymBytes != 0 {
		length = sf.pseudonymBytes
	}
	add := func(flagName, id, text string, err error) error {
		if err != nil {
			return err
		}
		if _, dup := secrets[id]; dup {
			return fmt.Errorf("%s: a secret of key id %q is given twice", flagName, id)
		}
		b, err := pseudonym.ParseSecret(text)
		if err != nil {
			return fmt.Errorf("%s %s: %w", flagName, id, err)
		}
		secrets[id] = b
		return nil
	}
	for _, spec := range sf.files.specs {
		text, err := readSecret("--secret-file "+spec[0], "", spec[1])
		if err := add("--secret-file", spec[0], text, err); err != nil {
			return nil, err
		}
	}
	for _, spec := range sf.envs.specs {
		text, err := readSecret("--secret-env "+spec[0], spec[1], "")
		if err := add("--secret-env", spec[0], text, err); err != nil {
			return nil, err
		}
	}
	if len(secrets) == 0 {
		return nil, errors.New("give the anonymizer's secret: --config FILE (its anonymizer processor's secret) or --secret-file KEYID=PATH")
	}
	return pseudonym.NewKeyring(secrets, length)
}

// readSecret reads a secret from the environment variable env or the file
// path, as the anonymizer does (surrounding white space trimmed). Its
// errors name key and never hold the secret.
func readSecret(key, env, path string) (string, error) {
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", key, env)
		}
		return strings.TrimSpace(v), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// anonymizerSettings reads the anonymizer processor of a collector config
// (name picks one of several), with the processor's defaults.
func anonymizerSettings(configs, envFiles []string, name string) (*configdoctor.Anonymizer, error) {
	var lookup func(string) (string, bool)
	if len(envFiles) > 0 {
		env, err := configdoctor.ReadEnvFiles(envFiles)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		lookup = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
	c, err := configdoctor.Load(configs, lookup)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	a, err := c.Anonymizer(name)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	if a.KeyID == "" {
		a.KeyID = pseudonym.DefaultKeyID
	}
	if a.PseudonymBytes == 0 {
		a.PseudonymBytes = pseudonym.DefaultLength
	}
	return a, nil
}
