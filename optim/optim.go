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
