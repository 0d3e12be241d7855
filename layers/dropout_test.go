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

// dropoutTestBuilt returns a Dropout built for per-sample shape in from a
// build rng seeded with seed.
func dropoutTestBuilt(t *testing.T, rate float64, seed uint64, in ...int) *layers.Dropout {
	t.Helper()
	d := layers.NewDropout(rate)
	_, err := d.Build(nn.Shape(in), rand.New(rand.NewPCG(seed, 0)))
	require.NoError(t, err)
	return d
}

func dropoutTestOnes(n int) *tensor.Dense {
	x := nn.NewTensor(1, n)
	for i := range x.Float32s() {
		x.Float32s()[i] = 1
	}
	return x
}

func TestDropoutBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range []float64{-0.1, 1, 1.5, math.NaN()} {
		_, err := layers.NewDropout(r).Build(nn.Shape{4}, rng)
		require.ErrorContains(t, err, "Dropout", "rate %g", r)
	}
	out, err := layers.NewDropout(0.3).Build(nn.Shape{2, 5}, rng)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{2, 5}, out)
	require.True(t, layers.NewDropout(0.3).Spec().Equal(nn.Spec{Kind: "Dropout", Attrs: map[string]float64{"rate": 0.3}}))
	require.Empty(t, layers.NewDropout(0.3).Params())

	// The generator is rand.NewPCG(rng.Uint64(), rng.Uint64()) of the build rng.
	d := dropoutTestBuilt(t, 0.5, 42, 3)
	ref := rand.New(rand.NewPCG(42, 0))
	want, _ := rand.NewPCG(ref.Uint64(), ref.Uint64()).MarshalBinary()
	got, err := d.Source().MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestDropoutIdentityAtInferenceAndRateZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := denseTestTensor(rng, -1, 1, 4, 6)
	orig := append([]float32(nil), x.Float32s()...)
	dy := denseTestTensor(rng, -1, 1, 4, 6)

	d := dropoutTestBuilt(t, 0.5, 1, 6)
	y := d.Forward(x, false)
	require.Equal(t, orig, y.Float32s())
	require.Same(t, x, y)
	require.Same(t, dy, d.Backward(dy))

	z := dropoutTestBuilt(t, 0, 1, 6)
	require.Equal(t, orig, z.Forward(x, true).Float32s())
	require.Equal(t, dy.Float32s(), z.Backward(dy).Float32s())
	require.Equal(t, orig, x.Float32s(), "the input is never modified")
}

func TestDropoutStatistics(t *testing.T) {
	const n = 200_000
	for _, rate := range []float64{0.1, 0.25, 0.5, 0.8} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			d := dropoutTestBuilt(t, rate, 7, n)
			y := d.Forward(dropoutTestOnes(n), true).Float32s()
			zeros, sum := 0, 0.0
			for _, v := range y {
				if v == 0 {
					zeros++
				} else {
					// Kept values are scaled by 1/(1 − rate).
					require.InEpsilon(t, 1/(1-rate), v, 1e-4)
				}
				sum += float64(v)
			}
			// Within 5 standard deviations of a binomial count, and of the mean
			// of y, whose expectation is x = 1.
			frac := float64(zeros) / n
			require.InDelta(t, rate, frac, 5*math.Sqrt(rate*(1-rate)/n), "fraction dropped")
			require.InDelta(t, 1, sum/n, 5*math.Sqrt(rate/(1-rate)/n), "E[y] = x")

			// Backward applies the same mask: zero where y is zero, scaled where kept.
			dx := d.Backward(dropoutTestOnes(n)).Float32s()
			require.Equal(t, y, dx)
		})
	}
}

