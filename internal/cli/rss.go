package cli

import "syscall"

// PeakRSSMiB returns the peak resident set size of this process in MiB, or
// 0 where the system does not report it.
func PeakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}
