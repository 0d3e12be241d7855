package gemm_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/internal/gemm"
)

// matrix is a rows×cols matrix stored row-major with leading dimension ld ≥
// cols, inside a slice whose padding columns hold a sentinel.
type matrix struct {
	rows, cols, ld int
	data           []float32
}

const pad = float32(-12345.5) // fills the columns between cols and ld

func newMatrix(rng *rand.Rand, rows, cols, extra int) matrix {
	m := matrix{rows: rows, cols: cols, ld: max(cols, 1) + extra}
	m.data = make([]float32, max(rows*m.ld-extra, 0)) // the last row needs no padding
	for i := range m.data {
		if i%m.ld < cols {
			m.data[i] = float32(rng.NormFloat64())
		} else {
			m.data[i] = pad
		}
	}
	return m
}

func (m matrix) at(i, j int) float64 { return float64(m.data[i*m.ld+j]) }

// op returns element (i, j) of op(X): X, or Xᵀ if trans.
func (m matrix) op(trans bool, i, j int) float64 {
	if trans {
		return m.at(j, i)
	}
	return m.at(i, j)
}

// reference computes alpha·op(A)·op(B) + beta·C in float64, with beta = 0
// ignoring C, and the magnitude Σ|terms| that bounds the rounding error.
func reference(ta, tb bool, m, n, k int, alpha float64, a, b matrix, beta float64, c matrix) (want, scale []float64) {
	want, scale = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, abs float64
			for p := range k {
				x := a.op(ta, i, p) * b.op(tb, p, j)
				s += x
				abs += math.Abs(x)
			}
			want[i*n+j] = alpha * s
			scale[i*n+j] = math.Abs(alpha) * abs
			if beta != 0 {
				want[i*n+j] += beta * c.at(i, j)
				scale[i*n+j] += math.Abs(beta * c.at(i, j))
			}
		}
	}
	return want, scale
}

// checkSgemm runs one product on random matrices, strided when extra > 0
// (each leading dimension is cols + a random 1..extra), with C full of NaN
// when beta is 0, and compares every element of C with the float64
// reference. It also checks that the padding columns of C are untouched.
func checkSgemm(t *testing.T, rng *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32, extra int) {
	t.Helper()
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	ld := func() int {
		if extra == 0 {
			return 0
		}
		return 1 + rng.IntN(extra)
	}
	a, b, c := newMatrix(rng, ar, ac, ld()), newMatrix(rng, br, bc, ld()), newMatrix(rng, m, n, ld())
	if beta == 0 {
		for i := range m {
			for j := range n {
				c.data[i*c.ld+j] = float32(math.NaN())
			}
		}
	}
	want, scale := reference(ta, tb, m, n, k, float64(alpha), a, b, float64(beta), c)

	gemm.Sgemm(ta, tb, m, n, k, alpha, a.data, a.ld, b.data, b.ld, beta, c.data, c.ld)

	name := fmt.Sprintf("transA=%v transB=%v m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		ta, tb, m, n, k, alpha, beta, a.ld, b.ld, c.ld)
	for i := range m {
		for j := range n {
			got, w := float64(c.data[i*c.ld+j]), want[i*n+j]
			// float32 rounding: a few ulps of the largest partial sum.
			if tol := 1e-6 * scale[i*n+j] * float64(k+2); !(math.Abs(got-w) <= tol) {
				require.Failf(t, "wrong product", "%s: C[%d,%d] = %g, want %g ± %g", name, i, j, got, w, tol)
			}
		}
		for j := n; j < c.ld && i*c.ld+j < len(c.data); j++ {
			if c.data[i*c.ld+j] != pad {
				require.Failf(t, "padding written", "%s: C[%d,%d] (beyond column %d) = %g", name, i, j, n, c.data[i*c.ld+j])
			}
		}
	}
}

var transposes = []struct {
	name   string
	ta, tb bool
}{{"NN", false, false}, {"TN", true, false}, {"NT", false, true}, {"TT", true, true}}

// TestSgemmAgainstReference runs random small shapes (1, odd sizes, k = 0),
// contiguous or strided, in all four transpose combinations, with alpha and
// beta drawn from {1, -0.5, 2.5, 0} and {0, 1, 0.5, -1}.
func TestSgemmAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 6, 7, 16, 17, 33}
	ks := []int{0, 1, 4, 5, 17, 64}
	alphas := []float32{1, -0.5, 2.5, 0}
	betas := []float32{0, 1, 0.5, -1}
	for _, tr := range transposes {
		t.Run(tr.name, func(t *testing.T) {
			for trial := range 150 {
				m, n, k := sizes[rng.IntN(len(sizes))], sizes[rng.IntN(len(sizes))], ks[rng.IntN(len(ks))]
				alpha, beta := alphas[rng.IntN(len(alphas))], betas[rng.IntN(len(betas))]
				if trial < 8 { // every combination sees beta 0 and 1, and k = 0
					beta = float32(trial % 2)
					if trial >= 6 {
						k = 0
					}
				}
				checkSgemm(t, rng, tr.ta, tr.tb, m, n, k, alpha, beta, rng.IntN(2)*5)
			}
		})
	}
}

