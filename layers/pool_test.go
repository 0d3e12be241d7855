package layers_test

import (
	"fmt"
	"math"
	"math/rand/v2"
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
