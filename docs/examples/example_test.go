package examples_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// circle returns n points drawn uniformly from the square [−2, 2]², each
// labelled 1 if it lies inside the circle of radius 1.2 around the origin
// and 0 outside: x has shape [n 2], y holds the class indices, shape [n].
func circle(n int, seed uint64) *datasets.TensorDataset {
	rng := rand.New(rand.NewPCG(seed, 0))
	x, y := nn.NewTensor(n, 2), nn.NewTensor(n)
	xs, ys := x.Float32s(), y.Float32s()
	for i := range n {
		a, b := 4*rng.Float64()-2, 4*rng.Float64()-2
		xs[2*i], xs[2*i+1] = float32(a), float32(b)
		if a*a+b*b < 1.2*1.2 {
			ys[i] = 1
		}
	}
	d, err := datasets.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	return d
}

// predict returns the class with the largest output for every row of x.
func predict(model *nn.Sequential, x *tensor.Dense) []int {
	out := model.Forward(x, false) // inference mode: no dropout, running BatchNorm statistics
	classes := model.OutputShape()[0]
	scores := out.Float32s()
	pred := make([]int, x.Shape()[0])
	for i := range pred {
		row := scores[i*classes : (i+1)*classes]
		pred[i] = slices.Index(row, slices.Max(row))
	}
	return pred
}

func Example_build() {
	rng := rand.New(rand.NewPCG(1, 0)) // the seed fixes the initial weights
	model, err := nn.NewSequential(nn.Shape{2}, rng,
		layers.NewDense(2, 16),
		layers.NewTanh(),
		layers.NewDense(16, 2), // two logits: outside, inside
	)
	if err != nil {
		panic(err)
	}
	fmt.Print(model.Summary())

	// Wiring mistakes are errors, reported when the model is built.
	_, err = nn.NewSequential(nn.Shape{1, 28, 28}, rng, layers.NewDense(784, 10))
	fmt.Println(err)
	// Output:
	// #   layer                                                    output           params
	//     input                                                    [2]
	// 0   Dense(in=2, out=16)                                      [16]             48
	// 1   Tanh()                                                   [16]             0
	// 2   Dense(in=16, out=2)                                      [2]              34
	// total parameters: 82
	// nn: layer 0 (Dense): input [1 28 28]: Dense wants a flat input [features], got [1 28 28]: add Flatten before it
}

func Example_trainLoop() {
	train, test := circle(1000, 1), circle(500, 2)
	model, err := nn.NewSequential(nn.Shape{2}, rand.New(rand.NewPCG(1, 0)),
		layers.NewDense(2, 16), layers.NewTanh(), layers.NewDense(16, 2))
	if err != nil {
		panic(err)
	}
	const epochs, batch = 30, 50
	loss := backprop.NewSoftmaxCrossEntropy()
	cfg := optim.DefaultAdam()
	cfg.LR = 0.02
	opt, err := optim.NewAdam(model.Params(), cfg)
	if err != nil {
		panic(err)
	}
	sched, err := optim.NewCosineLR(cfg.LR, 0, epochs)
	if err != nil {
		panic(err)
	}
	loader, err := datasets.NewLoader(train.Len(), batch, true, false, rand.New(rand.NewPCG(2, 0)))
	if err != nil {
		panic(err)
	}
	x, y := nn.NewTensor(batch, 2), nn.NewTensor(batch) // reused by every batch

	for epoch := range epochs {
		loader.Reset() // a new order every epoch
		sum := 0.0
		for {
			idx, ok := loader.Next()
			if !ok {
				break
			}
			train.Batch(x, y, idx)                // copy the samples into the batch tensors
			model.ZeroGrad()                      // gradients accumulate: clear them first
			out := model.Forward(x, true)         // forward, in training mode
			sum += loss.Forward(out, y)           // the mean loss over the batch
			model.BackwardParams(loss.Backward()) // backward from the seed dLoss/dout
			if _, err := optim.ClipNorm(model.Params(), 5); err != nil {
				panic(err) // a NaN or infinite gradient: stop
			}
			opt.Step() // update every parameter
		}
		opt.SetLR(sched.Step(sum)) // the rate for the next epoch
		if epoch == 0 || epoch == epochs-1 {
			fmt.Printf("epoch %2d: mean loss below 0.1: %v\n", epoch, sum/float64(loader.Batches()) < 0.1)
		}
	}
	_, acc := backprop.Evaluate(model, loss, test, 0)
	fmt.Printf("test accuracy above 95%%: %v\n", acc > 0.95)
	// Output:
	// epoch  0: mean loss below 0.1: false
	// epoch 29: mean loss below 0.1: true
	// test accuracy above 95%: true
}

