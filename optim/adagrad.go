package optim

import (
	"errors"

	"github.com/descent-ml/descent/nn"
)

var _ Stateful = (*AdaGrad)(nil)

// AdaGradConfig holds the hyper-parameters of [AdaGrad]; start from
// [DefaultAdaGrad].
type AdaGradConfig struct {
	// LR is the learning rate γ (> 0).
	LR float64
	// LRDecay is η (≥ 0): step t uses the rate γ / (1 + (t − 1)η).
	LRDecay float64
	// WeightDecay is the L2 penalty λ (≥ 0) added to the gradient as λθ.
	WeightDecay float64
	// InitialAccumulator is the starting value s₀ (≥ 0) of the sum of squares.
	InitialAccumulator float64
	// Eps is ε (≥ 0), added to the root of the sum for stability.
	Eps float64
}

// DefaultAdaGrad returns PyTorch's defaults for torch.optim.Adagrad:
// γ = 1e-2, η = 0, λ = 0, s₀ = 0, ε = 1e-10.
func DefaultAdaGrad() AdaGradConfig { return AdaGradConfig{LR: 1e-2, Eps: 1e-10} }

// AdaGrad scales each element's step by the root of the sum of its squared
// gradients so far (Duchi, Hazan and Singer 2011), with the semantics of
// PyTorch's torch.optim.Adagrad. At step t = 1, 2, … every element θ of a
// parameter with gradient g is updated as
//
//	g  ← g + λθ                    (weight decay)
//	γₜ = γ / (1 + (t − 1)η)
//	s  ← s + g²                    (s starts at s₀)
//	θ  ← θ − γₜ g / (√s + ε)
//
// with learning rate γ (LR), learning-rate decay η (LRDecay), weight decay λ,
// initial accumulator s₀ (InitialAccumulator) and ε (Eps). Arithmetic is in
// float32, as in PyTorch; γₜ is computed in float64 and then rounded.
//
// State (see [Stateful]): one tensor per parameter, "<param>.sum" (s).
type AdaGrad struct {
	core
	cfg AdaGradConfig
}

// NewAdaGrad returns an AdaGrad optimizer over params. It returns an error
// for an invalid configuration (γ not positive and finite; η, λ, s₀ or ε
// negative) or parameter list (see [Stateful]).
func NewAdaGrad(params []*nn.Param, cfg AdaGradConfig) (*AdaGrad, error) {
	const name = "AdaGrad"
	err := errors.Join(
		checkLR(name, cfg.LR),
		checkNonNeg(name, "learning-rate decay", cfg.LRDecay),
		checkNonNeg(name, "weight decay", cfg.WeightDecay),
		checkNonNeg(name, "initial accumulator", cfg.InitialAccumulator),
		checkNonNeg(name, "eps", cfg.Eps),
	)
	if err != nil {
		return nil, err
	}
	c, err := newCore(name, params, cfg.LR, "sum")
	if err != nil {
		return nil, err
	}
	o := &AdaGrad{core: c, cfg: cfg}
	for _, s := range o.state {
		sum := s.Value.Float32s()
		for j := range sum {
			sum[j] = float32(cfg.InitialAccumulator)
		}
	}
	return o, nil
}

// Step applies one AdaGrad update to every parameter.
func (o *AdaGrad) Step() {
	t := float64(o.steps + 1)
	clr := float32(o.lr / (1 + (t-1)*o.cfg.LRDecay)) // γₜ
	wd, eps := float32(o.cfg.WeightDecay), float32(o.cfg.Eps)
	for i, p := range o.params {
		adagrad(p.Value.Float32s(), p.Grad.Float32s(), o.slot(i, 0), clr, eps, wd)
	}
	o.steps++
}
