package layers

import (
	"fmt"
	"slices"

	"github.com/descent-ml/descent/nn"
)

// maxSpecSize bounds every size a spec may ask for, so that a corrupt or
// hostile model file cannot make FromSpec's layer allocate without bound.
const maxSpecSize = 1 << 24

// specAttrs are the attributes each layer kind's Spec may carry.
var specAttrs = map[string][]string{
	"Dense":        {"in", "out"},
	"Conv2D":       {"in", "out", "kernel", "stride", "pad", "relu"},
	"MaxPool2D":    {"size", "stride"},
	"AvgPool2D":    {"size", "stride"},
	"BatchNorm":    {"momentum", "eps"},
	"EmbeddingBag": {"vocab", "dim", "mode"},
	"Embedding":    {"vocab", "dim"},
	"LeakyReLU":    {"alpha"},
	"Dropout":      {"rate"},
}

// FromSpec returns a new, unbuilt layer of the kind and configuration that
// spec describes. It is the build function [nn.Load] needs to rebuild a saved
// model: nn.LoadFile(path, layers.FromSpec). An attribute the kind does not
// have is an error, not ignored: it would come from a newer descent whose
// layer computes something this one does not (such as Conv2D's relu).
func FromSpec(spec nn.Spec) (nn.Layer, error) {
	for k := range spec.Attrs {
		if !slices.Contains(specAttrs[spec.Kind], k) {
			return nil, fmt.Errorf("layers: %s: unknown attribute %q (the file may come from a newer descent)", spec, k)
		}
	}
	ints := func(keys ...string) ([]int, error) {
		v := make([]int, len(keys))
		for i, k := range keys {
			n, ok := spec.Int(k)
			if !ok || n < 0 {
				return nil, fmt.Errorf("layers: %s: attribute %q missing or not a non-negative integer", spec, k)
			}
			if n > maxSpecSize {
				return nil, fmt.Errorf("layers: %s: attribute %q = %d exceeds %d", spec, k, n, maxSpecSize)
			}
			v[i] = n
		}
		return v, nil
	}
	float := func(key string) (float64, error) {
		v, ok := spec.Attrs[key]
		if !ok {
			return 0, fmt.Errorf("layers: %s: attribute %q missing", spec, key)
		}
		return v, nil
	}
	switch spec.Kind {
	case "Dense":
		v, err := ints("in", "out")
		if err != nil {
			return nil, err
		}
		if v[0]*v[1] > maxSpecSize*4 {
			return nil, fmt.Errorf("layers: %s: %d×%d weights exceed %d", spec, v[0], v[1], maxSpecSize*4)
		}
		return NewDense(v[0], v[1]), nil
	case "Conv2D":
		v, err := ints("in", "out", "kernel", "stride", "pad")
		if err != nil {
			return nil, err
		}
		if v[0]*v[1]*v[2]*v[2] > maxSpecSize*4 {
			return nil, fmt.Errorf("layers: %s: kernel weights exceed %d", spec, maxSpecSize*4)
		}
		conv := NewConv2D(v[0], v[1], v[2], Stride(v[3]), Padding(v[4]))
		switch r, ok := spec.Attrs["relu"]; {
		case !ok || r == 0:
		case r == 1:
			conv.relu = true
		default:
			return nil, fmt.Errorf("layers: %s: attribute \"relu\" = %g, want 0 or 1", spec, r)
		}
		return conv, nil
	case "MaxPool2D", "AvgPool2D":
		v, err := ints("size", "stride")
		if err != nil {
			return nil, err
		}
		if spec.Kind == "MaxPool2D" {
			return NewMaxPool2D(v[0], v[1]), nil
		}
		return NewAvgPool2D(v[0], v[1]), nil
	case "BatchNorm":
		m, err := float("momentum")
		if err != nil {
			return nil, err
		}
		eps, err := float("eps")
		if err != nil {
			return nil, err
		}
		bn := NewBatchNorm()
		bn.Momentum, bn.Eps = m, eps
		return bn, nil
	case "EmbeddingBag", "Embedding":
		keys := []string{"vocab", "dim"}
		if spec.Kind == "EmbeddingBag" {
			keys = append(keys, "mode")
		}
		v, err := ints(keys...)
		if err != nil {
			return nil, err
		}
		if v[0]*v[1] > maxSpecSize*4 {
			return nil, fmt.Errorf("layers: %s: %d×%d weights exceed %d", spec, v[0], v[1], maxSpecSize*4)
		}
		if spec.Kind == "Embedding" {
			return NewEmbedding(v[0], v[1]), nil
		}
		if m := BagMode(v[2]); m != BagSum && m != BagMean {
			return nil, fmt.Errorf("layers: %s: mode %d, want 0 (sum) or 1 (mean)", spec, v[2])
		}
		return NewEmbeddingBag(v[0], v[1], BagMode(v[2])), nil
	case "Flatten":
		return NewFlatten(), nil
	case "ReLU":
		return NewReLU(), nil
	case "LeakyReLU":
		a, err := float("alpha")
		if err != nil {
			return nil, err
		}
		return NewLeakyReLU(a), nil
	case "Sigmoid":
		return NewSigmoid(), nil
	case "Tanh":
		return NewTanh(), nil
	case "Softmax":
		return NewSoftmax(), nil
	case "Dropout":
		r, err := float("rate")
		if err != nil {
			return nil, err
		}
		return NewDropout(r), nil
	}
	return nil, fmt.Errorf("layers: unknown layer kind %q", spec.Kind)
}

