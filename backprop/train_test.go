package backprop

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// model builds a Sequential for per-sample input [in] from seed.
func model(t testing.TB, in int, seed uint64, ls ...nn.Layer) *nn.Sequential {
	t.Helper()
	m, err := nn.NewSequential(nn.Shape{in}, rand.New(rand.NewPCG(seed, 0)), ls...)
	require.NoError(t, err)
	return m
}

func sgd(t testing.TB, m *nn.Sequential, lr float64) *optim.SGD {
	t.Helper()
	o, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: lr})
	require.NoError(t, err)
	return o
}

func dataset(t testing.TB, x, y *tensor.Dense) *datasets.TensorDataset {
	t.Helper()
	d, err := datasets.NewTensorDataset(x, y)
	require.NoError(t, err)
	return d
}

// snapshot copies every parameter value.
func snapshot(ps []*nn.Param) [][]float32 {
	s := make([][]float32, len(ps))
	for i, p := range ps {
		s[i] = slices.Clone(p.Data())
	}
	return s
}

// requireSameBits asserts that the parameters hold exactly the snapshot's
// values (NaN included).
func requireSameBits(t *testing.T, want [][]float32, ps []*nn.Param, msg string) {
	t.Helper()
	require.Len(t, ps, len(want))
	for i, p := range ps {
		for j, v := range p.Data() {
			require.Equal(t, math.Float32bits(want[i][j]), math.Float32bits(v), "%s: param %d (%s) element %d", msg, i, p.Name, j)
		}
	}
}

// TestStepMatchesHandComputation runs one SGD step of a Dense(3→2) under
// MSE with L1 and L2 and checks the reported loss and the update against
// the equations of Step.
func TestStepMatchesHandComputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	dense := layers.NewDense(3, 2)
	m := model(t, 3, 1, dense)
	x, y := randTensor(rng, 1, 5, 3), randTensor(rng, 1, 5, 2)
	const lr, l1, l2 = 0.1, 0.01, 0.02
	tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, lr), L1: l1, L2: l2}

	w0, b0 := slices.Clone(dense.W().Data()), slices.Clone(dense.B().Data())
	// Reference in float64: Y = X·W + b, loss = mean((Y − T)²) + l1·Σ|W| + l2/2·ΣW²,
	// dW = Xᵀ·2(Y − T)/10 + l1·sign(W) + l2·W, db = Σ_rows 2(Y − T)/10.
	xs, ts := x.Float32s(), y.Float32s()
	var loss, pen float64
	dW := make([]float64, 6)
	db := make([]float64, 2)
	for r := 0; r < 5; r++ {
		for j := 0; j < 2; j++ {
			v := float64(b0[j])
			for i := 0; i < 3; i++ {
				v += float64(xs[r*3+i]) * float64(w0[i*2+j])
			}
			d := v - float64(ts[r*2+j])
			loss += d * d / 10
			for i := 0; i < 3; i++ {
				dW[i*2+j] += float64(xs[r*3+i]) * 2 * d / 10
			}
			db[j] += 2 * d / 10
		}
	}
	for k, w := range w0 {
		wf := float64(w)
		pen += l1*math.Abs(wf) + l2/2*wf*wf
		dW[k] += l1*math.Copysign(1, wf) + l2*wf
	}

	got, err := tr.Step(x, y)
	require.NoError(t, err)
	require.InDelta(t, loss+pen, got, 1e-5)
	for k := range w0 {
		require.InDelta(t, float64(w0[k])-lr*dW[k], float64(dense.W().Data()[k]), 1e-5, "W[%d]", k)
	}
	for k := range b0 { // biases are not regularised
		require.InDelta(t, float64(b0[k])-lr*db[k], float64(dense.B().Data()[k]), 1e-5, "b[%d]", k)
	}
	require.Equal(t, 1, tr.Steps())
	require.True(t, math.IsNaN(tr.GradNorm()))
}

