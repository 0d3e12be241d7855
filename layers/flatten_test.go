package layers_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

func TestFlattenReshapesWithoutCopying(t *testing.T) {
	f := layers.NewFlatten()
	out, err := f.Build(nn.Shape{3, 4, 5}, nil)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{60}, out)
	require.Equal(t, nn.Spec{Kind: "Flatten"}, f.Spec())
	require.Empty(t, f.Params())

	rng := rand.New(rand.NewPCG(1, 2))
	x := denseTestTensor(rng, -1, 1, 2, 3, 4, 5)
	y := f.Forward(x, true)
	require.Equal(t, []int{2, 60}, []int(y.Shape()))
	require.Equal(t, x.Float32s(), y.Float32s())
	require.Same(t, &x.Float32s()[0], &y.Float32s()[0], "Flatten aliases its input")

	dy := denseTestTensor(rng, -1, 1, 2, 60)
	dx := f.Backward(dy)
	require.Equal(t, []int{2, 3, 4, 5}, []int(dx.Shape()))
	require.Same(t, &dy.Float32s()[0], &dx.Float32s()[0], "Flatten's Backward aliases dY")

	// Same input again: the same header; another batch size: a new one.
	require.Same(t, y, f.Forward(x, true))
	x1 := denseTestTensor(rng, -1, 1, 1, 3, 4, 5)
	y1 := f.Forward(x1, false)
	require.Equal(t, []int{1, 60}, []int(y1.Shape()))
	require.Equal(t, x1.Float32s(), y1.Float32s())
	// Another tensor of the same shape: a header over its values, not the old ones.
	x2 := denseTestTensor(rng, -1, 1, 1, 3, 4, 5)
	require.Equal(t, x2.Float32s(), f.Forward(x2, true).Float32s())
}

func TestFlattenGradCheck(t *testing.T) {
	for _, s := range [][]int{{1, 1, 1, 1}, {2, 3, 1, 5}, {3, 7}} {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			f := layers.NewFlatten()
			_, err := f.Build(nn.Shape(s[1:]), nil)
			require.NoError(t, err)
			x := denseTestTensor(rand.New(rand.NewPCG(5, 5)), -1, 1, s...)
			res := backprop.CheckLayer(f, x, true, backprop.CheckOptions{Seed: 1})
			require.Less(t, res.MaxRelErr, 1e-2, "%v", res)
		})
	}
}

func TestFlattenInModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := layers.NewDense(0, 4)
	m, err := nn.NewSequential(nn.Shape{2, 3, 3}, rng, layers.NewFlatten(), d, layers.NewReLU())
	require.NoError(t, err)
	require.Equal(t, 18, d.In())
	x := denseTestTensor(rng, -1, 1, 5, 2, 3, 3)
	y := m.Forward(x, true)
	require.Equal(t, []int{5, 4}, []int(y.Shape()))
	dx := m.Backward(denseTestTensor(rng, -1, 1, 5, 4))
	require.Equal(t, []int{5, 2, 3, 3}, []int(dx.Shape()))
}

func TestFlattenZeroAllocs(t *testing.T) {
	f := layers.NewFlatten()
	_, err := f.Build(nn.Shape{4, 3, 3}, nil)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 1))
	x := denseTestTensor(rng, -1, 1, 8, 4, 3, 3)
	dy := denseTestTensor(rng, -1, 1, 8, 36)
	step := func() {
		f.Forward(x, true)
		f.Backward(dy)
	}
	step()
	require.Zero(t, testing.AllocsPerRun(20, step))
}

func TestFlattenPanicsOnWrongShape(t *testing.T) {
	f := layers.NewFlatten()
	_, err := f.Build(nn.Shape{4, 3, 3}, nil)
	require.NoError(t, err)
	msg := denseTestPanic(func() { f.Forward(nn.NewTensor(2, 36), true) })
	require.Contains(t, msg, "Flatten")
	require.Contains(t, msg, "[2 36]")
	require.Contains(t, denseTestPanic(func() { f.Backward(nn.NewTensor(2, 36)) }), "before Forward")
	f.Forward(nn.NewTensor(2, 4, 3, 3), true)
	require.Contains(t, denseTestPanic(func() { f.Backward(nn.NewTensor(2, 35)) }), "Flatten")
	_, err = layers.NewFlatten().Build(nn.Shape{}, nil)
	require.Error(t, err)
}
