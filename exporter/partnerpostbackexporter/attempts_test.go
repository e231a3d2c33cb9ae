package partnerpostbackexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/config/configretry"
)

// A postback expires exactly when the retry sender's next backoff (at
// most the exponential interval after its failures so far, randomized up,
// or the partner's Retry-After) could end after max_elapsed_time.
func TestExpiredFollowsTheRetrySender(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	e := &postbackExporter{cfg: &Config{RetryConfig: configretry.NewDefaultBackOffConfig()}, now: func() time.Time { return now }}
	// Defaults: 5s initial, x1.5, randomization 0.5, 30s at most, 5m in all.
	at := func(elapsed time.Duration, fails int) attemptState {
		return attemptState{first: now.Add(-elapsed), fails: fails}
	}
	assert.False(t, e.expired(at(0, 1), 0))
	// After 1 failure the next wait is at most 7.5s (+1s slack).
	assert.False(t, e.expired(at(5*time.Minute-9*time.Second, 1), 0))
	assert.True(t, e.expired(at(5*time.Minute-8*time.Second, 1), 0))
	// After 10 failures the interval is at its 30s cap: at most 45s.
	assert.False(t, e.expired(at(5*time.Minute-47*time.Second, 10), 0))
	assert.True(t, e.expired(at(5*time.Minute-45*time.Second, 10), 0))
	// A partner's Retry-After longer than the backoff counts.
	assert.True(t, e.expired(at(time.Minute, 1), 4*time.Minute))

	e.cfg.RetryConfig.MaxElapsedTime = 0
	assert.False(t, e.expired(at(24*time.Hour, 100), 0), "no limit, no expiry")
	e.cfg.RetryConfig.Enabled = false
	assert.True(t, e.expired(at(0, 1), 0), "without retry the first failure is the last")
}