func TestStepClipping(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x, y := randTensor(rng, 3, 8, 4), randTensor(rng, 3, 8, 2)

	// ClipValue 0.01 with SGD(lr 1): every element moves by at most 0.01,
	// and the large gradients of this batch move by exactly 0.01.
	m := model(t, 4, 2, layers.NewDense(4, 2))
	before := snapshot(m.Params())
	tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 1), ClipValue: 0.01}
	_, err := tr.Step(x, y)
	require.NoError(t, err)
	atClip := 0
	for i, p := range m.Params() {
		for j, v := range p.Data() {
			d := math.Abs(float64(v) - float64(before[i][j]))
			require.LessOrEqual(t, d, 0.01+1e-7)
			if d > 0.01-1e-7 {
				atClip++
			}
		}
	}
	require.Greater(t, atClip, 0)

	// ClipNorm 0.1 with SGD(lr 1): the update's global norm is 0.1, and
	// GradNorm reports the norm before clipping, which was larger.
	m = model(t, 4, 2, layers.NewDense(4, 2))
	before = snapshot(m.Params())
	tr = &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 1), ClipNorm: 0.1}
	_, err = tr.Step(x, y)
	require.NoError(t, err)
	var sq float64
	for i, p := range m.Params() {
		for j, v := range p.Data() {
			d := float64(v) - float64(before[i][j])
			sq += d * d
		}
	}
	require.InDelta(t, 0.1, math.Sqrt(sq), 1e-5)
	require.Greater(t, tr.GradNorm(), 0.1)
}

func TestStepNaNWeightIsReportedAndNotApplied(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	m := model(t, 3, 3, layers.NewDense(3, 4), layers.NewTanh(), layers.NewDense(4, 2))
	tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: sgd(t, m, 0.1)}
	x := randTensor(rng, 1, 4, 3)
	y := tens([]int{4}, 0, 1, 1, 0)
	_, err := tr.Step(x, y)
	require.NoError(t, err)

	m.Params()[0].Data()[5] = float32(math.NaN())
	before := snapshot(m.Params())
	loss, err := tr.Step(x, y)
	require.True(t, math.IsNaN(loss))
	require.EqualError(t, err, "backprop: step 2: non-finite loss NaN; parameters not updated")
	requireSameBits(t, before, m.Params(), "after the failed step")
}

// poison passes values forward unchanged and sends NaN back: the loss stays
// finite while every gradient before it turns NaN.
type poison struct {
	nn.Layer // Build, Params and Spec of an identity-shaped layer
	dx       nn.Buffer
}

func (p *poison) Forward(x *tensor.Dense, train bool) *tensor.Dense { return x }
func (p *poison) Backward(dy *tensor.Dense) *tensor.Dense {
	dx := p.dx.Get(dy.Shape()...)
	for i := range dx.Float32s() {
		dx.Float32s()[i] = float32(math.NaN())
	}
	return dx
}

func TestStepNaNGradientNamesParameter(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	m := model(t, 3, 4, layers.NewDense(3, 2), &poison{Layer: layers.NewTanh()})
	tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 0.1), ClipNorm: 1}
	before := snapshot(m.Params())
	loss, err := tr.Step(randTensor(rng, 1, 4, 3), randTensor(rng, 1, 4, 2))
	require.False(t, math.IsNaN(loss))
	require.EqualError(t, err, `backprop: step 1: non-finite gradient in layer 0 (Dense) parameter "W": element 0 is NaN; parameters not updated`)
	requireSameBits(t, before, m.Params(), "after the failed step")
}

func TestStepConfigErrors(t *testing.T) {
	m := model(t, 2, 1, layers.NewDense(2, 1))
	x, y := nn.NewTensor(1, 2), nn.NewTensor(1, 1)
	tests := []struct {
		tr   *Trainer
		want string
	}{
		{&Trainer{Loss: NewMSE(), Optimizer: sgd(t, m, 1)}, "backprop: Trainer has no Model"},
		{&Trainer{Model: m, Optimizer: sgd(t, m, 1)}, "backprop: Trainer has no Loss"},
		{&Trainer{Model: m, Loss: NewMSE()}, "backprop: Trainer has no Optimizer"},
		{&Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 1), L2: -1},
			"backprop: Trainer: ClipValue 0, ClipNorm 0, L1 0 and L2 -1 must be finite and ≥ 0"},
		{&Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 1), L1: math.Inf(1)},
			"backprop: Trainer: ClipValue 0, ClipNorm 0, L1 +Inf and L2 0 must be finite and ≥ 0"},
	}
	for _, tc := range tests {
		_, err := tc.tr.Step(x, y)
		require.EqualError(t, err, tc.want)
	}
}

