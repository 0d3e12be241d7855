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

// denseTestTensor returns a tensor of the given shape with values drawn
// uniformly from [lo, hi).
func denseTestTensor(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Dense {
	t := nn.NewTensor(shape...)
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return t
}

// denseTestPanic runs f and returns the message it panicked with ("" if it
// did not panic).
func denseTestPanic(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func denseTestBuild(t *testing.T, d *layers.Dense, in int) {
	t.Helper()
	_, err := d.Build(nn.Shape{in}, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range d.B().Data() {
		d.B().Data()[i] = float32(rng.Float64() - 0.5) // a non-zero bias, so the test sees it
	}
}

var denseTestShapes = []struct{ n, in, out int }{
	{1, 1, 1},
	{1, 3, 5},
	{3, 7, 5},
	{2, 4, 1},
	{5, 16, 9},
}

func TestDenseMatchesNaiveLoops(t *testing.T) {
	for _, c := range denseTestShapes {
		t.Run(fmt.Sprintf("%dx%d→%d", c.n, c.in, c.out), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.in*c.out)))
			d := layers.NewDense(c.in, c.out)
			denseTestBuild(t, d, c.in)
			x := denseTestTensor(rng, -1, 1, c.n, c.in)
			dy := denseTestTensor(rng, -1, 1, c.n, c.out)
			xs, ws, bs, gs := x.Float32s(), d.W().Data(), d.B().Data(), dy.Float32s()

			y := d.Forward(x, true)
			require.Equal(t, []int{c.n, c.out}, []int(y.Shape()))
			for i := 0; i < c.n; i++ {
				for j := 0; j < c.out; j++ {
					want := float64(bs[j])
					for p := 0; p < c.in; p++ {
						want += float64(xs[i*c.in+p]) * float64(ws[p*c.out+j])
					}
					require.InDelta(t, want, y.Float32s()[i*c.out+j], 1e-5, "Y[%d,%d]", i, j)
				}
			}

			// Two backward passes accumulate twice the single-pass gradient.
			dx := d.Backward(dy)
			require.Equal(t, []int{c.n, c.in}, []int(dx.Shape()))
			dx1 := append([]float32(nil), dx.Float32s()...)
			d.Backward(dy)
			require.Equal(t, dx1, d.Backward(dy).Float32s(), "dX is overwritten, not accumulated")
			// Three Backward calls in all: parameter gradients are 3× one call's.
			for p := 0; p < c.in; p++ {
				for j := 0; j < c.out; j++ {
					var want float64 // dW[p,j] = Σ_i X[i,p]·dY[i,j]
					for i := 0; i < c.n; i++ {
						want += float64(xs[i*c.in+p]) * float64(gs[i*c.out+j])
					}
					require.InDelta(t, 3*want, d.W().GradData()[p*c.out+j], 1e-5, "dW[%d,%d]", p, j)
				}
			}
			for j := 0; j < c.out; j++ {
				var want float64 // db[j] = Σ_i dY[i,j]
				for i := 0; i < c.n; i++ {
					want += float64(gs[i*c.out+j])
				}
				require.InDelta(t, 3*want, d.B().GradData()[j], 1e-5, "db[%d]", j)
			}
			for i := 0; i < c.n; i++ {
				for p := 0; p < c.in; p++ {
					var want float64 // dX[i,p] = Σ_j dY[i,j]·W[p,j]
					for j := 0; j < c.out; j++ {
						want += float64(gs[i*c.out+j]) * float64(ws[p*c.out+j])
					}
					require.InDelta(t, want, dx1[i*c.in+p], 1e-5, "dX[%d,%d]", i, p)
				}
			}
		})
	}
}

func TestDenseGradientsAccumulateTwice(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	d := layers.NewDense(7, 5)
	denseTestBuild(t, d, 7)
	x := denseTestTensor(rng, -1, 1, 3, 7)
	dy := denseTestTensor(rng, -1, 1, 3, 5)
	d.Forward(x, true)
	d.Backward(dy)
	gw := append([]float32(nil), d.W().GradData()...)
	gb := append([]float32(nil), d.B().GradData()...)
	require.NotZero(t, gw[0])
	d.Backward(dy)
	for i, v := range gw {
		require.InDelta(t, 2*v, d.W().GradData()[i], 1e-6)
	}
	for i, v := range gb {
		require.InDelta(t, 2*v, d.B().GradData()[i], 1e-6)
	}
	nn.ZeroGrads(d.Params())
	d.Backward(dy)
	require.Equal(t, gw, d.W().GradData(), "after ZeroGrad one Backward gives the single-call gradient")
}

