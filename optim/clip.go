package optim

import (
	"fmt"
	"math"

	"github.com/descent-ml/descent/nn"
)

// Gradient clipping runs between the backward pass and the optimizer step:
//
//	model.Backward(dLoss)
//	if _, err := optim.ClipNorm(params, 1); err != nil { … }
//	opt.Step()
//
// Parameters without a gradient (non-trainable state) are skipped. Neither
// function allocates.

// ClipValue clamps every gradient element to [−v, v] in place (±Inf becomes
// ±v). If any gradient element is NaN it returns an error naming the first
// such parameter and index and leaves every gradient untouched, so that a NaN
// is never spread silently. It also returns an error if v is negative or NaN.
// Past those checks it is [ClipToValue].
func ClipValue(params []*nn.Param, v float64) error {
	if !(v >= 0) {
		return fmt.Errorf("optim: ClipValue: clip value %g must be ≥ 0", v)
	}
	for i, p := range params {
		if p.Grad == nil {
			continue
		}
		for j, g := range p.Grad.Float32s() {
			if g != g {
				return fmt.Errorf("optim: ClipValue: parameter %d (%s): gradient is NaN at index %d", i, p, j)
			}
		}
	}
	ClipToValue(params, v)
	return nil
}

// ClipToValue is the clamping half of [ClipValue], for a caller that has
// already checked the gradients (backprop.Trainer does, before every step):
// it clamps every gradient element to [−v, v] in place, ±Inf becoming ±v.
// It does not look for NaN, which it leaves as NaN, and does not check v,
// which must be ≥ 0 (+Inf clamps nothing). It allocates nothing.
func ClipToValue(params []*nn.Param, v float64) {
	if math.IsInf(v, 1) {
		return // nothing to clamp
	}
	hi := float32(v)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		g := p.Grad.Float32s()
		for j, x := range g {
			g[j] = min(max(x, -hi), hi)
		}
	}
}

// ClipNorm rescales the gradients so that their global L2 norm, taken over
// all parameters as one vector, is at most maxNorm, as PyTorch's
// torch.nn.utils.clip_grad_norm_ does:
//
//	‖g‖ = √(Σ_params Σ_i g_i²)            (in float64)
//	if ‖g‖ > maxNorm:  g ← g · maxNorm / (‖g‖ + 1e-6)
//
// It returns ‖g‖ before clipping. Each gradient keeps its direction; a zero
// gradient stays zero. If ‖g‖ is not finite it returns an error naming the
// first parameter holding a NaN or ±Inf, and leaves the gradients untouched.
// A negative or NaN maxNorm is an error too; +Inf never clips.
func ClipNorm(params []*nn.Param, maxNorm float64) (norm float64, err error) {
	if !(maxNorm >= 0) {
		return 0, fmt.Errorf("optim: ClipNorm: max norm %g must be ≥ 0", maxNorm)
	}
	norm = GradNorm(params)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		for i, p := range params {
			if p.Grad == nil {
				continue
			}
			g := p.Grad.Float32s()
			if j := FirstNonFinite(g); j >= 0 {
				return norm, fmt.Errorf("optim: ClipNorm: parameter %d (%s): gradient is %g at index %d", i, p, g[j], j)
			}
		}
		return norm, fmt.Errorf("optim: ClipNorm: gradient norm is %g", norm) // unreachable for float32 data
	}
	ClipToNorm(params, norm, maxNorm)
	return norm, nil
}

// ClipToNorm is the second half of [ClipNorm], for a caller that has
// already measured norm = [GradNorm](params) (backprop.Trainer does, in the
// same pass that checks the gradients are finite): if norm > maxNorm it
// multiplies every gradient by maxNorm / (norm + 1e−6), and otherwise does
// nothing. norm and maxNorm must be finite and non-negative; it does not
// check them. It allocates nothing.
func ClipToNorm(params []*nn.Param, norm, maxNorm float64) {
	if norm <= maxNorm {
		return
	}
	scale := float32(maxNorm / (norm + 1e-6))
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		g := p.Grad.Float32s()
		for j := range g {
			g[j] *= scale
		}
	}
}

// GradNorm returns the global L2 norm √(Σ g²) of all gradients taken as one
// vector, accumulated in float64 (squares of float32 values cannot overflow
// there). A NaN or ±Inf gradient element makes it NaN or +Inf. Parameters
// without a gradient are skipped.
func GradNorm(params []*nn.Param) float64 {
	var s float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		for _, g := range p.Grad.Float32s() {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}
