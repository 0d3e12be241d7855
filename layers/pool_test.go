package layers_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// poolTestCase is one pooling geometry: batch n, input [c h w], size×size
// windows with stride s (0 meaning s = size).
type poolTestCase struct {
	n, c, h, w, size, s int
}

func (tc poolTestCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_size%d_s%d", tc.n, tc.c, tc.h, tc.w, tc.size, tc.s)
}

// poolTestCases covers batch 1, odd and non-square sizes, overlapping
// windows (stride < size), gaps (stride > size), and rows or columns that no
// window reaches.
var poolTestCases = []poolTestCase{
	{n: 1, c: 1, h: 4, w: 4, size: 2, s: 0},
	{n: 2, c: 3, h: 7, w: 5, size: 2, s: 2},
	{n: 1, c: 2, h: 7, w: 9, size: 3, s: 1},
	{n: 2, c: 2, h: 6, w: 5, size: 3, s: 2},
	{n: 3, c: 1, h: 9, w: 8, size: 2, s: 3},
	{n: 1, c: 3, h: 5, w: 6, size: 1, s: 1},
	{n: 2, c: 1, h: 3, w: 7, size: 3, s: 0},
}

// poolTestDistinct returns a tensor of the given shape holding a random
// permutation of 0.1·(1, 2, ..., size) shifted to be centred on 0: values
// are distinct and at least 0.1 apart, more than twice the gradient
// checker's step, so no perturbation changes which value is the maximum.
func poolTestDistinct(rng *rand.Rand, shape ...int) *tensor.Dense {
	t := nn.NewTensor(shape...)
	d := t.Float32s()
	for i, p := range rng.Perm(len(d)) {
		d[i] = 0.1 * float32(p-len(d)/2)
	}
	return t
}

// poolTestNaive pools x with plain loops, taking the max (and its first
// index) or the mean of every window.
func poolTestNaive(tc poolTestCase, x []float32, isMax bool) (y []float32, arg []int, oh, ow int) {
	s := tc.s
	if s == 0 {
		s = tc.size
	}
	oh, ow = (tc.h-tc.size)/s+1, (tc.w-tc.size)/s+1
	for n := 0; n < tc.n; n++ {
		for c := 0; c < tc.c; c++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					best, bi, sum := float32(math.Inf(-1)), -1, 0.0
					for ki := 0; ki < tc.size; ki++ {
						for kj := 0; kj < tc.size; kj++ {
							i := ((n*tc.c+c)*tc.h+oy*s+ki)*tc.w + ox*s + kj
							if x[i] > best {
								best, bi = x[i], i
							}
							sum += float64(x[i])
						}
					}
					if isMax {
						y, arg = append(y, best), append(arg, bi)
					} else {
						y = append(y, float32(sum/float64(tc.size*tc.size)))
					}
				}
			}
		}
	}
	return y, arg, oh, ow
}

func TestMaxPool2DMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range poolTestCases {
		t.Run(tc.String(), func(t *testing.T) {
			pool := layers.NewMaxPool2D(tc.size, tc.s)
			_, err := pool.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
			require.NoError(t, err)
			x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
			want, arg, oh, ow := poolTestNaive(tc, x.Float32s(), true)
			y := pool.Forward(x, true)
			require.Equal(t, []int{tc.n, tc.c, oh, ow}, []int(y.Shape()))
			require.Equal(t, want, y.Float32s())

			// Backward sends each dY to its window's maximum, adding where
			// overlapping windows share one.
			dy := convTestRand(rng, y.Shape()...)
			wantDx := make([]float32, x.Shape().TotalSize())
			for i, j := range arg {
				wantDx[j] += dy.Float32s()[i]
			}
			dx := pool.Backward(dy)
			require.Equal(t, []int(x.Shape()), []int(dx.Shape()))
			require.InDeltaSlice(t, wantDx, dx.Float32s(), 1e-6)
		})
	}
}

// TestMaxPool2DTies checks that of several equal maxima the first (in
// row-major window order) receives the gradient.
func TestMaxPool2DTies(t *testing.T) {
	pool := layers.NewMaxPool2D(2, 1)
	_, err := pool.Build(nn.Shape{1, 2, 3}, nil)
	require.NoError(t, err)
	x := nn.FromSlice([]float32{
		1, 5, 5,
		5, 2, 5,
	}, 1, 1, 2, 3)
	require.Equal(t, []float32{5, 5}, pool.Forward(x, true).Float32s())
	dx := pool.Backward(nn.FromSlice([]float32{1, 10}, 1, 1, 1, 2))
	require.Equal(t, []float32{
		0, 11, 0,
		0, 0, 0,
	}, dx.Float32s())
}