func Example_saveLoadPredict() {
	train := circle(1000, 1)
	model, err := nn.NewSequential(nn.Shape{2}, rand.New(rand.NewPCG(1, 0)),
		layers.NewDense(2, 16), layers.NewTanh(), layers.NewDense(16, 2))
	if err != nil {
		panic(err)
	}
	opt, err := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 0.02, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		panic(err)
	}
	trainer := &backprop.Trainer{Model: model, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: opt}
	if _, err := backprop.Fit(trainer, train, backprop.Config{Epochs: 30, BatchSize: 50, Shuffle: true, Seed: 2}); err != nil {
		panic(err)
	}

	dir, err := os.MkdirTemp("", "descent-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "circle.bin")
	meta := map[string][]byte{"task": []byte("inside the circle of radius 1.2")}
	if err := nn.SaveFile(path, model, meta); err != nil { // atomic: temporary file, sync, rename
		panic(err)
	}

	loaded, meta, err := nn.LoadFile(path, layers.FromSpec)
	if err != nil {
		panic(err)
	}
	points := nn.FromSlice([]float32{
		0, 0, // the centre: inside
		0.5, -0.5, // inside
		1.9, 1.9, // a corner: outside
		-1.5, 0, // outside
	}, 4, 2)
	fmt.Println("task:", string(meta["task"]))
	fmt.Println("predicted classes:", predict(loaded, points))
	fmt.Println("same as the saved model:", slices.Equal(predict(loaded, points), predict(model, points)))
	// Output:
	// task: inside the circle of radius 1.2
	// predicted classes: [1 1 0 0]
	// same as the saved model: true
}

// PReLU is a parametric ReLU: y = x where x > 0 and y = a·x elsewhere, with
// one learned slope a per feature (He et al. 2015). For an input x of shape
// [N, F]:
//
//	y[i, j]  = x[i, j]           if x[i, j] > 0, else a[j]·x[i, j]
//	dX[i, j] = dY[i, j]          if x[i, j] > 0, else a[j]·dY[i, j]
//	da[j]   += Σ_i dY[i, j]·x[i, j]   over the rows where x[i, j] ≤ 0
type PReLU struct {
	a     *nn.Param     // the slopes, shape [F]
	in    nn.Shape      // [F]
	x, y  *tensor.Dense // the last input and output, for Backward
	out   nn.Buffer     // owns the output, reused from batch to batch
	dx    nn.Buffer     // owns the input gradient
	shape []int
}

// NewPReLU returns a PReLU layer; the number of features comes from Build.
func NewPReLU() *PReLU { return &PReLU{} }

// Build checks that the input is flat, creates a and sets every slope to
// 0.25, PyTorch's starting value.
func (l *PReLU) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("PReLU wants a flat input [features], got %v", in)
	}
	l.in = slices.Clone(in)
	l.a = nn.NewParam("a", in[0])
	for j := range l.a.Data() {
		l.a.Data()[j] = 0.25
	}
	return slices.Clone(in), nil
}

// Forward returns y for x of shape [N, F], in a buffer owned by the layer.
func (l *PReLU) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	n := nn.CheckInput("PReLU", x, l.in) // panics, naming the layer, on a wrong shape
	l.shape = nn.BatchShape(l.shape, n, l.in)
	y := l.out.Get(l.shape...)
	xs, ys, a, f := x.Float32s(), y.Float32s(), l.a.Data(), l.in[0]
	for i, v := range xs {
		if v > 0 {
			ys[i] = v
		} else {
			ys[i] = a[i%f] * v
		}
	}
	l.x, l.y = x, y
	return y
}

// Backward takes dY, adds da into the gradient of a (+=, never =) and
// returns dX.
func (l *PReLU) Backward(dy *tensor.Dense) *tensor.Dense {
	nn.CheckGrad("PReLU", dy, l.y)
	dx := l.dx.Get(l.shape...)
	g, xs, dxs := dy.Float32s(), l.x.Float32s(), dx.Float32s()
	a, da, f := l.a.Data(), l.a.GradData(), l.in[0]
	for i, v := range g {
		if xs[i] > 0 {
			dxs[i] = v
		} else {
			dxs[i] = a[i%f] * v
			da[i%f] += v * xs[i]
		}
	}
	return dx
}

