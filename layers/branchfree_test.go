package layers_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// The branch-free loops of ReLU, LeakyReLU and 2×2 max-pooling are checked
// bit for bit against the plain rules they replace, on inputs full of the
// values where such tricks go wrong: ±0, ±Inf, NaN of either sign, ties.

// specialTestValues are drawn by specialTestTensor.
var specialTestValues = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, 2, -2, 0.5,
	float32(math.Inf(1)), float32(math.Inf(-1)),
	float32(math.NaN()), math.Float32frombits(0xffc00001), // NaN with the sign bit set
	math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32,
}

// specialTestTensor returns a tensor of the given shape whose values are
// mostly ordinary (uniform in [-1, 1), rounded to tenths so that ties occur)
// and one in three a special value.
func specialTestTensor(rng *rand.Rand, shape ...int) *tensor.Dense {
	t := nn.NewTensor(shape...)
	for i := range t.Float32s() {
		if rng.IntN(3) == 0 {
			t.Float32s()[i] = specialTestValues[rng.IntN(len(specialTestValues))]
		} else {
			t.Float32s()[i] = float32(math.Round(20*rng.Float64()-10) / 10)
		}
	}
	return t
}

func bitsOf(xs []float32) []uint32 {
	b := make([]uint32, len(xs))
	for i, v := range xs {
		b[i] = math.Float32bits(v)
	}
	return b
}

// The batches of 30000 samples (150000 values) are cut into blocks shared
// with the helper goroutine, run here on two cores.
func TestReLUBackwardSpecialValues(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{1, 3, 4, 7, 64, 30001} { // lengths around the 4-way unrolling, and blocks
		relu := layers.NewReLU()
		leaky := layers.NewLeakyReLU(0.1)
		for _, l := range []nn.Layer{relu, leaky} {
			_, err := l.Build(nn.Shape{5}, rng)
			require.NoError(t, err)
		}
		x := specialTestTensor(rng, n, 5)
		dy := specialTestTensor(rng, n, 5)

		y := relu.Forward(x, true).Float32s()
		want := make([]float32, len(y))
		for i, v := range x.Float32s() {
			want[i] = max(v, 0)
		}
		require.Equal(t, bitsOf(want), bitsOf(y), "ReLU forward, n=%d", n)
		clear(want)
		for i, v := range dy.Float32s() {
			if !(y[i] <= 0) { // dX = dY ⊙ [y > 0], a NaN y passing
				want[i] = v
			}
		}
		require.Equal(t, bitsOf(want), bitsOf(relu.Backward(dy).Float32s()), "ReLU, n=%d", n)

		y = leaky.Forward(x, true).Float32s()
		for i, v := range dy.Float32s() {
			s := float32(1)
			if y[i] <= 0 {
				s = 0.1
			}
			want[i] = s * v
		}
		require.Equal(t, bitsOf(want), bitsOf(leaky.Backward(dy).Float32s()), "LeakyReLU, n=%d", n)
	}
}

// poolTestScan is the general max-pooling rule for one window: scanning in
// row-major order from the first element, an element wins if it is larger
// than the winner so far or NaN. It returns the winner and its index.
func poolTestScan(x []float32, idx []int) (float32, int) {
	best, bi := x[idx[0]], idx[0]
	for _, i := range idx[1:] {
		if v := x[i]; v > best || v != v {
			best, bi = v, i
		}
	}
	return best, bi
}

// The last case is large enough to be cut into blocks of planes shared with
// the helper goroutine, run here on two cores.
func TestMaxPool2D2x2SpecialValues(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := rand.New(rand.NewPCG(33, 34))
	for _, tc := range []poolTestCase{
		{n: 3, c: 2, h: 6, w: 8, size: 2, s: 2},
		{n: 2, c: 3, h: 7, w: 5, size: 2, s: 0}, // odd: the last row and column are not pooled
		{n: 1, c: 1, h: 2, w: 2, size: 2, s: 2},
		{n: 64, c: 6, h: 28, w: 27, size: 2, s: 2},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			pool := layers.NewMaxPool2D(tc.size, tc.s)
			_, err := pool.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
			require.NoError(t, err)
			x := specialTestTensor(rng, tc.n, tc.c, tc.h, tc.w)
			xs := x.Float32s()
			oh, ow := tc.h/2, tc.w/2
			var want []float32
			var arg []int
			for plane := 0; plane < tc.n*tc.c; plane++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						top := plane*tc.h*tc.w + 2*oy*tc.w + 2*ox
						v, i := poolTestScan(xs, []int{top, top + 1, top + tc.w, top + tc.w + 1})
						want, arg = append(want, v), append(arg, i)
					}
				}
			}
			y := pool.Forward(x, true)
			require.Equal(t, []int{tc.n, tc.c, oh, ow}, []int(y.Shape()))
			require.Equal(t, bitsOf(want), bitsOf(y.Float32s()))

			dy := convTestRand(rng, y.Shape()...)
			wantDx := make([]float32, len(xs))
			for i, j := range arg {
				wantDx[j] = dy.Float32s()[i]
			}
			require.Equal(t, bitsOf(wantDx), bitsOf(pool.Backward(dy).Float32s()))
		})
	}
}

// TestMaxPool2DBlocksMatchNaive checks the general windows on a batch large
// enough to be shared between goroutines.
func TestMaxPool2DBlocksMatchNaive(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := rand.New(rand.NewPCG(35, 36))
	tc := poolTestCase{n: 40, c: 5, h: 19, w: 17, size: 3, s: 2}
	pool := layers.NewMaxPool2D(tc.size, tc.s)
	_, err := pool.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
	require.NoError(t, err)
	x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
	want, arg, _, _ := poolTestNaive(tc, x.Float32s(), true)
	y := pool.Forward(x, true)
	require.Equal(t, want, y.Float32s())
	dy := convTestRand(rng, y.Shape()...)
	wantDx := make([]float32, x.Shape().TotalSize())
	for i, j := range arg {
		wantDx[j] += dy.Float32s()[i]
	}
	require.Equal(t, wantDx, pool.Backward(dy).Float32s())
}

// TestMaxPool2DPlaneLimit checks that MaxPool2D, which records each
// maximum's position within its plane in 32 bits, refuses larger planes.
func TestMaxPool2DPlaneLimit(t *testing.T) {
	_, err := layers.NewMaxPool2D(2, 2).Build(nn.Shape{1, 1 << 16, 1 << 15}, nil)
	require.ErrorContains(t, err, "65536×32768 plane of more than 2³¹ − 1 values")
	out, err := layers.NewMaxPool2D(2, 2).Build(nn.Shape{1, 1 << 15, 1 << 15}, nil)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{1, 1 << 14, 1 << 14}, out)
}
