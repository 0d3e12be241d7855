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
	} {
		_, err := layers.FromSpec(tc.spec)
		require.ErrorContains(t, err, tc.want)
	}
}