func TestAvgPool2DMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, tc := range poolTestCases {
		t.Run(tc.String(), func(t *testing.T) {
			pool := layers.NewAvgPool2D(tc.size, tc.s)
			_, err := pool.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
			require.NoError(t, err)
			x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
			want, _, oh, ow := poolTestNaive(tc, x.Float32s(), false)
			y := pool.Forward(x, false)
			require.Equal(t, []int{tc.n, tc.c, oh, ow}, []int(y.Shape()))
			require.InDeltaSlice(t, want, y.Float32s(), 1e-6)
		})
	}
}

func TestPoolGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, tc := range poolTestCases {
		t.Run(tc.String(), func(t *testing.T) {
			x := poolTestDistinct(rng, tc.n, tc.c, tc.h, tc.w)
			for _, l := range []nn.Layer{layers.NewMaxPool2D(tc.size, tc.s), layers.NewAvgPool2D(tc.size, tc.s)} {
				_, err := l.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
				require.NoError(t, err)
				for _, train := range []bool{true, false} {
					res := backprop.CheckLayer(l, x, train, backprop.CheckOptions{Seed: 27})
					require.Less(t, res.MaxRelErr, 1e-2, "%s train=%v: %v", l.Spec(), train, res)
					require.Equal(t, x.Shape().TotalSize(), res.Checked)
				}
			}
		})
	}
}

func TestPoolBuild(t *testing.T) {
	out, err := layers.NewMaxPool2D(2, 0).Build(nn.Shape{32, 27, 26}, nil)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{32, 13, 13}, out)
	out, err = layers.NewAvgPool2D(3, 2).Build(nn.Shape{4, 7, 8}, nil)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{4, 3, 3}, out)

	require.Equal(t, "MaxPool2D(size=2, stride=2)", layers.NewMaxPool2D(2, 0).Spec().String())
	require.Equal(t, "AvgPool2D(size=3, stride=1)", layers.NewAvgPool2D(3, 1).Spec().String())
	require.Nil(t, layers.NewMaxPool2D(2, 0).Params())
	require.Nil(t, layers.NewAvgPool2D(2, 0).Params())

	for _, tc := range []struct {
		name string
		l    nn.Layer
		in   nn.Shape
		want string
	}{
		{"max window too tall", layers.NewMaxPool2D(3, 0), nn.Shape{1, 2, 8}, "MaxPool2D: 3×3 window does not fit the 2×8 input"},
		{"avg window too wide", layers.NewAvgPool2D(4, 1), nn.Shape{2, 8, 3}, "AvgPool2D: 4×4 window does not fit the 8×3 input"},
		{"flat input", layers.NewMaxPool2D(2, 0), nn.Shape{128}, "MaxPool2D wants an image input [channels height width], got [128]"},
		{"zero size", layers.NewAvgPool2D(0, 0), nn.Shape{1, 4, 4}, "window size 0"},
		{"negative stride", layers.NewMaxPool2D(2, -1), nn.Shape{1, 4, 4}, "stride -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.l.Build(tc.in, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}

	pool := layers.NewMaxPool2D(2, 0)
	_, err = pool.Build(nn.Shape{3, 4, 4}, nil)
	require.NoError(t, err)
	msg := convTestPanic(func() { pool.Forward(nn.NewTensor(1, 3, 4, 5), true) })
	require.Contains(t, msg, "MaxPool2D(2, stride 2): input of shape [1 3 4 5]")
	require.Contains(t, msg, "3 4 4]")
}

func TestPoolZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 29))
	x := convTestRand(rng, 8, 4, 12, 11)
	for _, l := range []nn.Layer{layers.NewMaxPool2D(2, 0), layers.NewAvgPool2D(3, 2)} {
		_, err := l.Build(nn.Shape{4, 12, 11}, rng)
		require.NoError(t, err)
		dy := convTestRand(rng, l.Forward(x, true).Shape()...)
		l.Backward(dy)
		allocs := testing.AllocsPerRun(5, func() {
			l.Forward(x, true)
			l.Backward(dy)
		})
		require.Zero(t, allocs, "%s", l.Spec())
	}
}

// poolTestPaths returns the settings of layers.SetAVX2 this machine
// can test: the portable loops, and the AVX2 ones where available.
func poolTestPaths() []bool {
	if layers.AVX2Available {
		return []bool{false, true}
	}
	return []bool{false}
}

// poolTestSpecial returns n values of which about half are drawn from
// ±0, ±1, ±Inf and NaNs of either sign and two payloads (so that windows
// hold ties, −0 next to +0, several NaNs, +Inf next to −Inf), the rest
// small integers (more ties).
func poolTestSpecial(rng *rand.Rand, n int) []float32 {
	special := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1,
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00001),
		math.Float32frombits(0x7fc12345), -math.MaxFloat32,
	}
	xs := make([]float32, n)
	for i := range xs {
		if rng.IntN(2) == 0 {
			xs[i] = special[rng.IntN(len(special))]
		} else {
			xs[i] = float32(rng.IntN(7) - 3)
		}
	}
	return xs
}

