package gemm

import (
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// guarded copies x into memory that ends exactly where an inaccessible page
// begins, so that any read or write past the end of the slice faults.
func guarded(t *testing.T, x []float32) []float32 {
	t.Helper()
	if len(x) == 0 {
		return x
	}
	page := os.Getpagesize()
	size := (len(x)*4 + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	require.NoError(t, syscall.Mprotect(mem[size:], syscall.PROT_NONE))
	g := unsafe.Slice((*float32)(unsafe.Pointer(&mem[size-len(x)*4])), len(x))
	copy(g, x)
	return g
}

// TestKernelStaysInBounds runs ragged shapes whose A, B and C each end at an
// inaccessible page: a read or write past the last element the dimensions
// allow (a full-width vector load or store at a ragged edge) would crash.
func TestKernelStaysInBounds(t *testing.T) {
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 9))
		for _, s := range []struct{ m, n, k int }{
			{1, 1, 1}, {5, 3, 7}, {7, 17, 9}, {13, 10, 20}, {6, 16, 8}, {11, 33, 19}, {64, 10, 37}, {20, 9, 300},
		} {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					g := newCase(rng, tA, tB, s.m, s.n, s.k, 0, 1, float32(rng.IntN(2)))
					g.a, g.b, g.c = guarded(t, g.a), guarded(t, g.b), guarded(t, g.c)
					g.run(t)
				}
			}
		}
	})
}
