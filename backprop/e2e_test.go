package backprop

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// xorData is the XOR truth table with class-index targets.
func xorData(t testing.TB) *datasets.TensorDataset {
	return dataset(t, tens([]int{4, 2}, 0, 0, 0, 1, 1, 0, 1, 1), tens([]int{4}, 0, 1, 1, 0))
}

func TestXOR(t *testing.T) {
	m := model(t, 2, 1, layers.NewDense(2, 8), layers.NewTanh(), layers.NewDense(8, 2))
	cfg := optim.DefaultAdam()
	cfg.LR = 0.05
	adam, err := optim.NewAdam(m.Params(), cfg)
	require.NoError(t, err)
	tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: adam}
	d := xorData(t)
	h, err := Fit(tr, d, Config{Epochs: 300, BatchSize: 4})
	require.NoError(t, err)
	require.Len(t, h.Epochs, 300)
	loss, acc := Evaluate(m, NewSoftmaxCrossEntropy(), d, 4)
	require.Less(t, loss, 0.05)
	require.Equal(t, 1.0, acc)
	last, _ := h.Last()
	require.Equal(t, 1.0, last.Accuracy)
	require.Greater(t, h.Epochs[0].Loss, 0.5, "the untrained network should not already know XOR")
}

// TestLinearRegression recovers y = 3x − 2 from noisy samples with one
// Dense(1→1) under batch, stochastic and mini-batch gradient descent.
func TestLinearRegression(t *testing.T) {
	const n = 64
	rng := rand.New(rand.NewPCG(10, 10))
	x, y := nn.NewTensor(n, 1), nn.NewTensor(n, 1)
	for i := 0; i < n; i++ {
		xi := 2*rng.Float64() - 1
		x.Float32s()[i] = float32(xi)
		y.Float32s()[i] = float32(3*xi - 2 + 0.02*rng.NormFloat64())
	}
	d := dataset(t, x, y)
	tests := []struct {
		name   string
		batch  int
		lr     float64
		epochs int
	}{
		{"batch GD", n, 0.5, 150},
		{"stochastic GD", 1, 0.02, 30},
		{"mini-batch GD", 16, 0.2, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dense := layers.NewDense(1, 1)
			m := model(t, 1, 2, dense)
			tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, tc.lr)}
			h, err := Fit(tr, d, Config{Epochs: tc.epochs, BatchSize: tc.batch, Shuffle: true, Seed: 3})
			require.NoError(t, err)
			require.InDelta(t, 3, dense.W().Data()[0], 0.05, "slope")
			require.InDelta(t, -2, dense.B().Data()[0], 0.05, "intercept")
			last, _ := h.Last()
			require.Less(t, last.Loss, 0.01)
			require.True(t, math.IsNaN(last.Accuracy), "no accuracy for a regression loss")
			require.Equal(t, tc.lr, last.LR)
		})
	}
}

// blobs draws n points from two Gaussian blobs of unit variance centred at
// (−2, −2) (label 0) and (2, 2) (label 1).
func blobs(t testing.TB, n int, rng *rand.Rand) *datasets.TensorDataset {
	x, y := nn.NewTensor(n, 2), nn.NewTensor(n)
	for i := 0; i < n; i++ {
		c := rng.IntN(2)
		mu := 4*float64(c) - 2
		x.Float32s()[2*i] = float32(mu + rng.NormFloat64())
		x.Float32s()[2*i+1] = float32(mu + rng.NormFloat64())
		y.Float32s()[i] = float32(c)
	}
	return dataset(t, x, y)
}

func TestLogisticRegressionBlobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	all := blobs(t, 600, rng)
	train, held, err := datasets.Split(all, 200, rng)
	require.NoError(t, err)
	m := model(t, 2, 3, layers.NewDense(2, 1))
	tr := &Trainer{Model: m, Loss: NewBCEWithLogits(), Optimizer: sgd(t, m, 0.5)}
	h, err := Fit(tr, train, Config{Epochs: 20, BatchSize: 32, Shuffle: true, Seed: 1, Validation: held})
	require.NoError(t, err)
	_, acc := Evaluate(m, NewBCEWithLogits(), held, 50)
	require.Greater(t, acc, 0.97)
	last, _ := h.Last()
	require.Equal(t, acc, last.ValAccuracy)
	require.Less(t, last.ValLoss, h.Epochs[0].ValLoss+1e-9)
}

func TestCheckModelMLP(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	m := model(t, 5, 4, layers.NewDense(5, 7), layers.NewTanh(), layers.NewDense(7, 6), layers.NewSigmoid(), layers.NewDense(6, 3))
	x := randTensor(rng, 1, 4, 5)
	y := tens([]int{4}, 0, 2, 1, 2)
	res := CheckModel(m, NewSoftmaxCrossEntropy(), x, y, CheckOptions{Seed: 1})
	require.Less(t, res.MaxRelErr, 1e-2, res.String())
	require.Equal(t, 4*5+nn.NumParams(m.Params()), res.Checked)

	// The same check finds a broken layer inside a model and names it.
	bad := model(t, 5, 4, layers.NewDense(5, 4), layers.NewTanh(), &toyLayer{in: 4, out: 4, bug: bugScaleW}, layers.NewDense(4, 3))
	res = CheckModel(bad, NewSoftmaxCrossEntropy(), x, y, CheckOptions{Seed: 1})
	require.Greater(t, res.MaxRelErr, 3e-2, res.String())
	require.True(t, strings.HasPrefix(res.Where, "layer 2 (Toy) param W["), res.String())
}

func TestFitNaNFromHugeLearningRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	x, y := randTensor(rng, 1, 32, 4), randTensor(rng, 1, 32, 1)
	m := model(t, 4, 5, layers.NewDense(4, 8), layers.NewTanh(), layers.NewDense(8, 1))
	tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 1e30)}
	var good [][]float32
	keep := &recorder{batch: func(BatchInfo) { good = snapshot(m.Params()) }}
	h, err := Fit(tr, dataset(t, x, y), Config{Epochs: 5, BatchSize: 8, Callbacks: []Callback{keep}})
	require.Error(t, err)
	// The failing step is named by epoch, batch and step.
	require.Regexp(t, `^backprop: epoch \d+/5, batch \d+/4, step \d+: non-finite (loss|gradient in layer \d \(Dense\) parameter "[Wb]": element \d+ is) (NaN|[+-]Inf); parameters not updated$`, err.Error())
	require.ErrorIs(t, err, ErrNonFinite)
	require.Contains(t, err.Error(), fmt.Sprintf("step %d:", tr.Steps()))
	require.Greater(t, tr.Steps(), 1, "the first steps are finite")
	require.Len(t, keep.batches, tr.Steps()-1)
	require.Len(t, h.Epochs, (tr.Steps()-1)/4)
	// The failing step did not touch the weights.
	requireSameBits(t, good, m.Params(), "after the failing step")
}

func TestFitDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	d := blobs(t, 100, rng)
	run := func(seed uint64) [][]uint32 {
		m := model(t, 2, 7, layers.NewDense(2, 6), layers.NewReLU(), layers.NewDense(6, 2))
		adam, err := optim.NewAdam(m.Params(), optim.DefaultAdam())
		require.NoError(t, err)
		tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: adam}
		_, err = Fit(tr, d, Config{Epochs: 3, BatchSize: 16, Shuffle: true, Seed: seed})
		require.NoError(t, err)
		var bits [][]uint32
		for _, p := range m.Params() {
			row := make([]uint32, p.Len())
			for i, v := range p.Data() {
				row[i] = math.Float32bits(v)
			}
			bits = append(bits, row)
		}
		return bits
	}
	a, b, c := run(1), run(1), run(2)
	require.Equal(t, a, b, "same seeds, same weights")
	require.NotEqual(t, a, c, "another shuffle seed gives other weights")
}

func TestFitSchedule(t *testing.T) {
	m := model(t, 2, 1, layers.NewDense(2, 2))
	opt := sgd(t, m, 1) // overridden by the schedule before the first epoch
	sched, err := optim.NewStepLR(0.1, 1, 0.5)
	require.NoError(t, err)
	tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: opt}
	var seen []float64
	rec := &recorder{epoch: func(e EpochInfo) { seen = append(seen, e.Trainer.Optimizer.LR()) }}
	h, err := Fit(tr, xorData(t), Config{Epochs: 3, BatchSize: 2, Schedule: sched, Callbacks: []Callback{rec}})
	require.NoError(t, err)
	var used []float64
	for _, e := range h.Epochs {
		used = append(used, e.LR)
	}
	require.Equal(t, []float64{0.1, 0.05, 0.025}, used)
	// Callbacks run after the schedule has set the next epoch's rate.
	require.Equal(t, []float64{0.05, 0.025, 0.0125}, seen)
	require.Equal(t, 0.0125, opt.LR())
}

