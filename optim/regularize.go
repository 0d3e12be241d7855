package optim

import (
	"fmt"
	"math"

	"github.com/descent-ml/descent/nn"
)

// L1 adds the gradient of the penalty λ Σ|θ| to every parameter's gradient,
//
//	g ← g + λ·sign(θ)              (sign(0) = 0)
//
// and returns the penalty λ Σ|θ| (summed in float64), so that the caller can
// report the regularised loss. Call it after the backward pass and before
// the optimizer step, usually on [Weights](params). Parameters without a
// gradient are skipped. It panics if lambda is negative or NaN.
func L1(params []*nn.Param, lambda float64) float64 {
	checkLambda("L1", lambda)
	l := float32(lambda)
	var sum float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		w := p.Value.Float32s()
		g := p.Grad.Float32s()[:len(w)]
		for j, x := range w {
			sum += math.Abs(float64(x))
			switch {
			case x > 0:
				g[j] += l
			case x < 0:
				g[j] -= l
			}
		}
	}
	return lambda * sum
}

// L2 adds the gradient of the penalty (λ/2) Σθ² to every parameter's
// gradient,
//
//	g ← g + λθ
//
// and returns the penalty (λ/2) Σθ² (summed in float64). The gradient change
// is exactly SGD's (and Adam's) weight decay λ: use one or the other, not
// both. Call it after the backward pass and before the optimizer step,
// usually on [Weights](params). Parameters without a gradient are skipped.
// It panics if lambda is negative or NaN.
func L2(params []*nn.Param, lambda float64) float64 {
	checkLambda("L2", lambda)
	l := float32(lambda)
	var sum float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		w := p.Value.Float32s()
		g := p.Grad.Float32s()[:len(w)]
		for j, x := range w {
			sum += float64(x) * float64(x)
			g[j] += l * x
		}
	}
	return lambda / 2 * sum
}

// Weights returns, in order, the parameters of rank ≥ 2: the weight matrices
// and kernels that are conventionally regularised. Biases, BatchNorm's γ and
// β and other vectors are left out.
func Weights(params []*nn.Param) []*nn.Param {
	var ws []*nn.Param
	for _, p := range params {
		if p != nil && p.Value != nil && p.Value.Dims() >= 2 {
			ws = append(ws, p)
		}
	}
	return ws
}

func checkLambda(fn string, lambda float64) {
	if !(lambda >= 0) || math.IsInf(lambda, 1) {
		panic(fmt.Sprintf("optim: %s: lambda %g must be finite and ≥ 0", fn, lambda))
	}
}
