package backprop_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// A two-layer network learns XOR with Fit.
func ExampleFit() {
	x := nn.FromSlice([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2)
	y := nn.FromSlice([]float32{0, 1, 1, 0}, 4) // class indices
	data, err := datasets.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 0))
	model, err := nn.NewSequential(nn.Shape{2}, rng,
		layers.NewDense(2, 8), layers.NewTanh(), layers.NewDense(8, 2))
	if err != nil {
		panic(err)
	}
	cfg := optim.DefaultAdam()
	cfg.LR = 0.05
	adam, err := optim.NewAdam(model.Params(), cfg)
	if err != nil {
		panic(err)
	}
	trainer := &backprop.Trainer{Model: model, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: adam}
	hist, err := backprop.Fit(trainer, data, backprop.Config{Epochs: 300, BatchSize: 4})
	if err != nil {
		panic(err)
	}
	loss, acc := backprop.Evaluate(model, backprop.NewSoftmaxCrossEntropy(), data, 4)
	fmt.Printf("epochs %d, accuracy %.2f, loss below 0.05: %v\n", len(hist.Epochs), acc, loss < 0.05)
	// Output: epochs 300, accuracy 1.00, loss below 0.05: true
}

// The steps of Fit, written out for one batch: forward, loss, seed
// gradient, backward, clip, update.
func ExampleTrainer_Step() {
	rng := rand.New(rand.NewPCG(2, 0))
	model, err := nn.NewSequential(nn.Shape{3}, rng, layers.NewDense(3, 1))
	if err != nil {
		panic(err)
	}
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.1})
	if err != nil {
		panic(err)
	}
	trainer := &backprop.Trainer{Model: model, Loss: backprop.NewMSE(), Optimizer: opt, ClipNorm: 1}
	x := nn.FromSlice([]float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, 4, 3)
	y := nn.FromSlice([]float32{1, 2, 3, 6}, 4, 1) // y = x₀ + 2x₁ + 3x₂
	var first, last float64
	for i := 0; i < 200; i++ {
		loss, err := trainer.Step(x, y)
		if err != nil {
			panic(err)
		}
		if i == 0 {
			first = loss
		}
		last = loss
	}
	fmt.Printf("loss fell from above 1: %v, to below 1e-4: %v\n", first > 1, last < 1e-4)
	// Output: loss fell from above 1: true, to below 1e-4: true
}

// CheckLayer compares a layer's backward pass with finite differences.
func ExampleCheckLayer() {
	rng := rand.New(rand.NewPCG(3, 0))
	dense := layers.NewDense(4, 3)
	if _, err := dense.Build(nn.Shape{4}, rng); err != nil {
		panic(err)
	}
	x := nn.NewTensor(2, 4)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	res := backprop.CheckLayer(dense, x, true, backprop.CheckOptions{Seed: 1})
	fmt.Printf("checked %d elements (8 inputs, 12 weights, 3 biases), passed: %v\n", res.Checked, res.MaxRelErr < 1e-2)
	// Output: checked 23 elements (8 inputs, 12 weights, 3 biases), passed: true
}

// CheckModel checks the gradients of a whole model under a loss, for the
// input and for every parameter of every layer.
func ExampleCheckModel() {
	rng := rand.New(rand.NewPCG(4, 0))
	model, err := nn.NewSequential(nn.Shape{3}, rng,
		layers.NewDense(3, 4), layers.NewTanh(), layers.NewDense(4, 2))
	if err != nil {
		panic(err)
	}
	x := nn.NewTensor(5, 3)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	y := nn.FromSlice([]float32{0, 1, 1, 0, 1}, 5) // class indices
	res := backprop.CheckModel(model, backprop.NewSoftmaxCrossEntropy(), x, y, backprop.CheckOptions{Seed: 1})
	fmt.Printf("checked %d elements (15 inputs, %d parameters), passed: %v\n",
		res.Checked, nn.NumParams(model.Params()), res.MaxRelErr < 1e-2)
	// Output: checked 41 elements (15 inputs, 26 parameters), passed: true
}

// CheckLoss checks a loss's gradient with respect to the prediction; the
// losses compute in float64, so a much tighter check than the default holds.
func ExampleCheckLoss() {
	pred := nn.FromSlice([]float32{0.5, -1.5, 2.2, 0.25}, 4, 1) // residuals 0.5, −1.5, 1.2, −0.75: away from the kinks at ±δ
	target := nn.FromSlice([]float32{0, 0, 1, 1}, 4, 1)
	res := backprop.CheckLoss(backprop.NewHuber(1), pred, target, backprop.CheckOptions{Eps: 1e-3, Floor: 1e-6})
	fmt.Printf("checked %d elements, max relative error below 1e-5: %v\n", res.Checked, res.MaxRelErr < 1e-5)
	// Output: checked 4 elements, max relative error below 1e-5: true
}
