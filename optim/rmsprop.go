package optim

import (
	"errors"

	"github.com/descent-ml/descent/nn"
)

var _ Stateful = (*RMSprop)(nil)

// RMSpropConfig holds the hyper-parameters of [RMSprop]; start from
// [DefaultRMSprop].
type RMSpropConfig struct {
	// LR is the learning rate γ (> 0).
	LR float64
	// Alpha is the smoothing constant α (in [0, 1)) of the running mean of g².
	Alpha float64
	// Eps is ε (≥ 0), added to the root for stability.
	Eps float64
	// WeightDecay is the L2 penalty λ (≥ 0) added to the gradient as λθ.
	WeightDecay float64
	// Momentum is μ (≥ 0); 0 turns momentum off.
	Momentum float64
	// Centered divides by an estimate of the gradient's variance instead of
	// its uncentred second moment.
	Centered bool
}

// DefaultRMSprop returns PyTorch's defaults for torch.optim.RMSprop:
// γ = 1e-2, α = 0.99, ε = 1e-8, λ = 0, μ = 0, not centred.
func DefaultRMSprop() RMSpropConfig { return RMSpropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8} }

// RMSprop divides each step by a running root mean square of the gradient
// (Hinton's lecture 6e), with the semantics of PyTorch's torch.optim.RMSprop.
// At every step each element θ of a parameter with gradient g is updated as
//
//	g ← g + λθ                     (weight decay)
//	v ← αv + (1 − α)g²
//	if centred:
//	    ḡ ← αḡ + (1 − α)g
//	    d ← √max(v − ḡ², 0) + ε
//	else:
//	    d ← √v + ε
//	if μ > 0:
//	    b ← μb + g/d
//	    θ ← θ − γb
//	else:
//	    θ ← θ − γg/d
//
// with learning rate γ (LR), smoothing constant α (Alpha), ε (Eps), weight
// decay λ, momentum μ and Centered; v, ḡ and b start at zero. The max with 0
// only guards against rounding (v ≥ ḡ² holds exactly); PyTorch has no such
// guard and would produce NaN there. Arithmetic is in float32, as in
// PyTorch.
//
// State (see [Stateful]): per parameter "<param>.square_avg" (v), then
// "<param>.grad_avg" (ḡ) if centred, then "<param>.momentum_buffer" (b) if
// μ > 0.
type RMSprop struct {
	core
	cfg RMSpropConfig
}

// NewRMSprop returns an RMSprop optimizer over params. It returns an error
// for an invalid configuration (γ not positive and finite, α outside [0, 1),
// negative ε, λ or μ) or parameter list (see [Stateful]).
func NewRMSprop(params []*nn.Param, cfg RMSpropConfig) (*RMSprop, error) {
	const name = "RMSprop"
	err := errors.Join(
		checkLR(name, cfg.LR),
		checkRange(name, "alpha", cfg.Alpha, 0, 1, false),
		checkNonNeg(name, "eps", cfg.Eps),
		checkNonNeg(name, "weight decay", cfg.WeightDecay),
		checkNonNeg(name, "momentum", cfg.Momentum),
	)
	if err != nil {
		return nil, err
	}
	slots := []string{"square_avg"}
	if cfg.Centered {
		slots = append(slots, "grad_avg")
	}
	if cfg.Momentum > 0 {
		slots = append(slots, "momentum_buffer")
	}
	c, err := newCore(name, params, cfg.LR, slots...)
	if err != nil {
		return nil, err
	}
	return &RMSprop{core: c, cfg: cfg}, nil
}

// Step applies one RMSprop update to every parameter.
func (o *RMSprop) Step() {
	a := o.cfg.Alpha
	k := rmsScalars{
		lr: float32(o.lr), a: float32(a), c: float32(1 - a),
		eps: float32(o.cfg.Eps), wd: float32(o.cfg.WeightDecay), mu: float32(o.cfg.Momentum),
	}
	centered, momentum := o.cfg.Centered, o.cfg.Momentum > 0
	for i, p := range o.params {
		w, g := p.Value.Float32s(), p.Grad.Float32s()
		v := o.slot(i, 0)
		switch {
		case centered && momentum:
			rmspropCenteredMomentum(w, g, v, o.slot(i, 1), o.slot(i, 2), &k)
		case centered:
			rmspropCentered(w, g, v, o.slot(i, 1), &k)
		case momentum:
			rmspropMomentum(w, g, v, o.slot(i, 1), &k)
		default:
			rmsprop(w, g, v, &k)
		}
	}
	o.steps++
}
