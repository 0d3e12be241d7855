package layers_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// bnTestInput returns a batch of shape [n, shape...] whose channel c (the
// first per-sample axis) has mean about c−1 and spread about 1 + c/2, so
// that the channels differ.
func bnTestInput(rng *rand.Rand, n int, shape nn.Shape) *tensor.Dense {
	x := nn.NewTensor(append([]int{n}, shape...)...)
	d := x.Float32s()
	per := shape.Size() / shape[0]
	for i := range d {
		c := (i / per) % shape[0]
		d[i] = float32(float64(c) - 1 + (1+float64(c)/2)*rng.NormFloat64())
	}
	return x
}

// bnTestChannelStats returns the mean and the biased and unbiased variance of
// every channel of x (shape [N, C, ...]), in float64.
func bnTestChannelStats(x *tensor.Dense) (mean, biased, unbiased []float64) {
	s := x.Shape()
	n, c := s[0], s[1]
	per := s.TotalSize() / (n * c)
	d := x.Float32s()
	mean, biased, unbiased = make([]float64, c), make([]float64, c), make([]float64, c)
	m := float64(n * per)
	for ch := 0; ch < c; ch++ {
		var sum, ss float64
		for i := 0; i < n; i++ {
			for _, v := range d[(i*c+ch)*per : (i*c+ch+1)*per] {
				sum += float64(v)
			}
		}
		mu := sum / m
		for i := 0; i < n; i++ {
			for _, v := range d[(i*c+ch)*per : (i*c+ch+1)*per] {
				ss += (float64(v) - mu) * (float64(v) - mu)
			}
		}
		mean[ch], biased[ch], unbiased[ch] = mu, ss/m, ss/(m-1)
	}
	return mean, biased, unbiased
}

// bnTestShapes are the per-sample shapes BatchNorm is tested on: after Dense
// and after Conv2D (non-square, odd sizes).
var bnTestShapes = []struct {
	name  string
	n     int
	shape nn.Shape
}{
	{"dense", 16, nn.Shape{5}},
	{"conv", 4, nn.Shape{3, 5, 6}},
	{"conv_batch1", 1, nn.Shape{2, 3, 7}},
}

func TestBatchNormTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, tc := range bnTestShapes {
		t.Run(tc.name, func(t *testing.T) {
			bn := layers.NewBatchNorm()
			out, err := bn.Build(tc.shape, rng)
			require.NoError(t, err)
			require.Equal(t, tc.shape, out)
			c := tc.shape[0]
			mean, vr := bn.State()[0].Data(), bn.State()[1].Data()
			require.Equal(t, make([]float32, c), mean)
			for _, v := range vr {
				require.Equal(t, float32(1), v)
			}

			// With γ = 1 and β = 0 every channel of the output has mean 0 and
			// (biased) variance v/(v + Eps) ≈ 1.
			x := bnTestInput(rng, tc.n, tc.shape)
			xm, xb, xu := bnTestChannelStats(x)
			ym, yv, _ := bnTestChannelStats(bn.Forward(x, true))
			for ch := 0; ch < c; ch++ {
				require.InDelta(t, 0, ym[ch], 1e-5, "mean of channel %d", ch)
				require.InDelta(t, xb[ch]/(xb[ch]+1e-5), yv[ch], 1e-5, "variance of channel %d", ch)
				require.InDelta(t, 1, yv[ch], 1e-4, "variance of channel %d", ch)
			}

			// Running statistics: mean = 0.9·0 + 0.1·μ, var = 0.9·1 + 0.1·v_unbiased.
			for ch := 0; ch < c; ch++ {
				require.InDelta(t, 0.1*xm[ch], mean[ch], 1e-6, "running mean %d", ch)
				require.InDelta(t, 0.9+0.1*xu[ch], vr[ch], 1e-5, "running var %d", ch)
			}
			// A second batch moves them again, from where they are.
			wantMean, wantVar := make([]float64, c), make([]float64, c)
			x2 := bnTestInput(rng, tc.n, tc.shape)
			x2m, _, x2u := bnTestChannelStats(x2)
			for ch := 0; ch < c; ch++ {
				wantMean[ch] = 0.9*float64(mean[ch]) + 0.1*x2m[ch]
				wantVar[ch] = 0.9*float64(vr[ch]) + 0.1*x2u[ch]
			}
			bn.Momentum = 0.1
			bn.Forward(x2, true)
			for ch := 0; ch < c; ch++ {
				require.InDelta(t, wantMean[ch], mean[ch], 1e-6, "running mean %d after 2 batches", ch)
				require.InDelta(t, wantVar[ch], vr[ch], 1e-5, "running var %d after 2 batches", ch)
			}

			// With γ and β set, channel c of the output has mean β_c and
			// standard deviation |γ_c|.
			gamma, beta := bn.Gamma().Data(), bn.Beta().Data()
			for ch := 0; ch < c; ch++ {
				gamma[ch], beta[ch] = float32(0.5+rng.Float64()), float32(2*rng.Float64()-1)
			}
			ym, yv, _ = bnTestChannelStats(bn.Forward(x, true))
			for ch := 0; ch < c; ch++ {
				require.InDelta(t, beta[ch], ym[ch], 1e-5)
				require.InDelta(t, gamma[ch], math.Sqrt(yv[ch]), 1e-4)
			}
		})
	}
}

