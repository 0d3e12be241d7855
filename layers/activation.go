package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/internal/vec"
	"github.com/descent-ml/descent/nn"
)

// This file holds the activations. Each works on any per-sample shape and
// keeps its own output Y (in its buffer) for the backward pass, never a
// reference to the caller's input. With ⊙ the element-wise product:
//
//	ReLU       y = max(x, 0)                  dX = dY ⊙ [y > 0]
//	LeakyReLU  y = max(x, 0) + α·min(x, 0)    dX = dY ⊙ (y > 0 ? 1 : α)
//	Sigmoid    y = 1 / (1 + e⁻ˣ)              dX = dY ⊙ y ⊙ (1 − y)
//	Tanh       y = tanh(x)                    dX = dY ⊙ (1 − y²)
//	Softmax    y_j = e^(x_j − m) / Σ_k e^(x_k − m), m = max_k x_k, per row
//	           dX = Y ⊙ (dY − Σ_j dY_j·Y_j), per row

var (
	_ nn.Layer = (*ReLU)(nil)
	_ nn.Layer = (*LeakyReLU)(nil)
	_ nn.Layer = (*Sigmoid)(nil)
	_ nn.Layer = (*Tanh)(nil)
	_ nn.Layer = (*Softmax)(nil)
)

// actBase holds what every activation keeps: its per-sample shape, its output
// and input-gradient buffers, and the output of the last Forward.
type actBase struct {
	name  string   // layer name for messages
	in    nn.Shape // per-sample shape; output has the same shape
	y, dx nn.Buffer
	yt    *tensor.Dense // output of the last Forward
	shape []int         // [N, in...] of the last Forward
}

func (a *actBase) build(name string, in nn.Shape) (nn.Shape, error) {
	if len(in) == 0 || in.Size() <= 0 {
		return nil, fmt.Errorf("%s: input shape %v must be non-empty and positive", name, in)
	}
	a.name = name
	a.in = append(nn.Shape(nil), in...)
	a.yt = nil
	return append(nn.Shape(nil), in...), nil
}

// forward checks x and returns its values with the output buffer's.
func (a *actBase) forward(x *tensor.Dense) (xs, ys []float32, y *tensor.Dense) {
	if a.in == nil {
		panic(a.name + ": Forward called before Build")
	}
	n := nn.CheckInput(a.name, x, a.in)
	a.shape = nn.BatchShape(a.shape, n, a.in)
	y = a.y.Get(a.shape...)
	a.yt = y
	return x.Float32s(), y.Float32s(), y
}

// backward checks dy and returns its values, the last output's values and the
// input-gradient buffer's.
func (a *actBase) backward(dy *tensor.Dense) (dys, ys, dxs []float32, dx *tensor.Dense) {
	nn.CheckGrad(a.name, dy, a.yt)
	dx = a.dx.Get(a.shape...)
	return dy.Float32s(), a.yt.Float32s(), dx.Float32s(), dx
}

// ReLU is the rectified linear unit, y = max(x, 0), element by element.
// Large batches are cut into blocks that the calling goroutine and a helper
// goroutine share (see Conv2D).
type ReLU struct {
	actBase
	job     blockJob
	fwd     bool      // the pass in progress: Forward, or Backward
	a, b, c []float32 // its slices: x, y (Forward); dY, y, dX (Backward)
}

// NewReLU returns a ReLU layer.
func NewReLU() *ReLU { return &ReLU{actBase: actBase{name: "ReLU"}} }

// Build accepts any per-sample shape and returns it unchanged.
func (r *ReLU) Build(in nn.Shape, _ *rand.Rand) (nn.Shape, error) { return r.build("ReLU", in) }

// Forward returns y = max(x, 0).
func (r *ReLU) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	xs, ys, y := r.forward(x)
	r.fwd, r.a, r.b, r.c = true, xs, ys[:len(xs)], nil
	runBlocks(&r.job, r, elemBlocks(len(xs)))
	return y
}

// Backward returns dX = dY ⊙ [y > 0]: the gradient passes where the unit was
// active (x > 0, equivalently y > 0) and is zero elsewhere (a NaN y, from a
// NaN x, passes it too).
//
// Whether a unit is active is as good as random from one element to the
// next, so a branch on it would be mispredicted about half the time: the
// loops of internal/vec build a mask from y's bits instead, eight elements
// at a time (see [vec.ReLUGrad]).
func (r *ReLU) Backward(dy *tensor.Dense) *tensor.Dense {
	g, ys, dxs, dx := r.backward(dy)
	r.fwd, r.a, r.b, r.c = false, g, ys[:len(g)], dxs[:len(g)]
	runBlocks(&r.job, r, elemBlocks(len(g)))
	return dx
}

