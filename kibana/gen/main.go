// Command gen writes kibana/saved_objects.ndjson (run by go generate in the
// kibana directory).
package main

import (
	"fmt"
	"os"

	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/kibana"
)

func main() {
	out, err := kibana.NDJSON(journeystore.DefaultPrefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(kibana.FileName, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
