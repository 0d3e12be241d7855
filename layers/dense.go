package layers

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/internal/gemm"
	"github.com/descent-ml/descent/nn"
)

var (
	_ nn.Layer           = (*Dense)(nil)
	_ nn.ParamBackwarder = (*Dense)(nil)
)

// Dense is a fully connected layer. For a batch X of shape [N, in] it computes
//
//	Y = X · W + b
//
// with weights W of shape [in, out] and bias b of shape [out], added to every
// row. Its input must be flat: put a [Flatten] after convolutions.
//
// Dense keeps a reference to its input X for the backward pass, so the input
// must not be modified between Forward and the matching Backward.
type Dense struct {
	// Init fills W at Build, with fanIn = in and fanOut = out. NewDense sets
	// it to [nn.GlorotUniform]; nil also means GlorotUniform. The bias starts
	// at zero.
	Init nn.Initializer

	in, out int
	name    string // "Dense(784→128)", for messages
	w, b    *nn.Param
	params  []*nn.Param
	inS     nn.Shape      // [in]
	outS    nn.Shape      // [out]
	x       *tensor.Dense // input of the last Forward (aliases the caller's tensor)
	y, dx   nn.Buffer
	yt      *tensor.Dense // output of the last Forward
	shape   []int         // scratch for batch shapes
}

// NewDense returns a fully connected layer from in to out features. An in of
// 0 means "take it from the input shape at Build".
func NewDense(in, out int) *Dense {
	return &Dense{Init: nn.GlorotUniform, in: in, out: out}
}

// In returns the number of input features (0 before Build if it is inferred).
func (d *Dense) In() int { return d.in }

// Out returns the number of output features.
func (d *Dense) Out() int { return d.out }

// W returns the weight parameter, of shape [in, out] (nil before Build).
func (d *Dense) W() *nn.Param { return d.w }

// B returns the bias parameter, of shape [out] (nil before Build).
func (d *Dense) B() *nn.Param { return d.b }

// Build checks that the per-sample input is flat with in features (taking in
// from it when NewDense was given 0), creates W and b, and initialises W with
// d.Init from rng.
func (d *Dense) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	if d.out <= 0 {
		return nil, fmt.Errorf("Dense: %d output features, want at least 1", d.out)
	}
	if d.in < 0 {
		return nil, fmt.Errorf("Dense: %d input features, want at least 1 (or 0 to infer)", d.in)
	}
	if len(in) != 1 {
		return nil, fmt.Errorf("Dense wants a flat input [features], got %v: add Flatten before it", in)
	}
	if d.in != 0 && in[0] != d.in {
		return nil, fmt.Errorf("Dense(%d→%d) expects %d input features, got %d", d.in, d.out, d.in, in[0])
	}
	if in[0] <= 0 {
		return nil, fmt.Errorf("Dense: input shape %v has no features", in)
	}
	if rng == nil {
		return nil, fmt.Errorf("Dense(%d→%d): Build needs a random source", in[0], d.out)
	}
	d.in = in[0]
	d.name = fmt.Sprintf("Dense(%d→%d)", d.in, d.out)
	d.w = nn.NewParam("W", d.in, d.out)
	d.b = nn.NewParam("b", d.out)
	d.params = []*nn.Param{d.w, d.b}
	d.inS, d.outS = nn.Shape{d.in}, nn.Shape{d.out}
	initW := d.Init
	if initW == nil {
		initW = nn.GlorotUniform
	}
	initW(d.w.Data(), d.in, d.out, rng)
	d.x, d.yt = nil, nil
	return nn.Shape{d.out}, nil
}

// Forward returns Y = X · W + b for x of shape [N, in]. The output has shape
// [N, out] and is owned by the layer.
func (d *Dense) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if d.w == nil {
		panic("Dense: Forward called before Build")
	}
	n := nn.CheckInput(d.name, x, d.inS)
	d.shape = nn.BatchShape(d.shape, n, d.outS)
	y := d.y.Get(d.shape...)
	yd, b := y.Float32s(), d.b.Data()
	// Y = b in every row, then Y += X · W.
	for i := 0; i < n; i++ {
		copy(yd[i*d.out:(i+1)*d.out], b)
	}
	gemm.Sgemm(false, false, n, d.out, d.in, 1, x.Float32s(), d.in, d.w.Data(), d.out, 1, yd, d.out)
	d.x, d.yt = x, y
	return y
}

// Backward takes dY of shape [N, out], accumulates the parameter gradients
// and returns dX of shape [N, in]:
//
//	dW += Xᵀ · dY    ([in, N] · [N, out])
//	db += Σ_rows dY  (sum over the batch)
//	dX  = dY · Wᵀ    ([N, out] · [out, in])
func (d *Dense) Backward(dy *tensor.Dense) *tensor.Dense {
	d.BackwardParams(dy)
	n := dy.Shape()[0]

	// dX = dY · Wᵀ
	d.shape = nn.BatchShape(d.shape, n, d.inS)
	dx := d.dx.Get(d.shape...)
	gemm.Sgemm(false, true, n, d.in, d.out, 1, dy.Float32s(), d.out, d.w.Data(), d.out, 0, dx.Float32s(), d.in)
	return dx
}

// BackwardParams accumulates dW and db as Backward does, without computing
// dX (see [nn.ParamBackwarder]).
func (d *Dense) BackwardParams(dy *tensor.Dense) {
	nn.CheckGrad(d.name, dy, d.yt)
	n := dy.Shape()[0]
	g := dy.Float32s()

	// dW += Xᵀ · dY
	gemm.Sgemm(true, false, d.in, d.out, n, 1, d.x.Float32s(), d.in, g, d.out, 1, d.w.GradData(), d.out)

	// db += Σ_rows dY
	db := d.b.GradData()
	for i := 0; i < n; i++ {
		row := g[i*d.out : (i+1)*d.out]
		for j, v := range row {
			db[j] += v
		}
	}
}

// Params returns W and b (nil before Build).
func (d *Dense) Params() []*nn.Param { return d.params }

// Spec returns Dense with attributes in and out.
func (d *Dense) Spec() nn.Spec {
	return nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": float64(d.in), "out": float64(d.out)}}
}