// Params returns the slopes (nil before Build).
func (l *PReLU) Params() []*nn.Param {
	if l.a == nil {
		return nil
	}
	return []*nn.Param{l.a}
}

// Spec describes the layer for the model file: PReLU has no settings.
func (l *PReLU) Spec() nn.Spec { return nn.Spec{Kind: "PReLU"} }

var _ nn.Layer = (*PReLU)(nil) // the compiler checks the interface

func Example_checkLayer() {
	rng := rand.New(rand.NewPCG(1, 0))
	prelu := NewPReLU()
	if _, err := prelu.Build(nn.Shape{5}, rng); err != nil {
		panic(err)
	}
	x := nn.NewTensor(4, 5)
	for i := range x.Float32s() {
		v := rng.NormFloat64()
		if math.Abs(v) < 0.1 { // keep away from the kink at 0, where there is no derivative
			v = math.Copysign(0.1+math.Abs(v), v)
		}
		x.Float32s()[i] = float32(v)
	}
	res := backprop.CheckLayer(prelu, x, true, backprop.CheckOptions{Seed: 1})
	fmt.Printf("%d elements checked (20 inputs, 5 slopes), max relative error below 1e-2: %v\n",
		res.Checked, res.MaxRelErr < 1e-2)

	// The same check on a layer with a bug in its backward pass.
	buggy := buggyPReLU{NewPReLU()}
	if _, err := buggy.Build(nn.Shape{5}, rng); err != nil {
		panic(err)
	}
	res = backprop.CheckLayer(buggy, x, true, backprop.CheckOptions{Seed: 1})
	fmt.Printf("buggy layer passes: %v (worst element: %s)\n", res.MaxRelErr < 1e-2, res.Where[:7])
	// Output:
	// 25 elements checked (20 inputs, 5 slopes), max relative error below 1e-2: true
	// buggy layer passes: false (worst element: param a)
}

// buggyPReLU is PReLU with a classic mistake in Backward: it assigns to da
// instead of adding to it, so only the last row's contribution survives.
type buggyPReLU struct{ *PReLU }

func (l buggyPReLU) Backward(dy *tensor.Dense) *tensor.Dense {
	dx := l.PReLU.Backward(dy)
	g, xs, da, f := dy.Float32s(), l.x.Float32s(), l.a.GradData(), l.in[0]
	clear(da)
	for i, v := range g {
		if xs[i] <= 0 {
			da[i%f] = v * xs[i] // the bug: = instead of +=
		}
	}
	return dx
}

func Example_customLayerModel() {
	build := func(s nn.Spec) (nn.Layer, error) { // turns a saved Spec back into a layer
		if s.Kind == "PReLU" {
			if len(s.Attrs) != 0 {
				return nil, fmt.Errorf("PReLU takes no attributes, got %v", s)
			}
			return NewPReLU(), nil
		}
		return layers.FromSpec(s) // descent's own layers
	}

	train, test := circle(1000, 1), circle(500, 2)
	model, err := nn.NewSequential(nn.Shape{2}, rand.New(rand.NewPCG(1, 0)),
		layers.NewDense(2, 16), NewPReLU(), layers.NewDense(16, 2))
	if err != nil {
		panic(err)
	}
	cfg := optim.DefaultAdam()
	cfg.LR = 0.02
	opt, err := optim.NewAdam(model.Params(), cfg)
	if err != nil {
		panic(err)
	}
	loss := backprop.NewSoftmaxCrossEntropy()
	trainer := &backprop.Trainer{Model: model, Loss: loss, Optimizer: opt}
	if _, err := backprop.Fit(trainer, train, backprop.Config{Epochs: 40, BatchSize: 50, Shuffle: true, Seed: 2}); err != nil {
		panic(err)
	}
	_, acc := backprop.Evaluate(model, loss, test, 0)
	fmt.Printf("test accuracy above 95%%: %v\n", acc > 0.95)

	dir, err := os.MkdirTemp("", "descent-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "prelu.bin")
	if err := nn.SaveFile(path, model, nil); err != nil {
		panic(err)
	}
	loaded, _, err := nn.LoadFile(path, build)
	if err != nil {
		panic(err)
	}
	fmt.Println("loaded:", loaded.Layers[1].Spec(), "with slopes", loaded.Params()[2])
	_, _, err = nn.LoadFile(path, layers.FromSpec) // descent's builder does not know PReLU
	fmt.Println("layers.FromSpec alone fails:", err != nil)
	// Output:
	// test accuracy above 95%: true
	// loaded: PReLU() with slopes a[16]
	// layers.FromSpec alone fails: true
}
