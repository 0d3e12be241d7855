package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"gorgonia.org/tensor"
)

// Sequential is a model made of layers applied one after another. It is
// built once for a per-sample input shape, which checks every layer's wiring
// and initialises every parameter.
type Sequential struct {
	// Layers in order of application. Do not change after building.
	Layers []Layer
	in     Shape
	shapes []Shape // shapes[i] is layer i's output shape
	params []*Param
	first  int // index of the first layer with parameters, or len(Layers)
}

// NewSequential builds the layers in order for per-sample input shape in,
// drawing initial weights from rng. It returns an error naming the first
// layer whose input does not fit, e.g.
//
//	nn: layer 4 (Dense): input [64 6 6]: Dense wants a flat input, add Flatten
func NewSequential(in Shape, rng *rand.Rand, layers ...Layer) (*Sequential, error) {
	return newSequential(in, rng, layers, nil)
}

// newSequential is NewSequential with a hook: check, when not nil, is called
// for each layer with its input shape before its Build (built false) and
// again after it (built true); an error from it stops the building. [Load]
// uses it to compare each layer with the file before the layer allocates.
func newSequential(in Shape, rng *rand.Rand, layers []Layer, check func(i int, l Layer, in Shape, built bool) error) (*Sequential, error) {
	if len(in) == 0 || in.Size() <= 0 {
		return nil, fmt.Errorf("nn: input shape %v must be non-empty and positive", in)
	}
	if rng == nil {
		return nil, errors.New("nn: NewSequential needs a random source (rand.New(rand.NewPCG(seed, 0)))")
	}
	m := &Sequential{Layers: layers, in: append(Shape(nil), in...)}
	cur := m.in
	m.first = len(layers)
	for i, l := range layers {
		if check != nil {
			if err := check(i, l, cur, false); err != nil {
				return nil, err
			}
		}
		out, err := l.Build(cur, rng)
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d (%s): input %v: %w", i, l.Spec().Kind, cur, err)
		}
		if check != nil {
			if err := check(i, l, cur, true); err != nil {
				return nil, err
			}
		}
		if len(out) == 0 || out.Size() <= 0 {
			return nil, fmt.Errorf("nn: layer %d (%s): input %v gives empty output %v", i, l.Spec().Kind, cur, out)
		}
		m.shapes = append(m.shapes, out)
		if len(l.Params()) > 0 && m.first == len(layers) {
			m.first = i
		}
		m.params = append(m.params, l.Params()...)
		cur = out
	}
	return m, nil
}

// InputShape returns the per-sample input shape the model was built for.
func (m *Sequential) InputShape() Shape { return m.in }

// OutputShape returns the per-sample output shape.
func (m *Sequential) OutputShape() Shape {
	if len(m.shapes) == 0 {
		return m.in
	}
	return m.shapes[len(m.shapes)-1]
}

// CheckShapes returns an error wrapping [ErrMismatch] unless m takes
// per-sample inputs of shape in and gives outputs of shape out; a nil in or
// out is not checked. A program calls it after [Load] to refuse a model of
// another architecture, one trained on other data, before using it:
//
//	nn: file does not match the model: the model takes input [784] and gives output [2]; want input [1 28 28] and output [10]
func (m *Sequential) CheckShapes(in, out Shape) error {
	if (in == nil || in.Equal(m.InputShape())) && (out == nil || out.Equal(m.OutputShape())) {
		return nil
	}
	var want []string
	if in != nil {
		want = append(want, "input "+in.String())
	}
	if out != nil {
		want = append(want, "output "+out.String())
	}
	return fmt.Errorf("nn: %w: the model takes input %v and gives output %v; want %s",
		ErrMismatch, m.InputShape(), m.OutputShape(), strings.Join(want, " and "))
}

// Params returns every trainable parameter, in layer order.
func (m *Sequential) Params() []*Param { return m.params }

// State returns the non-trainable state of every [Stateful] layer, in layer
// order.
func (m *Sequential) State() []*Param {
	var s []*Param
	for _, l := range m.Layers {
		if st, ok := l.(Stateful); ok {
			s = append(s, st.State()...)
		}
	}
	return s
}

// ZeroGrad clears every parameter's gradient.
func (m *Sequential) ZeroGrad() { ZeroGrads(m.params) }

// Forward runs x of shape [N, in...] through every layer and returns the
// output, owned by the last layer.
func (m *Sequential) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	for _, l := range m.Layers {
		x = l.Forward(x, train)
	}
	return x
}

// ForwardSparse runs a sparse batch through the model: the first layer,
// which must be a [SparseLayer] built for input [x.Cols], reads x directly;
// the rest run as in Forward. It panics if the first layer cannot read
// sparse input or x has the wrong number of columns.
func (m *Sequential) ForwardSparse(x *Sparse, train bool) *tensor.Dense {
	if len(m.Layers) == 0 {
		panic("nn: ForwardSparse on a model without layers")
	}
	first, ok := m.Layers[0].(SparseLayer)
	if !ok {
		panic(fmt.Sprintf("nn: ForwardSparse: first layer %s does not read sparse input", m.Layers[0].Spec().Kind))
	}
	if len(m.in) != 1 || x.Cols != m.in[0] {
		panic(fmt.Sprintf("nn: ForwardSparse: batch has %d columns, model input is %v", x.Cols, m.in))
	}
	y := first.ForwardSparse(x, train)
	for _, l := range m.Layers[1:] {
		y = l.Forward(y, train)
	}
	return y
}

// Backward carries dy = dLoss/dOutput back through every layer in reverse
// order, accumulating parameter gradients, and returns dLoss/dInput.
func (m *Sequential) Backward(dy *tensor.Dense) *tensor.Dense {
	for i := len(m.Layers) - 1; i >= 0; i-- {
		dy = m.Layers[i].Backward(dy)
	}
	return dy // nil after ForwardSparse
}

// BackwardParams is Backward for training: it accumulates every parameter
// gradient but does not compute the gradient with respect to the model's
// input. It stops at the first layer that has parameters, calling its
// BackwardParams when it is a [ParamBackwarder], so neither that layer's
// input gradient nor anything before it is computed.
func (m *Sequential) BackwardParams(dy *tensor.Dense) {
	for i := len(m.Layers) - 1; i > m.first; i-- {
		dy = m.Layers[i].Backward(dy)
	}
	if m.first == len(m.Layers) {
		return
	}
	if pb, ok := m.Layers[m.first].(ParamBackwarder); ok {
		pb.BackwardParams(dy)
	} else {
		m.Layers[m.first].Backward(dy)
	}
}

// Summary returns a table of the layers with their output shapes and
// parameter counts.
func (m *Sequential) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-3s %-56s %-16s %s\n", "#", "layer", "output", "params")
	fmt.Fprintf(&b, "%-3s %-56s %s\n", "", "input", m.in)
	for i, l := range m.Layers {
		fmt.Fprintf(&b, "%-3d %-56s %-16s %d\n", i, l.Spec(), m.shapes[i], NumParams(l.Params()))
	}
	fmt.Fprintf(&b, "total parameters: %d\n", NumParams(m.params))
	return b.String()
}
