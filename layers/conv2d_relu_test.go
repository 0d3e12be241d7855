package layers_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// TestConv2DWithReLUMatchesReLULayer checks that a Conv2D built WithReLU
// computes, bit for bit, what the same Conv2D followed by a ReLU layer does:
// output, dX, dW and db, in training and inference, on every path of
// convPathCases. A NaN input must come out as the separate layers give it
// too.
func TestConv2DWithReLUMatchesReLULayer(t *testing.T) {
	for _, tc := range convPathCases {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.f)+1))
			plain := convTestBuild(t, tc, rng)
			fused := layers.NewConv2D(tc.c, tc.f, tc.k, layers.Stride(tc.s), layers.Padding(tc.p), layers.WithReLU())
			out, err := fused.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
			require.NoError(t, err)
			require.True(t, fused.ReLU())
			require.False(t, plain.ReLU())
			copy(fused.W().Data(), plain.W().Data())
			copy(fused.B().Data(), plain.B().Data())
			relu := layers.NewReLU()
			_, err = relu.Build(out, rng)
			require.NoError(t, err)

			x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
			x.Float32s()[0] = float32(math.NaN()) // reaches few outputs: in a corner
			for _, train := range []bool{false, true} {
				want := relu.Forward(plain.Forward(x, train), train)
				got := fused.Forward(x, train)
				require.Equal(t, []int(want.Shape()), []int(got.Shape()))
				requireSameBits(t, want.Float32s(), got.Float32s(), "Y")
			}
			negative := 0
			for _, v := range plain.Forward(x, true).Float32s() {
				if v < 0 {
					negative++
				}
			}
			require.Positive(t, negative, "no output below 0: the test would not exercise ReLU")
			relu.Forward(plain.Forward(x, true), true)

			dy := convTestRand(rng, fused.Forward(x, true).Shape()...)
			wantDX := plain.Backward(relu.Backward(dy))
			gotDX := fused.Backward(dy)
			requireSameBits(t, wantDX.Float32s(), gotDX.Float32s(), "dX")
			requireSameBits(t, plain.W().GradData(), fused.W().GradData(), "dW")
			requireSameBits(t, plain.B().GradData(), fused.B().GradData(), "db")

			plain.W().ZeroGrad()
			plain.B().ZeroGrad()
			fused.W().ZeroGrad()
			fused.B().ZeroGrad()
			plain.BackwardParams(relu.Backward(dy))
			fused.BackwardParams(dy)
			requireSameBits(t, plain.W().GradData(), fused.W().GradData(), "dW (BackwardParams)")
			requireSameBits(t, plain.B().GradData(), fused.B().GradData(), "db (BackwardParams)")
		})
	}
}

// requireSameBits checks that want and got hold the same float32 bit
// patterns (so NaN equals NaN and −0 differs from +0).
func requireSameBits(t *testing.T, want, got []float32, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, what+" differs", "element %d: want %v, got %v", i, want[i], got[i])
		}
	}
}

// TestConv2DWithReLUGradients checks the fused layer's backward pass against
// finite differences. Conv2D with ReLU is piecewise linear, so a central
// difference is exact unless its step carries an output across the kink at
// 0. A step of ε in one input moves each output by ε·|w| at most, in one
// weight by ε·|x| ≤ ε (x is drawn in [−1, 1)), in one bias by ε: so each
// case is redrawn until every output before ReLU lies farther than
// ε·max(1, max|w|) from 0.
func TestConv2DWithReLUGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range convTestCases {
		t.Run(tc.String(), func(t *testing.T) {
			for try := 0; ; try++ {
				require.Less(t, try, 1000, "no draw keeps the outputs away from the kink")
				plain := convTestBuild(t, tc, rng)
				x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
				margin := 1.0
				for _, w := range plain.W().Data() {
					margin = max(margin, math.Abs(float64(w)))
				}
				margin *= 1.01 * backprop.DefaultCheckEps
				far := true
				for _, v := range plain.Forward(x, false).Float32s() {
					far = far && math.Abs(float64(v)) > margin
				}
				if !far {
					continue
				}
				conv := layers.NewConv2D(tc.c, tc.f, tc.k, layers.Stride(tc.s), layers.Padding(tc.p), layers.WithReLU())
				_, err := conv.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
				require.NoError(t, err)
				copy(conv.W().Data(), plain.W().Data())
				copy(conv.B().Data(), plain.B().Data())
				y := conv.Forward(x, true).Float32s()
				require.Contains(t, y, float32(0), "no output cut by ReLU")
				require.Greater(t, slices.Max(y), float32(0), "every output cut by ReLU")
				for _, train := range []bool{true, false} {
					res := backprop.CheckLayer(conv, x, train, backprop.CheckOptions{Seed: 5})
					require.Less(t, res.MaxRelErr, 1e-2, "train=%v: %v", train, res)
					require.Equal(t, x.Shape().TotalSize()+conv.W().Len()+conv.B().Len(), res.Checked)
				}
				return
			}
		})
	}
}