// workBlock computes elements [b·n/blocks, (b+1)·n/blocks) of the current
// pass (see runBlocks).
func (r *ReLU) workBlock(_, b, blocks int) {
	n := len(r.a)
	lo, hi := b*n/blocks, (b+1)*n/blocks
	if r.fwd {
		vec.ReLU(r.b[lo:hi], r.a[lo:hi])
		return
	}
	vec.ReLUGrad(r.c[lo:hi], r.a[lo:hi], r.b[lo:hi])
}

// Params returns nil: ReLU has no parameters.
func (r *ReLU) Params() []*nn.Param { return nil }

// Spec returns ReLU with no attributes.
func (r *ReLU) Spec() nn.Spec { return nn.Spec{Kind: "ReLU"} }

// LeakyReLU is y = x for x > 0 and y = α·x otherwise, element by element.
type LeakyReLU struct {
	actBase
	alpha float64
}

// DefaultLeakyReLUAlpha is the usual negative slope of a leaky ReLU, PyTorch's
// and Keras' default: NewLeakyReLU(DefaultLeakyReLUAlpha).
const DefaultLeakyReLUAlpha = 0.01

// NewLeakyReLU returns a leaky ReLU with negative slope alpha (α ≥ 0, checked
// at Build; see [DefaultLeakyReLUAlpha]).
func NewLeakyReLU(alpha float64) *LeakyReLU {
	return &LeakyReLU{actBase: actBase{name: "LeakyReLU"}, alpha: alpha}
}

// Alpha returns the negative slope α.
func (l *LeakyReLU) Alpha() float64 { return l.alpha }

// Build accepts any per-sample shape and returns it unchanged. It returns an
// error if α is negative or not finite (the backward pass reads the sign of x
// from y, which needs α ≥ 0).
func (l *LeakyReLU) Build(in nn.Shape, _ *rand.Rand) (nn.Shape, error) {
	if !(l.alpha >= 0) || math.IsInf(l.alpha, 0) {
		return nil, fmt.Errorf("LeakyReLU: alpha %g, want a finite value ≥ 0", l.alpha)
	}
	return l.build("LeakyReLU", in)
}

// Forward returns y = max(x, 0) + α·min(x, 0).
func (l *LeakyReLU) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	xs, ys, y := l.forward(x)
	ys = ys[:len(xs)]
	a := float32(l.alpha)
	for i, v := range xs {
		ys[i] = max(v, 0) + a*min(v, 0)
	}
	return y
}

// Backward returns dX = dY ⊙ (y > 0 ? 1 : α); with α ≥ 0, y > 0 exactly
// where x > 0.
func (l *LeakyReLU) Backward(dy *tensor.Dense) *tensor.Dense {
	g, ys, dxs, dx := l.backward(dy)
	ys, dxs = ys[:len(g)], dxs[:len(g)]
	// The slope is chosen between the bit patterns of 1 and α, which the
	// compiler does with a conditional move rather than a branch that the
	// signs of y would mispredict half the time (see ReLU.Backward).
	one, a := math.Float32bits(1), math.Float32bits(float32(l.alpha))
	for i, v := range g {
		s := a
		if !(ys[i] <= 0) {
			s = one
		}
		dxs[i] = math.Float32frombits(s) * v
	}
	return dx
}

// Params returns nil: LeakyReLU has no parameters.
func (l *LeakyReLU) Params() []*nn.Param { return nil }

// Spec returns LeakyReLU with attribute alpha.
func (l *LeakyReLU) Spec() nn.Spec {
	return nn.Spec{Kind: "LeakyReLU", Attrs: map[string]float64{"alpha": l.alpha}}
}

// Sigmoid is the logistic function y = 1 / (1 + e⁻ˣ), element by element.
type Sigmoid struct{ actBase }

// NewSigmoid returns a Sigmoid layer.
func NewSigmoid() *Sigmoid { return &Sigmoid{actBase{name: "Sigmoid"}} }

// Build accepts any per-sample shape and returns it unchanged.
func (s *Sigmoid) Build(in nn.Shape, _ *rand.Rand) (nn.Shape, error) {
	return s.build("Sigmoid", in)
}

