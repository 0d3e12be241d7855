package optim

import (
	"errors"

	"github.com/descent-ml/descent/nn"
)

var _ Stateful = (*AdaDelta)(nil)

// AdaDeltaConfig holds the hyper-parameters of [AdaDelta]; start from
// [DefaultAdaDelta].
type AdaDeltaConfig struct {
	// LR is the learning rate γ (> 0) that scales the AdaDelta step.
	LR float64
	// Rho is the decay ρ (in [0, 1)) of both running averages.
	Rho float64
	// Eps is ε (> 0), added inside both roots.
	Eps float64
	// WeightDecay is the L2 penalty λ (≥ 0) added to the gradient as λθ.
	WeightDecay float64
}

// DefaultAdaDelta returns PyTorch's defaults for torch.optim.Adadelta:
// γ = 1.0, ρ = 0.9, ε = 1e-6, λ = 0.
func DefaultAdaDelta() AdaDeltaConfig { return AdaDeltaConfig{LR: 1, Rho: 0.9, Eps: 1e-6} }

// AdaDelta (Zeiler 2012) steps by the ratio of the running root mean squares
// of past updates and of gradients, with the semantics of PyTorch's
// torch.optim.Adadelta. At every step each element θ of a parameter with
// gradient g is updated as
//
//	g ← g + λθ                     (weight decay)
//	v ← ρv + (1 − ρ)g²
//	Δ ← g · √(u + ε) / √(v + ε)
//	u ← ρu + (1 − ρ)Δ²
//	θ ← θ − γΔ
//
// with learning rate γ (LR), decay ρ (Rho), ε (Eps) and weight decay λ; v
// and u start at zero. Arithmetic is in float32, as in PyTorch.
//
// State (see [Stateful]): per parameter "<param>.square_avg" (v), then
// "<param>.acc_delta" (u).
type AdaDelta struct {
	core
	cfg AdaDeltaConfig
}

// NewAdaDelta returns an AdaDelta optimizer over params. It returns an error
// for an invalid configuration (γ not positive and finite, ρ outside [0, 1),
// ε not positive, negative λ) or parameter list (see [Stateful]).
func NewAdaDelta(params []*nn.Param, cfg AdaDeltaConfig) (*AdaDelta, error) {
	const name = "AdaDelta"
	err := errors.Join(
		checkLR(name, cfg.LR),
		checkRange(name, "rho", cfg.Rho, 0, 1, false),
		checkNonNeg(name, "eps", cfg.Eps),
		checkNonNeg(name, "weight decay", cfg.WeightDecay),
	)
	if err == nil && cfg.Eps == 0 {
		// √(u + ε) starts at 0, so every step would be 0.
		err = errors.New("optim: AdaDelta: eps must be > 0, or no step ever moves")
	}
	if err != nil {
		return nil, err
	}
	c, err := newCore(name, params, cfg.LR, "square_avg", "acc_delta")
	if err != nil {
		return nil, err
	}
	return &AdaDelta{core: c, cfg: cfg}, nil
}

// Step applies one AdaDelta update to every parameter.
func (o *AdaDelta) Step() {
	rho := o.cfg.Rho
	lr, r, c := float32(o.lr), float32(rho), float32(1-rho)
	eps, wd := float32(o.cfg.Eps), float32(o.cfg.WeightDecay)
	for i, p := range o.params {
		adadelta(p.Value.Float32s(), p.Grad.Float32s(), o.slot(i, 0), o.slot(i, 1), lr, r, c, eps, wd)
	}
	o.steps++
}