func TestDenseGradCheck(t *testing.T) {
	for _, c := range denseTestShapes {
		t.Run(fmt.Sprintf("%dx%d→%d", c.n, c.in, c.out), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.in), uint64(c.out)))
			d := layers.NewDense(c.in, c.out)
			denseTestBuild(t, d, c.in)
			x := denseTestTensor(rng, -1, 1, c.n, c.in)
			res := backprop.CheckLayer(d, x, true, backprop.CheckOptions{Seed: 9})
			require.Less(t, res.MaxRelErr, 1e-2, "%+v", res)
			require.Positive(t, res.Checked)
		})
	}
}

func TestDenseBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))

	// A declared size that does not match names both numbers.
	_, err := layers.NewDense(784, 128).Build(nn.Shape{1152}, rng)
	require.ErrorContains(t, err, "Dense(784→128) expects 784 input features, got 1152")
	_, err = nn.NewSequential(nn.Shape{1152}, rng, layers.NewDense(784, 128))
	require.ErrorContains(t, err, "784")
	require.ErrorContains(t, err, "1152")

	// A non-flat input suggests Flatten.
	_, err = nn.NewSequential(nn.Shape{64, 5, 5}, rng, layers.NewDense(1600, 10))
	require.ErrorContains(t, err, "Flatten")
	require.ErrorContains(t, err, "[64 5 5]")
	_, err = layers.NewDense(0, 10).Build(nn.Shape{64, 5, 5}, rng)
	require.ErrorContains(t, err, "Flatten")

	_, err = layers.NewDense(4, 0).Build(nn.Shape{4}, rng)
	require.Error(t, err)

	// in = 0 is inferred; with Flatten first a conv-shaped input works.
	d := layers.NewDense(0, 10)
	m, err := nn.NewSequential(nn.Shape{64, 5, 5}, rng, layers.NewFlatten(), d)
	require.NoError(t, err)
	require.Equal(t, 1600, d.In())
	require.Equal(t, []int{1600, 10}, []int(d.W().Value.Shape()))
	require.Equal(t, []int{10}, []int(d.B().Value.Shape()))
	require.Equal(t, nn.Shape{10}, m.OutputShape())
	require.Equal(t, 1600*10+10, nn.NumParams(m.Params()))
	require.True(t, d.Spec().Equal(nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 1600, "out": 10}}), "%v", d.Spec())
}

func TestDenseInit(t *testing.T) {
	build := func(d *layers.Dense) *layers.Dense {
		_, err := d.Build(nn.Shape{30}, rand.New(rand.NewPCG(5, 6)))
		require.NoError(t, err)
		return d
	}
	// Default: Glorot uniform within ±sqrt(6/(in+out)), bias zero, reproducible.
	a, b := build(layers.NewDense(30, 20)), build(layers.NewDense(30, 20))
	require.Equal(t, a.W().Data(), b.W().Data())
	bound := math.Sqrt(6.0 / 50)
	var maxAbs float64
	for _, v := range a.W().Data() {
		maxAbs = max(maxAbs, math.Abs(float64(v)))
	}
	require.LessOrEqual(t, maxAbs, bound)
	require.Greater(t, maxAbs, 0.8*bound, "weights should spread over the Glorot range")
	require.Equal(t, make([]float32, 20), a.B().Data())

	// A custom initialiser is called with fanIn and fanOut.
	c := layers.NewDense(30, 20)
	var fanIn, fanOut int
	c.Init = func(w []float32, in, out int, _ *rand.Rand) {
		fanIn, fanOut = in, out
		for i := range w {
			w[i] = 0.5
		}
	}
	build(c)
	require.Equal(t, 30, fanIn)
	require.Equal(t, 20, fanOut)
	require.Equal(t, float32(0.5), c.W().Data()[599])
}

func TestDenseForwardPanicsOnWrongShape(t *testing.T) {
	d := layers.NewDense(4, 3)
	denseTestBuild(t, d, 4)
	msg := denseTestPanic(func() { d.Forward(nn.NewTensor(2, 5), true) })
	require.Contains(t, msg, "Dense(4→3)")
	require.Contains(t, msg, "[2 5]")
	msg = denseTestPanic(func() { d.Forward(nn.NewTensor(2, 2, 2), true) })
	require.Contains(t, msg, "Dense(4→3)")

	d.Forward(nn.NewTensor(2, 4), true)
	msg = denseTestPanic(func() { d.Backward(nn.NewTensor(2, 4)) })
	require.Contains(t, msg, "Dense(4→3)")
	require.Contains(t, msg, "[2 4]")

	fresh := layers.NewDense(4, 3)
	require.Contains(t, denseTestPanic(func() { fresh.Forward(nn.NewTensor(2, 4), true) }), "Dense")
}

func TestDenseZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	d := layers.NewDense(32, 16)
	denseTestBuild(t, d, 32)
	x := denseTestTensor(rng, -1, 1, 8, 32)
	dy := denseTestTensor(rng, -1, 1, 8, 16)
	step := func() {
		d.Forward(x, true)
		d.Backward(dy)
	}
	step()
	require.Zero(t, testing.AllocsPerRun(20, step))
}
