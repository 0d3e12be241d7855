package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// setAsm switches the assembly path on or off (where the CPU has it) and
// returns the previous setting, for `defer setAsm(setAsm(false))`.
func setAsm(on bool) bool {
	old := useKernel
	useKernel = on && haveKernel
	return old
}

// setMaxThreads caps the goroutines one product may use and returns the
// previous cap.
func setMaxThreads(n int) int {
	old := maxThreads
	maxThreads = n
	return old
}

// setThresholds sets the smallest products that take the assembly path and
// that go parallel, returning the previous values. While parallel is 1
// every product is split, without the back-off under contention.
func setThresholds(blocked, parallel int) (int, int) {
	ob, op := blockedMin, parallelMin
	blockedMin, parallelMin = blocked, parallel
	adaptive = parallel != 1
	return ob, op
}

// gemmCase is one call of Sgemm with its operands laid out in memory.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	lda, ldb, ldc  int
	a, b, c        []float32
}

func (g gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
}

// newCase fills random operands; pad > 0 adds that many unused columns to
// every leading dimension, which must stay untouched in C.
func newCase(rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) gemmCase {
	g := gemmCase{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = max(ac, 1)+pad, max(bc, 1)+pad, n+pad
	g.a = randSlice(rng, max(ar*g.lda-pad, 0))
	g.b = randSlice(rng, max(br*g.ldb-pad, 0))
	g.c = randSlice(rng, max(m*g.ldc-pad, 0))
	if beta == 0 {
		for i := range g.c {
			if rng.IntN(3) == 0 {
				g.c[i] = float32(math.NaN()) // beta = 0 must overwrite NaN
			}
		}
	}
	return g
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return x
}

// reference computes the expected C in float64, plus for each element the
// bound Σ|alpha·a·b| + |beta·c| that scales its rounding error.
func (g gemmCase) reference() (want, bound []float64) {
	want = make([]float64, len(g.c))
	bound = make([]float64, len(g.c))
	for i, v := range g.c {
		want[i] = float64(v) // padding and untouched values stay as they are
	}
	for i := range g.m {
		for j := range g.n {
			var s, abs float64
			for p := range g.k {
				var av, bv float32
				if g.transA {
					av = g.a[p*g.lda+i]
				} else {
					av = g.a[i*g.lda+p]
				}
				if g.transB {
					bv = g.b[j*g.ldb+p]
				} else {
					bv = g.b[p*g.ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			idx := i*g.ldc + j
			cv := 0.0
			if g.beta != 0 {
				cv = float64(g.beta) * float64(g.c[idx])
			}
			want[idx] = float64(g.alpha)*s + cv
			bound[idx] = math.Abs(float64(g.alpha))*abs + math.Abs(cv)
		}
	}
	return want, bound
}

// run calls Sgemm on g.c in place and checks it against the reference:
// each element within 1e-6·(k+2)·bound (float32 rounding of a length-k
// sum), the padding between rows untouched.
func (g gemmCase) run(t *testing.T) {
	t.Helper()
	want, bound := g.reference()
	orig := append([]float32(nil), g.c...)
	c := g.c
	Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	tol := 1e-6 * float64(g.k+2)
	for i := range c {
		got := float64(c[i])
		if i%g.ldc >= g.n {
			require.Equal(t, math.Float32bits(orig[i]), math.Float32bits(c[i]), "%v: padding C[%d] changed", g, i)
			continue
		}
		require.False(t, math.IsNaN(got), "%v: C[%d,%d] is NaN", g, i/g.ldc, i%g.ldc)
		require.InDelta(t, want[i], got, tol*bound[i]+1e-30, "%v: C[%d,%d]", g, i/g.ldc, i%g.ldc)
	}
}

// edgeSizes straddle the micro-tile (6, 16), and the sizes 1 and primes.
var edgeSizes = []int{1, 2, 5, 6, 7, 11, 15, 16, 17, 31, 33, 37}

// testPaths runs f on the portable path, then, where the CPU has it, on
// the assembly path as shipped, forced for every size on one goroutine, and
// forced for every size and split between goroutines.
func testPaths(t *testing.T, f func(t *testing.T)) {
	t.Run("generic", func(t *testing.T) {
		defer setAsm(setAsm(false))
		f(t)
	})
	if !haveKernel {
		return
	}
	t.Run("asm", f)
	t.Run("asm/serial", func(t *testing.T) {
		defer setThresholds(setThresholds(1, math.MaxInt))
		f(t)
	})
	t.Run("asm/parallel", func(t *testing.T) {
		defer setThresholds(setThresholds(1, 1))
		f(t)
	})
}

func TestKernelEdgeShapes(t *testing.T) {
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, m := range edgeSizes {
			for _, n := range edgeSizes {
				k := edgeSizes[rng.IntN(len(edgeSizes))]
				tA, tB := rng.IntN(2) == 0, rng.IntN(2) == 0
				beta := []float32{0, 1, 0.5}[rng.IntN(3)]
				newCase(rng, tA, tB, m, n, k, rng.IntN(3), 1, beta).run(t)
			}
		}
	})
}

func TestKernelTransposesAlphaBeta(t *testing.T) {
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(2, 2))
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, alpha := range []float32{1, -0.5, 2} {
					for _, beta := range []float32{0, 1, -1.5} {
						for _, pad := range []int{0, 3} {
							newCase(rng, tA, tB, 13, 35, 19, pad, alpha, beta).run(t)
						}
					}
				}
			}
		}
	})
}

