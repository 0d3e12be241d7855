package optim

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

var _ Stateful = (*SGD)(nil)

// SGDConfig holds the hyper-parameters of [SGD]. The zero value is not
// valid (LR must be positive); start from [DefaultSGD].
type SGDConfig struct {
	// LR is the learning rate γ (> 0).
	LR float64
	// Momentum is μ (≥ 0); 0 turns momentum off.
	Momentum float64
	// Dampening is τ (in [0, 1]), which scales down the gradient's share of
	// the momentum buffer.
	Dampening float64
	// WeightDecay is the L2 penalty λ (≥ 0) added to the gradient as λθ.
	WeightDecay float64
	// Nesterov turns on Nesterov momentum; it needs μ > 0 and τ = 0.
	Nesterov bool
}

// DefaultSGD returns PyTorch's defaults for torch.optim.SGD: γ = 1e-3 and no
// momentum, dampening, weight decay or Nesterov. Typical use sets LR and
// Momentum: cfg := optim.DefaultSGD(); cfg.LR = 0.05; cfg.Momentum = 0.9.
func DefaultSGD() SGDConfig { return SGDConfig{LR: 1e-3} }

// SGD is stochastic gradient descent with optional momentum, dampening,
// Nesterov momentum and L2 weight decay, with the semantics of PyTorch's
// torch.optim.SGD. At step t = 1, 2, … every element θ of a parameter with
// gradient g is updated as
//
//	g ← g + λθ                     (weight decay)
//	if μ ≠ 0:
//	    b ← g                      at t = 1
//	    b ← μb + (1 − τ)g          at t > 1
//	    g ← g + μb                 if Nesterov
//	    g ← b                      otherwise
//	θ ← θ − γg
//
// with learning rate γ (LR), momentum μ, dampening τ, weight decay λ and
// momentum buffer b. Nesterov takes the look-ahead step g + μb once; it does
// not apply the momentum step twice. Arithmetic is in float32.
//
// State (see [Stateful]): with μ ≠ 0, one tensor per parameter, named
// "<param>.momentum_buffer"; none without momentum.
type SGD struct {
	core
	cfg SGDConfig
}

// NewSGD returns an SGD optimizer over params. It returns an error for an
// invalid configuration (γ not positive and finite, negative μ, τ outside
// [0, 1], negative λ, Nesterov without μ > 0 and τ = 0) or an invalid
// parameter list (see [Stateful]).
func NewSGD(params []*nn.Param, cfg SGDConfig) (*SGD, error) {
	const name = "SGD"
	err := errors.Join(
		checkLR(name, cfg.LR),
		checkNonNeg(name, "momentum", cfg.Momentum),
		checkRange(name, "dampening", cfg.Dampening, 0, 1, true),
		checkNonNeg(name, "weight decay", cfg.WeightDecay),
	)
	if err != nil {
		return nil, err
	}
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, fmt.Errorf("optim: SGD: Nesterov momentum needs momentum > 0 and dampening = 0, have momentum %g, dampening %g", cfg.Momentum, cfg.Dampening)
	}
	var keys []string
	if cfg.Momentum != 0 {
		keys = []string{"momentum_buffer"}
	}
	c, err := newCore(name, params, cfg.LR, keys...)
	if err != nil {
		return nil, err
	}
	return &SGD{core: c, cfg: cfg}, nil
}

// Step applies one SGD update to every parameter.
func (o *SGD) Step() {
	lr := float32(o.lr)
	wd := float32(o.cfg.WeightDecay)
	mu := float32(o.cfg.Momentum)
	keep := float32(1 - o.cfg.Dampening) // 1 − τ
	first, nesterov := o.steps == 0, o.cfg.Nesterov
	for i, p := range o.params {
		w, g := p.Value.Float32s(), p.Grad.Float32s()
		switch {
		case mu == 0 && wd == 0:
			sgdPlain(w, g, lr)
		case mu == 0:
			sgdDecay(w, g, lr, wd)
		case first:
			sgdFirst(w, g, o.slot(i, 0), lr, wd, mu, nesterov)
		case nesterov:
			sgdNesterov(w, g, o.slot(i, 0), lr, wd, mu)
		case wd == 0 && keep == 1:
			sgdMomentum(w, g, o.slot(i, 0), lr, mu)
		default:
			sgdHeavy(w, g, o.slot(i, 0), lr, wd, mu, keep)
		}
	}
	o.steps++
}

