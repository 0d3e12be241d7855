package layers

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

var _ nn.Layer = (*Flatten)(nil)

// Flatten reshapes each sample to one axis: [N, a, b, c] → [N, a·b·c]. It
// copies nothing: its output is a tensor header over the input's values (and
// its input gradient a header over the output gradient's), so the returned
// tensor aliases the argument. A header is made only when the argument's
// backing array or batch size changes, so a warmed-up step allocates nothing.
//
// Backward is the same reshape the other way: dX = dY viewed as [N, a, b, c].
type Flatten struct {
	in      nn.Shape // per-sample input shape [a b c]
	out     nn.Shape // [a·b·c]
	fwd, bw flattenView
	yt      *tensor.Dense // output of the last Forward
}

// flattenView caches a reshaped header over some tensor's backing array.
type flattenView struct {
	src   *float32 // first element of the viewed backing
	n     int      // batch size
	t     *tensor.Dense
	shape []int
}

// of returns a tensor of shape [n, sample...] over data, reusing the cached
// header when data and n are unchanged.
func (v *flattenView) of(data []float32, n int, sample nn.Shape) *tensor.Dense {
	if v.t != nil && v.n == n && v.src == &data[0] {
		return v.t
	}
	v.shape = nn.BatchShape(v.shape, n, sample)
	v.src, v.n = &data[0], n
	v.t = tensor.New(tensor.WithShape(append([]int(nil), v.shape...)...), tensor.WithBacking(data[:n*sample.Size()]))
	return v.t
}

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Build accepts any non-empty per-sample shape and returns [size].
func (f *Flatten) Build(in nn.Shape, _ *rand.Rand) (nn.Shape, error) {
	if len(in) == 0 || in.Size() <= 0 {
		return nil, fmt.Errorf("Flatten: input shape %v must be non-empty and positive", in)
	}
	f.in = append(nn.Shape(nil), in...)
	f.out = nn.Shape{in.Size()}
	f.fwd, f.bw, f.yt = flattenView{}, flattenView{}, nil
	return append(nn.Shape(nil), f.out...), nil
}

// Forward returns x viewed as [N, size]. The result shares x's values.
func (f *Flatten) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if f.in == nil {
		panic("Flatten: Forward called before Build")
	}
	n := nn.CheckInput("Flatten", x, f.in)
	f.yt = f.fwd.of(x.Float32s(), n, f.out)
	return f.yt
}

// Backward returns dX = dY viewed as [N, a, b, c]; it shares dY's values.
func (f *Flatten) Backward(dy *tensor.Dense) *tensor.Dense {
	nn.CheckGrad("Flatten", dy, f.yt)
	return f.bw.of(dy.Float32s(), dy.Shape()[0], f.in)
}

// Params returns nil: Flatten has no parameters.
func (f *Flatten) Params() []*nn.Param { return nil }

// Spec returns Flatten with no attributes.
func (f *Flatten) Spec() nn.Spec { return nn.Spec{Kind: "Flatten"} }
