package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// vecTestValues returns n values mixing ordinary numbers of both signs with
// the special values the loops must get right: ±0, ±Inf, NaNs of either
// sign (quiet and signalling), the smallest
// subnormal and the largest finite value.
func vecTestValues(rng *rand.Rand, n int) []float32 {
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0x7fc00123), math.Float32frombits(0xffc00001), math.Float32frombits(0xff800001), math.Float32frombits(1), math.MaxFloat32, -math.MaxFloat32}
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(4) == 0 {
			x[i] = specials[rng.IntN(len(specials))]
		} else {
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// vecTestPaths runs f on the assembly path (where this build has it) and on
// the portable path.
func vecTestPaths(t *testing.T, f func(t *testing.T)) {
	if useAVX2 {
		t.Run("avx2", f)
	}
	defer func(old bool) { useAVX2 = old }(useAVX2)
	useAVX2 = false
	t.Run("go", f)
}

// vecTestLengths cover the empty slice, lengths below, at and around one and
// several vectors of eight, and an odd length of a few hundred.
var vecTestLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 64, 65, 257}

func requireBits(t *testing.T, want, got []float32, what string, n int) {
	t.Helper()
	requireSame(t, want, got, what, n, false)
}

// requireSame is requireBits, except that with anyNaN a NaN matches any NaN:
// which of two NaN operands a sum passes on depends on the order in which
// the compiler (or the assembly) gives them to the CPU, as in Go's own
// loops, so only ReLU's results are pinned down to the NaN payload.
func requireSame(t *testing.T, want, got []float32, what string, n int, anyNaN bool) {
	t.Helper()
	for i := range want {
		if anyNaN && want[i] != want[i] && got[i] != got[i] {
			continue
		}
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, what, "length %d, element %d: want %v (%#x), got %v (%#x)",
				n, i, want[i], math.Float32bits(want[i]), got[i], math.Float32bits(got[i]))
		}
	}
}

func TestReLU(t *testing.T) {
	vecTestPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range vecTestLengths {
			for _, off := range []int{0, 1, 3} { // unaligned starts
				src := vecTestValues(rng, n+off)[off:]
				want := make([]float32, n)
				for i, v := range src {
					want[i] = max(v, 0)
				}
				dst := vecTestValues(rng, n+1) // one value past the end must be left alone
				last := dst[n]
				ReLU(dst, src)
				requireBits(t, want, dst[:n], "ReLU", n)
				require.Equal(t, math.Float32bits(last), math.Float32bits(dst[n]), "wrote past len(src)")
				// In place.
				ReLU(src, src)
				requireBits(t, want, src, "ReLU in place", n)
			}
		}
	})
}

func TestReLUGrad(t *testing.T) {
	vecTestPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range vecTestLengths {
			for _, off := range []int{0, 2} {
				g := vecTestValues(rng, n+off)[off:]
				y := vecTestValues(rng, n)
				for i := range y {
					y[i] = max(y[i], 0) // a ReLU output: +0, positive or NaN
				}
				want := make([]float32, n)
				for i := range g {
					if math.Float32bits(y[i]) != 0 {
						want[i] = g[i]
					}
				}
				dst := vecTestValues(rng, n+1)
				last := dst[n]
				ReLUGrad(dst, g, y)
				requireBits(t, want, dst[:n], "ReLUGrad", n)
				require.Equal(t, math.Float32bits(last), math.Float32bits(dst[n]), "wrote past len(g)")
				ReLUGrad(g, g, y)
				requireBits(t, want, g, "ReLUGrad in place", n)
			}
		}
	})
}

// TestReLUZeroAllocs checks that the loops allocate nothing.
func TestReLUZeroAllocs(t *testing.T) {
	x, y := make([]float32, 1000), make([]float32, 1000)
	require.Zero(t, testing.AllocsPerRun(10, func() {
		ReLU(y, x)
		ReLUGrad(x, x, y)
	}))
}

// BenchmarkReLU times both loops on the conv net's largest activation
// (64 samples of 64×24×24), in bytes of input per second:
//
//	go test -run '^$' -bench . ./internal/vec
func BenchmarkReLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := vecTestValues(rng, 64*64*24*24)
	y, g := make([]float32, len(x)), vecTestValues(rng, len(x))
	b.Run("forward", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			ReLU(y, x)
		}
	})
	b.Run("backward", func(b *testing.B) {
		ReLU(y, x)
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			ReLUGrad(x, g, y)
		}
	})
}

func TestAdd(t *testing.T) {
	vecTestPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range vecTestLengths {
			for _, off := range []int{0, 1} {
				src := vecTestValues(rng, n+off)[off:]
				dst := vecTestValues(rng, n+1)
				want := append([]float32(nil), dst...)
				for i, v := range src {
					want[i] += v
				}
				Add(dst, src)
				requireSame(t, want, dst, "Add", n, true)
			}
		}
	})
}

func TestSum3(t *testing.T) {
	vecTestPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, n := range vecTestLengths {
			for _, acc := range []bool{false, true} {
				a := vecTestValues(rng, n+3)[3:]
				b, c := vecTestValues(rng, n+1), vecTestValues(rng, n)
				dst := vecTestValues(rng, n+1)
				want := append([]float32(nil), dst...)
				for i := range a {
					if acc {
						want[i] += a[i] + b[i] + c[i]
					} else {
						want[i] = a[i] + b[i] + c[i]
					}
				}
				Sum3(dst, a, b, c, acc)
				requireSame(t, want, dst, "Sum3", n, true)
			}
		}
	})
}

func TestSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range vecTestLengths {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		// The documented order, written out.
		var s [8]float32
		m := n &^ 7
		for i := 0; i < m; i++ {
			s[i%8] += x[i]
		}
		want := ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
		if m == 0 {
			want = 0
		}
		for _, v := range x[m:] {
			want += v
		}
		var exact float64
		for _, v := range x {
			exact += float64(v)
		}
		vecTestPaths(t, func(t *testing.T) {
			got := Sum(x)
			require.Equal(t, math.Float32bits(want), math.Float32bits(got), "length %d", n)
			require.InDelta(t, exact, float64(got), 1e-5*float64(n+1), "length %d", n)
		})
	}
	vecTestPaths(t, func(t *testing.T) {
		require.True(t, math.IsNaN(float64(Sum([]float32{1, 2, float32(math.NaN()), 4, 5, 6, 7, 8, 9}))))
		require.True(t, math.IsInf(float64(Sum([]float32{1, 2, 3, 4, 5, 6, 7, float32(math.Inf(1))})), 1))
	})
}
