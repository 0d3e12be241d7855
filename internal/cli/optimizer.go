package cli

import (
	"fmt"
	"strings"

	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// Optimizers returns the names NewOptimizer accepts, in a new slice.
func Optimizers() []string {
	return []string{"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"}
}

// DefaultLR returns the usual learning rate for the named optimizer.
func DefaultLR(name string) float64 {
	switch name {
	case "sgd", "momentum", "nesterov":
		return 0.1
	case "adagrad":
		return 0.01
	case "rmsprop":
		return 0.001
	case "adadelta":
		return 1.0
	default:
		return 0.001
	}
}

// NewOptimizer returns the named optimizer over params with learning rate lr
// and weight decay wd (L2 added to the gradient; decoupled for adamw); a
// negative wd means the optimizer's default (0, and 0.01 for adamw).
// "momentum" and "nesterov" are SGD with momentum 0.9.
func NewOptimizer(name string, params []*nn.Param, lr, wd float64) (optim.Optimizer, error) {
	if wd < 0 && name != "adamw" {
		wd = 0
	}
	switch name {
	case "sgd", "momentum", "nesterov":
		c := optim.SGDConfig{LR: lr, WeightDecay: wd}
		if name != "sgd" {
			c.Momentum = 0.9
			c.Nesterov = name == "nesterov"
		}
		return optim.NewSGD(params, c)
	case "adagrad":
		c := optim.DefaultAdaGrad()
		c.LR, c.WeightDecay = lr, wd
		return optim.NewAdaGrad(params, c)
	case "rmsprop":
		c := optim.DefaultRMSprop()
		c.LR, c.WeightDecay = lr, wd
		return optim.NewRMSprop(params, c)
	case "adadelta":
		c := optim.DefaultAdaDelta()
		c.LR, c.WeightDecay = lr, wd
		return optim.NewAdaDelta(params, c)
	case "adam":
		c := optim.DefaultAdam()
		c.LR, c.WeightDecay = lr, wd
		return optim.NewAdam(params, c)
	case "adamw":
		c := optim.DefaultAdamW()
		c.LR = lr
		if wd >= 0 {
			c.WeightDecay = wd
		}
		return optim.NewAdamW(params, c)
	}
	return nil, fmt.Errorf("unknown optimizer %q (want one of %s)", name, strings.Join(Optimizers(), ", "))
}

// Schedules returns the names NewSchedule accepts, in a new slice.
func Schedules() []string { return []string{"none", "step", "exp", "cosine", "warmup", "plateau"} }

// NewSchedule returns the named learning-rate schedule for a run of epochs
// epochs starting at lr:
//
//	none     constant
//	step     ×0.1 every third of the run
//	exp      ×0.9 per epoch
//	cosine   cosine annealing to 0 over the run
//	warmup   linear warm-up over 2 epochs, then cosine annealing
//	plateau  ×0.1 after 2 epochs without improvement of the validation loss
func NewSchedule(name string, lr float64, epochs int) (optim.Schedule, error) {
	switch name {
	case "", "none":
		return optim.Constant(lr), nil
	case "step":
		return optim.NewStepLR(lr, max(1, epochs/3), 0.1)
	case "exp":
		return optim.NewExponentialLR(lr, 0.9)
	case "cosine":
		return optim.NewCosineLR(lr, 0, max(1, epochs))
	case "warmup":
		cos, err := optim.NewCosineLR(lr, 0, max(1, epochs-2))
		if err != nil {
			return nil, err
		}
		return optim.NewWarmup(lr, 2, cos)
	case "plateau":
		return optim.NewReduceOnPlateau(lr, 0.1, 2, 1e-4, 0)
	}
	return nil, fmt.Errorf("unknown schedule %q (want one of %s)", name, strings.Join(Schedules(), ", "))
}