func TestBatchNormInference(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	bn := layers.NewBatchNorm()
	bn.Eps = 1e-3
	shape := nn.Shape{3, 2, 5}
	_, err := bn.Build(shape, rng)
	require.NoError(t, err)
	mean, vr := bn.State()[0].Data(), bn.State()[1].Data()
	gamma, beta := bn.Gamma().Data(), bn.Beta().Data()
	for ch := range mean {
		mean[ch], vr[ch] = float32(rng.NormFloat64()), float32(0.5+rng.Float64())
		gamma[ch], beta[ch] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	savedMean, savedVar := append([]float32(nil), mean...), append([]float32(nil), vr...)

	x := bnTestInput(rng, 3, shape)
	y := bn.Forward(x, false)
	per := shape.Size() / shape[0]
	for i, v := range x.Float32s() {
		ch := (i / per) % shape[0]
		want := float64(gamma[ch])*(float64(v)-float64(mean[ch]))/math.Sqrt(float64(vr[ch])+1e-3) + float64(beta[ch])
		require.InDelta(t, want, y.Float32s()[i], 1e-5, "y[%d]", i)
	}
	require.Equal(t, savedMean, mean, "inference must not move the running mean")
	require.Equal(t, savedVar, vr, "inference must not move the running var")

	// Inference Backward is the affine map's: dX = (γ/σ)·dY.
	dy := convTestRand(rng, y.Shape()...)
	dx := bn.Backward(dy)
	for i, g := range dy.Float32s() {
		ch := (i / per) % shape[0]
		want := float64(gamma[ch]) / math.Sqrt(float64(vr[ch])+1e-3) * float64(g)
		require.InDelta(t, want, dx.Float32s()[i], 1e-5, "dx[%d]", i)
	}
}

func TestBatchNormGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, tc := range append(bnTestShapes[:len(bnTestShapes):len(bnTestShapes)],
		struct {
			name  string
			n     int
			shape nn.Shape
		}{"dense_batch3", 3, nn.Shape{4}}) {
		for _, train := range []bool{true, false} {
			name := tc.name + "_infer"
			if train {
				name = tc.name + "_train"
			}
			t.Run(name, func(t *testing.T) {
				bn := layers.NewBatchNorm()
				_, err := bn.Build(tc.shape, rng)
				require.NoError(t, err)
				for _, p := range append(bn.Params(), bn.State()...) {
					for i := range p.Data() {
						p.Data()[i] = float32(0.5 + rng.Float64())
					}
				}
				x := bnTestInput(rng, tc.n, tc.shape)
				res := backprop.CheckLayer(bn, x, train, backprop.CheckOptions{Seed: 37})
				require.Less(t, res.MaxRelErr, 1e-2, "%v", res)
				require.Equal(t, x.Shape().TotalSize()+2*tc.shape[0], res.Checked)
			})
		}
	}
}

