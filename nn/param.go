package nn

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Param is a trainable tensor and the gradient of the loss with respect to it.
// Value and Grad have the same shape. Backward passes add into Grad (+=);
// [Param.ZeroGrad] clears it. Optimizers read Grad and update Value in place.
type Param struct {
	// Name identifies the parameter inside its layer ("W", "b", "gamma").
	Name string
	// Value holds the parameter.
	Value *tensor.Dense
	// Grad holds dLoss/dValue, accumulated since the last ZeroGrad. It is nil
	// for non-trainable state (see [Stateful]).
	Grad *tensor.Dense
}

// NewParam returns a parameter of the given shape with zeroed value and
// gradient.
func NewParam(name string, shape ...int) *Param {
	return &Param{Name: name, Value: NewTensor(shape...), Grad: NewTensor(shape...)}
}

// NewState returns a non-trainable tensor (Grad is nil) of the given shape,
// for state that is saved with a model but not optimised, such as BatchNorm's
// running statistics.
func NewState(name string, shape ...int) *Param {
	return &Param{Name: name, Value: NewTensor(shape...)}
}

// Data returns the parameter's values as a slice aliasing Value.
func (p *Param) Data() []float32 { return p.Value.Float32s() }

// GradData returns the gradient as a slice aliasing Grad.
func (p *Param) GradData() []float32 { return p.Grad.Float32s() }

// Len returns the number of elements in the parameter.
func (p *Param) Len() int { return p.Value.Shape().TotalSize() }

// ZeroGrad sets the gradient to zero.
func (p *Param) ZeroGrad() {
	if p.Grad == nil {
		return
	}
	clear(p.Grad.Float32s())
}

// String describes the parameter by name and shape.
func (p *Param) String() string { return fmt.Sprintf("%s%v", p.Name, []int(p.Value.Shape())) }

// ZeroGrads clears the gradients of all params.
func ZeroGrads(params []*Param) {
	for _, p := range params {
		p.ZeroGrad()
	}
}

// NumParams returns the total number of scalar values in params.
func NumParams(params []*Param) int {
	n := 0
	for _, p := range params {
		n += p.Len()
	}
	return n
}
