package layers

import (
	"fmt"

	"github.com/descent-ml/descent/nn"
)

// maxSpecSize bounds every size a spec may ask for, so that a corrupt or
// hostile model file cannot make FromSpec's layer allocate without bound.
const maxSpecSize = 1 << 24

// FromSpec returns a new, unbuilt layer of the kind and configuration that
// spec describes. It is the build function [nn.Load] needs to rebuild a saved
// model: nn.LoadFile(path, layers.FromSpec).
func FromSpec(spec nn.Spec) (nn.Layer, error) {
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
		return NewConv2D(v[0], v[1], v[2], Stride(v[3]), Padding(v[4])), nil
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