func TestEarlyStopping(t *testing.T) {
	d := xorData(t)
	t.Run("stops after patience epochs without improvement", func(t *testing.T) {
		// Learning rate 0: the training loss never improves after epoch 0.
		m := model(t, 2, 1, layers.NewDense(2, 2))
		tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: sgd(t, m, 1)}
		es := &EarlyStopping{Monitor: "loss", Patience: 3}
		h, err := Fit(tr, d, Config{Epochs: 20, BatchSize: 4, Schedule: optim.Constant(0), Callbacks: []Callback{es}})
		require.NoError(t, err)
		require.Len(t, h.Epochs, 4) // epoch 0, then 3 without improvement
		require.Equal(t, 3, es.StoppedEpoch())
		best, at := es.Best()
		require.Equal(t, 0, at)
		require.Equal(t, h.Epochs[0].Loss, best)
	})
	t.Run("keeps going while improving", func(t *testing.T) {
		m := model(t, 2, 1, layers.NewDense(2, 4), layers.NewTanh(), layers.NewDense(4, 2))
		tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: sgd(t, m, 0.5)}
		es := &EarlyStopping{Monitor: "loss", Patience: 2}
		h, err := Fit(tr, d, Config{Epochs: 10, BatchSize: 4, Callbacks: []Callback{es}})
		require.NoError(t, err)
		require.Len(t, h.Epochs, 10)
		require.Equal(t, -1, es.StoppedEpoch())
	})
	t.Run("restores the best weights", func(t *testing.T) {
		// Gradient descent with a step past stability (lr·λmax > 2) makes the
		// validation loss grow after the first epoch's update.
		rng := rand.New(rand.NewPCG(15, 15))
		x, y := randTensor(rng, 2, 16, 3), randTensor(rng, 1, 16, 1)
		dd := dataset(t, x, y)
		m := model(t, 3, 2, layers.NewDense(3, 1))
		tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 1.5)}
		var after [][][]float32
		rec := &recorder{epoch: func(EpochInfo) { after = append(after, snapshot(m.Params())) }}
		es := &EarlyStopping{Patience: 2, RestoreBest: true}
		h, err := Fit(tr, dd, Config{Epochs: 10, BatchSize: 16, Validation: dd, Callbacks: []Callback{rec, es}})
		require.NoError(t, err)
		require.Len(t, h.Epochs, 3)
		require.Greater(t, h.Epochs[1].ValLoss, h.Epochs[0].ValLoss)
		require.Greater(t, h.Epochs[2].ValLoss, h.Epochs[0].ValLoss)
		requireSameBits(t, after[0], m.Params(), "restored to epoch 0")
	})
	t.Run("improvements below MinDelta do not count", func(t *testing.T) {
		for _, tc := range []struct {
			losses []float64
			stop   int // epoch it stops after, or -1
		}{
			{[]float64{1, 0.995, 0.98, 0.975, 0.974}, 4}, // 0.98 improves by 0.02; then two epochs below 0.01
			{[]float64{1, 0.995, 0.991, 0.5}, 2},         // neither 0.995 nor 0.991 beats 1 − 0.01
			{[]float64{1, 0.98, 0.96, 0.94}, -1},
		} {
			es := &EarlyStopping{Monitor: "loss", Patience: 2, MinDelta: 0.01}
			stopped := -1
			for i, l := range tc.losses {
				stop, err := es.OnEpochEnd(EpochInfo{EpochStats: EpochStats{Epoch: i, Loss: l}})
				require.NoError(t, err)
				if stop {
					stopped = i
					break
				}
			}
			require.Equal(t, tc.stop, stopped, "losses %v", tc.losses)
			require.Equal(t, tc.stop, es.StoppedEpoch())
		}
		require.Equal(t, -1, (&EarlyStopping{}).StoppedEpoch(), "before any epoch")
		_, err := (&EarlyStopping{Monitor: "loss", MinDelta: -1}).OnEpochEnd(EpochInfo{})
		require.ErrorContains(t, err, "MinDelta -1 must be ≥ 0")
	})
	t.Run("restores BatchNorm running statistics too", func(t *testing.T) {
		m := model(t, 3, 2, layers.NewDense(3, 4), layers.NewBatchNorm(), layers.NewDense(4, 1))
		tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 0.1)}
		state := func() [][]float32 { return snapshot(append(m.Params(), m.State()...)) }
		es := &EarlyStopping{Monitor: "loss", Patience: 1, RestoreBest: true}
		_, err := es.OnEpochEnd(EpochInfo{EpochStats: EpochStats{Epoch: 0, Loss: 1}, Trainer: tr})
		require.NoError(t, err)
		best := state()
		for _, p := range append(m.Params(), m.State()...) {
			for i := range p.Data() {
				p.Data()[i] += 1
			}
		}
		stop, err := es.OnEpochEnd(EpochInfo{EpochStats: EpochStats{Epoch: 1, Loss: 2}, Trainer: tr})
		require.NoError(t, err)
		require.True(t, stop)
		require.Equal(t, best, state())
	})
	t.Run("errors", func(t *testing.T) {
		m := model(t, 2, 1, layers.NewDense(2, 2))
		tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: sgd(t, m, 0.1)}
		_, err := Fit(tr, d, Config{Epochs: 2, BatchSize: 4, Callbacks: []Callback{&EarlyStopping{}}})
		require.EqualError(t, err, "backprop: Fit: epoch 1/2: backprop: EarlyStopping monitors val_loss but Fit has no validation set")
		_, err = Fit(tr, d, Config{Epochs: 2, BatchSize: 4, Callbacks: []Callback{&EarlyStopping{Monitor: "f1"}}})
		require.EqualError(t, err, `backprop: Fit: epoch 1/2: backprop: EarlyStopping: unknown metric "f1" (want loss, accuracy, val_loss or val_accuracy)`)
		tr.Loss = NewMSE()
		_, err = Fit(tr, dataset(t, nn.NewTensor(4, 2), nn.NewTensor(4, 2)), Config{Epochs: 2, BatchSize: 4,
			Callbacks: []Callback{&EarlyStopping{Monitor: "accuracy"}}})
		require.EqualError(t, err, "backprop: Fit: epoch 1/2: backprop: EarlyStopping monitors accuracy but the loss does not score predictions")
	})
}
