//go:build unix

package layers_test

import (
	"syscall"
	"testing"
)

// reportCPU starts measuring the process's CPU time (user and system, all
// threads); the function it returns reports it per operation as cpu-ns/op.
// On a machine shared with other work, CPU time shows what a change costs
// better than wall time does (which also shows how well the cores are used).
func reportCPU(b *testing.B) func() {
	start := cpuSeconds()
	return func() { b.ReportMetric((cpuSeconds()-start)*1e9/float64(b.N), "cpu-ns/op") }
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
