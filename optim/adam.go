package optim

import (
	"errors"
	"math"

	"github.com/descent-ml/descent/nn"
)

var _ Stateful = (*Adam)(nil)

// AdamConfig holds the hyper-parameters of [Adam], for both [NewAdam] and
// [NewAdamW]; start from [DefaultAdam] or [DefaultAdamW].
type AdamConfig struct {
	// LR is the learning rate γ (> 0).
	LR float64
	// Beta1 is β₁ (in [0, 1)), the decay of the first-moment average.
	Beta1 float64
	// Beta2 is β₂ (in [0, 1)), the decay of the second-moment average.
	Beta2 float64
	// Eps is ε (≥ 0), added to the denominator for stability.
	Eps float64
	// WeightDecay is λ (≥ 0): an L2 penalty added to the gradient for
	// NewAdam, a decoupled shrinkage of θ for NewAdamW.
	WeightDecay float64
	// AMSGrad divides by the running maximum of the second moment.
	AMSGrad bool
}

// DefaultAdam returns PyTorch's defaults for torch.optim.Adam: γ = 1e-3,
// β₁ = 0.9, β₂ = 0.999, ε = 1e-8, λ = 0, no AMSGrad.
func DefaultAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// DefaultAdamW returns PyTorch's defaults for torch.optim.AdamW: those of
// [DefaultAdam] with weight decay λ = 0.01.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay = 0.01
	return c
}

// Adam is adaptive moment estimation (Kingma and Ba 2015), optionally with
// AMSGrad (Reddi et al. 2018) and with either L2 weight decay (torch.optim.Adam,
// built by [NewAdam]) or decoupled weight decay (torch.optim.AdamW, built by
// [NewAdamW]), with PyTorch's semantics. At step t = 1, 2, … every element θ
// of a parameter with gradient g is updated as
//
//	θ ← θ − γλθ                    (AdamW: decoupled weight decay)
//	g ← g + λθ                     (Adam: L2 weight decay)
//	m ← β₁m + (1 − β₁)g
//	v ← β₂v + (1 − β₂)g²
//	v̂ ← max(v̂, v)                  (AMSGrad; then v̂ is used below)
//	v̂ ← v                          (otherwise)
//	θ ← θ − γ/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
//
// with learning rate γ (LR), β₁ (Beta1), β₂ (Beta2), ε (Eps) and weight
// decay λ; m, v and the AMSGrad maximum start at zero. Exactly one of the
// two weight-decay lines applies. Arithmetic is in float32, as in PyTorch;
// the per-step constants γ/(1 − β₁ᵗ) and 1/√(1 − β₂ᵗ) are computed in
// float64 and then rounded.
//
// State (see [Stateful]): per parameter "<param>.exp_avg" (m),
// "<param>.exp_avg_sq" (v), then "<param>.max_exp_avg_sq" (max v) with
// AMSGrad.
type Adam struct {
	core
	cfg       AdamConfig
	decoupled bool // AdamW
}

// NewAdam returns an Adam optimizer over params whose weight decay is an L2
// penalty added to the gradient (torch.optim.Adam). It returns an error for
// an invalid configuration (γ not positive and finite, β₁ or β₂ outside
// [0, 1), negative ε or λ) or parameter list (see [Stateful]).
func NewAdam(params []*nn.Param, cfg AdamConfig) (*Adam, error) {
	return newAdam("Adam", params, cfg, false)
}

// NewAdamW returns an Adam optimizer over params with decoupled weight decay
// θ ← θ − γλθ applied before the Adam update (Loshchilov and Hutter 2019,
// torch.optim.AdamW). Its errors are those of [NewAdam].
func NewAdamW(params []*nn.Param, cfg AdamConfig) (*Adam, error) {
	return newAdam("AdamW", params, cfg, true)
}

func newAdam(name string, params []*nn.Param, cfg AdamConfig, decoupled bool) (*Adam, error) {
	err := errors.Join(
		checkLR(name, cfg.LR),
		checkRange(name, "beta1", cfg.Beta1, 0, 1, false),
		checkRange(name, "beta2", cfg.Beta2, 0, 1, false),
		checkNonNeg(name, "eps", cfg.Eps),
		checkNonNeg(name, "weight decay", cfg.WeightDecay),
	)
	if err != nil {
		return nil, err
	}
	slots := []string{"exp_avg", "exp_avg_sq"}
	if cfg.AMSGrad {
		slots = append(slots, "max_exp_avg_sq")
	}
	c, err := newCore(name, params, cfg.LR, slots...)
	if err != nil {
		return nil, err
	}
	return &Adam{core: c, cfg: cfg, decoupled: decoupled}, nil
}

// Step applies one Adam (or AdamW) update to every parameter.
func (o *Adam) Step() {
	t := float64(o.steps + 1)
	b1, b2, lr, wd := o.cfg.Beta1, o.cfg.Beta2, o.lr, o.cfg.WeightDecay
	k := adamScalars{
		b1: float32(b1), c1: float32(1 - b1),
		b2: float32(b2), c2: float32(1 - b2),
		step:   float32(lr / (1 - math.Pow(b1, t))),       // γ / (1 − β₁ᵗ)
		invBC2: float32(1 / math.Sqrt(1-math.Pow(b2, t))), // 1 / √(1 − β₂ᵗ)
		eps:    float32(o.cfg.Eps),
		decay:  1,           // θ ← decay·θ (AdamW)
		l2:     float32(wd), // g ← g + l2·θ (Adam)
	}
	if o.decoupled {
		k.decay, k.l2 = float32(1-lr*wd), 0
	}
	for i, p := range o.params {
		w, g := p.Value.Float32s(), p.Grad.Float32s()
		m, v := o.slot(i, 0), o.slot(i, 1)
		switch {
		case o.cfg.AMSGrad:
			adamAMSGrad(w, g, m, v, o.slot(i, 2), &k)
		case wd == 0:
			adamPlain(w, g, m, v, &k)
		default:
			adam(w, g, m, v, &k)
		}
	}
	o.steps++
}
