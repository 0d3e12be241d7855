package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// tensor.MatMul routed through nn.BLAS gives the product, for plain operands
// and for transposed views (which tensor passes as transpose flags).
func TestBLASRoutesTensorMatMul(t *testing.T) {
	calls := &countingBLAS{}
	tensor.Use(calls)
	t.Cleanup(func() { tensor.Use(gonum.Implementation{}) })
	rng := rand.New(rand.NewPCG(1, 1))
	random := func(r, c int) *tensor.Dense {
		d := nn.NewTensor(r, c)
		for i := range d.Float32s() {
			d.Float32s()[i] = float32(rng.NormFloat64())
		}
		return d
	}
	naive := func(a, b []float32, m, n, k int, ta, tb bool) []float32 {
		c := make([]float32, m*n)
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					av, bv := a[i*k+p], b[p*n+j]
					if ta {
						av = a[p*m+i]
					}
					if tb {
						bv = b[j*k+p]
					}
					s += float64(av) * float64(bv)
				}
				c[i*n+j] = float32(s)
			}
		}
		return c
	}
	for _, tc := range []struct {
		m, n, k int
		ta, tb  bool
	}{{37, 29, 53, false, false}, {64, 10, 128, false, false}, {40, 33, 70, true, false}, {21, 45, 19, false, true}} {
		ar, ac := tc.m, tc.k
		if tc.ta {
			ar, ac = tc.k, tc.m
		}
		br, bc := tc.k, tc.n
		if tc.tb {
			br, bc = tc.n, tc.k
		}
		a, b := random(ar, ac), random(br, bc)
		want := naive(a.Float32s(), b.Float32s(), tc.m, tc.n, tc.k, tc.ta, tc.tb)
		av, bv := tensor.Tensor(a), tensor.Tensor(b)
		if tc.ta {
			av = a.Clone().(*tensor.Dense)
			require.NoError(t, av.T())
		}
		if tc.tb {
			bv = b.Clone().(*tensor.Dense)
			require.NoError(t, bv.T())
		}
		got, err := tensor.MatMul(av, bv)
		require.NoError(t, err)
		g := got.Data().([]float32)
		require.Len(t, g, len(want))
		for i := range want {
			require.InDelta(t, want[i], g[i], 1e-4*math.Sqrt(float64(tc.k)), "%+v at %d", tc, i)
		}
	}
	require.Equal(t, 4, calls.n, "every MatMul went through nn.BLAS.Sgemm")
}

// countingBLAS counts the Sgemm calls that reach nn.BLAS.
type countingBLAS struct {
	nn.BLAS
	n int
}

func (c *countingBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	c.n++
	c.BLAS.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, cm, ldc)
}
