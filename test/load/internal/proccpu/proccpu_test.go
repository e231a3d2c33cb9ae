package proccpu

import (
	"os"
	"runtime"
	"testing"
)

func TestReadsThisProcessAndTheMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	for i := 0; i < 30_000_000; i++ { // burn a little CPU so the counters move
		_ = i * i
	}
	if d, ok := Process(os.Getpid()); !ok || d < 0 {
		t.Errorf("Process(self) = %v, %v", d, ok)
	}
	if d, ok := MachineBusy(); !ok || d <= 0 {
		t.Errorf("MachineBusy() = %v, %v", d, ok)
	}
	if _, ok := Process(0); ok {
		t.Error("pid 0 must be unknown")
	}
}
