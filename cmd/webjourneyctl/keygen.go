package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
)

const keygenUsage = `Usage: webjourneyctl keygen

Prints a new random 32-byte key as 64 hex characters, for a sealing key
(AES-256) or the pseudonymisation secret. Write it to a file readable only
by the collector and by you, e.g.:

  umask 077; webjourneyctl keygen > /etc/webjourney/seal-k1.key
`

func runKeygen(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keygenUsage) }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "webjourneyctl keygen: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand crashes the program instead)
	fmt.Fprintln(stdout, hex.EncodeToString(key))
	return exitOK
}