// TestMaxPool2D2x2MatchesGeneralRule checks the loops of 2×2 windows with
// stride 2, portable and AVX2, bit for bit against the general rule
// (scanning a window in row-major order, an element wins if it is larger
// than the winner so far or NaN) on random shapes: odd heights and widths
// (a row and a column no window reaches), planes one window wide, rows of
// fewer and more than 8 windows (the AVX2 loop's group) and not multiples
// of 8, several planes and samples; and on values full of NaNs, ±Inf, ±0
// and ties. Backward must route dY to the winner (checked with distinct
// gradients) and give the bits that clearing dX and adding dY there give
// (checked with special gradients: +0 where dY is −0).
func TestMaxPool2D2x2MatchesGeneralRule(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, avx := range poolTestPaths() {
		t.Run(fmt.Sprintf("avx2=%v", avx), func(t *testing.T) {
			defer layers.SetAVX2(layers.SetAVX2(avx))
			rng := rand.New(rand.NewPCG(41, 42))
			for trial := range 200 {
				tc := poolTestCase{n: 1 + rng.IntN(3), c: 1 + rng.IntN(4), h: 2 + rng.IntN(12), w: 2 + rng.IntN(40), size: 2, s: 2}
				switch trial {
				case 0: // blocks of planes shared with the helper goroutine
					tc = poolTestCase{n: 64, c: 8, h: 25, w: 33, size: 2, s: 2}
				case 1:
					tc = poolTestCase{n: 2, c: 3, h: 24, w: 24, size: 2, s: 2}
				}
				poolTest2x2Case(t, rng, tc)
			}
		})
	}
}

func poolTest2x2Case(t *testing.T, rng *rand.Rand, tc poolTestCase) {
	pool := layers.NewMaxPool2D(2, 2)
	_, err := pool.Build(nn.Shape{tc.c, tc.h, tc.w}, nil)
	require.NoError(t, err)
	x := nn.FromSlice(poolTestSpecial(rng, tc.n*tc.c*tc.h*tc.w), tc.n, tc.c, tc.h, tc.w)
	xs := x.Float32s()
	oh, ow := tc.h/2, tc.w/2
	var want []float32
	var arg []int
	for plane := range tc.n * tc.c {
		for oy := range oh {
			for ox := range ow {
				top := plane*tc.h*tc.w + 2*oy*tc.w + 2*ox
				best, bi := xs[top], top
				for _, i := range []int{top + 1, top + tc.w, top + tc.w + 1} {
					if v := xs[i]; v > best || v != v {
						best, bi = v, i
					}
				}
				want, arg = append(want, best), append(arg, bi)
			}
		}
	}
	y := pool.Forward(x, true)
	require.Equal(t, []int{tc.n, tc.c, oh, ow}, []int(y.Shape()), "%v", tc)
	require.Equal(t, bitsOf(want), bitsOf(y.Float32s()), "%v", tc)

	// Distinct gradients 1, 2, … show which input each window chose.
	dys := make([]float32, len(want))
	for i := range dys {
		dys[i] = float32(i + 1)
	}
	wantDx := make([]float32, len(xs))
	for i, j := range arg {
		wantDx[j] = dys[i]
	}
	dx := pool.Backward(nn.FromSlice(dys, y.Shape()...))
	require.Equal(t, bitsOf(wantDx), bitsOf(dx.Float32s()), "%v", tc)

	// Special gradients, in an inference-mode pass.
	pool.Forward(x, false)
	dys = poolTestSpecial(rng, len(want))
	clear(wantDx)
	for i, j := range arg {
		wantDx[j] += dys[i]
	}
	dx = pool.Backward(nn.FromSlice(dys, y.Shape()...))
	require.Equal(t, bitsOf(wantDx), bitsOf(dx.Float32s()), "%v", tc)
}

// TestMaxPool2D2x2ZeroAllocs checks that warmed-up passes of 2×2 pooling
// allocate nothing, on both loops, with rows of more than 8 windows.
func TestMaxPool2D2x2ZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	x := convTestRand(rng, 8, 4, 24, 21)
	for _, avx := range poolTestPaths() {
		defer layers.SetAVX2(layers.SetAVX2(avx))
		pool := layers.NewMaxPool2D(2, 2)
		_, err := pool.Build(nn.Shape{4, 24, 21}, rng)
		require.NoError(t, err)
		dy := convTestRand(rng, pool.Forward(x, true).Shape()...)
		pool.Backward(dy)
		allocs := testing.AllocsPerRun(5, func() {
			pool.Forward(x, true)
			pool.Backward(dy)
		})
		require.Zero(t, allocs, "avx2=%v", avx)
	}
}
