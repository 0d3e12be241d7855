package optim

import (
	"fmt"
	"math"
)

// Every schedule counts the calls of its Step method: call k (k = 1, 2, …)
// ends epoch k − 1 and returns the learning rate for epoch k, which the
// caller passes to [Optimizer.SetLR]. Before the first call, LR returns the
// rate for epoch 0, which is the base rate except during a warm-up. Formulas
// below give the rate γₖ for epoch k.

var (
	_ Schedule = Constant(0)
	_ Schedule = (*StepLR)(nil)
	_ Schedule = (*ExponentialLR)(nil)
	_ Schedule = (*CosineLR)(nil)
	_ Schedule = (*Warmup)(nil)
	_ Schedule = (*ReduceOnPlateau)(nil)
)

// Constant is a schedule that keeps the learning rate at its value:
// optim.Constant(0.01).
type Constant float64

// Step returns the constant rate.
func (c Constant) Step(metric float64) float64 { return float64(c) }

// LR returns the constant rate.
func (c Constant) LR() float64 { return float64(c) }

// StepLR multiplies the rate by γ every stepSize epochs, like PyTorch's
// StepLR: after k calls of Step the rate is γₖ = base · γ^⌊k / stepSize⌋.
type StepLR struct {
	base, gamma float64
	stepSize, k int
}

// NewStepLR returns a StepLR schedule. It returns an error unless base > 0,
// stepSize ≥ 1 and 0 < gamma ≤ 1.
func NewStepLR(base float64, stepSize int, gamma float64) (*StepLR, error) {
	if err := checkBase("StepLR", base); err != nil {
		return nil, err
	}
	if stepSize < 1 {
		return nil, fmt.Errorf("optim: StepLR: step size %d must be ≥ 1", stepSize)
	}
	if err := checkGamma("StepLR", gamma); err != nil {
		return nil, err
	}
	return &StepLR{base: base, gamma: gamma, stepSize: stepSize}, nil
}

// Step ends an epoch and returns the rate for the next.
func (s *StepLR) Step(metric float64) float64 { s.k++; return s.LR() }

// LR returns the rate for the current epoch.
func (s *StepLR) LR() float64 { return s.base * math.Pow(s.gamma, float64(s.k/s.stepSize)) }

// ExponentialLR multiplies the rate by γ every epoch, like PyTorch's
// ExponentialLR: after k calls of Step the rate is γₖ = base · γᵏ.
type ExponentialLR struct {
	base, gamma float64
	k           int
}

// NewExponentialLR returns an ExponentialLR schedule. It returns an error
// unless base > 0 and 0 < gamma ≤ 1.
func NewExponentialLR(base, gamma float64) (*ExponentialLR, error) {
	if err := checkBase("ExponentialLR", base); err != nil {
		return nil, err
	}
	if err := checkGamma("ExponentialLR", gamma); err != nil {
		return nil, err
	}
	return &ExponentialLR{base: base, gamma: gamma}, nil
}

// Step ends an epoch and returns the rate for the next.
func (s *ExponentialLR) Step(metric float64) float64 { s.k++; return s.LR() }

// LR returns the rate for the current epoch.
func (s *ExponentialLR) LR() float64 { return s.base * math.Pow(s.gamma, float64(s.k)) }

// CosineLR anneals the rate from base to minLR along half a cosine over tMax
// epochs, like PyTorch's CosineAnnealingLR, and then stays at minLR. After k
// calls of Step the rate is
//
//	γₖ = minLR + (base − minLR) · (1 + cos(π k / tMax)) / 2    for k ≤ tMax
//	γₖ = minLR                                               for k > tMax
type CosineLR struct {
	base, minLR float64
	tMax, k     int
}

// NewCosineLR returns a CosineLR schedule. It returns an error unless
// base > 0, 0 ≤ minLR ≤ base and tMax ≥ 1.
func NewCosineLR(base, minLR float64, tMax int) (*CosineLR, error) {
	if err := checkBase("CosineLR", base); err != nil {
		return nil, err
	}
	if !(minLR >= 0 && minLR <= base) {
		return nil, fmt.Errorf("optim: CosineLR: minimum rate %g must be in [0, base %g]", minLR, base)
	}
	if tMax < 1 {
		return nil, fmt.Errorf("optim: CosineLR: tMax %d must be ≥ 1", tMax)
	}
	return &CosineLR{base: base, minLR: minLR, tMax: tMax}, nil
}

// Step ends an epoch and returns the rate for the next.
func (s *CosineLR) Step(metric float64) float64 { s.k++; return s.LR() }

// LR returns the rate for the current epoch.
func (s *CosineLR) LR() float64 {
	if s.k >= s.tMax {
		return s.minLR
	}
	return s.minLR + (s.base-s.minLR)*(1+math.Cos(math.Pi*float64(s.k)/float64(s.tMax)))/2
}

