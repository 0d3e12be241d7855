package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// parseHidden reads "512,512" into []int{512, 512}.
func parseHidden(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("hidden size %q is not a positive integer", f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// buildLayers returns the layers of the named model for 1×28×28 inputs and
// 10 classes. dropout < 0 means the model's own default. The convolutions
// apply their ReLU themselves (layers.WithReLU): the same function as a ReLU
// layer after each, in less time.
//
//	mlp    Flatten → (Dense → ReLU [→ Dropout]) per hidden size → Dense(10)
//	lenet  LeNet-5 (ReLU, max-pool): conv 6@5×5 pad 2, pool, conv 16@5×5, pool, 120, 84, 10
//	cnn    Keras mnist_cnn: conv 32@3×3, conv 64@3×3, max-pool, dropout .25, dense 128, dropout .5, 10
func buildLayers(model string, hidden []int, dropout float64) ([]nn.Layer, error) {
	switch model {
	case "mlp":
		ls := []nn.Layer{layers.NewFlatten()}
		in := 784
		for _, h := range hidden {
			ls = append(ls, layers.NewDense(in, h), layers.NewReLU())
			if dropout > 0 {
				ls = append(ls, layers.NewDropout(dropout))
			}
			in = h
		}
		return append(ls, layers.NewDense(in, 10)), nil
	case "lenet":
		ls := []nn.Layer{
			layers.NewConv2D(1, 6, 5, layers.Padding(2), layers.WithReLU()), layers.NewMaxPool2D(2, 2),
			layers.NewConv2D(6, 16, 5, layers.WithReLU()), layers.NewMaxPool2D(2, 2),
			layers.NewFlatten(),
			layers.NewDense(16*5*5, 120), layers.NewReLU(),
		}
		if dropout > 0 {
			ls = append(ls, layers.NewDropout(dropout))
		}
		return append(ls, layers.NewDense(120, 84), layers.NewReLU(), layers.NewDense(84, 10)), nil
	case "cnn":
		d1, d2 := 0.25, 0.5
		if dropout >= 0 {
			d1, d2 = dropout, dropout
		}
		ls := []nn.Layer{
			layers.NewConv2D(1, 32, 3, layers.WithReLU()),
			layers.NewConv2D(32, 64, 3, layers.WithReLU()),
			layers.NewMaxPool2D(2, 2),
		}
		if d1 > 0 {
			ls = append(ls, layers.NewDropout(d1))
		}
		ls = append(ls, layers.NewFlatten(), layers.NewDense(64*12*12, 128), layers.NewReLU())
		if d2 > 0 {
			ls = append(ls, layers.NewDropout(d2))
		}
		return append(ls, layers.NewDense(128, 10)), nil
	}
	return nil, fmt.Errorf("unknown model %q (want mlp, lenet or cnn)", model)
}
