package backprop

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

func tens(shape []int, v ...float32) *tensor.Dense { return nn.FromSlice(v, shape...) }

func randTensor(rng *rand.Rand, scale float64, shape ...int) *tensor.Dense {
	t := nn.NewTensor(shape...)
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(rng.NormFloat64() * scale)
	}
	return t
}

func requireSlicesNear(t *testing.T, want []float64, got []float32, tol float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for i := range want {
		require.InDelta(t, want[i], float64(got[i]), tol, "%s: element %d", msg, i)
	}
}

func TestLossValuesByHand(t *testing.T) {
	// Softmax cross-entropy, logits [[1 2 3] [1 1 1]], classes [2 0]:
	// row 0: lse = 3 + log(1 + e⁻¹ + e⁻²), loss = lse − 3;
	// row 1: lse = 1 + log 3,              loss = log 3.
	s0 := 1 + math.Exp(-1) + math.Exp(-2)
	sce := (math.Log(s0) + math.Log(3)) / 2
	// dZ = (p − onehot)/2 with p₀ = (e⁻², e⁻¹, 1)/s0 and p₁ = (⅓, ⅓, ⅓).
	sceGrad := []float64{
		math.Exp(-2) / s0 / 2, math.Exp(-1) / s0 / 2, (1/s0 - 1) / 2,
		(1.0/3 - 1) / 2, 1.0 / 3 / 2, 1.0 / 3 / 2,
	}
	tests := []struct {
		name     string
		loss     Loss
		pred     *tensor.Dense
		target   *tensor.Dense
		want     float64
		wantGrad []float64
	}{
		{"softmax CE class indices", NewSoftmaxCrossEntropy(),
			tens([]int{2, 3}, 1, 2, 3, 1, 1, 1), tens([]int{2}, 2, 0), sce, sceGrad},
		{"softmax CE one-hot", NewSoftmaxCrossEntropy(),
			tens([]int{2, 3}, 1, 2, 3, 1, 1, 1), tens([]int{2, 3}, 0, 0, 1, 1, 0, 0), sce, sceGrad},
		// BCE, z = (0, 2, −3), t = (1, 0, ½):
		// log 2; 2 + log(1 + e⁻²); 0 + 1.5 + log(1 + e⁻³); grad (σ(z) − t)/3.
		{"BCE with logits", NewBCEWithLogits(),
			tens([]int{3, 1}, 0, 2, -3), tens([]int{3}, 1, 0, 0.5),
			(math.Log(2) + 2 + math.Log1p(math.Exp(-2)) + 1.5 + math.Log1p(math.Exp(-3))) / 3,
			[]float64{(0.5 - 1) / 3, 1 / (1 + math.Exp(-2)) / 3, (1/(1+math.Exp(3)) - 0.5) / 3}},
		// MSE, p − t = (1, 0, −2): (1 + 0 + 4)/3; grad 2(p − t)/3.
		{"MSE", NewMSE(),
			tens([]int{3}, 1, 2, 3), tens([]int{3}, 0, 2, 5), 5.0 / 3, []float64{2.0 / 3, 0, -4.0 / 3}},
		// Huber δ = 1, d = (0.5, −2, 3): 0.125, 1·(2 − 0.5), 1·(3 − 0.5);
		// grad clamp(d, −1, 1)/3.
		{"Huber", NewHuber(1),
			tens([]int{3, 1}, 0.5, -2, 3), tens([]int{3, 1}, 0, 0, 0), (0.125 + 1.5 + 2.5) / 3,
			[]float64{0.5 / 3, -1.0 / 3, 1.0 / 3}},
		// Huber δ = 2 on the same residuals: 0.125, ½·4 (|d| = δ is linear:
		// 2·(2 − 1) = 2, the same value), 2·(3 − 1).
		{"Huber delta 2", NewHuber(2),
			tens([]int{3}, 0.5, -2, 3), tens([]int{3}, 0, 0, 0), (0.125 + 2 + 4) / 3,
			[]float64{0.5 / 3, -2.0 / 3, 2.0 / 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.loss.Forward(tc.pred, tc.target)
			require.InDelta(t, tc.want, got, 1e-6)
			g := tc.loss.Backward()
			require.Equal(t, []int(tc.pred.Shape()), []int(g.Shape()))
			requireSlicesNear(t, tc.wantGrad, g.Float32s(), 1e-6, "gradient")
		})
	}
}

func TestLossGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	probs := randTensor(rng, 1, 6, 4)
	for r := 0; r < 6; r++ { // rows of a softmax: positive, summing to 1
		row := probs.Float32s()[r*4 : (r+1)*4]
		s := float32(0)
		for i := range row {
			row[i] = float32(math.Exp(float64(row[i])))
			s += row[i]
		}
		for i := range row {
			row[i] /= s
		}
	}
	classes := nn.NewTensor(6)
	for i := range classes.Float32s() {
		classes.Float32s()[i] = float32(rng.IntN(4))
	}
	unit := nn.NewTensor(5, 3)
	for i := range unit.Float32s() {
		unit.Float32s()[i] = float32(rng.Float64())
	}
	// Huber residuals kept away from the kink of the second derivative at
	// |d| = δ = 1, where the central difference straddles two pieces.
	hpred := randTensor(rng, 1.5, 5, 3)
	for i, v := range hpred.Float32s() {
		if math.Abs(math.Abs(float64(v))-1) < 0.05 {
			hpred.Float32s()[i] = v * 1.2
		}
	}
	tests := []struct {
		name         string
		loss         Loss
		pred, target *tensor.Dense
	}{
		{"softmax CE class indices", NewSoftmaxCrossEntropy(), randTensor(rng, 2, 6, 4), classes},
		{"softmax CE probabilities", NewSoftmaxCrossEntropy(), randTensor(rng, 2, 6, 4), probs},
		{"BCE with logits", NewBCEWithLogits(), randTensor(rng, 2, 5, 3), unit},
		{"MSE", NewMSE(), randTensor(rng, 1, 5, 3), unit},
		{"Huber", NewHuber(1), hpred, nn.NewTensor(5, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The default check, as for layers.
			res := CheckLoss(tc.loss, tc.pred, tc.target, CheckOptions{Seed: 1})
			require.Equal(t, tc.pred.Shape().TotalSize(), res.Checked)
			require.Less(t, res.MaxRelErr, 1e-2, res.String())
			// A tight check: the loss sums in float64 from float32 inputs,
			// so L(v±) carry only float64 rounding (~1e-16·L) and the step
			// is exact; with ε = 1e-3 the numeric gradient is off by the
			// truncation ε²·L⁽³⁾/6 ~ 1e-7, and the analytic one only by its
			// rounding to float32 (6e-8 relative). 1e-5 leaves a margin.
			res = CheckLoss(tc.loss, tc.pred, tc.target, CheckOptions{Seed: 1, Eps: 1e-3, Floor: 1e-6})
			require.Less(t, res.MaxRelErr, 1e-5, res.String())
		})
	}
}

func TestLossStableForHugeLogits(t *testing.T) {
	sce := NewSoftmaxCrossEntropy()
	z := tens([]int{2, 3}, 1e4, -1e4, 0, -1e4, -1e4, 1e4)
	l := sce.Forward(z, tens([]int{2}, 1, 2))
	// Row 0: lse = 1e4, loss 2e4; row 1: correct with certainty, loss 0.
	require.InDelta(t, 1e4, l, 1e-6)
	requireSlicesNear(t, []float64{0.5, -0.5, 0, 0, 0, 0}, sce.Backward().Float32s(), 1e-7, "softmax CE gradient")

	bce := NewBCEWithLogits()
	l = bce.Forward(tens([]int{4}, 1e4, -1e4, 1e4, -1e4), tens([]int{4}, 0, 1, 1, 0))
	require.InDelta(t, 1e4/2, l, 1e-6)
	requireSlicesNear(t, []float64{0.25, -0.25, 0, 0}, bce.Backward().Float32s(), 1e-7, "BCE gradient")
}