func TestDropoutMaskOddSizes(t *testing.T) {
	// Sizes that are not a multiple of four use the tail of the last draw;
	// every position must still be dropped about half the time.
	for _, size := range []int{1, 3, 5, 7} {
		d := dropoutTestBuilt(t, 0.5, 3, size)
		x := dropoutTestOnes(size)
		drops := make([]int, size)
		agree := make([]int, size) // position i agrees with position i−1
		const trials = 4000
		tol := 5 * math.Sqrt(0.25/trials)
		for range trials {
			y := d.Forward(x, true).Float32s()
			for i, v := range y {
				if v == 0 {
					drops[i]++
				} else {
					require.Equal(t, float32(2), v)
				}
				if i > 0 && v == y[i-1] {
					agree[i]++
				}
			}
		}
		for i, c := range drops {
			require.InDelta(t, 0.5, float64(c)/trials, tol, "size %d position %d dropped", size, i)
			if i > 0 {
				// Independent decisions agree half the time.
				require.InDelta(t, 0.5, float64(agree[i])/trials, tol, "size %d positions %d, %d agree", size, i-1, i)
			}
		}
	}
}

func TestDropoutReproducible(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	x := denseTestTensor(rng, 0.5, 1.5, 3, 33)
	a, b := dropoutTestBuilt(t, 0.4, 11, 33), dropoutTestBuilt(t, 0.4, 11, 33)
	c := dropoutTestBuilt(t, 0.4, 12, 33)
	ya := append([]float32(nil), a.Forward(x, true).Float32s()...)
	require.Equal(t, ya, b.Forward(x, true).Float32s(), "same seed, same mask")
	require.NotEqual(t, ya, c.Forward(x, true).Float32s(), "another seed, another mask")
	require.NotEqual(t, ya, a.Forward(x, true).Float32s(), "every Forward draws a fresh mask")

	// Restoring the generator's state replays the mask.
	state, err := a.Source().MarshalBinary()
	require.NoError(t, err)
	y1 := append([]float32(nil), a.Forward(x, true).Float32s()...)
	require.NoError(t, a.Source().UnmarshalBinary(state))
	require.Equal(t, y1, a.Forward(x, true).Float32s())
}

func TestDropoutGradCheck(t *testing.T) {
	for _, s := range [][]int{{1, 7}, {3, 2, 5}, {2, 64}} {
		for _, train := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/train=%v", s, train), func(t *testing.T) {
				d := dropoutTestBuilt(t, 0.5, 5, s[1:]...)
				state, err := d.Source().MarshalBinary()
				require.NoError(t, err)
				x := denseTestTensor(rand.New(rand.NewPCG(2, 2)), -1, 1, s...)
				res := backprop.CheckLayer(d, x, train, backprop.CheckOptions{
					Seed:          4,
					BeforeForward: func() { require.NoError(t, d.Source().UnmarshalBinary(state)) },
				})
				require.Less(t, res.MaxRelErr, 1e-2, "%v", res)
				require.Equal(t, x.Shape().TotalSize(), res.Checked)
			})
		}
	}
}

func TestDropoutZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	d := dropoutTestBuilt(t, 0.5, 1, 4, 10)
	x := denseTestTensor(rng, -1, 1, 8, 4, 10)
	dy := denseTestTensor(rng, -1, 1, 8, 4, 10)
	step := func() {
		d.Forward(x, true)
		d.Backward(dy)
	}
	step()
	require.Zero(t, testing.AllocsPerRun(20, step))
}

func TestDropoutPanicsOnWrongShape(t *testing.T) {
	d := dropoutTestBuilt(t, 0.5, 1, 4)
	msg := denseTestPanic(func() { d.Forward(nn.NewTensor(2, 5), true) })
	require.Contains(t, msg, "Dropout")
	require.Contains(t, msg, "[2 5]")
	d.Forward(nn.NewTensor(2, 4), true)
	require.Contains(t, denseTestPanic(func() { d.Backward(nn.NewTensor(3, 4)) }), "Dropout")
	require.Contains(t, denseTestPanic(func() { layers.NewDropout(0.5).Forward(nn.NewTensor(2, 4), true) }), "Dropout")
}

func BenchmarkDropoutForward(b *testing.B) {
	d := layers.NewDropout(0.5)
	if _, err := d.Build(nn.Shape{1024}, rand.New(rand.NewPCG(1, 2))); err != nil {
		b.Fatal(err)
	}
	x := dropoutTestOnes(64 * 1024)
	x.Reshape(64, 1024)
	b.SetBytes(64 * 1024 * 4)
	for b.Loop() {
		d.Forward(x, true)
	}
}
