package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/webjourney/webjourney/internal/sealed"
)

const decryptUsage = `Usage: webjourneyctl decrypt --key-file KEYID=PATH [--key-file ...]
                             [--key-env KEYID=ENVNAME ...]
                             --site SITE --attribute NAME [VALUE ...]

Opens values the anonymizer sealed ("enc:v1:KEYID:...") and prints their
plaintext, one per line, in input order. Values come from the arguments or,
when none is given, one per line from standard input (blank lines are
skipped). Options must come before the values.

A value is bound to the site and attribute it was sealed for (the associated
data is SITE + "\x00" + NAME): it only opens with the same --site and
--attribute. Give every key that may have sealed the values; the key id in
each value picks the key.

When a value does not open (wrong key, other site or attribute, tampered or
not a sealed value), an empty line is printed in its place so output lines
still match input lines, the failure is reported on standard error with its
line (or argument) number, the other values are still processed, and the
exit status is 1. A plaintext that itself contains a line break will span
several output lines.

Options:
  --key-file KEYID=PATH   read key KEYID from file PATH (64 hex characters or
                          base64 of 32 bytes, as webjourneyctl keygen prints)
  --key-env KEYID=NAME    read key KEYID from environment variable NAME
  --site SITE             the site id the values were sealed for
  --attribute NAME        the attribute the values were sealed in

Example:
  webjourneyctl decrypt --key-file k1=/etc/webjourney/seal-k1.key \
      --site shop --attribute user.email enc:v1:k1:...
`

// keySpecs collects repeated KEYID=SOURCE flags.
type keySpecs struct {
	kind  string // "file" or "env", for messages
	specs [][2]string
}

func (k *keySpecs) String() string { return "" }

func (k *keySpecs) Set(v string) error {
	id, src, ok := strings.Cut(v, "=")
	if !ok || id == "" || src == "" {
		return fmt.Errorf("want KEYID=%s, got %q", strings.ToUpper(map[string]string{"file": "path", "env": "envname"}[k.kind]), v)
	}
	if !sealed.ValidKeyID(id) {
		return fmt.Errorf("key id %q must be 1 to %d characters of a-z and 0-9", id, sealed.MaxKeyIDLen)
	}
	k.specs = append(k.specs, [2]string{id, src})
	return nil
}

func runDecrypt(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, decryptUsage) }
	files := &keySpecs{kind: "file"}
	envs := &keySpecs{kind: "env"}
	fs.Var(files, "key-file", "KEYID=PATH of a key file (repeatable)")
	fs.Var(envs, "key-env", "KEYID=ENVNAME of a key in the environment (repeatable)")
	site := fs.String("site", "", "site id the values were sealed for")
	attribute := fs.String("attribute", "", "attribute name the values were sealed in")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "webjourneyctl decrypt: "+format+"\n", a...)
		return exitUsage
	}
	if *site == "" {
		return fail("--site is required")
	}
	if *attribute == "" {
		return fail("--attribute is required")
	}
	if len(files.specs)+len(envs.specs) == 0 {
		return fail("give at least one key with --key-file KEYID=PATH or --key-env KEYID=ENVNAME")
	}
	keys := map[string][]byte{}
	for _, spec := range files.specs {
		id, path := spec[0], spec[1]
		if _, dup := keys[id]; dup {
			return fail("key %q given twice", id)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return fail("key %q: %v", id, err)
		}
		if keys[id], err = sealed.ParseKey(string(text)); err != nil {
			return fail("key %q in %s: %v", id, path, err)
		}
	}
	for _, spec := range envs.specs {
		id, name := spec[0], spec[1]
		if _, dup := keys[id]; dup {
			return fail("key %q given twice", id)
		}
		text, ok := os.LookupEnv(name)
		if !ok || strings.TrimSpace(text) == "" {
			return fail("key %q: environment variable %s is not set", id, name)
		}
		var err error
		if keys[id], err = sealed.ParseKey(text); err != nil {
			return fail("key %q in $%s: %v", id, name, err)
		}
	}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// Opening only: any key may stand as primary.
	sealer, err := sealed.New(ids[0], keys)
	if err != nil {
		return fail("%v", err)
	}
	ad := sealed.AssociatedData(*site, *attribute)

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	failures := 0
	open := func(where, value string) {
		plain, err := sealer.Open(value, ad)
		if err != nil {
			failures++
			out.WriteString("\n")
			out.Flush() // keep stdout and stderr in step on a terminal
			fmt.Fprintf(stderr, "webjourneyctl decrypt: %s: %v\n", where, err)
			return
		}
		out.WriteString(plain)
		out.WriteString("\n")
	}

	if fs.NArg() > 0 {
		for i, v := range fs.Args() {
			open(fmt.Sprintf("argument %d", i+1), strings.TrimSpace(v))
		}
	} else {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for n := 1; sc.Scan(); n++ {
			v := strings.TrimSpace(sc.Text())
			if v == "" {
				continue
			}
			open(fmt.Sprintf("line %d", n), v)
		}
		if err := sc.Err(); err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "webjourneyctl decrypt: reading standard input: %v\n", err)
			return exitFailure
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "webjourneyctl decrypt: writing output: %v\n", err)
		return exitFailure
	}
	if failures > 0 {
		fmt.Fprintf(stderr, "webjourneyctl decrypt: %d value(s) could not be opened\n", failures)
		return exitFailure
	}
	return exitOK
}
