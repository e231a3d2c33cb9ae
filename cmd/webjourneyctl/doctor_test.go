package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The shipped configs: production (with the packages' environment file) is
// clean, the demo lists its hazards and fails.
func TestDoctorShippedConfigs(t *testing.T) {
	r := runCmd("", "doctor", "--config", "../../config/production.yaml",
		"--env-file", "../../deploy/systemd/otelcol-webjourney.conf")
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "../../config/production.yaml: no production hazards found\n", r.stdout)

	r = runCmd("", "doctor", "--config", "../../config/default.yaml")
	assert.Equal(t, exitFailure, r.code)
	for _, want := range []string{
		"error    exporters::elasticsearch_journey::sending_queue::storage\n",
		"error    processors::attribution::storage\n",
		"error    processors::anonymizer::cookieless::storage\n",
		"error    exporters::elasticsearch_journey::retention::events_months\n",
		"error    receivers::pixel::trusted_proxies\n",
		"         fix: ",
		"../../config/default.yaml: 8 errors, 1 warning\n",
	} {
		assert.Contains(t, r.stdout, want)
	}
}

func TestDoctorUsage(t *testing.T) {
	r := runCmd("", "doctor")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "Usage: webjourneyctl doctor --config FILE")
	r = runCmd("", "doctor", "--config", "does-not-exist.yaml")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "does-not-exist.yaml")
	r = runCmd("", "doctor", "--config", "../../config/production.yaml", "--env-file", "does-not-exist.conf")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "does-not-exist.conf")
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCmd("", args...)
		assert.Equal(t, exitOK, r.code)
		assert.Regexp(t, `^webjourneyctl version dev \(commit unknown, built unknown, go1\.\S+ \w+/\w+\)\n$`, r.stdout)
	}
}
