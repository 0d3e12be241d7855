package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// mnistData is the part of MNIST the optimizer race trains and tests on.
type mnistData struct {
	train datasets.Dataset // the first trainImages training images
	test  *datasets.Images
}

// trainImages is how many training images each optimizer sees per epoch.
const trainImages = 10000

// loadMNIST reads MNIST from dir, standardised as cmd/mnist does, and keeps
// the first trainImages training images. It never downloads: missing files
// are an error that says where it looked and how to supply them.
func loadMNIST(dir string) (*mnistData, error) {
	train, test, err := datasets.MNIST().Load(dir)
	if err != nil {
		return nil, err
	}
	train.Mean, train.Std = datasets.MNIST().Mean, datasets.MNIST().Std
	test.Mean, test.Std = train.Mean, train.Std
	idx := make([]int, trainImages)
	for i := range idx {
		idx[i] = i
	}
	sub, err := datasets.NewSubset(train, idx)
	if err != nil {
		return nil, err
	}
	return &mnistData{train: sub, test: test}, nil
}

// mlp builds cmd/mnist's default model, Flatten → Dense(784→128) → ReLU →
// Dense(128→10), always from the same seed, so that every optimizer starts
// from the same weights.
func mlp() (*nn.Sequential, error) {
	return nn.NewSequential(nn.Shape{1, 28, 28}, rand.New(rand.NewPCG(1, 1)),
		layers.NewFlatten(), layers.NewDense(784, 128), layers.NewReLU(), layers.NewDense(128, 10))
}

// optimizerCurves draws docs/images/mnist-optimizers.png: the training loss
// of the MLP, batch by batch (averaged over windows of 10 batches), for 2
// epochs over trainImages images with each optimizer at cmd/mnist's
// default learning rate for it (cli.DefaultLR), and its accuracy on the
// 10,000 test images afterwards.
func optimizerCurves(path string, data *mnistData) ([]string, error) {
	const epochs, batch, window = 2, 64, 10
	p := logPlot(fmt.Sprintf("MNIST MLP 784-128-10: %d epochs over %d images, batch %d", epochs, trainImages, batch),
		"step (mini-batch)", fmt.Sprintf("loss, mean of %d batches", window))
	var report []string
	for i, name := range cli.Optimizers() {
		model, err := mlp()
		if err != nil {
			return nil, err
		}
		lr := cli.DefaultLR(name)
		opt, err := cli.NewOptimizer(name, model.Params(), lr, -1)
		if err != nil {
			return nil, err
		}
		var losses []float64
		rec := cli.BatchFunc(func(b backprop.BatchInfo) { losses = append(losses, b.Loss) })
		loss := backprop.NewSoftmaxCrossEntropy()
		tr := &backprop.Trainer{Model: model, Loss: loss, Optimizer: opt}
		_, err = backprop.Fit(tr, data.train, backprop.Config{
			Epochs: epochs, BatchSize: batch, Shuffle: true, Seed: 1, Callbacks: []backprop.Callback{rec}})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		_, acc := backprop.Evaluate(model, loss, data.test, 1000)
		var pts plotter.XYs
		for lo := 0; lo < len(losses); lo += window {
			hi := min(lo+window, len(losses))
			s := 0.0
			for _, v := range losses[lo:hi] {
				s += v
			}
			pts = append(pts, plotter.XY{X: float64(hi), Y: s / float64(hi-lo)})
		}
		if err := addLine(p, pts, i, fmt.Sprintf("%s γ=%g: test %.1f%%", name, lr, 100*acc)); err != nil {
			return nil, err
		}
		last := pts[len(pts)-1].Y
		report = append(report, fmt.Sprintf("%-9s γ=%-6g last loss %.4f, test accuracy %.2f%%", name, lr, last, 100*acc))
		if math.IsNaN(last) {
			return nil, fmt.Errorf("%s: the loss is NaN", name)
		}
	}
	return report, savePlot(path, p, 7*vg.Inch, 4.5*vg.Inch)
}

// mlpCurves regenerates docs/images/mnist-mlp-curves.png, the README's
// picture, by running the command that made it, go run ./cmd/mnist, with
// its default settings (10 epochs of the MLP on all 55,000 training
// images), drawing the plot and saving no model.
func mlpCurves(root, path, dataDir string) ([]string, error) {
	cmd := exec.Command("go", "run", "./cmd/mnist", "-data", dataDir, "-download=false",
		"-quiet", "-save", "-", "-plot", path)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go run ./cmd/mnist: %w", err)
	}
	var report []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.HasPrefix(line, "test accuracy") || strings.HasPrefix(line, "model ") {
			report = append(report, line)
		}
	}
	return report, nil
}