// The ParamShapes methods below tell [nn.Load] what each layer's Build would
// allocate, so that a model file whose specs ask for tensors it does not hold
// is refused before they are allocated (see [nn.ParamShaper]). They live
// beside FromSpec because they serve loading; each mirrors its layer's Build,
// and TestParamShapesMatchBuild checks that they agree.
var (
	_ nn.ParamShaper = (*Dense)(nil)
	_ nn.ParamShaper = (*Conv2D)(nil)
	_ nn.ParamShaper = (*BatchNorm)(nil)
	_ nn.ParamShaper = (*EmbeddingBag)(nil)
	_ nn.ParamShaper = (*Embedding)(nil)
)

// ParamShapes returns the shapes Build gives W and b for input in:
// [in out] and [out].
func (d *Dense) ParamShapes(in nn.Shape) (params, state []nn.Shape, ok bool) {
	if d.out <= 0 || len(in) != 1 || in[0] <= 0 || d.in != 0 && in[0] != d.in {
		return nil, nil, false
	}
	return []nn.Shape{{in[0], d.out}, {d.out}}, nil, true
}

// ParamShapes returns the shapes Build gives W and b for input [C H W]:
// [out C k k] and [out].
func (c *Conv2D) ParamShapes(in nn.Shape) (params, state []nn.Shape, ok bool) {
	if c.out <= 0 || c.k <= 0 || len(in) != 3 || in[0] <= 0 || c.in != 0 && in[0] != c.in {
		return nil, nil, false
	}
	return []nn.Shape{{c.out, in[0], c.k, c.k}, {c.out}}, nil, true
}

// ParamShapes returns the shapes Build gives γ and β, and the running mean
// and variance, for input [C ...]: [C] each.
func (b *BatchNorm) ParamShapes(in nn.Shape) (params, state []nn.Shape, ok bool) {
	if len(in) == 0 || in[0] <= 0 {
		return nil, nil, false
	}
	c := in[0]
	return []nn.Shape{{c}, {c}}, []nn.Shape{{c}, {c}}, true
}

// ParamShapes returns the shapes Build gives W and b for input [vocab]:
// [vocab dim] and [dim].
func (l *EmbeddingBag) ParamShapes(in nn.Shape) (params, state []nn.Shape, ok bool) {
	if l.dim <= 0 || len(in) != 1 || in[0] <= 0 || l.vocab != 0 && in[0] != l.vocab {
		return nil, nil, false
	}
	return []nn.Shape{{in[0], l.dim}, {l.dim}}, nil, true
}

// ParamShapes returns the shape Build gives W: [vocab dim], whatever the
// sequence length.
func (l *Embedding) ParamShapes(in nn.Shape) (params, state []nn.Shape, ok bool) {
	if l.vocab <= 0 || l.dim <= 0 || len(in) != 1 || in[0] <= 0 {
		return nil, nil, false
	}
	return []nn.Shape{{l.vocab, l.dim}}, nil, true
}