// TestSgemmLarge crosses the block sizes of a cache-blocked kernel (k over
// 256, m over 144, n over 2048) and the size at which a kernel may split the
// work between goroutines, strided and not.
func TestSgemmLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	shapes := [][3]int{{150, 40, 300}, {7, 2100, 3}, {145, 33, 257}, {130, 131, 129}, {64, 784, 40}, {1, 1, 1000}}
	for _, tr := range transposes {
		t.Run(tr.name, func(t *testing.T) {
			for i, s := range shapes {
				beta := []float32{0, 1, 0.5}[i%3]
				checkSgemm(t, rng, tr.ta, tr.tb, s[0], s[1], s[2], 0.75, beta, 3*(i%2))
			}
		})
	}
}

// TestSgemmSerialSameBits checks that SgemmSerial gives Sgemm's results bit
// for bit (Sgemm itself is checked against the reference above), on shapes
// large enough for Sgemm to split them between goroutines, and small ones.
func TestSgemmSerialSameBits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // so that Sgemm splits
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tr := range transposes {
		for i, s := range [][3]int{{130, 131, 129}, {64, 624, 289}, {289, 64, 624}, {7, 5, 3}} {
			m, n, k := s[0], s[1], s[2]
			beta := []float32{0, 1, 0.5}[i%3]
			ar, ac, br, bc := m, k, k, n
			if tr.ta {
				ar, ac = k, m
			}
			if tr.tb {
				br, bc = n, k
			}
			a, b, c := newMatrix(rng, ar, ac, 0), newMatrix(rng, br, bc, 2), newMatrix(rng, m, n, 1)
			c2 := append([]float32(nil), c.data...)
			gemm.Sgemm(tr.ta, tr.tb, m, n, k, 0.75, a.data, a.ld, b.data, b.ld, beta, c.data, c.ld)
			gemm.SgemmSerial(tr.ta, tr.tb, m, n, k, 0.75, a.data, a.ld, b.data, b.ld, beta, c2, c.ld)
			require.Equal(t, c.data, c2, "%s %v beta %g", tr.name, s, beta)
		}
	}
}

// TestSgemmAccumulates checks that beta = 1 adds the product to C, as
// gradient accumulation does: two calls give C₀ + 2·A·B.
func TestSgemmAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 5, 6, 7
	a, b, c := newMatrix(rng, m, k, 0), newMatrix(rng, k, n, 0), newMatrix(rng, m, n, 0)
	c0 := append([]float32(nil), c.data...)
	want, _ := reference(false, false, m, n, k, 2, a, b, 1, c)
	gemm.Sgemm(false, false, m, n, k, 1, a.data, k, b.data, n, 1, c.data, n)
	gemm.Sgemm(false, false, m, n, k, 1, a.data, k, b.data, n, 1, c.data, n)
	for i, w := range want {
		require.InDelta(t, w, c.data[i], 1e-5, "C[%d]", i)
	}
	// alpha = 0, beta = 1 leaves C alone.
	copy(c.data, c0)
	gemm.Sgemm(false, false, m, n, k, 0, a.data, k, b.data, n, 1, c.data, n)
	require.Equal(t, c0, c.data)
}

func TestSgemmSmallExact(t *testing.T) {
	// [1 2 3]   [1 0]   [ 4  8]
	// [4 5 6] · [0 1] = [10 17]
	//           [1 2]
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 1, 1, 2}
	c := make([]float32, 4)
	gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	require.Equal(t, []float32{4, 8, 10, 17}, c)
	// Aᵀ stored as A: Aᵀ is 3×2, (Aᵀ)ᵀ·B with transA = the same product.
	at := []float32{1, 4, 2, 5, 3, 6}
	gemm.Sgemm(true, false, 2, 2, 3, 1, at, 2, b, 2, 0, c, 2)
	require.Equal(t, []float32{4, 8, 10, 17}, c)
	bt := []float32{1, 0, 1, 0, 1, 2}
	gemm.Sgemm(false, true, 2, 2, 3, 1, a, 3, bt, 3, 0, c, 2)
	require.Equal(t, []float32{4, 8, 10, 17}, c)
	gemm.Sgemm(true, true, 2, 2, 3, 1, at, 2, bt, 3, 0, c, 2)
	require.Equal(t, []float32{4, 8, 10, 17}, c)
}

