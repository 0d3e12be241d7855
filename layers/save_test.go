package layers_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// A model of real layers — convolution, BatchNorm with running statistics
// moved by training-mode passes, pooling, dropout, dense — saves and loads
// through layers.FromSpec with bit-identical parameters, state and
// predictions.
func TestSaveLoadRealLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	m, err := nn.NewSequential(nn.Shape{2, 9, 8}, rng,
		layers.NewConv2D(2, 4, 3, layers.Padding(1)), layers.NewBatchNorm(), layers.NewReLU(),
		layers.NewAvgPool2D(1, 1), layers.NewMaxPool2D(2, 0), layers.NewDropout(0.3), layers.NewFlatten(),
		layers.NewDense(4*4*4, 6), layers.NewLeakyReLU(0.1), layers.NewTanh(), layers.NewSigmoid(),
		layers.NewDense(6, 3), layers.NewSoftmax())
	require.NoError(t, err)
	x := nn.NewTensor(5, 2, 9, 8)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	for range 3 { // move BatchNorm's running statistics away from (0, 1)
		m.Forward(x, true)
	}
	var file bytes.Buffer
	require.NoError(t, nn.Save(&file, m, map[string][]byte{"note": []byte("real layers")}))
	got, meta, err := nn.Load(bytes.NewReader(file.Bytes()), layers.FromSpec)
	require.NoError(t, err)
	require.Equal(t, "real layers", string(meta["note"]))
	require.Len(t, got.Layers, len(m.Layers))
	for i, l := range m.Layers {
		require.True(t, l.Spec().Equal(got.Layers[i].Spec()), "layer %d", i)
	}
	require.NotEmpty(t, m.State())
	for i, p := range append(m.Params(), m.State()...) {
		q := append(got.Params(), got.State()...)[i]
		require.Equal(t, p.Data(), q.Data(), "%s", p)
	}
	want := append([]float32(nil), m.Forward(x, false).Float32s()...)
	require.Equal(t, want, got.Forward(x, false).Float32s())
}
