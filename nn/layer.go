package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"gorgonia.org/tensor"
)

// Shape is the shape of one sample, without the batch axis: [784] for a
// flattened MNIST image, [1 28 28] for the same image in CHW layout.
type Shape []int

// Size returns the number of values in one sample of this shape.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether two shapes are identical.
func (s Shape) Equal(o Shape) bool { return slices.Equal(s, o) }

// String formats the shape as [a b c].
func (s Shape) String() string { return fmt.Sprint([]int(s)) }

// Layer is one differentiable step of a model with explicit forward and
// backward passes.
//
// Build is called once, by [NewSequential] or by the user, with the shape of
// one input sample. It checks that the layer can accept that shape (returning
// an error that says what it expected otherwise), creates and initialises the
// parameters from rng, and returns the shape of one output sample.
//
// Forward takes a batch x of shape [N, in...] and returns the batch output of
// shape [N, out...]. In training mode (train == true) it keeps whatever the
// backward pass needs; Dropout and BatchNorm also behave differently.
//
// Backward takes dy = dLoss/dy for the output of the most recent training
// Forward, adds the parameter gradients into each [Param].Grad, and returns
// dx = dLoss/dx. The returned tensors are owned by the layer (see the package
// documentation).
type Layer interface {
	Build(in Shape, rng *rand.Rand) (out Shape, err error)
	Forward(x *tensor.Dense, train bool) *tensor.Dense
	Backward(dy *tensor.Dense) *tensor.Dense
	Params() []*Param
	Spec() Spec
}

// ParamBackwarder is implemented by layers that can accumulate their
// parameter gradients without computing the gradient with respect to their
// input. In training, [Sequential.BackwardParams] calls it on the first layer
// that has parameters: nobody reads that layer's input gradient, and for the
// first Dense or Conv2D of a network computing it would cost as much as the
// forward pass.
type ParamBackwarder interface {
	BackwardParams(dy *tensor.Dense)
}

// Stateful is implemented by layers that carry non-trainable state that is
// saved with the model, such as BatchNorm's running mean and variance.
type Stateful interface {
	State() []*Param
}

// ParamShaper is implemented by layers that can tell, before Build, the
// shapes of the parameters and state tensors that Build would create for
// per-sample input shape in (ok is false when Build would refuse in; Build
// then says why). [Load] compares them with the tensors a model file holds,
// so that a file whose layer specs ask for tensors it does not store (a
// corrupt or hostile file: a 100-byte file can ask for Dense(65536→65536))
// is refused before anything is allocated. A layer without parameters need
// not implement it; a layer that has them and does not is checked right
// after its own Build, so a bad file costs at most that one layer.
type ParamShaper interface {
	ParamShapes(in Shape) (params, state []Shape, ok bool)
}

// Spec describes a layer's kind and configuration, enough to build it again:
// it is what the model file stores for each layer. Attrs holds every numeric
// setting (sizes, strides, rates; booleans as 0 or 1).
type Spec struct {
	Kind  string
	Attrs map[string]float64
}

// Int returns attribute key as an int, and whether it was present and integral.
func (s Spec) Int(key string) (int, bool) {
	v, ok := s.Attrs[key]
	if !ok || v != float64(int(v)) {
		return 0, false
	}
	return int(v), true
}

// Equal reports whether two specs describe the same layer.
func (s Spec) Equal(o Spec) bool {
	if s.Kind != o.Kind || len(s.Attrs) != len(o.Attrs) {
		return false
	}
	for k, v := range s.Attrs {
		if w, ok := o.Attrs[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// String formats the spec as Kind(key=value, ...) with keys sorted.
func (s Spec) String() string {
	keys := make([]string, 0, len(s.Attrs))
	for k := range s.Attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(s.Kind)
	b.WriteByte('(')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%g", k, s.Attrs[k])
	}
	b.WriteByte(')')
	return b.String()
}

// CheckInput panics with a message naming the layer if x does not have shape
// [N, want...] for some N ≥ 1. Layers call it at the top of Forward.
func CheckInput(layer string, x *tensor.Dense, want Shape) int {
	s := x.Shape()
	ok := len(s) == len(want)+1 && s[0] >= 1
	for i := 0; ok && i < len(want); i++ {
		ok = s[i+1] == want[i]
	}
	if !ok {
		panic(fmt.Sprintf("%s: input of shape %v, want [N %s]", layer, []int(s), strings.Trim(want.String(), "[]")))
	}
	return s[0]
}

// CheckGrad panics with a message naming the layer if dy does not have the
// shape of the layer's last output.
func CheckGrad(layer string, dy, y *tensor.Dense) {
	if y == nil {
		panic(fmt.Sprintf("%s: Backward called before Forward", layer))
	}
	if !slices.Equal(dy.Shape(), y.Shape()) {
		panic(fmt.Sprintf("%s: output gradient of shape %v, want %v", layer, []int(dy.Shape()), []int(y.Shape())))
	}
}
