package main

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// cpuUse is CPU time spent during a run (Linux /proc; -1 when unknown).
type cpuUse struct {
	self, collector, es, machine time.Duration
}

// other is what the rest of the machine used: the noise in a run.
func (c cpuUse) other() time.Duration {
	o := c.machine - c.self
	if c.collector > 0 {
		o -= c.collector
	}
	if c.es > 0 {
		o -= c.es
	}
	return o
}

func (c cpuUse) since(b cpuUse) cpuUse {
	d := func(x, y time.Duration) time.Duration {
		if x < 0 || y < 0 {
			return -1
		}
		return x - y
	}
	return cpuUse{d(c.self, b.self), d(c.collector, b.collector), d(c.es, b.es), d(c.machine, b.machine)}
}

func sampleCPU(collectorPID, esPID int) cpuUse {
	return cpuUse{procCPU(os.Getpid()), procCPU(collectorPID), procCPU(esPID), machineBusy()}
}

// procCPU is the user+system CPU time of a process (100 ticks/s).
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * (time.Second / 100)
}

// machineBusy is the non-idle CPU time of all cores, from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1
		}
		busy += n
	}
	return time.Duration(busy) * (time.Second / 100)
}

func numCPU() int { return runtime.NumCPU() }
