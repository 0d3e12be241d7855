package layers_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

func TestFromSpecRoundTrip(t *testing.T) {
	bn := layers.NewBatchNorm()
	bn.Momentum, bn.Eps = 0.2, 1e-3
	for _, l := range []nn.Layer{
		layers.NewDense(7, 3),
		layers.NewConv2D(3, 8, 5, layers.Stride(2), layers.Padding(1)),
		layers.NewMaxPool2D(2, 2),
		layers.NewAvgPool2D(3, 1),
		bn,
		layers.NewFlatten(),
		layers.NewReLU(),
		layers.NewLeakyReLU(0.2),
		layers.NewSigmoid(),
		layers.NewTanh(),
		layers.NewSoftmax(),
		layers.NewDropout(0.3),
		layers.NewEmbeddingBag(100, 8, layers.BagSum),
		layers.NewEmbeddingBag(7, 2, layers.BagMean),
		layers.NewEmbedding(50, 4),
	} {
		spec := l.Spec()
		got, err := layers.FromSpec(spec)
		require.NoError(t, err, spec.String())
		require.True(t, spec.Equal(got.Spec()), "%s rebuilt as %s", spec, got.Spec())
	}
}

func TestFromSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		spec nn.Spec
		want string
	}{
		{nn.Spec{Kind: "Mystery"}, `unknown layer kind "Mystery"`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 3}}, `"out" missing`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 3, "out": 2.5}}, `"out" missing or not a non-negative integer`},
		{nn.Spec{Kind: "Dropout"}, `"rate" missing`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 1 << 31, "out": 2}}, `exceeds`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 1 << 20, "out": 1 << 20}}, `weights exceed`},
		{nn.Spec{Kind: "EmbeddingBag", Attrs: map[string]float64{"vocab": 10, "dim": 2, "mode": 2}}, `mode 2, want 0 (sum) or 1 (mean)`},
		{nn.Spec{Kind: "EmbeddingBag", Attrs: map[string]float64{"vocab": 10, "dim": 2}}, `"mode" missing`},
		{nn.Spec{Kind: "Embedding", Attrs: map[string]float64{"vocab": 1 << 24, "dim": 1 << 10}}, `weights exceed`},
	} {
		_, err := layers.FromSpec(tc.spec)
		require.ErrorContains(t, err, tc.want)
	}
}
