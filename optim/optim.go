// Package optim holds the gradient-descent family: optimizers that update
// parameters from their gradients, gradient clipping, L1/L2 regularisation
// and learning-rate schedules.
//
// An optimizer is built over a fixed list of parameters and keeps its state
// (moments, step counts) per parameter. Step reads each [nn.Param].Grad and
// updates [nn.Param].Value in place; it neither clears nor otherwise changes
// the gradients (call [nn.ZeroGrads] or Sequential.ZeroGrad before the next
// backward pass). After the first Step, Step allocates nothing.
package optim

import "github.com/descent-ml/descent/nn"

// Optimizer updates parameters from their accumulated gradients.
type Optimizer interface {
	// Step applies one update to every parameter from its current gradient.
	Step()
	// LR returns the current learning rate.
	LR() float64
	// SetLR sets the learning rate used by the following steps; schedules
	// call it.
	SetLR(lr float64)
	// Params returns the parameters the optimizer updates.
	Params() []*nn.Param
}

// Schedule changes the learning rate as training goes on. Step is called once
// at the end of every epoch by backprop.Fit (call it once per batch in your
// own loop for a per-step schedule) with the monitored metric of that epoch,
// lower being better (the validation loss, or the training loss when there is
// no validation set). It returns the learning rate for what follows; the
// caller passes it to [Optimizer.SetLR]. Schedules that ignore the metric
// accept any value.
type Schedule interface {
	Step(metric float64) float64
	// LR returns the learning rate the schedule currently prescribes.
	LR() float64
}
