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

// actTestAwayFromKink returns a tensor with values in ±[0.1, 1.5), far enough
// from 0 that a finite-difference step of 1e-2 never crosses a ReLU kink.
func actTestAwayFromKink(rng *rand.Rand, shape ...int) *tensor.Dense {
	t := denseTestTensor(rng, 0.1, 1.5, shape...)
	for i, v := range t.Float32s() {
		if rng.IntN(2) == 0 {
			t.Float32s()[i] = -v
		}
	}
	return t
}

// actTestBuilt builds l for per-sample shape in.
func actTestBuilt(t *testing.T, l nn.Layer, in ...int) nn.Layer {
	t.Helper()
	out, err := l.Build(nn.Shape(in), rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	require.Equal(t, nn.Shape(in), out)
	return l
}

var actTestLayers = []struct {
	name string
	new  func() nn.Layer
	kink bool // has a kink at 0: keep inputs away from it
}{
	{"ReLU", func() nn.Layer { return layers.NewReLU() }, true},
	{"LeakyReLU", func() nn.Layer { return layers.NewLeakyReLU(0.1) }, true},
	{"LeakyReLU", func() nn.Layer { return layers.NewLeakyReLU(layers.DefaultLeakyReLUAlpha) }, true},
	{"Sigmoid", func() nn.Layer { return layers.NewSigmoid() }, false},
	{"Tanh", func() nn.Layer { return layers.NewTanh() }, false},
	{"Softmax", func() nn.Layer { return layers.NewSoftmax() }, false},
}

func TestActivationsGradCheck(t *testing.T) {
	shapes := [][]int{{1, 1}, {1, 5}, {3, 7}, {2, 3, 5}, {4, 2, 3, 3}}
	for _, a := range actTestLayers {
		for _, s := range shapes {
			for _, train := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%v/train=%v", a.name, s, train), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(len(s)), uint64(s[0])))
					l := actTestBuilt(t, a.new(), s[1:]...)
					x := denseTestTensor(rng, -3, 3, s...)
					if a.kink {
						x = actTestAwayFromKink(rng, s...)
					}
					res := backprop.CheckLayer(l, x, train, backprop.CheckOptions{Seed: 3})
					require.Less(t, res.MaxRelErr, 1e-2, "%v", res)
					require.Equal(t, x.Shape().TotalSize(), res.Checked)
				})
			}
		}
	}
}

func TestActivationValues(t *testing.T) {
	x := []float32{-2, -0.5, 0, 0.25, 3}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	cases := []struct {
		l    nn.Layer
		want func(v float64) float64
	}{
		{layers.NewReLU(), func(v float64) float64 { return math.Max(v, 0) }},
		{layers.NewLeakyReLU(0.1), func(v float64) float64 { return map[bool]float64{true: v, false: 0.1 * v}[v > 0] }},
		{layers.NewSigmoid(), sig},
		{layers.NewTanh(), math.Tanh},
	}
	for _, c := range cases {
		t.Run(c.l.Spec().Kind, func(t *testing.T) {
			actTestBuilt(t, c.l, 5)
			y := c.l.Forward(nn.FromSlice(append([]float32(nil), x...), 1, 5), true)
			for i, v := range x {
				require.InDelta(t, c.want(float64(v)), y.Float32s()[i], 1e-6, "x=%g", v)
			}
		})
	}

	// Softmax normalises each row of the last axis separately.
	s := actTestBuilt(t, layers.NewSoftmax(), 2, 3)
	in := []float32{1, 2, 3, -1, 0, 1, 5, 5, 5, 0, 0, 10}
	y := s.Forward(nn.FromSlice(in, 2, 2, 3), true).Float32s()
	for r := 0; r < 4; r++ {
		var sum float64
		for j := 0; j < 3; j++ {
			sum += math.Exp(float64(in[3*r+j]))
		}
		for j := 0; j < 3; j++ {
			require.InDelta(t, math.Exp(float64(in[3*r+j]))/sum, y[3*r+j], 1e-6, "row %d", r)
		}
	}
	require.InDelta(t, y[0], y[3], 1e-6, "softmax is shift-invariant")
}