// TestKernelBlockBoundaries crosses the cache-block sizes kc, mc and nc
// and the threading threshold.
func TestKernelBlockBoundaries(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{mc, nr, kc},
		{mc + 1, nr + 1, kc + 1},
		{mc - 1, 3, 2*kc + 3},
		{2*mc + 7, 40, 9},
		{3, nc + 5, 7},
		{131, 127, 130}, // parallel, m and n ragged
		{64, 10, 785},   // narrow output layer, k = 4 blocks + 1
		{200, 300, 64},  // parallel split along n
		{300, 70, 100},  // parallel split along m
	}
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		for i, s := range shapes {
			tA, tB := i%2 == 1, i%4 >= 2
			beta := []float32{0, 1, 0.25}[i%3]
			newCase(rng, tA, tB, s.m, s.n, s.k, i%3, 1.5, beta).run(t)
		}
	})
}

func TestKernelRandomShapes(t *testing.T) {
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 4))
		for range 60 {
			m, n, k := 1+rng.IntN(80), 1+rng.IntN(80), rng.IntN(300)
			alpha := []float32{1, -1, 0.3}[rng.IntN(3)]
			beta := []float32{0, 1, 2}[rng.IntN(3)]
			newCase(rng, rng.IntN(2) == 0, rng.IntN(2) == 0, m, n, k, rng.IntN(4), alpha, beta).run(t)
		}
	})
}

// TestKernelZeroK checks that with k = 0 (or alpha = 0) C becomes beta·C.
func TestKernelZeroK(t *testing.T) {
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, beta := range []float32{0, 1, 3} {
			newCase(rng, false, false, 7, 9, 0, 2, 1, beta).run(t)
			newCase(rng, true, true, 7, 9, 5, 1, 0, beta).run(t)
		}
	})
}

// TestKernelSameOnAllCores checks that splitting a product between
// goroutines, along m or along n, changes no bit of the result.
func TestKernelSameOnAllCores(t *testing.T) {
	if !haveKernel {
		return // only the assembly path splits products
	}
	rng := rand.New(rand.NewPCG(6, 6))
	for _, g := range []gemmCase{
		newCase(rng, false, true, 150, 170, 300, 0, 1, 0),
		newCase(rng, true, false, 301, 33, 200, 2, 1, 0),
	} {
		serial := make([]float32, len(g.c))
		par := make([]float32, len(g.c))
		func() {
			defer setMaxThreads(setMaxThreads(1))
			Sgemm(g.transA, g.transB, g.m, g.n, g.k, 1, g.a, g.lda, g.b, g.ldb, 0, serial, g.ldc)
		}()
		func() {
			defer setThresholds(setThresholds(1, 1))
			Sgemm(g.transA, g.transB, g.m, g.n, g.k, 1, g.a, g.lda, g.b, g.ldb, 0, par, g.ldc)
		}()
		requireSameBits(t, serial, par, "%v", g)
	}
}

// requireSameBits fails unless want and got hold the same float32 bit
// patterns (so NaN in untouched padding compares equal to itself).
func requireSameBits(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, "results differ", "at %d: want %g, got %g; "+msg, append([]any{i, want[i], got[i]}, args...)...)
		}
	}
}