func TestLossPanicsOnBadTargets(t *testing.T) {
	tests := []struct {
		name         string
		loss         Loss
		pred, target *tensor.Dense
		msg          string
	}{
		{"softmax CE wrong rows", NewSoftmaxCrossEntropy(), nn.NewTensor(2, 3), nn.NewTensor(3),
			"backprop: SoftmaxCrossEntropy: target of shape [3] for logits [2 3], want [2] class indices or [2 3] probabilities"},
		{"softmax CE wrong classes", NewSoftmaxCrossEntropy(), nn.NewTensor(2, 3), nn.NewTensor(2, 4),
			"backprop: SoftmaxCrossEntropy: target of shape [2 4] for logits [2 3], want [2] class indices or [2 3] probabilities"},
		{"softmax CE flat logits", NewSoftmaxCrossEntropy(), nn.NewTensor(6), nn.NewTensor(6),
			"backprop: SoftmaxCrossEntropy: logits of shape [6], want [N C]"},
		{"softmax CE class out of range", NewSoftmaxCrossEntropy(), nn.NewTensor(2, 3), tens([]int{2}, 0, 3),
			"backprop: SoftmaxCrossEntropy: class index 3 at row 1 out of range [0, 3)"},
		{"softmax CE negative class", NewSoftmaxCrossEntropy(), nn.NewTensor(2, 3), tens([]int{2}, -1, 0),
			"backprop: SoftmaxCrossEntropy: class index -1 at row 0 out of range [0, 3)"},
		{"softmax CE fractional class", NewSoftmaxCrossEntropy(), nn.NewTensor(2, 3), tens([]int{2}, 0, 1.5),
			"backprop: SoftmaxCrossEntropy: class index 1.5 at row 1 out of range [0, 3)"},
		{"BCE size", NewBCEWithLogits(), nn.NewTensor(4, 2), nn.NewTensor(4),
			"backprop: BCEWithLogits: target of shape [4] does not fit prediction [4 2] (want the same batch size and number of values)"},
		{"BCE target range", NewBCEWithLogits(), nn.NewTensor(2), tens([]int{2}, 0, 2),
			"backprop: BCEWithLogits: target 2 at element 1 outside [0, 1]"},
		{"MSE batch", NewMSE(), nn.NewTensor(2, 2), nn.NewTensor(4),
			"backprop: MSE: target of shape [4] does not fit prediction [2 2] (want the same batch size and number of values)"},
		{"Huber size", NewHuber(1), nn.NewTensor(3), nn.NewTensor(3, 2),
			"backprop: Huber: target of shape [3 2] does not fit prediction [3] (want the same batch size and number of values)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.PanicsWithValue(t, tc.msg, func() { tc.loss.Forward(tc.pred, tc.target) })
		})
	}
	require.PanicsWithValue(t, "backprop: NewHuber: delta 0 must be positive and finite", func() { NewHuber(0) })
	require.PanicsWithValue(t, "backprop: loss Backward called before Forward", func() { NewMSE().Backward() })
}

func TestLossZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	classes := nn.NewTensor(32)
	for i := range classes.Float32s() {
		classes.Float32s()[i] = float32(rng.IntN(10))
	}
	tests := []struct {
		name         string
		loss         Loss
		pred, target *tensor.Dense
	}{
		{"softmax CE", NewSoftmaxCrossEntropy(), randTensor(rng, 1, 32, 10), classes},
		{"BCE with logits", NewBCEWithLogits(), randTensor(rng, 1, 32, 1), nn.NewTensor(32)},
		{"MSE", NewMSE(), randTensor(rng, 1, 32, 3), randTensor(rng, 1, 32, 3)},
		{"Huber", NewHuber(0.5), randTensor(rng, 1, 32, 3), randTensor(rng, 1, 32, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.loss.Forward(tc.pred, tc.target)
			tc.loss.Backward()
			allocs := testing.AllocsPerRun(50, func() {
				tc.loss.Forward(tc.pred, tc.target)
				tc.loss.Backward()
			})
			require.Zero(t, allocs)
		})
	}
}

func TestAccuracy(t *testing.T) {
	pred := tens([]int{4, 3},
		0.1, 0.7, 0.2, // 1
		2, 2, 1, // tie: first wins, 0
		-1, -2, -0.5, // 2
		0, 0, 5) // 2
	require.Equal(t, 3, Accuracy(pred, tens([]int{4}, 1, 0, 2, 1)))
	require.Equal(t, 3, Accuracy(pred, tens([]int{4, 3}, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0)))
	require.Equal(t, 3, NewSoftmaxCrossEntropy().Correct(pred, tens([]int{4}, 1, 0, 2, 1)))
	require.PanicsWithValue(t, "backprop: Accuracy: class index 7 at row 3 out of range [0, 3)",
		func() { Accuracy(pred, tens([]int{4}, 1, 0, 2, 7)) })
	require.Panics(t, func() { Accuracy(pred, nn.NewTensor(3)) })
	require.Zero(t, testing.AllocsPerRun(20, func() { Accuracy(pred, tens0) }))

	logits := tens([]int{4, 1}, 1.5, -0.2, 0, 3)
	require.Equal(t, 3, BinaryAccuracy(logits, tens([]int{4}, 1, 0, 0, 0)))
	require.Equal(t, 3, NewBCEWithLogits().Correct(logits, tens([]int{4}, 1, 0, 0, 0)))
	// Two labels per row: a row counts when both agree.
	require.Equal(t, 1, BinaryAccuracy(tens([]int{2, 2}, 1, -1, 1, 1), tens([]int{2, 2}, 1, 0, 1, 0)))
}

// tens0 is a fixed class-index target for the allocation test above.
var tens0 = tens([]int{4}, 1, 0, 2, 1)
