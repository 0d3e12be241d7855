package layers_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// BackwardParams must accumulate exactly the parameter gradients Backward
// does, for models whose first parameterised layer is a Dense (after a
// Flatten), a Conv2D, an EmbeddingBag (on dense bags) or an Embedding.
func TestBackwardParamsMatchesBackward(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     nn.Shape
		layers func() []nn.Layer
		ids    int // > 0: the input is token ids in [0, ids), not normal noise
	}{
		{"mlp", nn.Shape{1, 4, 5}, func() []nn.Layer {
			return []nn.Layer{layers.NewFlatten(), layers.NewDense(20, 7), layers.NewReLU(), layers.NewDense(7, 3)}
		}, 0},
		{"conv", nn.Shape{2, 6, 5}, func() []nn.Layer {
			return []nn.Layer{layers.NewConv2D(2, 3, 3, layers.Padding(1)), layers.NewTanh(), layers.NewMaxPool2D(2, 0),
				layers.NewFlatten(), layers.NewDense(3*3*2, 4)}
		}, 0},
		{"bag-sum", nn.Shape{9}, func() []nn.Layer {
			return []nn.Layer{layers.NewEmbeddingBag(9, 4, layers.BagSum), layers.NewTanh(), layers.NewDense(4, 3)}
		}, 0},
		{"bag-mean", nn.Shape{9}, func() []nn.Layer {
			return []nn.Layer{layers.NewEmbeddingBag(0, 4, layers.BagMean), layers.NewTanh(), layers.NewDense(4, 3)}
		}, 0},
		{"embedding", nn.Shape{5}, func() []nn.Layer {
			return []nn.Layer{layers.NewEmbedding(7, 3), layers.NewFlatten(), layers.NewTanh(), layers.NewDense(5*3, 2)}
		}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func() *nn.Sequential {
				m, err := nn.NewSequential(tc.in, rand.New(rand.NewPCG(4, 5)), tc.layers()...)
				require.NoError(t, err)
				return m
			}
			full, params := build(), build()
			rng := rand.New(rand.NewPCG(6, 7))
			x := nn.NewTensor(append([]int{3}, tc.in...)...)
			for i := range x.Float32s() {
				if tc.ids > 0 {
					x.Float32s()[i] = float32(i % tc.ids) // every id, first and last row included
				} else {
					x.Float32s()[i] = float32(rng.NormFloat64())
				}
			}
			y := full.Forward(x, true)
			params.Forward(x, true)
			dy := nn.NewTensor(y.Shape()...)
			for i := range dy.Float32s() {
				dy.Float32s()[i] = float32(rng.NormFloat64())
			}
			dx := full.Backward(dy)
			require.Equal(t, []int(x.Shape()), []int(dx.Shape()))
			params.BackwardParams(dy)
			for i, p := range full.Params() {
				require.Equal(t, p.GradData(), params.Params()[i].GradData(), "gradient of %s", p)
				require.NotZero(t, p.GradData()[0]+p.GradData()[len(p.GradData())-1], "%s has a gradient", p)
			}
		})
	}
}