// TestBatchNormBackwardAccumulates checks that dγ and dβ add up over two
// Backward calls and that dX sums to zero per channel in training mode (the
// batch mean absorbs any shift).
func TestBatchNormBackwardAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(38, 39))
	bn := layers.NewBatchNorm()
	_, err := bn.Build(nn.Shape{3, 4, 3}, rng)
	require.NoError(t, err)
	x := bnTestInput(rng, 2, nn.Shape{3, 4, 3})
	dy := convTestRand(rng, bn.Forward(x, true).Shape()...)
	dx := bn.Backward(dy)
	dxSum, _, _ := bnTestChannelStats(dx)
	for ch, v := range dxSum {
		require.InDelta(t, 0, v, 1e-6, "mean of dX over channel %d", ch)
	}
	dg := append([]float32(nil), bn.Gamma().GradData()...)
	db := append([]float32(nil), bn.Beta().GradData()...)
	require.NotZero(t, dg[0])
	require.NotZero(t, db[0])
	bn.Backward(dy)
	for ch := range dg {
		require.InDelta(t, 2*dg[ch], bn.Gamma().GradData()[ch], 1e-5)
		require.InDelta(t, 2*db[ch], bn.Beta().GradData()[ch], 1e-5)
	}
}

// TestBatchNormSingleValue checks the degenerate training batch with one
// value per channel: the output is β, dX is zero, and the running variance
// stays where it was.
func TestBatchNormSingleValue(t *testing.T) {
	bn := layers.NewBatchNorm()
	_, err := bn.Build(nn.Shape{2}, nil)
	require.NoError(t, err)
	bn.Beta().Data()[1] = 0.5
	y := bn.Forward(nn.FromSlice([]float32{3, -1}, 1, 2), true)
	require.Equal(t, []float32{0, 0.5}, y.Float32s())
	require.InDeltaSlice(t, []float32{0.3, -0.1}, bn.State()[0].Data(), 1e-7)
	require.Equal(t, []float32{1, 1}, bn.State()[1].Data())
	dx := bn.Backward(nn.FromSlice([]float32{1, 2}, 1, 2))
	require.Equal(t, []float32{0, 0}, dx.Float32s())
}

func TestBatchNormBuild(t *testing.T) {
	bn := layers.NewBatchNorm()
	require.Equal(t, "BatchNorm(eps=1e-05, momentum=0.1)", bn.Spec().String())
	require.Nil(t, bn.Params())
	require.Nil(t, bn.State())
	_, err := bn.Build(nn.Shape{4, 3, 3}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"gamma[4]", "beta[4]"}, []string{bn.Params()[0].String(), bn.Params()[1].String()})
	require.Equal(t, []string{"mean[4]", "var[4]"}, []string{bn.State()[0].String(), bn.State()[1].String()})
	require.Nil(t, bn.State()[0].Grad)
	require.Equal(t, []float32{1, 1, 1, 1}, bn.Gamma().Data())

	bad := layers.NewBatchNorm()
	bad.Momentum = 1.5
	_, err = bad.Build(nn.Shape{4}, nil)
	require.ErrorContains(t, err, "BatchNorm: momentum 1.5, want it in [0, 1]")
	bad = layers.NewBatchNorm()
	bad.Eps = 0
	_, err = bad.Build(nn.Shape{4}, nil)
	require.ErrorContains(t, err, "BatchNorm: eps 0, want it > 0")

	msg := convTestPanic(func() { bn.Forward(nn.NewTensor(2, 4, 3, 2), true) })
	require.Contains(t, msg, "BatchNorm(4): input of shape [2 4 3 2]")
	require.Contains(t, msg, "4 3 3]")
}

func TestBatchNormZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	for _, tc := range bnTestShapes {
		bn := layers.NewBatchNorm()
		_, err := bn.Build(tc.shape, rng)
		require.NoError(t, err)
		x := bnTestInput(rng, tc.n, tc.shape)
		dy := convTestRand(rng, bn.Forward(x, true).Shape()...)
		bn.Backward(dy)
		allocs := testing.AllocsPerRun(5, func() {
			bn.Forward(x, true)
			bn.Backward(dy)
		})
		require.Zero(t, allocs, tc.name)
	}
}