// TestKernelConcurrent runs products from several goroutines at once, each
// with its own C, small and large enough to use the workers (run with -race).
func TestKernelConcurrent(t *testing.T) {
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 7))
		var cases []gemmCase
		for i := range 6 {
			m, n, k := 20+i, 30, 40
			if i%2 == 0 {
				m, n, k = 130, 140, 150
			}
			cases = append(cases, newCase(rng, i%3 == 0, i%4 == 1, m, n, k, 1, 1, float32(i%2)))
		}
		want := make([][]float32, len(cases))
		for i, g := range cases {
			want[i] = append([]float32(nil), g.c...)
			Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, want[i], g.ldc)
		}
		got := make([][]float32, len(cases))
		var wg sync.WaitGroup
		for i, g := range cases {
			got[i] = append([]float32(nil), g.c...)
			wg.Go(func() {
				for range 3 {
					copy(got[i], g.c)
					Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got[i], g.ldc)
				}
			})
		}
		wg.Wait()
		for i := range cases {
			requireSameBits(t, want[i], got[i], "%v", cases[i])
		}
	})
}

// TestKernelNoAllocs checks that warmed-up products allocate nothing, not
// even once in many calls (a late worker must not hold on to the caller's
// buffers): tiny, mid-size and large enough to split between goroutines.
func TestKernelNoAllocs(t *testing.T) {
	shapes := []struct {
		tA, tB  bool
		m, n, k int
	}{
		{false, false, 3, 5, 7},
		{true, false, 64, 10, 128},
		{false, true, 64, 128, 100},
		{false, false, 128, 128, 256},
		{true, false, 288, 576, 64},
	}
	testPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(8, 8))
		for _, s := range shapes {
			g := newCase(rng, s.tA, s.tB, s.m, s.n, s.k, 0, 1, 1)
			for range 10 {
				allocs := testing.AllocsPerRun(1, func() {
					Sgemm(g.transA, g.transB, g.m, g.n, g.k, 1, g.a, g.lda, g.b, g.ldb, 1, g.c, g.ldc)
				})
				require.Zero(t, allocs, "%v", g)
			}
		}
	})
}

// TestKernelPanics checks the documented panics.
func TestKernelPanics(t *testing.T) {
	x := make([]float32, 12)
	require.PanicsWithValue(t, "gemm: negative dimension m=-1 n=2 k=2", func() {
		Sgemm(false, false, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2)
	})
	require.PanicsWithValue(t, "gemm: leading dimension of B is 2, less than its 3 columns", func() {
		Sgemm(false, false, 2, 3, 2, 1, x, 2, x, 2, 0, x, 3)
	})
	require.PanicsWithValue(t, "gemm: C has 12 values, needs 16 for 4×4 with stride 4", func() {
		Sgemm(false, false, 4, 4, 2, 1, x, 2, x, 4, 0, x, 4)
	})
	require.Panics(t, func() { Sgemm(true, false, 4, 2, 5, 1, x, 4, x, 2, 0, x, 2) }, "A too short")
}

// TestKernelBackOff checks the contention back-off: after a bad parallel
// call the next parallel-sized products run serially, one fewer each time,
// and the next parallel call either resets the penalty (the worker helped)
// or doubles it.
func TestKernelBackOff(t *testing.T) {
	if !haveKernel || runtime.GOMAXPROCS(0) < 2 {
		return // nothing runs in parallel
	}
	defer setThresholds(setThresholds(blockedMin, parallelMin))
	defer func() { penalty.Store(0); skip.Store(0) }()
	rng := rand.New(rand.NewPCG(11, 11))
	g := newCase(rng, false, false, 128, 128, 2*parallelMin/(128*128)+1, 0, 1, 0)
	penalty.Store(2)
	skip.Store(2)
	for want := int32(1); want >= 0; want-- {
		Sgemm(g.transA, g.transB, g.m, g.n, g.k, 1, g.a, g.lda, g.b, g.ldb, 0, g.c, g.ldc)
		require.Equal(t, want, skip.Load())
		require.Equal(t, int32(2), penalty.Load(), "a serial call leaves the penalty")
	}
	Sgemm(g.transA, g.transB, g.m, g.n, g.k, 1, g.a, g.lda, g.b, g.ldb, 0, g.c, g.ldc)
	require.Contains(t, []int32{0, 4}, penalty.Load())
	require.Equal(t, penalty.Load(), skip.Load())
}
