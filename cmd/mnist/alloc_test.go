package main

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStepZeroAllocs checks that a warmed-up training step of every cmd/mnist
// model (dropout included, with Adam or momentum as the command uses them)
// allocates nothing: at tens of thousands of steps per epoch, garbage would
// cost more than some of the layers. testing.AllocsPerRun runs on one core.
func TestStepZeroAllocs(t *testing.T) {
	for i, sm := range stepModels {
		t.Run(sm.name, func(t *testing.T) {
			tr, x, y := newStepTrainer(t, i, 64, 2)
			allocs := testing.AllocsPerRun(3, func() {
				if _, err := tr.Step(x, y); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs, "allocations per step of %s", sm.name)
		})
	}
}

// TestStepZeroAllocsTwoCores is TestStepZeroAllocs on two cores, where the
// layers share their work with a helper goroutine and gemm with its
// workers. There the runtime allocates now and then on its own: while its
// per-core caches of records of sleeping goroutines fill up, when a
// goroutine has to wait for another, and when it starts a thread. So this
// counts the allocations of a few steps at a time, up to ten times, and
// requires one count to be zero: an allocation made by the step itself is in
// every one.
func TestStepZeroAllocsTwoCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for i, sm := range stepModels {
		t.Run(sm.name, func(t *testing.T) {
			tr, x, y := newStepTrainer(t, i, 64, 3)
			require.Zero(t, leastMallocs(10, 3, func() {
				if _, err := tr.Step(x, y); err != nil {
					t.Fatal(err)
				}
			}), "allocations per step of %s", sm.name)
		})
	}
}

// leastMallocs counts the heap allocations of runs calls of f, up to tries
// times, stopping at a count of zero, and returns the smallest count per
// call.
func leastMallocs(tries, runs int, f func()) float64 {
	least := math.Inf(1)
	for range tries {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			f()
		}
		runtime.ReadMemStats(&after)
		least = min(least, float64(after.Mallocs-before.Mallocs)/float64(runs))
		if least == 0 {
			break
		}
	}
	return least
}
