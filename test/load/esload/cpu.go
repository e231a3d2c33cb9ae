package main

import (
	"os"
	"runtime"
	"time"

	"github.com/webjourney/webjourney/test/load/internal/proccpu"
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

// procCPU is the user+system CPU time of a process, -1 when unknown.
func procCPU(pid int) time.Duration {
	d, ok := proccpu.Process(pid)
	if !ok {
		return -1
	}
	return d
}

// machineBusy is the non-idle CPU time of all cores, -1 when unknown.
func machineBusy() time.Duration {
	d, ok := proccpu.MachineBusy()
	if !ok {
		return -1
	}
	return d
}

func numCPU() int { return runtime.NumCPU() }
