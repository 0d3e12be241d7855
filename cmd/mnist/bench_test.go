package main

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/nn"
)

// stepModels are the cmd/mnist models as the command builds them, with its
// default optimizer and learning rate (modelDefaults), plus the wider MLP of
// the PyTorch comparison (../shared/bench/compare.sh mlp512).
var stepModels = []struct {
	name, model string
	hidden      []int
}{
	{"mlp", "mlp", []int{128}},
	{"mlp512", "mlp", []int{512, 512}},
	{"lenet", "lenet", nil},
	{"cnn", "cnn", nil},
}

// newStepTrainer builds one of stepModels with its optimizer and returns a
// Trainer with a random batch of n MNIST-shaped images (standardised-looking
// values) and class targets, after warm-up steps.
func newStepTrainer(tb testing.TB, i, n, warmup int) (*backprop.Trainer, *tensor.Dense, *tensor.Dense) {
	tb.Helper()
	sm := stepModels[i]
	rng := rand.New(rand.NewPCG(uint64(i)+1, 7))
	ls, err := buildLayers(sm.model, sm.hidden, -1)
	require.NoError(tb, err)
	model, err := nn.NewSequential(nn.Shape{1, 28, 28}, rng, ls...)
	require.NoError(tb, err)
	d := modelDefaults[sm.model]
	opt, err := cli.NewOptimizer(d.optimizer, model.Params(), d.lr, 0)
	require.NoError(tb, err)
	tr := &backprop.Trainer{Model: model, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: opt}
	x, y := nn.NewTensor(n, 1, 28, 28), nn.NewTensor(n)
	for j := range x.Float32s() {
		x.Float32s()[j] = float32(rng.NormFloat64())
	}
	for j := range y.Float32s() {
		y.Float32s()[j] = float32(rng.IntN(10))
	}
	for range warmup {
		_, err := tr.Step(x, y)
		require.NoError(tb, err)
	}
	return tr, x, y
}

// BenchmarkStep times one training step (forward, loss, backward, optimizer
// update) at batch 64 for every cmd/mnist model, and reports samples/s.
//
//	go test -run '^$' -bench Step ./cmd/mnist/
func BenchmarkStep(b *testing.B) {
	const batch = 64
	for i, sm := range stepModels {
		b.Run(sm.name, func(b *testing.B) {
			tr, x, y := newStepTrainer(b, i, batch, 2)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Step(x, y); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
