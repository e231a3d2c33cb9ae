package main

import (
	"fmt"
	"io"
	"runtime"
)

// Set at link time by scripts/dist.sh (-ldflags "-X main.buildVersion=... -X
// main.buildCommit=... -X main.buildDate=..."); a plain `go build` says "dev".
var (
	buildVersion = "dev"
	buildCommit  = "unknown"
	buildDate    = "unknown"
)

const versionUsage = `Usage: webjourneyctl version   (also: webjourneyctl --version)

Prints the version, the commit it was built from and when that commit was
made (release builds; a plain go build says "dev"), and the Go version and
platform.
`

func runVersion(_ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "webjourneyctl version %s (commit %s, built %s, %s %s/%s)\n",
		buildVersion, buildCommit, buildDate, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