// Stateful is implemented by every optimizer in this package. It exposes the
// optimizer's state so that a checkpoint can save and restore it.
//
// State returns the state tensors, parameter by parameter in the order of
// Params, and for each parameter in the fixed order given in the optimizer's
// documentation; each has the shape of its parameter and the name
// "<param name>.<slot>" (e.g. "W.exp_avg"). The tensors are the optimizer's
// own storage: restore a checkpoint by copying values into them, not by
// replacing them. Steps returns the number of steps taken, which bias
// corrections and first-step rules depend on; SetSteps restores it.
//
// Every optimizer's constructor rejects an empty parameter list, a nil
// parameter, a parameter without a gradient (non-trainable state), a value
// and gradient of different sizes, storage other than float32, and a
// parameter listed twice.
type Stateful interface {
	Optimizer
	State() []*nn.Param
	Steps() int
	SetSteps(n int)
}

// core is what every optimizer shares: the parameters, the learning rate, the
// step count and the per-parameter state tensors.
type core struct {
	params  []*nn.Param
	lr      float64
	steps   int
	state   []*nn.Param // perSlot tensors for each parameter, parameter-major
	perSlot int
}

func newCore(opt string, params []*nn.Param, lr float64, slots ...string) (core, error) {
	if err := checkParams(opt, params); err != nil {
		return core{}, err
	}
	c := core{params: params, lr: lr, perSlot: len(slots)}
	for _, p := range params {
		shape := []int(p.Value.Shape())
		for _, s := range slots {
			c.state = append(c.state, nn.NewState(p.Name+"."+s, shape...))
		}
	}
	return c, nil
}

// slot returns state tensor s of parameter i as a slice.
func (c *core) slot(i, s int) []float32 { return c.state[i*c.perSlot+s].Value.Float32s() }

// LR returns the current learning rate γ.
func (c *core) LR() float64 { return c.lr }

// SetLR sets the learning rate γ for the following steps. It panics if lr is
// negative or not finite; 0 is allowed (a schedule may anneal to zero).
func (c *core) SetLR(lr float64) {
	if !(lr >= 0) || math.IsInf(lr, 1) {
		panic(fmt.Sprintf("optim: SetLR(%g): learning rate must be finite and ≥ 0", lr))
	}
	c.lr = lr
}

// Params returns the parameters the optimizer updates.
func (c *core) Params() []*nn.Param { return c.params }

// State returns the optimizer's state tensors (see [Stateful]).
func (c *core) State() []*nn.Param { return c.state }

// Steps returns the number of steps taken so far.
func (c *core) Steps() int { return c.steps }

// SetSteps sets the step count, for restoring a checkpoint. It panics if n is
// negative.
func (c *core) SetSteps(n int) {
	if n < 0 {
		panic(fmt.Sprintf("optim: SetSteps(%d): negative step count", n))
	}
	c.steps = n
}

// checkParams validates the parameter list an optimizer is built over.
func checkParams(opt string, params []*nn.Param) error {
	if len(params) == 0 {
		return fmt.Errorf("optim: %s: no parameters to optimise", opt)
	}
	seen := make(map[*nn.Param]int, len(params))
	for i, p := range params {
		switch {
		case p == nil:
			return fmt.Errorf("optim: %s: parameter %d is nil", opt, i)
		case p.Value == nil:
			return fmt.Errorf("optim: %s: parameter %d (%s) has no value", opt, i, p.Name)
		case p.Grad == nil:
			return fmt.Errorf("optim: %s: parameter %d (%s) has no gradient (non-trainable state cannot be optimised)", opt, i, p)
		case p.Value.Dtype() != tensor.Float32 || p.Grad.Dtype() != tensor.Float32:
			return fmt.Errorf("optim: %s: parameter %d (%s) is %v with gradient %v, want float32", opt, i, p, p.Value.Dtype(), p.Grad.Dtype())
		case p.Grad.Shape().TotalSize() != p.Len():
			return fmt.Errorf("optim: %s: parameter %d (%s) has a gradient of shape %v", opt, i, p, []int(p.Grad.Shape()))
		}
		if j, dup := seen[p]; dup {
			return fmt.Errorf("optim: %s: parameter %d (%s) is parameter %d listed again", opt, i, p, j)
		}
		seen[p] = i
	}
	return nil
}

func checkLR(opt string, lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 1) {
		return fmt.Errorf("optim: %s: learning rate %g must be positive and finite", opt, lr)
	}
	return nil
}

func checkNonNeg(opt, what string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return fmt.Errorf("optim: %s: %s %g must be finite and ≥ 0", opt, what, v)
	}
	return nil
}

// checkRange checks lo ≤ v < hi, or lo ≤ v ≤ hi when closed.
func checkRange(opt, what string, v, lo, hi float64, closed bool) error {
	if v >= lo && (v < hi || closed && v == hi) {
		return nil
	}
	end := ")"
	if closed {
		end = "]"
	}
	return fmt.Errorf("optim: %s: %s %g must be in [%g, %g%s", opt, what, v, lo, hi, end)
}