// Warmup raises the rate linearly to base over the first W epochs and then
// hands over to another schedule. After k calls of Step the rate is
//
//	γₖ = base · (k + 1) / W     for k < W
//	γₖ = then's rate            for k ≥ W (then.LR() at k = W; from then on
//	                            every Step is passed to then.Step)
//
// So epoch 0 trains at base/W and epoch W − 1 at base; this is PyTorch's
// LinearLR(start_factor = 1/W, end_factor = 1, total_iters = W − 1)
// followed, through SequentialLR, by then. Metrics seen during the warm-up
// are not passed on. With a nil then the rate stays at base after the
// warm-up.
type Warmup struct {
	base   float64
	epochs int
	then   Schedule
	k      int
}

// NewWarmup returns a Warmup schedule of warmupEpochs epochs. It returns an
// error unless base > 0 and warmupEpochs ≥ 1. then (which may be nil) should
// be a fresh schedule, usually starting from the same base rate.
func NewWarmup(base float64, warmupEpochs int, then Schedule) (*Warmup, error) {
	if err := checkBase("Warmup", base); err != nil {
		return nil, err
	}
	if warmupEpochs < 1 {
		return nil, fmt.Errorf("optim: Warmup: %d warm-up epochs, need ≥ 1", warmupEpochs)
	}
	return &Warmup{base: base, epochs: warmupEpochs, then: then}, nil
}

// Step ends an epoch and returns the rate for the next.
func (s *Warmup) Step(metric float64) float64 {
	if s.k >= s.epochs && s.then != nil {
		return s.then.Step(metric)
	}
	s.k++
	return s.LR()
}

// LR returns the rate for the current epoch.
func (s *Warmup) LR() float64 {
	switch {
	case s.k < s.epochs:
		return s.base * float64(s.k+1) / float64(s.epochs)
	case s.then != nil:
		return s.then.LR()
	default:
		return s.base
	}
}

// ReduceOnPlateau multiplies the rate by factor when the monitored metric
// (lower is better) has not improved for patience epochs in a row, never
// going below minLR. A metric m improves when m < best − minDelta, where
// best is the lowest metric seen so far (the first metric always improves;
// NaN never does). Each epoch without improvement adds one to a counter,
// an improvement resets it to 0; when the counter reaches patience the rate
// becomes max(rate · factor, minLR) and the counter restarts from 0.
//
// This is Keras's ReduceLROnPlateau (min mode, min_delta, no cooldown).
// PyTorch's ReduceLROnPlateau with threshold_mode "abs" reduces one epoch
// later: its patience p is this patience p + 1.
type ReduceOnPlateau struct {
	lr, factor, minDelta, minLR float64
	patience, bad               int
	best                        float64
}

// NewReduceOnPlateau returns a ReduceOnPlateau schedule starting at base. It
// returns an error unless base > 0, 0 < factor < 1, patience ≥ 1,
// minDelta ≥ 0 and 0 ≤ minLR ≤ base.
func NewReduceOnPlateau(base, factor float64, patience int, minDelta, minLR float64) (*ReduceOnPlateau, error) {
	const name = "ReduceOnPlateau"
	if err := checkBase(name, base); err != nil {
		return nil, err
	}
	if !(factor > 0 && factor < 1) {
		return nil, fmt.Errorf("optim: %s: factor %g must be in (0, 1)", name, factor)
	}
	if patience < 1 {
		return nil, fmt.Errorf("optim: %s: patience %d must be ≥ 1", name, patience)
	}
	if err := checkNonNeg(name, "min delta", minDelta); err != nil {
		return nil, err
	}
	if !(minLR >= 0 && minLR <= base) {
		return nil, fmt.Errorf("optim: %s: minimum rate %g must be in [0, base %g]", name, minLR, base)
	}
	return &ReduceOnPlateau{lr: base, factor: factor, patience: patience, minDelta: minDelta, minLR: minLR, best: math.Inf(1)}, nil
}

// Step takes the epoch's metric and returns the rate for the next epoch.
func (s *ReduceOnPlateau) Step(metric float64) float64 {
	if metric < s.best-s.minDelta {
		s.best, s.bad = metric, 0
		return s.lr
	}
	s.bad++
	if s.bad >= s.patience {
		s.lr = max(s.lr*s.factor, s.minLR)
		s.bad = 0
	}
	return s.lr
}

// LR returns the rate for the current epoch.
func (s *ReduceOnPlateau) LR() float64 { return s.lr }

// Best returns the lowest metric seen so far (+Inf before the first).
func (s *ReduceOnPlateau) Best() float64 { return s.best }

func checkBase(name string, base float64) error {
	if !(base > 0) || math.IsInf(base, 1) {
		return fmt.Errorf("optim: %s: base rate %g must be positive and finite", name, base)
	}
	return nil
}

func checkGamma(name string, gamma float64) error {
	if !(gamma > 0 && gamma <= 1) {
		return fmt.Errorf("optim: %s: gamma %g must be in (0, 1]", name, gamma)
	}
	return nil
}