func TestSgemmPanics(t *testing.T) {
	a, b, c := make([]float32, 6), make([]float32, 12), make([]float32, 8)
	require.NotPanics(t, func() { gemm.Sgemm(false, false, 2, 4, 3, 1, a, 3, b, 4, 0, c, 4) })
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"short A", func() { gemm.Sgemm(false, false, 2, 4, 3, 1, a[:5], 3, b, 4, 0, c, 4) },
			"gemm: A has 5 values, needs 6 for 2×3 with stride 3"},
		{"short B", func() { gemm.Sgemm(false, false, 2, 4, 3, 1, a, 3, b[:11], 4, 0, c, 4) },
			"gemm: B has 11 values, needs 12 for 3×4 with stride 4"},
		{"short C", func() { gemm.Sgemm(false, false, 2, 4, 3, 1, a, 3, b, 4, 0, c[:7], 4) },
			"gemm: C has 7 values, needs 8 for 2×4 with stride 4"},
		{"short transposed A", func() { gemm.Sgemm(true, false, 3, 4, 2, 1, a[:5], 3, b, 4, 0, make([]float32, 12), 4) },
			"gemm: A has 5 values, needs 6 for 2×3 with stride 3"},
		{"strided A too short", func() { gemm.Sgemm(false, false, 2, 4, 3, 1, a, 4, b, 4, 0, c, 4) },
			"gemm: A has 6 values, needs 7 for 2×3 with stride 4"},
		{"small lda", func() { gemm.Sgemm(false, false, 2, 4, 3, 1, a, 2, b, 4, 0, c, 4) },
			"gemm: leading dimension of A is 2, less than its 3 columns"},
		{"small ldc", func() { gemm.Sgemm(false, false, 2, 4, 3, 1, a, 3, b, 4, 0, c, 3) },
			"gemm: leading dimension of C is 3, less than its 4 columns"},
		{"negative", func() { gemm.Sgemm(false, false, -1, 4, 3, 1, a, 3, b, 4, 0, c, 4) },
			"gemm: negative dimension m=-1 n=4 k=3"},
	} {
		require.PanicsWithValue(t, tc.msg, tc.f, tc.name)
	}
	// An empty product touches nothing, so no slice is needed.
	require.NotPanics(t, func() { gemm.Sgemm(false, false, 0, 4, 3, 1, nil, 3, nil, 4, 0, nil, 4) })
	require.NotPanics(t, func() { gemm.Sgemm(false, false, 2, 0, 3, 1, nil, 3, nil, 1, 0, nil, 1) })
}

func TestSgemmDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// 16³ is small; 130³ is large enough for a kernel to use goroutines.
	for _, size := range []int{16, 130} {
		a, b, c := newMatrix(rng, size, size, 0), newMatrix(rng, size, size, 0), newMatrix(rng, size, size, 0)
		for _, tr := range transposes {
			allocs := testing.AllocsPerRun(5, func() {
				gemm.Sgemm(tr.ta, tr.tb, size, size, size, 1, a.data, size, b.data, size, 0.5, c.data, size)
			})
			require.Zero(t, allocs, "%s %d³", tr.name, size)
		}
	}
}

// BenchmarkSgemm times the products a training step does: (64, 784, 128)
// and (64, 128, 10) are an MNIST MLP's forward passes at batch 64, NN the
// forward pass Y = X·W, TN the weight gradient dW = Xᵀ·dY and NT the input
// gradient dX = dY·Wᵀ.
func BenchmarkSgemm(b *testing.B) {
	for _, pattern := range []struct {
		name       string
		transA, tB bool
	}{{"NN", false, false}, {"TN", true, false}, {"NT", false, true}} {
		for _, s := range [][3]int{{64, 784, 128}, {64, 128, 10}, {256, 784, 128}, {512, 512, 512}} {
			m, n, k := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", pattern.name, m, n, k), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(7, 8))
				lda, ldb := k, n
				if pattern.transA {
					lda = m
				}
				if pattern.tB {
					ldb = k
				}
				a, bm, c := randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n)
				b.ReportAllocs()
				for b.Loop() {
					gemm.Sgemm(pattern.transA, pattern.tB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}