// TestStepZeroAllocs is the hard requirement: a warmed-up training step of
// Dense(20→32)→ReLU→Dense(32→10) with softmax cross-entropy and Adam
// allocates nothing; nor does one of a model with BatchNorm, whose state
// the step copies before the forward pass and checks after it.
func TestStepZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m := model(t, 20, 5, layers.NewDense(20, 32), layers.NewReLU(), layers.NewDense(32, 10))
	adam, err := optim.NewAdam(m.Params(), optim.DefaultAdam())
	require.NoError(t, err)
	bn := model(t, 20, 5, layers.NewDense(20, 32), layers.NewBatchNorm(), layers.NewReLU(), layers.NewDense(32, 10))
	bnAdam, err := optim.NewAdam(bn.Params(), optim.DefaultAdam())
	require.NoError(t, err)
	x := randTensor(rng, 1, 16, 20)
	y := nn.NewTensor(16)
	for i := range y.Float32s() {
		y.Float32s()[i] = float32(rng.IntN(10))
	}
	for _, tr := range []*Trainer{
		{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: adam},
		{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: adam, ClipValue: 1, ClipNorm: 5, L1: 1e-5, L2: 1e-4},
		{Model: bn, Loss: NewSoftmaxCrossEntropy(), Optimizer: bnAdam, SkipNonFinite: true},
	} {
		_, err = tr.Step(x, y)
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := tr.Step(x, y); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs)
	}
}

func TestEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	m := model(t, 4, 6, layers.NewDense(4, 3))
	x := randTensor(rng, 1, 10, 4)
	y := nn.NewTensor(10)
	for i := range y.Float32s() {
		y.Float32s()[i] = float32(rng.IntN(3))
	}
	d := dataset(t, x, y)
	// One batch of everything is the reference; batches of 3 (3, 3, 3, 1)
	// must give the same per-sample mean.
	out := m.Forward(x, false)
	loss := NewSoftmaxCrossEntropy()
	wantLoss := loss.Forward(out, y)
	wantAcc := float64(Accuracy(out, y)) / 10
	for _, bs := range []int{0, 3, 10, 64} {
		l, a := Evaluate(m, NewSoftmaxCrossEntropy(), d, bs)
		require.InDelta(t, wantLoss, l, 1e-6, "batch %d", bs)
		require.Equal(t, wantAcc, a, "batch %d", bs)
	}
	_, a := Evaluate(m, NewMSE(), dataset(t, x, randTensor(rng, 1, 10, 3)), 4)
	require.True(t, math.IsNaN(a), "accuracy of a regression loss")
	require.PanicsWithValue(t, "backprop: evaluation samples of shape [5], but the model takes [4]",
		func() { Evaluate(m, loss, dataset(t, nn.NewTensor(2, 5), nn.NewTensor(2)), 1) })
}

func TestFitConfigErrors(t *testing.T) {
	m := model(t, 2, 1, layers.NewDense(2, 1))
	tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 0.1)}
	d := dataset(t, nn.NewTensor(4, 2), nn.NewTensor(4, 1))
	tests := []struct {
		cfg  Config
		d    datasets.Dataset
		want string
	}{
		{Config{Epochs: 0, BatchSize: 1}, d, "backprop: Fit: epochs 0 and batch size 1 must be ≥ 1"},
		{Config{Epochs: 1, BatchSize: 0}, d, "backprop: Fit: epochs 1 and batch size 0 must be ≥ 1"},
		{Config{Epochs: 1, BatchSize: 8, DropLast: true}, d,
			"backprop: Fit: datasets: batch size 8 with drop-last leaves no batch of 4 samples"},
		{Config{Epochs: 1, BatchSize: 2}, dataset(t, nn.NewTensor(4, 3), nn.NewTensor(4, 1)),
			"backprop: training samples of shape [3], but the model takes [2]"},
		{Config{Epochs: 1, BatchSize: 2, Validation: dataset(t, nn.NewTensor(4, 3), nn.NewTensor(4, 1))}, d,
			"backprop: validation samples of shape [3], but the model takes [2]"},
	}
	for _, tc := range tests {
		_, err := Fit(tr, tc.d, tc.cfg)
		require.EqualError(t, err, tc.want)
	}
}
