// Package proccpu reads CPU time from Linux /proc for the load tools, so
// that a measurement can say what the collector, the load generator and
// the rest of the machine used (100 clock ticks per second).
package proccpu // import "github.com/webjourney/webjourney/test/load/internal/proccpu"

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

const tick = time.Second / 100

// Process is the user+system CPU time of process pid; false when it is
// unknown (no such process, not Linux).
func Process(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return 0, false
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * tick, true
}

// MachineBusy is the non-idle CPU time of the whole machine (all cores)
// from /proc/stat, for telling how much else ran during a measurement.
func MachineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return time.Duration(busy) * tick, true
}