// Forward returns y = 1 / (1 + e⁻ˣ). It is computed in float64, where it is
// stable for every finite x: for very negative x, e⁻ˣ overflows to +Inf and
// y = 1/Inf = 0; for very positive x, e⁻ˣ underflows to 0 and y = 1. Neither
// end produces NaN.
func (s *Sigmoid) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	xs, ys, y := s.forward(x)
	ys = ys[:len(xs)]
	for i, v := range xs {
		ys[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return y
}

// Backward returns dX = dY ⊙ y ⊙ (1 − y), since dσ/dx = σ(x)·(1 − σ(x)).
func (s *Sigmoid) Backward(dy *tensor.Dense) *tensor.Dense {
	g, ys, dxs, dx := s.backward(dy)
	ys, dxs = ys[:len(g)], dxs[:len(g)]
	for i, v := range g {
		dxs[i] = v * ys[i] * (1 - ys[i])
	}
	return dx
}

// Params returns nil: Sigmoid has no parameters.
func (s *Sigmoid) Params() []*nn.Param { return nil }

// Spec returns Sigmoid with no attributes.
func (s *Sigmoid) Spec() nn.Spec { return nn.Spec{Kind: "Sigmoid"} }

// Tanh is the hyperbolic tangent y = tanh(x), element by element.
type Tanh struct{ actBase }

// NewTanh returns a Tanh layer.
func NewTanh() *Tanh { return &Tanh{actBase{name: "Tanh"}} }

// Build accepts any per-sample shape and returns it unchanged.
func (t *Tanh) Build(in nn.Shape, _ *rand.Rand) (nn.Shape, error) { return t.build("Tanh", in) }

// Forward returns y = tanh(x).
func (t *Tanh) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	xs, ys, y := t.forward(x)
	ys = ys[:len(xs)]
	for i, v := range xs {
		ys[i] = float32(math.Tanh(float64(v)))
	}
	return y
}

// Backward returns dX = dY ⊙ (1 − y²), since d tanh(x)/dx = 1 − tanh²(x).
func (t *Tanh) Backward(dy *tensor.Dense) *tensor.Dense {
	g, ys, dxs, dx := t.backward(dy)
	ys, dxs = ys[:len(g)], dxs[:len(g)]
	for i, v := range g {
		dxs[i] = v * (1 - ys[i]*ys[i])
	}
	return dx
}

// Params returns nil: Tanh has no parameters.
func (t *Tanh) Params() []*nn.Param { return nil }

// Spec returns Tanh with no attributes.
func (t *Tanh) Spec() nn.Spec { return nn.Spec{Kind: "Tanh"} }

// Softmax turns each row along the last axis into probabilities:
//
//	y_j = e^(x_j − m) / Σ_k e^(x_k − m),  m = max_k x_k.
//
// Subtracting the row maximum m does not change the result but keeps every
// exponent ≤ 0, so nothing overflows. For per-sample shape [C] a row is one
// sample; for [T, C] each of the T rows of C values is normalised separately.
type Softmax struct{ actBase }

// NewSoftmax returns a Softmax layer over the last axis.
func NewSoftmax() *Softmax { return &Softmax{actBase{name: "Softmax"}} }

// Build accepts any per-sample shape and returns it unchanged.
func (s *Softmax) Build(in nn.Shape, _ *rand.Rand) (nn.Shape, error) {
	return s.build("Softmax", in)
}

// Forward returns the softmax of every row of x along the last axis.
func (s *Softmax) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	xs, ys, y := s.forward(x)
	c := s.in[len(s.in)-1]
	for r := 0; r+c <= len(xs); r += c {
		xr, yr := xs[r:r+c], ys[r:r+c]
		m := xr[0]
		for _, v := range xr[1:] {
			m = max(m, v)
		}
		var sum float64
		for j, v := range xr {
			e := math.Exp(float64(v - m))
			yr[j] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		for j := range yr {
			yr[j] *= inv
		}
	}
	return y
}

// Backward returns, for every row,
//
//	dX = Y ⊙ (dY − Σ_j dY_j·Y_j)
//
// which is dX_i = Σ_j dY_j · ∂y_j/∂x_i with ∂y_j/∂x_i = y_j·([i = j] − y_i).
func (s *Softmax) Backward(dy *tensor.Dense) *tensor.Dense {
	g, ys, dxs, dx := s.backward(dy)
	c := s.in[len(s.in)-1]
	for r := 0; r+c <= len(g); r += c {
		gr, yr, dr := g[r:r+c], ys[r:r+c], dxs[r:r+c]
		var dot float64
		for j, v := range gr {
			dot += float64(v) * float64(yr[j])
		}
		d := float32(dot)
		for j, v := range gr {
			dr[j] = yr[j] * (v - d)
		}
	}
	return dx
}

// Params returns nil: Softmax has no parameters.
func (s *Softmax) Params() []*nn.Param { return nil }

// Spec returns Softmax with no attributes.
func (s *Softmax) Spec() nn.Spec { return nn.Spec{Kind: "Softmax"} }