func TestSigmoidSoftmaxStableAtExtremes(t *testing.T) {
	sig := actTestBuilt(t, layers.NewSigmoid(), 4)
	y := sig.Forward(nn.FromSlice([]float32{-1e4, -100, 100, 1e4}, 1, 4), true).Float32s()
	require.Less(t, y[1], float32(1e-40))
	require.Equal(t, float32(1), y[2])
	for _, v := range y {
		require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
	}
	require.Equal(t, float32(0), y[0])
	require.Equal(t, float32(1), y[3])
	dx := sig.Backward(nn.FromSlice([]float32{1, 1, 1, 1}, 1, 4)).Float32s()
	for _, v := range dx {
		require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
	}

	sm := actTestBuilt(t, layers.NewSoftmax(), 3)
	x := nn.FromSlice([]float32{1e4, -1e4, 0, -1e4, -1e4, -1e4, 1e4, 1e4, 1e4 - 1}, 3, 3)
	y = sm.Forward(x, true).Float32s()
	for r := 0; r < 3; r++ {
		var sum float64
		for _, v := range y[3*r : 3*r+3] {
			require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "row %d: %v", r, y)
			sum += float64(v)
		}
		require.InDelta(t, 1, sum, 1e-6, "row %d", r)
	}
	require.Equal(t, []float32{1, 0, 0}, y[0:3])
	require.InDelta(t, 1.0/3, y[4], 1e-6)
	require.InDelta(t, 1/(2+math.Exp(-1)), y[6], 1e-6)
	dx = sm.Backward(nn.FromSlice([]float32{1, 2, 3, 1, 2, 3, 1, 2, 3}, 3, 3)).Float32s()
	for _, v := range dx {
		require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
	}
}

func TestActivationsZeroAllocs(t *testing.T) {
	for _, a := range actTestLayers {
		t.Run(a.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 1))
			l := actTestBuilt(t, a.new(), 4, 10)
			x := denseTestTensor(rng, -2, 2, 8, 4, 10)
			dy := denseTestTensor(rng, -1, 1, 8, 4, 10)
			step := func() {
				l.Forward(x, true)
				l.Backward(dy)
			}
			step()
			require.Zero(t, testing.AllocsPerRun(20, step))
		})
	}
}

func TestActivationsPanicOnWrongShape(t *testing.T) {
	for _, a := range actTestLayers {
		t.Run(a.name, func(t *testing.T) {
			l := actTestBuilt(t, a.new(), 3, 4)
			msg := denseTestPanic(func() { l.Forward(nn.NewTensor(2, 12), true) })
			require.Contains(t, msg, a.name)
			require.Contains(t, msg, "[2 12]")
			l.Forward(nn.NewTensor(2, 3, 4), true)
			msg = denseTestPanic(func() { l.Backward(nn.NewTensor(1, 3, 4)) })
			require.Contains(t, msg, a.name)
			require.Contains(t, msg, "[1 3 4]")

			require.Contains(t, denseTestPanic(func() { a.new().Backward(nn.NewTensor(2, 3, 4)) }), a.name)
			require.Contains(t, denseTestPanic(func() { a.new().Forward(nn.NewTensor(2, 3, 4), true) }), a.name)
		})
	}
}

func TestActivationSpecsAndBuild(t *testing.T) {
	for _, a := range actTestLayers {
		require.Equal(t, a.name, a.new().Spec().Kind)
		require.Empty(t, a.new().Params())
	}
	require.True(t, layers.NewLeakyReLU(0.2).Spec().Equal(nn.Spec{Kind: "LeakyReLU", Attrs: map[string]float64{"alpha": 0.2}}))
	require.Equal(t, 0.2, layers.NewLeakyReLU(0.2).Alpha())
	rng := rand.New(rand.NewPCG(1, 2))
	for _, alpha := range []float64{-0.1, math.NaN(), math.Inf(1)} {
		_, err := layers.NewLeakyReLU(alpha).Build(nn.Shape{3}, rng)
		require.ErrorContains(t, err, "LeakyReLU", "alpha %g", alpha)
	}
	_, err := layers.NewReLU().Build(nn.Shape{}, rng)
	require.Error(t, err)
}
